/// The summary statistics `vllm bench serve` reports, with NumPy's exact semantics.
///
/// vLLM calls `np.mean(values or 0)`, `np.median(values or 0)`, `np.std(values or 0)` and
/// `np.percentile(values or 0, p)`: an empty list is replaced by the scalar `0`, so every
/// statistic of an empty list is 0 (never NaN). These functions do the same.
///
/// The arithmetic follows NumPy step by step so that results agree to the last bit:
/// sums use NumPy's pairwise summation (8-way unrolled blocks of up to 128 elements),
/// `std` is `sqrt(sum((x - mean)²) / n)` (ddof = 0), the median of an even count is the mean
/// of the two middle values, and percentiles use the default `'linear'` method including
/// NumPy's two-sided interpolation (`b - (b - a)(1 - t)` when `t >= 0.5`).
public enum Statistics {
    /// `np.mean(values or 0)`.
    public static func mean(_ values: [Double]) -> Double {
        if values.isEmpty { return 0 }
        return pairwiseSum(values[...]) / Double(values.count)
    }

    /// `np.median(values or 0)`.
    public static func median(_ values: [Double]) -> Double {
        if values.isEmpty { return 0 }
        let sorted = values.sorted()
        let half = sorted.count / 2
        // NumPy takes the mean of the middle slice (one or two elements).
        let middle = sorted.count % 2 == 1 ? sorted[half...half] : sorted[(half - 1)...half]
        return pairwiseSum(middle) / Double(middle.count)
    }

    /// `np.std(values or 0)`: the population standard deviation (ddof = 0).
    public static func populationStd(_ values: [Double]) -> Double {
        if values.isEmpty { return 0 }
        let count = Double(values.count)
        let mean = pairwiseSum(values[...]) / count
        let squares = values.map { ($0 - mean) * ($0 - mean) }
        return (pairwiseSum(squares[...]) / count).squareRoot()
    }

    /// `np.percentile(values or 0, p)` with the default `'linear'` method; `p` in [0, 100].
    public static func percentile(_ values: [Double], _ p: Double) -> Double {
        precondition(p >= 0 && p <= 100, "percentile \(p) is outside [0, 100]")
        if values.isEmpty { return 0 }
        let sorted = values.sorted()
        let last = sorted.count - 1
        let virtualIndex = Double(last) * (p / 100)
        if virtualIndex >= Double(last) { return sorted[last] }
        let previous = virtualIndex.rounded(.down)
        let lower = sorted[Int(previous)]
        let upper = sorted[Int(previous) + 1]
        let gamma = virtualIndex - previous
        let difference = upper - lower
        if gamma >= 0.5 { return upper - difference * (1 - gamma) }
        return lower + difference * gamma
    }

    /// NumPy's `pairwise_sum` for float64, bit for bit.
    static func pairwiseSum(_ values: ArraySlice<Double>) -> Double {
        let count = values.count
        let start = values.startIndex
        if count < 8 {
            var result = 0.0
            for value in values { result += value }
            return result
        }
        if count <= 128 {
            var r = Array(values[start..<start + 8])
            var i = 8
            while i < count - count % 8 {
                for j in 0..<8 { r[j] += values[start + i + j] }
                i += 8
            }
            var result = ((r[0] + r[1]) + (r[2] + r[3])) + ((r[4] + r[5]) + (r[6] + r[7]))
            while i < count {
                result += values[start + i]
                i += 1
            }
            return result
        }
        var half = count / 2
        half -= half % 8
        return pairwiseSum(values[start..<start + half]) + pairwiseSum(values[(start + half)...])
    }
}
