import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwitchyardCore

/// State shared by every connection of one proxy: the scheduler behind one lock (tiny critical
/// sections, decisions executed outside it) and one upstream pool per event loop.
final class ProxyState: Sendable {
    /// A request waiting in the queue: how to hand it the slot it is bound to, on its own loop.
    struct Waiter: Sendable {
        var eventLoop: any EventLoop
        var bound: @Sendable (Ticket) -> Void
        /// The request can no longer be served (its backends went away while it waited).
        var refused: @Sendable (OpenAIError) -> Void
    }

    private struct Shared {
        var scheduler: Scheduler
        var waiters: [UInt64: Waiter] = [:]
        var nextRequestID: UInt64 = 1
        var exactChecks = ExactChecks()
        /// Refusals made by admission before the scheduler saw the request, by reason.
        var admissionRefusals: [String: Int] = [:]
        var limiter = TenantLimiter()
    }

    /// Borderline requests counted with a backend's `/tokenize`.
    struct ExactChecks: Sendable {
        var succeeded = 0
        var failed = 0
    }

    /// The configuration in force: replaced whole by a reload (listeners keep the first one's).
    var config: SwitchyardConfig { settings.withLockedValue { $0.config } }
    /// How requests are costed (from `config.admission`), computed once per configuration.
    var profileCosts: ProfileCosts { settings.withLockedValue { $0.profileCosts } }
    private let settings: NIOLockedValueBox<Settings>
    let logger: Logger
    let telemetry: ProxyTelemetry
    let group: any EventLoopGroup
    /// TLS to `https://` backends, made on first use (loading the trust store costs a few
    /// milliseconds, which a fleet of plain-HTTP backends need not pay); `start` makes it at once
    /// when the config names an `https://` backend, and reports a failure.
    var upstreamTLS: Result<UpstreamTLS, any Error> {
        tlsContext.withLockedValue { made in
            if let made { return made }
            let result = Result { try UpstreamTLS(config.upstream.tls) }
            made = result
            return result
        }
    }
    private let tlsContext = NIOLockedValueBox<Result<UpstreamTLS, any Error>?>(nil)

    /// The TLS a connection to `url` needs: none for `http://`; nil for `https://` when
    /// `upstream.tls` could not be loaded (the connection then fails, see `UpstreamTLS.secure`).
    func tls(for url: BackendURL) -> UpstreamTLS? {
        url.usesTLS ? try? upstreamTLS.get() : nil
    }

    /// The reloadable part of the state: read once per use, swapped whole.
    private final class Settings: Sendable {
        let config: SwitchyardConfig
        let profileCosts: ProfileCosts
        init(_ config: SwitchyardConfig) {
            self.config = config
            self.profileCosts = config.admission.profileCosts
        }
    }
    /// The scheduler's time origin: it is handed durations since this instant.
    private let origin = ContinuousClock.now
    private let shared: NIOLockedValueBox<Shared>
    private let pools: [ObjectIdentifier: UpstreamPool]

    init(config: SwitchyardConfig, group: any EventLoopGroup, logger: Logger) {
        self.settings = NIOLockedValueBox(Settings(config))
        self.logger = logger
        self.group = group
        self.telemetry = ProxyTelemetry(config: config)
        self.shared = NIOLockedValueBox(Shared(scheduler: Scheduler(config: config)))
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = UpstreamPool(eventLoop: loop, upstream: config.upstream)
        }
        self.pools = pools
        for pool in pools.values {
            pool.tls = { [unowned self] url in self.tls(for: url) }
        }
    }

    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        guard let pool = pools[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("event loop \(eventLoop) is not in the proxy's group")
        }
        return pool
    }

    var allPools: [UpstreamPool] { Array(pools.values) }

    var now: Duration { ContinuousClock.now - origin }

    /// `now` in seconds, the unit of request timelines.
    var seconds: Double { now.inSeconds }

    /// The configuration of backend `index` (present or removed: the index stays valid).
    func backend(_ index: Int) -> BackendConfig {
        shared.withLockedValue { $0.scheduler.table.backends[index].config }
    }

    /// A read of the backend table (health, models, load).
    func withTable<T>(_ body: (BackendTable) -> T) -> T {
        shared.withLockedValue { body($0.scheduler.table) }
    }

    var snapshot: Scheduler { shared.withLockedValue { $0.scheduler } }

    var exactChecks: ExactChecks { shared.withLockedValue { $0.exactChecks } }

    var admissionRefusals: [String: Int] { shared.withLockedValue { $0.admissionRefusals } }

    func recordAdmissionRefusal(_ error: OpenAIError) {
        shared.withLockedValue { $0.admissionRefusals[error.reason, default: 0] += 1 }
    }

    func recordExactCheck(succeeded: Bool) {
        shared.withLockedValue {
            if succeeded { $0.exactChecks.succeeded += 1 } else { $0.exactChecks.failed += 1 }
        }
    }

    // MARK: - Requests

    /// Admits a request, giving it its id. When it is queued, `waiter` is registered in the
    /// same critical section, so a slot freed a moment later cannot miss it.
    func submit(_ request: ScheduleRequest, waiter: Waiter) -> (request: ScheduleRequest, admission: Admission) {
        let now = self.now
        return shared.withLockedValue { shared in
            var request = request
            request.id = shared.nextRequestID
            shared.nextRequestID += 1
            let admission = shared.scheduler.submit(request, now: now)
            if case .queued = admission { shared.waiters[request.id] = waiter }
            return (request, admission)
        }
    }

    /// Sends a request that failed before its first response byte to another backend (see
    /// `Scheduler.retry`). A refusal changes nothing: the caller still holds `ticket`.
    func retry(_ request: ScheduleRequest, releasing ticket: Ticket, waiter: Waiter) -> Admission {
        let now = self.now
        let (admission, handoffs) = shared.withLockedValue { shared -> (Admission, [(Ticket, Waiter?)]) in
            let (admission, bound) = shared.scheduler.retry(request, releasing: ticket, now: now)
            if case .queued = admission { shared.waiters[request.id] = waiter }
            return (admission, bound.map { ($0, shared.waiters.removeValue(forKey: $0.request)) })
        }
        hand(handoffs)
        return admission
    }

    // MARK: - Tenants

    /// Takes a request's share of its tenant's limits, or the 429 saying which is exceeded.
    func acquireTenant(_ tenant: String, limits: TenantLimits, tokens: Int) -> OpenAIError? {
        let now = self.now
        return shared.withLockedValue { $0.limiter.acquire(tenant: tenant, limits: limits, tokens: tokens, now: now) }
    }

    func releaseTenant(_ tenant: String) {
        shared.withLockedValue { $0.limiter.release(tenant: tenant) }
    }

    func firstToken(_ ticket: inout Ticket) {
        let now = self.now
        shared.withLockedValue { $0.scheduler.firstToken(&ticket, now: now) }
    }

    /// Gives a slot back; waiting requests it frees room for are handed their slots.
    func finish(_ ticket: Ticket, tpot: Double? = nil) {
        let now = self.now
        deliver { $0.finish(ticket, now: now, tpot: tpot) }
    }

    /// The client of a waiting request left: true if it was still waiting (now gone). False
    /// means a slot is already on its way to the waiter, which must give it back.
    func cancel(request id: UInt64) -> Bool {
        let now = self.now
        return shared.withLockedValue { shared in
            guard shared.scheduler.cancel(request: id, now: now) else { return false }
            shared.waiters[id] = nil
            return true
        }
    }

    /// A waiting request's deadline passed: its 504, or nil if it was bound meanwhile.
    func expire(request id: UInt64) -> OpenAIError? {
        let now = self.now
        return shared.withLockedValue { shared in
            guard let error = shared.scheduler.expire(request: id, now: now) else { return nil }
            shared.waiters[id] = nil
            return error
        }
    }

    // MARK: - Backend events

    func probeSucceeded(backend: Int) {
        let now = self.now
        deliver { $0.probeSucceeded(backend: backend, now: now) }
    }

    func probeFailed(backend: Int, reason: String) {
        let now = self.now
        refuse { $0.probeFailed(backend: backend, reason: reason, now: now) }
    }

    func markUnreachable(backend: Int, reason: String) {
        let now = self.now
        refuse { $0.markUnreachable(backend: backend, reason: reason, now: now) }
    }

    /// An answer below 500 came back: the backend's failure count starts over.
    func exchangeSucceeded(backend: Int) {
        shared.withLockedValue { $0.scheduler.exchangeSucceeded(backend: backend) }
    }

    /// An exchange failed (connect, reset, stall, timeout or 5xx): counted by outlier detection,
    /// which may eject the backend until a timer brings it back.
    func exchangeFailed(backend: Int) {
        let now = self.now
        var ejection: Scheduler.Ejection?
        refuse { scheduler in
            let (ejected, refused) = scheduler.exchangeFailed(backend: backend, now: now)
            ejection = ejected
            return refused
        }
        guard let ejection else { return }
        let name = self.backend(backend).name
        telemetry.upstreamError(backend: name, kind: "ejected")
        logger.warning(
            "backend ejected",
            metadata: ["backend": "\(name)", "for": "\(ConfigUnits.format(ejection.length))"])
        scheduleReadmission(backend: backend, name: name, until: ejection.until)
    }

    /// Readmits an ejected backend when its time is up. A timer that fires a little early (the
    /// event loop's clock is not the scheduler's) is set again for the rest.
    private func scheduleReadmission(backend: Int, name: String, until: Duration) {
        let wait = max(until - now, .milliseconds(1))
        group.next().scheduleTask(in: TimeAmount(wait)) { [self] in
            let now = self.now
            let ejectedUntil = withTable { $0.backends[backend].ejectedUntil }
            guard let ejectedUntil else { return }
            if ejectedUntil > now {
                scheduleReadmission(backend: backend, name: name, until: ejectedUntil)
                return
            }
            deliver { $0.ejectionEnded(backend: backend, now: now) }
            logger.notice("backend readmitted after ejection", metadata: ["backend": "\(name)"])
        }
    }

    func modelsDiscovered(backend: Int, _ models: [ModelCard]) {
        let now = self.now
        deliver { $0.modelsDiscovered(backend: backend, models, now: now) }
    }

    func metricsScraped(backend: Int, running: Int, waiting: Int, kvCacheUsage: Double) {
        let now = self.now
        shared.withLockedValue {
            $0.scheduler.metricsScraped(
                backend: backend, running: running, waiting: waiting, kvCacheUsage: kvCacheUsage, now: now)
        }
    }

    /// Runs a scheduler event and tells each waiting request it refuses, on its own loop.
    func refuse(_ event: (inout Scheduler) -> [(UInt64, OpenAIError)]) {
        let refusals = shared.withLockedValue { shared in
            event(&shared.scheduler).compactMap { id, error in
                shared.waiters.removeValue(forKey: id).map { ($0, error) }
            }
        }
        for (waiter, error) in refusals { waiter.eventLoop.execute { waiter.refused(error) } }
    }

    /// Runs a scheduler event and hands each slot it binds to its waiter, on the waiter's loop.
    func deliver(_ event: (inout Scheduler) -> [Ticket]) {
        let handoffs = shared.withLockedValue { shared -> [(Ticket, Waiter?)] in
            event(&shared.scheduler).map { ($0, shared.waiters.removeValue(forKey: $0.request)) }
        }
        hand(handoffs)
    }

    /// A read-and-change of the scheduler under the lock, for fleet operations.
    func withScheduler<T>(_ body: (inout Scheduler) -> T) -> T {
        shared.withLockedValue { body(&$0.scheduler) }
    }

    /// Replaces the configuration in force (a reload); the scheduler takes its policies.
    func replaceConfig(_ config: SwitchyardConfig) {
        settings.withLockedValue { $0 = Settings(config) }
        shared.withLockedValue { $0.scheduler.reconfigure(config) }
    }

    private func hand(_ handoffs: [(Ticket, Waiter?)]) {
        for (ticket, waiter) in handoffs {
            guard let waiter else {
                // Cannot happen (every queued request has a waiter), but a slot must never leak.
                logger.error("bound request without a waiter", metadata: ["request": "\(ticket.request)"])
                finish(ticket)
                continue
            }
            waiter.eventLoop.execute { waiter.bound(ticket) }
        }
    }
}
