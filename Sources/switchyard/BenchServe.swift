import ArgumentParser
import Foundation
import NIOCore
import NIOPosix
import SwitchyardBench
import SwitchyardCore
import SwitchyardServer

struct Bench: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Load generators.", subcommands: [BenchServe.self, BenchScheduler.self, BenchObserver.self])
}

/// `switchyard bench serve`: `vllm bench serve`'s flags, requests, arrivals, metrics and report.
struct BenchServe: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "serve",
        abstract: "Benchmark an OpenAI-compatible server exactly as `vllm bench serve` measures it.")

    @Option(help: "openai-chat (/v1/chat/completions) or openai (/v1/completions).")
    var backend = "openai-chat"
    @Option(name: .customLong("base-url"), help: "Server base URL, e.g. http://127.0.0.1:8000.")
    var baseURL: String?
    @Option(help: "Host, when --base-url is not given.") var host = "127.0.0.1"
    @Option(help: "Port, when --base-url is not given.") var port = 8000
    @Option(help: "API path (default: the backend's: /v1/chat/completions or /v1/completions).")
    var endpoint: String?
    @Option(help: "Model name (default: the first id of the server's /v1/models).") var model: String?
    @Option(name: .customLong("num-prompts"), help: "Number of requests.") var numPrompts = 1000
    @Option(name: .customLong("request-rate"), help: "Requests per second, or inf (all at once).")
    var requestRate = "inf"
    @Option(help: "Gamma shape of the arrival gaps (1 = Poisson; smaller is burstier).") var burstiness = 1.0
    @Option(name: .customLong("max-concurrency"), help: "Client-side cap on requests in flight.")
    var maxConcurrency: Int?
    @Option(help: "Seed for the dataset and the arrivals.") var seed: UInt64 = 0
    @Flag(name: .customLong("ignore-eos"), help: "Send ignore_eos so every request generates its full output.")
    var ignoreEOS = false
    @Option(parsing: .upToNextOption, help: "SLOs for goodput: ttft:MS tpot:MS e2el:MS.")
    var goodput: [String] = []
    @Option(name: .customLong("percentile-metrics"), help: "Metrics to report percentiles of: ttft,tpot,itl,e2el.")
    var percentileMetrics = "ttft,tpot,itl"
    @Option(name: .customLong("metric-percentiles"), help: "Comma-separated percentiles, e.g. 50,90,99.")
    var metricPercentiles = "99"
    @Flag(name: .customLong("save-result"), help: "Write the result JSON (vLLM's keys).") var saveResult = false
    @Option(name: .customLong("result-dir"), help: "Folder for the result JSON.") var resultDir: String?
    @Option(name: .customLong("result-filename"), help: "File name of the result JSON.") var resultFilename: String?
    @Option(help: "Label used in the result file name (default: the backend).") var label: String?
    @Option(parsing: .upToNextOption, help: "Extra request headers, KEY=VALUE.") var header: [String] = []
    @Flag(name: .customLong("disable-tqdm"), help: "No progress bar.") var disableTqdm = false

    @Option(name: .customLong("dataset-name"), help: "random, visionarena-synthetic or jsonl.")
    var datasetName = "random"
    @Option(name: .customLong("dataset-path"), help: "JSONL file for --dataset-name jsonl.") var datasetPath: String?
    @Option(name: .customLong("random-input-len"), help: "Prompt length in tokens (random).") var randomInputLen = 1024
    @Option(name: .customLong("random-output-len"), help: "Output length in tokens (random, jsonl default).")
    var randomOutputLen = 128
    @Option(name: .customLong("random-range-ratio"), help: "Lengths vary uniformly within ±ratio.")
    var randomRangeRatio = 0.0

    func run() async throws {
        guard let benchBackend = BenchBackend(rawValue: backend) else {
            throw ConfigurationFailure("--backend: must be openai-chat or openai, got \"\(backend)\"")
        }
        let rate = try parseRate(requestRate)
        guard burstiness > 0 else { throw ConfigurationFailure("--burstiness: must be greater than 0") }
        if let maxConcurrency, maxConcurrency < 1 {
            throw ConfigurationFailure("--max-concurrency: must be at least 1")
        }
        guard numPrompts >= 1 else { throw ConfigurationFailure("--num-prompts: must be at least 1") }
        let target = try parseTarget()
        let headers = try header.map { item -> (String, String) in
            guard let equals = item.firstIndex(of: "="), equals != item.startIndex else {
                throw ConfigurationFailure("--header: expected KEY=VALUE, got \"\(item)\"")
            }
            return (String(item[..<equals]), String(item[item.index(after: equals)...]))
        }
        let slo: GoodputSLO?
        do { slo = goodput.isEmpty ? nil : try GoodputSLO(parsing: goodput) } catch {
            throw ConfigurationFailure("--goodput: \(error)")
        }
        let metrics = percentileMetrics.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }
        for metric in metrics where !["ttft", "tpot", "itl", "e2el"].contains(metric) {
            throw ConfigurationFailure("--percentile-metrics: unknown metric \"\(metric)\" (ttft, tpot, itl, e2el)")
        }
        let percentiles = try metricPercentiles.split(separator: ",").map { text -> Double in
            guard let value = Double(text.trimmingCharacters(in: .whitespaces)), (0...100).contains(value) else {
                throw ConfigurationFailure("--metric-percentiles: \"\(text)\" is not a number from 0 to 100")
            }
            return value
        }

        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        do {
            try await benchmark(
                target: target, backend: benchBackend, rate: rate, headers: headers, slo: slo, metrics: metrics,
                percentiles: percentiles, group: group)
        } catch {
            try? await group.shutdownGracefully()
            throw error
        }
        try await group.shutdownGracefully()
    }

    private func benchmark(
        target: BackendURL, backend benchBackend: BenchBackend, rate: Double, headers: [(String, String)],
        slo: GoodputSLO?, metrics: [String], percentiles: [Double], group: any EventLoopGroup
    ) async throws {
        let modelID: String
        if let model { modelID = model } else { modelID = try await firstModel(target, group: group) }
        var generator = SeededRandom(seed: seed)
        let requests = try makeDataset().makeRequests(count: numPrompts, generator: &generator)

        var options = BenchOptions(model: modelID, requestIDPrefix: "bench-\(Self.randomHex(8))-")
        options.requestRate = rate
        options.burstiness = burstiness
        options.maxConcurrency = maxConcurrency
        options.seed = seed
        options.ignoreEOS = ignoreEOS
        let client = BenchClient(
            target: target, endpoint: endpoint ?? benchBackend.defaultEndpoint, backend: benchBackend,
            headers: headers, group: group)
        defer { client.shutdown() }

        print("Starting initial single prompt test run...")
        try await BenchRunner.testRun(requests[0], client: client, options: options)
        print("Initial test run completed.")
        print("Traffic request rate: \(rate.isInfinite ? "inf" : Self.pythonFloat(rate))")
        print("Burstiness factor: \(burstiness) (\(burstiness == 1 ? "Poisson process" : "Gamma distribution"))")
        print("Maximum request concurrency: \(maxConcurrency.map(String.init) ?? "None")")
        let run = await BenchRunner.run(
            requests, client: client, options: options, progress: ProgressBar(total: numPrompts, disabled: disableTqdm))

        let result = BenchmarkMetrics.compute(
            outcomes: run.outcomes, duration: run.duration, percentiles: percentiles, goodput: slo)
        let failures = run.outcomes.filter { !$0.success }
        if !failures.isEmpty {
            print("Failed requests during benchmark run detected (capping to 10):")
            for (index, failure) in failures.prefix(10).enumerated() {
                print("Error \(index): \(failure.error ?? "")")
            }
        }
        if result.outputTokensEstimatedRequests > 0 {
            FileHandle.standardError.write(
                Data(
                    "note: \(result.outputTokensEstimatedRequests) requests reported no usage.completion_tokens; their output tokens were counted as content events\n"
                        .utf8))
        }
        let info = BenchmarkRunInfo(
            backend: benchBackend.rawValue, label: label, modelID: modelID, tokenizerID: nil, numPrompts: numPrompts,
            requestRate: rate, burstiness: burstiness, maxConcurrency: maxConcurrency, date: Self.timestamp(),
            duration: run.duration)
        print(
            BenchmarkReport.text(metrics: result, info: info, percentileMetrics: metrics, percentiles: percentiles),
            terminator: "")
        if saveResult {
            let json = BenchmarkReport.json(
                metrics: result, info: info, outcomes: run.outcomes, percentileMetrics: metrics,
                percentiles: percentiles)
            let path = resultPath(modelID: modelID, info: info)
            try json.write(toFile: path, atomically: true, encoding: .utf8)
        }
    }

    private func makeDataset() throws -> any BenchDataset {
        switch datasetName {
        case "random":
            return RandomDataset(inputLen: randomInputLen, outputLen: randomOutputLen, rangeRatio: randomRangeRatio)
        case "visionarena-synthetic":
            return VisionArenaSyntheticDataset()
        case "jsonl":
            guard let datasetPath else {
                throw ConfigurationFailure("--dataset-path: required with --dataset-name jsonl")
            }
            return JSONLDataset(path: datasetPath, defaultOutputLen: randomOutputLen)
        default:
            throw ConfigurationFailure(
                "--dataset-name: must be random, visionarena-synthetic or jsonl, got \"\(datasetName)\"")
        }
    }

    private func parseRate(_ text: String) throws -> Double {
        if text == "inf" { return .infinity }
        guard let value = Double(text), value > 0 else {
            throw ConfigurationFailure("--request-rate: must be a positive number or inf, got \"\(text)\"")
        }
        return value
    }

    private func parseTarget() throws -> BackendURL {
        let text = baseURL ?? "http://\(host):\(port)"
        do { return try BackendURL(parsing: text) } catch {
            throw ConfigurationFailure("--base-url \(text): \(error.message)")
        }
    }

    private func firstModel(_ target: BackendURL, group: any EventLoopGroup) async throws -> String {
        let answer: ProbeClient.Answer
        do {
            answer = try await ProbeClient.get(target, path: "/v1/models", timeout: .seconds(10), group: group)
        } catch {
            throw ConfigurationFailure("cannot read \(target)/v1/models to pick a model (\(error)); pass --model")
        }
        guard answer.status == 200, let first = try? ModelListParser.parse(answer.body).first else {
            throw ConfigurationFailure("\(target)/v1/models answered \(answer.status) with no model; pass --model")
        }
        return first.id
    }

    /// vLLM's file name: `{label}-{rate}qps[-concurrency{N}]-{model basename}-{date}.json`.
    private func resultPath(modelID: String, info: BenchmarkRunInfo) -> String {
        let rate = info.requestRate.isInfinite ? "inf" : Self.pythonFloat(info.requestRate)
        let concurrency = maxConcurrency.map { "-concurrency\($0)" } ?? ""
        let base = modelID.split(separator: "/").last.map(String.init) ?? modelID
        let name = resultFilename ?? "\(label ?? backend)-\(rate)qps\(concurrency)-\(base)-\(info.date).json"
        guard let resultDir else { return name }
        try? FileManager.default.createDirectory(atPath: resultDir, withIntermediateDirectories: true)
        return (resultDir as NSString).appendingPathComponent(name)
    }

    /// Python's str(float): 10.0, 2.5.
    static func pythonFloat(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e16 ? String(format: "%.1f", value) : String(value)
    }

    static func timestamp() -> String { BenchmarkRunInfo.dateString(Date()) }

    static func randomHex(_ digits: Int) -> String {
        (0..<digits).map { _ in String(Int.random(in: 0..<16), radix: 16) }.joined()
    }
}
