import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchyardSim

/// Simulator flags named as `vllm serve`'s where one exists.
struct SimOptions: ParsableArguments {
    @Option(help: "Address to bind.") var host = "127.0.0.1"
    @Option(help: "Port of the first replica (0 picks free ports).") var port = 8001
    @Option(help: "Number of replicas, on consecutive ports.") var replicas = 1
    @Option(name: .customLong("served-model-name"), help: "Model id in /v1/models.") var servedModelName = "glm-4.5v"
    @Option(name: .customLong("model"), help: "Model path reported as `root`.") var modelRoot = "zai-org/GLM-4.5V-FP8"
    @Option(
        name: .customLong("max-model-len"),
        help: "Context length; a comma-separated list gives each replica its own (65536,131072).")
    var maxModelLen = "65536"
    @Option(
        help:
            "engine: the calibrated GLM-4.5V engine model (batching, chunked prefill, KV); fixed: --ttft-ms and --itl-ms."
    )
    var timing = "engine"
    @Option(name: .customLong("time-scale"), help: "Engine time ÷ real time, e.g. 0.1 runs ten times faster.")
    var timeScale = 1.0
    @Option(help: "Seed of the natural output lengths (requests without ignore_eos).") var seed: UInt64 = 0
    @Option(name: .customLong("max-num-seqs"), help: "vLLM's --max-num-seqs (engine timing).") var maxNumSeqs: Int?
    @Option(name: .customLong("max-num-batched-tokens"), help: "vLLM's --max-num-batched-tokens (engine timing).")
    var maxNumBatchedTokens: Int?
    @Option(
        name: .customLong("replica-speed"),
        help: "Relative speed, one value or one per replica (1,1,1,0.5: the fourth runs at half speed).")
    var replicaSpeed = "1"
    @Option(name: .customLong("fault-health-status"), help: "Fault: /health answers this status.")
    var faultHealthStatus: Int?
    @Option(name: .customLong("fault-error-status"), help: "Fault: generation requests answer this status.")
    var faultErrorStatus: Int?
    @Option(name: .customLong("fault-stall-first-token-ms"), help: "Fault: wait this long before generating.")
    var faultStallMs = 0.0
    @Option(name: .customLong("fault-close-after-events"), help: "Fault: drop a stream's connection after K events.")
    var faultCloseAfterEvents: Int?
    @Flag(name: .customLong("fault-refuse-connections"), help: "Fault: close new connections at once.")
    var faultRefuseConnections = false
    @Option(name: .customLong("scheduling-policy"), help: "fcfs, or priority (accepts the request's `priority`).")
    var schedulingPolicy = "fcfs"
    @Option(name: .customLong("allowed-local-media-path"), help: "Accept file:// images under this directory.")
    var allowedLocalMediaPath: String?
    @Option(name: .customLong("reasoning-parser"), help: "glm45: stream part of each answer as reasoning.")
    var reasoningParser: String?
    @Option(name: .customLong("tool-call-parser"), help: "glm45: requests with tools get one tool call.")
    var toolCallParser: String?
    @Option(name: .customLong("ttft-ms"), help: "Time to first token, ms (fixed timing).") var ttftMs = 50.0
    @Option(name: .customLong("itl-ms"), help: "Interval between tokens, ms (fixed timing).") var itlMs = 10.0
    @Option(help: "Output tokens when a request sets no max_tokens.") var defaultOutputTokens = 16
    @Option(help: "Images accepted per prompt.") var maxImagesPerPrompt = 1
    @Option(
        name: .customLong("limit-mm-per-prompt"),
        help: #"vLLM's spelling of the image limit: '{"image":N}' (overrides --max-images-per-prompt)."#)
    var limitMMPerPrompt: String?
    @Option(
        name: .customLong("remote-image-tokens"),
        help: "Tokens assumed for an http(s) image (default: the per-image maximum).")
    var remoteImageTokens: Int?

    func start(group: MultiThreadedEventLoopGroup, portOverride: Int? = nil) async throws -> [SimulatedReplica] {
        let lengths = try maxModelLen.split(separator: ",").map { text -> Int in
            guard let value = Int(text.trimmingCharacters(in: .whitespaces)), value > 0 else {
                throw ConfigurationFailure("--max-model-len: \"\(text)\" is not a positive number")
            }
            return value
        }
        guard replicas >= 1 else { throw ConfigurationFailure("--replicas: must be at least 1") }
        guard lengths.count == 1 || lengths.count == replicas else {
            throw ConfigurationFailure("--max-model-len: give one value or one per replica (\(replicas))")
        }
        var base = SimReplicaConfiguration()
        base.host = host
        base.port = portOverride ?? port
        base.servedModelName = servedModelName
        base.modelRoot = modelRoot
        base.timeToFirstToken = .microseconds(Int64(ttftMs * 1000))
        base.interTokenInterval = .microseconds(Int64(itlMs * 1000))
        base.defaultOutputTokens = defaultOutputTokens
        base.maxImagesPerPrompt = maxImagesPerPrompt
        if let limitMMPerPrompt {
            guard let data = limitMMPerPrompt.data(using: .utf8),
                let object = try? JSONSerialization.jsonObject(with: data) as? [String: Any],
                let images = object["image"] as? Int, images >= 0
            else {
                throw ConfigurationFailure(#"--limit-mm-per-prompt: expected JSON such as {"image":1}"#)
            }
            base.maxImagesPerPrompt = images
        }
        if let remoteImageTokens { base.remoteImageTokens = remoteImageTokens }
        switch timing {
        case "engine":
            var profile = EngineProfile.glm45vFP8TP4H100
            if let maxNumSeqs { profile.maxNumSeqs = maxNumSeqs }
            if let maxNumBatchedTokens { profile.maxNumBatchedTokens = maxNumBatchedTokens }
            base.engine = profile
        case "fixed": base.engine = nil
        default: throw ConfigurationFailure("--timing: must be engine or fixed, got \"\(timing)\"")
        }
        guard timeScale > 0 else { throw ConfigurationFailure("--time-scale: must be greater than 0") }
        base.timeScale = timeScale
        base.seed = seed
        guard let policy = SimEngine.Policy(rawValue: schedulingPolicy) else {
            throw ConfigurationFailure("--scheduling-policy: must be fcfs or priority, got \"\(schedulingPolicy)\"")
        }
        base.schedulingPolicy = policy
        base.allowedLocalMediaPath = allowedLocalMediaPath
        for (flag, value) in [("--reasoning-parser", reasoningParser), ("--tool-call-parser", toolCallParser)] {
            if let value, value != "glm45" {
                throw ConfigurationFailure("\(flag): only glm45 is simulated, got \"\(value)\"")
            }
        }
        base.reasoningParser = reasoningParser != nil
        base.toolCallParser = toolCallParser != nil
        base.faults.healthStatus = faultHealthStatus
        base.faults.errorStatus = faultErrorStatus
        base.faults.stallFirstTokenMs = faultStallMs
        base.faults.closeAfterEvents = faultCloseAfterEvents
        base.faults.refuseConnections = faultRefuseConnections
        let speeds = try replicaSpeed.split(separator: ",").map { text -> Double in
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), value > 0 else {
                throw ConfigurationFailure("--replica-speed: \"\(text)\" is not a positive number")
            }
            return value
        }
        guard speeds.count == 1 || speeds.count == replicas else {
            throw ConfigurationFailure("--replica-speed: give one value or one per replica (\(replicas))")
        }
        return try await SimulatedFleet.start(base, replicas: replicas, group: group) { index, configuration in
            configuration.maxModelLen = lengths.count == 1 ? lengths[0] : lengths[index]
            let speed = speeds.count == 1 ? speeds[0] : speeds[index]
            configuration.timeScale /= speed
            configuration.timeToFirstToken = configuration.timeToFirstToken / speed
            configuration.interTokenInterval = configuration.interTokenInterval / speed
        }
    }
}

struct Sim: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Simulated GLM-4.5V vLLM replicas.",
        subcommands: [SimRun.self, SimCalibrate.self], defaultSubcommand: SimRun.self)
}

struct SimRun: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run simulated vLLM replicas (the default: `switchyard sim --port 8001` runs them).")

    @OptionGroup var options: SimOptions

    func run() async throws {
        let logger = LogSetup.bootstrapped(level: .info, label: "switchyard-sim")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        let replicas = try await options.start(group: group)
        for replica in replicas {
            let timing = options.timing == "engine" ? "engine model, time scale \(options.timeScale)" : "fixed timing"
            print("sim replica: http://\(options.host):\(replica.port) (model \(options.servedModelName), \(timing))")
        }
        fflush(nil)  // the addresses must reach a pipe or log file now, not at exit
        let services = ServiceGroup(
            configuration: .init(
                services: [WaitForShutdown()], gracefulShutdownSignals: [.sigterm, .sigint], logger: logger))
        try await services.run()
        for replica in replicas { try await replica.shutdown() }
        try await group.shutdownGracefully()
    }
}

/// A service that only waits for SIGTERM/SIGINT.
struct WaitForShutdown: Service {
    func run() async throws { try? await gracefulShutdown() }
}
