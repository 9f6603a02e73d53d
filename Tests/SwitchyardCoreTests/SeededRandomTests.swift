import SwitchyardCore
import Testing

@Suite struct SeededRandomTests {
    @Test func sameSeedSameSequenceDifferentSeedDifferentSequence() {
        var a = SeededRandom(seed: 42)
        var b = SeededRandom(seed: 42)
        var c = SeededRandom(seed: 43)
        let first = (0..<16).map { _ in a.next() }
        #expect(first == (0..<16).map { _ in b.next() })
        #expect(first != (0..<16).map { _ in c.next() })
    }

    @Test func unitDrawsAreInRangeAndRoughlyUniform() {
        var generator = SeededRandom(seed: 7)
        let draws = (0..<100_000).map { _ in generator.nextUnit() }
        #expect(draws.allSatisfy { $0 >= 0 && $0 < 1 })
        let mean = draws.reduce(0, +) / Double(draws.count)
        #expect(abs(mean - 0.5) < 0.01)
        #expect(draws.filter { $0 < 0.1 }.count > 9_000 && draws.filter { $0 < 0.1 }.count < 11_000)
    }

    @Test func forksAreIndependentAndReproducible() {
        let root = SeededRandom(seed: 1)
        var x = root.fork(1)
        var y = root.fork(2)
        var x2 = root.fork(1)
        let xs = (0..<8).map { _ in x.next() }
        #expect(xs != (0..<8).map { _ in y.next() })
        #expect(xs == (0..<8).map { _ in x2.next() })
    }
}
