import Synchronization

/// The replica's `/metrics`, in vLLM's names, buckets, labels (`model_name`, `engine`) and
/// prometheus_client formatting, with values measured on the engine side as vLLM measures them:
/// TTFT from the request's arrival to its first token, inter-token gaps, end-to-end latency, and
/// queue time until the engine first schedules it.
final class SimMetrics: Sendable {
    struct Histogram: Sendable {
        let buckets: [Double]
        var counts: [Int]
        var sum = 0.0
        var count = 0

        init(buckets: [Double]) {
            self.buckets = buckets
            self.counts = Array(repeating: 0, count: buckets.count)
        }

        mutating func observe(_ value: Double) {
            for (index, bound) in buckets.enumerated() where value <= bound { counts[index] += 1 }
            sum += value
            count += 1
        }
    }

    struct Values: Sendable {
        var ttft = Histogram(buckets: SimMetrics.ttftBuckets)
        var itl = Histogram(buckets: SimMetrics.itlBuckets)
        var tpot = Histogram(buckets: SimMetrics.itlBuckets)
        var e2e = Histogram(buckets: SimMetrics.latencyBuckets)
        var queue = Histogram(buckets: SimMetrics.latencyBuckets)
        var promptTokens = 0
        var generationTokens = 0
        var finished: [String: Int] = ["stop": 0, "length": 0, "abort": 0]
    }

    /// vLLM's bucket boundaries (vllm-contract.md §5).
    static let ttftBuckets: [Double] = [
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
        2560,
    ]
    static let itlBuckets: [Double] = [
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
    ]
    static let latencyBuckets: [Double] = [
        0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
    ]

    private let values = Mutex(Values())

    func update(_ body: (inout Values) -> Void) { values.withLock { body(&$0) } }

    /// Prometheus text exposition; gauges are passed in (they come from the engine or the
    /// connection counts).
    func render(modelName: String, running: Int, waiting: Int, kvCacheUsage: Double, preemptions: Int) -> String {
        let v = values.withLock { $0 }
        let labels = "model_name=\"\(modelName)\",engine=\"0\""
        var out = ""
        func metric(_ name: String, _ type: String, _ help: String) {
            out += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func float(_ value: Double) -> String {
            value == value.rounded() && abs(value) < 1e15 ? String(format: "%.1f", value) : "\(value)"
        }
        func histogram(_ name: String, _ help: String, _ h: Histogram) {
            metric(name, "histogram", help)
            for (bound, count) in zip(h.buckets, h.counts) {
                out += "\(name)_bucket{\(labels),le=\"\(float(bound))\"} \(float(Double(count)))\n"
            }
            out += "\(name)_bucket{\(labels),le=\"+Inf\"} \(float(Double(h.count)))\n"
            out += "\(name)_count{\(labels)} \(float(Double(h.count)))\n"
            out += "\(name)_sum{\(labels)} \(float(h.sum))\n"
        }
        func single(_ name: String, _ type: String, _ help: String, _ value: Double) {
            metric(name, type, help)
            out += "\(name){\(labels)} \(float(value))\n"
        }
        single("vllm:num_requests_running", "gauge", "Number of requests in model execution batches.", Double(running))
        single("vllm:num_requests_waiting", "gauge", "Number of requests waiting to be processed.", Double(waiting))
        single("vllm:kv_cache_usage_perc", "gauge", "KV-cache usage. 1 means 100 percent usage.", kvCacheUsage)
        single(
            "vllm:num_preemptions_total", "counter", "Cumulative number of preemption from the engine.",
            Double(preemptions))
        single("vllm:prompt_tokens_total", "counter", "Number of prefill tokens processed.", Double(v.promptTokens))
        single(
            "vllm:generation_tokens_total", "counter", "Number of generation tokens processed.",
            Double(v.generationTokens))
        metric("vllm:request_success_total", "counter", "Count of successfully processed requests.")
        for reason in ["stop", "length", "abort"] {
            out +=
                "vllm:request_success_total{\(labels),finished_reason=\"\(reason)\"} \(float(Double(v.finished[reason] ?? 0)))\n"
        }
        histogram("vllm:time_to_first_token_seconds", "Histogram of time to first token in seconds.", v.ttft)
        histogram("vllm:inter_token_latency_seconds", "Histogram of inter-token latency in seconds.", v.itl)
        histogram(
            "vllm:request_time_per_output_token_seconds", "Histogram of time_per_output_token_seconds per request.",
            v.tpot)
        histogram("vllm:e2e_request_latency_seconds", "Histogram of e2e request latency in seconds.", v.e2e)
        histogram("vllm:request_queue_time_seconds", "Histogram of time spent in WAITING phase for request.", v.queue)
        return out
    }
}
