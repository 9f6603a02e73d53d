import Foundation

extension BenchmarkRunInfo {
    /// `date` as vLLM writes it: the local time as `YYYYMMDD-HHMMSS`.
    public static func dateString(_ date: Date) -> String {
        let formatter = DateFormatter()
        formatter.dateFormat = "yyyyMMdd-HHmmss"
        formatter.locale = Locale(identifier: "en_US_POSIX")
        return formatter.string(from: date)
    }
}

/// The run settings the report and the result JSON echo.
public struct BenchmarkRunInfo: Sendable, Equatable {
    /// `openai-chat` or `openai`.
    public var backend: String
    public var label: String?
    public var modelID: String
    public var tokenizerID: String?
    public var numPrompts: Int
    /// Requests per second; `.infinity` sends everything at once.
    public var requestRate: Double
    public var burstiness: Double
    public var maxConcurrency: Int?
    /// The caller's local time as `YYYYMMDD-HHMMSS`.
    public var date: String
    /// Wall time of the run in seconds (first dispatch to last completion).
    public var duration: Double

    public init(
        backend: String, label: String? = nil, modelID: String, tokenizerID: String? = nil, numPrompts: Int,
        requestRate: Double = .infinity, burstiness: Double = 1, maxConcurrency: Int? = nil, date: String,
        duration: Double
    ) {
        self.backend = backend
        self.label = label
        self.modelID = modelID
        self.tokenizerID = tokenizerID
        self.numPrompts = numPrompts
        self.requestRate = requestRate
        self.burstiness = burstiness
        self.maxConcurrency = maxConcurrency
        self.date = date
        self.duration = duration
    }
}

/// vLLM's `bench serve` report and `--save-result` JSON, byte for byte where vLLM's layout
/// is defined. Differences: the tokenizer-dependent lines (generated tokens, output and
/// total token throughput, and the TTFT/TPOT/ITL sections) always appear, since Switchyard
/// counts output tokens from `usage`; `queue_times` and `rtfx` are not written; two extra
/// keys, `max_concurrent_requests_per_second_bucket` and `output_tokens_estimated_requests`.
public enum BenchmarkReport {
    /// The metrics that have sections, in the order vLLM prints them.
    static let sections: [(key: String, name: String, header: String)] = [
        ("ttft", "TTFT", "Time to First Token"),
        ("tpot", "TPOT", "Time per Output Token (excl. 1st token)"),
        ("itl", "ITL", "Inter-token Latency"),
        ("e2el", "E2EL", "End-to-end Latency"),
    ]

    /// The computed percentiles to show: all of them (nil), or those listed, in that order.
    static func selected(_ summary: LatencySummary, _ percentiles: [Double]?) -> [PercentileValue] {
        guard let percentiles else { return summary.percentiles }
        return percentiles.map { p in
            guard let entry = summary.percentiles.first(where: { $0.percentile == p }) else {
                preconditionFailure("percentile \(p) was not computed; pass it to BenchmarkMetrics.compute")
            }
            return entry
        }
    }

    /// The printed report, one `\n`-terminated line per `print` of vLLM's. Unknown names in
    /// `percentileMetrics` are ignored, as in vLLM; sections follow vLLM's order, not the
    /// order of `percentileMetrics`.
    public static func text(
        metrics: BenchmarkMetrics, info: BenchmarkRunInfo, percentileMetrics: [String] = ["ttft", "tpot", "itl"],
        percentiles: [Double]? = nil, extraLines: [String] = []
    ) -> String {
        var lines: [String] = []
        func row(_ label: String, _ value: Int) {
            lines.append(PythonFormat.leftAligned(label, 40) + " " + PythonFormat.leftAligned(String(value), 10))
        }
        func row(_ label: String, _ value: Double) {
            lines.append(
                PythonFormat.leftAligned(label, 40) + " " + PythonFormat.leftAligned(PythonFormat.fixed2(value), 10))
        }

        lines.append(PythonFormat.centered(" Serving Benchmark Result ", width: 50, fill: "="))
        row("Successful requests:", metrics.completed)
        row("Failed requests:", metrics.failed)
        if let maxConcurrency = info.maxConcurrency { row("Maximum request concurrency:", maxConcurrency) }
        if info.requestRate != .infinity { row("Request rate configured (RPS):", info.requestRate) }
        row("Benchmark duration (s):", info.duration)
        row("Total input tokens:", metrics.totalInput)
        row("Total generated tokens:", metrics.totalOutput)
        row("Request throughput (req/s):", metrics.requestThroughput)
        if let goodput = metrics.requestGoodput { row("Request goodput (req/s):", goodput) }
        row("Output token throughput (tok/s):", metrics.outputThroughput)
        row("Peak output token throughput (tok/s):", metrics.maxOutputTokensPerSecond)
        row("Peak concurrent requests:", Double(metrics.maxConcurrentRequests))
        row("Total token throughput (tok/s):", metrics.totalTokenThroughput)
        for section in sections where percentileMetrics.contains(section.key) {
            guard let summary = metrics.summary(named: section.key) else { continue }
            lines.append(PythonFormat.centered(section.header, width: 50, fill: "-"))
            row("Mean \(section.name) (ms):", summary.mean)
            row("Median \(section.name) (ms):", summary.median)
            for entry in selected(summary, percentiles) {
                row("P\(PythonFormat.percentileWord(entry.percentile)) \(section.name) (ms):", entry.value)
            }
        }
        lines += extraLines
        lines.append(String(repeating: "=", count: 50))
        return lines.map { $0 + "\n" }.joined()
    }

    /// The `--save-result --save-detailed` JSON: vLLM's keys in vLLM's order, written like
    /// Python's `json.dump`, with `null` for any non-finite number. With `outcomes` nil, the
    /// per-request lists (`--save-detailed`) are left out; `extraMembers` are appended.
    public static func json(
        metrics: BenchmarkMetrics, info: BenchmarkRunInfo, outcomes: [RequestOutcome]?,
        percentileMetrics: [String] = ["ttft", "tpot", "itl"], percentiles: [Double]? = nil,
        extraMembers: [(String, OrderedJSON)] = []
    ) -> String {
        var members: [(String, OrderedJSON)] = []
        func set(_ key: String, _ value: OrderedJSON) {
            // A Python dict keeps a re-assigned key where it was first inserted.
            if let index = members.firstIndex(where: { $0.0 == key }) {
                members[index].1 = value
            } else {
                members.append((key, value))
            }
        }
        set("date", .string(info.date))
        set("endpoint_type", .string(info.backend))
        set("backend", .string(info.backend))
        set("label", .optional(info.label))
        set("model_id", .string(info.modelID))
        set("tokenizer_id", .optional(info.tokenizerID))
        set("num_prompts", .int(info.numPrompts))
        set("request_rate", info.requestRate == .infinity ? .string("inf") : .double(info.requestRate))
        set("burstiness", .double(info.burstiness))
        set("max_concurrency", .optional(info.maxConcurrency))
        set("duration", .double(info.duration))
        set("completed", .int(metrics.completed))
        set("failed", .int(metrics.failed))
        set("total_input_tokens", .int(metrics.totalInput))
        set("total_output_tokens", .int(metrics.totalOutput))
        set("request_throughput", .double(metrics.requestThroughput))
        set("request_goodput", .optional(metrics.requestGoodput))
        set("output_throughput", .double(metrics.outputThroughput))
        set("total_token_throughput", .double(metrics.totalTokenThroughput))
        if let outcomes {
            set("input_lens", .array(outcomes.map { .int($0.promptTokens) }))
            set("output_lens", .array(metrics.actualOutputLens.map { .int($0) }))
            set("ttfts", .array(outcomes.map { .double($0.ttft) }))
            set("itls", .array(outcomes.map { .array($0.itl.map { .double($0) }) }))
            set("latencies", .array(outcomes.map { .double($0.latency) }))
            set("start_times", .array(outcomes.map { .double($0.startTime) }))
            set("generated_texts", .array(outcomes.map { .string($0.generatedText) }))
            set("errors", .array(outcomes.map { .string($0.error ?? "") }))
        }
        set("max_output_tokens_per_s", .double(metrics.maxOutputTokensPerSecond))
        set("max_concurrent_requests", .int(metrics.maxConcurrentRequests))
        for section in sections where percentileMetrics.contains(section.key) {
            guard let summary = metrics.summary(named: section.key) else { continue }
            set("mean_\(section.key)_ms", .double(summary.mean))
            set("median_\(section.key)_ms", .double(summary.median))
            set("std_\(section.key)_ms", .double(summary.std))
            for entry in selected(summary, percentiles) {
                set("p\(PythonFormat.percentileWord(entry.percentile))_\(section.key)_ms", .double(entry.value))
            }
        }
        set("max_concurrent_requests_per_second_bucket", .int(metrics.maxConcurrentRequestsPerSecondBucket))
        set("output_tokens_estimated_requests", .int(metrics.outputTokensEstimatedRequests))
        for (key, value) in extraMembers { set(key, value) }
        return OrderedJSON.object(members).serialized
    }
}
