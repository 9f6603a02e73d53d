import Foundation

/// A mergeable, bounded-memory summary of positive values (latencies in seconds) with a stated
/// relative error, so live statistics never keep every sample.
///
/// Values fall into logarithmic buckets `(γ^(i-1), γ^i]` with γ = 1.01 (DDSketch's mapping);
/// a bucket stands for `2γ^i / (γ + 1)`, within `relativeError` (0.4975 %) of every value in it.
/// Percentiles use NumPy's linear interpolation between the estimated order statistics, so each
/// reported percentile is within that relative error of NumPy's exact one; the count, the mean
/// and the minimum and maximum are exact (the standard deviation is computed from exact sums).
/// Values are clamped to [1 µs, 100 000 s]: at most 2 546 buckets of 4 bytes (about 10 KiB), and
/// in practice a few hundred, since only the range between the smallest and largest bucket seen is
/// stored.
public struct LatencySketch: Sendable, Equatable {
    public static let gamma = 1.01
    public static let relativeError = (gamma - 1) / (gamma + 1)
    static let logGamma = Foundation.log(gamma)
    static let minimumValue = 1e-6
    static let maximumValue = 1e5

    /// Counts of buckets `firstIndex ..< firstIndex + counts.count`.
    private var counts: [UInt32] = []
    private var firstIndex = 0
    /// Values at or below zero (a zero gap between two events delivered together).
    private var zeros = 0
    public private(set) var count = 0
    public private(set) var sum = 0.0
    private var sumOfSquares = 0.0
    public private(set) var minimum = Double.infinity
    public private(set) var maximum = -Double.infinity

    public init() {}

    public var isEmpty: Bool { count == 0 }

    public mutating func record(_ value: Double) {
        guard value.isFinite else { return }
        count += 1
        sum += value
        sumOfSquares += value * value
        minimum = Swift.min(minimum, value)
        maximum = Swift.max(maximum, value)
        guard value > 0 else {
            zeros += 1
            return
        }
        add(Self.index(of: value), 1)
    }

    public mutating func merge(_ other: LatencySketch) {
        guard !other.isEmpty else { return }
        count += other.count
        sum += other.sum
        sumOfSquares += other.sumOfSquares
        minimum = Swift.min(minimum, other.minimum)
        maximum = Swift.max(maximum, other.maximum)
        zeros += other.zeros
        for (offset, bucketCount) in other.counts.enumerated() where bucketCount > 0 {
            add(other.firstIndex + offset, bucketCount)
        }
    }

    /// Bytes held by the buckets (for the memory statement).
    public var bucketBytes: Int { counts.capacity * MemoryLayout<UInt32>.stride }

    static func index(of value: Double) -> Int {
        let clamped = Swift.min(Swift.max(value, minimumValue), maximumValue)
        return Int((Foundation.log(clamped) / logGamma).rounded(.up))
    }

    static func representative(of index: Int) -> Double {
        2 * Foundation.pow(gamma, Double(index)) / (gamma + 1)
    }

    private mutating func add(_ index: Int, _ amount: UInt32) {
        if counts.isEmpty {
            firstIndex = index
            counts = [amount]
            return
        }
        if index < firstIndex {
            counts.insert(contentsOf: repeatElement(0, count: firstIndex - index), at: 0)
            firstIndex = index
        } else if index >= firstIndex + counts.count {
            counts.append(contentsOf: repeatElement(0, count: index - firstIndex - counts.count + 1))
        }
        counts[index - firstIndex] &+= amount
    }

    // MARK: - Statistics (NumPy's conventions: an empty sketch gives 0)

    public var mean: Double { count == 0 ? 0 : sum / Double(count) }

    /// Population standard deviation (ddof = 0).
    public var standardDeviation: Double {
        guard count > 0 else { return 0 }
        let mean = self.mean
        return Swift.max(0, sumOfSquares / Double(count) - mean * mean).squareRoot()
    }

    public var median: Double { percentile(50) }

    /// `np.percentile` with linear interpolation over the estimated order statistics.
    public func percentile(_ p: Double) -> Double {
        guard count > 0 else { return 0 }
        let rank = Double(count - 1) * Swift.min(Swift.max(p, 0), 100) / 100
        let lowerRank = Int(rank.rounded(.down))
        let lower = orderStatistic(lowerRank)
        guard lowerRank + 1 < count else { return lower }
        let upper = orderStatistic(lowerRank + 1)
        let fraction = rank - Double(lowerRank)
        return fraction >= 0.5 ? upper - (upper - lower) * (1 - fraction) : lower + (upper - lower) * fraction
    }

    /// The estimated value of rank `k` (0-based); the extremes are exact.
    func orderStatistic(_ k: Int) -> Double {
        if k <= 0 { return minimum }
        if k >= count - 1 { return maximum }
        if k < zeros { return Swift.min(0, maximum) }
        var seen = zeros
        for (offset, bucketCount) in counts.enumerated() {
            seen += Int(bucketCount)
            if seen > k {
                let value = Self.representative(of: firstIndex + offset)
                return Swift.min(Swift.max(value, minimum), maximum)
            }
        }
        return maximum
    }
}
