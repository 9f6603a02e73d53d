import Testing

@testable import SwitchyardCore

/// Four requests over a 2-second run (times in seconds):
/// - 0: start 0.0, TTFT 0.1, ITL 0.05 0.05 0.1, E2EL 0.3, 10 in, 4 out (usage): TPOT 0.2/3
/// - 1: start 0.5, TTFT 0.2, no ITL, E2EL 0.2, 20 in, 1 out: no TPOT (0 for goodput)
/// - 2: failed at 0.2 (5 in)
/// - 3: start 1.0, TTFT 0.3, ITL 0.1 0.2, E2EL 0.6, 30 in, no usage, 3 choices events: TPOT 0.15
let mixedRun: [RequestOutcome] = [
    RequestOutcome(
        success: true, startTime: 0, ttft: 0.1, itl: [0.05, 0.05, 0.1], latency: 0.3, promptTokens: 10,
        outputTokens: 4, contentEvents: 4, generatedText: "abcd"),
    RequestOutcome(
        success: true, startTime: 0.5, ttft: 0.2, latency: 0.2, promptTokens: 20, outputTokens: 1, contentEvents: 1,
        generatedText: "x"),
    RequestOutcome(success: false, startTime: 0.2, promptTokens: 5, error: "boom"),
    RequestOutcome(
        success: true, startTime: 1.0, ttft: 0.3, itl: [0.1, 0.2], latency: 0.6, promptTokens: 30, outputTokens: nil,
        contentEvents: 3, generatedText: "xyz"),
]

private func compute(
    _ outcomes: [RequestOutcome], duration: Double = 2, percentiles: [Double] = [50, 99], goodput: GoodputSLO? = nil
) -> BenchmarkMetrics {
    BenchmarkMetrics.compute(outcomes: outcomes, duration: duration, percentiles: percentiles, goodput: goodput)
}

private func near(_ a: Double, _ b: Double, _ tolerance: Double = 1e-9) -> Bool { abs(a - b) <= tolerance }

/// A successful request occupying [start, end) with one choices event at its start.
private func interval(_ start: Double, _ end: Double) -> RequestOutcome {
    RequestOutcome(success: true, startTime: start, latency: end - start, outputTokens: 1, contentEvents: 1)
}

@Suite("Telemetry metrics (vLLM calculate_metrics)")
struct TelemetryMetricsTests {
    @Test("counts, totals and throughputs; failed requests excluded")
    func totals() {
        let metrics = compute(mixedRun)
        #expect(metrics.completed == 3)
        #expect(metrics.failed == 1)
        #expect(metrics.totalInput == 60)
        #expect(metrics.totalOutput == 8)
        #expect(metrics.actualOutputLens == [4, 1, 0, 3])
        #expect(metrics.outputTokensEstimatedRequests == 1)
        #expect(metrics.requestThroughput == 1.5)
        #expect(metrics.outputThroughput == 4)
        #expect(metrics.totalTokenThroughput == 34)
        #expect(metrics.requestGoodput == nil)
    }

    @Test("latency summaries in milliseconds over successful requests")
    func latencySummaries() {
        let metrics = compute(mixedRun)
        // TTFT 0.1 0.2 0.3 (the failed request's 0 is not among them)
        #expect(near(metrics.ttft.mean, 200))
        #expect(near(metrics.ttft.median, 200))
        #expect(near(metrics.ttft.std, (0.02 / 3).squareRoot() * 1000))
        #expect(metrics.ttft.percentiles.map(\.percentile) == [50, 99])
        #expect(near(metrics.ttft.percentiles[1].value, 298))  // 0.2 + 0.1 * 0.98
        // TPOT: only the 4-token and 3-token requests, 0.2/3 and 0.3/2
        #expect(near(metrics.tpot.mean, (0.2 / 3 + 0.15) / 2 * 1000))
        #expect(near(metrics.tpot.percentiles[0].value, (0.2 / 3 + 0.15) / 2 * 1000))
        // ITL: every gap pooled: 0.05 0.05 0.1 0.1 0.2
        #expect(near(metrics.itl.mean, 100))
        #expect(near(metrics.itl.median, 100))
        #expect(near(metrics.itl.percentiles[1].value, 196))  // 0.1 + 0.1 * 0.96
        // E2EL 0.3 0.2 0.6
        #expect(near(metrics.e2el.mean, 1100.0 / 3))
        #expect(near(metrics.e2el.median, 300))
    }

    /// vLLM 0.32's own `calculate_metrics` on the same four requests (percentiles 50 and 99.9,
    /// goodput ttft:150 e2el:500) printed these values; they agree to the last bit.
    @Test("agrees with vLLM's calculate_metrics bit for bit")
    func matchesVLLM() {
        let metrics = compute(mixedRun, percentiles: [50, 99.9], goodput: GoodputSLO(ttftMs: 150, e2elMs: 500))
        #expect(metrics.requestGoodput == 0.5)
        #expect(metrics.maxOutputTokensPerSecond == 5)
        #expect(metrics.maxConcurrentRequestsPerSecondBucket == 2)  // vLLM's max_concurrent_requests
        let expected: [(LatencySummary, [Double])] = [
            (metrics.ttft, [200.00000000000003, 200.0, 81.6496580927726, 200.0, 299.8]),
            (
                metrics.tpot,
                [108.33333333333334, 108.33333333333334, 41.666666666666664, 108.33333333333334, 149.91666666666666]
            ),
            (metrics.itl, [100.0, 100.0, 54.772255750516614, 100.0, 199.60000000000005]),
            (metrics.e2el, [366.6666666666667, 300.0, 169.96731711975949, 300.0, 599.4000000000001]),
        ]
        for (summary, values) in expected {
            #expect([summary.mean, summary.median, summary.std] + summary.percentiles.map(\.value) == values)
        }
    }

    @Test("a 1-token output has no TPOT")
    func singleTokenHasNoTPOT() {
        let metrics = compute([mixedRun[1]])
        #expect(
            metrics.tpot
                == LatencySummary(
                    mean: 0, median: 0, std: 0,
                    percentiles: [
                        PercentileValue(percentile: 50, value: 0), PercentileValue(percentile: 99, value: 0),
                    ]))
        #expect(near(metrics.ttft.mean, 200))
    }

    @Test(
        "without usage, the output length is the number of choices events (at least 1)",
        arguments: [
            (nil, 5, 5, 1),
            (0, 5, 5, 1),  // completion_tokens 0 is "not reported" for vLLM too
            (nil, 0, 1, 1),
            (7, 5, 7, 0),
        ] as [(Int?, Int, Int, Int)])
    func outputLengthFallback(reported: Int?, events: Int, expectedLength: Int, expectedEstimated: Int) {
        let outcome = RequestOutcome(
            success: true, ttft: 0.5, latency: 1.5, promptTokens: 3, outputTokens: reported, contentEvents: events)
        let metrics = compute([outcome])
        #expect(metrics.actualOutputLens == [expectedLength])
        #expect(metrics.totalOutput == expectedLength)
        #expect(metrics.outputTokensEstimatedRequests == expectedEstimated)
        if expectedLength > 1 {
            #expect(near(metrics.tpot.mean, 1000 / Double(expectedLength - 1)))
        } else {
            #expect(metrics.tpot.mean == 0)
        }
    }

    @Test(
        "goodput: good when every given SLO is at least the metric",
        arguments: [
            (GoodputSLO(ttftMs: 250), 1.0),  // TTFT 0.1, 0.2 pass; 0.3 fails
            (GoodputSLO(tpotMs: 100), 1.0),  // TPOT 0.067, 0 (1 token), 0.15
            (GoodputSLO(tpotMs: 50), 0.5),  // only the 1-token request (TPOT 0)
            (GoodputSLO(e2elMs: 500), 1.0),  // E2EL 0.3, 0.2 pass; 0.6 fails
            (GoodputSLO(e2elMs: 300), 1.0),  // 0.3 meets a 300 ms SLO exactly
            (GoodputSLO(e2elMs: 100), 0.0),
            (GoodputSLO(ttftMs: 150, e2elMs: 500), 0.5),  // only request 0
            (GoodputSLO(ttftMs: 250, tpotMs: 100, e2elMs: 250), 0.5),  // only request 1
            (GoodputSLO(ttftMs: 1000, tpotMs: 1000, e2elMs: 1000), 1.5),
        ] as [(GoodputSLO, Double)])
    func goodput(slo: GoodputSLO, expected: Double) {
        #expect(compute(mixedRun, goodput: slo).requestGoodput == expected)
    }

    @Test("no SLO, or an empty one, means no goodput")
    func noGoodput() {
        #expect(compute(mixedRun, goodput: nil).requestGoodput == nil)
        #expect(compute(mixedRun, goodput: GoodputSLO()).requestGoodput == nil)
    }

    @Test("goodput arguments parse like vLLM's")
    func goodputParsing() throws {
        #expect(try GoodputSLO(parsing: []) == GoodputSLO())
        #expect(try GoodputSLO(parsing: ["ttft:500", "tpot:50"]) == GoodputSLO(ttftMs: 500, tpotMs: 50))
        #expect(try GoodputSLO(parsing: ["e2el:1e3", "e2el:2000.5"]) == GoodputSLO(e2elMs: 2000.5))
        #expect(try GoodputSLO(parsing: ["ttft:0"]) == GoodputSLO(ttftMs: 0))
        #expect(throws: GoodputSLOError.unknownMetric(item: "latency:5")) { try GoodputSLO(parsing: ["latency:5"]) }
        #expect(throws: GoodputSLOError.unknownMetric(item: "TTFT:5")) { try GoodputSLO(parsing: ["TTFT:5"]) }
        #expect(throws: GoodputSLOError.notANumber(item: "ttft:fast")) { try GoodputSLO(parsing: ["ttft:fast"]) }
        #expect(throws: GoodputSLOError.notANumber(item: "ttft:")) { try GoodputSLO(parsing: ["ttft:"]) }
        #expect(throws: GoodputSLOError.notANumber(item: "ttft:nan")) { try GoodputSLO(parsing: ["ttft:nan"]) }
        #expect(throws: GoodputSLOError.negative(item: "tpot:-1")) { try GoodputSLO(parsing: ["tpot:-1"]) }
        #expect(throws: GoodputSLOError.malformed(item: "ttft")) { try GoodputSLO(parsing: ["ttft"]) }
        #expect(throws: GoodputSLOError.malformed(item: "ttft:1:2")) { try GoodputSLO(parsing: ["ttft:1:2"]) }
        do {
            _ = try GoodputSLO(parsing: ["ttft:500", "itl:20"])
            Issue.record("expected an error")
        } catch {
            #expect(error.item == "itl:20")
            #expect(error.description.contains("'itl:20'"))
        }
    }

    @Test(
        "peak concurrency: sweep over [start, end) versus vLLM 0.32's 1-second buckets",
        arguments: [
            ([(0, 1), (1, 2)], 1, 2),  // touching intervals: one at a time
            ([(0, 10), (1, 2), (3, 4)], 2, 2),  // nested
            ([(0, 3), (1, 4), (2, 5)], 3, 3),  // overlapping chain
            ([(0, 0.2), (0.3, 0.5), (0.6, 0.8)], 1, 3),  // back to back within one second
            ([(0, 1), (0, 1), (0, 1)], 3, 3),  // simultaneous
            ([(0, 2.5), (2.5, 3), (1, 2.5)], 2, 3),  // two ending exactly when one starts
            ([(5, 6)], 1, 1),
        ] as [([(Double, Double)], Int, Int)])
    func peakConcurrency(intervals: [(Double, Double)], sweep: Int, buckets: Int) {
        let metrics = compute(intervals.map { interval($0.0, $0.1) })
        #expect(metrics.maxConcurrentRequests == sweep)
        #expect(metrics.maxConcurrentRequestsPerSecondBucket == buckets)
    }

    @Test("peak concurrency counts successful requests only")
    func peakConcurrencyIgnoresFailures() {
        let metrics = compute(mixedRun)
        // successful: [0, 0.3), [0.5, 0.7), [1.0, 1.6); buckets 0, 0, 1
        #expect(metrics.maxConcurrentRequests == 1)
        #expect(metrics.maxConcurrentRequestsPerSecondBucket == 2)
        let failedOnly = compute([RequestOutcome(success: false, startTime: 1, latency: 3)])
        #expect(failedOnly.maxConcurrentRequests == 0)
        #expect(failedOnly.maxConcurrentRequestsPerSecondBucket == 0)
        #expect(failedOnly.maxOutputTokensPerSecond == 0)
        #expect(failedOnly.completed == 0 && failedOnly.failed == 1)
        #expect(failedOnly.ttft.mean == 0 && failedOnly.itl.percentiles[1].value == 0)
    }

    @Test("peak output throughput: choices events per 1-second bucket from the first start")
    func peakOutputThroughput() {
        // Request A: start 0, events at 0.5 0.75 1.0 1.25 1.5       -> buckets 0 0 1 1 1
        // Request B: start 0.75, events at 1.25 1.375 1.5 2.5        -> buckets 1 1 1 2
        // ceil(2.5 - 0) + 1 = 4 buckets: [2, 6, 1, 0]
        let a = RequestOutcome(
            success: true, startTime: 0, ttft: 0.5, itl: [0.25, 0.25, 0.25, 0.25], latency: 1.5, outputTokens: 5)
        let b = RequestOutcome(
            success: true, startTime: 0.75, ttft: 0.5, itl: [0.125, 0.125, 1.0], latency: 1.75, outputTokens: 4)
        #expect(compute([a, b]).maxOutputTokensPerSecond == 6)
        #expect(compute([a]).maxOutputTokensPerSecond == 3)
        // buckets are relative to the earliest successful start, not to 0
        let shifted = [a, b].map { outcome -> RequestOutcome in
            var outcome = outcome
            outcome.startTime += 100.5
            return outcome
        }
        #expect(compute(shifted).maxOutputTokensPerSecond == 6)
        // mixed run: events at 0.1 0.15 0.2 0.3 and 0.7 (bucket 0), 1.3 1.4 1.6 (bucket 1)
        #expect(compute(mixedRun).maxOutputTokensPerSecond == 5)
    }
}
