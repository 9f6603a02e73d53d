import Foundation
import Testing

@testable import SwitchyardCore

/// One synthetic request seen both ways: as `vllm bench serve` records it (`RequestOutcome`) and
/// as the proxy does (`RequestTimeline` → `RequestRecord`), from the same event times.
private struct Exchange {
    var outcome: RequestOutcome
    var live: LiveRequest
}

private func logUniform(_ random: inout SeededRandom, _ low: Double, _ high: Double) -> Double {
    exp(log(low) + random.nextUnit() * (log(high) - log(low)))
}

private func int(_ random: inout SeededRandom, _ range: ClosedRange<Int>) -> Int {
    range.lowerBound + Int(random.next() % UInt64(range.count))
}

/// `count` requests over 30 s: normal streams, streams without usage, reasoning/tool-call bursts
/// (few events, many tokens), upstream failures and 200 streams without any content.
private func exchanges(_ count: Int, seed: UInt64) -> [Exchange] {
    var random = SeededRandom(seed: seed)
    var result: [Exchange] = []
    for index in 0..<count {
        // The first request starts at a whole second, so vLLM's 1 s buckets (counted from the
        // earliest start) and the proxy's (whole seconds of its clock) coincide.
        let start = index == 0 ? 0 : random.nextUnit() * 30
        let prompt = int(&random, 10...2000)
        let kind = random.nextUnit()
        if kind < 0.05 {
            // HTTP 500 from the backend.
            let end = start + logUniform(&random, 0.01, 0.5)
            result.append(
                Exchange(
                    outcome: RequestOutcome(success: false, startTime: start, error: "HTTP 500"),
                    live: liveFailure(
                        backend: "b1", arrival: start, end: end, status: 500, reason: "upstream_error")))
            continue
        }
        var timeline = RequestTimeline(arrival: start)
        timeline.admitted = start
        timeline.dispatched = start
        var gaps: [Double] = []
        var contentEvent = ObservedEvent()
        contentEvent.hasChoices = true
        var usage = ObservedEvent()
        usage.hasUsage = true
        usage.promptTokens = prompt
        let ok = RequestEnding(status: 200, completed: true)
        if kind < 0.08 {
            // A 200 stream that carried no content event: a failure for vLLM.
            usage.completionTokens = 0
            let at = start + logUniform(&random, 0.05, 1)
            timeline.observe(usage, at: at, gaps: &gaps)
            let record = RequestRecord(
                timeline: timeline, model: "m", backend: "b1", streamed: true, ending: ok, end: at + 0.001)
            result.append(
                Exchange(
                    outcome: RequestOutcome(success: false, startTime: start, error: "no content"),
                    live: LiveRequest(record: record, gaps: gaps, dispatchedAt: start)))
            continue
        }
        let withUsage = kind >= 0.15
        let burst = kind >= 0.15 && kind < 0.22
        let tokens = burst ? int(&random, 100...300) : int(&random, 1...200)
        let events = burst ? int(&random, 1...3) : tokens
        let ttft = logUniform(&random, 0.02, 2)
        // Absolute event times, from which both sides derive their figures.
        var times = [start + ttft]
        for _ in 1..<max(events, 1) {
            let gap = random.nextUnit() < 0.05 ? 0 : logUniform(&random, 0.005, burst ? 3 : 0.08)
            times.append(times[times.count - 1] + gap)
        }
        for time in times { timeline.observe(contentEvent, at: time, gaps: &gaps) }
        let last = times[times.count - 1]
        if withUsage {
            usage.completionTokens = tokens
            timeline.observe(usage, at: last + 0.002, gaps: &gaps)
        }
        let record = RequestRecord(
            timeline: timeline, model: "m", backend: "b1", streamed: true, ending: ok, end: last + 0.003,
            estimatedPromptTokens: prompt)
        // vLLM's client: ttft, then each gap since the previous content event, latency to the last.
        var itl: [Double] = []
        for k in 1..<times.count { itl.append(times[k] - times[k - 1]) }
        let outcome = RequestOutcome(
            success: true, startTime: start, ttft: times[0] - start, itl: itl, latency: last - start,
            promptTokens: prompt, outputTokens: withUsage ? tokens : nil, contentEvents: times.count)
        result.append(Exchange(outcome: outcome, live: LiveRequest(record: record, gaps: gaps, dispatchedAt: start)))
    }
    return result
}

@Suite("Live statistics vs vLLM's exact calculate_metrics on the same requests")
struct TelemetryFidelityTests {
    @Test("counts, tokens and throughputs equal; latency statistics within 0.5 %", arguments: [1 as UInt64, 2, 3])
    func fidelity(seed: UInt64) {
        let all = exchanges(400, seed: seed)
        let slo = GoodputSLO(ttftMs: 500, tpotMs: 40)
        var stats = LiveStats(config: LiveStatsConfig(goodput: slo))
        // The proxy's events in time order: began and dispatched at arrival, finished at the end.
        var timeline: [(time: Double, order: Int, index: Int)] = []
        for (index, exchange) in all.enumerated() {
            timeline.append((exchange.live.record.arrival, 1, index))
            timeline.append((exchange.live.record.end, 0, index))
        }
        timeline.sort { ($0.time, $0.order) < ($1.time, $1.order) }
        for (_, order, index) in timeline {
            let live = all[index].live
            if order == 1 {
                stats.began(model: live.record.model, at: live.record.arrival)
                if let backend = live.record.backend, let at = live.dispatchedAt {
                    stats.dispatched(backend: backend, model: live.record.model, at: at)
                }
            } else {
                stats.finished(live.record, gaps: live.gaps)
            }
        }
        let percentiles: [Double] = [50, 90, 99]
        let now = all.map(\.live.record.end).max()! + 1
        let cell = stats.cell(filter: StatsFilter(), window: nil, now: now)
        let live = StatsReport.metrics(
            cell, peaks: stats.peaks(filter: StatsFilter(), window: nil, now: now), percentiles: percentiles,
            hasGoodput: true)
        let exact = BenchmarkMetrics.compute(
            outcomes: all.map(\.outcome), duration: cell.duration, percentiles: percentiles, goodput: slo)

        // The run actually exercised every kind of request.
        #expect(exact.failed > 0)
        #expect(exact.outputTokensEstimatedRequests > 0)
        #expect(exact.completed > 300)

        #expect(live.completed == exact.completed)
        #expect(live.failed == exact.failed)
        #expect(live.totalInput == exact.totalInput)
        #expect(live.totalOutput == exact.totalOutput)
        #expect(live.outputTokensEstimatedRequests == exact.outputTokensEstimatedRequests)
        #expect(live.requestThroughput == exact.requestThroughput)
        #expect(live.outputThroughput == exact.outputThroughput)
        #expect(live.totalTokenThroughput == exact.totalTokenThroughput)
        #expect(live.requestGoodput == exact.requestGoodput)
        #expect(live.maxOutputTokensPerSecond == exact.maxOutputTokensPerSecond)
        // The proxy counts every request from arrival to end, vLLM successful ones to their last
        // content event: the proxy's peak can only be higher.
        #expect(live.maxConcurrentRequests >= exact.maxConcurrentRequests)
        #expect(exact.maxConcurrentRequests > 1)
        #expect(stats.inFlight(filter: StatsFilter()) == 0)

        for metric in ["ttft", "tpot", "itl", "e2el"] {
            guard let a = live.summary(named: metric), let b = exact.summary(named: metric) else {
                Issue.record("no \(metric)")
                continue
            }
            func within(_ x: Double, _ y: Double, _ relative: Double) -> Bool {
                abs(x - y) <= relative * abs(y) + 1e-9
            }
            #expect(within(a.mean, b.mean, 1e-9), "\(metric) mean \(a.mean) vs \(b.mean)")
            #expect(within(a.median, b.median, 0.005), "\(metric) median \(a.median) vs \(b.median)")
            #expect(within(a.std, b.std, 1e-6), "\(metric) std \(a.std) vs \(b.std)")
            #expect(a.percentiles.map(\.percentile) == percentiles)
            for (x, y) in zip(a.percentiles, b.percentiles) {
                #expect(
                    within(x.value, y.value, LatencySketch.relativeError + 1e-9),
                    "\(metric) p\(x.percentile) \(x.value) vs \(y.value)")
            }
        }

        // A window reaching back past the first request selects the same requests.
        let windowed = stats.cell(filter: StatsFilter(), window: now + 10, now: now)
        #expect(windowed.completed == cell.completed)
        #expect(windowed.failed == cell.failed)
        #expect(windowed.itl.count == cell.itl.count)
        #expect(windowed.ttft.percentile(99) == cell.ttft.percentile(99))
    }
}
