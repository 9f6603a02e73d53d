import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchyardCore
import SwitchyardServer

struct Demo: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Start simulated replicas and the proxy in front of them, in one process.")

    @Option(help: "Proxy listen port.") var port = 8000
    @Option(help: "Number of simulated replicas (on free ports).") var replicas = 4
    @Option(name: .customLong("time-scale"), help: "Engine time ÷ real time (0.1 = ten times faster).")
    var timeScale = 1.0

    func run() async throws {
        var simOptions = try SimOptions.parse([])
        simOptions.replicas = replicas
        simOptions.timeScale = timeScale
        var config = SwitchyardConfig()
        config.listen.port = port
        config.logLevel = .notice
        config.telemetry.accessLog = .off  // the demo's terminal shows the instructions; /stats shows the traffic
        let logger = LogSetup.bootstrapped(level: config.logLevel, label: "switchyard")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let fleet = try await simOptions.start(group: group, portOverride: 0)
        config.backends = fleet.enumerated().map { index, replica in
            BackendConfig(name: "sim-\(index)", url: BackendURL(host: "127.0.0.1", port: replica.port))
        }
        try config.validate()
        let server = ProxyServer(config: config, group: group, logger: logger)
        let url = "http://\(config.listen.host):\(port)"
        let model = simOptions.servedModelName
        print(
            """
            Switchyard demo: \(replicas) simulated GLM-4.5V-FP8 replicas (calibrated engine model) behind \(url)
              backends: \(fleet.map { "127.0.0.1:\($0.port)" }.joined(separator: ", "))

            Try it:
              curl -N \(url)/v1/chat/completions -H 'content-type: application/json' \\
                -d '{"model":"\(model)","messages":[{"role":"user","content":"Hello"}],"max_completion_tokens":16,"stream":true}'

            Load-test it (vision requests with real JPEGs, measured exactly as vllm bench serve does):
              swift run -c release switchyard bench serve --base-url \(url) \\
                --dataset-name visionarena-synthetic --num-prompts 200 --request-rate 10

            or with vLLM's own benchmark client:
              vllm bench serve --backend openai-chat --base-url \(url) --endpoint /v1/chat/completions \\
                --model \(model) --tokenizer <any-local-tokenizer> --dataset-name random \\
                --random-input-len 128 --random-output-len 64 --num-prompts 200 --max-concurrency 16 --ignore-eos

            Watch it live: the benchmark report of everything that passed (vLLM's layout), and Prometheus:
              curl \(url)/stats          curl '\(url)/stats?window=60s&percentiles=50,90,99'
              curl \(url)/metrics

            Ctrl-C stops it (in-flight streams finish first).
            """)
        fflush(nil)
        let services = ServiceGroup(
            configuration: .init(
                services: [ProxyService(server: server)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await services.run()
        for replica in fleet { try await replica.shutdown() }
        try await group.shutdownGracefully()
    }
}
