/// A request as the scheduler sees it.
public struct ScheduleRequest: Sendable, Equatable {
    /// Unique among live requests; chosen by the caller.
    public var id: UInt64
    public var model: String?
    /// What the context window must hold; nil for requests that are not generation requests.
    public var need: ContextNeed?
    /// Prompt tokens (text estimate plus image tokens).
    public var prompt: Int
    /// Output tokens reserved: the budget, or the configured default when the request has none.
    public var output: Int
    /// vLLM's convention: lower runs first.
    public var priority: Int
    public var tenant: String
    /// Ring position of the session key (nil: no session, session-affinity falls back to
    /// least-tokens).
    public var sessionKey: UInt64?
    /// How long it may wait in the queue.
    public var timeout: Duration
    /// Backends it must not go to: those a retry already tried.
    public var excluded: [Int] = []

    public init(
        id: UInt64, model: String?, need: ContextNeed? = nil, prompt: Int = 0, output: Int = 0, priority: Int = 0,
        tenant: String = "", sessionKey: UInt64? = nil, timeout: Duration = .seconds(30)
    ) {
        self.id = id
        self.model = model
        self.need = need
        self.prompt = prompt
        self.output = output
        self.priority = priority
        self.tenant = tenant
        self.sessionKey = sessionKey
        self.timeout = timeout
    }

    public var tokens: Int { prompt + output }
}

/// The answer to a new request.
public enum Admission: Sendable, Equatable {
    /// Run it now on `ticket.backend`; give the slot back with `finish`.
    case dispatch(Ticket)
    /// It waits. A later event's result binds it (a `Ticket` with its id), or `expire` at the
    /// deadline refuses it.
    case queued(deadline: Duration)
    case refuse(OpenAIError)
}

/// Decides, for every request, whether it can run, when and where. A pure state machine: events
/// in (a request arrives, a response starts or ends, a client leaves, a backend changes), decisions
/// out, time passed in. Callers keep it behind one lock and act on the decisions outside it.
///
/// Every event that frees capacity returns the queued requests it binds, in queue order.
public struct Scheduler: Sendable {
    public internal(set) var table: BackendTable
    public internal(set) var queue: FairQueue
    public private(set) var drain = DrainRate()
    public internal(set) var counters = Counters()
    var routing: RoutingConfig
    var queueConfig: QueueConfig
    var margin: Double
    var ring: HashRing
    var outlier: OutlierConfig
    /// Where ties (and round-robin) start next, per model (`""` for requests without one): one
    /// shared point would be moved by other models' requests, and a model whose backends lie
    /// before another's would start at the same backend every time.
    var rotation: [String: Int] = [:]
    var random: SeededRandom
    /// Scrapes older than this are ignored (three missed scrapes).
    var scrapeMaxAge: Duration

    /// Event counts, for `/metrics` and tests.
    public struct Counters: Sendable, Equatable {
        public var dispatched = 0
        public var queued = 0
        public var boundFromQueue = 0
        public var cancelledWhileQueued = 0
        public var expired = 0
        /// Waiting requests refused because no healthy backend could serve them any more.
        public var refusedWhileQueued = 0
        /// Refusals of new requests, by reason.
        public var refused: [String: Int] = [:]
        /// Requests sent again to another backend before any response byte reached the client.
        public var retried = 0
        /// Backends ejected by outlier detection.
        public var ejections = 0
    }

    public init(config: SwitchyardConfig, seed: UInt64 = 0x5317_c4a7) {
        table = BackendTable(config.backends, thresholds: config.discovery.thresholds)
        outlier = config.outlier
        queue = FairQueue(
            quantum: config.queue.quantum, agingInterval: config.queue.agingInterval,
            weights: config.queue.tenantWeights)
        routing = config.routing
        queueConfig = config.queue
        margin = config.admission.margin
        ring = HashRing(names: config.backends.map(\.name))
        random = SeededRandom(seed: seed)
        scrapeMaxAge = config.routing.metricsScrapeInterval * 3
    }

    // MARK: - Requests

    public mutating func submit(_ request: ScheduleRequest, now: Duration) -> Admission {
        let admission = decide(request, now: now)
        if case .refuse(let error) = admission { counters.refused[error.reason, default: 0] += 1 }
        return admission
    }

    /// `submit` without counting a refusal (retries are not new requests).
    mutating func decide(_ request: ScheduleRequest, now: Duration) -> Admission {
        let eligible: [Int]
        switch table.eligible(model: request.model, need: request.need, margin: margin, excluding: request.excluded) {
        case .failure(let error): return .refuse(error)
        case .success(let backends): eligible = backends
        }
        let withRoom = eligible.filter { table.backends[$0].hasRoom(for: request.tokens) }
        if !withRoom.isEmpty {
            counters.dispatched += 1
            return .dispatch(place(request, among: withRoom, now: now))
        }
        if let refusal = queueRefusal(for: request, now: now) { return .refuse(refusal) }
        if queue.isEmpty { drain.setSaturated(true, now: now) }
        queue.append(QueuedRequest(request: request, enqueuedAt: now, deadline: now + request.timeout))
        counters.queued += 1
        return .queued(deadline: now + request.timeout)
    }

    /// The first response byte arrived: the prompt is prefilled, decoding has begun.
    public mutating func firstToken(_ ticket: inout Ticket, now: Duration) {
        guard ticket.firstTokenAt == nil else { return }
        table.backends[ticket.backend].load.started(ticket, at: now)
        ticket.firstTokenAt = now
    }

    /// The request holding `ticket` has ended (last byte, error or disconnect). `tpot` is its
    /// measured time per output token, when it streamed enough to tell.
    public mutating func finish(_ ticket: Ticket, now: Duration, tpot: Double? = nil) -> [Ticket] {
        table.backends[ticket.backend].load.release(ticket)
        if let tpot { table.backends[ticket.backend].load.recordTPOT(tpot) }
        drain.completed(tokens: ticket.tokens, now: now)
        return bindWaiting(now: now)
    }

    /// The client of a waiting request left. True if it was waiting (now removed); false if it
    /// was already bound — then the caller holds a ticket it must `finish`.
    public mutating func cancel(request id: UInt64, now: Duration) -> Bool {
        guard queue.remove(id: id) != nil else { return false }
        counters.cancelledWhileQueued += 1
        if queue.isEmpty { drain.setSaturated(false, now: now) }
        return true
    }

    /// A waiting request's deadline timer fired: the 504 to send, or nil if it is no longer
    /// waiting (bound meanwhile) or its deadline is still ahead.
    public mutating func expire(request id: UInt64, now: Duration) -> OpenAIError? {
        guard let entry = queue.entry(id: id), entry.deadline <= now else {
            return nil
        }
        _ = queue.remove(id: id)
        counters.expired += 1
        if queue.isEmpty { drain.setSaturated(false, now: now) }
        let waited = (now - entry.enqueuedAt).inSeconds
        return OpenAIError(
            status: 504,
            message:
                "No backend had room for this request within its queue timeout "
                + "(waited \(Self.secondsText(waited)) s; see queue.timeout and the \(queueConfig.timeoutHeader) header).",
            reason: "queue_timeout", retryAfterSeconds: retryAfter(forTokens: queue.tokens))
    }

    // MARK: - Backend events

    public mutating func probeSucceeded(backend: Int, now: Duration) -> [Ticket] {
        table.probeSucceeded(backend: backend)
        return bindWaiting(now: now)
    }

    /// A probe failed: counted against `unhealthy_threshold`; when that takes the backend out,
    /// the waiting requests nothing else can serve are refused (see `markUnreachable`).
    public mutating func probeFailed(backend: Int, reason: String, now: Duration) -> [(UInt64, OpenAIError)] {
        guard table.probeFailed(backend: backend, reason: reason) else { return [] }
        return refuseUnservable(now: now)
    }

    /// The backend leaves rotation. Waiting requests that no healthy backend can serve any more
    /// are refused at once (503 `no_healthy_backend`) rather than left to time out.
    public mutating func markUnreachable(backend: Int, reason: String, now: Duration) -> [(UInt64, OpenAIError)] {
        table.markUnreachable(backend: backend, reason: reason)
        return refuseUnservable(now: now)
    }

    /// Refuses the waiting requests that no backend in rotation can serve any more.
    mutating func refuseUnservable(now: Duration) -> [(UInt64, OpenAIError)] {
        var refused: [(UInt64, OpenAIError)] = []
        for entry in queue.entries {
            guard
                case .failure(let error) = table.eligible(
                    model: entry.request.model, need: entry.request.need, margin: margin,
                    excluding: entry.request.excluded)
            else { continue }
            _ = queue.remove(id: entry.request.id)
            counters.refusedWhileQueued += 1
            refused.append((entry.request.id, error))
        }
        if queue.isEmpty { drain.setSaturated(false, now: now) }
        return refused
    }

    public mutating func modelsDiscovered(backend: Int, _ models: [ModelCard], now: Duration) -> [Ticket] {
        table.modelsDiscovered(backend: backend, models)
        return bindWaiting(now: now)
    }

    /// A backend's `/metrics` answered; the values count from now until they age out.
    public mutating func metricsScraped(backend: Int, running: Int, waiting: Int, kvCacheUsage: Double, now: Duration) {
        let local = table.backends[backend].load.inFlight
        table.backends[backend].load.scrape = BackendLoad.Scrape(
            running: running, waiting: waiting, kvCacheUsage: kvCacheUsage, at: now, localInFlight: local)
    }

    // MARK: - Queue

    /// Binds waiting requests, in queue order, while any can run.
    mutating func bindWaiting(now: Duration) -> [Ticket] {
        guard !queue.isEmpty else { return [] }
        // Saturated clusters take this exit on most events: no slot anywhere, nothing to scan.
        guard table.backends.contains(where: \.hasFreeSlot) else { return [] }
        var bound: [Ticket] = []
        // The queue is moved out while `canRun` reads the rest of the state (no copy is made).
        var waiting = FairQueue()
        swap(&waiting, &queue)
        // Models with no free slot on any backend: every request for them is skipped without
        // looking at the backends again (the scan may pass many of them).
        var fullModels = Set<String?>()
        while let entry = waiting.next(
            now: now,
            canRun: { request in
                guard !fullModels.contains(request.model) else { return false }
                if !anySlot(forModel: request.model) {
                    fullModels.insert(request.model)
                    return false
                }
                return canPlace(request)
            })
        {
            let ticket = place(entry.request, among: backendsWithRoom(for: entry.request), now: now)
            bound.append(ticket)
            counters.boundFromQueue += 1
            if !table.backends.contains(where: \.hasFreeSlot) { break }
        }
        swap(&waiting, &queue)
        if queue.isEmpty { drain.setSaturated(false, now: now) }
        return bound
    }

    func anySlot(forModel model: String?) -> Bool {
        table.backends.contains { $0.hasFreeSlot && $0.canServe(model) }
    }

    /// Whether some backend could take `request` now: `backendsWithRoom` without building the
    /// list, for the queue scan.
    func canPlace(_ request: ScheduleRequest) -> Bool {
        var anyFits = false
        for index in table.backends.indices where !request.excluded.contains(index) {
            let backend = table.backends[index]
            guard backend.canServe(request.model) else { continue }
            if let need = request.need, let limit = table.contextLimit(of: index, model: request.model),
                need.total > limit
            {
                continue
            }
            anyFits = true
            if backend.hasRoom(for: request.tokens) { return true }
        }
        // A request that fits nowhere may still be eligible within the margin (rare): ask the table.
        return anyFits ? false : !backendsWithRoom(for: request).isEmpty
    }

    func backendsWithRoom(for request: ScheduleRequest) -> [Int] {
        guard
            case .success(let eligible) = table.eligible(
                model: request.model, need: request.need, margin: margin, excluding: request.excluded)
        else { return [] }
        return eligible.filter { table.backends[$0].hasRoom(for: request.tokens) }
    }

    /// Why a request that must wait cannot, if it cannot: 429 when the queue or the tenant's
    /// share is full, 503 when the measured drain rate says it would time out anyway.
    func queueRefusal(for request: ScheduleRequest, now: Duration) -> OpenAIError? {
        guard queueConfig.maxRequests > 0 else {
            return OpenAIError(
                status: 503, message: "Every backend that can serve this request is at capacity, and queueing is off.",
                reason: "backends_saturated", retryAfterSeconds: 1)
        }
        if queue.count + 1 > queueConfig.maxRequests || queue.tokens + request.tokens > queueConfig.maxTokens {
            let excess = max(queue.tokens + request.tokens - queueConfig.maxTokens, request.tokens)
            return OpenAIError(
                status: 429,
                message:
                    "The request queue is full (\(queue.count) requests, \(queue.tokens) tokens waiting; limits "
                    + "\(queueConfig.maxRequests) requests, \(queueConfig.maxTokens) tokens).",
                reason: "queue_full", retryAfterSeconds: retryAfter(forTokens: excess))
        }
        if let share = tenantShareExceeded(request) { return share }
        let ahead = queue.tokensAhead(ofPriority: request.priority, now: now) + request.tokens
        if let projected = drain.secondsToDrain(ahead), projected > request.timeout.inSeconds {
            return OpenAIError(
                status: 503,
                message:
                    "Every backend that can serve this request is at capacity, and at the measured drain rate it "
                    + "would wait about \(Self.secondsText(projected)) s, beyond its queue timeout of "
                    + "\(Self.secondsText(request.timeout.inSeconds)) s.",
                reason: "queue_wait_exceeds_timeout",
                retryAfterSeconds: max(1, Int((projected - request.timeout.inSeconds).rounded(.up))))
        }
        return nil
    }

    /// Under contention (the queue more than half full by tokens), a tenant may hold at most its
    /// weighted share of the queue's token limit among the tenants waiting.
    func tenantShareExceeded(_ request: ScheduleRequest) -> OpenAIError? {
        let tenant = request.tenant
        guard Double(queue.tokens + request.tokens) > Double(queueConfig.maxTokens) / 2 else { return nil }
        var waitingTenants = Set(queue.tenantTokens.keys)
        waitingTenants.insert(tenant)
        let totalWeight = waitingTenants.reduce(0) { $0 + queue.weight(of: $1) }
        let share = Double(queueConfig.maxTokens) * queue.weight(of: tenant) / totalWeight
        let holding = queue.tenantTokens[tenant, default: 0] + request.tokens
        guard Double(holding) > share else { return nil }
        return OpenAIError(
            status: 429,
            message:
                "This tenant already has \(holding - request.tokens) tokens waiting, over its fair share of "
                + "\(Int(share)) tokens of the queue while \(waitingTenants.count) tenants wait.",
            reason: "tenant_over_share", retryAfterSeconds: retryAfter(forTokens: holding - Int(share)))
    }

    /// Seconds until `tokens` more have drained at the measured rate (1 while unmeasured).
    func retryAfter(forTokens tokens: Int) -> Int {
        guard let seconds = drain.secondsToDrain(tokens) else { return 1 }
        return max(1, min(3600, Int(seconds.rounded(.up))))
    }

    static func secondsText(_ seconds: Double) -> String {
        let tenths = (seconds * 10).rounded()
        return tenths.truncatingRemainder(dividingBy: 10) == 0 ? "\(Int(tenths / 10))" : "\(tenths / 10)"
    }
}
