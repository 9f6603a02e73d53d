/// Every metric Switchyard exports on its Prometheus endpoint: name, type, labels and meaning.
/// The exporter creates metrics from this list only, so the README, the dashboard test and the
/// exposition cannot drift apart.
public struct MetricDescriptor: Sendable, Equatable {
    public enum Kind: String, Sendable { case counter, gauge, histogram }

    public var name: String
    public var kind: Kind
    public var labels: [String]
    public var help: String
    /// Bucket upper bounds (histograms only).
    public var buckets: [Double]

    init(_ name: String, _ kind: Kind, labels: [String] = [], buckets: [Double] = [], help: String) {
        self.name = name
        self.kind = kind
        self.labels = labels
        self.help = help
        self.buckets = buckets
    }
}

public enum MetricCatalog {
    /// vLLM's bucket boundaries (vllm-contract.md §5), so the two can be compared bucket by bucket.
    public static let ttftBuckets: [Double] = [
        0.001, 0.005, 0.01, 0.02, 0.04, 0.06, 0.08, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80, 160, 640,
        2560,
    ]
    public static let tokenLatencyBuckets: [Double] = [
        0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.75, 1, 2.5, 5, 7.5, 10, 20, 40, 80,
    ]
    public static let requestLatencyBuckets: [Double] = [
        0.3, 0.5, 0.8, 1, 1.5, 2, 2.5, 5, 10, 15, 20, 30, 40, 50, 60, 120, 240, 480, 960, 1920, 7680,
    ]
    /// vLLM's `build_1_2_5_buckets` up to 128K context.
    public static let tokenCountBuckets: [Double] = [
        1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000, 10000, 20000, 50000, 100_000, 200_000,
    ]

    static let backendModel = ["backend", "model"]

    public static let ttft = MetricDescriptor(
        "switchyard_time_to_first_token_seconds", .histogram, labels: backendModel, buckets: ttftBuckets,
        help: "Time to first token as the client sees it: from the request's arrival to the first SSE event "
            + "with non-empty choices (queue and admission included).")
    public static let ttftFromDispatch = MetricDescriptor(
        "switchyard_time_to_first_token_from_dispatch_seconds", .histogram, labels: backendModel,
        buckets: ttftBuckets,
        help: "Time to first token as the backend delivers it: from dispatch to the first SSE event with "
            + "non-empty choices.")
    public static let itl = MetricDescriptor(
        "switchyard_inter_token_latency_seconds", .histogram, labels: backendModel, buckets: tokenLatencyBuckets,
        help: "Gap between consecutive SSE events with non-empty choices.")
    public static let tpot = MetricDescriptor(
        "switchyard_request_time_per_output_token_seconds", .histogram, labels: backendModel,
        buckets: tokenLatencyBuckets,
        help: "Per request (E2EL - TTFT) / (completion_tokens - 1), for outputs of two tokens or more.")
    public static let e2el = MetricDescriptor(
        "switchyard_e2e_request_latency_seconds", .histogram, labels: backendModel, buckets: requestLatencyBuckets,
        help: "End-to-end latency: from arrival to the last SSE event with non-empty choices (streams) or to "
            + "the end of the response (non-streamed).")
    public static let queueTime = MetricDescriptor(
        "switchyard_request_queue_time_seconds", .histogram, labels: backendModel, buckets: requestLatencyBuckets,
        help: "Time spent in Switchyard's queue waiting for a backend slot (0 when dispatched at once).")
    public static let promptTokens = MetricDescriptor(
        "switchyard_request_prompt_tokens", .histogram, labels: backendModel, buckets: tokenCountBuckets,
        help: "Prompt tokens per request from usage (image tokens included).")
    public static let generationTokens = MetricDescriptor(
        "switchyard_request_generation_tokens", .histogram, labels: backendModel, buckets: tokenCountBuckets,
        help: "Completion tokens per request from usage (counted events when the client disabled usage).")

    public static let requests = MetricDescriptor(
        "switchyard_requests_total", .counter, labels: ["backend", "model", "code"],
        help: "Inference requests finished, by the HTTP status sent to the client (499: the client "
            + "disconnected before the response was complete; backend \"none\": refused before dispatch).")
    public static let rejections = MetricDescriptor(
        "switchyard_rejections_total", .counter, labels: ["reason"],
        help: "Requests Switchyard refused, by x-switchyard-reason.")
    public static let promptTokensTotal = MetricDescriptor(
        "switchyard_prompt_tokens_total", .counter, labels: backendModel,
        help: "Prompt tokens of completed requests.")
    public static let generationTokensTotal = MetricDescriptor(
        "switchyard_generation_tokens_total", .counter, labels: backendModel,
        help: "Generation tokens of completed requests.")
    public static let estimatedGenerationTokens = MetricDescriptor(
        "switchyard_generation_tokens_estimated_total", .counter, labels: backendModel,
        help: "Generation tokens counted from content events because the client set include_usage: false "
            + "(also in switchyard_generation_tokens_total).")
    public static let upstreamErrors = MetricDescriptor(
        "switchyard_upstream_errors_total", .counter, labels: ["backend", "kind"],
        help: "Upstream failures by kind: connect, reset (connection lost before the response ended), "
            + "stall (a stream silent for upstream.stream_idle_timeout), stream_error (an error event inside a "
            + "200 stream), http_5xx.")
    public static let clientDisconnects = MetricDescriptor(
        "switchyard_client_disconnects_total", .counter, labels: ["backend"],
        help: "Clients that disconnected before their response was complete.")

    public static let inFlightRequests = MetricDescriptor(
        "switchyard_backend_in_flight_requests", .gauge, labels: ["backend"],
        help: "Requests dispatched to the backend and not yet finished.")
    public static let inFlightTokens = MetricDescriptor(
        "switchyard_backend_in_flight_tokens", .gauge, labels: ["backend"],
        help: "Tokens (prompt + output budget) of the requests in flight on the backend.")
    public static let maxConcurrent = MetricDescriptor(
        "switchyard_backend_max_concurrent", .gauge, labels: ["backend"],
        help: "The backend's configured max_concurrent (slots).")
    public static let healthy = MetricDescriptor(
        "switchyard_backend_healthy", .gauge, labels: ["backend"],
        help: "1 when the backend answers its health check, else 0.")
    public static let inRotation = MetricDescriptor(
        "switchyard_backend_in_rotation", .gauge, labels: ["backend"],
        help: "1 when the backend takes new requests (healthy, not ejected, not draining, not removed), else 0.")
    public static let retries = MetricDescriptor(
        "switchyard_retries_total", .counter, labels: ["backend"],
        help: "Requests sent to another backend after this one failed before the client saw a byte.")
    public static let queueDepth = MetricDescriptor(
        "switchyard_queue_depth", .gauge, labels: ["band"],
        help: "Requests waiting in Switchyard's queue, by priority band (high: priority < 0, normal: 0, "
            + "low: > 0).")
    public static let queueTokens = MetricDescriptor(
        "switchyard_queue_tokens", .gauge, labels: ["band"],
        help: "Tokens (prompt + output budget) waiting in the queue, by priority band.")
    public static let backendWaiting = MetricDescriptor(
        "switchyard_backend_num_requests_waiting", .gauge, labels: ["backend"],
        help: "vllm:num_requests_waiting scraped from the backend's /metrics (absent until scraped).")
    public static let backendRunning = MetricDescriptor(
        "switchyard_backend_num_requests_running", .gauge, labels: ["backend"],
        help: "vllm:num_requests_running scraped from the backend's /metrics (absent until scraped).")
    public static let backendKVCache = MetricDescriptor(
        "switchyard_backend_kv_cache_usage_perc", .gauge, labels: ["backend"],
        help: "vllm:kv_cache_usage_perc (0-1) scraped from the backend's /metrics (absent until scraped).")

    public static let all: [MetricDescriptor] = [
        ttft, ttftFromDispatch, itl, tpot, e2el, queueTime, promptTokens, generationTokens,
        requests, rejections, promptTokensTotal, generationTokensTotal, estimatedGenerationTokens, upstreamErrors,
        clientDisconnects,
        retries, inFlightRequests, inFlightTokens, maxConcurrent, healthy, inRotation, queueDepth, queueTokens, backendWaiting,
        backendRunning, backendKVCache,
    ]

    /// The series names a scrape can contain (histograms add `_bucket`, `_sum`, `_count`).
    public static var seriesNames: Set<String> {
        var names: Set<String> = []
        for metric in all {
            if metric.kind == .histogram {
                names.formUnion(["_bucket", "_sum", "_count"].map { metric.name + $0 })
            } else {
                names.insert(metric.name)
            }
        }
        return names
    }
}
