import Testing

@testable import SwitchyardCore

/// A successful one-second request (arrival `end - 1`, content at `end - 0.75` and `end - 0.5`) ending at `end`.
private func ending(
    at end: Double, model: String = "m", backend: String? = "b1", prompt: Int = 10, completion: Int = 2
) -> LiveRequest {
    liveRequest(
        model: model, backend: backend, arrival: end - 1, ttft: 0.25, gaps: [0.25], prompt: prompt,
        completion: completion, tail: 0.5)
}

@Suite("LiveStats: cumulative and windowed cells, filters, peaks, in flight")
struct LiveStatsTests {
    @Test("the helper ends requests where asked")
    func helper() {
        let request = ending(at: 945)
        #expect(request.record.end == 945)
        #expect(request.record.arrival == 944)
        #expect(request.record.success)
    }

    @Test("a window takes the 10 s slots overlapping it; nil takes everything since start")
    func windows() {
        var stats = LiveStats()
        for end in [935.0, 939.5, 945, 955, 995, 1000] { stats.finish(ending(at: end)) }
        let all = StatsFilter()
        #expect(stats.cell(filter: all, window: nil, now: 1000).completed == 6)
        // [940, 1000]: slots 94 … 100; 935 and 939.5 are in slot 93.
        #expect(stats.cell(filter: all, window: 60, now: 1000).completed == 4)
        // [990, 1000]: slots 99 and 100.
        #expect(stats.cell(filter: all, window: 10, now: 1000).completed == 2)
        // Rounded up to whole slots: a 1 s window still covers slot 99 = [990, 1000).
        #expect(stats.cell(filter: all, window: 1, now: 1000).completed == 2)
        // Rounded to whole slots: at 1005 a 60 s window starts at 945, in slot 94 = [940, 950).
        var rounded = LiveStats()
        for end in [939.5, 940.5] { rounded.finish(ending(at: end)) }
        #expect(rounded.cell(filter: all, window: 60, now: 1005).completed == 1)
        #expect(rounded.cell(filter: all, window: 70, now: 1005).completed == 2)
        #expect(rounded.cell(filter: all, window: 50, now: 1005).completed == 0)
    }

    @Test("a windowed cell has the same figures as a cell of just those requests")
    func windowCellContents() {
        var stats = LiveStats()
        let old = liveRequest(arrival: 10, ttft: 5, gaps: [1, 1], prompt: 100, completion: 3)
        let recent = [
            liveRequest(arrival: 95, ttft: 0.5, gaps: [0.25, 0.25, 0.5], prompt: 7, completion: 4),
            liveRequest(arrival: 96, ttft: 0.25, gaps: [0.125], prompt: 9, completion: 2),
        ]
        stats.finish(old)
        for request in recent { stats.finish(request) }
        var expected = StatsCell()
        for request in recent { expected.add(request.record, gaps: request.gaps, slo: nil) }
        let cell = stats.cell(filter: StatsFilter(), window: 30, now: 100)
        #expect(cell == expected)
        #expect(cell.totalInput == 16)
        #expect(cell.totalOutput == 6)
        #expect(cell.itl.count == 4)
        #expect(cell.firstArrival == 95)
        // The cumulative cell has all three.
        let total = stats.cell(filter: StatsFilter(), window: nil, now: 100)
        #expect(total.completed == 3)
        #expect(total.totalInput == 116)
        #expect(total.firstArrival == 10)
        #expect(total.ttft.maximum == 5)
    }

    @Test("retention: slots older than the retention period are dropped")
    func retentionDense() {
        var stats = LiveStats(config: LiveStatsConfig(slotSeconds: 10, retentionSeconds: 100))
        for slot in 0...12 { stats.finish(ending(at: Double(slot) * 10 + 5)) }
        let all = StatsFilter()
        #expect(stats.cell(filter: all, window: nil, now: 130).completed == 13)
        // A window longer than the retention reaches back only about 100 s (10 or 11 slots).
        let reach = stats.cell(filter: all, window: 10_000, now: 130)
        #expect((10...11).contains(reach.completed))
        #expect(reach.firstArrival >= 130 - 100 - 10 - 1)
        #expect(stats.cell(filter: all, window: 100, now: 130).completed == 10)
    }

    @Test("retention holds with sparse traffic too: a window cannot reach beyond it")
    func retentionSparse() {
        var stats = LiveStats(config: LiveStatsConfig(slotSeconds: 10, retentionSeconds: 100))
        stats.finish(ending(at: 5))
        stats.finish(ending(at: 500))
        #expect(stats.cell(filter: StatsFilter(), window: nil, now: 500).completed == 2)
        // The request that ended at 5 s is 495 s old, far beyond the 100 s retention.
        #expect(stats.cell(filter: StatsFilter(), window: 10_000, now: 500).completed == 1)
    }

    @Test("filters: by backend, by model, by both; refusals count under their model only")
    func filters() {
        var stats = LiveStats()
        let requests = [
            ending(at: 10, model: "mA", backend: "b1", prompt: 1, completion: 10),
            ending(at: 11, model: "mB", backend: "b1", prompt: 2, completion: 20),
            ending(at: 12, model: "mA", backend: "b2", prompt: 4, completion: 40),
            liveFailure(model: "mA", backend: nil, arrival: 12, end: 12.5, status: 429, reason: "queue_full"),
            liveFailure(model: "mB", backend: "b2", arrival: 13, end: 14, status: 502, reason: "upstream_error"),
        ]
        for request in requests { stats.replay(request) }
        func cell(_ backend: String?, _ model: String?) -> StatsCell {
            stats.cell(filter: StatsFilter(backend: backend, model: model), window: nil, now: 20)
        }
        let cases: [(String?, String?, Int, Int, Int, Int)] = [
            // backend, model, completed, failed, input, output
            (nil, nil, 3, 2, 7, 70),
            ("b1", nil, 2, 0, 3, 30),
            ("b2", nil, 1, 1, 4, 40),
            (nil, "mA", 2, 1, 5, 50),
            (nil, "mB", 1, 1, 2, 20),
            ("b1", "mA", 1, 0, 1, 10),
            ("b2", "mB", 0, 1, 0, 0),
            ("b1", "mC", 0, 0, 0, 0),
            ("b3", nil, 0, 0, 0, 0),
        ]
        for (backend, model, completed, failed, input, output) in cases {
            let selected = cell(backend, model)
            let label = "\(backend ?? "*")/\(model ?? "*")"
            #expect(selected.completed == completed, "\(label)")
            #expect(selected.failed == failed, "\(label)")
            #expect(selected.totalInput == input, "\(label)")
            #expect(selected.totalOutput == output, "\(label)")
        }
        #expect(cell(nil, nil).reasons == ["queue_full": 1, "upstream_error": 1])
        #expect(cell(nil, "mA").reasons == ["queue_full": 1])
        #expect(cell("b2", nil).reasons == ["upstream_error": 1])
        #expect(cell("b1", nil).reasons.isEmpty)
        #expect(cell("b1", "mC").duration == 0)
        // Windowed cells honour the filters too.
        #expect(stats.cell(filter: StatsFilter(backend: "b1"), window: 10, now: 20).completed == 2)
        #expect(stats.cell(filter: StatsFilter(model: "mA"), window: 10, now: 20).failed == 1)
        let keys = Set(stats.keys.map { "\($0.backend ?? "-")/\($0.model)" })
        #expect(keys == ["b1/mA", "b1/mB", "b2/mA", "-/mA", "b2/mB"])
    }

    @Test("failures: counted as failed with their reasons, no latencies or tokens")
    func failures() {
        var stats = LiveStats()
        stats.replay(liveFailure(arrival: 1, end: 1.5, status: 429, reason: "queue_full"))
        stats.replay(liveFailure(arrival: 2, end: 2.5, status: 429, reason: "queue_full"))
        stats.replay(liveFailure(arrival: 3, end: 3.5, status: 400, reason: "context_length_exceeded"))
        stats.replay(liveFailure(backend: "b1", arrival: 4, end: 5, status: nil, reason: nil, clientDisconnected: true))
        stats.replay(ending(at: 6))
        let cell = stats.cell(filter: StatsFilter(), window: nil, now: 10)
        #expect(cell.completed == 1)
        #expect(cell.failed == 4)
        #expect(cell.reasons == ["queue_full": 2, "context_length_exceeded": 1])
        #expect(cell.ttft.count == 1)
        #expect(cell.e2el.count == 1)
        #expect(cell.totalInput == 10)
        // The disconnected request was dispatched: its queue time counts; refusals never queued.
        #expect(cell.queueTime.count == 2)
        #expect(cell.firstArrival == 1)
        #expect(cell.lastEnd == 6)
        #expect(cell.duration == 5)
    }

    @Test("goodput: a request is good when it meets every SLO (limits inclusive)")
    func goodput() {
        let slo = GoodputSLO(ttftMs: 500, tpotMs: 100)
        var stats = LiveStats(config: LiveStatsConfig(goodput: slo))
        var plain = LiveStats()
        let requests = [
            liveRequest(arrival: 0, ttft: 0.25, gaps: [0.0625, 0.0625, 0.0625], completion: 4),  // good
            liveRequest(arrival: 1, ttft: 0.5, completion: 1),  // good: TTFT at the limit, no TPOT
            liveRequest(arrival: 2, ttft: 0.75, completion: 1),  // TTFT too long
            liveRequest(arrival: 3, ttft: 0.25, gaps: [0.25, 0.25], completion: 3),  // TPOT 250 ms
            liveFailure(arrival: 4, end: 4.5, status: 429, reason: "queue_full"),
        ]
        for request in requests {
            stats.replay(request)
            plain.replay(request)
        }
        let cell = stats.cell(filter: StatsFilter(), window: nil, now: 10)
        #expect(cell.good == 2)
        #expect(plain.cell(filter: StatsFilter(), window: nil, now: 10).good == 0)
        let metrics = StatsReport.metrics(cell, peaks: (0, 0), percentiles: [99], hasGoodput: true)
        #expect(metrics.requestGoodput == 2 / cell.duration)
        let none = StatsReport.metrics(cell, peaks: (0, 0), percentiles: [99], hasGoodput: false)
        #expect(none.requestGoodput == nil)
    }

    @Test("peak content events per second, as vLLM's max_output_tokens_per_s")
    func eventPeaks() {
        var stats = LiveStats()
        // A: events at 100.25 … 101.25 every 0.125 s (6 in second 100, 3 in 101).
        let a = liveRequest(arrival: 100, ttft: 0.25, gaps: Array(repeating: 0.125, count: 8), completion: 9)
        // B: events at 100.75, 100.875, 101.0.
        let b = liveRequest(model: "other", arrival: 100.5, ttft: 0.25, gaps: [0.125, 0.125], completion: 3)
        let failed = liveFailure(arrival: 100.5, end: 100.75, status: 429, reason: "queue_full")
        for request in [a, b, failed] { stats.replay(request) }
        #expect(stats.peaks(filter: StatsFilter(), window: nil, now: 102).eventsPerSecond == 8)
        #expect(stats.peaks(filter: StatsFilter(model: "m"), window: nil, now: 102).eventsPerSecond == 6)
        #expect(stats.peaks(filter: StatsFilter(model: "other"), window: nil, now: 102).eventsPerSecond == 2)
        #expect(stats.peaks(filter: StatsFilter(backend: "b1"), window: nil, now: 102).eventsPerSecond == 8)
        #expect(stats.peaks(filter: StatsFilter(backend: "b2"), window: nil, now: 102).eventsPerSecond == 0)
        // A window covering only second 101.
        #expect(stats.peaks(filter: StatsFilter(), window: 0.5, now: 101.5).eventsPerSecond == 4)

        // The same as vLLM's figure over the same requests (first start at a whole second).
        let outcomes = [a, b].map { request in
            RequestOutcome(
                success: true, startTime: request.record.arrival, ttft: request.record.ttft!, itl: request.gaps,
                latency: request.record.e2el!, promptTokens: 10, outputTokens: request.record.completionTokens,
                contentEvents: request.record.contentEvents)
        }
        #expect(BenchmarkMetrics.peakOutputTokensPerSecond(outcomes) == 8)
    }

    @Test("requests in flight: overall and per model from began, per backend from dispatched")
    func inFlight() {
        var stats = LiveStats()
        let a = liveRequest(arrival: 100, queue: 0.125, ttft: 0.5, gaps: [0.5, 0.5], completion: 3)
        let b = liveRequest(arrival: 100.25, queue: 0.0625, ttft: 0.5, gaps: [0.5, 0.5, 0.5], completion: 4)
        let c = liveFailure(model: "other", arrival: 100.375, end: 100.4375, status: 429, reason: "queue_full")
        let all = StatsFilter()
        let b1 = StatsFilter(backend: "b1")

        stats.began(model: "m", at: 100)
        #expect(stats.inFlight(filter: all) == 1)
        #expect(stats.inFlight(filter: b1) == 0)
        stats.dispatched(backend: "b1", model: "m", at: 100.125)
        stats.began(model: "m", at: 100.25)
        stats.dispatched(backend: "b1", model: "m", at: 100.3125)
        stats.began(model: "other", at: 100.375)
        #expect(stats.inFlight(filter: all) == 3)
        #expect(stats.inFlight(filter: StatsFilter(model: "m")) == 2)
        #expect(stats.inFlight(filter: StatsFilter(model: "other")) == 1)
        #expect(stats.inFlight(filter: b1) == 2)
        #expect(stats.inFlight(filter: StatsFilter(backend: "b1", model: "m")) == 2)
        stats.finished(c.record, gaps: c.gaps)
        #expect(stats.inFlight(filter: all) == 2)
        #expect(stats.inFlight(filter: StatsFilter(model: "other")) == 0)
        stats.finished(a.record, gaps: a.gaps)
        #expect(stats.inFlight(filter: all) == 1)
        #expect(stats.inFlight(filter: b1) == 1)
        stats.finished(b.record, gaps: b.gaps)
        for filter in [
            all, b1, StatsFilter(model: "m"), StatsFilter(model: "other"), StatsFilter(backend: "b1", model: "m"),
        ] {
            #expect(stats.inFlight(filter: filter) == 0, "\(filter)")
        }
        #expect(stats.peaks(filter: all, window: nil, now: 103).inFlight == 3)
        #expect(stats.peaks(filter: b1, window: nil, now: 103).inFlight == 2)
        #expect(stats.peaks(filter: StatsFilter(model: "other"), window: nil, now: 103).inFlight == 1)
        #expect(stats.peaks(filter: StatsFilter(backend: "b2"), window: nil, now: 103).inFlight == 0)
        // Second 100 held the peak; a window over seconds 101 … 102 does not.
        #expect((1...2).contains(stats.peaks(filter: all, window: 1, now: 102.5).inFlight))
        #expect(stats.peaks(filter: all, window: 3, now: 102.5).inFlight == 3)
    }

    @Test("a request retried from one backend to another is in flight on the second only")
    func retriedRequestMovesBackends() {
        var stats = LiveStats(config: LiveStatsConfig(slotSeconds: 10, retentionSeconds: 3600))
        let request = ending(at: 101, backend: "b2")
        stats.began(model: "m", at: 100)
        stats.dispatched(backend: "b1", model: "m", at: 100)
        stats.undispatched(backend: "b1", model: "m", at: 100.1)
        stats.dispatched(backend: "b2", model: "m", at: 100.1)
        #expect(stats.inFlight(filter: StatsFilter(backend: "b1")) == 0)
        #expect(stats.inFlight(filter: StatsFilter(backend: "b2")) == 1)
        stats.finished(request.record, gaps: request.gaps)
        for filter in [StatsFilter(), StatsFilter(backend: "b1"), StatsFilter(backend: "b2", model: "m")] {
            #expect(stats.inFlight(filter: filter) == 0, "\(filter)")
        }
    }

    @Test("in flight through a whole window: long requests count in the window's peak")
    func inFlightAcrossWindow() {
        var stats = LiveStats()
        for index in 0..<3 {
            let start = Double(index) * 0.0625
            stats.began(model: "m", at: start)
            stats.dispatched(backend: "b1", model: "m", at: start)
        }
        #expect(stats.inFlight(filter: StatsFilter()) == 3)
        // Nothing changes between 1 s and 100 s, yet three requests are in flight all along.
        #expect(stats.peaks(filter: StatsFilter(), window: 60, now: 90).inFlight == 3)
        #expect(stats.peaks(filter: StatsFilter(backend: "b1"), window: 60, now: 90).inFlight == 3)
    }

    @Test("a slot or retention change does not lose the cumulative figures")
    func cumulativeSurvivesPruning() {
        var stats = LiveStats(config: LiveStatsConfig(slotSeconds: 1, retentionSeconds: 5))
        for second in 0..<50 { stats.replay(ending(at: Double(second) + 0.5)) }
        #expect(stats.cell(filter: StatsFilter(), window: nil, now: 50).completed == 50)
        #expect(stats.cell(filter: StatsFilter(backend: "b1"), window: nil, now: 50).completed == 50)
        #expect(stats.cell(filter: StatsFilter(), window: 5, now: 49.75).completed == 6)
        #expect(stats.inFlight(filter: StatsFilter()) == 0)
    }
}
