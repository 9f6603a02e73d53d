import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchyardCore
import SwitchyardServer
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// `switchyard serve` runs the proxy as a `ProxyService` in a `ServiceGroup` whose graceful
/// shutdown SIGTERM/SIGINT trigger; this drives the same wiring without a signal.
@Suite struct ServiceLifecycleTests {
    @Test func gracefulShutdownOfTheServiceGroupDrainsInFlightStreams() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        var simConfiguration = fastSim()
        simConfiguration.interTokenInterval = .milliseconds(25)
        let sim = try await SimulatedReplica.start(simConfiguration, group: group)
        var logger = Logger(label: "switchyard-test")
        logger.logLevel = .critical
        let server = ProxyServer(config: testConfig(backendPorts: [sim.port]), group: group, logger: logger)
        let services = ServiceGroup(
            configuration: .init(services: [ProxyService(server: server)], logger: logger))

        try await withThrowingTaskGroup(of: Void.self) { tasks in
            tasks.addTask { try await services.run() }
            #expect(await eventually { server.localAddress != nil })
            let port = try #require(server.localAddress?.port)
            let stream = Task {
                try await RawHTTPClient.request(
                    port: port, method: "POST", path: "/v1/chat/completions", body: chatRequest(maxTokens: 16),
                    group: group)
            }
            #expect(await eventually { sim.stats.running == 1 })
            await services.triggerGracefulShutdown()
            let response = try await stream.value
            #expect(response.status == 200)
            #expect(response.chunks.count == 16 + 3)
            try await tasks.waitForAll()  // the service group returns once the drain is over
        }
        #expect(sim.stats.generationsAborted == 0)
        try await sim.shutdown()
        try await group.shutdownGracefully()
    }
}
