import Testing

@testable import SwitchyardCore

@Suite("HashRing: consistent hashing over backend names")
struct HashRingTests {
    private static let keys = (0..<2000).map { HashRing.key("session-\($0)") }

    @Test("a walk visits every backend once, the owner first", arguments: [1, 2, 5, 9])
    func walkVisitsAll(count: Int) {
        let ring = HashRing(names: (0..<count).map { "b\($0)" })
        for key in Self.keys.prefix(500) {
            let walk = ring.walk(from: key)
            #expect(walk.count == count && Set(walk) == Set(0..<count))
        }
        #expect(ring.walk(from: 0).count == count)
        #expect(ring.walk(from: .max).count == count)
    }

    @Test("an empty ring has no walk")
    func empty() {
        #expect(HashRing(names: []).walk(from: 42).isEmpty)
    }

    @Test("adding a backend moves only the keys it takes over, about 1/n of them")
    func addingKeepsOwners() {
        let before = HashRing(names: ["b0", "b1", "b2", "b3", "b4"])
        let after = HashRing(names: ["b0", "b1", "b2", "b3", "b4", "b5"])
        var moved = 0
        for key in Self.keys {
            let old = before.walk(from: key)[0]
            let new = after.walk(from: key)[0]
            if new != old {
                moved += 1
                #expect(new == 5, "a key moved from b\(old) to b\(new)")
            }
        }
        let fraction = Double(moved) / Double(Self.keys.count)
        #expect(fraction > 0.08 && fraction < 0.3, "moved \(fraction)")
    }

    @Test("skipping a backend in the walk is the same as a ring without it")
    func skippingEqualsRemoving() {
        let names = ["alpha", "beta", "gamma", "delta"]
        let full = HashRing(names: names)
        let without = ["alpha", "beta", "delta"]
        let smaller = HashRing(names: without)
        for key in Self.keys {
            let skipping = full.walk(from: key).first { names[$0] != "gamma" }!
            #expect(names[skipping] == without[smaller.walk(from: key)[0]])
        }
    }

    @Test("keys spread over the backends and hash stably")
    func spread() {
        let ring = HashRing(names: ["b0", "b1", "b2", "b3"])
        var counts = [0, 0, 0, 0]
        for key in Self.keys { counts[ring.walk(from: key)[0]] += 1 }
        #expect(counts.allSatisfy { $0 > Self.keys.count / 10 && $0 < Self.keys.count * 45 / 100 }, "\(counts)")
        #expect(HashRing.key("abc") == HashRing.key("abc"))
        #expect(HashRing.key("abc") != HashRing.key("abd"))
        #expect(HashRing.key(seed: 7) == HashRing.key(seed: 7) && HashRing.key(seed: 7) != HashRing.key(seed: 8))
    }
}

@Suite("DrainRate: tokens freed per second while requests wait")
struct DrainRateTests {
    /// Saturated from `start` for `seconds`, `tokens` freed every 0.1 s.
    private func saturate(_ rate: inout DrainRate, from start: Double, seconds: Double, tokensPerTick: Int) {
        rate.setSaturated(true, now: .seconds(start))
        for tick in 1...Int(seconds * 10) {
            rate.completed(tokens: tokensPerTick, now: .seconds(start + Double(tick) / 10))
        }
    }

    @Test("nil until a second of saturation has been seen")
    func nilUntilMeasured() {
        var rate = DrainRate()
        #expect(rate.tokensPerSecond == nil && rate.secondsToDrain(100) == nil)
        saturate(&rate, from: 0, seconds: 0.5, tokensPerTick: 100)
        #expect(rate.tokensPerSecond == nil)
        for tick in 6...20 { rate.completed(tokens: 100, now: .seconds(Double(tick) / 10)) }
        #expect(rate.tokensPerSecond != nil)
    }

    @Test("the rate is the tokens freed per second of saturation")
    func rate() throws {
        var rate = DrainRate()
        saturate(&rate, from: 0, seconds: 10, tokensPerTick: 100)
        let measured = try #require(rate.tokensPerSecond)
        #expect(abs(measured - 1000) < 30, "\(measured)")
        let seconds = try #require(rate.secondsToDrain(5000))
        #expect(abs(seconds - 5) < 0.2)
    }

    @Test("completions while nothing waits do not count, nor does the time")
    func unsaturatedIgnored() throws {
        var rate = DrainRate()
        // 10 s unsaturated at 10000 tokens/s: arrivals, not capacity.
        for tick in 1...100 { rate.completed(tokens: 1000, now: .seconds(Double(tick) / 10)) }
        #expect(rate.tokensPerSecond == nil)
        saturate(&rate, from: 10, seconds: 3, tokensPerTick: 20)
        rate.setSaturated(false, now: .seconds(13))
        for tick in 131...150 { rate.completed(tokens: 5000, now: .seconds(Double(tick) / 10)) }
        let measured = try #require(rate.tokensPerSecond)
        #expect(abs(measured - 200) < 10, "\(measured)")
    }

    @Test("the rate follows a change in speed within a few half-lives")
    func followsChanges() throws {
        var rate = DrainRate(halfLife: .seconds(30))
        saturate(&rate, from: 0, seconds: 60, tokensPerTick: 100)  // 1000 tokens/s
        saturate(&rate, from: 60, seconds: 60, tokensPerTick: 10)  // then 100 tokens/s
        let measured = try #require(rate.tokensPerSecond)
        #expect(measured > 150 && measured < 400, "\(measured)")
    }
}

@Suite("QueueTimeout: the queue timeout header")
struct QueueTimeoutTests {
    private static var config: QueueConfig {
        var config = QueueConfig()
        config.timeout = .seconds(12)
        config.maxTimeout = .seconds(60)
        return config
    }

    @Test(
        "valid values: seconds, decimals allowed, capped at max_timeout",
        arguments: [
            (nil, Duration.seconds(12)), ("5", .seconds(5)), (" 2.5\t", .milliseconds(2500)),
            ("0.25", .milliseconds(250)), ("60", .seconds(60)), ("61", .seconds(60)), ("1e2", .seconds(60)),
            ("1e9", .seconds(60)), ("1e300", .seconds(60)),
        ] as [(String?, Duration)])
    func valid(header: String?, expected: Duration) throws {
        let result = QueueTimeout.parse(header, config: Self.config)
        #expect(try result.get() == expected)
    }

    @Test(
        "anything but a positive finite number is 400 invalid_queue_timeout",
        arguments: ["", "  ", "0", "-1", "-0.5", "abc", "5s", "inf", "nan", "1e400", "1,5", "--1"])
    func invalid(header: String) throws {
        guard case .failure(let error) = QueueTimeout.parse(header, config: Self.config) else {
            Issue.record("\"\(header)\" was accepted")
            return
        }
        #expect(error.status == 400)
        #expect(error.reason == "invalid_queue_timeout")
        #expect(error.param == "x-switchyard-queue-timeout")
        #expect(error.message.contains("x-switchyard-queue-timeout"))
        #expect(error.retryAfterSeconds == nil)
    }
}
