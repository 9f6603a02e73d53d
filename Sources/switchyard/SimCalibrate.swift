import ArgumentParser
import Foundation
import SwitchyardBench
import SwitchyardCore
import SwitchyardSim

/// `switchyard sim calibrate`: the seed's three runs against the engine model in virtual time,
/// printed seed vs sim with the bands the simulator must meet.
struct SimCalibrate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "calibrate",
        abstract: "Run the seed's benchmarks against the engine model in virtual time; print seed vs sim.")

    @Option(help: "Seed for the dataset, output lengths and arrivals.") var seed: UInt64 = 0
    @Option(
        parsing: .upToNextOption,
        help: "Profile overrides, e.g. stepBaseMs=8 decodePerSequenceMs=0.45 (see `EngineProfile`).")
    var set: [String] = []
    @Flag(help: "Exit with status 1 if any figure is outside its band.") var strict = false

    func run() async throws {
        let profile = try Self.profile(overriding: set)
        let results = try Self.evaluate(profile: profile, seed: seed)
        print("profile: \(profile)")
        print("| scenario | metric | seed | sim | sim ÷ seed | band | in band |")
        print("|---|---|---|---|---|---|---|")
        var allIn = true
        for (target, value) in results {
            let ok = target.check(value)
            guard target.tolerance.isFinite else {
                print(
                    "| \(target.scenario) | \(target.metric) | | \(String(format: "%.2f", value)) | | for reference | |"
                )
                continue
            }
            allIn = allIn && ok
            print(
                "| \(target.scenario) | \(target.metric) | \(String(format: "%.2f", target.seed)) | \(String(format: "%.2f", value)) | \(String(format: "%.3f", value / target.seed)) | ±\(Int(target.tolerance * 100)) % | \(ok ? "yes" : "**no**") |"
            )
        }
        if strict && !allIn { throw ExitCode(1) }
    }

    static func evaluate(profile: EngineProfile, seed: UInt64) throws -> [(Calibration.Target, Double)] {
        var generator = SeededRandom(seed: seed)
        let dataset = try VisionArenaSyntheticDataset().makeRequests(count: 1000, generator: &generator)
        let cost = GLMImageCost()
        var lengths = generator.fork(7)
        let shaped = try dataset.map { request -> (prompt: Int, image: Int, megapixels: Double, output: Int) in
            var imageTokens = 0
            var megapixels = 0.0
            for url in request.imageURLs {
                let dimensions = try DataURLImage.dimensions(ofDataURL: Substring(url)).get()
                imageTokens += try cost.tokens(width: dimensions.width, height: dimensions.height)
                megapixels += Double(dimensions.width * dimensions.height) / 1e6
            }
            let output = NaturalLength.draw(cap: request.outputTokens, profile: profile, generator: &lengths)
            return (request.promptTokens + imageTokens, imageTokens, megapixels, output)
        }
        var results: [(Calibration.Target, Double)] = []
        for scenario in Calibration.scenarios {
            var arrivals = SeededRandom(seed: seed).fork(0xA771_7A15)
            let count = scenario.numPrompts
            let times = Arrivals.sendTimes(
                count: count, rate: scenario.requestRate, burstiness: 1, generator: &arrivals)
            let requests = (0..<count).map { i in
                VirtualBenchmark.Request(
                    sendTime: times[i], promptTokens: shaped[i].prompt, imageTokens: shaped[i].image,
                    megapixels: shaped[i].megapixels, outputTokens: shaped[i].output)
            }
            let run = VirtualBenchmark.run(requests, maxConcurrency: scenario.maxConcurrency, profile: profile)
            let metrics = BenchmarkMetrics.compute(
                outcomes: run.outcomes, duration: run.duration, percentiles: [99], goodput: nil)
            for target in Calibration.targets where target.scenario == scenario.name {
                results.append((target, Calibration.value(target.metric, in: metrics)))
            }
            if scenario.name == "request-rate 10" {
                // Not a target: the true peak (sweep over [start, start + E2EL)), for reference.
                let sweep = Calibration.Target(
                    scenario: scenario.name, metric: "max_concurrent_requests (sweep)", seed: 108, tolerance: .infinity)
                results.append((sweep, Double(metrics.maxConcurrentRequests)))
            }
        }
        return results
    }

    static func profile(overriding assignments: [String]) throws -> EngineProfile {
        var profile = EngineProfile.glm45vFP8TP4H100
        for assignment in assignments {
            let parts = assignment.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, let value = Double(parts[1]) else {
                throw ConfigurationFailure("--set: expected NAME=NUMBER, got \"\(assignment)\"")
            }
            switch parts[0] {
            case "maxNumSeqs": profile.maxNumSeqs = Int(value)
            case "maxNumBatchedTokens": profile.maxNumBatchedTokens = Int(value)
            case "kvCacheTokens": profile.kvCacheTokens = Int(value)
            case "stepBaseMs": profile.stepBaseMs = value
            case "expertLoadMs": profile.expertLoadMs = value
            case "activeExpertFraction": profile.activeExpertFraction = value
            case "decodePerSequenceMs": profile.decodePerSequenceMs = value
            case "prefillPerTokenMs": profile.prefillPerTokenMs = value
            case "encoderPerImageTokenMs": profile.encoderPerImageTokenMs = value
            case "preprocessBaseMs": profile.preprocessBaseMs = value
            case "preprocessPerMegapixelMs": profile.preprocessPerMegapixelMs = value
            case "fullLengthProbability": profile.fullLengthProbability = value
            default: throw ConfigurationFailure("--set: unknown profile parameter \"\(parts[0])\"")
            }
        }
        return profile
    }
}
