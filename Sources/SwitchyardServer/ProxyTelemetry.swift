import Logging
import NIOConcurrencyHelpers
import Prometheus
import SwitchyardCore

/// Where finished requests go: the live statistics behind `/stats`, the Prometheus registry
/// behind `/metrics`, and the access log. Called once per request phase (never per chunk).
final class ProxyTelemetry: Sendable {
    let config: TelemetryConfig
    let registry = PrometheusCollectorRegistry()
    private let stats: NIOLockedValueBox<LiveStats>
    /// Opened by `openAccessLog()` when the server starts (a bad path fails the start).
    private let accessLog = NIOLockedValueBox<AccessLogWriter?>(nil)
    /// Histograms and counters per (backend, model), made once.
    private let series = NIOLockedValueBox<[SeriesKey: Series]>([:])

    private struct SeriesKey: Hashable {
        var backend: String
        var model: String
    }

    private struct Series {
        var ttft, ttftFromDispatch, itl, tpot, e2el, queueTime, promptTokens, generationTokens: ValueHistogram
        var promptTotal, generationTotal, estimatedTotal: Counter
    }

    init(config: SwitchyardConfig) {
        self.config = config.telemetry
        let telemetry = config.telemetry
        self.stats = NIOLockedValueBox(
            LiveStats(
                config: LiveStatsConfig(
                    slotSeconds: telemetry.statsSlot.inSeconds, retentionSeconds: telemetry.statsRetention.inSeconds,
                    goodput: telemetry.goodput)))
        // Gauges every backend has from the start, so dashboards show them before traffic.
        for backend in config.backends {
            for metric in [MetricCatalog.inFlightRequests, MetricCatalog.inFlightTokens, MetricCatalog.maxConcurrent] {
                _ = gauge(metric, [("backend", backend.name)])
            }
        }
    }

    var enabled: Bool { config.enabled }

    // MARK: - Request phases

    func began(model: String, at time: Double) {
        stats.withLockedValue { $0.began(model: model, at: time) }
    }

    /// Sent to `backend`; `previous` is the backend it was retried away from, if any.
    func dispatched(backend: String, previous: String?, model: String, at time: Double) {
        stats.withLockedValue { stats in
            if let previous { stats.undispatched(backend: previous, model: model, at: time) }
            stats.dispatched(backend: backend, model: model, at: time)
        }
    }

    /// An inference request ended: statistics and Prometheus.
    func finished(_ record: RequestRecord, gaps: [Double]) {
        stats.withLockedValue { $0.finished(record, gaps: gaps) }
        let backend = record.backend ?? "none"
        let code = record.ending.clientDisconnected ? "499" : "\(record.ending.status ?? 0)"
        counter(MetricCatalog.requests, [("backend", backend), ("model", record.model), ("code", code)]).increment()
        if record.ending.clientDisconnected {
            counter(MetricCatalog.clientDisconnects, [("backend", backend)]).increment()
        }
        guard record.backend != nil else { return }
        let series = series(backend: backend, model: record.model)
        if let queue = record.queueTime { series.queueTime.record(queue) }
        guard record.success else { return }
        if let ttft = record.ttft { series.ttft.record(ttft) }
        if let ttft = record.ttftFromDispatch { series.ttftFromDispatch.record(ttft) }
        if let tpot = record.tpot { series.tpot.record(tpot) }
        if let e2el = record.e2el { series.e2el.record(e2el) }
        for gap in gaps { series.itl.record(gap) }
        if let prompt = record.promptTokens {
            series.promptTokens.record(Double(prompt))
            series.promptTotal.increment(by: Int64(prompt))
        }
        if let completion = record.completionTokens {
            series.generationTokens.record(Double(completion))
            series.generationTotal.increment(by: Int64(completion))
            if record.completionEstimated { series.estimatedTotal.increment(by: Int64(completion)) }
        }
    }

    /// Switchyard answered instead of a backend (a refusal or a failure it names).
    func rejected(reason: String) {
        counter(MetricCatalog.rejections, [("reason", reason)]).increment()
    }

    func upstreamError(backend: String, kind: String) {
        counter(MetricCatalog.upstreamErrors, [("backend", backend), ("kind", kind)]).increment()
    }

    func openAccessLog() throws {
        guard config.enabled else { return }
        let writer = try AccessLogWriter.make(config.accessLog)
        accessLog.withLockedValue { $0 = writer }
    }

    var logsAccess: Bool { accessLog.withLockedValue { $0 != nil } }

    /// A request left `backend` for another before the client saw a byte.
    func retried(backend: String) {
        counter(MetricCatalog.retries, [("backend", backend)]).increment()
    }

    func log(_ entry: AccessLogEntry) {
        accessLog.withLockedValue { $0 }?.write(entry.json)
    }

    func flushAccessLog() { accessLog.withLockedValue { $0 }?.flush() }

    // MARK: - Endpoints

    /// `/metrics`: gauges refreshed from the scheduler, then the whole registry.
    func exposition(_ scheduler: Scheduler) -> [UInt8] {
        for backend in scheduler.table.backends {
            let label = [("backend", backend.name)]
            if backend.removed && backend.inFlight == 0 && scheduler.table.index(named: backend.name) == nil {
                // A removed backend's state gauges go (its counters and histograms stay: they
                // are its history). Re-adding the name brings them back.
                for metric in [
                    MetricCatalog.inFlightRequests, MetricCatalog.inFlightTokens, MetricCatalog.maxConcurrent,
                    MetricCatalog.healthy, MetricCatalog.inRotation, MetricCatalog.backendWaiting,
                    MetricCatalog.backendRunning, MetricCatalog.backendKVCache,
                ] {
                    registry.unregisterGauge(gauge(metric, label))
                }
                continue
            }
            gauge(MetricCatalog.inFlightRequests, label).set(to: Double(backend.load.inFlight))
            gauge(MetricCatalog.inFlightTokens, label).set(to: Double(backend.load.reservedTokens))
            gauge(MetricCatalog.maxConcurrent, label).set(to: Double(backend.maxConcurrent))
            gauge(MetricCatalog.healthy, label).set(to: backend.healthy ? 1 : 0)
            gauge(MetricCatalog.inRotation, label).set(to: backend.inRotation ? 1 : 0)
            if let scrape = backend.load.scrape {
                gauge(MetricCatalog.backendWaiting, label).set(to: Double(scrape.waiting))
                gauge(MetricCatalog.backendRunning, label).set(to: Double(scrape.running))
                gauge(MetricCatalog.backendKVCache, label).set(to: scrape.kvCacheUsage)
            }
        }
        var depth = ["high": 0, "normal": 0, "low": 0]
        var tokens = depth
        for entry in scheduler.queue.entries {
            let band = entry.request.priority < 0 ? "high" : entry.request.priority == 0 ? "normal" : "low"
            depth[band, default: 0] += 1
            tokens[band, default: 0] += entry.request.tokens
        }
        for band in ["high", "normal", "low"] {
            gauge(MetricCatalog.queueDepth, [("band", band)]).set(to: Double(depth[band] ?? 0))
            gauge(MetricCatalog.queueTokens, [("band", band)]).set(to: Double(tokens[band] ?? 0))
        }
        return registry.emitToBuffer()
    }

    func report(_ query: StatsQuery, now: Double, date: String) -> String {
        stats.withLockedValue { StatsReport.render($0, query: query, now: now, date: date) }
    }

    // MARK: - Registry

    private func series(backend: String, model: String) -> Series {
        let key = SeriesKey(backend: backend, model: model)
        if let existing = series.withLockedValue({ $0[key] }) { return existing }
        let labels = [("backend", backend), ("model", model)]
        let made = Series(
            ttft: histogram(MetricCatalog.ttft, labels),
            ttftFromDispatch: histogram(MetricCatalog.ttftFromDispatch, labels),
            itl: histogram(MetricCatalog.itl, labels), tpot: histogram(MetricCatalog.tpot, labels),
            e2el: histogram(MetricCatalog.e2el, labels), queueTime: histogram(MetricCatalog.queueTime, labels),
            promptTokens: histogram(MetricCatalog.promptTokens, labels),
            generationTokens: histogram(MetricCatalog.generationTokens, labels),
            promptTotal: counter(MetricCatalog.promptTokensTotal, labels),
            generationTotal: counter(MetricCatalog.generationTokensTotal, labels),
            estimatedTotal: counter(MetricCatalog.estimatedGenerationTokens, labels))
        series.withLockedValue { $0[key] = made }
        return made
    }

    private func histogram(_ metric: MetricDescriptor, _ labels: [(String, String)]) -> ValueHistogram {
        registry.makeValueHistogram(descriptor: Self.descriptor(metric), labels: labels, buckets: metric.buckets)
    }

    private func counter(_ metric: MetricDescriptor, _ labels: [(String, String)]) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor(metric), labels: labels)
    }

    private func gauge(_ metric: MetricDescriptor, _ labels: [(String, String)]) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor(metric), labels: labels)
    }

    /// The catalog's full name as swift-prometheus wants it (no separate unit suffix).
    private static func descriptor(_ metric: MetricDescriptor) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: metric.name, unitName: "", helpText: metric.help)
    }
}
