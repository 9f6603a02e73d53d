import NIOCore
import SwitchyardCore

/// How to drive the load: everything `vllm bench serve` takes besides the dataset.
public struct BenchOptions: Sendable {
    public var model: String
    public var requestRate: Double = .infinity
    public var burstiness: Double = 1.0
    public var maxConcurrency: Int?
    public var seed: UInt64 = 0
    public var ignoreEOS = false
    /// Prefix of each request's `x-request-id` (`bench-<8 hex>-`), followed by its index.
    public var requestIDPrefix: String

    public init(model: String, requestIDPrefix: String) {
        self.model = model
        self.requestIDPrefix = requestIDPrefix
    }
}

/// The outcomes of a run, in request order, and its wall-clock duration in seconds (from the
/// first dispatch to the last completion, as vLLM's `benchmark_duration`).
public struct BenchRun: Sendable {
    public var outcomes: [RequestOutcome]
    public var duration: Double
}

public struct BenchError: Error, CustomStringConvertible {
    public var description: String
    public init(_ description: String) { self.description = description }
}

public enum BenchRunner {
    /// Sends the first request once on its own (vLLM's "initial single prompt test run"): a
    /// wrong model, endpoint or address fails here, before any load is generated.
    public static func testRun(_ request: BenchRequest, client: BenchClient, options: BenchOptions) async throws {
        let outcome = await client.send(
            request, model: options.model, ignoreEOS: options.ignoreEOS,
            requestID: options.requestIDPrefix + "test", origin: NIODeadline.now().uptimeNanoseconds)
        guard outcome.success else {
            throw BenchError(
                "Initial test run failed - Please make sure benchmark arguments are correctly specified. Error: \(outcome.error ?? "unknown")"
            )
        }
    }

    /// Sends every request at its arrival time (gamma-distributed gaps, rescaled so the last
    /// send is at N/rate), holding at most `maxConcurrency` in flight.
    public static func run(
        _ requests: [BenchRequest], client: BenchClient, options: BenchOptions, progress: ProgressBar
    ) async -> BenchRun {
        var generator = SeededRandom(seed: options.seed).fork(0xA771_7A15)
        let sendTimes = Arrivals.sendTimes(
            count: requests.count, rate: options.requestRate, burstiness: options.burstiness, generator: &generator)
        let semaphore = options.maxConcurrency.map { AsyncSemaphore(limit: $0) }
        let clock = ContinuousClock()
        let startInstant = clock.now
        let origin = NIODeadline.now().uptimeNanoseconds
        var outcomes = [RequestOutcome?](repeating: nil, count: requests.count)
        await withTaskGroup(of: (Int, RequestOutcome).self) { tasks in
            for (index, request) in requests.enumerated() {
                let sendAt = startInstant + .nanoseconds(Int64(sendTimes[index] * 1e9))
                if sendAt > clock.now { try? await clock.sleep(until: sendAt) }
                tasks.addTask {
                    await semaphore?.acquire()
                    let outcome = await client.send(
                        request, model: options.model, ignoreEOS: options.ignoreEOS,
                        requestID: options.requestIDPrefix + String(index), origin: origin)
                    await semaphore?.release()
                    progress.tick()
                    return (index, outcome)
                }
            }
            for await (index, outcome) in tasks { outcomes[index] = outcome }
        }
        let duration = Double(NIODeadline.now().uptimeNanoseconds - origin) / 1e9
        progress.finish()
        return BenchRun(outcomes: outcomes.map { $0! }, duration: duration)
    }
}
