import SwitchyardBench
import SwitchyardCore
import Testing

@Suite struct ArrivalsTests {
    @Test func sameSeedSameTimes() {
        var a = SeededRandom(seed: 7)
        var b = SeededRandom(seed: 7)
        var c = SeededRandom(seed: 8)
        let first = Arrivals.sendTimes(count: 50, rate: 4, burstiness: 1, generator: &a)
        #expect(first == Arrivals.sendTimes(count: 50, rate: 4, burstiness: 1, generator: &b))
        #expect(first != Arrivals.sendTimes(count: 50, rate: 4, burstiness: 1, generator: &c))
    }

    @Test(
        "the last request is sent at count / rate, times never decrease",
        arguments: [(1, 1.0, 1.0), (10, 2.5, 1.0), (100, 10, 0.5), (1000, 50, 4), (37, 0.2, 0.1), (5, 3, 100)]
            as [(Int, Double, Double)])
    func lastSendIsCountOverRate(count: Int, rate: Double, burstiness: Double) {
        var generator = SeededRandom(seed: UInt64(count))
        let times = Arrivals.sendTimes(count: count, rate: rate, burstiness: burstiness, generator: &generator)
        #expect(times.count == count)
        #expect(abs(times.last! - Double(count) / rate) < 1e-9)
        #expect(zip(times, times.dropFirst()).allSatisfy { $0 <= $1 })
        // the first delay is a gamma draw too, not 0
        #expect(times[0] > 0)
    }

    @Test func infiniteRateSendsEverythingAtOnce() {
        var generator = SeededRandom(seed: 1)
        #expect(Arrivals.sendTimes(count: 5, rate: .infinity, burstiness: 1, generator: &generator) == [0, 0, 0, 0, 0])
        #expect(
            Arrivals.sendTimes(count: 3, rate: .infinity, burstiness: .infinity, generator: &generator) == [0, 0, 0])
        #expect(Arrivals.sendTimes(count: 0, rate: 5, burstiness: 1, generator: &generator) == [])
    }

    @Test func infiniteBurstinessIsEvenlySpaced() {
        var generator = SeededRandom(seed: 1)
        let untouched = generator
        let times = Arrivals.sendTimes(count: 8, rate: 4, burstiness: .infinity, generator: &generator)
        // vLLM: constant delays of 1/rate, so the first request goes out at 1/rate
        for (i, time) in times.enumerated() { #expect(abs(time - Double(i + 1) * 0.25) < 1e-12) }
        #expect(times.last == 2)
        #expect(
            generator.next()
                == {
                    var copy = untouched
                    return copy.next()
                }())  // no draws
    }

    @Test(arguments: [0.5, 1.0, 3.0])
    func meanGapIsOneOverRate(burstiness: Double) {
        // Before rescaling the gaps are gamma draws with mean 1/rate; after it the mean gap is
        // exactly (count / rate) / count. Check the raw draws: sum over many ≈ count / rate.
        var generator = SeededRandom(seed: 99)
        let rate = 20.0
        let scale = 1 / (rate * burstiness)
        let gaps = (0..<50_000).map { _ in Arrivals.gamma(shape: burstiness, scale: scale, generator: &generator) }
        let mean = gaps.reduce(0, +) / Double(gaps.count)
        #expect(abs(mean - 1 / rate) / (1 / rate) < 0.02)
        // and the rescaled schedule spaces requests 1/rate apart on average
        var scheduleGenerator = SeededRandom(seed: 5)
        let times = Arrivals.sendTimes(count: 2_000, rate: rate, burstiness: burstiness, generator: &scheduleGenerator)
        #expect(abs(times.last! / 2_000 - 1 / rate) < 1e-12)
    }

    @Test(
        "gamma draws have mean shape·scale and variance shape·scale²",
        arguments: [(0.5, 2.0), (1.0, 0.1), (4.0, 0.25), (0.1, 1.0)] as [(Double, Double)])
    func gammaMoments(shape: Double, scale: Double) {
        var generator = SeededRandom(seed: 2024)
        let draws = (0..<100_000).map { _ in Arrivals.gamma(shape: shape, scale: scale, generator: &generator) }
        #expect(draws.allSatisfy { $0 >= 0 && $0.isFinite })
        let mean = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
        #expect(abs(mean - shape * scale) / (shape * scale) < 0.03)
        #expect(abs(variance - shape * scale * scale) / (shape * scale * scale) < 0.06)
    }

    @Test func standardNormalMoments() {
        var generator = SeededRandom(seed: 3)
        let draws = (0..<100_000).map { _ in Arrivals.standardNormal(generator: &generator) }
        let mean = draws.reduce(0, +) / Double(draws.count)
        let variance = draws.map { ($0 - mean) * ($0 - mean) }.reduce(0, +) / Double(draws.count)
        #expect(abs(mean) < 0.01)
        #expect(abs(variance - 1) < 0.02)
        #expect(Double(draws.filter { abs($0) < 1 }.count) / 100_000 > 0.675)  // 68.3 %
        #expect(Double(draws.filter { abs($0) < 1 }.count) / 100_000 < 0.69)
    }
}
