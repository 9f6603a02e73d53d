/// Backend lifecycle beyond probes: passive outlier detection, retries, and the operator's
/// add, remove, drain and undrain. Each is an event in, decisions out, like the rest.
extension Scheduler {
    /// An ejection in force: the caller arranges `ejectionEnded` at `until`.
    public struct Ejection: Sendable, Equatable {
        public var backend: Int
        public var until: Duration
        public var length: Duration
    }

    // MARK: - Passive outlier detection

    /// An exchange with the backend went well as far as the backend is concerned: any answer
    /// below 500 (4xx included: it proves the backend alive). Resets the failure count, and the
    /// ejection backoff once it is back in rotation.
    public mutating func exchangeSucceeded(backend: Int) {
        guard table.backends.indices.contains(backend) else { return }
        table.backends[backend].failureStreak = 0
        if table.backends[backend].ejectedUntil == nil { table.backends[backend].ejections = 0 }
    }

    /// An exchange failed: connect failure, reset, stall, first-token timeout, or a 5xx. After
    /// `outlier.consecutive_failures` in a row the backend is ejected (unless too many are
    /// already); waiting requests nothing else can serve are refused.
    public mutating func exchangeFailed(backend: Int, now: Duration) -> (Ejection?, [(UInt64, OpenAIError)]) {
        guard outlier.enabled, table.backends.indices.contains(backend), !table.backends[backend].removed else {
            return (nil, [])
        }
        var entry = table.backends[backend]
        entry.failureStreak += 1
        defer { table.backends[backend] = entry }
        guard entry.ejectedUntil == nil, entry.failureStreak >= outlier.consecutiveFailures else { return (nil, []) }
        let present = table.backends.filter { !$0.removed }.count
        let ejected = table.backends.filter { !$0.removed && $0.ejectedUntil != nil }.count
        let allowed = max(1, present * outlier.maxEjectedPercent / 100)
        guard ejected < allowed else { return (nil, []) }
        entry.ejections += 1
        entry.failureStreak = 0
        let length = outlier.ejectionLength(entry.ejections)
        entry.ejectedUntil = now + length
        entry.lastError = "ejected after \(outlier.consecutiveFailures) failures in a row"
        table.backends[backend] = entry
        counters.ejections += 1
        return (Ejection(backend: backend, until: now + length, length: length), refuseUnservable(now: now))
    }

    /// An ejection's time is up: the backend takes requests again (one more failure in a row
    /// ejects it for twice as long).
    public mutating func ejectionEnded(backend: Int, now: Duration) -> [Ticket] {
        guard table.backends.indices.contains(backend), let until = table.backends[backend].ejectedUntil,
            until <= now
        else { return [] }
        table.backends[backend].ejectedUntil = nil
        table.backends[backend].failureStreak = max(0, outlier.consecutiveFailures - 1)
        table.backends[backend].lastError = nil
        return bindWaiting(now: now)
    }

    // MARK: - Retries

    /// Sends a request that failed on `ticket.backend` before any response byte reached the
    /// client to another backend: the request, with every backend it tried excluded, is
    /// admitted afresh (ahead of the waiting ones the freed slot may then bind), and the slot it
    /// held is released (no drain credit: nothing was served). A refusal changes nothing: no
    /// other backend can take it, and the caller answers with the original failure.
    public mutating func retry(
        _ request: ScheduleRequest, releasing ticket: Ticket, now: Duration
    ) -> (admission: Admission, bound: [Ticket]) {
        var again = request
        if !again.excluded.contains(ticket.backend) { again.excluded.append(ticket.backend) }
        // The failed backend is excluded, so its slot does not enter the decision: a refusal
        // leaves everything as it was, and the caller goes on with the ticket it holds.
        let admission = decide(again, now: now)
        if case .refuse = admission { return (admission, []) }
        counters.retried += 1
        table.backends[ticket.backend].load.release(ticket)
        return (admission, bindWaiting(now: now))
    }

    // MARK: - Operators: add, remove, drain, reload

    /// A reloaded configuration's policies: routing, queue limits and fairness, admission
    /// margin, outlier detection and health thresholds (backends change through their own events).
    public mutating func reconfigure(_ config: SwitchyardConfig) {
        routing = config.routing
        queueConfig = config.queue
        margin = config.admission.margin
        outlier = config.outlier
        scrapeMaxAge = config.routing.metricsScrapeInterval * 3
        table.thresholds = config.discovery.thresholds
        queue.reconfigure(
            quantum: config.queue.quantum, agingInterval: config.queue.agingInterval,
            weights: config.queue.tenantWeights)
    }

    /// Adds a backend (or brings back a removed one of the same name) as unprobed: it takes
    /// requests once a probe says it is healthy. Nil if a present backend has that name.
    public mutating func addBackend(_ config: BackendConfig) -> Int? {
        guard table.index(named: config.name) == nil else { return nil }
        let index: Int
        if let tombstone = table.backends.indices.first(where: {
            table.backends[$0].removed && table.backends[$0].name == config.name
        }) {
            var revived = BackendTable.Backend(config: config)
            revived.load = table.backends[tombstone].load
            table.backends[tombstone] = revived
            index = tombstone
        } else {
            table.backends.append(BackendTable.Backend(config: config))
            index = table.backends.count - 1
        }
        ring = HashRing(names: table.backends.map { $0.removed ? "" : $0.name })
        return index
    }

    /// Changes a present backend's limits and settings (not its name).
    public mutating func updateBackend(_ index: Int, config: BackendConfig, now: Duration) -> [Ticket] {
        let urlChanged = table.backends[index].url != config.url
        table.backends[index].config = config
        if urlChanged {
            // Another server: nothing known of the old one carries over.
            table.backends[index].healthy = false
            table.backends[index].probeStreak = 0
            table.backends[index].lastError = nil
            table.backends[index].models = []
            table.backends[index].modelsKnown = false
        }
        return bindWaiting(now: now)
    }

    /// Removes a backend: no new requests; those in flight finish. Waiting requests that only
    /// it could serve are refused.
    public mutating func removeBackend(_ index: Int, now: Duration) -> [(UInt64, OpenAIError)] {
        table.backends[index].removed = true
        table.backends[index].draining = true
        ring = HashRing(names: table.backends.map { $0.removed ? "" : $0.name })
        return refuseUnservable(now: now)
    }

    /// Draining: no new requests, those in flight finish.
    public mutating func drainBackend(_ index: Int, now: Duration) -> [(UInt64, OpenAIError)] {
        table.backends[index].draining = true
        return refuseUnservable(now: now)
    }

    public mutating func undrainBackend(_ index: Int, now: Duration) -> [Ticket] {
        table.backends[index].draining = false
        return bindWaiting(now: now)
    }
}
