import Testing

@testable import SwitchyardCore

@Suite("Scheduler: retries before the first byte")
struct SchedulerRetryTests {
    @Test("a retry goes to another backend, releases the old slot exactly, and is counted")
    func retryElsewhere() throws {
        var h = fleet(3)
        let idle = h.load(0)
        let request = h.dispatchOnly(on: 0, prompt: 400, output: 40)
        let dispatched = h.scheduler.counters.dispatched
        let drain = h.scheduler.drain
        let (admission, bound) = h.retryHeld(request)
        let backend = try #require(admission.backend)
        #expect(backend != 0)
        #expect(bound.isEmpty)
        #expect(h.load(0) == idle)
        #expect(h.load(backend).inFlight == 1 && h.load(backend).reservedTokens == 440)
        guard case .dispatch(let ticket) = admission else { return }
        #expect(ticket.request == request.id && ticket.prompt == 400 && ticket.output == 40)
        #expect(h.scheduler.counters.retried == 1)
        #expect(h.scheduler.counters.dispatched == dispatched + 1)
        #expect(h.scheduler.counters.refused.isEmpty)
        #expect(h.scheduler.drain == drain, "no drain credit: nothing was served")
    }

    @Test("a ticket that had its first token is released exactly too")
    func retryAfterFirstToken() throws {
        var h = fleet(2)
        let idle = h.load(0)
        let request = h.dispatchOnly(on: 0, prompt: 200, output: 20)
        h.now = .seconds(1)
        h.firstToken(request.id)
        #expect(h.load(0).decoding == 1)
        let (admission, _) = h.retryHeld(request)
        #expect(admission.backend == 1)
        var expected = idle
        expected.ttftPerPromptToken = h.load(0).ttftPerPromptToken
        #expect(h.load(0) == expected)
        #expect(h.load(0).decodingStartSum == 0 && h.load(0).pendingPrompt == 0)
    }

    @Test("never the same backend, even when the caller did not exclude it")
    func neverTheSameBackend() throws {
        var h = fleet(2)
        let request = h.dispatchOnly(on: 1)
        #expect(request.excluded.isEmpty)
        let (admission, _) = h.retryHeld(request)
        #expect(admission.backend == 0)
    }

    @Test("every backend tried is excluded, then the retry is refused")
    func excludesTriedBackends() throws {
        var h = fleet(3)
        var request = h.dispatchOnly(on: 0)
        var tried = [0]
        for _ in 0..<2 {
            request.excluded = tried  // the proxy keeps the list of backends it tried
            let (admission, _) = h.retryHeld(request)
            let backend = try #require(admission.backend)
            #expect(!tried.contains(backend))
            tried.append(backend)
        }
        #expect(tried.sorted() == [0, 1, 2])
        request.excluded = tried
        let snapshot = Snapshot(h.scheduler)
        let (admission, bound) = h.retryHeld(request)
        let error = try #require(admission.refusal)
        #expect(error.status == 503 && error.reason == "no_healthy_backend")
        #expect(bound.isEmpty)
        #expect(Snapshot(h.scheduler) == snapshot)
        #expect(h.scheduler.counters.retried == 2)
    }

    @Test("a refused retry changes nothing: no backend can take it")
    func refusalWithoutOtherBackend() throws {
        var h = fleet(1)
        let request = h.dispatchOnly(on: 0, prompt: 500, output: 5)
        let snapshot = Snapshot(h.scheduler)
        let (admission, bound) = h.retryHeld(request)
        #expect(admission.refusal?.reason == "no_healthy_backend")
        #expect(bound.isEmpty)
        #expect(Snapshot(h.scheduler) == snapshot)
        #expect(h.load(0).inFlight == 1 && h.load(0).reservedTokens == 505)
        #expect(h.scheduler.counters.refused.isEmpty, "a retry is not a new request")
        // The caller still holds its ticket, and releasing it works as ever.
        #expect(h.finish(request.id).isEmpty)
        #expect(h.load(0).inFlight == 0 && h.load(0).reservedTokens == 0)
    }

    @Test("a refused retry changes nothing: the other backends are full and the queue is too")
    func refusalQueueFull() throws {
        var h = fleet(2, maxConcurrent: 1) { $0.queue.maxRequests = 1 }
        let request = h.dispatchOnly(on: 0)
        h.dispatch()
        let waiting = h.enqueue()
        let snapshot = Snapshot(h.scheduler)
        let (admission, bound) = h.retryHeld(request)
        let error = try #require(admission.refusal)
        #expect(error.status == 429 && error.reason == "queue_full")
        #expect(bound.isEmpty, "the slot was not released, so nothing was bound")
        #expect(Snapshot(h.scheduler) == snapshot)
        #expect(h.queuedIDs == [waiting])
    }

    @Test("a refused retry changes nothing: the other backends are full and queueing is off")
    func refusalQueueingOff() throws {
        var h = fleet(2, maxConcurrent: 1) { $0.queue.maxRequests = 0 }
        let request = h.dispatchOnly(on: 1)
        h.dispatch()
        let snapshot = Snapshot(h.scheduler)
        let (admission, _) = h.retryHeld(request)
        #expect(admission.refusal?.reason == "backends_saturated")
        #expect(Snapshot(h.scheduler) == snapshot)
    }

    @Test("a retry may wait; the slot it frees binds an older waiter there, and it runs when the other frees")
    func retryQueues() throws {
        var h = fleet(2, maxConcurrent: 1)
        let request = h.dispatchOnly(on: 0)
        let other = h.dispatchOnly(on: 1)
        let waiter = h.enqueue()
        h.now = .seconds(2)
        let (admission, bound) = h.retryHeld(request)
        #expect(admission == .queued(deadline: .seconds(32)))
        #expect(bound == [waiter], "the freed slot on b0 goes to the waiter, not back to the retry")
        #expect(h.ticketBackend(waiter) == 0)
        #expect(h.queuedIDs == [request.id])
        #expect(h.scheduler.queue.entry(id: request.id)?.request.excluded == [0])
        #expect(h.scheduler.counters.retried == 1 && h.scheduler.counters.queued == 2)
        // b0 frees again: the retry must not go back there.
        #expect(h.finish(waiter).isEmpty)
        #expect(h.queuedIDs == [request.id])
        #expect(h.finish(other.id) == [request.id])
        #expect(h.ticketBackend(request.id) == 1)
        #expect(h.backends.map(\.inFlight) == [0, 1])
    }

    @Test("a retry dispatched elsewhere also binds the waiters only the released backend serves")
    func retryDispatchesAndBinds() throws {
        var h = SchedulerHarness(models: [["x", "y"], ["x"]], maxConcurrent: 1)
        let request = h.dispatchOnly(on: 0, model: "x")
        let waiter = h.enqueue(model: "y")
        let (admission, bound) = h.retryHeld(request)
        #expect(admission.backend == 1)
        #expect(bound == [waiter])
        #expect(h.ticketBackend(waiter) == 0 && h.ticketBackend(request.id) == 1)
        #expect(h.scheduler.queue.isEmpty)
        #expect(h.backends.map(\.inFlight) == [1, 1])
    }

    @Test("after an ejection, the retry waits for the other backend, and readmission does not bring it back")
    func retryAfterEjection() throws {
        var h = fleet(2, maxConcurrent: 1, failures: 1)
        let request = h.dispatchOnly(on: 0)
        let other = h.dispatchOnly(on: 1)
        let waiter = h.enqueue()
        let (ejection, refused) = h.scheduler.exchangeFailed(backend: 0, now: h.now)
        #expect(ejection != nil && refused.isEmpty, "b1 can still serve the waiter")
        let (admission, bound) = h.retryHeld(request)
        #expect(admission == .queued(deadline: .seconds(30)))
        #expect(bound.isEmpty, "the slot freed on an ejected backend binds nothing")
        #expect(h.load(0).inFlight == 0)
        #expect(h.queuedIDs == [waiter, request.id])
        h.now = .seconds(5)
        #expect(h.hold(h.scheduler.ejectionEnded(backend: 0, now: h.now)) == [waiter])
        #expect(h.queuedIDs == [request.id], "the retry never returns to b0")
        #expect(h.finish(other.id) == [request.id])
        #expect(h.ticketBackend(request.id) == 1)
    }

    @Test("a retry excluded from every backend but a draining one is refused")
    func retryAvoidsDraining() throws {
        var h = fleet(2)
        let request = h.dispatchOnly(on: 0)
        _ = h.scheduler.drainBackend(1, now: h.now)
        let snapshot = Snapshot(h.scheduler)
        #expect(h.retryHeld(request).admission.refusal?.reason == "no_healthy_backend")
        #expect(Snapshot(h.scheduler) == snapshot)
    }
}
