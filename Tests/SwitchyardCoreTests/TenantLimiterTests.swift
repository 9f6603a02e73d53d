import Testing

@testable import SwitchyardCore

extension TenantLimiter {
    /// `acquire` that must succeed (recording an issue otherwise).
    fileprivate mutating func take(
        _ tenant: String, _ limits: TenantLimits, tokens: Int = 0, at seconds: Double,
        sourceLocation: SourceLocation = #_sourceLocation
    ) {
        if let error = acquire(tenant: tenant, limits: limits, tokens: tokens, now: .seconds(seconds)) {
            Issue.record("expected \(tenant) to be admitted, got \(error.reason)", sourceLocation: sourceLocation)
        }
    }

    /// `acquire` that must be refused; the 429 (nil, recording an issue, otherwise).
    fileprivate mutating func refusal(
        _ tenant: String, _ limits: TenantLimits, tokens: Int = 0, at seconds: Double,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> OpenAIError? {
        guard let error = acquire(tenant: tenant, limits: limits, tokens: tokens, now: .seconds(seconds)) else {
            Issue.record("expected \(tenant) to be refused", sourceLocation: sourceLocation)
            return nil
        }
        #expect(error.status == 429 && error.type == "RateLimitError", sourceLocation: sourceLocation)
        return error
    }
}

@Suite("TenantLimiter")
struct TenantLimiterTests {
    @Test("no limits: everything is admitted and nothing is tracked")
    func noLimits() {
        var limiter = TenantLimiter()
        let none = TenantLimits()
        #expect(none.isEmpty)
        for index in 0..<1000 { limiter.take("free", none, tokens: 1_000_000, at: Double(index) / 1000) }
        #expect(limiter.inFlight(tenant: "free") == 0)
        limiter.release(tenant: "free")
        #expect(limiter.inFlight(tenant: "free") == 0)
    }

    @Test("max_concurrent: requests beyond it are refused until one is released")
    func maxConcurrent() throws {
        var limiter = TenantLimiter()
        let limits = TenantLimits(maxConcurrent: 2)
        limiter.take("a", limits, at: 0)
        limiter.take("a", limits, at: 0)
        #expect(limiter.inFlight(tenant: "a") == 2)
        let refused = limiter.refusal("a", limits, at: 0)
        let error = try #require(refused)
        #expect(error.reason == "tenant_concurrency_limit" && error.retryAfterSeconds == 1)
        #expect(error.message == "Tenant `a` already has 2 requests in flight, its limit (max_concurrent).")
        #expect(limiter.inFlight(tenant: "a") == 2, "a refusal takes nothing")
        // Another tenant has its own count.
        limiter.take("b", limits, at: 0)
        limiter.release(tenant: "a")
        #expect(limiter.inFlight(tenant: "a") == 1)
        limiter.take("a", limits, at: 0)
        #expect(limiter.inFlight(tenant: "a") == 2 && limiter.inFlight(tenant: "b") == 1)
    }

    @Test("releases beyond what was taken, or for unknown tenants, change nothing")
    func extraReleases() {
        var limiter = TenantLimiter()
        let limits = TenantLimits(maxConcurrent: 1)
        limiter.release(tenant: "nobody")
        #expect(limiter.inFlight(tenant: "nobody") == 0)
        limiter.take("a", limits, at: 0)
        limiter.release(tenant: "a")
        limiter.release(tenant: "a")
        #expect(limiter.inFlight(tenant: "a") == 0)
        limiter.take("a", limits, at: 0)
        _ = limiter.refusal("a", limits, at: 0)
    }

    @Test("requests_per_minute: a full minute's allowance at once, then one every 60/rpm seconds")
    func requestsPerMinute() throws {
        var limiter = TenantLimiter()
        let limits = TenantLimits(requestsPerMinute: 3)
        for _ in 0..<3 { limiter.take("a", limits, at: 0) }
        let first = limiter.refusal("a", limits, at: 0)
        var error = try #require(first)
        #expect(error.reason == "tenant_rate_limit" && error.retryAfterSeconds == 20)
        #expect(error.message == "Tenant `a` is over its limit of 3 requests per minute.")
        let second = limiter.refusal("a", limits, at: 10)
        error = try #require(second)
        #expect(error.retryAfterSeconds == 10, "half a request refilled after 10s")
        limiter.take("a", limits, at: 20)
        #expect(limiter.refusal("a", limits, at: 20)?.retryAfterSeconds == 20)
        // Requests per minute count arrivals, not requests in flight: releasing does not refill.
        for _ in 0..<4 { limiter.release(tenant: "a") }
        #expect(limiter.refusal("a", limits, at: 20)?.reason == "tenant_rate_limit")
    }

    @Test("the bucket holds at most a minute's worth, however long the tenant was idle")
    func refillIsCapped() {
        var limiter = TenantLimiter()
        let limits = TenantLimits(requestsPerMinute: 2)
        limiter.take("a", limits, at: 0)
        for _ in 0..<2 { limiter.take("a", limits, at: 3600) }
        #expect(limiter.refusal("a", limits, at: 3600)?.retryAfterSeconds == 30)
    }

    @Test("Retry-After is whole seconds rounded up, and at least 1")
    func retryAfterRounding() {
        var limiter = TenantLimiter()
        let limits = TenantLimits(requestsPerMinute: 600)  // one every 0.1 s
        for _ in 0..<600 { limiter.take("a", limits, at: 0) }
        #expect(limiter.refusal("a", limits, at: 0)?.retryAfterSeconds == 1)
        let slow = TenantLimits(requestsPerMinute: 7)  // one every 8.57 s
        for _ in 0..<7 { limiter.take("b", slow, at: 0) }
        #expect(limiter.refusal("b", slow, at: 0)?.retryAfterSeconds == 9)
    }

    @Test("tokens_per_minute: prompt plus output reserved, refilled continuously")
    func tokensPerMinute() throws {
        var limiter = TenantLimiter()
        let limits = TenantLimits(tokensPerMinute: 1000)
        limiter.take("a", limits, tokens: 600, at: 0)
        let refused = limiter.refusal("a", limits, tokens: 600, at: 0)
        let error = try #require(refused)
        #expect(error.reason == "tenant_token_limit" && error.retryAfterSeconds == 12)
        #expect(
            error.message
                == "Tenant `a` is over its limit of 1000 tokens per minute (this request: about 600 tokens).")
        limiter.take("a", limits, tokens: 400, at: 0)
        // 200 tokens refill in 12 s.
        #expect(limiter.refusal("a", limits, tokens: 200, at: 6)?.retryAfterSeconds == 6)
        limiter.take("a", limits, tokens: 200, at: 12)
        #expect(limiter.refusal("a", limits, tokens: 1, at: 12) != nil)
    }

    @Test("a request above a minute's allowance waits for a full bucket, then empties it")
    func oversizedRequest() {
        var limiter = TenantLimiter()
        let limits = TenantLimits(tokensPerMinute: 1000)
        limiter.take("a", limits, tokens: 5000, at: 0)
        #expect(limiter.refusal("a", limits, tokens: 10, at: 0)?.retryAfterSeconds == 1)
        // Half refilled: the oversized request waits for the other half.
        #expect(limiter.refusal("a", limits, tokens: 5000, at: 30)?.retryAfterSeconds == 30)
        limiter.take("a", limits, tokens: 5000, at: 60)
    }

    @Test("a refusal by one limit takes nothing from the others")
    func refusalTakesNothing() throws {
        var limiter = TenantLimiter()
        let limits = TenantLimits(maxConcurrent: 100, requestsPerMinute: 10, tokensPerMinute: 100)
        limiter.take("a", limits, tokens: 80, at: 0)
        for _ in 0..<5 {
            #expect(limiter.refusal("a", limits, tokens: 80, at: 0)?.reason == "tenant_token_limit")
        }
        #expect(limiter.inFlight(tenant: "a") == 1)
        // The token refusals used no request allowance: nine more fit in this minute.
        for _ in 0..<9 { limiter.take("a", limits, tokens: 0, at: 0) }
        #expect(limiter.refusal("a", limits, tokens: 0, at: 0)?.reason == "tenant_rate_limit")
        // And a rate refusal used no tokens: 20 are still there.
        let later = TenantLimits(maxConcurrent: 100, tokensPerMinute: 100)
        limiter.take("a", later, tokens: 20, at: 0)
        #expect(limiter.refusal("a", later, tokens: 1, at: 0)?.reason == "tenant_token_limit")
    }

    @Test("limits are checked in order: concurrency, then requests, then tokens")
    func checkOrder() {
        var limiter = TenantLimiter()
        let limits = TenantLimits(maxConcurrent: 1, requestsPerMinute: 1, tokensPerMinute: 10)
        limiter.take("a", limits, tokens: 10, at: 0)
        #expect(limiter.refusal("a", limits, tokens: 10, at: 0)?.reason == "tenant_concurrency_limit")
        limiter.release(tenant: "a")
        #expect(limiter.refusal("a", limits, tokens: 10, at: 0)?.reason == "tenant_rate_limit")
        #expect(limiter.refusal("a", limits, tokens: 10, at: 30)?.reason == "tenant_rate_limit")
        // A minute on, both allowances are back.
        limiter.take("a", limits, tokens: 10, at: 60)
    }

    @Test("tenants have separate buckets")
    func separateTenants() {
        var limiter = TenantLimiter()
        let limits = TenantLimits(requestsPerMinute: 1, tokensPerMinute: 100)
        limiter.take("a", limits, tokens: 100, at: 0)
        limiter.take("b", limits, tokens: 100, at: 0)
        limiter.take("", limits, tokens: 100, at: 0)
        #expect(limiter.refusal("a", limits, at: 0)?.reason == "tenant_rate_limit")
        #expect(limiter.refusal("b", limits, at: 0)?.reason == "tenant_rate_limit")
    }

    @Test("a clock that steps back neither refills nor crashes")
    func clockStepsBack() {
        var limiter = TenantLimiter()
        let limits = TenantLimits(requestsPerMinute: 1)
        limiter.take("a", limits, at: 100)
        #expect(limiter.refusal("a", limits, at: 40)?.retryAfterSeconds == 60)
        #expect(limiter.refusal("a", limits, at: 100)?.retryAfterSeconds == 60)
        limiter.take("a", limits, at: 160)
    }
}
