import Testing

@testable import SwitchyardCore

private func entry(
    _ id: UInt64, tenant: String = "", tokens: Int = 100, priority: Int = 0, model: String = "m",
    at time: Duration = .zero
) -> QueuedRequest {
    QueuedRequest(
        request: ScheduleRequest(id: id, model: model, prompt: tokens, priority: priority, tenant: tenant),
        enqueuedAt: time, deadline: time + .seconds(30))
}

extension FairQueue {
    /// Ids in the order `next` returns them when everything can run.
    mutating func drain(now: Duration = .zero) -> [UInt64] {
        var order: [UInt64] = []
        while let next = next(now: now, canRun: { _ in true }) { order.append(next.request.id) }
        return order
    }
}

@Suite("FairQueue: priority bands, aging, deficit round robin")
struct FairQueueTests {
    @Test("an empty queue has nothing to start")
    func empty() {
        var queue = FairQueue()
        #expect(queue.isEmpty && queue.count == 0 && queue.tokens == 0)
        #expect(queue.next(now: .zero) { _ in true } == nil)
        #expect(queue.remove(id: 1) == nil)
    }

    @Test("tokens and per-tenant tokens follow appends and removals")
    func bookkeeping() throws {
        var queue = FairQueue()
        queue.append(entry(1, tenant: "a", tokens: 100))
        queue.append(entry(2, tenant: "b", tokens: 30))
        queue.append(entry(3, tenant: "a", tokens: 5))
        #expect(queue.count == 3 && queue.tokens == 135)
        #expect(queue.tenantTokens == ["a": 105, "b": 30])
        #expect(queue.remove(id: 1)?.request.id == 1)
        #expect(queue.remove(id: 1) == nil)
        #expect(queue.tenantTokens == ["a": 5, "b": 30])
        #expect(queue.remove(id: 2) != nil)
        #expect(queue.tenantTokens == ["a": 5])
        #expect(try #require(queue.next(now: .zero) { _ in true }).request.id == 3)
        #expect(queue.isEmpty && queue.tokens == 0 && queue.tenantTokens.isEmpty)
    }

    @Test("lower priority first, FIFO within a tenant")
    func priorityAndFIFO() {
        var queue = FairQueue(agingInterval: .zero)
        for (id, priority) in [(1, 3), (2, 0), (3, 3), (4, -2), (5, 0)] as [(UInt64, Int)] {
            queue.append(entry(id, tenant: "t", priority: priority))
        }
        #expect(queue.drain() == [4, 2, 5, 1, 3])
    }

    @Test("only requests that can run are considered; the rest keep their place")
    func canRun() throws {
        var queue = FairQueue()
        queue.append(entry(1, model: "full", at: .zero))
        queue.append(entry(2, priority: 5, model: "free"))
        queue.append(entry(3, model: "full"))
        let next = queue.next(now: .zero) { $0.model == "free" }
        #expect(next?.request.id == 2)
        #expect(queue.next(now: .zero) { $0.model == "free" } == nil)
        #expect(queue.entries.map(\.request.id) == [1, 3])
        #expect(queue.drain() == [1, 3])
    }

    @Test("tokensAhead counts the requests ranked at or before a priority, after aging")
    func tokensAhead() {
        var queue = FairQueue(agingInterval: .seconds(5))
        queue.append(entry(1, tokens: 10, priority: 0))
        queue.append(entry(2, tokens: 200, priority: 2))
        queue.append(entry(3, tokens: 3000, priority: 5))
        #expect(queue.tokensAhead(ofPriority: -1, now: .zero) == 0)
        #expect(queue.tokensAhead(ofPriority: 0, now: .zero) == 10)
        #expect(queue.tokensAhead(ofPriority: 2, now: .zero) == 210)
        #expect(queue.tokensAhead(ofPriority: 9, now: .zero) == 3210)
        // After 15 s every request ranks 3 lower: -3, -1 and 2.
        #expect(queue.tokensAhead(ofPriority: -2, now: .seconds(15)) == 10)
        #expect(queue.tokensAhead(ofPriority: 1, now: .seconds(15)) == 210)
        #expect(queue.tokensAhead(ofPriority: 2, now: .seconds(15)) == 3210)
    }

    @Test("equal weights, equal costs: tenants alternate")
    func alternate() {
        var queue = FairQueue(quantum: 100)
        for id in UInt64(1)...3 { queue.append(entry(id, tenant: "a")) }
        for id in UInt64(11)...13 { queue.append(entry(id, tenant: "b")) }
        #expect(queue.drain() == [1, 11, 2, 12, 3, 13])
    }

    @Test("a cost far above the quantum takes as many turns as it needs, not more")
    func largeCost() {
        var queue = FairQueue(quantum: 100)
        queue.append(entry(1, tenant: "big", tokens: 1000))  // needs 10 turns
        for id in UInt64(11)...30 { queue.append(entry(id, tenant: "small", tokens: 100)) }
        let order = queue.drain()
        // "small" takes one request per turn: about ten of them pass before the big one.
        let position = order.firstIndex(of: 1) ?? -1
        #expect((9...11).contains(position), "order \(order)")
    }

    @Test(
        "DRR: served tokens per weight stay within max cost + quantum × max weight at every point",
        arguments: 0..<8)
    func drrFairness(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed) &+ 1000)
        let quantum = seed < 4 ? 100 : 1000
        let maxCost = seed < 4 ? 700 : 4000
        let weights: [String: Double] = seed.isMultiple(of: 2) ? ["a": 1, "b": 3] : ["a": 1, "b": 3, "c": 2]
        let bound = Double(maxCost) + Double(quantum) * weights.values.max()!
        var queue = FairQueue(quantum: quantum, agingInterval: .zero, weights: weights)
        var waiting: [String: Int] = [:]
        var served: [String: Double] = [:]
        var nextID: UInt64 = 1
        var worst = 0.0
        for _ in 0..<3000 {
            // Every tenant stays backlogged.
            for tenant in weights.keys.sorted() {
                while waiting[tenant, default: 0] < 3 {
                    queue.append(entry(nextID, tenant: tenant, tokens: Int.random(in: 1...maxCost, using: &random)))
                    nextID += 1
                    waiting[tenant, default: 0] += 1
                }
            }
            let next = try #require(queue.next(now: .zero) { _ in true })
            waiting[next.request.tenant, default: 0] -= 1
            served[next.request.tenant, default: 0] += Double(next.request.tokens)
            let perWeight = weights.map { served[$0.key, default: 0] / $0.value }
            worst = max(worst, perWeight.max()! - perWeight.min()!)
            if worst > bound { break }
        }
        #expect(worst <= bound, "spread \(worst) beyond \(bound)")
        // Over the run the shares follow the weights.
        let a = served["a", default: 0]
        #expect(abs(served["b", default: 0] / a - 3) < 0.1)
    }

    @Test("random appends, removals and starts: every request leaves exactly once", arguments: 0..<6)
    func randomBookkeeping(seed: Int) throws {
        var random = SeededRandom(seed: UInt64(seed))
        var queue = FairQueue(quantum: 300, agingInterval: .seconds(1), weights: ["t1": 2, "t3": 5])
        var inside: [UInt64: QueuedRequest] = [:]
        var nextID: UInt64 = 1
        var now = Duration.zero
        for _ in 0..<2000 {
            now += .milliseconds(Int.random(in: 0...400, using: &random))
            switch Int.random(in: 0...9, using: &random) {
            case 0...4:
                let new = entry(
                    nextID, tenant: "t\(Int.random(in: 0...3, using: &random))",
                    tokens: Int.random(in: 1...900, using: &random), priority: Int.random(in: 0...2, using: &random),
                    model: Bool.random(using: &random) ? "x" : "y", at: now)
                queue.append(new)
                inside[nextID] = new
                nextID += 1
            case 5...6:
                guard let id = inside.keys.sorted().randomElement(using: &random) else { break }
                #expect(queue.remove(id: id)?.request.id == id)
                inside[id] = nil
            default:
                let runnable = Bool.random(using: &random) ? "x" : "y"
                let next = queue.next(now: now) { $0.model == runnable }
                if let next {
                    #expect(next.request.model == runnable)
                    #expect(inside.removeValue(forKey: next.request.id) != nil)
                } else {
                    #expect(!inside.values.contains { $0.request.model == runnable })
                }
            }
            let byTenant = Dictionary(inside.values.map { ($0.request.tenant, $0.request.tokens) }, uniquingKeysWith: +)
            let consistent =
                Set(queue.entries.map(\.request.id)) == Set(inside.keys) && queue.count == inside.count
                && queue.tokens == inside.values.reduce(0) { $0 + $1.request.tokens } && queue.tenantTokens == byTenant
            guard consistent else {
                Issue.record(
                    "seed \(seed): queue \(queue.entries.map(\.request.id)) \(queue.tokens) \(queue.tenantTokens)")
                return
            }
        }
        let rest = queue.drain(now: now)
        #expect(Set(rest) == Set(inside.keys) && rest.count == inside.count)
        #expect(queue.isEmpty && queue.tenantTokens.isEmpty)
    }
}
