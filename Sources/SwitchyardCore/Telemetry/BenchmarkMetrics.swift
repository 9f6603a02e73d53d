/// One requested percentile of a latency metric, in milliseconds.
public struct PercentileValue: Sendable, Equatable {
    /// The percentile asked for, e.g. 99 or 99.9.
    public var percentile: Double
    public var value: Double

    public init(percentile: Double, value: Double) {
        self.percentile = percentile
        self.value = value
    }
}

/// Mean, median, population std and percentiles of one latency metric, in milliseconds.
public struct LatencySummary: Sendable, Equatable {
    public var mean: Double
    public var median: Double
    public var std: Double
    public var percentiles: [PercentileValue]

    public init(mean: Double, median: Double, std: Double, percentiles: [PercentileValue]) {
        self.mean = mean
        self.median = median
        self.std = std
        self.percentiles = percentiles
    }

    /// vLLM's `np.mean(values or 0) * 1000` and so on, over values in seconds.
    public init(seconds values: [Double], percentiles: [Double]) {
        self.init(
            mean: Statistics.mean(values) * 1000,
            median: Statistics.median(values) * 1000,
            std: Statistics.populationStd(values) * 1000,
            percentiles: percentiles.map {
                PercentileValue(percentile: $0, value: Statistics.percentile(values, $0) * 1000)
            })
    }
}

/// The aggregate figures of a run, as vLLM's `calculate_metrics` computes them.
public struct BenchmarkMetrics: Sendable, Equatable {
    /// Successful requests.
    public var completed: Int
    public var failed: Int
    /// Σ prompt tokens of successful requests.
    public var totalInput: Int
    /// Σ output tokens of successful requests.
    public var totalOutput: Int
    public var requestThroughput: Double
    /// Good requests per second; nil when no SLO was given (vLLM's JSON `null`).
    public var requestGoodput: Double?
    public var outputThroughput: Double
    public var totalTokenThroughput: Double
    /// The most choices events in one 1-second bucket (vLLM's `max_output_tokens_per_s`).
    public var maxOutputTokensPerSecond: Double
    /// The most requests in flight at one instant: a sweep over [start, start + E2EL).
    public var maxConcurrentRequests: Int
    /// vLLM 0.32's figure: the most requests touching one 1-second bucket. A request counts
    /// in every bucket from its start's to its end's, so this over-counts requests that merely
    /// follow one another within a second.
    public var maxConcurrentRequestsPerSecondBucket: Int
    /// Successful requests without `usage.completion_tokens`, whose output length is the
    /// number of choices events instead.
    public var outputTokensEstimatedRequests: Int
    public var ttft: LatencySummary
    public var tpot: LatencySummary
    public var itl: LatencySummary
    public var e2el: LatencySummary
    /// Output length per request in order; 0 for failed requests.
    public var actualOutputLens: [Int]

    public init(
        completed: Int, failed: Int, totalInput: Int, totalOutput: Int, requestThroughput: Double,
        requestGoodput: Double?, outputThroughput: Double, totalTokenThroughput: Double,
        maxOutputTokensPerSecond: Double, maxConcurrentRequests: Int, maxConcurrentRequestsPerSecondBucket: Int,
        outputTokensEstimatedRequests: Int, ttft: LatencySummary, tpot: LatencySummary, itl: LatencySummary,
        e2el: LatencySummary, actualOutputLens: [Int]
    ) {
        self.completed = completed
        self.failed = failed
        self.totalInput = totalInput
        self.totalOutput = totalOutput
        self.requestThroughput = requestThroughput
        self.requestGoodput = requestGoodput
        self.outputThroughput = outputThroughput
        self.totalTokenThroughput = totalTokenThroughput
        self.maxOutputTokensPerSecond = maxOutputTokensPerSecond
        self.maxConcurrentRequests = maxConcurrentRequests
        self.maxConcurrentRequestsPerSecondBucket = maxConcurrentRequestsPerSecondBucket
        self.outputTokensEstimatedRequests = outputTokensEstimatedRequests
        self.ttft = ttft
        self.tpot = tpot
        self.itl = itl
        self.e2el = e2el
        self.actualOutputLens = actualOutputLens
    }

    /// The summary of `ttft`, `tpot`, `itl` or `e2el`.
    public func summary(named metric: String) -> LatencySummary? {
        switch metric {
        case "ttft": ttft
        case "tpot": tpot
        case "itl": itl
        case "e2el": e2el
        default: nil
        }
    }
}

extension BenchmarkMetrics {
    /// vLLM's `calculate_metrics` over the outcomes of a run that took `duration` seconds
    /// (first dispatch to last completion). `percentiles` are in [0, 100].
    public static func compute(
        outcomes: [RequestOutcome], duration: Double, percentiles: [Double], goodput: GoodputSLO?
    ) -> BenchmarkMetrics {
        var actualOutputLens: [Int] = []
        var totalInput = 0
        var completed = 0
        var estimated = 0
        var goodCompleted = 0
        var itls: [Double] = []
        var tpots: [Double] = []
        var ttfts: [Double] = []
        var e2els: [Double] = []
        let slo = goodput?.isEmpty == false ? goodput : nil

        for outcome in outcomes {
            guard outcome.success else {
                actualOutputLens.append(0)
                continue
            }
            var outputLen = outcome.outputTokens ?? 0
            if outputLen == 0 {
                // vLLM re-tokenizes the generated text here; without a tokenizer we count
                // the choices events (at least one: a successful request had one).
                outputLen = max(outcome.contentEvents, 1)
                estimated += 1
            }
            actualOutputLens.append(outputLen)
            totalInput += outcome.promptTokens
            // With output_len <= 1 vLLM has no TPOT but regards it as 0 for goodput.
            var tpot = 0.0
            if outputLen > 1 {
                tpot = (outcome.latency - outcome.ttft) / Double(outputLen - 1)
                tpots.append(tpot)
            }
            itls += outcome.itl
            ttfts.append(outcome.ttft)
            e2els.append(outcome.latency)
            completed += 1
            if let slo, meets(slo, ttft: outcome.ttft, tpot: tpot, e2el: outcome.latency) {
                goodCompleted += 1
            }
        }

        let successful = outcomes.filter(\.success)
        let totalOutput = actualOutputLens.reduce(0, +)
        return BenchmarkMetrics(
            completed: completed,
            failed: outcomes.count - completed,
            totalInput: totalInput,
            totalOutput: totalOutput,
            requestThroughput: Double(completed) / duration,
            requestGoodput: slo == nil ? nil : Double(goodCompleted) / duration,
            outputThroughput: Double(totalOutput) / duration,
            totalTokenThroughput: Double(totalInput + totalOutput) / duration,
            maxOutputTokensPerSecond: peakOutputTokensPerSecond(successful),
            maxConcurrentRequests: peakConcurrency(successful),
            maxConcurrentRequestsPerSecondBucket: peakConcurrencyPerSecondBucket(successful),
            outputTokensEstimatedRequests: estimated,
            ttft: LatencySummary(seconds: ttfts, percentiles: percentiles),
            tpot: LatencySummary(seconds: tpots, percentiles: percentiles),
            itl: LatencySummary(seconds: itls, percentiles: percentiles),
            e2el: LatencySummary(seconds: e2els, percentiles: percentiles),
            actualOutputLens: actualOutputLens)
    }

    /// Every given SLO (ms) is at least the request's metric (s), as vLLM compares them.
    static func meets(_ slo: GoodputSLO, ttft: Double, tpot: Double, e2el: Double) -> Bool {
        if let limit = slo.ttftMs, !(limit / 1000 >= ttft) { return false }
        if let limit = slo.tpotMs, !(limit / 1000 >= tpot) { return false }
        if let limit = slo.e2elMs, !(limit / 1000 >= e2el) { return false }
        return true
    }

    /// The second buckets vLLM uses: `int(ceil(maxEnd - minStart)) + 1` of them, from the
    /// earliest start; nil without requests (or with a non-finite span, where vLLM would fail).
    private static func buckets(_ successful: [RequestOutcome]) -> (origin: Double, count: Double)? {
        guard let origin = successful.map(\.startTime).min(),
            let end = successful.map({ $0.startTime + $0.latency }).max(),
            (end - origin).isFinite
        else { return nil }
        return (origin, (end - origin).rounded(.up) + 1)
    }

    /// vLLM's `max_output_tokens_per_s`: choices events at start + ttft, then at each
    /// cumulative ITL, counted in the 1-second bucket `int(t - minStart)`; the fullest bucket.
    /// (Counted sparsely: the same figure without an array as long as the run.)
    static func peakOutputTokensPerSecond(_ successful: [RequestOutcome]) -> Double {
        guard let (origin, count) = buckets(successful) else { return 0 }
        var tokens: [Int: Int] = [:]
        for outcome in successful {
            var time = outcome.startTime + outcome.ttft
            var times = [time]
            for gap in outcome.itl {
                time += gap
                times.append(time)
            }
            for time in times {
                let offset = time - origin
                // Python's int() truncates toward zero; out-of-range buckets are dropped.
                guard offset > -1, offset < count else { continue }
                tokens[Int(offset), default: 0] += 1
            }
        }
        return Double(tokens.values.max() ?? 0)
    }

    /// vLLM 0.32's `max_concurrent_requests`: each request counts once in every 1-second
    /// bucket from `int(start - minStart)` through `int(end - minStart)`.
    static func peakConcurrencyPerSecondBucket(_ successful: [RequestOutcome]) -> Int {
        guard let (origin, _) = buckets(successful) else { return 0 }
        // +1 where a request's first bucket is, -1 after its last; the running sum peaks at
        // the fullest bucket.
        var changes: [Int: Int] = [:]
        for outcome in successful {
            let startOffset = outcome.startTime - origin
            let endOffset = outcome.startTime + outcome.latency - origin
            guard startOffset.isFinite, endOffset.isFinite, startOffset <= endOffset else { continue }
            let first = Int(startOffset)
            let last = Int(endOffset)
            changes[first, default: 0] += 1
            changes[last + 1, default: 0] -= 1
        }
        var current = 0
        var peak = 0
        for second in changes.keys.sorted() {
            current += changes[second]!
            peak = max(peak, current)
        }
        return peak
    }

    /// The most requests in flight at once, over half-open intervals [start, start + latency):
    /// at equal times ends are processed before starts, so back-to-back requests count once.
    static func peakConcurrency(_ successful: [RequestOutcome]) -> Int {
        var events: [(time: Double, delta: Int)] = []
        for outcome in successful where outcome.latency > 0 {
            events.append((outcome.startTime, 1))
            events.append((outcome.startTime + outcome.latency, -1))
        }
        events.sort { $0.time != $1.time ? $0.time < $1.time : $0.delta < $1.delta }
        var current = 0
        var peak = 0
        for event in events {
            current += event.delta
            peak = max(peak, current)
        }
        return peak
    }
}
