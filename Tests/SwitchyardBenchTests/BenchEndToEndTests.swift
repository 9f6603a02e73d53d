import Logging
import NIOCore
import NIOPosix
import SwitchyardBench
import SwitchyardCore
import SwitchyardServer
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// `switchyard bench serve`'s engine against real sockets: the simulator directly, and the
/// simulator behind `switchyard serve`. Token totals must equal what the simulators generated.
@Suite struct BenchEndToEndTests {
    static func sim() -> SimReplicaConfiguration {
        var configuration = SimReplicaConfiguration()
        configuration.timeToFirstToken = .milliseconds(15)
        configuration.interTokenInterval = .milliseconds(3)
        return configuration
    }

    static func requests(_ count: Int, output: Int = 8, seed: UInt64 = 1) throws -> [BenchRequest] {
        var generator = SeededRandom(seed: seed)
        return try RandomDataset(inputLen: 32, outputLen: output, rangeRatio: 0.5)
            .makeRequests(count: count, generator: &generator)
    }

    static func run(
        _ requests: [BenchRequest], port: Int, backend: BenchBackend = .openaiChat, rate: Double = .infinity,
        maxConcurrency: Int? = 8, group: any EventLoopGroup
    ) async throws -> (BenchRun, BenchmarkMetrics) {
        let client = BenchClient(
            target: BackendURL(host: "127.0.0.1", port: port), endpoint: backend.defaultEndpoint, backend: backend,
            headers: [("x-test", "1")], group: group)
        defer { client.shutdown() }
        var options = BenchOptions(model: "glm-4.5v", requestIDPrefix: "bench-test0000-")
        options.requestRate = rate
        options.maxConcurrency = maxConcurrency
        options.ignoreEOS = true
        let run = await BenchRunner.run(
            requests, client: client, options: options, progress: ProgressBar(total: requests.count, disabled: true))
        let metrics = BenchmarkMetrics.compute(
            outcomes: run.outcomes, duration: run.duration, percentiles: [50, 99], goodput: nil)
        return (run, metrics)
    }

    @Test func directAgainstTheSimulatorCountsEveryToken() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let sim = try await SimulatedReplica.start(Self.sim(), group: group)
        let requests = try Self.requests(40)
        let (run, metrics) = try await Self.run(requests, port: sim.port, group: group)
        #expect(metrics.failed == 0)
        #expect(metrics.completed == 40)
        #expect(metrics.totalOutput == sim.stats.completionTokensGenerated)
        #expect(metrics.totalOutput == requests.map(\.outputTokens).reduce(0, +))
        #expect(metrics.totalInput == sim.stats.promptTokensProcessed)  // usage.prompt_tokens wins
        #expect(metrics.outputTokensEstimatedRequests == 0)
        // Timings mean what they should: TTFT ≥ the simulated 15 ms, ITL ≈ 3 ms.
        for outcome in run.outcomes {
            #expect(outcome.ttft >= 0.015)
            #expect(outcome.latency >= outcome.ttft)
            #expect(outcome.itl.count == outcome.contentEvents - 1)
        }
        #expect(metrics.maxConcurrentRequests <= 8)
        #expect(metrics.maxConcurrentRequests >= 2)
        try await sim.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func throughTheProxyCountsEveryTokenAcrossReplicas() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let sims = [
            try await SimulatedReplica.start(Self.sim(), group: group),
            try await SimulatedReplica.start(Self.sim(), group: group),
        ]
        var config = SwitchyardConfig()
        config.listen.port = 0
        config.telemetry.accessLog = .off
        config.backends = sims.enumerated().map { index, sim in
            BackendConfig(name: "sim-\(index)", url: BackendURL(host: "127.0.0.1", port: sim.port))
        }
        var logger = Logger(label: "bench-test")
        logger.logLevel = .critical
        let proxy = ProxyServer(config: config, group: group, logger: logger)
        try await proxy.start()
        let requests = try Self.requests(60, seed: 2)
        let (_, metrics) = try await Self.run(requests, port: proxy.localAddress!.port!, group: group)
        #expect(metrics.failed == 0)
        #expect(metrics.completed == 60)
        let generated = sims.map(\.stats.completionTokensGenerated).reduce(0, +)
        #expect(metrics.totalOutput == generated)
        #expect(sims.allSatisfy { $0.stats.generationsCompleted > 0 })
        await proxy.shutdown(gracePeriod: .seconds(1))
        for sim in sims { try await sim.shutdown() }
        try await group.shutdownGracefully()
    }

    @Test func completionsBackendAndRequestRate() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let sim = try await SimulatedReplica.start(Self.sim(), group: group)
        let requests = try Self.requests(20, output: 4, seed: 3)
        let (run, metrics) = try await Self.run(
            requests, port: sim.port, backend: .openai, rate: 50, maxConcurrency: nil, group: group)
        #expect(metrics.failed == 0)
        #expect(metrics.totalOutput == sim.stats.completionTokensGenerated)
        // The last request is sent at N/rate = 0.4 s, so the run cannot be shorter.
        #expect(run.duration >= 0.4)
        let starts = run.outcomes.map(\.startTime)
        #expect(starts.max()! >= 0.39)
        try await sim.shutdown()
        try await group.shutdownGracefully()
    }

    @Test func failuresAreCountedNotThrown() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
        let sim = try await SimulatedReplica.start(Self.sim(), group: group)
        let client = BenchClient(
            target: BackendURL(host: "127.0.0.1", port: sim.port), endpoint: "/v1/chat/completions",
            backend: .openaiChat, headers: [], group: group)
        var options = BenchOptions(model: "no-such-model", requestIDPrefix: "bench-x-")
        options.maxConcurrency = 2
        let requests = try Self.requests(3)
        await #expect(throws: BenchError.self) {
            try await BenchRunner.testRun(requests[0], client: client, options: options)
        }
        let run = await BenchRunner.run(
            requests, client: client, options: options, progress: ProgressBar(total: 3, disabled: true))
        #expect(run.outcomes.allSatisfy { !$0.success && ($0.error ?? "").contains("HTTP 404") })
        client.shutdown()
        try await sim.shutdown()
        try await group.shutdownGracefully()
    }
}
