import Foundation
import NIOCore
import SwitchyardCore
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// The late-binding queue end to end: one sim replica with one slot, so every further request
/// waits in Switchyard's queue until the slot frees.
@Suite struct QueueTests {
    /// A replica whose generations take `tokens × 20 ms`.
    static func oneSlot(
        configure: @escaping (inout SwitchyardConfig) -> Void = { _ in }, _ body: (ProxyHarness) async throws -> Void
    ) async throws {
        try await withProxy(
            customizeSim: { _, sim in sim.interTokenInterval = .milliseconds(20) },
            configure: {
                quietProbes(&$0)
                $0.backends[0].maxConcurrent = 1
                configure(&$0)
            }, body)
    }

    static func chat(tokens: Int, priority: Int? = nil) -> String {
        var body = #"{"model":"glm-4.5v","messages":[{"role":"user","content":"Hi"}],"max_tokens":\#(tokens)"#
        if let priority { body += #","priority":\#(priority)"# }
        return body + "}"
    }

    static func status(_ proxy: ProxyHarness) async throws -> [String: Any] {
        try await proxy.request("GET", "/switchyard/status").json()
    }

    static func queued(_ proxy: ProxyHarness) async throws -> Int {
        (try await status(proxy)["queue"] as? [String: Any])?["requests"] as? Int ?? -1
    }

    @Test func waitingRequestsRunByPriorityThenArrival() async throws {
        try await Self.oneSlot { proxy in
            let finished = FinishOrder()
            try await withThrowingTaskGroup(of: Void.self) { group in
                // "first" holds the slot (2 s, room for a busy machine); the others queue in the
                // order listed.
                for (index, (name, priority)) in [("first", 0), ("low", 5), ("high-1", 0), ("high-2", 0)].enumerated() {
                    group.addTask {
                        let response = try await proxy.post(
                            "/v1/chat/completions", Self.chat(tokens: name == "first" ? 100 : 5, priority: priority))
                        #expect(response.status == 200, "\(name): \(response.bodyString)")
                        finished.append(name)
                    }
                    #expect(try await eventually { try await Self.queued(proxy) == index })
                }
                try await group.waitForAll()
            }
            #expect(finished.names == ["first", "high-1", "high-2", "low"])
            let counters = try #require(try await Self.status(proxy)["counters"] as? [String: Any])
            #expect(counters["queued"] as? Int == 3)
            #expect(counters["bound_from_queue"] as? Int == 3)
        }
    }

    @Test func aFullQueueAnswers429WithRetryAfter() async throws {
        try await Self.oneSlot(configure: { $0.queue.maxRequests = 1 }) { proxy in
            async let first = proxy.post("/v1/chat/completions", Self.chat(tokens: 50))
            #expect(try await eventually { Self.inFlight(try await Self.status(proxy)) == 1 })
            async let second = proxy.post("/v1/chat/completions", Self.chat(tokens: 2))
            #expect(try await eventually { try await Self.queued(proxy) == 1 })
            let third = try await proxy.post("/v1/chat/completions", Self.chat(tokens: 2))
            #expect(third.status == 429)
            #expect(third.header("x-switchyard-reason") == "queue_full")
            #expect(Int(third.header("retry-after") ?? "") ?? 0 >= 1)
            let error = try #require(try third.json()["error"] as? [String: Any])
            #expect((error["message"] as? String)?.hasPrefix("The request queue is full (1 requests") == true)
            #expect(try await first.status == 200)
            #expect(try await second.status == 200)
        }
    }

    @Test func aRequestThatWaitsPastItsTimeoutGets504() async throws {
        try await Self.oneSlot { proxy in
            async let first = proxy.post("/v1/chat/completions", Self.chat(tokens: 50))
            #expect(try await eventually { Self.inFlight(try await Self.status(proxy)) == 1 })
            let started = ContinuousClock.now
            let late = try await proxy.post(
                "/v1/chat/completions", Self.chat(tokens: 2), headers: [("x-switchyard-queue-timeout", "0.2")])
            let waited = ContinuousClock.now - started
            #expect(late.status == 504)
            #expect(late.header("x-switchyard-reason") == "queue_timeout")
            #expect(late.header("retry-after") != nil)
            #expect(waited >= .milliseconds(190) && waited < .milliseconds(950))
            #expect(try await first.status == 200)
            #expect(proxy.sims[0].stats.generationsStarted == 1)  // the late one never reached it
            let bad = try await proxy.post(
                "/v1/chat/completions", Self.chat(tokens: 2), headers: [("x-switchyard-queue-timeout", "soon")])
            #expect(bad.status == 400)
            #expect(bad.header("x-switchyard-reason") == "invalid_queue_timeout")
        }
    }

    @Test func aRequestThatWouldTimeOutAnywayGets503AtOnce() async throws {
        try await Self.oneSlot { proxy in
            // Keep the queue busy for over a second so the drain rate is measured.
            try await withThrowingTaskGroup(of: Int.self) { group in
                for _ in 0..<8 {
                    group.addTask { try await proxy.post("/v1/chat/completions", Self.chat(tokens: 20)).status }
                }
                // Most of them wait (on a busy machine the first may be done before the last is sent).
                #expect(try await eventually { try await Self.queued(proxy) >= 5 })
                #expect(
                    try await eventually(timeout: .seconds(10)) {
                        let queue = try await Self.status(proxy)["queue"] as? [String: Any]
                        return queue?["drain_tokens_per_second"] is Double
                    })
                let started = ContinuousClock.now
                let hopeless = try await proxy.post(
                    "/v1/chat/completions", Self.chat(tokens: 2), headers: [("x-switchyard-queue-timeout", "0.05")])
                // Refused at once (503), not queued and timed out (504 after 50 ms).
                #expect(ContinuousClock.now - started < .seconds(1))
                #expect(hopeless.status == 503)
                #expect(hopeless.header("x-switchyard-reason") == "queue_wait_exceeds_timeout")
                #expect(Int(hopeless.header("retry-after") ?? "") ?? 0 >= 1)
                for try await status in group { #expect(status == 200) }
            }
        }
    }

    @Test func aClientThatLeavesWhileQueuedIsRemovedAtOnce() async throws {
        try await Self.oneSlot { proxy in
            async let first = proxy.post("/v1/chat/completions", Self.chat(tokens: 50))
            #expect(try await eventually { Self.inFlight(try await Self.status(proxy)) == 1 })
            let request = RawHTTPClient.requestBytes(
                method: "POST", path: "/v1/chat/completions", body: Self.chat(tokens: 2))
            let leaving = try await RawHTTPClient.sendAndKeepOpen(
                port: proxy.port, request: request, group: proxy.group)
            #expect(try await eventually { try await Self.queued(proxy) == 1 })
            try await leaving.close()
            #expect(try await eventually { try await Self.queued(proxy) == 0 })
            let counters = try #require(try await Self.status(proxy)["counters"] as? [String: Any])
            #expect(counters["cancelled_while_queued"] as? Int == 1)
            #expect(try await first.status == 200)
            // The slot is free again and the departed request never reached the backend.
            #expect(try await eventually { Self.inFlight(try await Self.status(proxy)) == 0 })
            #expect(proxy.sims[0].stats.generationsStarted == 1)
            #expect(try await proxy.post("/v1/chat/completions", Self.chat(tokens: 1)).status == 200)
        }
    }

    @Test func backendMetricsAreScrapedAndShown() async throws {
        try await withProxy(
            configure: {
                quietProbes(&$0)
                $0.routing.metricsScrapeInterval = .milliseconds(50)
            }
        ) { proxy in
            let scraped = try await eventually {
                let backends = try await Self.status(proxy)["backends"] as? [[String: Any]]
                return (backends?.first?["scraped"] as? [String: Any])?["kv_cache_usage"] is Double
            }
            #expect(scraped)
        }
    }

    static func inFlight(_ status: [String: Any]) -> Int {
        ((status["backends"] as? [[String: Any]])?.first?["in_flight"] as? Int) ?? -1
    }
}

/// Names in the order their requests finished (appended from concurrent tasks).
final class FinishOrder: @unchecked Sendable {
    private let lock = NSLock()
    private var list: [String] = []
    func append(_ name: String) { lock.withLock { list.append(name) } }
    var names: [String] { lock.withLock { list } }
}
