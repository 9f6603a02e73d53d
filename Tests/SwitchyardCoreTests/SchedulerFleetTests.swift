import Testing

@testable import SwitchyardCore

/// `count` healthy backends serving "m" with outlier detection set for the test.
func fleet(
    _ count: Int, maxConcurrent: Int = 256, failures: Int = 3, base: Duration = .seconds(5),
    max: Duration = .seconds(40), percent: Int = 50, configure: (inout SwitchyardConfig) -> Void = { _ in }
) -> SchedulerHarness {
    SchedulerHarness(backends: count, maxConcurrent: maxConcurrent) { config in
        config.outlier.consecutiveFailures = failures
        config.outlier.baseEjection = base
        config.outlier.maxEjection = max
        config.outlier.maxEjectedPercent = percent
        configure(&config)
    }
}

/// Everything a refused retry must leave as it was.
struct Snapshot: Equatable {
    var backends: [BackendTable.Backend]
    var queue: [QueuedRequest]
    var counters: Scheduler.Counters
    var drain: DrainRate
    var rotation: [String: Int]

    init(_ scheduler: Scheduler) {
        backends = scheduler.table.backends
        queue = scheduler.queue.entries
        counters = scheduler.counters
        drain = scheduler.drain
        rotation = scheduler.rotation
    }
}

extension SchedulerHarness {
    /// Dispatches a request that only `backend` may take (every other one is excluded for this
    /// submission). Returns the request as the proxy keeps it, without those exclusions.
    @discardableResult
    mutating func dispatchOnly(
        on backend: Int, model: String? = "m", prompt: Int = 100, output: Int = 100,
        sourceLocation: SourceLocation = #_sourceLocation
    ) -> ScheduleRequest {
        let id = nextID
        nextID += 1
        var request = request(id: id, model: model, prompt: prompt, output: output)
        request.excluded = backends.indices.filter { $0 != backend }
        let admission = scheduler.submit(request, now: now)
        if case .dispatch(let ticket) = admission, ticket.backend == backend {
            held[id] = ticket
        } else {
            Issue.record("could not place request \(id) on b\(backend): \(admission)", sourceLocation: sourceLocation)
        }
        request.excluded = []
        return request
    }

    /// Retries `request`, which holds a ticket, as the proxy does; the admission and the ids of
    /// the waiting requests the released slot bound.
    mutating func retryHeld(
        _ request: ScheduleRequest, sourceLocation: SourceLocation = #_sourceLocation
    ) -> (admission: Admission, bound: [UInt64]) {
        guard let ticket = held[request.id] else {
            Issue.record("request \(request.id) holds no ticket", sourceLocation: sourceLocation)
            return (.refuse(OpenAIError(status: 500, message: "", reason: "test")), [])
        }
        let (admission, bound) = scheduler.retry(request, releasing: ticket, now: now)
        switch admission {
        case .dispatch(let ticket): held[request.id] = ticket
        case .queued: held[request.id] = nil
        case .refuse: break
        }
        return (admission, hold(bound))
    }

    /// `count` failed exchanges in a row with `backend`; the last one's ejection.
    @discardableResult
    mutating func fail(_ backend: Int, times count: Int = 1) -> Scheduler.Ejection? {
        var ejection: Scheduler.Ejection?
        for _ in 0..<count { ejection = scheduler.exchangeFailed(backend: backend, now: now).0 }
        return ejection
    }

    func ticketBackend(_ id: UInt64) -> Int? { held[id]?.backend }
}

extension Admission {
    var backend: Int? {
        if case .dispatch(let ticket) = self { return ticket.backend }
        return nil
    }
    var refusal: OpenAIError? {
        if case .refuse(let error) = self { return error }
        return nil
    }
}

@Suite("OutlierConfig")
struct OutlierConfigTests {
    @Test("the defaults")
    func defaults() {
        let outlier = OutlierConfig()
        #expect(outlier.enabled && outlier.consecutiveFailures == 5 && outlier.maxEjectedPercent == 50)
        #expect(outlier.baseEjection == .seconds(5) && outlier.maxEjection == .seconds(300))
    }

    @Test("ejection n lasts base × 2^(n-1), capped at max_ejection")
    func ejectionLength() {
        var outlier = OutlierConfig()
        outlier.baseEjection = .seconds(5)
        outlier.maxEjection = .seconds(300)
        #expect((1...8).map { outlier.ejectionLength($0) } == [5, 10, 20, 40, 80, 160, 300, 300].map { .seconds($0) })
        // Counts below 1 are the first ejection.
        #expect(outlier.ejectionLength(0) == .seconds(5))
        #expect(outlier.ejectionLength(-3) == .seconds(5))
    }

    @Test("huge ejection counts neither overflow nor exceed the cap")
    func hugeCounts() {
        var outlier = OutlierConfig()
        outlier.baseEjection = .milliseconds(1)
        outlier.maxEjection = .seconds(100 * 365 * 86_400)  // the longest duration the config accepts
        #expect(outlier.ejectionLength(31) == .milliseconds(1 << 30))
        #expect(outlier.ejectionLength(10_000) == .milliseconds(1 << 30))
        #expect(outlier.ejectionLength(Int.max) == .milliseconds(1 << 30))
        outlier.baseEjection = outlier.maxEjection
        #expect(outlier.ejectionLength(Int.max) == outlier.maxEjection)
    }
}

@Suite("Scheduler: passive outlier detection")
struct OutlierEjectionTests {
    @Test("consecutive_failures in a row eject the backend; a success between starts the count over")
    func ejectsAfterConsecutiveFailures() {
        var h = fleet(3, failures: 3)
        #expect(h.fail(0, times: 2) == nil)
        h.scheduler.exchangeSucceeded(backend: 0)
        #expect(h.backends[0].failureStreak == 0)
        #expect(h.fail(0, times: 2) == nil)
        #expect(h.backends[0].inRotation && h.backends[0].failureStreak == 2)
        h.now = .seconds(100)
        let (ejection, refused) = h.scheduler.exchangeFailed(backend: 0, now: h.now)
        #expect(ejection == Scheduler.Ejection(backend: 0, until: .seconds(105), length: .seconds(5)))
        #expect(refused.isEmpty)
        let backend = h.backends[0]
        #expect(backend.status == "ejected" && !backend.inRotation)
        #expect(backend.healthy, "ejection is not a health verdict")
        #expect(backend.ejectedUntil == .seconds(105) && backend.ejections == 1 && backend.failureStreak == 0)
        #expect(backend.lastError == "ejected after 3 failures in a row")
        #expect(h.scheduler.counters.ejections == 1)
        #expect(h.backends[1].inRotation && h.backends[2].inRotation)
    }

    @Test("each backend keeps its own count: failures elsewhere do not interrupt a streak")
    func perBackendStreaks() {
        var h = fleet(3, failures: 3, percent: 100)
        for _ in 0..<2 {
            #expect(h.fail(0) == nil)
            #expect(h.fail(1) == nil)
            h.scheduler.exchangeSucceeded(backend: 2)
        }
        #expect(h.fail(0)?.backend == 0)
        #expect(h.backends[1].failureStreak == 2 && h.backends[1].inRotation)
        #expect(h.fail(1)?.backend == 1)
    }

    @Test("disabled: failures are not even counted")
    func disabled() {
        var h = fleet(2, failures: 1) { $0.outlier.enabled = false }
        #expect(h.fail(0, times: 20) == nil)
        #expect(h.backends[0].failureStreak == 0 && h.backends[0].inRotation)
        #expect(h.scheduler.counters.ejections == 0)
    }

    @Test("events for unknown backends are ignored")
    func unknownIndex() {
        var h = fleet(1, failures: 1)
        h.scheduler.exchangeSucceeded(backend: 5)
        h.scheduler.exchangeSucceeded(backend: -1)
        let (ejection, refused) = h.scheduler.exchangeFailed(backend: 5, now: h.now)
        #expect(ejection == nil && refused.isEmpty)
        #expect(h.scheduler.ejectionEnded(backend: 5, now: .seconds(1000)).isEmpty)
        #expect(h.backends[0].inRotation)
    }

    @Test("an ejected backend gets no new requests; those in flight finish and release exactly")
    func ejectedKeepsInFlight() throws {
        var h = fleet(2, failures: 1)
        let idle = h.load(0)
        let running = h.dispatchOnly(on: 0, prompt: 300, output: 50)
        let loaded = h.load(0)
        #expect(loaded.inFlight == 1 && loaded.reservedTokens == 350)
        #expect(h.fail(0)?.backend == 0)
        #expect(h.load(0) == loaded, "ejection leaves the tickets in flight alone")
        for _ in 0..<5 { #expect(h.dispatch() == 1) }
        #expect(h.load(0) == loaded)
        #expect(h.finish(running.id).isEmpty)
        #expect(h.load(0) == idle)
    }

    @Test("waiting requests nothing else can serve are refused at the ejection; the others keep waiting")
    func ejectionRefusesUnservable() throws {
        var h = SchedulerHarness(models: [["x"], ["y"]], maxConcurrent: 1) { config in
            config.outlier.consecutiveFailures = 1
            config.outlier.maxEjectedPercent = 100
        }
        h.dispatch(model: "x")
        h.dispatch(model: "y")
        let waitingX = h.enqueue(model: "x")
        let waitingY = h.enqueue(model: "y")
        let (ejection, refused) = h.scheduler.exchangeFailed(backend: 0, now: h.now)
        #expect(ejection?.backend == 0)
        #expect(refused.map(\.0) == [waitingX])
        let error = try #require(refused.first?.1)
        #expect(error.status == 503 && error.reason == "no_healthy_backend")
        #expect(error.message == "No healthy backend is available serving model `x`; try again shortly.")
        #expect(h.queuedIDs == [waitingY])
        #expect(h.scheduler.counters.refusedWhileQueued == 1)
    }

    @Test("when the ejection ends the backend is readmitted and binds the requests waiting for it")
    func readmissionBindsWaiting() throws {
        var h = fleet(2, maxConcurrent: 1, failures: 1)
        let ejectionResult = h.fail(0)
        let ejection = try #require(ejectionResult)
        #expect(ejection.until == .seconds(5))
        #expect(h.dispatch() == 1)
        let waiting = h.enqueue()  // b1 is full, b0 ejected: it waits (b1 could serve it)
        h.now = .seconds(4)
        #expect(h.scheduler.ejectionEnded(backend: 0, now: h.now).isEmpty, "not yet")
        #expect(h.backends[0].status == "ejected" && h.queuedIDs == [waiting])
        h.now = .seconds(5)
        #expect(h.hold(h.scheduler.ejectionEnded(backend: 0, now: h.now)) == [waiting])
        #expect(h.ticketBackend(waiting) == 0)
        #expect(h.backends[0].status == "healthy" && h.backends[0].ejectedUntil == nil)
        // A second call (a stale timer) changes nothing.
        #expect(h.scheduler.ejectionEnded(backend: 0, now: .seconds(50)).isEmpty)
        #expect(h.backends[0].inRotation)
    }

    @Test("after readmission one more failure ejects again for twice as long, up to max_ejection")
    func backoffDoubles() throws {
        var h = fleet(2, failures: 3, base: .seconds(5), max: .seconds(30))
        var lengths: [Duration] = []
        let ejectionResult = h.fail(0, times: 3)
        var ejection = try #require(ejectionResult)
        lengths.append(ejection.length)
        for _ in 0..<4 {
            h.now = ejection.until
            _ = h.scheduler.ejectionEnded(backend: 0, now: h.now)
            #expect(h.backends[0].inRotation)
            #expect(h.backends[0].failureStreak == 2, "one failure short of the threshold")
            h.now += .seconds(1)
            let next = h.fail(0)
            ejection = try #require(next)
            #expect(ejection.until == h.now + ejection.length)
            lengths.append(ejection.length)
        }
        #expect(lengths == [5, 10, 20, 30, 30].map { .seconds($0) })
        #expect(h.backends[0].ejections == 5)
        #expect(h.scheduler.counters.ejections == 5)
    }

    @Test("a success while ejected neither readmits nor resets the backoff; one after readmission does")
    func backoffReset() throws {
        var h = fleet(2, failures: 2, base: .seconds(5), max: .seconds(300))
        let ejectionResult = h.fail(0, times: 2)
        var ejection = try #require(ejectionResult)
        // A request that was in flight there ends well: still ejected, backoff kept.
        h.scheduler.exchangeSucceeded(backend: 0)
        #expect(h.backends[0].status == "ejected" && h.backends[0].ejections == 1)
        h.now = ejection.until
        _ = h.scheduler.ejectionEnded(backend: 0, now: h.now)
        let next = h.fail(0)
        ejection = try #require(next)
        #expect(ejection.length == .seconds(10))
        h.now = ejection.until
        _ = h.scheduler.ejectionEnded(backend: 0, now: h.now)
        // Back in rotation, a success: the next ejection starts from the base length again,
        // and needs the full count of failures.
        h.scheduler.exchangeSucceeded(backend: 0)
        #expect(h.backends[0].ejections == 0 && h.backends[0].failureStreak == 0)
        #expect(h.fail(0) == nil)
        let last = h.fail(0)
        ejection = try #require(last)
        #expect(ejection.length == .seconds(5))
    }

    @Test("failures while ejected neither extend the ejection nor count as ejections")
    func failuresWhileEjected() throws {
        var h = fleet(2, failures: 1)
        let ejectionResult = h.fail(0)
        let ejection = try #require(ejectionResult)
        h.now = .seconds(2)
        #expect(h.fail(0, times: 10) == nil)
        #expect(h.backends[0].ejectedUntil == ejection.until)
        #expect(h.scheduler.counters.ejections == 1 && h.backends[0].ejections == 1)
    }

    @Test(
        "max_ejected_percent caps ejections at that share of the present backends, at least one",
        arguments: [
            (percent: 50, count: 4, ejectable: 2), (percent: 25, count: 4, ejectable: 1),
            (percent: 0, count: 3, ejectable: 1), (percent: 10, count: 4, ejectable: 1),
            (percent: 34, count: 3, ejectable: 1), (percent: 67, count: 3, ejectable: 2),
            (percent: 100, count: 3, ejectable: 3), (percent: 50, count: 1, ejectable: 1),
        ])
    func ejectedPercentCap(percent: Int, count: Int, ejectable: Int) {
        var h = fleet(count, failures: 1, percent: percent)
        let ejected = (0..<count).filter { h.fail($0) != nil }
        #expect(ejected == Array(0..<ejectable))
        #expect(h.backends.filter { $0.ejectedUntil != nil }.count == ejectable)
        #expect(h.scheduler.counters.ejections == ejectable)
    }

    @Test("a backend held back by the cap is ejected by its next failure once there is room")
    func capFreesUp() throws {
        var h = fleet(4, failures: 2, percent: 50)
        #expect(h.fail(0, times: 2) != nil)
        #expect(h.fail(1, times: 2) != nil)
        #expect(h.fail(2, times: 2) == nil)
        #expect(h.backends[2].inRotation && h.backends[2].failureStreak == 2)
        h.now = .seconds(5)
        _ = h.scheduler.ejectionEnded(backend: 0, now: h.now)
        let ejectionResult = h.fail(2)
        let ejection = try #require(ejectionResult)
        #expect(ejection.length == .seconds(5))
    }

    @Test("removed backends do not count toward the cap")
    func capIgnoresRemoved() {
        var h = fleet(4, failures: 1, percent: 50)
        _ = h.scheduler.removeBackend(3, now: h.now)
        _ = h.scheduler.removeBackend(2, now: h.now)
        #expect(h.fail(0) != nil)
        #expect(h.fail(1) == nil, "2 present backends at 50%: one may be ejected")
    }
}

@Suite("Scheduler: add, remove, drain, update, reconfigure")
struct SchedulerFleetControlTests {
    private func config(_ name: String, host: String, maxConcurrent: Int = 256) -> BackendConfig {
        BackendConfig(name: name, url: BackendURL(host: host, port: 8000), maxConcurrent: maxConcurrent)
    }

    @Test("an added backend is unprobed: it takes requests once a probe says it is healthy")
    func addBackend() throws {
        var h = fleet(1)
        let indexResult = h.scheduler.addBackend(config("new", host: "10.9.0.1"))
        let index = try #require(indexResult)
        #expect(index == 1)
        #expect(h.backends[1].status == "unhealthy" && !h.backends[1].modelsKnown)
        #expect(h.scheduler.table.index(named: "new") == 1)
        for _ in 0..<3 { #expect(h.dispatch() == 0) }
        _ = h.scheduler.probeSucceeded(backend: 1, now: h.now)
        _ = h.scheduler.modelsDiscovered(backend: 1, [card("m")], now: h.now)
        #expect(h.backends[1].inRotation)
        #expect(h.dispatch() == 1, "least-tokens: the idle newcomer")
    }

    @Test("adding a name that is present is refused")
    func addDuplicate() {
        var h = fleet(2)
        let before = h.backends
        #expect(h.scheduler.addBackend(config("b1", host: "10.9.0.1")) == nil)
        #expect(h.backends == before)
    }

    @Test("an added backend whose first probe succeeds binds the requests waiting")
    func addBindsAfterProbe() throws {
        var h = fleet(1, maxConcurrent: 1)
        h.dispatch()
        let waiting = h.enqueue()
        let indexResult = h.scheduler.addBackend(config("new", host: "10.9.0.1"))
        let index = try #require(indexResult)
        #expect(h.scheduler.probeSucceeded(backend: index, now: h.now).isEmpty, "its models are not known yet")
        #expect(h.hold(h.scheduler.modelsDiscovered(backend: index, [card("m")], now: h.now)) == [waiting])
        #expect(h.ticketBackend(waiting) == index)
    }

    @Test("removing: in-flight requests finish and release exactly; waiting ones only it could serve are refused")
    func removeBackend() throws {
        var h = SchedulerHarness(models: [["x"], ["y"]], maxConcurrent: 1)
        let running = h.nextID
        h.dispatch(model: "x", prompt: 250, output: 25)
        h.dispatch(model: "y")
        let waitingX = h.enqueue(model: "x")
        let waitingY = h.enqueue(model: "y")
        let refused = h.scheduler.removeBackend(0, now: h.now)
        #expect(refused.map(\.0) == [waitingX])
        // Nothing present lists "x" any more: the model is unknown now, as for a new request.
        #expect(refused.first?.1.status == 404 && refused.first?.1.reason == "unknown_model")
        #expect(h.queuedIDs == [waitingY])
        #expect(h.backends[0].status == "removed" && h.backends[0].removed && h.backends[0].draining)
        #expect(h.load(0).inFlight == 1 && h.load(0).reservedTokens == 275)
        // Forgotten for lookups and the catalog.
        #expect(h.scheduler.table.index(named: "b0") == nil)
        #expect(h.scheduler.table.catalog.map(\.id) == ["y"])
        #expect(!h.scheduler.table.knows(model: "x"))
        #expect(h.refusal(model: "x")?.reason == "unknown_model")
        // Its request in flight finishes; nothing is bound to a removed backend.
        #expect(h.finish(running).isEmpty)
        #expect(h.load(0).inFlight == 0 && h.load(0).reservedTokens == 0 && h.load(0).pendingPrompt == 0)
        #expect(h.queuedIDs == [waitingY])
    }

    @Test("re-adding a removed name reuses its slot and its load: old tickets still release exactly")
    func readdReusesTombstone() throws {
        var h = fleet(2)
        let running = h.dispatchOnly(on: 0, prompt: 120, output: 30)
        _ = h.scheduler.removeBackend(0, now: h.now)
        let indexResult = h.scheduler.addBackend(config("b0", host: "10.9.9.9", maxConcurrent: 7))
        let index = try #require(indexResult)
        #expect(index == 0 && h.backends.count == 2)
        let revived = h.backends[0]
        #expect(!revived.removed && !revived.draining && !revived.healthy && !revived.modelsKnown)
        #expect(revived.url.host == "10.9.9.9" && revived.maxConcurrent == 7)
        #expect(revived.load.inFlight == 1 && revived.load.reservedTokens == 150)
        #expect(h.scheduler.table.index(named: "b0") == 0)
        #expect(h.finish(running.id).isEmpty)
        #expect(h.load(0).inFlight == 0 && h.load(0).reservedTokens == 0)
    }

    @Test("draining: no new requests, in-flight ones finish, undrain binds the waiting")
    func drainAndUndrain() throws {
        var h = fleet(2, maxConcurrent: 1)
        let onB0 = h.dispatchOnly(on: 0)
        h.dispatchOnly(on: 1)
        let waiting = h.enqueue()
        #expect(h.scheduler.drainBackend(0, now: h.now).isEmpty, "b1 can still serve it")
        #expect(h.backends[0].status == "draining")
        #expect(h.scheduler.table.index(named: "b0") == 0, "a draining backend is still present")
        #expect(h.finish(onB0.id).isEmpty, "the freed slot is not used while draining")
        #expect(h.load(0).inFlight == 0)
        #expect(h.queuedIDs == [waiting])
        #expect(h.hold(h.scheduler.undrainBackend(0, now: h.now)) == [waiting])
        #expect(h.ticketBackend(waiting) == 0)
        #expect(h.backends[0].status == "healthy")
    }

    @Test("draining the only backend for a model refuses its waiting requests and new ones")
    func drainRefusesUnservable() throws {
        var h = SchedulerHarness(models: [["x"], ["y"]], maxConcurrent: 1)
        h.dispatch(model: "x")
        let waiting = h.enqueue(model: "x")
        let refused = h.scheduler.drainBackend(0, now: h.now)
        #expect(refused.map(\.0) == [waiting])
        #expect(refused.first?.1.status == 503)
        #expect(h.scheduler.queue.isEmpty)
        #expect(h.refusal(model: "x")?.reason == "no_healthy_backend", "still listed: a 503, not a 404")
    }

    @Test("updating limits keeps health and binds waiting requests the new limits admit")
    func updateLimits() throws {
        var h = fleet(1, maxConcurrent: 1)
        h.dispatch()
        let first = h.enqueue()
        let second = h.enqueue()
        var updated = h.backends[0].config
        updated.maxConcurrent = 2
        #expect(h.hold(h.scheduler.updateBackend(0, config: updated, now: h.now)) == [first])
        #expect(h.backends[0].healthy && h.backends[0].modelsKnown)
        #expect(h.backends[0].maxConcurrent == 2)
        #expect(h.queuedIDs == [second])
    }

    @Test("a new URL takes the backend out until a probe, which decides at once")
    func updateURL() throws {
        var h = fleet(2) { $0.discovery.thresholds.healthy = 3 }
        _ = h.scheduler.probeFailed(backend: 0, reason: "slow", now: h.now)
        var updated = h.backends[0].config
        updated.url = BackendURL(host: "10.7.7.7", port: 9000)
        #expect(h.scheduler.updateBackend(0, config: updated, now: h.now).isEmpty)
        let backend = h.backends[0]
        #expect(!backend.healthy && !backend.modelsKnown && backend.lastError == nil && backend.probeStreak == 0)
        #expect(backend.url == updated.url)
        for _ in 0..<3 { #expect(h.dispatch() == 1) }
        _ = h.scheduler.probeSucceeded(backend: 0, now: h.now)
        #expect(h.backends[0].healthy, "the first probe of the new URL decides, despite healthy_threshold 3")
    }

    @Test("reconfigure applies new outlier and health thresholds to later events")
    func reconfigure() throws {
        var h = fleet(2, failures: 5)
        #expect(h.fail(0, times: 4) == nil)
        _ = h.scheduler.probeFailed(backend: 1, reason: "x", now: h.now)
        #expect(h.backends[1].healthy)
        var config = SwitchyardConfig()
        config.outlier.consecutiveFailures = 2
        config.outlier.baseEjection = .seconds(7)
        config.discovery.thresholds = HealthThresholds(unhealthy: 2, healthy: 1)
        h.scheduler.reconfigure(config)
        #expect(h.scheduler.table.thresholds == config.discovery.thresholds)
        #expect(h.backends.map(\.name) == ["b0", "b1"], "backends change through their own events")
        // b0's streak (4) already exceeds the new threshold: the next failure ejects, for 7s.
        #expect(h.fail(0)?.length == .seconds(7))
        _ = h.scheduler.probeFailed(backend: 1, reason: "y", now: h.now)
        #expect(!h.backends[1].healthy, "two failures in a row under the new threshold")
        // Disabling outlier detection stops ejections.
        config.outlier.enabled = false
        h.scheduler.reconfigure(config)
        _ = h.scheduler.probeSucceeded(backend: 1, now: h.now)
        #expect(h.fail(1, times: 10) == nil)
    }
}
