import NIOCore
import NIOPosix
import SwitchyardCore
import SwitchyardServer
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// Connections and slots: keep-alive, disconnects, timeouts, draining, routing.
@Suite struct ConnectionLifecycleTests {
    @Test func keepAliveIsReusedOnBothSides() async throws {
        try await withProxy(configure: quietProbes) { proxy in
            let acceptedBefore = proxy.sims[0].stats.connectionsAccepted
            let openedBefore = try await proxy.server.upstreamConnectionsOpened()
            let requests = (0..<5).map { index in
                RawHTTPClient.requestBytes(
                    method: "POST", path: "/v1/chat/completions", body: chatRequest(maxTokens: 2), keepAlive: index < 4)
            }
            let bytes = try await RawHTTPClient.exchange(port: proxy.port, requests: requests, group: proxy.group)
            let responses = try RawHTTPClient.parseResponses(bytes)
            // Five answers on one client connection...
            #expect(responses.map(\.status) == [200, 200, 200, 200, 200])
            #expect(responses.allSatisfy { $0.chunks.last == "data: [DONE]\n\n" })
            // ...carried by one upstream connection (requests on one client connection share an event loop).
            #expect(try await proxy.server.upstreamConnectionsOpened() - openedBefore == 1)
            #expect(proxy.sims[0].stats.connectionsAccepted - acceptedBefore == 1)
        }
    }

    @Test func clientDisconnectMidStreamAbortsTheBackendAndFreesTheSlot() async throws {
        var sim = fastSim()
        sim.interTokenInterval = .milliseconds(50)
        try await withProxy(sim: sim) { proxy in
            let request = RawHTTPClient.requestBytes(
                method: "POST", path: "/v1/chat/completions", body: chatRequest(maxTokens: 200))
            // Hang up as soon as the first token arrives.
            _ = try await RawHTTPClient.sendAndHangUp(
                port: proxy.port, request: request, after: "\"content\":\"Hello\"", group: proxy.group)
            #expect(await eventually { proxy.sims[0].stats.generationsAborted == 1 })
            #expect(proxy.sims[0].stats.generationsCompleted == 0)
            #expect(await eventually { proxy.server.backends[0].inFlight == 0 })
        }
    }

    @Test func slotIsHeldUntilTheLastByteNotTheHeaders() async throws {
        var sim = fastSim()
        sim.interTokenInterval = .milliseconds(40)
        try await withProxy(sim: sim) { proxy in
            async let stream = proxy.post("/v1/chat/completions", chatRequest(maxTokens: 15))
            #expect(await eventually { proxy.sims[0].stats.running == 1 })
            try await Task.sleep(for: .milliseconds(150))  // headers and a few tokens are out by now
            #expect(proxy.server.backends[0].inFlight == 1)
            let response = try await stream
            #expect(response.chunks.count == 15 + 3)
            #expect(await eventually { proxy.server.backends[0].inFlight == 0 })
        }
    }

    @Test func leastOutstandingSpreadsConcurrentStreams() async throws {
        var sim = fastSim()
        sim.interTokenInterval = .milliseconds(20)
        try await withProxy(replicas: 3, sim: sim) { proxy in
            let backends = try await withThrowingTaskGroup(of: String?.self) { group in
                for _ in 0..<3 {
                    group.addTask {
                        try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 20)).header(
                            "x-switchyard-backend")
                    }
                }
                return try await group.reduce(into: [String?]()) { $0.append($1) }
            }
            #expect(Set(backends) == ["sim-0", "sim-1", "sim-2"])
            #expect(proxy.server.backends.allSatisfy { $0.inFlight == 0 })
        }
    }

    @Test func unreachableBackendIsRetriedElsewhereAndLeavesRotation() async throws {
        try await withProxy(replicas: 2, configure: quietProbes) { proxy in
            try await proxy.sims[0].shutdown()
            var statuses: [Int] = []
            for _ in 0..<4 {
                statuses.append(try await proxy.post("/v1/chat/completions", chatRequest(stream: false)).status)
            }
            // At most the first attempt meets the dead backend, and it is retried on the other one;
            // after that the dead one is out of rotation.
            #expect(statuses == [200, 200, 200, 200])
            #expect(!proxy.server.backends[0].healthy)
            #expect(proxy.server.backends.allSatisfy { $0.inFlight == 0 })
        }
    }

    @Test func slowHeadGets408AndIdleConnectionIsClosed() async throws {
        try await withProxy(configure: {
            $0.limits.headerTimeout = .milliseconds(200)
            $0.limits.idleTimeout = .milliseconds(300)
        }) { proxy in
            let start = ContinuousClock.now
            let bytes = try await RawHTTPClient.exchange(
                port: proxy.port, requests: ["POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\n"], group: proxy.group)
            let response = try #require(try RawHTTPClient.parseResponses(bytes).first)
            #expect(response.status == 408)
            #expect(response.header("x-switchyard-reason") == "client_timeout")
            #expect(ContinuousClock.now - start < .seconds(3))

            let idle = try await RawHTTPClient.exchange(port: proxy.port, requests: [""], group: proxy.group)
            #expect(idle.isEmpty)  // closed quietly, nothing written
        }
    }

    @Test func gracefulDrainFinishesInFlightStreamAndRefusesNewConnections() async throws {
        var sim = fastSim()
        sim.interTokenInterval = .milliseconds(30)
        try await withProxy(sim: sim) { proxy in
            async let stream = proxy.post("/v1/chat/completions", chatRequest(maxTokens: 20))
            #expect(await eventually { proxy.sims[0].stats.running == 1 })
            let drained = Task { await proxy.server.shutdown(gracePeriod: .seconds(5)) }
            try await Task.sleep(for: .milliseconds(100))
            await #expect(throws: (any Error).self) {
                _ = try await ClientBootstrap(group: proxy.group).connect(host: "127.0.0.1", port: proxy.port).get()
            }
            let response = try await stream
            #expect(response.status == 200)
            #expect(response.chunks.count == 20 + 3)
            #expect(response.chunks.last == "data: [DONE]\n\n")
            await drained.value
            #expect(proxy.sims[0].stats.generationsAborted == 0)
        }
    }
}
