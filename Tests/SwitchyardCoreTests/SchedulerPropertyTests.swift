import Testing

@testable import SwitchyardCore

/// A random run of scheduler events next to a model of what must hold: the tickets the callers
/// hold and the requests waiting. After every event the scheduler's loads and queue must match
/// the model exactly.
private struct LeakRun {
    static let serves = [["a"], ["a", "b"], ["b"]]
    static let maxConcurrent = [2, 3, 1]
    static let maxInFlightTokens: [Int?] = [nil, 3000, nil]

    var scheduler: Scheduler
    var random: SeededRandom
    var now: Duration = .zero
    var nextID: UInt64 = 1
    var requests: [UInt64: ScheduleRequest] = [:]
    var held: [UInt64: Ticket] = [:]
    /// Queued and not yet bound, cancelled or expired: id → deadline.
    var waiting: [UInt64: Duration] = [:]
    var resolved: Set<UInt64> = []
    var submitted = 0
    var problems: [String] = []

    init(seed: UInt64) {
        random = SeededRandom(seed: seed)
        var config = SwitchyardConfig()
        config.backends = Self.serves.indices.map {
            BackendConfig(
                name: "b\($0)", url: BackendURL(host: "10.0.0.\($0)", port: 8000),
                maxConcurrent: Self.maxConcurrent[$0], maxInFlightTokens: Self.maxInFlightTokens[$0])
        }
        config.routing.policy = RoutingPolicy.allCases[Int(seed % UInt64(RoutingPolicy.allCases.count))]
        config.queue.maxRequests = 10
        config.queue.maxTokens = 25_000
        config.queue.agingInterval = .seconds(2)
        config.queue.quantum = 1000
        config.queue.tenantWeights = ["x": 2]
        scheduler = Scheduler(config: config, seed: seed)
        for (backend, models) in Self.serves.enumerated() {
            _ = scheduler.probeSucceeded(backend: backend, now: now)
            _ = scheduler.modelsDiscovered(backend: backend, models.map { card($0) }, now: now)
        }
    }

    mutating func int(_ range: ClosedRange<Int>) -> Int { Int.random(in: range, using: &random) }
    mutating func pick<T>(_ values: [T]) -> T? { values.isEmpty ? nil : values[int(0...(values.count - 1))] }

    mutating func fail(_ text: String) { problems.append("t=\(now): \(text)") }

    mutating func step() {
        now += .milliseconds(int(0...300))
        switch int(0...99) {
        case 0..<36: submit()
        case 36..<50:
            let starting = held.values.filter { $0.firstTokenAt == nil }.map(\.request).sorted()
            guard let id = pick(starting), var ticket = held[id] else { return }
            scheduler.firstToken(&ticket, now: now)
            held[id] = ticket
        case 50..<74:
            guard let id = pick(held.keys.sorted()), let ticket = held.removeValue(forKey: id) else { return }
            let tpot: Double? = int(0...1) == 0 ? nil : Double(int(5...100)) / 1000
            bound(scheduler.finish(ticket, now: now, tpot: tpot), by: "finish")
        case 74..<82: cancel()
        case 82..<91: expire()
        case 91..<93:
            for (id, error) in scheduler.markUnreachable(backend: int(0...2), reason: "test", now: now) {
                if waiting[id] == nil { fail("markUnreachable refused \(id), which was not waiting") }
                if error.status != 503 || error.reason != "no_healthy_backend" { fail("refused \(id) with \(error)") }
                resolve(id, by: "unreachable")
            }
        case 93..<97: bound(scheduler.probeSucceeded(backend: int(0...2), now: now), by: "probe")
        case 97..<98:
            let backend = int(0...2)
            let cards = Self.serves[backend].map { card($0) }
            bound(scheduler.modelsDiscovered(backend: backend, cards, now: now), by: "discovery")
        default:
            scheduler.metricsScraped(
                backend: int(0...2), running: int(0...8), waiting: int(0...4), kvCacheUsage: Double(int(0...100)) / 100,
                now: now)
        }
    }

    mutating func submit() {
        let id = nextID
        nextID += 1
        submitted += 1
        let request = ScheduleRequest(
            id: id, model: int(0...1) == 0 ? "a" : "b", prompt: int(0...2000), output: int(1...2000),
            priority: int(0...3), tenant: pick(["x", "y", "z"])!,
            sessionKey: int(0...2) == 0 ? nil : UInt64(int(0...5)), timeout: .milliseconds(int(500...20_000)))
        requests[id] = request
        let couldRun = !scheduler.backendsWithRoom(for: request).isEmpty
        switch scheduler.submit(request, now: now) {
        case .dispatch(let ticket):
            if !couldRun { fail("\(id) dispatched without room") }
            if ticket.request != id || ticket.tokens != request.tokens { fail("\(id) got \(ticket)") }
            checkPlacement(ticket)
            held[id] = ticket
        case .queued(let deadline):
            if couldRun { fail("\(id) queued although a backend had room") }
            if deadline != now + request.timeout { fail("\(id) deadline \(deadline)") }
            waiting[id] = deadline
        case .refuse(let error):
            if couldRun { fail("\(id) refused although a backend had room: \(error.reason)") }
            let known = ["queue_full", "tenant_over_share", "queue_wait_exceeds_timeout", "no_healthy_backend"]
            if !known.contains(error.reason) || ![429, 503].contains(error.status) || error.retryAfterSeconds == nil {
                fail(
                    "\(id) refused with \(error.status) \(error.reason) \(String(describing: error.retryAfterSeconds))")
            }
        }
    }

    mutating func cancel() {
        if int(0...3) == 0, let id = pick(held.keys.sorted()) {
            if scheduler.cancel(request: id, now: now) { fail("cancelled \(id), which holds a ticket") }
            return
        }
        guard let id = pick(waiting.keys.sorted()) else { return }
        if scheduler.cancel(request: id, now: now) { resolve(id, by: "cancel") } else { fail("cancel(\(id)) false") }
    }

    mutating func expire() {
        now += .milliseconds(int(0...4000))
        if let id = pick(held.keys.sorted()), scheduler.expire(request: id, now: now) != nil {
            fail("expired \(id), which holds a ticket")
        }
        guard let id = pick(waiting.keys.sorted()), let deadline = waiting[id] else { return }
        let error = scheduler.expire(request: id, now: now)
        switch (error, deadline <= now) {
        case (let error?, true):
            if error.status != 504 || error.reason != "queue_timeout" || error.retryAfterSeconds == nil {
                fail("expire(\(id)) gave \(error)")
            }
            resolve(id, by: "expire")
        case (nil, false): break
        case (_, let due): fail("expire(\(id)) gave \(String(describing: error)) with the deadline due: \(due)")
        }
    }

    mutating func bound(_ tickets: [Ticket], by event: String) {
        for ticket in tickets {
            resolve(ticket.request, by: event)
            if requests[ticket.request]?.tokens != ticket.tokens { fail("\(event) bound \(ticket)") }
            checkPlacement(ticket)
            held[ticket.request] = ticket
        }
    }

    mutating func resolve(_ id: UInt64, by event: String) {
        if waiting.removeValue(forKey: id) == nil { fail("\(event) resolved \(id), which was not waiting") }
        if !resolved.insert(id).inserted { fail("\(event) resolved \(id) twice") }
    }

    mutating func checkPlacement(_ ticket: Ticket) {
        let backend = scheduler.table.backends[ticket.backend]
        let model = requests[ticket.request]?.model ?? ""
        if !backend.healthy || !backend.models.contains(where: { $0.id == model }) {
            fail("\(ticket.request) for \(model) placed on b\(ticket.backend) (healthy: \(backend.healthy))")
        }
    }

    /// Compares the scheduler with the model.
    mutating func check() {
        for (index, backend) in scheduler.table.backends.enumerated() {
            let mine = held.values.filter { $0.backend == index }
            let started = mine.filter { $0.firstTokenAt != nil }
            let load = backend.load
            let expected = [
                mine.count, mine.reduce(0) { $0 + $1.tokens }, mine.reduce(0) { $0 + $1.output },
                mine.filter { $0.firstTokenAt == nil }.reduce(0) { $0 + $1.prompt }, started.count,
                started.reduce(0) { $0 + $1.output },
            ]
            let actual = [
                load.inFlight, load.reservedTokens, load.reservedOutput, load.pendingPrompt, load.decoding,
                load.decodingOutput,
            ]
            if actual != expected { fail("b\(index) load \(actual), expected \(expected)") }
            if load.inFlight > Self.maxConcurrent[index] { fail("b\(index) over max_concurrent") }
            if let limit = Self.maxInFlightTokens[index], load.inFlight > 1, load.reservedTokens > limit {
                fail("b\(index) over max_inflight_tokens: \(load.reservedTokens)")
            }
        }
        let queue = scheduler.queue
        let ids = queue.entries.map(\.request.id)
        if ids.count != Set(ids).count || Set(ids) != Set(waiting.keys) {
            fail("queue \(ids.sorted()), expected \(waiting.keys.sorted())")
        }
        if queue.tokens != queue.entries.reduce(0, { $0 + $1.request.tokens }) { fail("queue tokens \(queue.tokens)") }
        let byTenant = Dictionary(queue.entries.map { ($0.request.tenant, $0.request.tokens) }, uniquingKeysWith: +)
        if queue.tenantTokens != byTenant { fail("tenant tokens \(queue.tenantTokens), expected \(byTenant)") }
        for entry in queue.entries where !scheduler.backendsWithRoom(for: entry.request).isEmpty {
            fail("\(entry.request.id) waits although a backend has room")
        }
        let counters = scheduler.counters
        if counters.dispatched + counters.queued + counters.refused.values.reduce(0, +) != submitted {
            fail("counters \(counters) for \(submitted) submitted")
        }
        if counters.boundFromQueue + counters.cancelledWhileQueued + counters.expired + counters.refusedWhileQueued
            != resolved.count
        {
            fail("counters \(counters) for \(resolved.count) resolved")
        }
    }

    /// Every held request finishes (backends healthy again), then every waiter is cancelled.
    mutating func finishEverything() {
        for backend in 0..<3 { bound(scheduler.probeSucceeded(backend: backend, now: now), by: "probe") }
        while let id = held.keys.min(), let ticket = held.removeValue(forKey: id) {
            now += .milliseconds(10)
            bound(scheduler.finish(ticket, now: now), by: "finish")
        }
        for id in waiting.keys.sorted() {
            if scheduler.cancel(request: id, now: now) { resolve(id, by: "cancel") } else { fail("cancel(\(id))") }
        }
        check()
    }
}

@Suite("Scheduler property: no leaks under random events")
struct SchedulerPropertyTests {
    @Test("loads match the held tickets and the queue matches the waiters after every event", arguments: 0..<32)
    func noLeaks(seed: Int) {
        var run = LeakRun(seed: UInt64(seed))
        var step = 0
        while step < 2000 && run.problems.isEmpty {
            run.step()
            run.check()
            step += 1
        }
        #expect(run.problems.isEmpty, "seed \(seed), step \(step): \(run.problems.prefix(5))")
        #expect(run.submitted > 500)
        #expect(run.resolved.count > 50, "the queue was exercised")
        run.finishEverything()
        #expect(run.problems.isEmpty, "seed \(seed) at the end: \(run.problems.prefix(5))")
        #expect(run.held.isEmpty && run.waiting.isEmpty)
        for backend in run.scheduler.table.backends {
            let load = backend.load
            #expect(load.inFlight == 0 && load.reservedTokens == 0 && load.pendingPrompt == 0)
            #expect(load.reservedOutput == 0 && load.decoding == 0 && load.decodingOutput == 0)
            #expect(load.decodingStartSum == 0)
        }
        #expect(run.scheduler.queue.isEmpty && run.scheduler.queue.tokens == 0)
        #expect(run.scheduler.queue.tenantTokens.isEmpty)
    }
}
