import Logging
import NIOCore
import SwitchyardCore

/// Active checks: every `health_check_interval` each backend's `/health` is probed, and its
/// `/v1/models` is read when it was never read, when the backend comes back, and every
/// `models_refresh_interval`. With `routing.kv_aware`, each healthy backend's `/metrics` is
/// scraped every `routing.metrics_scrape_interval`. Results go to the scheduler as events.
struct BackendMonitor: Sendable {
    let proxy: ProxyState
    let group: any EventLoopGroup

    /// Probes (and scrapes) every interval until cancelled, continuing from the round `start()`
    /// already ran.
    func run(after firstRound: [ContinuousClock.Instant?]) async {
        let routing = proxy.config.routing
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await probeLoop(after: firstRound) }
            if routing.kvAware && routing.metricsScrapeInterval > .zero {
                tasks.addTask { await scrapeLoop(every: routing.metricsScrapeInterval) }
            }
        }
    }

    private func scrapeLoop(every interval: Duration) async {
        while !Task.isCancelled {
            await withTaskGroup(of: Void.self) { tasks in
                for index in proxy.config.backends.indices where proxy.withTable({ $0.backends[index].healthy }) {
                    tasks.addTask { await scrape(index) }
                }
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// A failed scrape changes nothing: the last values age out, and health is the probe's job.
    private func scrape(_ index: Int) async {
        let backend = proxy.config.backends[index]
        guard
            let answer = try? await ProbeClient.get(
                backend.url, path: "/metrics", timeout: proxy.config.discovery.probeTimeout, group: group),
            answer.status == 200,
            let metrics = BackendMetrics.parse(String(decoding: answer.body, as: UTF8.self))
        else { return }
        proxy.metricsScraped(
            backend: index, running: metrics.running, waiting: metrics.waiting, kvCacheUsage: metrics.kvCacheUsage)
    }

    private func probeLoop(after firstRound: [ContinuousClock.Instant?]) async {
        var lastModelsRead = firstRound
        while !Task.isCancelled {
            try? await Task.sleep(for: proxy.config.discovery.healthCheckInterval)
            guard !Task.isCancelled else { return }
            lastModelsRead = await probeAll(lastModelsRead: lastModelsRead)
        }
    }

    /// One round over every backend, concurrently. Returns when each probe has answered or timed out.
    @discardableResult
    func probeAll(lastModelsRead: [ContinuousClock.Instant?]) async -> [ContinuousClock.Instant?] {
        await withTaskGroup(of: (Int, ContinuousClock.Instant?).self) { tasks in
            for index in proxy.config.backends.indices {
                tasks.addTask { (index, await probe(index, lastModelsRead: lastModelsRead[index])) }
            }
            var result = lastModelsRead
            for await (index, instant) in tasks { result[index] = instant }
            return result
        }
    }

    private func probe(_ index: Int, lastModelsRead: ContinuousClock.Instant?) async -> ContinuousClock.Instant? {
        let backend = proxy.config.backends[index]
        let discovery = proxy.config.discovery
        let wasHealthy = proxy.withTable { $0.backends[index].healthy }
        do {
            let health = try await ProbeClient.get(
                backend.url, path: "/health", timeout: discovery.probeTimeout, group: group)
            guard health.status == 200 else { throw ProbeFailure("GET /health answered \(health.status)") }
            var modelsRead = lastModelsRead
            let now = ContinuousClock.now
            if !wasHealthy || lastModelsRead.map({ now - $0 >= discovery.modelsRefreshInterval }) ?? true {
                let answer = try await ProbeClient.get(
                    backend.url, path: "/v1/models", timeout: discovery.probeTimeout, group: group)
                guard answer.status == 200 else { throw ProbeFailure("GET /v1/models answered \(answer.status)") }
                let models = try ModelListParser.parse(answer.body)
                proxy.modelsDiscovered(backend: index, models)
                modelsRead = now
            }
            proxy.probeSucceeded(backend: index)
            if !wasHealthy {
                proxy.logger.notice("backend healthy", metadata: ["backend": "\(backend.name)"])
            }
            return modelsRead
        } catch {
            proxy.markUnreachable(backend: index, reason: "\(error)")
            if wasHealthy {
                proxy.logger.warning(
                    "backend unhealthy", metadata: ["backend": "\(backend.name)", "error": "\(error)"])
            }
            return lastModelsRead
        }
    }
}

struct ProbeFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
