/// Which requests a statistic covers: a backend, a model, both or neither (nil: all).
public struct StatsFilter: Sendable, Hashable {
    public var backend: String?
    public var model: String?

    public init(backend: String? = nil, model: String? = nil) {
        self.backend = backend
        self.model = model
    }

    /// The four filters a request with this backend and model counts under.
    static func levels(backend: String?, model: String) -> [StatsFilter] {
        var levels = [StatsFilter(), StatsFilter(model: model)]
        if let backend {
            levels += [StatsFilter(backend: backend), StatsFilter(backend: backend, model: model)]
        }
        return levels
    }
}

public struct LiveStatsConfig: Sendable, Equatable {
    /// Width of a window slot: `?window=` is rounded up to whole slots.
    public var slotSeconds: Double = 10
    /// How far back `?window=` can reach; older slots are dropped.
    public var retentionSeconds: Double = 3600
    /// The SLOs goodput is counted against (none: no goodput).
    public var goodput: GoodputSLO?

    public init(slotSeconds: Double = 10, retentionSeconds: Double = 3600, goodput: GoodputSLO? = nil) {
        self.slotSeconds = slotSeconds
        self.retentionSeconds = retentionSeconds
        self.goodput = goodput
    }
}

/// Per-second figures over the retention period for one filter: content events per second (for
/// peak output throughput) and the most requests in flight in each second (peak concurrency).
struct SecondSeries: Sendable {
    private var seconds: [Int]
    private var events: [UInt32]
    private var inFlightPeak: [UInt32]
    /// Net change of the in-flight count within each second, so the level in force when a
    /// window starts can be worked back from the current one.
    private var inFlightChange: [Int32]
    private(set) var eventsPeakEver: UInt32 = 0
    private(set) var inFlightPeakEver: UInt32 = 0
    var inFlight = 0

    init(capacity: Int) {
        seconds = Array(repeating: Int.min, count: capacity)
        events = Array(repeating: 0, count: capacity)
        inFlightPeak = Array(repeating: 0, count: capacity)
        inFlightChange = Array(repeating: 0, count: capacity)
    }

    private mutating func slot(_ second: Int) -> Int {
        let index = ((second % seconds.count) + seconds.count) % seconds.count
        if seconds[index] != second {
            seconds[index] = second
            events[index] = 0
            inFlightPeak[index] = 0
            inFlightChange[index] = 0
        }
        return index
    }

    /// Content events in `second`, unless that second has already left the ring.
    mutating func addEvents(_ count: UInt32, second: Int, latest: Int) {
        guard second > latest - seconds.count else { return }
        let index = slot(second)
        events[index] &+= count
        eventsPeakEver = max(eventsPeakEver, events[index])
    }

    mutating func changeInFlight(by delta: Int, second: Int) {
        let before = inFlight
        inFlight = max(0, inFlight + delta)
        let index = slot(second)
        // The level before the change was in force during this second too.
        inFlightPeak[index] = max(inFlightPeak[index], UInt32(clamping: max(before, inFlight)))
        inFlightChange[index] &+= Int32(clamping: inFlight - before)
        inFlightPeakEver = max(inFlightPeakEver, inFlightPeak[index])
    }

    /// The fullest second and the highest concurrency among seconds in `range` (which must end
    /// now). Requests in flight since before the range count too: the level in force at its
    /// start is the current one less the changes within it.
    func peaks(in range: ClosedRange<Int>) -> (events: UInt32, inFlight: UInt32) {
        var peakEvents: UInt32 = 0
        var peakInFlight: UInt32 = 0
        var changes = 0
        for index in seconds.indices where range.contains(seconds[index]) {
            peakEvents = max(peakEvents, events[index])
            peakInFlight = max(peakInFlight, inFlightPeak[index])
            changes += Int(inFlightChange[index])
        }
        return (peakEvents, max(peakInFlight, UInt32(clamping: inFlight - changes)))
    }
}

/// The live benchmark statistics of everything that passed the proxy, with bounded memory.
///
/// Finished requests are added to a cumulative cell per (backend, model) and to the cell of the
/// slot their end falls in (slots of `slotSeconds`, kept for `retentionSeconds`). A query for a
/// window merges the slots that overlap it. Memory: one cell per (backend, model) per live slot
/// plus the cumulative ones, each six `LatencySketch`es (under 10 KiB each, usually well under
/// 1 KiB); and per filter two per-second series over the retention period (8 bytes a second).
public struct LiveStats: Sendable {
    public let config: LiveStatsConfig
    private var total: [StatsFilter: StatsCell] = [:]
    private var slots: [Int: [StatsFilter: StatsCell]] = [:]
    private var series: [StatsFilter: SecondSeries] = [:]
    private var latestSecond = Int.min

    public init(config: LiveStatsConfig = LiveStatsConfig()) {
        self.config = config
    }

    private var slotCount: Int { max(1, Int((config.retentionSeconds / config.slotSeconds).rounded(.up))) }

    private func slotNumber(_ time: Double) -> Int { Int((time / config.slotSeconds).rounded(.down)) }

    // MARK: - Events

    /// A request entered (its model known): it counts as in flight for its model and overall.
    public mutating func began(model: String, at time: Double) {
        for filter in [StatsFilter(), StatsFilter(model: model)] { changeInFlight(filter, by: 1, at: time) }
    }

    /// It was sent to a backend: in flight there too.
    public mutating func dispatched(backend: String, model: String, at time: Double) {
        for filter in [StatsFilter(backend: backend), StatsFilter(backend: backend, model: model)] {
            changeInFlight(filter, by: 1, at: time)
        }
    }

    /// It left that backend before its response began (a retry sends it to another one).
    public mutating func undispatched(backend: String, model: String, at time: Double) {
        for filter in [StatsFilter(backend: backend), StatsFilter(backend: backend, model: model)] {
            changeInFlight(filter, by: -1, at: time)
        }
    }

    /// It finished: every figure is added, and it leaves the in-flight counts `began` and
    /// `dispatched` put it in (`record.backend` is set exactly when `dispatched` was called).
    public mutating func finished(_ record: RequestRecord, gaps: some Collection<Double>) {
        let second = Int(record.end.rounded(.down))
        latestSecond = max(latestSecond, second)
        let key = StatsFilter(backend: record.backend, model: record.model)
        var itl = LatencySketch()
        if record.success { for gap in gaps { itl.record(gap) } }
        total[key, default: StatsCell()].add(record, itl: itl, slo: config.goodput)
        let slot = slotNumber(record.end)
        slots[slot, default: [:]][key, default: StatsCell()].add(record, itl: itl, slo: config.goodput)
        if slots.count > slotCount + 1 {
            let oldest = slot - slotCount
            slots = slots.filter { $0.key >= oldest }
        }
        // Content events per second, counted once in runs of equal seconds (events arrive in
        // order), then added to each filter's series.
        var perSecond: [(second: Int, events: UInt32)] = []
        if record.success, let ttft = record.ttft {
            var time = record.arrival + ttft
            perSecond.append((Int(time.rounded(.down)), 1))
            for gap in gaps {
                time += gap
                let second = Int(time.rounded(.down))
                if second == perSecond[perSecond.count - 1].second {
                    perSecond[perSecond.count - 1].events += 1
                } else {
                    perSecond.append((second, 1))
                }
            }
        }
        let latest = latestSecond
        for filter in StatsFilter.levels(backend: record.backend, model: record.model) {
            withSeries(filter) { series in
                series.changeInFlight(by: -1, second: second)
                for (eventSecond, events) in perSecond {
                    series.addEvents(events, second: eventSecond, latest: latest)
                }
            }
        }
    }

    private mutating func changeInFlight(_ filter: StatsFilter, by delta: Int, at time: Double) {
        let second = Int(time.rounded(.down))
        latestSecond = max(latestSecond, second)
        withSeries(filter) { $0.changeInFlight(by: delta, second: second) }
    }

    private mutating func withSeries(_ filter: StatsFilter, _ body: (inout SecondSeries) -> Void) {
        let capacity = max(1, Int(config.retentionSeconds.rounded(.up)))
        body(&series[filter, default: SecondSeries(capacity: capacity)])
    }

    // MARK: - Queries

    /// The merged cell of the requests `filter` selects that ended within the last `window`
    /// seconds before `now` (rounded up to whole slots), or since start when `window` is nil.
    public func cell(filter: StatsFilter, window: Double?, now: Double) -> StatsCell {
        var merged = StatsCell()
        func take(_ cells: [StatsFilter: StatsCell]) {
            for (key, cell) in cells
            where (filter.backend == nil || key.backend == filter.backend)
                && (filter.model == nil || key.model == filter.model)
            {
                merged.merge(cell)
            }
        }
        if let window {
            let first = slotNumber(now - min(window, config.retentionSeconds))
            for (number, cells) in slots where number >= first { take(cells) }
        } else {
            take(total)
        }
        return merged
    }

    /// Peak content events in one second and peak requests in flight, for `filter`.
    public func peaks(filter: StatsFilter, window: Double?, now: Double) -> (eventsPerSecond: Int, inFlight: Int) {
        guard let series = series[filter] else { return (0, 0) }
        guard let window else { return (Int(series.eventsPeakEver), Int(series.inFlightPeakEver)) }
        let last = Int(now.rounded(.down))
        let first = Int((now - min(window, config.retentionSeconds)).rounded(.down))
        let peaks = series.peaks(in: first...max(first, last))
        return (Int(peaks.events), Int(peaks.inFlight))
    }

    /// Requests in flight now under `filter`.
    public func inFlight(filter: StatsFilter) -> Int { series[filter]?.inFlight ?? 0 }

    /// The backends and models seen, for listing.
    public var keys: [(backend: String?, model: String)] {
        total.keys.map { ($0.backend, $0.model ?? "") }
    }
}
