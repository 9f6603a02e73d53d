/// The mergeable aggregate of some finished inference requests: counts, token sums and one
/// `LatencySketch` per latency metric. `LiveStats` keeps one per (backend, model) since start and
/// one per (backend, model) in each time slot; a query merges the ones it selects.
public struct StatsCell: Sendable, Equatable {
    public var completed = 0
    public var failed = 0
    public var totalInput = 0
    public var totalOutput = 0
    /// Completed requests whose output length was counted from events (no usage).
    public var estimatedOutputRequests = 0
    /// Completed requests meeting every configured SLO.
    public var good = 0
    public var ttft = LatencySketch()
    public var ttftFromDispatch = LatencySketch()
    public var tpot = LatencySketch()
    public var itl = LatencySketch()
    public var e2el = LatencySketch()
    public var queueTime = LatencySketch()
    /// Earliest arrival and latest end of the requests recorded.
    public var firstArrival = Double.infinity
    public var lastEnd = -Double.infinity
    /// Refusals and failures Switchyard named, by reason.
    public var reasons: [String: Int] = [:]

    public init() {}

    /// Adds one request; `gaps` are its inter-token gaps.
    public mutating func add(_ record: RequestRecord, gaps: some Collection<Double>, slo: GoodputSLO?) {
        var itl = LatencySketch()
        for gap in gaps { itl.record(gap) }
        add(record, itl: itl, slo: slo)
    }

    /// Adds one request whose inter-token gaps are already in a sketch (made once for the
    /// several cells a request is added to).
    public mutating func add(_ record: RequestRecord, itl: LatencySketch, slo: GoodputSLO?) {
        firstArrival = min(firstArrival, record.arrival)
        lastEnd = max(lastEnd, record.end)
        if let reason = record.ending.reason { reasons[reason, default: 0] += 1 }
        if let queue = record.queueTime { queueTime.record(queue) }
        guard record.success else {
            failed += 1
            return
        }
        completed += 1
        totalInput += record.promptTokens ?? 0
        totalOutput += record.completionTokens ?? 0
        if record.completionEstimated { estimatedOutputRequests += 1 }
        if let ttft = record.ttft { self.ttft.record(ttft) }
        if let ttft = record.ttftFromDispatch { ttftFromDispatch.record(ttft) }
        if let tpot = record.tpot { self.tpot.record(tpot) }
        if let e2el = record.e2el { self.e2el.record(e2el) }
        self.itl.merge(itl)
        if let slo, BenchmarkMetrics.meets(slo, ttft: record.ttft ?? 0, tpot: record.tpot ?? 0, e2el: record.e2el ?? 0)
        {
            good += 1
        }
    }

    public mutating func merge(_ other: StatsCell) {
        completed += other.completed
        failed += other.failed
        totalInput += other.totalInput
        totalOutput += other.totalOutput
        estimatedOutputRequests += other.estimatedOutputRequests
        good += other.good
        ttft.merge(other.ttft)
        ttftFromDispatch.merge(other.ttftFromDispatch)
        tpot.merge(other.tpot)
        itl.merge(other.itl)
        e2el.merge(other.e2el)
        queueTime.merge(other.queueTime)
        firstArrival = min(firstArrival, other.firstArrival)
        lastEnd = max(lastEnd, other.lastEnd)
        reasons.merge(other.reasons, uniquingKeysWith: +)
    }

    /// From the first arrival to the last end (vLLM's first dispatch to last completion); 0 when empty.
    public var duration: Double { lastEnd > firstArrival ? lastEnd - firstArrival : 0 }
}

extension LatencySummary {
    /// A sketch's summary in milliseconds, as vLLM reports its exact lists.
    public init(sketch: LatencySketch, percentiles: [Double]) {
        self.init(
            mean: sketch.mean * 1000, median: sketch.median * 1000, std: sketch.standardDeviation * 1000,
            percentiles: percentiles.map { PercentileValue(percentile: $0, value: sketch.percentile($0) * 1000) })
    }
}
