import Foundation
import Testing

@testable import SwitchyardCore

private let checkedPercentiles: [Double] = [0, 1, 25, 50, 90, 99, 99.9, 100]

/// Latency-like values: lognormal around 100 ms, clamped to [1 ms, 10 s].
private func latencies(_ count: Int, seed: UInt64) -> [Double] {
    var random = SeededRandom(seed: seed)
    var values: [Double] = []
    values.reserveCapacity(count)
    for _ in 0..<count {
        let u1 = max(random.nextUnit(), 1e-300)
        let u2 = random.nextUnit()
        let z = (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
        values.append(min(max(exp(log(0.1) + 1.5 * z), 0.001), 10))
    }
    return values
}

private func sketchOf(_ values: [Double]) -> LatencySketch {
    var sketch = LatencySketch()
    for value in values { sketch.record(value) }
    return sketch
}

/// `estimate` is within the sketch's relative error of `exact`, with 1e-9 relative slack.
private func isClose(_ estimate: Double, _ exact: Double) -> Bool {
    abs(estimate - exact) <= (LatencySketch.relativeError + 1e-9) * abs(exact)
}

@Suite("LatencySketch: percentiles within 0.4975 %, exact count and mean")
struct LatencySketchTests {
    @Test("the stated relative error is (γ-1)/(γ+1) with γ = 1.01")
    func constants() {
        #expect(LatencySketch.gamma == 1.01)
        #expect(abs(LatencySketch.relativeError - 0.004975124378) < 1e-12)
    }

    @Test("every bucket's representative is within the relative error of its values")
    func representatives() {
        var random = SeededRandom(seed: 11)
        for _ in 0..<20_000 {
            // Log-uniform over the whole clamp range [1 µs, 100 000 s].
            let value = exp(log(1e-6) + random.nextUnit() * (log(1e5) - log(1e-6)))
            let estimate = LatencySketch.representative(of: LatencySketch.index(of: value))
            #expect(isClose(estimate, value), "value \(value) → \(estimate)")
        }
        // Bucket edges γ^i themselves.
        for i in [-1388, -500, -1, 0, 1, 2, 100, 1157] {
            let edge = pow(LatencySketch.gamma, Double(i))
            let estimate = LatencySketch.representative(of: LatencySketch.index(of: edge))
            #expect(isClose(estimate, edge), "edge γ^\(i)")
        }
    }

    @Test("percentiles agree with NumPy's exact ones", arguments: [1, 2, 3, 10, 1000, 100_000])
    func againstExact(size: Int) {
        let values = latencies(size, seed: UInt64(size) &* 7919)
        let sketch = sketchOf(values)
        let sorted = values.sorted()
        #expect(sketch.count == size)
        #expect(sketch.minimum == sorted.first)
        #expect(sketch.maximum == sorted.last)
        for p in checkedPercentiles {
            let exact = Statistics.percentile(sorted, p)
            let estimate = sketch.percentile(p)
            #expect(isClose(estimate, exact), "size \(size) p\(p): sketch \(estimate), exact \(exact)")
        }
        #expect(isClose(sketch.median, Statistics.median(sorted)))
        // The extremes are exact.
        #expect(sketch.percentile(0) == sorted.first)
        #expect(sketch.percentile(100) == sorted.last)
        // Count-based statistics are exact (up to summation order).
        let mean = Statistics.mean(values)
        #expect(abs(sketch.mean - mean) <= 1e-9 * mean)
        let std = Statistics.populationStd(values)
        #expect(abs(sketch.standardDeviation - std) <= 1e-7 * max(std, 1e-12) + 1e-12)
    }

    @Test("percentiles between samples of very different size (a bimodal mix)")
    func bimodal() {
        var random = SeededRandom(seed: 5)
        var values: [Double] = []
        for index in 0..<5000 {
            let base = index % 3 == 0 ? 2.0 : 0.02
            values.append(base * (1 + 0.2 * random.nextUnit()))
        }
        let sketch = sketchOf(values)
        for p in stride(from: 0.0, through: 100.0, by: 0.5) {
            let exact = Statistics.percentile(values, p)
            #expect(isClose(sketch.percentile(p), exact), "p\(p)")
        }
    }

    @Test("merging equals recording everything into one sketch", arguments: [(0, 0), (0, 5), (7, 0), (500, 1500)])
    func merge(leftCount: Int, rightCount: Int) {
        let left = latencies(leftCount, seed: 1)
        // The right side reaches lower than the left: buckets are prepended on merge.
        let right = latencies(rightCount, seed: 2).map { $0 / 50 }
        var merged = sketchOf(left)
        merged.merge(sketchOf(right))
        let whole = sketchOf(left + right)
        #expect(merged.count == whole.count)
        #expect(merged.minimum == whole.minimum)
        #expect(merged.maximum == whole.maximum)
        #expect(abs(merged.mean - whole.mean) <= 1e-12 * max(whole.mean, 1))
        #expect(abs(merged.standardDeviation - whole.standardDeviation) <= 1e-9 * max(whole.standardDeviation, 1))
        for p in checkedPercentiles + [10, 33.3, 75] {
            #expect(merged.percentile(p) == whole.percentile(p), "p\(p)")
        }
        // Merging the other way round gives the same percentiles.
        var reversed = sketchOf(right)
        reversed.merge(sketchOf(left))
        for p in checkedPercentiles {
            #expect(reversed.percentile(p) == whole.percentile(p), "reversed p\(p)")
        }
    }

    @Test("recording values below and then above the buckets seen grows the range both ways")
    func growsBothWays() {
        var sketch = LatencySketch()
        let values: [Double] = [1, 0.001, 5, 0.0001, 50, 0.5, 2]
        for value in values { sketch.record(value) }
        for p in stride(from: 0.0, through: 100.0, by: 5) {
            #expect(isClose(sketch.percentile(p), Statistics.percentile(values, p)), "p\(p)")
        }
    }

    @Test("zeros (events delivered together) count as 0")
    func zeros() {
        let values: [Double] = [0, 0, 0, 0.005, 0.01, 0.02, 0, 0.04]
        let sketch = sketchOf(values)
        #expect(sketch.count == 8)
        #expect(sketch.minimum == 0)
        for p in stride(from: 0.0, through: 100.0, by: 2.5) {
            let exact = Statistics.percentile(values, p)
            #expect(isClose(sketch.percentile(p), exact), "p\(p): \(sketch.percentile(p)) vs \(exact)")
        }
        #expect(sketch.percentile(25) == 0)
        #expect(abs(sketch.mean - Statistics.mean(values)) <= 1e-15)

        let allZero = sketchOf([0, 0, 0])
        #expect(allZero.percentile(50) == 0)
        #expect(allZero.percentile(100) == 0)
        #expect(allZero.mean == 0)
        #expect(allZero.standardDeviation == 0)
    }

    @Test("a negative value (clock step) is kept exactly as the minimum and in the mean")
    func negative() {
        let values: [Double] = [-0.5, 0.25, 1, 2]
        let sketch = sketchOf(values)
        #expect(sketch.count == 4)
        #expect(sketch.minimum == -0.5)
        #expect(sketch.percentile(0) == -0.5)
        #expect(sketch.percentile(100) == 2)
        #expect(sketch.mean == Statistics.mean(values))
        // Ranks above the negative one are estimated as usual.
        #expect(isClose(sketch.percentile(100.0 / 3), 0.25))
        #expect(isClose(sketch.percentile(200.0 / 3), 1))
        let std = Statistics.populationStd(values)
        #expect(abs(sketch.standardDeviation - std) <= 1e-12)
    }

    @Test("an empty sketch reports 0 everywhere, as vLLM's `np.mean(values or 0)`")
    func empty() {
        let sketch = LatencySketch()
        #expect(sketch.isEmpty)
        #expect(sketch.count == 0)
        #expect(sketch.mean == 0)
        #expect(sketch.median == 0)
        #expect(sketch.standardDeviation == 0)
        for p in checkedPercentiles { #expect(sketch.percentile(p) == 0) }
        let summary = LatencySummary(sketch: sketch, percentiles: [50, 99])
        #expect(summary == LatencySummary(seconds: [], percentiles: [50, 99]))
        var merged = LatencySketch()
        merged.merge(sketch)
        #expect(merged == LatencySketch())
    }

    @Test("percentiles never leave [minimum, maximum] and never decrease with p")
    func boundedAndMonotone() {
        // All in one or two buckets: a bucket's representative may lie beyond the values seen.
        let sets: [[Double]] = [
            [1.0, 1.001, 1.002, 1.003], [0.5, 0.5, 0.5, 0.5001], [1e-9, 1e-9, 1e-9, 2e-9], [2e5, 2e5, 2.0001e5],
            latencies(2000, seed: 9),
        ]
        for values in sets {
            let sketch = sketchOf(values)
            var previous = -Double.infinity
            for p in stride(from: 0.0, through: 100.0, by: 0.25) {
                let value = sketch.percentile(p)
                #expect(
                    value >= values.min()! && value <= values.max()!, "p\(p) = \(value) outside \(values.prefix(4))")
                #expect(value >= previous, "p\(p) decreased")
                previous = value
            }
        }
    }

    @Test("a single value is every percentile, exactly")
    func single() {
        let sketch = sketchOf([0.123456789])
        for p in checkedPercentiles { #expect(sketch.percentile(p) == 0.123456789) }
        #expect(sketch.mean == 0.123456789)
        #expect(sketch.standardDeviation == 0)
    }

    @Test("non-finite values are ignored")
    func nonFinite() {
        var sketch = LatencySketch()
        sketch.record(.nan)
        sketch.record(.infinity)
        sketch.record(-.infinity)
        #expect(sketch.isEmpty)
        sketch.record(0.5)
        #expect(sketch.count == 1)
        #expect(sketch.mean == 0.5)
    }

    @Test("values outside [1 µs, 100 000 s]: extremes and mean exact, buckets bounded")
    func clamped() {
        let tiny: [Double] = [1e-9, 2e-9, 3e-9, 1]
        let low = sketchOf(tiny)
        #expect(low.percentile(0) == 1e-9)
        #expect(low.percentile(100) == 1)
        #expect(low.mean == Statistics.mean(tiny))
        // Interior ranks below the range read as (about) 1 µs, never more.
        let rank1 = low.percentile(100.0 / 3)
        #expect(rank1 <= 1e-6 * (1 + LatencySketch.relativeError) + 1e-15)
        #expect(rank1 >= 1e-9)

        let huge: [Double] = [1, 2e5, 3e5, 1e9]
        let high = sketchOf(huge)
        #expect(high.percentile(0) == 1)
        #expect(high.percentile(100) == 1e9)
        #expect(high.mean == Statistics.mean(huge))
        let interior = high.percentile(100.0 / 3)
        #expect(interior.isFinite)
        #expect(interior >= 1e5 * (1 - LatencySketch.relativeError))
        #expect(interior <= 1e9)

        // Both extremes in one sketch: at most the 2 546 buckets of the clamp range.
        var both = LatencySketch()
        for value in [1e-12, 1e12, 1e-7, 1e7, 0.5] { both.record(value) }
        #expect(both.bucketBytes <= 2 * 2547 * MemoryLayout<UInt32>.stride)
        #expect(both.percentile(0) == 1e-12)
        #expect(both.percentile(100) == 1e12)
        #expect(isClose(both.percentile(50), 0.5))
    }

    @Test("memory stays small for realistic latencies")
    func memory() {
        let sketch = sketchOf(latencies(100_000, seed: 3))
        // 1 ms … 10 s spans about 926 buckets.
        #expect(sketch.bucketBytes <= 2 * 930 * MemoryLayout<UInt32>.stride)
    }
}
