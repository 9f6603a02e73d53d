/// How a backend is chosen among those that can serve a request.
public enum RoutingPolicy: String, Sendable, Equatable, CaseIterable {
    /// Take turns among backends with a free slot.
    case roundRobin = "round-robin"
    /// Fewest requests in flight.
    case leastRequests = "least-requests"
    /// Least outstanding work: prompt tokens not yet prefilled plus output tokens still to decode
    /// (image tokens included).
    case leastTokens = "least-tokens"
    /// Power of two choices: two random backends, the one with less outstanding work scaled by
    /// its measured time per output token wins.
    case powerOfTwo = "p2c"
    /// The `p2c` score over every candidate: (outstanding tokens + this request's) × the
    /// backend's TPOT relative to the mean. Big requests keep off slow or congested backends.
    case leastTime = "least-time"
    /// Lowest expected time to first token: (prompt tokens not yet prefilled + this request's)
    /// × the backend's measured seconds of TTFT per prompt token (an EWMA over its requests,
    /// preprocessing, queueing and prefill included).
    case leastTTFT = "least-ttft"
    /// Consistent hashing with bounded loads on the session key.
    case sessionAffinity = "session-affinity"
}

/// `routing:` — which policy decides, and the signals it may use.
public struct RoutingConfig: Sendable, Equatable {
    public var policy: RoutingPolicy = .leastTTFT
    /// Per-model overrides of `policy`, by model name.
    public var modelPolicies: [String: RoutingPolicy] = [:]
    /// Header carrying a client's session key; without it the key is a hash of the system prompt
    /// and the first user turn.
    public var sessionHeader = "x-session-id"
    /// session-affinity: leave the session's backend when its load exceeds this factor times the
    /// average (bounded-load consistent hashing; 1.25 is the usual choice).
    public var affinityLoadFactor = 1.25
    /// Correct local counts with the backends' scraped `/metrics` (load Switchyard did not send,
    /// KV-cache pressure).
    public var kvAware = true
    /// How often each backend's `/metrics` is scraped (0 disables scraping).
    public var metricsScrapeInterval: Duration = .seconds(2)
    /// A backend whose scraped `vllm:kv_cache_usage_perc` is at or above this is chosen only when
    /// no other backend can take the request.
    public var kvHighWatermark = 0.95
    public init() {}

    public func policy(for model: String?) -> RoutingPolicy {
        model.flatMap { modelPolicies[$0] } ?? policy
    }
}

/// `queue:` — the late-binding queue in front of full backends.
public struct QueueConfig: Sendable, Equatable {
    /// Most requests waiting at once (429 `queue_full` beyond; 0 turns queueing off).
    public var maxRequests = 1024
    /// Most tokens (prompt + output budget) waiting at once (429 `queue_full` beyond).
    public var maxTokens = 16_000_000
    /// How long a request may wait for a slot (504 `queue_timeout` after).
    public var timeout: Duration = .seconds(30)
    /// The most a client may ask for with the timeout header.
    public var maxTimeout: Duration = .seconds(300)
    /// Request header overriding `timeout`, in seconds (capped at `max_timeout`).
    public var timeoutHeader = "x-switchyard-queue-timeout"
    /// Anti-starvation: every interval waited lowers a request's effective priority by one.
    public var agingInterval: Duration = .seconds(5)
    /// Header naming the tenant; without it (or when absent) the API key is the tenant.
    public var tenantHeader: String?
    /// Fair-share weights by tenant name (header value or API key); others weigh 1.
    public var tenantWeights: [String: Double] = [:]
    /// Deficit round robin's quantum, in tokens per turn (times the tenant's weight).
    public var quantum = 4096
    public init() {}

    public func weight(of tenant: String) -> Double { tenantWeights[tenant] ?? 1 }
}

/// What admission does with a request whose output budget does not fit the context window.
public enum AdmissionMode: String, Sendable, Equatable, CaseIterable {
    /// 400 `context_length_exceeded` with the counts, as vLLM would answer.
    case reject
    /// Lower `max_tokens` / `max_completion_tokens` to what fits and say so in a header.
    case clamp
}
