import Logging
import NIOCore
import NIOPosix
import SwitchyardCore
import SwitchyardServer
import SwitchyardSim
import SwitchyardTestSupport

/// Simulated replicas and a proxy in front of them, all on 127.0.0.1 ephemeral ports.
struct ProxyHarness {
    let group: MultiThreadedEventLoopGroup
    let sims: [SimulatedReplica]
    let server: ProxyServer
    let port: Int

    func request(
        _ method: String = "GET", _ path: String, headers: [(String, String)] = [], body: String? = nil
    ) async throws -> RawResponse {
        try await RawHTTPClient.request(
            port: port, method: method, path: path, headers: headers, body: body, group: group)
    }

    func post(_ path: String, _ body: String, headers: [(String, String)] = []) async throws -> RawResponse {
        try await request("POST", path, headers: headers, body: body)
    }
}

func fastSim() -> SimReplicaConfiguration {
    var configuration = SimReplicaConfiguration()
    configuration.timeToFirstToken = .milliseconds(5)
    configuration.interTokenInterval = .milliseconds(2)
    return configuration
}

/// Config for tests: fast probes so health changes show within a few hundred milliseconds.
func testConfig(backendPorts: [Int]) -> SwitchyardConfig {
    var config = SwitchyardConfig()
    config.listen.port = 0
    config.backends = backendPorts.enumerated().map { index, port in
        BackendConfig(name: "sim-\(index)", url: BackendURL(host: "127.0.0.1", port: port))
    }
    config.discovery.healthCheckInterval = .milliseconds(100)
    config.discovery.probeTimeout = .milliseconds(500)
    config.shutdown.gracePeriod = .seconds(5)
    // No /metrics scrapes unless a test turns them on: backends' request and connection counts
    // then move only with test traffic.
    config.routing.metricsScrapeInterval = .zero
    config.telemetry.accessLog = .off  // tests that read the log point it at a file
    return config
}

/// Runs `body` against `replicas` simulated backends behind a started proxy; tears everything down.
func withProxy<T>(
    replicas: Int = 1,
    sim: SimReplicaConfiguration = fastSim(),
    customizeSim: @Sendable (Int, inout SimReplicaConfiguration) -> Void = { _, _ in },
    configure: (inout SwitchyardConfig) -> Void = { _ in },
    _ body: (ProxyHarness) async throws -> T
) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 2)
    var sims: [SimulatedReplica] = []
    var server: ProxyServer?
    do {
        for index in 0..<replicas {
            var configuration = sim
            customizeSim(index, &configuration)
            sims.append(try await SimulatedReplica.start(configuration, group: group))
        }
        var config = testConfig(backendPorts: sims.map(\.port))
        configure(&config)
        var logger = Logger(label: "switchyard-test")
        logger.logLevel = .critical
        let proxy = ProxyServer(config: config, group: group, logger: logger)
        server = proxy
        try await proxy.start()
        let harness = ProxyHarness(group: group, sims: sims, server: proxy, port: proxy.localAddress!.port!)
        let result = try await body(harness)
        await tearDown(server: server, sims: sims, group: group)
        return result
    } catch {
        await tearDown(server: server, sims: sims, group: group)
        throw error
    }
}

private func tearDown(server: ProxyServer?, sims: [SimulatedReplica], group: MultiThreadedEventLoopGroup) async {
    await server?.shutdown(gracePeriod: .milliseconds(200))
    for sim in sims { try? await sim.shutdown() }
    try? await group.shutdownGracefully()
}

/// A chat request in the shape `vllm bench serve` sends.
func chatRequest(
    model: String = "glm-4.5v", text: String = "Describe this.", maxTokens: Int = 4, stream: Bool = true,
    includeUsage: Bool = true
) -> String {
    var body =
        "{\"model\":\"\(model)\",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":\"\(text)\"}]}]"
    body += ",\"max_completion_tokens\":\(maxTokens),\"stream\":\(stream)"
    if stream && includeUsage { body += ",\"stream_options\":{\"include_usage\":true}" }
    return body + "}"
}

/// Replaces `"created":<digits>` so bodies taken a second apart compare equal.
func normalizingCreated(_ text: String) -> String {
    text.replacing(/"created":\d+/, with: "\"created\":0")
}

/// No health probes during the test, so a backend's request count moves only with test traffic.
func quietProbes(_ config: inout SwitchyardConfig) {
    config.discovery.healthCheckInterval = .seconds(600)
}
