/// Per-tenant limits: requests in flight, requests per minute and tokens per minute (token
/// buckets holding a minute's allowance, refilled continuously). Pure: time is passed in.
public struct TenantLimiter: Sendable {
    struct Bucket: Sendable {
        var level: Double
        var at: Duration

        /// Refills to `now` at `perMinute`, capped at a minute's worth.
        mutating func refill(perMinute: Int, now: Duration) {
            let elapsed = max(0, (now - at).inSeconds)
            level = min(Double(perMinute), level + elapsed * Double(perMinute) / 60)
            at = now
        }

        /// Seconds until `amount` is available at `perMinute` (amounts above a minute's worth
        /// wait for a full bucket).
        func wait(for amount: Double, perMinute: Int) -> Double {
            let needed = min(amount, Double(perMinute)) - level
            return needed <= 0 ? 0 : needed * 60 / Double(perMinute)
        }
    }

    struct Usage: Sendable {
        var inFlight = 0
        var requests: Bucket?
        var tokens: Bucket?
    }

    private var usage: [String: Usage] = [:]

    public init() {}

    /// Takes one request of `tokens` for `tenant`, or says which limit it is over (429 with the
    /// wait until it would fit). Release it with `release` when it ends.
    public mutating func acquire(tenant: String, limits: TenantLimits, tokens: Int, now: Duration) -> OpenAIError? {
        guard !limits.isEmpty else { return nil }
        var entry = usage[tenant, default: Usage()]
        if let max = limits.maxConcurrent, entry.inFlight >= max {
            return OpenAIError(
                status: 429,
                message:
                    "Tenant `\(tenant)` already has \(entry.inFlight) requests in flight, its limit (max_concurrent).",
                reason: "tenant_concurrency_limit", retryAfterSeconds: 1)
        }
        var requests = entry.requests ?? Bucket(level: Double(limits.requestsPerMinute ?? 0), at: now)
        var tokenBucket = entry.tokens ?? Bucket(level: Double(limits.tokensPerMinute ?? 0), at: now)
        if let rpm = limits.requestsPerMinute {
            requests.refill(perMinute: rpm, now: now)
            let wait = requests.wait(for: 1, perMinute: rpm)
            if wait > 0 {
                return OpenAIError(
                    status: 429, message: "Tenant `\(tenant)` is over its limit of \(rpm) requests per minute.",
                    reason: "tenant_rate_limit", retryAfterSeconds: Self.seconds(wait))
            }
        }
        if let tpm = limits.tokensPerMinute {
            tokenBucket.refill(perMinute: tpm, now: now)
            let wait = tokenBucket.wait(for: Double(tokens), perMinute: tpm)
            if wait > 0 {
                return OpenAIError(
                    status: 429,
                    message:
                        "Tenant `\(tenant)` is over its limit of \(tpm) tokens per minute (this request: about "
                        + "\(tokens) tokens).",
                    reason: "tenant_token_limit", retryAfterSeconds: Self.seconds(wait))
            }
        }
        if limits.requestsPerMinute != nil {
            requests.level -= 1
            entry.requests = requests
        }
        if limits.tokensPerMinute != nil {
            // A request above a minute's allowance empties the bucket rather than overdrawing it.
            tokenBucket.level = max(0, tokenBucket.level - Double(tokens))
            entry.tokens = tokenBucket
        }
        entry.inFlight += 1
        usage[tenant] = entry
        return nil
    }

    /// A request taken with `acquire` ended.
    public mutating func release(tenant: String) {
        guard var entry = usage[tenant], entry.inFlight > 0 else { return }
        entry.inFlight -= 1
        usage[tenant] = entry
    }

    public func inFlight(tenant: String) -> Int { usage[tenant]?.inFlight ?? 0 }

    private static func seconds(_ wait: Double) -> Int { max(1, Int(wait.rounded(.up))) }
}
