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
    }

    /// Borderline requests counted with a backend's `/tokenize`.
    struct ExactChecks: Sendable {
        var succeeded = 0
        var failed = 0
    }

    let config: SwitchyardConfig
    let logger: Logger
    /// How requests are costed (from `config.admission`), computed once.
    let profileCosts: ProfileCosts
    let telemetry: ProxyTelemetry
    /// The scheduler's time origin: it is handed durations since this instant.
    private let origin = ContinuousClock.now
    private let shared: NIOLockedValueBox<Shared>
    private let pools: [ObjectIdentifier: UpstreamPool]

    init(config: SwitchyardConfig, group: any EventLoopGroup, logger: Logger) {
        self.config = config
        self.logger = logger
        self.profileCosts = config.admission.profileCosts
        self.telemetry = ProxyTelemetry(config: config)
        self.shared = NIOLockedValueBox(Shared(scheduler: Scheduler(config: config)))
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = UpstreamPool(eventLoop: loop, upstream: config.upstream)
        }
        self.pools = pools
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

    /// Admits a request: `make` receives its id. When it is queued, `waiter` is registered in the
    /// same critical section, so a slot freed a moment later cannot miss it.
    func submit(_ make: (UInt64) -> ScheduleRequest, waiter: Waiter) -> (id: UInt64, admission: Admission) {
        let now = self.now
        return shared.withLockedValue { shared in
            let id = shared.nextRequestID
            shared.nextRequestID += 1
            let admission = shared.scheduler.submit(make(id), now: now)
            if case .queued = admission { shared.waiters[id] = waiter }
            return (id, admission)
        }
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

    func markUnreachable(backend: Int, reason: String) {
        let now = self.now
        let refusals = shared.withLockedValue { shared in
            shared.scheduler.markUnreachable(backend: backend, reason: reason, now: now).compactMap { id, error in
                shared.waiters.removeValue(forKey: id).map { ($0, error) }
            }
        }
        for (waiter, error) in refusals { waiter.eventLoop.execute { waiter.refused(error) } }
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

    /// Runs a scheduler event and hands each slot it binds to its waiter, on the waiter's loop.
    private func deliver(_ event: (inout Scheduler) -> [Ticket]) {
        let handoffs = shared.withLockedValue { shared -> [(Ticket, Waiter?)] in
            event(&shared.scheduler).map { ($0, shared.waiters.removeValue(forKey: $0.request)) }
        }
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
