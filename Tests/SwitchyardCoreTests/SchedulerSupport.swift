import Testing

@testable import SwitchyardCore

/// A scheduler over healthy backends with known models, driven with explicit request sizes and
/// an explicit clock. It holds the tickets of running requests by request id, including the ones
/// bound from the queue by later events.
struct SchedulerHarness {
    var scheduler: Scheduler
    var held: [UInt64: Ticket] = [:]
    var nextID: UInt64 = 1
    var now: Duration = .zero

    /// One backend per entry of `models`, each serving those model ids, all healthy.
    init(
        models: [[String]], maxConcurrent: Int = 256, maxInFlightTokens: Int? = nil,
        configure: (inout SwitchyardConfig) -> Void = { _ in }
    ) {
        var config = SwitchyardConfig()
        config.backends = models.indices.map {
            BackendConfig(
                name: "b\($0)", url: BackendURL(host: "10.0.0.\($0)", port: 8000), maxConcurrent: maxConcurrent,
                maxInFlightTokens: maxInFlightTokens)
        }
        configure(&config)
        scheduler = Scheduler(config: config)
        for (backend, ids) in models.enumerated() {
            _ = scheduler.probeSucceeded(backend: backend, now: now)
            _ = scheduler.modelsDiscovered(backend: backend, ids.map { card($0) }, now: now)
        }
    }

    /// `count` backends serving model "m" under `policy`.
    init(
        backends count: Int, policy: RoutingPolicy = .leastTokens, maxConcurrent: Int = 256,
        maxInFlightTokens: Int? = nil, configure: (inout SwitchyardConfig) -> Void = { _ in }
    ) {
        self.init(
            models: Array(repeating: ["m"], count: count), maxConcurrent: maxConcurrent,
            maxInFlightTokens: maxInFlightTokens
        ) { config in
            config.routing.policy = policy
            configure(&config)
        }
    }

    var backends: [BackendTable.Backend] { scheduler.table.backends }
    func load(_ backend: Int) -> BackendLoad { scheduler.table.backends[backend].load }
    var queuedIDs: [UInt64] { scheduler.queue.entries.map(\.request.id) }

    func request(
        id: UInt64 = 0, model: String? = "m", prompt: Int = 100, output: Int = 100, priority: Int = 0,
        tenant: String = "", session: UInt64? = nil, timeout: Duration = .seconds(30)
    ) -> ScheduleRequest {
        ScheduleRequest(
            id: id, model: model, prompt: prompt, output: output, priority: priority, tenant: tenant,
            sessionKey: session, timeout: timeout)
    }

    mutating func submit(
        model: String? = "m", prompt: Int = 100, output: Int = 100, priority: Int = 0, tenant: String = "",
        session: UInt64? = nil, timeout: Duration = .seconds(30)
    ) -> (id: UInt64, admission: Admission) {
        let id = nextID
        nextID += 1
        let request = request(
            id: id, model: model, prompt: prompt, output: output, priority: priority, tenant: tenant,
            session: session, timeout: timeout)
        let admission = scheduler.submit(request, now: now)
        if case .dispatch(let ticket) = admission { held[id] = ticket }
        return (id, admission)
    }

    /// Submits a request that must be dispatched; its backend (-1, recording an issue, otherwise).
    @discardableResult
    mutating func dispatch(
        model: String? = "m", prompt: Int = 100, output: Int = 100, priority: Int = 0, tenant: String = "",
        session: UInt64? = nil, sourceLocation: SourceLocation = #_sourceLocation
    ) -> Int {
        let (_, admission) = submit(
            model: model, prompt: prompt, output: output, priority: priority, tenant: tenant, session: session)
        guard case .dispatch(let ticket) = admission else {
            Issue.record("expected a dispatch, got \(admission)", sourceLocation: sourceLocation)
            return -1
        }
        return ticket.backend
    }

    /// Submits a request that must wait; its id (0, recording an issue, otherwise).
    @discardableResult
    mutating func enqueue(
        model: String? = "m", prompt: Int = 100, output: Int = 100, priority: Int = 0, tenant: String = "",
        timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation
    ) -> UInt64 {
        let (id, admission) = submit(
            model: model, prompt: prompt, output: output, priority: priority, tenant: tenant, timeout: timeout)
        guard case .queued(let deadline) = admission else {
            Issue.record("expected the request to wait, got \(admission)", sourceLocation: sourceLocation)
            return 0
        }
        #expect(deadline == now + timeout, sourceLocation: sourceLocation)
        return id
    }

    /// Submits a request that must be refused; the error (nil, recording an issue, otherwise).
    mutating func refusal(
        model: String? = "m", prompt: Int = 100, output: Int = 100, priority: Int = 0, tenant: String = "",
        timeout: Duration = .seconds(30), sourceLocation: SourceLocation = #_sourceLocation
    ) -> OpenAIError? {
        let (_, admission) = submit(
            model: model, prompt: prompt, output: output, priority: priority, tenant: tenant, timeout: timeout)
        guard case .refuse(let error) = admission else {
            Issue.record("expected a refusal, got \(admission)", sourceLocation: sourceLocation)
            return nil
        }
        return error
    }

    /// Runs a request on `backend` through the public API: the other backends are marked
    /// unreachable for the submission, then healthy again. Its id.
    @discardableResult
    mutating func pin(_ backend: Int, prompt: Int = 100, output: Int = 100) -> UInt64 {
        let others = backends.indices.filter { $0 != backend && backends[$0].healthy }
        for other in others { _ = scheduler.markUnreachable(backend: other, reason: "pinning", now: now) }
        let (id, admission) = submit(model: nil, prompt: prompt, output: output)
        if case .dispatch(let ticket) = admission, ticket.backend == backend {
        } else {
            Issue.record("could not pin a request to b\(backend): \(admission)")
        }
        for other in others { hold(scheduler.probeSucceeded(backend: other, now: now)) }
        return id
    }

    /// The first response byte of request `id` arrived now.
    mutating func firstToken(_ id: UInt64) {
        guard var ticket = held[id] else {
            Issue.record("request \(id) holds no ticket")
            return
        }
        scheduler.firstToken(&ticket, now: now)
        held[id] = ticket
    }

    /// Request `id` ended now; the ids of the queued requests this bound, in order.
    @discardableResult
    mutating func finish(_ id: UInt64, tpot: Double? = nil) -> [UInt64] {
        guard let ticket = held.removeValue(forKey: id) else {
            Issue.record("request \(id) holds no ticket")
            return []
        }
        return hold(scheduler.finish(ticket, now: now, tpot: tpot))
    }

    @discardableResult
    mutating func hold(_ bound: [Ticket]) -> [UInt64] {
        for ticket in bound { held[ticket.request] = ticket }
        return bound.map(\.request)
    }

    /// Records a measured TPOT for `backend` (one request that runs there and finishes).
    mutating func recordTPOT(_ seconds: Double, on backend: Int) {
        finish(pin(backend, prompt: 0, output: 0), tpot: seconds)
    }
}
