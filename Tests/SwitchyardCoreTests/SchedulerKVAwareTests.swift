import Testing

@testable import SwitchyardCore

/// Two backends serving "m"; scrapes every 2 s, so a scrape counts for 6 s.
private func harness(_ policy: RoutingPolicy, kvAware: Bool = true) -> SchedulerHarness {
    SchedulerHarness(backends: 2, policy: policy) { config in
        config.routing.kvAware = kvAware
        config.routing.metricsScrapeInterval = .seconds(2)
        config.routing.kvHighWatermark = 0.95
    }
}

extension SchedulerHarness {
    mutating func scrape(_ backend: Int, running: Int = 0, waiting: Int = 0, kv: Double = 0.1, at time: Duration? = nil)
    {
        scheduler.metricsScraped(
            backend: backend, running: running, waiting: waiting, kvCacheUsage: kv, now: time ?? now)
    }

    func choice(at time: Duration? = nil, tokens: Int = 200) -> Int {
        scheduler.choose(request(prompt: tokens, output: 0), among: [0, 1], now: time ?? now)
    }
}

@Suite("Scheduler routing: KV-aware correction from scraped /metrics")
struct SchedulerKVAwareTests {
    @Test("least-requests counts a fresh scrape's external requests")
    func leastRequestsExternal() {
        var h = harness(.leastRequests)
        // b0 holds 7 requests Switchyard did not send: the next 7 go to b1, then they alternate.
        h.scrape(0, running: 5, waiting: 2)
        #expect(h.backends[0].load.scrape?.external == 7)
        var placed: [Int] = []
        for _ in 0..<9 { placed.append(h.dispatch()) }
        #expect(Array(placed.prefix(7)) == Array(repeating: 1, count: 7))
        #expect(Set(placed.suffix(2)) == [0, 1])
    }

    @Test(
        "external work is what the scrape reports beyond Switchyard's own requests then",
        arguments: [
            // (running, waiting) on b0 with 2 local requests on each backend → external on b0
            (2, 0, 0), (1, 0, 0), (4, 1, 3), (0, 6, 4),
        ])
    func externalBeyondLocal(running: Int, waiting: Int, external: Int) {
        var h = harness(.leastRequests)
        for backend in [0, 0, 1, 1] { h.pin(backend) }
        h.scrape(0, running: running, waiting: waiting)
        #expect(h.scheduler.external(of: 0, now: h.now) == external)
        #expect(h.scheduler.external(of: 1, now: h.now) == 0)
        // Local requests that end later do not turn into external ones.
        for id in Array(h.held.keys) { h.finish(id) }
        #expect(h.scheduler.external(of: 0, now: h.now) == external)
        if external > 0 { #expect(h.choice() == 1) }
    }

    @Test("least-tokens counts external requests at the mean cost of Switchyard's own")
    func leastTokensExternal() {
        var h = harness(.leastTokens)
        h.pin(1, prompt: 1500, output: 500)  // b1: 2000 tokens; mean request 2000 tokens
        #expect(h.choice() == 0)
        h.scrape(0, running: 2, waiting: 1)
        #expect(h.scheduler.outstanding(of: 0, now: h.now) == 6000)
        #expect(h.scheduler.outstanding(of: 1, now: h.now) == 2000)
        #expect(h.choice() == 1)
        #expect(h.dispatch() == 1)
    }

    @Test(
        "a backend at or above the KV high watermark is avoided unless every one is",
        arguments: [RoutingPolicy.roundRobin, .leastRequests, .leastTokens, .powerOfTwo, .sessionAffinity])
    func highWatermark(policy: RoutingPolicy) {
        var h = harness(policy)
        for _ in 0..<5 { h.pin(1) }  // b0 idle, b1 busy: every policy would pick b0
        h.scrape(0, kv: 0.95)
        h.scrape(1, kv: 0.5)
        for id in UInt64(100)..<UInt64(120) {
            #expect(h.scheduler.choose(h.request(id: id), among: [0, 1], now: h.now) == 1)
        }
        // Just below the watermark: b0 is back.
        h.scrape(0, kv: 0.9499)
        #expect(h.choice() == 0)
        // Both at or above: the watermark no longer decides, the policy does.
        h.scrape(0, kv: 0.99)
        h.scrape(1, kv: 0.96)
        #expect(h.choice() == 0)
        // A hot backend that is the only candidate is still chosen.
        #expect(h.scheduler.choose(h.request(), among: [0], now: h.now) == 0)
    }

    @Test("a scrape older than three scrape intervals is ignored")
    func staleScrape() {
        var h = harness(.leastRequests)
        h.scrape(0, running: 10, waiting: 0, at: .zero)
        h.scrape(1, kv: 0.1, at: .zero)
        #expect(h.scheduler.external(of: 0, now: .seconds(6)) == 10)
        #expect(h.choice(at: .seconds(6)) == 1)
        #expect(h.scheduler.external(of: 0, now: .seconds(6.01)) == 0)
        #expect(h.backends[0].load.freshScrape(now: .seconds(6.01), maxAge: .seconds(6)) == nil)

        // The same for the watermark: b1 idle but hot, b0 loaded.
        var hot = harness(.leastRequests)
        hot.pin(0)
        hot.scrape(1, kv: 0.99, at: .zero)
        #expect(hot.choice(at: .seconds(5)) == 0)
        #expect(hot.choice(at: .seconds(7)) == 1)
    }

    @Test("kv_aware off: scrapes change nothing", arguments: [RoutingPolicy.leastRequests, .leastTokens])
    func kvAwareOff(policy: RoutingPolicy) {
        var h = harness(policy, kvAware: false)
        h.pin(1)
        h.scrape(0, running: 50, waiting: 50, kv: 0.99)
        #expect(h.scheduler.external(of: 0, now: h.now) == 0)
        #expect(h.scheduler.outstanding(of: 0, now: h.now) == 0)
        #expect(h.choice() == 0)
        #expect(h.dispatch() == 0)
    }
}
