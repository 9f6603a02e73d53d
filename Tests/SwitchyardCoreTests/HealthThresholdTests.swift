import Testing

@testable import SwitchyardCore

/// A table of `count` backends ("b0", "b1", …), none probed yet.
private func table(_ count: Int, unhealthy: Int = 3, healthy: Int = 1) -> BackendTable {
    BackendTable(
        (0..<count).map { BackendConfig(name: "b\($0)", url: BackendURL(host: "10.0.1.\($0)", port: 8000)) },
        thresholds: HealthThresholds(unhealthy: unhealthy, healthy: healthy))
}

/// A table whose backends have each answered one probe and list `models[i]`.
private func servingTable(_ models: [[String]], unhealthy: Int = 3, healthy: Int = 1) -> BackendTable {
    var t = table(models.count, unhealthy: unhealthy, healthy: healthy)
    for (index, ids) in models.enumerated() {
        #expect(t.probeSucceeded(backend: index) == true)
        t.modelsDiscovered(backend: index, ids.map { card($0) })
    }
    return t
}

@Suite("BackendTable: health thresholds")
struct HealthThresholdTests {
    @Test("the defaults are Kubernetes': 3 failures take a backend out, 1 success brings it back")
    func defaults() {
        #expect(HealthThresholds() == HealthThresholds(unhealthy: 3, healthy: 1))
        #expect(SwitchyardConfig().discovery.thresholds == HealthThresholds())
        #expect(BackendTable([]).thresholds == HealthThresholds())
    }

    @Test("a new backend is out of rotation until a probe answers")
    func unprobed() {
        let t = table(1)
        #expect(!t.backends[0].healthy && !t.backends[0].inRotation)
        #expect(t.backends[0].status == "unhealthy")
        #expect(!t.anyHealthy)
        #expect(t.serving(nil).isEmpty)
    }

    @Test("the very first probe's success decides at once, whatever healthy_threshold says")
    func firstSuccessDecides() {
        var t = table(1, healthy: 5)
        #expect(t.probeSucceeded(backend: 0) == true)
        #expect(t.backends[0].healthy && t.backends[0].inRotation && t.backends[0].status == "healthy")
        #expect(t.backends[0].probeStreak == 1)
        // Already healthy: further successes change nothing and report no change.
        #expect(t.probeSucceeded(backend: 0) == false)
        #expect(t.backends[0].probeStreak == 2)
    }

    @Test("a first probe that fails keeps the backend out; then healthy_threshold successes are needed")
    func firstFailureDecides() {
        var t = table(1, unhealthy: 3, healthy: 2)
        // Never healthy, so nothing is "taken out": the verdict is simply unhealthy.
        #expect(t.probeFailed(backend: 0, reason: "connection refused") == false)
        #expect(!t.backends[0].healthy && t.backends[0].lastError == "connection refused")
        #expect(t.backends[0].probeStreak == -1)
        #expect(t.probeSucceeded(backend: 0) == false)
        #expect(!t.backends[0].healthy)
        #expect(t.probeSucceeded(backend: 0) == true)
        #expect(t.backends[0].healthy && t.backends[0].lastError == nil)
    }

    @Test("unhealthy_threshold failures in a row take a healthy backend out, exactly once")
    func failuresInARow() {
        var t = servingTable([["m"]], unhealthy: 3)
        #expect(t.probeFailed(backend: 0, reason: "timeout 1") == false)
        #expect(t.probeFailed(backend: 0, reason: "timeout 2") == false)
        #expect(t.backends[0].healthy && t.backends[0].inRotation)
        #expect(t.backends[0].lastError == "timeout 2")
        #expect(t.probeFailed(backend: 0, reason: "timeout 3") == true)
        #expect(!t.backends[0].healthy && !t.backends[0].inRotation && t.backends[0].status == "unhealthy")
        #expect(t.backends[0].probeStreak == -3)
        // Further failures report no change.
        #expect(t.probeFailed(backend: 0, reason: "timeout 4") == false)
        #expect(t.backends[0].probeStreak == -4)
        // Its models are still known while it is out.
        #expect(t.knows(model: "m"))
    }

    @Test("a success between failures restarts the count")
    func interruptedFailures() {
        var t = servingTable([["m"]], unhealthy: 3)
        for _ in 0..<5 {
            #expect(t.probeFailed(backend: 0, reason: "flaky") == false)
            #expect(t.probeFailed(backend: 0, reason: "flaky") == false)
            #expect(t.probeSucceeded(backend: 0) == false)
        }
        #expect(t.backends[0].healthy)
        #expect(t.backends[0].probeStreak == 1)
    }

    @Test("healthy_threshold successes in a row bring it back; a failure between restarts the count")
    func successesInARow() {
        var t = servingTable([["m"]], unhealthy: 1, healthy: 3)
        #expect(t.probeFailed(backend: 0, reason: "down") == true)
        #expect(t.probeSucceeded(backend: 0) == false)
        #expect(t.probeSucceeded(backend: 0) == false)
        #expect(t.probeFailed(backend: 0, reason: "down again") == false)  // already out
        #expect(t.probeSucceeded(backend: 0) == false)
        #expect(t.probeSucceeded(backend: 0) == false)
        #expect(!t.backends[0].healthy)
        #expect(t.probeSucceeded(backend: 0) == true)
        #expect(t.backends[0].healthy && t.backends[0].lastError == nil)
    }

    @Test("unhealthy_threshold 1: a single failure takes it out")
    func thresholdOne() {
        var t = servingTable([["m"], ["m"]], unhealthy: 1)
        #expect(t.probeFailed(backend: 1, reason: "503") == true)
        #expect(t.serving("m") == [0])
    }

    @Test("markUnreachable takes a backend out at once; coming back still needs healthy_threshold successes")
    func unreachable() {
        var t = servingTable([["m"]], unhealthy: 3, healthy: 2)
        #expect(t.probeSucceeded(backend: 0) == false)  // streak 2, already healthy
        t.markUnreachable(backend: 0, reason: "connect: refused")
        #expect(!t.backends[0].healthy)
        #expect(t.backends[0].probeStreak == 0)
        #expect(t.backends[0].lastError == "connect: refused")
        // Not a first verdict any more: one success is not enough.
        #expect(t.probeSucceeded(backend: 0) == false)
        #expect(t.probeSucceeded(backend: 0) == true)
        #expect(t.backends[0].healthy)
        // A failure streak is kept, not reset, by markUnreachable.
        _ = t.probeFailed(backend: 0, reason: "x")
        t.markUnreachable(backend: 0, reason: "y")
        #expect(t.backends[0].probeStreak == -1)
    }

    @Test("a failing probe on a healthy backend does not affect requests in flight")
    func inFlightUntouched() {
        var h = SchedulerHarness(backends: 1) { $0.discovery.thresholds.unhealthy = 1 }
        h.dispatch(prompt: 70, output: 30)
        let before = h.load(0)
        #expect(h.scheduler.probeFailed(backend: 0, reason: "down", now: h.now).count == 0)
        #expect(!h.backends[0].healthy)
        #expect(h.load(0) == before)
    }

    @Test("Scheduler.probeFailed refuses waiting requests only when the threshold takes the backend out")
    func probeFailedRefusesAtThreshold() throws {
        var h = SchedulerHarness(backends: 1, maxConcurrent: 1) { $0.discovery.thresholds.unhealthy = 2 }
        h.dispatch()
        let waiting = h.enqueue()
        #expect(h.scheduler.probeFailed(backend: 0, reason: "timeout", now: h.now).count == 0)
        #expect(h.queuedIDs == [waiting])
        let refused = h.scheduler.probeFailed(backend: 0, reason: "timeout", now: h.now)
        #expect(refused.map(\.0) == [waiting])
        let error = try #require(refused.first?.1)
        #expect(error.status == 503 && error.reason == "no_healthy_backend")
        #expect(h.scheduler.queue.isEmpty)
        #expect(h.scheduler.counters.refusedWhileQueued == 1)
    }
}

@Suite("BackendTable: rotation, status and lookups")
struct BackendRotationTests {
    @Test("status names the strongest reason a backend is out: removed, draining, ejected, unhealthy")
    func statusPrecedence() {
        var t = servingTable([["m"]])
        var backend = t.backends[0]
        #expect(backend.status == "healthy" && backend.inRotation)
        backend.healthy = false
        #expect(backend.status == "unhealthy" && !backend.inRotation)
        backend.ejectedUntil = .seconds(5)
        #expect(backend.status == "ejected" && !backend.inRotation)
        backend.healthy = true
        #expect(backend.status == "ejected" && !backend.inRotation)
        backend.draining = true
        #expect(backend.status == "draining" && !backend.inRotation)
        backend.removed = true
        #expect(backend.status == "removed" && !backend.inRotation)
        backend.ejectedUntil = nil
        backend.draining = false
        #expect(backend.status == "removed" && !backend.inRotation)
        t.backends[0] = backend
        #expect(!t.anyHealthy)
    }

    @Test("each of ejected, draining and removed alone takes a healthy backend out of rotation")
    func eachReasonAlone() {
        let base = servingTable([["m"], ["m"], ["m"], ["m"]])
        var t = base
        t.backends[1].ejectedUntil = .seconds(1)
        t.backends[2].draining = true
        t.backends[3].removed = true
        #expect(t.serving("m") == [0])
        #expect(t.serving(nil) == [0])
        #expect(t.backends.map(\.status) == ["healthy", "ejected", "draining", "removed"])
        #expect(!t.backends[1].canServe("m") && !t.backends[1].canServe(nil))
    }

    @Test("catalog and knows ignore removed backends, but not unhealthy, draining or ejected ones")
    func catalogIgnoresRemoved() {
        var t = servingTable([["a"], ["b"], ["c"], ["d"]])
        t.backends[0].removed = true
        t.backends[1].draining = true
        t.backends[2].ejectedUntil = .seconds(3)
        t.markUnreachable(backend: 3, reason: "gone")
        #expect(t.catalog.map(\.id).sorted() == ["b", "c", "d"])
        #expect(!t.knows(model: "a"))
        #expect(t.knows(model: "b") && t.knows(model: "c") && t.knows(model: "d"))
    }

    @Test("a model only a removed backend listed is unknown once every present backend has answered")
    func removedModelIsUnknown() {
        var t = servingTable([["a"], ["b"]])
        t.backends[0].removed = true
        guard case .failure(let error) = t.eligible(model: "a", need: nil, margin: 0) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.status == 404 && error.reason == "unknown_model")
        #expect(error.message == "The model `a` does not exist. Valid aliases: b.")
    }

    @Test("index(named:) finds present backends only")
    func indexNamed() {
        var t = servingTable([["m"], ["m"], ["m"]])
        #expect(t.index(named: "b0") == 0 && t.index(named: "b2") == 2)
        #expect(t.index(named: "b9") == nil)
        #expect(t.index(named: "B1") == nil)  // names are exact
        t.backends[1].removed = true
        #expect(t.index(named: "b1") == nil)
        // Draining or unhealthy backends are still present.
        t.backends[2].draining = true
        t.markUnreachable(backend: 0, reason: "x")
        #expect(t.index(named: "b0") == 0 && t.index(named: "b2") == 2)
    }

    @Test("eligible(excluding:) leaves out the backends a retry already tried")
    func eligibleExcluding() {
        let t = servingTable([["m"], ["m"], ["m"]])
        #expect(t.eligible(model: "m", need: nil, margin: 0, excluding: []) == .success([0, 1, 2]))
        #expect(t.eligible(model: "m", need: nil, margin: 0, excluding: [1]) == .success([0, 2]))
        #expect(t.eligible(model: nil, need: nil, margin: 0, excluding: [0, 2]) == .success([1]))
        // Indices that are not backends are ignored.
        #expect(t.eligible(model: "m", need: nil, margin: 0, excluding: [7, -1]) == .success([0, 1, 2]))
    }

    @Test("excluding every backend that serves the model is a 503, not an unknown model")
    func eligibleExcludingAll() {
        let t = servingTable([["m"], ["m"], ["other"]])
        guard case .failure(let error) = t.eligible(model: "m", need: nil, margin: 0, excluding: [0, 1]) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.status == 503 && error.reason == "no_healthy_backend")
        #expect(error.message == "No healthy backend is available serving model `m`; try again shortly.")
        #expect(error.retryAfterSeconds == 2)
        guard case .failure(let any) = t.eligible(model: nil, need: nil, margin: 0, excluding: [0, 1, 2]) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(any.message == "No healthy backend is available; try again shortly.")
    }

    @Test("excluded backends do not count for context fit either")
    func excludedContext() {
        var t = table(2)
        for index in 0..<2 {
            _ = t.probeSucceeded(backend: index)
        }
        t.modelsDiscovered(backend: 0, [card("m", maxModelLen: 100_000)])
        t.modelsDiscovered(backend: 1, [card("m", maxModelLen: 1000)])
        let need = ContextNeed(textTokens: 5000, mediaTokens: 0, outputBudget: 100)
        #expect(t.eligible(model: "m", need: need, margin: 0.05) == .success([0]))
        guard case .failure(let error) = t.eligible(model: "m", need: need, margin: 0.05, excluding: [0]) else {
            Issue.record("expected a refusal")
            return
        }
        #expect(error.reason == "context_length_exceeded")
        #expect(error.message.hasPrefix("This model's maximum context length is 1000 tokens."))
    }
}
