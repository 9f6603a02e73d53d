import Foundation
import NIOCore
import SwitchyardCore
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// A stream whose backend goes silent ends well-formed after `upstream.stream_idle_timeout`.
@Suite struct StreamFailureTests {
    @Test func aStalledStreamEndsWithAnErrorEventAndDone() async throws {
        try await withProxy(
            customizeSim: { _, sim in sim.faults.stallFirstTokenMs = 3_000 },
            configure: { $0.upstream.streamIdleTimeout = .milliseconds(300) }
        ) { proxy in
            let started = ContinuousClock.now
            let response = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 4))
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 200)
            let events = RawHTTPClient.events(response.bodyString)
            #expect(events.count == 2, "\(events)")
            #expect(events.last == "[DONE]")
            let error = try #require(
                try JSONSerialization.jsonObject(with: Data((events.first ?? "").utf8)) as? [String: Any])
            let message = (error["error"] as? [String: Any])?["message"] as? String ?? ""
            #expect(message.contains("upstream.stream_idle_timeout"), "\(message)")
            // Detected within the timeout plus one check interval (a quarter of it), not the stall.
            #expect(elapsed >= .milliseconds(300) && elapsed < .milliseconds(1500), "\(elapsed)")
            // The backend's connection was closed, so it aborts the generation; the slot is back.
            #expect(await eventually { proxy.sims[0].stats.generationsAborted == 1 })
            #expect(proxy.server.backends[0].inFlight == 0)
            let metrics = try await proxy.request("GET", "/metrics").bodyString
            #expect(metrics.contains(#"switchyard_upstream_errors_total{backend="sim-0",kind="stall"} 1"#))
        }
    }

    @Test func aSlowButSteadyStreamIsNotCut() async throws {
        try await withProxy(
            customizeSim: { _, sim in sim.interTokenInterval = .milliseconds(100) },
            configure: { $0.upstream.streamIdleTimeout = .milliseconds(400) }
        ) { proxy in
            let response = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 8))
            #expect(response.status == 200)
            #expect(!response.bodyString.contains("\"error\""))
            #expect(response.bodyString.contains("\"usage\""))
        }
    }
}
