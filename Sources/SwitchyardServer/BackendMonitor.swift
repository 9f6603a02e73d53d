import Logging
import NIOCore
import SwitchyardCore

/// Active checks: every `health_check_interval` each present backend's `/health` is probed
/// (`unhealthy_threshold` failures in a row take it out, `healthy_threshold` successes bring it
/// back), and its `/v1/models` is read when it was never read, when the backend comes back, and
/// every `models_refresh_interval`. With `routing.kv_aware`, each healthy backend's `/metrics` is
/// scraped every `routing.metrics_scrape_interval`. With `discovery.dns`, the name is resolved
/// every `dns_interval` and the fleet follows its records. Results go to the scheduler as events.
struct BackendMonitor: Sendable {
    let proxy: ProxyState
    let group: any EventLoopGroup
    let fleet: FleetControl

    /// When each backend's model list was last read, by backend index.
    typealias ModelReads = [Int: ContinuousClock.Instant]

    /// Probes (and scrapes, and resolves) every interval until cancelled, continuing from the
    /// round `start()` already ran.
    func run(after firstRound: ModelReads) async {
        let routing = proxy.config.routing
        await withTaskGroup(of: Void.self) { tasks in
            tasks.addTask { await probeLoop(after: firstRound) }
            if routing.kvAware && routing.metricsScrapeInterval > .zero {
                tasks.addTask { await scrapeLoop(every: routing.metricsScrapeInterval) }
            }
            if let dns = proxy.config.discovery.dns {
                tasks.addTask { await dnsLoop(dns) }
            }
        }
    }

    private var presentBackends: [Int] {
        proxy.withTable { table in table.backends.indices.filter { !table.backends[$0].removed } }
    }

    private func scrapeLoop(every interval: Duration) async {
        while !Task.isCancelled {
            await withTaskGroup(of: Void.self) { tasks in
                for index in presentBackends where proxy.withTable({ $0.backends[index].healthy }) {
                    tasks.addTask { await scrape(index) }
                }
            }
            try? await Task.sleep(for: interval)
        }
    }

    /// A failed scrape changes nothing: the last values age out, and health is the probe's job.
    private func scrape(_ index: Int) async {
        let backend = proxy.backend(index)
        guard
            let answer = try? await ProbeClient.get(
                backend.url, path: "/metrics", timeout: proxy.config.discovery.probeTimeout, group: group,
                tls: proxy.tls(for: backend.url), authorization: backend.apiKey),
            answer.status == 200,
            let metrics = BackendMetrics.parse(String(decoding: answer.body, as: UTF8.self))
        else { return }
        proxy.metricsScraped(
            backend: index, running: metrics.running, waiting: metrics.waiting, kvCacheUsage: metrics.kvCacheUsage)
    }

    private func probeLoop(after firstRound: ModelReads) async {
        var lastModelsRead = firstRound
        while !Task.isCancelled {
            try? await Task.sleep(for: proxy.config.discovery.healthCheckInterval)
            guard !Task.isCancelled else { return }
            lastModelsRead = await probeAll(lastModelsRead: lastModelsRead)
        }
    }

    /// One round over every present backend, concurrently. Returns when each probe has
    /// answered or timed out.
    @discardableResult
    func probeAll(lastModelsRead: ModelReads) async -> ModelReads {
        await withTaskGroup(of: (Int, ContinuousClock.Instant?).self) { tasks in
            for index in presentBackends {
                tasks.addTask { (index, await probe(index, lastModelsRead: lastModelsRead[index])) }
            }
            var result = lastModelsRead
            for await (index, instant) in tasks { result[index] = instant }
            return result
        }
    }

    private func probe(_ index: Int, lastModelsRead: ContinuousClock.Instant?) async -> ContinuousClock.Instant? {
        let backend = proxy.backend(index)
        let discovery = proxy.config.discovery
        let tls = proxy.tls(for: backend.url)
        let wasHealthy = proxy.withTable { $0.backends[index].healthy }
        do {
            let health = try await ProbeClient.get(
                backend.url, path: "/health", timeout: discovery.probeTimeout, group: group, tls: tls,
                authorization: backend.apiKey)
            guard health.status == 200 else { throw ProbeFailure("GET /health answered \(health.status)") }
            var modelsRead = lastModelsRead
            let now = ContinuousClock.now
            if !wasHealthy || lastModelsRead.map({ now - $0 >= discovery.modelsRefreshInterval }) ?? true {
                let answer = try await ProbeClient.get(
                    backend.url, path: "/v1/models", timeout: discovery.probeTimeout, group: group, tls: tls,
                    authorization: backend.apiKey)
                guard answer.status == 200 else { throw ProbeFailure("GET /v1/models answered \(answer.status)") }
                let models = try ModelListParser.parse(answer.body)
                proxy.modelsDiscovered(backend: index, models)
                modelsRead = now
            }
            proxy.probeSucceeded(backend: index)
            if !wasHealthy && proxy.withTable({ $0.backends[index].healthy }) {
                proxy.logger.notice("backend healthy", metadata: ["backend": "\(backend.name)"])
            }
            return modelsRead
        } catch {
            proxy.probeFailed(backend: index, reason: "\(error)")
            if wasHealthy && !proxy.withTable({ $0.backends[index].healthy }) {
                proxy.logger.warning(
                    "backend unhealthy", metadata: ["backend": "\(backend.name)", "error": "\(error)"])
            }
            // Not healthy now: the model list is read again when it comes back.
            return proxy.withTable { $0.backends[index].healthy } ? lastModelsRead : nil
        }
    }

    // MARK: - DNS

    private func dnsLoop(_ dns: DNSDiscoveryConfig) async {
        while !Task.isCancelled {
            await resolveOnce(dns)
            try? await Task.sleep(for: dns.interval)
        }
    }

    /// Every address of the name is a backend named `address:port`; addresses that left the
    /// records are removed (their requests finish). A failed lookup changes nothing.
    func resolveOnce(_ dns: DNSDiscoveryConfig) async {
        let addresses: [String]
        do {
            addresses = try await DNSResolver.addresses(of: dns.name)
        } catch {
            proxy.logger.warning("DNS discovery failed", metadata: ["name": "\(dns.name)", "error": "\(error)"])
            return
        }
        var wanted: [BackendConfig] = []
        for address in addresses {
            var backend = dns.template
            backend.url = BackendURL(host: address, port: dns.port, usesTLS: dns.template.url.usesTLS)
            backend.name =
                backend.url.hostHeader.hasSuffix(":\(dns.port)")
                ? backend.url.hostHeader : "\(backend.url.hostHeader):\(dns.port)"
            wanted.append(backend)
        }
        fleet.follow(dnsBackends: wanted, source: dns.name)
    }
}

struct ProbeFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
