import Testing

@testable import SwitchyardCore

/// One routing decision over a fixed, uneven load (see `unevenLoad`).
struct PolicyCase: Sendable, CustomTestStringConvertible {
    var policy: RoutingPolicy
    /// Backends the policy may choose.
    var expected: Set<Int>
    var testDescription: String { "\(policy.rawValue) → \(expected.sorted())" }
}

/// b0: one request of 8000 tokens; b1: three of 200; b2: two of 200 (pinned without a model, so
/// model "m"'s rotation still starts at b0).
private func unevenLoad(_ policy: RoutingPolicy) -> SchedulerHarness {
    var h = SchedulerHarness(backends: 3, policy: policy)
    for backend in [1, 1, 1, 2, 2] { h.pin(backend) }
    h.pin(0, prompt: 4000, output: 4000)
    return h
}

@Suite("Scheduler routing policies")
struct SchedulerPolicyTests {
    @Test(
        "each policy's choice over an uneven load",
        arguments: [
            // Its turn, whatever the load: b0 is first for model "m".
            PolicyCase(policy: .roundRobin, expected: [0]),
            // Fewest requests: b0 holds one (a large one).
            PolicyCase(policy: .leastRequests, expected: [0]),
            // Least outstanding work: b2 holds 400 tokens.
            PolicyCase(policy: .leastTokens, expected: [2]),
            // Any pair of two contains b1 or b2, which beat b0's 8000 tokens.
            PolicyCase(policy: .powerOfTwo, expected: [1, 2]),
            // No session key: least-tokens.
            PolicyCase(policy: .sessionAffinity, expected: [2]),
            // No TPOT measured: least-tokens with the request's own tokens added to each.
            PolicyCase(policy: .leastTime, expected: [2]),
            // No TTFT measured: least prompt waiting for its first token (b2: 200).
            PolicyCase(policy: .leastTTFT, expected: [2]),
        ])
    func policyChoice(_ c: PolicyCase) throws {
        var h = unevenLoad(c.policy)
        #expect(h.backends.map(\.inFlight) == [1, 3, 2])
        #expect(h.backends.map(\.load.reservedTokens) == [8000, 600, 400])
        // The pure choice, for many request ids (p2c draws differently per id).
        for id in UInt64(100)..<UInt64(140) {
            let choice = h.scheduler.choose(h.request(id: id), among: [0, 1, 2], now: h.now)
            #expect(c.expected.contains(choice), "request \(id) went to b\(choice)")
        }
        let placed = h.dispatch()
        #expect(c.expected.contains(placed))
    }

    @Test("least-ttft: lowest (prompt waiting + this prompt) × the backend's measured TTFT per prompt token")
    func leastTTFTUsesMeasuredPrefillSpeed() throws {
        var h = SchedulerHarness(backends: 2, policy: .leastTTFT)
        // b0 turned 1 000 prompt tokens into a first token in 1 s, b1 in 0.5 s.
        let slow = h.pin(0, prompt: 1000, output: 10)
        h.now += .seconds(1)
        h.firstToken(slow)
        let fast = h.pin(1, prompt: 1000, output: 10)
        h.now += .milliseconds(500)
        h.firstToken(fast)
        #expect(h.load(0).ttftPerPromptToken == 0.001)
        #expect(h.load(1).ttftPerPromptToken == 0.0005)
        // Nothing waiting for a first token anywhere: the faster backend, whatever the size.
        for size in [10, 1000, 6000] {
            #expect(h.scheduler.choose(h.request(id: 900, prompt: size), among: [0, 1], now: h.now) == 1)
        }
        // 3 000 tokens waiting on b1: a 1 000-token prompt expects 2 s there, 1 s on b0.
        h.pin(1, prompt: 3000, output: 10)
        #expect(h.scheduler.choose(h.request(id: 901, prompt: 1000), among: [0, 1], now: h.now) == 0)
        // The first byte of that prompt arrives: b1 is the better choice again.
        h.firstToken(h.held.keys.max()!)
        #expect(h.scheduler.choose(h.request(id: 902, prompt: 1000), among: [0, 1], now: h.now) == 1)
    }

    @Test("least-time: a big request keeps off a backend measured slower, a small one may use it")
    func leastTimeWeighsTheRequestBySpeed() throws {
        var h = SchedulerHarness(backends: 2, policy: .leastTime)
        h.recordTPOT(0.1, on: 0)
        h.recordTPOT(0.05, on: 1)
        h.pin(1, prompt: 2000, output: 0)  // 2 000 tokens of prompt waiting on the fast backend
        // Small: (0 + 100) × 1.33 < (2000 + 100) × 0.67. Big: (0 + 8000) × 1.33 > (2000 + 8000) × 0.67.
        #expect(h.scheduler.choose(h.request(id: 900, prompt: 100, output: 0), among: [0, 1], now: h.now) == 0)
        #expect(h.scheduler.choose(h.request(id: 901, prompt: 8000, output: 0), among: [0, 1], now: h.now) == 1)
    }

    @Test("round-robin takes turns whatever the load, skipping unhealthy backends")
    func roundRobinTurns() throws {
        var h = SchedulerHarness(backends: 3, policy: .roundRobin)
        var order: [Int] = []
        for size in [5000, 10, 10, 10, 5000, 10] { order.append(h.dispatch(prompt: size)) }
        #expect(order == [0, 1, 2, 0, 1, 2])
        _ = h.scheduler.markUnreachable(backend: 1, reason: "down", now: h.now)
        order = []
        for _ in 0..<4 { order.append(h.dispatch()) }
        #expect(order == [0, 2, 0, 2])
    }

    @Test("round-robin takes turns per model while other models' requests come in between")
    func roundRobinPerModel() throws {
        // "a" on b0 and b1, "b" on b2 and b3, "c" on all four.
        var h = SchedulerHarness(models: [["a", "c"], ["a", "c"], ["b", "c"], ["b", "c"]]) {
            $0.routing.policy = .roundRobin
        }
        var placed: [String: [Int]] = [:]
        for _ in 0..<4 {
            for model in ["a", "b", "c"] { placed[model, default: []].append(h.dispatch(model: model)) }
        }
        #expect(placed["a"] == [0, 1, 0, 1])
        #expect(placed["b"] == [2, 3, 2, 3])
        #expect(placed["c"] == [0, 1, 2, 3])
    }

    @Test("least-requests spreads concurrent requests evenly; least-tokens follows their sizes")
    func leastRequestsVersusTokens() throws {
        // Alternating sizes 1000 and 100: least-requests balances counts, least-tokens balances
        // tokens, so the small requests pile up next to the large ones.
        for policy in [RoutingPolicy.leastRequests, .leastTokens] {
            var h = SchedulerHarness(backends: 2, policy: policy)
            for i in 0..<20 { h.dispatch(prompt: i.isMultiple(of: 2) ? 900 : 0) }
            let counts = h.backends.map(\.inFlight)
            let tokens = h.backends.map(\.load.reservedTokens)
            if policy == .leastRequests {
                #expect(counts == [10, 10])
            } else {
                #expect(abs(tokens[0] - tokens[1]) <= 1000, "tokens \(tokens)")
            }
            #expect(counts.reduce(0, +) == 20)
        }
    }

    @Test("least-tokens: remaining output shrinks at the backend's TPOT after the first token")
    func leastTokensOverTime() throws {
        var h = SchedulerHarness(backends: 2, policy: .leastTokens)
        h.recordTPOT(0.01, on: 0)  // b0 decodes 100 tokens/s
        let long = h.pin(0, prompt: 100, output: 1000)
        h.pin(1, prompt: 0, output: 500)  // b1: 500 tokens, not started
        #expect(h.scheduler.outstanding(of: 0, now: h.now) == 1100)
        #expect(h.scheduler.outstanding(of: 1, now: h.now) == 500)
        h.firstToken(long)  // at t = 0: the prompt is prefilled
        #expect(h.load(0).pendingPrompt == 0)
        #expect(h.scheduler.outstanding(of: 0, now: .zero) == 1000)
        // (time, b0's outstanding, choice): b0 has decoded 100 tokens per second since t = 0.
        let expectations: [(Duration, Double, Int)] = [
            (.zero, 1000, 1), (.seconds(2), 800, 1), (.seconds(4.9), 510, 1), (.seconds(5.1), 490, 0),
            (.seconds(8), 200, 0), (.seconds(60), 0, 0),
        ]
        for (time, outstanding, choice) in expectations {
            #expect(abs(h.scheduler.outstanding(of: 0, now: time) - outstanding) <= 1, "at \(time)")
            #expect(h.scheduler.choose(h.request(), among: [0, 1], now: time) == choice, "at \(time)")
        }
        // The request not yet started on b1 does not shrink with time.
        #expect(h.scheduler.outstanding(of: 1, now: .seconds(60)) == 500)
    }

    @Test("p2c prefers the backend with the faster measured TPOT")
    func powerOfTwoPrefersFaster() throws {
        var h = SchedulerHarness(backends: 2, policy: .powerOfTwo)
        h.recordTPOT(0.04, on: 0)
        h.recordTPOT(0.01, on: 1)
        #expect(h.load(0).tpot == 0.04)
        #expect(h.load(1).tpot == 0.01)
        // Idle: the faster backend every time.
        for _ in 0..<20 {
            let backend = h.dispatch()
            #expect(backend == 1)
            h.finish(h.nextID - 1)
        }
        // Concurrent: b1 decodes four times faster, so it takes about four times the requests,
        // but load still counts (b0 is used once b1 has enough).
        for _ in 0..<20 { h.dispatch() }
        let counts = h.backends.map(\.inFlight)
        #expect(counts[1] >= 3 * counts[0], "counts \(counts)")
        #expect(counts[0] > 0, "counts \(counts)")
    }

    @Test("p2c never picks a backend outside the candidates")
    func powerOfTwoStaysInCandidates() throws {
        var h = SchedulerHarness(backends: 5, policy: .powerOfTwo)
        for id in UInt64(1)...200 {
            #expect([1, 3].contains(h.scheduler.choose(h.request(id: id), among: [3, 1], now: h.now)))
            #expect(h.scheduler.choose(h.request(id: id), among: [4], now: h.now) == 4)
        }
        _ = h.scheduler.markUnreachable(backend: 1, reason: "down", now: h.now)
        _ = h.scheduler.markUnreachable(backend: 3, reason: "down", now: h.now)
        var used = Set<Int>()
        for _ in 0..<90 { used.insert(h.dispatch()) }
        #expect(used == [0, 2, 4])
        #expect(h.backends[1].inFlight == 0 && h.backends[3].inFlight == 0)
    }

    @Test("session-affinity keeps a key on one backend across requests")
    func sessionAffinitySticks() throws {
        var h = SchedulerHarness(backends: 4, policy: .sessionAffinity)
        let ring = HashRing(names: ["b0", "b1", "b2", "b3"])
        for name in ["alice", "bob", "carol", "dave", "erin"] {
            let key = HashRing.key(name)
            let owner = ring.walk(from: key)[0]
            // One after another on an idle cluster.
            for _ in 0..<3 {
                let placed = h.dispatch(session: key)
                #expect(placed == owner, "\(name)")
                h.finish(h.nextID - 1)
            }
            // Three at once over an even background load of 2000 tokens per backend.
            let background = (0..<4).map { h.pin($0, prompt: 2000, output: 0) }
            for _ in 0..<3 {
                let placed = h.dispatch(session: key)
                #expect(placed == owner, "\(name)")
            }
            for id in Array(h.held.keys) { h.finish(id) }
            #expect(h.held.isEmpty && background.count == 4)
        }
    }

    @Test("session-affinity spreads different keys over the backends")
    func sessionAffinitySpreads() throws {
        var h = SchedulerHarness(backends: 4, policy: .sessionAffinity)
        var counts = [0, 0, 0, 0]
        for i in 0..<400 {
            let backend = h.dispatch(session: HashRing.key("session-\(i)"))
            counts[backend] += 1
            h.finish(h.nextID - 1)
        }
        // 64 points per backend: each gets a fair part of the keys.
        #expect(counts.allSatisfy { $0 >= 40 }, "counts \(counts)")
    }

    @Test("session-affinity leaves the key's backend once its load exceeds factor × average")
    func sessionAffinityBoundedLoad() throws {
        var h = SchedulerHarness(backends: 2, policy: .sessionAffinity)
        let key = HashRing.key("busy-session")
        let owner = HashRing(names: ["b0", "b1"]).walk(from: key)[0]
        let other = 1 - owner
        // Requests of 100 tokens with one key. Average (counting the new request) × 1.25:
        // 1st: 0 ≤ 62.5, 2nd: 100 ≤ 125 stay; 3rd: 200 > 187.5 leaves; 4th: 200 ≤ 250 stays.
        var placed: [Int] = []
        for _ in 0..<4 { placed.append(h.dispatch(prompt: 50, output: 50, session: key)) }
        #expect(placed == [owner, owner, other, owner])
    }

    struct BoundCase: Sendable {
        var ownerLoad: Int
        var otherLoad: Int
        var tokens: Int
        var stays: Bool
    }

    @Test(
        "session-affinity: stay while the owner's load ≤ 1.25 × average, counting the request",
        arguments: [
            BoundCase(ownerLoad: 1000, otherLoad: 1000, tokens: 100, stays: true),
            BoundCase(ownerLoad: 1800, otherLoad: 1000, tokens: 100, stays: true),  // ≤ 1.25 × 2900 / 2
            BoundCase(ownerLoad: 1900, otherLoad: 1000, tokens: 100, stays: false),  // > 1.25 × 3000 / 2
            BoundCase(ownerLoad: 4000, otherLoad: 0, tokens: 100, stays: false),
            BoundCase(ownerLoad: 0, otherLoad: 4000, tokens: 100, stays: true),
            BoundCase(ownerLoad: 0, otherLoad: 0, tokens: 5000, stays: true),  // idle: the owner
        ])
    func sessionAffinityBound(_ c: BoundCase) {
        let (ownerLoad, otherLoad, tokens, stays) = (c.ownerLoad, c.otherLoad, c.tokens, c.stays)
        var h = SchedulerHarness(backends: 2, policy: .sessionAffinity)
        let key = HashRing.key("bounded")
        let owner = HashRing(names: ["b0", "b1"]).walk(from: key)[0]
        if ownerLoad > 0 { h.pin(owner, prompt: ownerLoad, output: 0) }
        if otherLoad > 0 { h.pin(1 - owner, prompt: otherLoad, output: 0) }
        let backend = h.dispatch(prompt: tokens, output: 0, session: key)
        #expect(backend == (stays ? owner : 1 - owner))
    }

    @Test("a per-model policy overrides the default policy")
    func modelPolicyOverride() throws {
        var h = SchedulerHarness(models: [["a", "b"], ["a", "b"]]) { config in
            config.routing.policy = .leastRequests
            config.routing.modelPolicies = ["b": .roundRobin]
        }
        h.pin(0, prompt: 1, output: 0)
        h.pin(0, prompt: 1, output: 0)
        h.pin(1, prompt: 1, output: 0)
        // Round-robin starts model "b" at b0, however loaded; least-requests takes b1 for "a".
        let first = h.dispatch(model: "b")
        let second = h.dispatch(model: "a")
        #expect(first == 0)
        #expect(second == 1)
    }
}
