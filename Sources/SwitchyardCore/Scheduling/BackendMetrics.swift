/// The load signals read from a vLLM `/metrics` page (Prometheus text format). A data-parallel
/// server exposes one series per engine (`engine="0"`, …) or per model: the values are summed,
/// except KV-cache usage, of which the highest is kept (the fullest engine is the constraint).
public struct BackendMetrics: Sendable, Equatable {
    public var running: Int
    public var waiting: Int
    public var kvCacheUsage: Double

    public init(running: Int, waiting: Int, kvCacheUsage: Double) {
        self.running = running
        self.waiting = waiting
        self.kvCacheUsage = kvCacheUsage
    }

    /// Nil when the page has neither `vllm:num_requests_running` nor `vllm:num_requests_waiting`.
    public static func parse(_ text: String) -> BackendMetrics? {
        var running: Double?
        var waiting: Double?
        var kvUsage: Double?
        // `isNewline`: in Swift "\r\n" is one Character, which a split on "\n" would not see.
        for line in text.split(whereSeparator: \.isNewline) where line.first != "#" {
            guard line.hasPrefix("vllm:") else { continue }
            let name = line.prefix { $0 != "{" && $0 != " " }
            // The value follows the name or the label set; an optional timestamp may follow it.
            let rest = line.lastIndex(of: "}").map { line[line.index(after: $0)...] } ?? line[name.endIndex...]
            guard let valueText = rest.split(whereSeparator: { $0 == " " || $0 == "\t" }).first,
                let value = Double(valueText), value.isFinite
            else { continue }
            switch name {
            case "vllm:num_requests_running": running = (running ?? 0) + value
            case "vllm:num_requests_waiting": waiting = (waiting ?? 0) + value
            // vLLM ≥ 0.10 calls it kv_cache_usage_perc; older releases gpu_cache_usage_perc.
            case "vllm:kv_cache_usage_perc", "vllm:gpu_cache_usage_perc": kvUsage = max(kvUsage ?? 0, value)
            default: continue
            }
        }
        guard running != nil || waiting != nil else { return nil }
        return BackendMetrics(
            running: Int(running ?? 0), waiting: Int(waiting ?? 0), kvCacheUsage: kvUsage ?? 0)
    }
}
