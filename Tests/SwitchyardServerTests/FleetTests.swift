import Foundation
import Logging
import NIOCore
import NIOPosix
import SwitchyardCore
import SwitchyardServer
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// The admin API, reloads, DNS discovery and active health thresholds: the fleet changes while
/// requests flow, and none is dropped.
@Suite struct FleetTests {
    static let token = "admin-token-0123456789"

    func admin(
        _ proxy: ProxyHarness, _ method: String, _ path: String, body: String? = nil, token: String? = Self.token
    ) async throws -> RawResponse {
        let port = try #require(proxy.server.adminAddress?.port)
        return try await RawHTTPClient.request(
            port: port, method: method, path: path,
            headers: token.map { [("authorization", "Bearer \($0)")] } ?? [], body: body, group: proxy.group)
    }

    @Test func theAdminAPIAddsDrainsUndrainsAndRemovesWithoutDroppingARequest() async throws {
        var slow = fastSim()
        slow.interTokenInterval = .milliseconds(40)
        try await withProxy(
            replicas: 2, sim: slow,
            configure: {
                $0.backends.removeLast()  // sim-1 joins through the API
                $0.admin.port = 0
                $0.admin.token = Self.token
            }
        ) { proxy in
            #expect(try await admin(proxy, "GET", "/admin/backends", token: nil).status == 401)
            #expect(try await admin(proxy, "GET", "/admin/backends", token: "wrong-token-0123456789").status == 401)
            let listed = try await admin(proxy, "GET", "/admin/backends").json()
            #expect((listed["backends"] as? [[String: Any]])?.map { $0["name"] as? String } == ["sim-0"])

            let port = proxy.sims[1].port
            let added = try await admin(
                proxy, "POST", "/admin/backends", body: #"{"name":"sim-1","url":"http://127.0.0.1:\#(port)"}"#)
            #expect(added.status == 201, "\(added.bodyString)")
            let duplicate = try await admin(
                proxy, "POST", "/admin/backends", body: #"{"name":"sim-1","url":"http://127.0.0.1:1"}"#)
            #expect(duplicate.status == 409)
            #expect(try await admin(proxy, "POST", "/admin/backends", body: #"{"url":"ftp://x"}"#).status == 400)
            #expect(await eventually { proxy.server.backends.count == 2 && proxy.server.backends[1].healthy })

            // Drained: no new requests, and a stream in flight there finishes.
            #expect(try await admin(proxy, "POST", "/admin/backends/sim-0/drain").status == 200)
            for _ in 0..<3 {
                let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
                #expect(response.header("x-switchyard-backend") == "sim-1")
            }
            #expect(try await admin(proxy, "POST", "/admin/backends/sim-0/undrain").status == 200)
            #expect(try await admin(proxy, "POST", "/admin/backends/nope/drain").status == 404)

            // Removed while a stream runs on it: the stream completes, then the backend is gone.
            #expect(try await admin(proxy, "POST", "/admin/backends/sim-0/drain").status == 200)
            async let stream = proxy.post("/v1/chat/completions", chatRequest(maxTokens: 12))
            #expect(await eventually { proxy.server.backends[1].inFlight == 1 })
            #expect(try await admin(proxy, "DELETE", "/admin/backends/sim-1").status == 200)
            let finished = try await stream
            #expect(finished.status == 200)
            #expect(finished.header("x-switchyard-backend") == "sim-1")
            #expect(RawHTTPClient.events(finished.bodyString).last == "[DONE]")
            #expect(!finished.bodyString.contains("\"error\""))
            #expect(proxy.server.backends.allSatisfy { $0.inFlight == 0 })
            let after = try await admin(proxy, "GET", "/admin/backends").json()
            let names = (after["backends"] as? [[String: Any]])?.map { $0["name"] as? String }
            #expect(names == ["sim-0"])
            // The removed backend's state gauges are gone from /metrics; its request counts stay.
            let metrics = try await proxy.request("GET", "/metrics").bodyString
            #expect(!metrics.contains(#"switchyard_backend_in_rotation{backend="sim-1"}"#))
            #expect(metrics.contains(#"switchyard_backend_in_rotation{backend="sim-0"} 0"#))
            #expect(metrics.contains(#"switchyard_requests_total{backend="sim-1""#))
            // Nothing in rotation (sim-0 drained, sim-1 removed): a clear 503.
            let refused = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            #expect(refused.status == 503)
            #expect(refused.header("x-switchyard-reason") == "no_healthy_backend")
        }
    }

    @Test func aReloadAddsRemovesAndUpdatesBackendsAndAnInvalidOneChangesNothing() async throws {
        try await withProxy(replicas: 2, configure: { $0.backends.removeLast() }) { proxy in
            var config = testConfig(backendPorts: proxy.sims.map(\.port))
            config.backends[0].maxConcurrent = 7
            let changes = try proxy.server.apply(config)
            #expect(changes.contains("added backend sim-1"))
            #expect(changes.contains("updated backend sim-0"))
            #expect(proxy.server.backends[0].maxConcurrent == 7)
            #expect(await eventually { proxy.server.backends.filter(\.healthy).count == 2 })

            var invalid = config
            invalid.backends[1].name = invalid.backends[0].name
            #expect(throws: ConfigError.self) { try proxy.server.apply(invalid) }
            #expect(proxy.server.backends.filter { !$0.removed }.count == 2)

            var smaller = config
            smaller.backends.removeFirst()
            let removed = try proxy.server.apply(smaller)
            #expect(removed.contains("removed backend sim-0"))
            for _ in 0..<3 {
                let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
                #expect(response.header("x-switchyard-backend") == "sim-1")
            }
            // Without a config file, reload says so (and changes nothing).
            guard case .failure(let error) = proxy.server.reload() else {
                Issue.record("reload without a file succeeded")
                return
            }
            #expect(error.message.contains("no config file"))
        }
    }

    @Test func dnsDiscoveryFindsTheReplicasBehindAName() async throws {
        try await withProxy(
            configure: { config in
                let port = config.backends[0].url.port
                config.backends = []
                config.discovery.dns = DNSDiscoveryConfig(name: "localhost", port: port)
            }
        ) { proxy in
            let port = proxy.sims[0].port
            #expect(await eventually { proxy.server.backends.contains { $0.healthy } })
            #expect(proxy.server.backends.contains { $0.name == "127.0.0.1:\(port)" })
            let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            #expect(response.status == 200)
        }
    }

    @Test func healthFollowsTheThresholdsAndRecovers() async throws {
        try await withProxy(
            configure: {
                $0.discovery.healthCheckInterval = .milliseconds(50)
                $0.discovery.probeTimeout = .seconds(2)
                $0.discovery.thresholds = HealthThresholds(unhealthy: 3, healthy: 2)
            }
        ) { proxy in
            proxy.sims[0].faults.healthStatus = 503
            #expect(await eventually(timeout: .seconds(10)) { !proxy.server.backends[0].healthy })
            #expect(proxy.server.backends[0].probeStreak <= -3)
            #expect(try await proxy.request("GET", "/health").status == 503)
            proxy.sims[0].faults = SimFaults()
            #expect(await eventually(timeout: .seconds(10)) { proxy.server.backends[0].healthy })
            #expect(proxy.server.backends[0].probeStreak >= 2)
            #expect(proxy.server.backends[0].modelsKnown)
            let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            #expect(response.status == 200)
        }
    }
}
