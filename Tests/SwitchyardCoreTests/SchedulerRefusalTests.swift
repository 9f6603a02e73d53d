import Testing

@testable import SwitchyardCore

/// One backend with one slot, taken: everything submitted next must wait or be refused.
private func saturated(configure: (inout SwitchyardConfig) -> Void = { _ in }) -> (SchedulerHarness, UInt64) {
    var h = SchedulerHarness(backends: 1, maxConcurrent: 1, configure: configure)
    let blocker = h.nextID
    h.dispatch()
    return (h, blocker)
}

/// Measures a drain rate of about 1000 tokens/s: one slot, requests of 1000 tokens, one finished
/// per second for 4 s while another waits. Leaves one request of 1000 tokens waiting at t = 4 s.
private func measuredDrain(configure: (inout SwitchyardConfig) -> Void = { _ in }) -> SchedulerHarness {
    var h = SchedulerHarness(backends: 1, maxConcurrent: 1, configure: configure)
    var running = h.nextID
    h.dispatch(prompt: 500, output: 500)
    h.enqueue(prompt: 500, output: 500, timeout: .seconds(300))
    for second in 1...4 {
        h.now = .seconds(second)
        let bound = h.finish(running)
        #expect(bound.count == 1)
        running = bound.first ?? 0
        h.enqueue(prompt: 500, output: 500, timeout: .seconds(300))
    }
    #expect(h.scheduler.queue.count == 1 && h.scheduler.queue.tokens == 1000)
    return h
}

@Suite("Scheduler refusals: 429, 503 and 504 with Retry-After")
struct SchedulerRefusalTests {
    @Test("queue full by count: 429 queue_full with Retry-After, and the queue unchanged")
    func queueFullByCount() throws {
        var (h, _) = saturated { $0.queue.maxRequests = 2 }
        let first = h.enqueue()
        let second = h.enqueue()
        let refused = h.refusal()
        let error = try #require(refused)
        #expect(error.status == 429)
        #expect(error.reason == "queue_full")
        #expect(error.retryAfterSeconds == 1)  // no drain rate measured yet
        #expect(error.message.contains("2 requests"))
        #expect(h.queuedIDs == [first, second])
        #expect(h.scheduler.counters.refused == ["queue_full": 1])
    }

    @Test("queue full by tokens: 429 queue_full; a request that just fits waits")
    func queueFullByTokens() throws {
        var (h, _) = saturated { $0.queue.maxTokens = 1000 }
        h.enqueue(prompt: 400, output: 200)
        let refused = h.refusal(prompt: 300, output: 200)
        let error = try #require(refused)
        #expect(error.status == 429 && error.reason == "queue_full")
        #expect((error.retryAfterSeconds ?? 0) >= 1)
        h.enqueue(prompt: 300, output: 100)  // exactly 1000
        #expect(h.scheduler.queue.tokens == 1000)
        #expect(h.refusal(prompt: 1, output: 0)?.reason == "queue_full")
    }

    @Test("over its share while the queue is more than half full: 429 tenant_over_share")
    func tenantOverShare() throws {
        var (h, _) = saturated { $0.queue.maxTokens = 1000 }
        h.enqueue(prompt: 100, output: 0, tenant: "b")
        h.enqueue(prompt: 300, output: 0, tenant: "a")
        h.enqueue(prompt: 200, output: 0, tenant: "a")  // a holds 500: its share of 1000 among 2
        let refused = h.refusal(prompt: 100, output: 0, tenant: "a")
        let error = try #require(refused)
        #expect(error.status == 429)
        #expect(error.reason == "tenant_over_share")
        #expect((error.retryAfterSeconds ?? 0) >= 1)
        #expect(error.message.contains("500 tokens waiting"))
        // The other tenant is under its share and still waits.
        h.enqueue(prompt: 300, output: 0, tenant: "b")
        #expect(h.scheduler.queue.tenantTokens == ["a": 500, "b": 400])
    }

    @Test("shares follow the weights")
    func weightedShare() throws {
        var (h, _) = saturated { config in
            config.queue.maxTokens = 1000
            config.queue.tenantWeights = ["big": 3]
        }
        h.enqueue(prompt: 10, output: 0, tenant: "small")
        // "big" may hold 750 of 1000 (weight 3 of 4), "small" 250.
        h.enqueue(prompt: 700, output: 0, tenant: "big")
        #expect(h.refusal(prompt: 60, output: 0, tenant: "big")?.reason == "tenant_over_share")
        h.enqueue(prompt: 40, output: 0, tenant: "big")
        h.enqueue(prompt: 200, output: 0, tenant: "small")
        #expect(h.refusal(prompt: 50, output: 0, tenant: "small")?.reason == "tenant_over_share")
        #expect(h.scheduler.queue.tenantTokens == ["big": 740, "small": 210])
    }

    @Test("shares apply only once the queue is more than half full by tokens")
    func shareOnlyPastHalf() throws {
        var (h, _) = saturated { config in
            config.queue.maxTokens = 1000
            config.queue.tenantWeights = ["big": 3]
        }
        h.enqueue(prompt: 100, output: 0, tenant: "big")
        h.enqueue(prompt: 300, output: 0, tenant: "small")  // over 250, but 400 ≤ 500 waiting
        h.enqueue(prompt: 100, output: 0, tenant: "small")  // 500 waiting: not more than half
        #expect(h.refusal(prompt: 1, output: 0, tenant: "small")?.reason == "tenant_over_share")
        #expect(h.scheduler.queue.tenantTokens == ["big": 100, "small": 400])
    }

    @Test("the measured drain rate is about the tokens finished per second while saturated")
    func drainRateMeasured() throws {
        let h = measuredDrain()
        let rate = try #require(h.scheduler.drain.tokensPerSecond)
        #expect(abs(rate - 1000) < 30, "rate \(rate)")
    }

    @Test("projected wait beyond the timeout: 503 queue_wait_exceeds_timeout, Retry-After ≈ projected − timeout")
    func projectedWaitTooLong() throws {
        var h = measuredDrain()
        // 1000 tokens ahead plus its own 10000 at ≈ 1000 tokens/s: ≈ 11 s against a 2 s timeout.
        let refused = h.refusal(prompt: 5000, output: 5000, timeout: .seconds(2))
        let error = try #require(refused)
        #expect(error.status == 503)
        #expect(error.reason == "queue_wait_exceeds_timeout")
        let retry = try #require(error.retryAfterSeconds)
        #expect((8...10).contains(retry), "Retry-After \(retry)")
        #expect(error.message.contains("queue timeout of 2 s"))
        // With time enough, the same request waits.
        h.enqueue(prompt: 5000, output: 5000, timeout: .seconds(20))
    }

    @Test("the projected wait counts only the requests ranked ahead")
    func projectedWaitByPriority() throws {
        var h = measuredDrain()
        // Priority 0: 1000 waiting + 1000 own ≈ 2 s > 1.5 s. Priority -1: only its own ≈ 1 s.
        #expect(h.refusal(prompt: 500, output: 500, timeout: .seconds(1.5))?.reason == "queue_wait_exceeds_timeout")
        h.enqueue(prompt: 500, output: 500, priority: -1, timeout: .seconds(1.5))
    }

    @Test("with a measured drain rate, a full queue's Retry-After is the time to drain the excess")
    func queueFullRetryAfterFromRate() throws {
        // The queue holds exactly its limit: the excess is the new request's own 5000 tokens.
        var h = measuredDrain { config in
            config.queue.maxTokens = 1000
            config.queue.maxRequests = 1
        }
        let refused = h.refusal(prompt: 4000, output: 1000, timeout: .seconds(300))
        let error = try #require(refused)
        #expect(error.reason == "queue_full")
        let retry = try #require(error.retryAfterSeconds)
        #expect((4...6).contains(retry), "Retry-After \(retry)")
    }

    @Test("expire: nil before the deadline, 504 queue_timeout at it, nil once bound or expired")
    func expire() throws {
        var (h, blocker) = saturated()
        let short = h.enqueue(timeout: .seconds(10))
        let long = h.enqueue(timeout: .seconds(20))
        h.now = .seconds(9.999)
        #expect(h.scheduler.expire(request: short, now: h.now) == nil)
        #expect(h.queuedIDs == [short, long])
        h.now = .seconds(10)
        let expired = h.scheduler.expire(request: short, now: h.now)
        let error = try #require(expired)
        #expect(error.status == 504)
        #expect(error.reason == "queue_timeout")
        #expect(error.retryAfterSeconds == 1)
        #expect(error.message.contains("waited 10 s"))
        #expect(error.message.contains("x-switchyard-queue-timeout"))
        #expect(h.queuedIDs == [long])
        #expect(h.scheduler.expire(request: short, now: .seconds(11)) == nil)
        // Bound before its deadline: its timer finds nothing to expire.
        h.now = .seconds(15)
        #expect(h.finish(blocker) == [long])
        #expect(h.scheduler.expire(request: long, now: .seconds(25)) == nil)
        #expect(h.held[long] != nil)
        #expect(h.scheduler.counters.expired == 1)
        #expect(h.scheduler.counters.boundFromQueue == 1)
    }

    @Test("queueing off (max_requests 0): 503 backends_saturated with Retry-After")
    func queueingOff() throws {
        var (h, _) = saturated { $0.queue.maxRequests = 0 }
        let refused = h.refusal()
        let error = try #require(refused)
        #expect(error.status == 503)
        #expect(error.reason == "backends_saturated")
        #expect(error.retryAfterSeconds == 1)
        #expect(error.type == "ServiceUnavailableError")
        #expect(h.scheduler.queue.isEmpty)
    }

    @Test("a refusal leaves no trace in the loads or the queue")
    func refusalLeavesNoTrace() throws {
        var (h, _) = saturated { config in
            config.queue.maxRequests = 1
            config.queue.maxTokens = 1000
        }
        h.enqueue(prompt: 100, output: 0)
        let before = (h.load(0), h.scheduler.queue.entries, h.scheduler.queue.tokens)
        _ = h.refusal(prompt: 100, output: 0)
        _ = h.refusal(prompt: 5000, output: 0)
        #expect(h.load(0) == before.0)
        #expect(h.scheduler.queue.entries == before.1 && h.scheduler.queue.tokens == before.2)
        #expect(h.scheduler.counters.refused["queue_full"] == 2)
    }
}
