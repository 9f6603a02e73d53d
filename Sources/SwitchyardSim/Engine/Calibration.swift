import SwitchyardCore

/// The seed's published runs (vllm-contract.md §8) and the bands the simulator must land in.
public enum Calibration {
    public struct Target: Sendable {
        public var scenario: String
        public var metric: String
        public var seed: Double
        public var tolerance: Double  // relative, e.g. 0.10

        public init(scenario: String, metric: String, seed: Double, tolerance: Double) {
            self.scenario = scenario
            self.metric = metric
            self.seed = seed
            self.tolerance = tolerance
        }

        public func check(_ value: Double) -> Bool { abs(value - seed) <= tolerance * seed }
    }

    public struct Scenario: Sendable {
        public var name: String
        public var requestRate: Double
        public var maxConcurrency: Int?
        public var numPrompts: Int
    }

    public static let scenarios = [
        Scenario(name: "max-concurrency 1", requestRate: .infinity, maxConcurrency: 1, numPrompts: 300),
        Scenario(name: "request-rate 10", requestRate: 10, maxConcurrency: nil, numPrompts: 1000),
        Scenario(name: "request-rate 20", requestRate: 20, maxConcurrency: nil, numPrompts: 1000),
    ]

    public static let targets = [
        Target(scenario: "max-concurrency 1", metric: "mean_tpot_ms", seed: 8.51, tolerance: 0.10),
        Target(scenario: "max-concurrency 1", metric: "mean_ttft_ms", seed: 487.21, tolerance: 0.15),
        Target(scenario: "request-rate 10", metric: "mean_ttft_ms", seed: 562.74, tolerance: 0.20),
        Target(scenario: "request-rate 10", metric: "mean_tpot_ms", seed: 46.19, tolerance: 0.15),
        Target(scenario: "request-rate 10", metric: "p99_itl_ms", seed: 177.84, tolerance: 0.30),
        // The seed's figure comes from vLLM's benchmark, which counts per 1-second bucket.
        Target(
            scenario: "request-rate 10", metric: "max_concurrent_requests_per_second_bucket", seed: 108, tolerance: 0.25
        ),
        Target(scenario: "request-rate 20", metric: "request_throughput", seed: 18.30, tolerance: 0.10),
        Target(scenario: "request-rate 20", metric: "mean_tpot_ms", seed: 72.62, tolerance: 0.20),
    ]

    /// The figures the targets name, from a run's metrics.
    public static func value(_ metric: String, in metrics: BenchmarkMetrics) -> Double {
        switch metric {
        case "mean_tpot_ms": metrics.tpot.mean
        case "mean_ttft_ms": metrics.ttft.mean
        case "p99_itl_ms": metrics.itl.percentiles.first { $0.percentile == 99 }?.value ?? .nan
        case "max_concurrent_requests": Double(metrics.maxConcurrentRequests)
        case "max_concurrent_requests_per_second_bucket": Double(metrics.maxConcurrentRequestsPerSecondBucket)
        case "request_throughput": metrics.requestThroughput
        default: .nan
        }
    }
}
