import Testing

@testable import SwitchyardCore

/// A scheduler with the least-requests policy, driven one request at a time: the routing rules
/// these tests pin down (eligibility, health, models, ties) hold for every policy.
struct TestScheduler {
    enum Decision: Equatable {
        case dispatch(backend: Int)
        case refuse(OpenAIError)
    }

    var scheduler: Scheduler
    var tickets: [Int: [Ticket]] = [:]
    var nextID: UInt64 = 1
    let now = Duration.zero

    init(_ count: Int, policy: RoutingPolicy = .leastRequests) {
        var config = SwitchyardConfig()
        config.backends = (0..<count).map {
            BackendConfig(name: "b\($0)", url: BackendURL(host: "10.0.0.\($0)", port: 8000))
        }
        config.routing.policy = policy
        scheduler = Scheduler(config: config)
    }

    var backends: [BackendTable.Backend] { scheduler.table.backends }
    var anyHealthy: Bool { scheduler.table.anyHealthy }
    var catalog: [ModelCard] { scheduler.table.catalog }

    mutating func route(model: String?) -> Decision {
        defer { nextID += 1 }
        switch scheduler.submit(ScheduleRequest(id: nextID, model: model), now: now) {
        case .dispatch(let ticket):
            tickets[ticket.backend, default: []].append(ticket)
            return .dispatch(backend: ticket.backend)
        case .refuse(let error): return .refuse(error)
        case .queued: preconditionFailure("no test here fills a backend")
        }
    }

    mutating func finish(backend: Int) {
        let ticket = tickets[backend]!.removeLast()
        _ = scheduler.finish(ticket, now: now)
    }

    mutating func probeSucceeded(backend: Int) { _ = scheduler.probeSucceeded(backend: backend, now: now) }
    mutating func markUnreachable(backend: Int, reason: String) {
        _ = scheduler.markUnreachable(backend: backend, reason: reason, now: now)
    }
    mutating func modelsDiscovered(backend: Int, _ models: [ModelCard]) {
        _ = scheduler.modelsDiscovered(backend: backend, models, now: now)
    }
}

private func makeTable(_ count: Int) -> TestScheduler { TestScheduler(count) }

/// A table whose backends are all healthy and serve the given models.
private func healthyTable(_ models: [[String]]) -> TestScheduler {
    var table = makeTable(models.count)
    for (i, ids) in models.enumerated() {
        table.probeSucceeded(backend: i)
        table.modelsDiscovered(backend: i, ids.map { card($0) })
    }
    return table
}

private func dispatched(_ decision: TestScheduler.Decision, sourceLocation: SourceLocation = #_sourceLocation) -> Int? {
    guard case .dispatch(let backend) = decision else {
        Issue.record("expected a dispatch, got \(decision)", sourceLocation: sourceLocation)
        return nil
    }
    return backend
}

private func refusal(_ decision: TestScheduler.Decision, sourceLocation: SourceLocation = #_sourceLocation)
    -> OpenAIError?
{
    guard case .refuse(let error) = decision else {
        Issue.record("expected a refusal, got \(decision)", sourceLocation: sourceLocation)
        return nil
    }
    return error
}

@Suite("Scheduler routing: eligibility, health and ties")
struct BackendTableTests {
    @Test("a new table: nothing healthy, nothing known")
    func initialState() {
        let table = makeTable(2)
        #expect(table.backends.map(\.name) == ["b0", "b1"])
        #expect(table.backends.allSatisfy { !$0.healthy && !$0.modelsKnown && $0.inFlight == 0 && $0.models.isEmpty })
        #expect(!table.anyHealthy)
        #expect(table.catalog.isEmpty)
    }

    @Test("routes only to healthy backends that serve the model")
    func healthyAndServing() throws {
        var table = healthyTable([["a"], ["b"], ["a", "b"], ["a"]])
        table.markUnreachable(backend: 3, reason: "connect refused")
        var used = Set<Int>()
        for _ in 0..<20 {
            let b = try #require(dispatched(table.route(model: "a")))
            used.insert(b)
        }
        #expect(used == [0, 2])
        for _ in 0..<10 {
            let b = try #require(dispatched(table.route(model: "b")))
            #expect([1, 2].contains(b))
        }
    }

    @Test("the least loaded backend wins")
    func leastInFlight() throws {
        var table = healthyTable([["m"], ["m"], ["m"]])
        // Load: b0 = 3, b1 = 1, b2 = 2.
        for (backend, load) in [(0, 3), (1, 1), (2, 2)] {
            for _ in 0..<load { table.takeSlotForTest(backend) }
        }
        #expect(table.backends.map(\.inFlight) == [3, 1, 2])
        #expect(dispatched(table.route(model: "m")) == 1)
        #expect(table.backends.map(\.inFlight) == [3, 2, 2])
        // b1 and b2 now tie at 2: either is fine, b0 is not.
        let next = try #require(dispatched(table.route(model: "m")))
        #expect(next != 0)
        #expect(table.backends.map(\.inFlight).reduce(0, +) == 8)
        // Free b0 entirely: it becomes the only least-loaded backend.
        for _ in 0..<3 { table.finish(backend: 0) }
        #expect(dispatched(table.route(model: "m")) == 0)
    }

    @Test("ties rotate: 4 equal backends, 8 sequential requests, each used twice")
    func tieRotation() throws {
        var table = healthyTable([["m"], ["m"], ["m"], ["m"]])
        var counts = [Int](repeating: 0, count: 4)
        var order: [Int] = []
        for _ in 0..<8 {
            let b = try #require(dispatched(table.route(model: "m")))
            counts[b] += 1
            order.append(b)
            table.finish(backend: b)
        }
        #expect(counts == [2, 2, 2, 2])
        #expect(order == [0, 1, 2, 3, 0, 1, 2, 3])
        #expect(table.backends.allSatisfy { $0.inFlight == 0 })
    }

    @Test("ties rotate for model-less requests too, skipping unhealthy backends")
    func tieRotationSkipsUnhealthy() throws {
        var table = healthyTable([["m"], ["m"], ["m"], ["m"]])
        table.markUnreachable(backend: 1, reason: "probe failed")
        var order: [Int] = []
        for _ in 0..<6 {
            let b = try #require(dispatched(table.route(model: nil)))
            order.append(b)
            table.finish(backend: b)
        }
        #expect(order == [0, 2, 3, 0, 2, 3])
    }

    @Test("concurrent requests spread over equal backends")
    func spreadWithoutFinish() throws {
        var table = healthyTable([["m"], ["m"], ["m"]])
        for _ in 0..<9 { _ = try #require(dispatched(table.route(model: "m"))) }
        #expect(table.backends.map(\.inFlight) == [3, 3, 3])
    }

    @Test("finish releases the slot")
    func finishReleases() throws {
        var table = healthyTable([["m"]])
        let b = try #require(dispatched(table.route(model: "m")))
        _ = try #require(dispatched(table.route(model: "m")))
        #expect(table.backends[b].inFlight == 2)
        table.finish(backend: b)
        #expect(table.backends[b].inFlight == 1)
        table.finish(backend: b)
        #expect(table.backends[b].inFlight == 0)
    }

    @Test("a model no backend serves, with every list known, is vLLM's 404")
    func unknownModel() throws {
        var table = healthyTable([["a"], ["b"]])
        let error = try #require(refusal(table.route(model: "nope")))
        #expect(error == .unknownModel("nope", validNames: ["a", "b"]))
        #expect(error.status == 404)
        #expect(error.reason == "unknown_model")
        #expect(error.retryAfterSeconds == nil)
        #expect(table.backends.allSatisfy { $0.inFlight == 0 })
    }

    @Test("model ids match exactly")
    func exactMatch() throws {
        var table = healthyTable([["Llama-3"]])
        #expect(try #require(refusal(table.route(model: "llama-3"))).status == 404)
        #expect(try #require(refusal(table.route(model: "Llama-3 "))).status == 404)
        #expect(try #require(refusal(table.route(model: ""))).status == 404)
    }

    @Test("no healthy backend at all is 503 no_healthy_backend with Retry-After")
    func noHealthyBackend() throws {
        var table = healthyTable([["m"], ["m"]])
        table.markUnreachable(backend: 0, reason: "x")
        table.markUnreachable(backend: 1, reason: "y")
        #expect(!table.anyHealthy)
        for model in ["m", nil] as [String?] {
            let error = try #require(refusal(table.route(model: model)))
            #expect(error.status == 503)
            #expect(error.reason == "no_healthy_backend")
            #expect(error.retryAfterSeconds == 2)
            #expect(error.type == "ServiceUnavailableError")
            #expect(error.message.hasPrefix("No healthy backend is available"))
        }
        #expect(table.backends.allSatisfy { $0.inFlight == 0 })
    }

    @Test("a model known only on an unhealthy backend is 503, not 404")
    func knownOnlyOnUnhealthy() throws {
        var table = healthyTable([["a"], ["b"]])
        table.markUnreachable(backend: 1, reason: "down")
        let error = try #require(refusal(table.route(model: "b")))
        #expect(error.status == 503)
        #expect(error.reason == "no_healthy_backend")
        #expect(error.retryAfterSeconds == 2)
        #expect(error.message.contains("`b`"))
        // "a" still works; a truly unknown model is still 404.
        #expect(dispatched(table.route(model: "a")) == 0)
        #expect(try #require(refusal(table.route(model: "zzz"))).status == 404)
    }

    @Test("an unknown model while some model lists are unknown is 503, not 404")
    func modelListsNotYetKnown() throws {
        // Nothing discovered yet (e.g. right after start).
        var fresh = makeTable(2)
        fresh.probeSucceeded(backend: 0)
        let first = try #require(refusal(fresh.route(model: "m")))
        #expect(first.status == 503)
        #expect(first.reason == "no_healthy_backend")

        // One list known, the other backend never answered: the model might be there.
        var partial = makeTable(2)
        partial.probeSucceeded(backend: 0)
        partial.modelsDiscovered(backend: 0, [card("a")])
        let second = try #require(refusal(partial.route(model: "m")))
        #expect(second.status == 503)
        #expect(second.retryAfterSeconds == 2)
    }

    @Test("model nil goes to any healthy backend, even one whose models are unknown")
    func modelNil() throws {
        var table = makeTable(3)
        table.probeSucceeded(backend: 2)
        #expect(dispatched(table.route(model: nil)) == 2)
        table.modelsDiscovered(backend: 0, [card("a")])  // known but unhealthy
        #expect(dispatched(table.route(model: nil)) == 2)
        #expect(table.backends[2].inFlight == 2)
    }

    @Test("markUnreachable stops routing but leaves in-flight requests alone")
    func markUnreachable() throws {
        var table = healthyTable([["m"], ["m"]])
        let b = try #require(dispatched(table.route(model: "m")))
        let other = 1 - b
        table.markUnreachable(backend: b, reason: "connection reset")
        #expect(table.backends[b].inFlight == 1)
        #expect(!table.backends[b].healthy)
        #expect(table.backends[b].lastError == "connection reset")
        for _ in 0..<5 { #expect(dispatched(table.route(model: "m")) == other) }
        table.finish(backend: b)  // the in-flight request completes normally
        #expect(table.backends[b].inFlight == 0)
        #expect(table.backends[b].models.map(\.id) == ["m"])

        table.probeSucceeded(backend: b)
        #expect(table.backends[b].healthy)
        #expect(table.backends[b].lastError == nil)
        // Back in rotation, and now the least loaded.
        #expect(dispatched(table.route(model: "m")) == b)
    }

    @Test("the catalog keeps an unhealthy backend's last known models")
    func catalogKeepsUnhealthy() {
        var table = healthyTable([["a", "shared"], ["b", "shared"]])
        table.markUnreachable(backend: 1, reason: "down")
        #expect(table.catalog.map(\.id) == ["a", "shared", "b"])
        #expect(table.anyHealthy)
        table.markUnreachable(backend: 0, reason: "down")
        #expect(table.catalog.map(\.id) == ["a", "shared", "b"])
        #expect(!table.anyHealthy)
    }

    @Test("rediscovery replaces a backend's models")
    func rediscovery() throws {
        var table = healthyTable([["old"]])
        table.modelsDiscovered(backend: 0, [card("new")])
        #expect(table.catalog.map(\.id) == ["new"])
        #expect(try #require(refusal(table.route(model: "old"))).status == 404)
        #expect(dispatched(table.route(model: "new")) == 0)
        table.modelsDiscovered(backend: 0, [])
        #expect(table.backends[0].modelsKnown)
        #expect(try #require(refusal(table.route(model: "new"))).status == 404)
    }

    @Test("the catalog merges max_model_len across backends")
    func catalogMerge() {
        var table = makeTable(2)
        table.modelsDiscovered(backend: 0, [card("m", maxModelLen: 65536)])
        table.modelsDiscovered(backend: 1, [card("m", maxModelLen: 131072)])
        #expect(table.catalog.map(\.maxModelLen) == [131072])
    }

    @Test("a table with no backends refuses without crashing")
    func empty() {
        var table = makeTable(0)
        #expect(refusal(table.route(model: nil))?.status == 503)
        #expect(!table.anyHealthy)
    }
}

extension TestScheduler {
    /// Takes one slot on `backend` through the public API: route a model-less request while every
    /// other backend is marked unreachable, then restore their health.
    fileprivate mutating func takeSlotForTest(_ backend: Int) {
        let healthy = backends.map(\.healthy)
        for i in backends.indices where i != backend { markUnreachable(backend: i, reason: "test") }
        guard case .dispatch(let chosen) = route(model: nil), chosen == backend else {
            Issue.record("could not load backend \(backend)")
            return
        }
        for (i, wasHealthy) in healthy.enumerated() where wasHealthy && i != backend { probeSucceeded(backend: i) }
    }
}
