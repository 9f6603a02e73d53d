import Foundation
import NIOCore
import SwitchyardCore
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// Failures before the first response byte are retried elsewhere; failing backends are ejected
/// for a growing time; 4xx answers never count against a backend.
@Suite struct RetryAndOutlierTests {
    @Test func anOverloaded503IsRetriedOnAnotherBackendAndEjectsTheFailingOne() async throws {
        let log = FileManager.default.temporaryDirectory.appendingPathComponent("retry-\(UUID().uuidString).log").path
        try await withProxy(
            replicas: 2, customizeSim: { index, sim in if index == 0 { sim.faults.errorStatus = 503 } },
            configure: {
                quietProbes(&$0)
                $0.telemetry.accessLog = .file(log)
                $0.routing.policy = .roundRobin
                $0.outlier.consecutiveFailures = 2
                $0.outlier.baseEjection = .seconds(60)
            }
        ) { proxy in
            var attempts: [String?] = []
            for _ in 0..<6 {
                let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
                #expect(response.status == 200)
                #expect(response.header("x-switchyard-backend") == "sim-1")
                attempts.append(response.header("x-switchyard-attempts"))
            }
            // Round robin starts at sim-0: the first request met the 503 and was retried.
            #expect(attempts.first == "2")
            #expect(proxy.server.backends[0].status == "ejected")
            #expect(proxy.server.backends.allSatisfy { $0.inFlight == 0 && $0.load.reservedTokens == 0 })
            #expect(proxy.sims[1].stats.generationsCompleted == 6)
            let metrics = try await proxy.request("GET", "/metrics").bodyString
            #expect(metrics.contains(#"switchyard_upstream_errors_total{backend="sim-0",kind="http_5xx"} 2"#))
            #expect(metrics.contains(#"switchyard_upstream_errors_total{backend="sim-0",kind="ejected"} 1"#))
        }
        // The access log shows the retried request's two dispatches and where it ended.
        let lines = try String(contentsOfFile: log, encoding: .utf8).split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        #expect(lines.count == 6)
        #expect(lines.first?["attempts"] as? Int == 2 && lines.first?["backend"] as? String == "sim-1")
        #expect(lines.dropFirst().allSatisfy { $0["status"] as? Int == 200 })
    }

    @Test func a503WithNowhereElseToGoReachesTheClient() async throws {
        try await withProxy(customizeSim: { _, sim in sim.faults.errorStatus = 503 }) { proxy in
            let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            #expect(response.status == 503)
            #expect(response.bodyString.contains("fault injection"))
            #expect(response.header("x-switchyard-attempts") == nil)
            #expect(proxy.server.backends[0].inFlight == 0)
            // A backend's error answer is an http_5xx, not an error event inside a stream.
            let metrics = try await proxy.request("GET", "/metrics").bodyString
            #expect(metrics.contains(#"switchyard_upstream_errors_total{backend="sim-0",kind="http_5xx"} 1"#))
            #expect(!metrics.contains(#"kind="stream_error""#))
        }
    }

    @Test func clientErrorsNeverCountAgainstABackend() async throws {
        try await withProxy(
            replicas: 2, customizeSim: { _, sim in sim.faults.errorStatus = 400 },
            configure: {
                quietProbes(&$0)
                $0.outlier.consecutiveFailures = 1
            }
        ) { proxy in
            for _ in 0..<6 {
                let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
                #expect(response.status == 400)
                #expect(response.header("x-switchyard-attempts") == nil)
            }
            #expect(proxy.server.backends.map(\.status) == ["healthy", "healthy"])
            #expect(proxy.server.backends.allSatisfy { $0.failureStreak == 0 })
        }
    }

    @Test func anEjectedBackendReturnsAfterItsBackoffAndTheBackoffGrows() async throws {
        try await withProxy(
            replicas: 2, customizeSim: { index, sim in if index == 0 { sim.faults.errorStatus = 500 } },
            configure: {
                quietProbes(&$0)
                $0.routing.policy = .roundRobin
                $0.outlier.consecutiveFailures = 1
                $0.outlier.baseEjection = .seconds(2)
            }
        ) { proxy in
            // Only 429 and 503 are retried: the client sees the 500.
            let first = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            #expect(first.status == 500)
            #expect(proxy.server.backends[0].status == "ejected")
            #expect(proxy.server.backends[0].ejections == 1)
            // While ejected, requests go to sim-1.
            let meanwhile = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            #expect(meanwhile.header("x-switchyard-backend") == "sim-1")
            #expect(await eventually(timeout: .seconds(10)) { proxy.server.backends[0].status == "healthy" })
            // Still failing: one more failure ejects it again, for twice as long.
            var sawSim0 = false
            for _ in 0..<6 where !sawSim0 {
                let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
                sawSim0 = response.header("x-switchyard-backend") == "sim-0"
            }
            #expect(sawSim0)
            #expect(proxy.server.backends[0].ejections == 2)
            // Healed: after the second backoff it serves again and the backoff starts over.
            proxy.sims[0].faults = SimFaults()
            #expect(await eventually(timeout: .seconds(15)) { proxy.server.backends[0].status == "healthy" })
            var served = false
            for _ in 0..<4 where !served {
                let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
                served = response.status == 200 && response.header("x-switchyard-backend") == "sim-0"
            }
            #expect(served)
            #expect(proxy.server.backends[0].ejections == 0)
        }
    }

    @Test func refusedConnectionsAreRetriedElsewhere() async throws {
        try await withProxy(replicas: 2, configure: quietProbes) { proxy in
            proxy.sims[0].faults.refuseConnections = true
            for _ in 0..<4 {
                let response = try await proxy.post("/v1/chat/completions", chatRequest())
                #expect(response.status == 200)
                #expect(response.header("x-switchyard-backend") == "sim-1")
                #expect(RawHTTPClient.events(response.bodyString).last == "[DONE]")
            }
            #expect(proxy.server.backends.allSatisfy { $0.inFlight == 0 })
        }
    }

    @Test func aMissingFirstTokenIsSentOnceToAnotherBackend() async throws {
        try await withProxy(
            replicas: 2, customizeSim: { index, sim in if index == 0 { sim.faults.stallFirstTokenMs = 5_000 } },
            configure: {
                quietProbes(&$0)
                $0.upstream.firstTokenTimeout = .milliseconds(300)
            }
        ) { proxy in
            let started = ContinuousClock.now
            let response = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 6))
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 200)
            #expect(response.header("x-switchyard-backend") == "sim-1")
            #expect(response.header("x-switchyard-attempts") == "2")
            #expect(!response.bodyString.contains("\"error\""))
            #expect(RawHTTPClient.events(response.bodyString).last == "[DONE]")
            #expect(elapsed >= .milliseconds(300) && elapsed < .seconds(3), "\(elapsed)")
            // The stalled request was cancelled on sim-0 (its connection closed).
            #expect(await eventually { proxy.sims[0].stats.running == 0 })
            #expect(proxy.server.backends.allSatisfy { $0.inFlight == 0 })
            let metrics = try await proxy.request("GET", "/metrics").bodyString
            #expect(
                metrics.contains(#"switchyard_upstream_errors_total{backend="sim-0",kind="first_token_timeout"} 1"#))
        }
    }

    @Test func aFirstTokenTimeoutWithNowhereElseKeepsWaiting() async throws {
        try await withProxy(
            customizeSim: { _, sim in sim.faults.stallFirstTokenMs = 600 },
            configure: { $0.upstream.firstTokenTimeout = .milliseconds(150) }
        ) { proxy in
            let response = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 4))
            #expect(response.status == 200)
            #expect(response.header("x-switchyard-attempts") == nil)
            #expect(response.bodyString.contains("\"usage\""))
            #expect(RawHTTPClient.events(response.bodyString).last == "[DONE]")
        }
    }

    @Test func aBackendDyingMidStreamEndsTheStreamWellFormedAndIsNotRetried() async throws {
        try await withProxy(
            replicas: 2, customizeSim: { _, sim in sim.faults.closeAfterEvents = 3 }, configure: quietProbes
        ) { proxy in
            let started = ContinuousClock.now
            let response = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 10))
            #expect(ContinuousClock.now - started < .seconds(1))
            #expect(response.status == 200)
            let events = RawHTTPClient.events(response.bodyString)
            #expect(events.count >= 4, "\(events)")  // what was relayed, the error, [DONE]
            let error = events[events.count - 2]
            #expect(error.contains("\"BadGatewayError\"") && error.contains("failed mid-stream"), "\(error)")
            #expect(events.last == "[DONE]")
            #expect(response.header("x-switchyard-attempts") == nil)
            #expect(proxy.sims.map(\.stats.generationsStarted).reduce(0, +) == 1)
            #expect(proxy.server.backends.allSatisfy { $0.inFlight == 0 })
        }
    }
}
