import Testing

@testable import SwitchyardCore

/// Expected values are NumPy 2.x's (`np.percentile`, `np.median`, `np.std`, `np.mean`),
/// printed with `repr`, so equality is exact unless a tolerance is given.
@Suite("Telemetry statistics (NumPy semantics)")
struct TelemetryStatisticsTests {
    @Test(
        "percentile: linear interpolation",
        arguments: [
            // np.percentile([1, 2, 3, 4], [0, 25, 50, 99, 100])
            ([1, 2, 3, 4], 0, 1),
            ([1, 2, 3, 4], 25, 1.75),
            ([1, 2, 3, 4], 50, 2.5),
            ([1, 2, 3, 4], 99, 3.9699999999999998),
            ([1, 2, 3, 4], 100, 4),
            // unsorted input: np.percentile([3, 1, 4, 1, 5, 9, 2, 6], p)
            ([3, 1, 4, 1, 5, 9, 2, 6], 0, 1),
            ([3, 1, 4, 1, 5, 9, 2, 6], 10, 1),
            ([3, 1, 4, 1, 5, 9, 2, 6], 33.3, 2.3309999999999995),
            ([3, 1, 4, 1, 5, 9, 2, 6], 50, 3.5),
            ([3, 1, 4, 1, 5, 9, 2, 6], 75, 5.25),
            ([3, 1, 4, 1, 5, 9, 2, 6], 90, 6.8999999999999995),
            ([3, 1, 4, 1, 5, 9, 2, 6], 99.9, 8.979000000000001),
            ([3, 1, 4, 1, 5, 9, 2, 6], 100, 9),
            // a single element is every percentile
            ([7], 0, 7),
            ([7], 37.5, 7),
            ([7], 100, 7),
            // NumPy interpolates from the upper neighbour when the weight is >= 0.5:
            // 0.7 - 0.6 * 0.3 = 0.5199999999999999, where 0.1 + 0.6 * 0.7 = 0.52
            ([0.1, 0.7], 70, 0.5199999999999999),
            ([0.1, 0.7], 30, 0.28),
            // `values or 0`
            ([], 99, 0),
        ] as [([Double], Double, Double)])
    func percentile(values: [Double], p: Double, expected: Double) {
        #expect(Statistics.percentile(values, p) == expected)
    }

    @Test(
        "median of odd and even counts",
        arguments: [
            ([3, 1, 2], 2),
            ([4, 1, 3, 2], 2.5),
            ([3, 1, 4, 1, 5, 9, 2, 6], 3.5),
            ([5], 5),
            ([], 0),
        ] as [([Double], Double)])
    func median(values: [Double], expected: Double) {
        #expect(Statistics.median(values) == expected)
    }

    @Test(
        "population standard deviation (ddof = 0)",
        arguments: [
            ([2, 4, 4, 4, 5, 5, 7, 9], 2),
            ([1, 2, 3, 4], 1.118033988749895),  // sqrt(1.25); the sample std would be 1.29
            ([3, 1, 4, 1, 5, 9, 2, 6], 2.5708704751503917),
            ([42], 0),
            ([], 0),
        ] as [([Double], Double)])
    func populationStd(values: [Double], expected: Double) {
        #expect(Statistics.populationStd(values) == expected)
    }

    @Test("mean, and the empty list is [0]")
    func mean() {
        #expect(Statistics.mean([1, 2, 3, 4]) == 2.5)
        #expect(Statistics.mean([0.5]) == 0.5)
        #expect(Statistics.mean([]) == 0)
    }

    @Test("sums are NumPy's pairwise sums, bit for bit")
    func pairwiseSummation() {
        let harmonic = (1...300).map { 1 / Double($0) }
        // np.sum gives 6.282663880299504; a left-to-right loop gives 6.282663880299502.
        #expect(Statistics.pairwiseSum(harmonic[...]) == 6.282663880299504)
        #expect(harmonic.reduce(0, +) == 6.282663880299502)
        #expect(Statistics.mean(harmonic) == 0.02094221293433168)
        #expect(Statistics.populationStd(harmonic) == 0.07094677343195521)
        let tenths = (0..<1000).map { Double($0) * 0.1 }
        #expect(Statistics.mean(tenths) == 49.95)
    }
}

extension TelemetryStatisticsTests {
    /// 203 log-normal latencies (seconds, seed 20240601) and NumPy's figures for them.
    static let fixture: [Double] = [
        0.016077, 0.161301, 0.142475, 0.020167, 0.039688, 0.182453, 0.036091, 0.242987, 0.264007, 0.106952,
        0.075631, 0.057133, 0.029852, 0.029649, 0.123539, 0.181769, 0.030225, 0.044193, 0.022233, 0.031225,
        0.023184, 0.012024, 0.210092, 0.110324, 0.023373, 0.099503, 0.00181, 0.035403, 0.038423, 0.081892, 0.083113,
        0.1932, 0.048448, 0.122317, 0.024661, 0.046543, 0.392721, 0.032102, 0.012078, 0.041775, 0.079174, 0.054005,
        0.084865, 0.057609, 0.046094, 0.025709, 0.083045, 0.028835, 0.287033, 0.029572, 0.011206, 0.254944,
        0.063787, 0.028077, 0.072314, 0.063935, 0.471967, 0.14263, 0.044698, 0.013389, 0.118919, 0.160998, 0.0148,
        0.021159, 0.018011, 0.032248, 0.203576, 0.018056, 0.020766, 0.024565, 0.156072, 0.32705, 0.009738, 0.069321,
        0.089412, 0.661753, 0.128607, 0.011677, 0.193546, 0.098193, 0.083344, 0.011535, 0.119371, 0.014671,
        0.132171, 0.041541, 0.419756, 0.066404, 0.099825, 0.041451, 0.020378, 0.172449, 0.092436, 0.034339,
        0.098416, 0.029872, 0.457808, 0.197007, 0.04044, 0.267657, 0.009641, 0.110309, 0.0815, 0.046931, 0.025178,
        0.034711, 0.187784, 0.060137, 0.020216, 0.021831, 0.003877, 0.037308, 0.0373, 0.055173, 0.052466, 0.020567,
        0.058959, 0.109914, 0.030794, 0.193265, 0.133194, 0.133967, 0.025064, 0.031772, 0.06033, 0.025768, 0.217362,
        0.120227, 0.026608, 0.036046, 0.008289, 0.130759, 0.168176, 0.035016, 0.337951, 0.064273, 0.044868, 0.03078,
        0.035708, 0.030283, 0.015091, 0.037305, 0.146145, 0.093223, 0.101121, 0.025987, 0.147272, 0.059404,
        0.033022, 0.089923, 0.1834, 0.018788, 0.02328, 0.038302, 0.061175, 0.010306, 0.016305, 0.033184, 0.024432,
        0.14094, 0.092762, 0.125708, 0.029307, 0.197853, 0.148826, 0.046994, 0.11704, 0.07623, 0.058372, 0.010401,
        0.053382, 0.038933, 0.108553, 0.096078, 0.085359, 0.039037, 0.036176, 0.081973, 0.139773, 0.01682, 0.044102,
        0.01391, 0.452273, 0.094608, 0.174636, 0.393548, 0.063377, 0.049777, 0.007629, 0.066016, 0.015298, 0.036915,
        0.260709, 0.189044, 0.029063, 0.048066, 0.024095, 0.146175, 0.036059, 0.037401, 0.033175, 0.061188,
        0.234716,
    ]
    static let fixtureMean = 0.09131587684729064
    static let fixtureMedian = 0.054005
    static let fixtureStd = 0.09888251312547364
    static let fixturePercentiles: [(Double, Double)] = [
        (0, 0.00181),
        (1, 0.0076422),
        (25, 0.029610499999999998),
        (50, 0.054005),
        (90, 0.19631480000000004),
        (99, 0.4576972999999999),
        (99.9, 0.6234162280000057),
        (100, 0.661753),
    ]

    @Test("a 203-value sample agrees with NumPy to the last bit")
    func numpyFixture() {
        #expect(Statistics.mean(Self.fixture) == Self.fixtureMean)
        #expect(Statistics.median(Self.fixture) == Self.fixtureMedian)
        #expect(Statistics.populationStd(Self.fixture) == Self.fixtureStd)
        for (p, expected) in Self.fixturePercentiles {
            #expect(Statistics.percentile(Self.fixture.shuffled(), p) == expected, "P\(p)")
        }
    }
}
