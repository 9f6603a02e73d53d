import Testing

@testable import SwitchyardCore

extension SchedulerHarness {
    /// Finishes `running`, then each request it binds, one after another (one slot): the ids of
    /// the queued requests in the order they ran.
    mutating func drainOrder(from running: UInt64) -> [UInt64] {
        var order: [UInt64] = []
        var current = running
        while true {
            let bound = finish(current)
            guard let next = bound.first else { return order }
            #expect(bound.count == 1)
            order.append(next)
            current = next
        }
    }
}

/// One backend with one slot, taken by a request: everything submitted next waits.
private func oneSlot(configure: (inout SwitchyardConfig) -> Void = { _ in }) -> (SchedulerHarness, UInt64) {
    var h = SchedulerHarness(backends: 1, maxConcurrent: 1, configure: configure)
    let blocker = h.nextID
    h.dispatch()
    return (h, blocker)
}

@Suite("Scheduler capacity and queue order")
struct SchedulerQueueTests {
    @Test("max_concurrent per backend: requests beyond it wait, and run when a slot frees")
    func maxConcurrent() throws {
        var h = SchedulerHarness(backends: 2, maxConcurrent: 2)
        for _ in 0..<4 { h.dispatch() }
        #expect(h.backends.map(\.inFlight) == [2, 2])
        let waiting = h.enqueue(timeout: .seconds(7))
        #expect(h.queuedIDs == [waiting])
        #expect(h.scheduler.counters.queued == 1 && h.scheduler.counters.dispatched == 4)
        let onB1 = try #require(h.held.values.first { $0.backend == 1 }?.request)
        #expect(h.finish(onB1) == [waiting])
        #expect(h.held[waiting]?.backend == 1)
        #expect(h.backends.map(\.inFlight) == [2, 2])
        #expect(h.scheduler.queue.isEmpty)
        #expect(h.scheduler.counters.boundFromQueue == 1)
    }

    @Test("max_inflight_tokens: the sum of reservations stays under the limit")
    func maxInFlightTokens() throws {
        var h = SchedulerHarness(backends: 1, maxInFlightTokens: 1000)
        h.dispatch(prompt: 500, output: 100)
        let second = h.nextID
        h.dispatch(prompt: 300, output: 100)  // exactly 1000
        #expect(h.load(0).reservedTokens == 1000)
        let waiting = h.enqueue(prompt: 1, output: 0)
        #expect(h.finish(second) == [waiting])
        #expect(h.load(0).reservedTokens == 601)
    }

    @Test("a request larger than max_inflight_tokens runs alone on an idle backend")
    func oversizedRunsAlone() throws {
        var h = SchedulerHarness(backends: 1, maxInFlightTokens: 1000)
        let big = h.nextID
        h.dispatch(prompt: 4000, output: 1000)
        let small = h.enqueue(prompt: 1, output: 0)
        #expect(h.finish(big) == [small])
        // Not idle now: a large one waits until it is.
        let big2 = h.enqueue(prompt: 4000, output: 1000)
        #expect(h.finish(small) == [big2])
        #expect(h.load(0).reservedTokens == 5000)
    }

    @Test("priority bands: lower values first, FIFO within a band and tenant")
    func priorityBands() throws {
        var (h, blocker) = oneSlot { $0.queue.agingInterval = .seconds(3600) }
        var ids: [Int: [UInt64]] = [:]
        for priority in [5, 0, 3, 0, -1, 3, 0] {
            ids[priority, default: []].append(h.enqueue(priority: priority))
        }
        let expected = [-1, 0, 3, 5].flatMap { ids[$0]! }
        #expect(h.drainOrder(from: blocker) == expected)
    }

    @Test(
        "aging: a request that waited k × aging_interval ranks as priority − k",
        arguments: [
            // (seconds waited, band of a priority-5 request with a 5 s interval)
            (0.0, 5), (4.999, 5), (5.0, 4), (10.0, 3), (27.0, 0), (60.0, -7),
        ])
    func agingBand(waited: Double, band: Int) {
        let queue = FairQueue(agingInterval: .seconds(5))
        let entry = QueuedRequest(
            request: ScheduleRequest(id: 1, model: "m", priority: 5), enqueuedAt: .seconds(100),
            deadline: .seconds(1000))
        #expect(queue.band(of: entry, now: .seconds(100) + .seconds(waited)) == band)
    }

    @Test("aging: a priority-5 request that waited 2 intervals runs before later priority 4, after priority 2")
    func agingOrder() throws {
        var (h, blocker) = oneSlot { $0.queue.agingInterval = .seconds(5) }
        let old = h.enqueue(priority: 5, timeout: .seconds(60))
        h.now = .seconds(10)  // `old` now ranks as 3
        let four = h.enqueue(priority: 4)
        let three = h.enqueue(priority: 3)
        let two = h.enqueue(priority: 2)
        // Ties (old and three, both ranked 3) keep arrival order.
        #expect(h.drainOrder(from: blocker) == [two, old, three, four])
    }

    @Test("FIFO within a tenant at one priority")
    func fifoWithinTenant() throws {
        var (h, blocker) = oneSlot()
        var expected: [UInt64] = []
        for size in [900, 10, 500, 10, 1] { expected.append(h.enqueue(prompt: size, tenant: "t")) }
        #expect(h.drainOrder(from: blocker) == expected)
    }

    @Test("tenants share by weight: weight 3 gets three requests for each one of weight 1")
    func tenantsByWeight() throws {
        var (h, blocker) = oneSlot { config in
            config.queue.quantum = 100
            config.queue.tenantWeights = ["heavy": 3]
        }
        var tenantOf: [UInt64: String] = [:]
        for _ in 0..<8 { tenantOf[h.enqueue(prompt: 50, output: 50, tenant: "light")] = "light" }
        for _ in 0..<8 { tenantOf[h.enqueue(prompt: 50, output: 50, tenant: "heavy")] = "heavy" }
        let order = h.drainOrder(from: blocker).map { tenantOf[$0]! }
        #expect(Array(order.prefix(8)) == ["light", "heavy", "heavy", "heavy", "light", "heavy", "heavy", "heavy"])
        #expect(order.count == 16)
    }

    @Test("one model's full backends do not hold up another model's queued requests")
    func modelsDoNotBlockEachOther() throws {
        var h = SchedulerHarness(models: [["a"], ["b"]], maxConcurrent: 1)
        let runningA = h.nextID
        h.dispatch(model: "a")
        let runningB = h.nextID
        h.dispatch(model: "b")
        let waitingA = h.enqueue(model: "a", priority: 0)
        let waitingB = h.enqueue(model: "b", priority: 9)
        #expect(h.finish(runningB) == [waitingB])
        #expect(h.held[waitingB]?.backend == 1)
        #expect(h.queuedIDs == [waitingA])
        #expect(h.finish(runningA) == [waitingA])
    }

    @Test("…even behind a hundred of the same tenant's requests for the full model")
    func manyBlockedDoNotHideARunnableOne() throws {
        var h = SchedulerHarness(models: [["a"], ["b"]], maxConcurrent: 1)
        h.dispatch(model: "a", tenant: "t")
        let runningB = h.nextID
        h.dispatch(model: "b", tenant: "t")
        for _ in 0..<100 { h.enqueue(model: "a", tenant: "t") }
        let waitingB = h.enqueue(model: "b", tenant: "t")
        #expect(h.finish(runningB) == [waitingB])
        #expect(h.scheduler.queue.count == 100)
    }

    @Test("an event that frees several slots binds several requests, in queue order")
    func bindsSeveralInOrder() throws {
        var h = SchedulerHarness(backends: 2, maxConcurrent: 2)
        _ = h.scheduler.markUnreachable(backend: 1, reason: "down", now: h.now)
        h.dispatch()
        h.dispatch()
        let low = h.enqueue(priority: 2)
        let mid = h.enqueue(priority: 1)
        let high = h.enqueue(priority: 0)
        #expect(h.hold(h.scheduler.probeSucceeded(backend: 1, now: h.now)) == [high, mid])
        #expect(h.held[high]?.backend == 1 && h.held[mid]?.backend == 1)
        #expect(h.queuedIDs == [low])
    }

    @Test("a backend that learns the model binds the requests waiting for it")
    func modelsDiscoveredBinds() throws {
        var h = SchedulerHarness(models: [["m"], []], maxConcurrent: 1)
        h.dispatch()
        let waiting = h.enqueue()
        #expect(h.hold(h.scheduler.modelsDiscovered(backend: 1, [card("m")], now: h.now)) == [waiting])
        #expect(h.held[waiting]?.backend == 1)
    }

    @Test("cancel removes a waiting request once; a bound one is not cancelled")
    func cancel() throws {
        var (h, blocker) = oneSlot()
        let first = h.enqueue(prompt: 300, output: 0)
        let second = h.enqueue(prompt: 200, output: 0)
        #expect(h.scheduler.queue.tokens == 500)
        let cancelled = h.scheduler.cancel(request: first, now: h.now)
        let again = h.scheduler.cancel(request: first, now: h.now)
        #expect(cancelled && !again)
        #expect(h.queuedIDs == [second])
        #expect(h.scheduler.queue.tokens == 200)
        #expect(h.finish(blocker) == [second])
        let cancelledBound = h.scheduler.cancel(request: second, now: h.now)
        #expect(!cancelledBound)
        #expect(h.scheduler.counters.cancelledWhileQueued == 1)
        #expect(h.scheduler.queue.isEmpty && h.scheduler.queue.tenantTokens.isEmpty)
    }
}
