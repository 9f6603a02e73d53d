import Foundation
import SwitchyardCore

/// When each request is sent, as vLLM's `get_request` schedules it (no ramp-up). Pure: the
/// caller sleeps until `start + sendTimes[i]`.
public enum Arrivals {
    /// Send times in seconds from the start of the run, one per request.
    ///
    /// - `rate == .infinity`: every request at 0.
    /// - `burstiness == .infinity`: constant gaps of `1 / rate` (the first request at `1 / rate`).
    /// - otherwise gaps drawn from gamma(shape: burstiness, scale: 1 / (rate · burstiness))
    ///   (burstiness 1 is a Poisson process); the first delay is a draw too.
    ///
    /// The gaps are summed and, unless the last sum is 0, every time is multiplied by
    /// `(count / rate) / last`, so the last request is sent at `count / rate`.
    ///
    /// Preconditions (vLLM asserts the same): `rate > 0`, `burstiness > 0` (either may be
    /// infinite, neither NaN), `count >= 0`. The CLI validates its options before calling.
    public static func sendTimes(count: Int, rate: Double, burstiness: Double, generator: inout SeededRandom)
        -> [Double]
    {
        precondition(count >= 0, "negative request count \(count)")
        precondition(rate > 0, "the request rate must be positive, got \(rate)")
        precondition(burstiness > 0, "the burstiness must be positive, got \(burstiness)")
        guard count > 0 else { return [] }

        var delays: [Double]
        if rate == .infinity {
            delays = Array(repeating: 0, count: count)
        } else if burstiness == .infinity {
            delays = Array(repeating: 1.0 / rate, count: count)
        } else {
            let scale = 1.0 / (rate * burstiness)
            delays = (0..<count).map { _ in gamma(shape: burstiness, scale: scale, generator: &generator) }
        }
        for i in delays.indices.dropFirst() { delays[i] += delays[i - 1] }
        if let last = delays.last, last != 0 {
            let factor = (Double(count) / rate) / last
            delays = delays.map { $0 * factor }
        }
        return delays
    }

    /// A gamma(shape, scale) draw: Marsaglia and Tsang's method, with the
    /// `gamma(shape + 1) · U^(1/shape)` boost for shape < 1. Mean shape·scale, variance
    /// shape·scale².
    public static func gamma(shape: Double, scale: Double, generator: inout SeededRandom) -> Double {
        precondition(shape > 0 && shape.isFinite, "the gamma shape must be positive and finite, got \(shape)")
        if shape < 1 {
            let boost = pow(openUnit(&generator), 1 / shape)
            return gamma(shape: shape + 1, scale: scale, generator: &generator) * boost
        }
        let d = shape - 1.0 / 3.0
        let c = 1 / (9 * d).squareRoot()
        while true {
            let x = standardNormal(generator: &generator)
            var v = 1 + c * x
            if v <= 0 { continue }
            v = v * v * v
            let u = openUnit(&generator)
            let x2 = x * x
            if u < 1 - 0.0331 * x2 * x2 { return d * v * scale }
            if log(u) < 0.5 * x2 + d * (1 - v + log(v)) { return d * v * scale }
        }
    }

    /// A standard normal draw (Box–Muller, cosine branch; two uniforms per draw).
    public static func standardNormal(generator: inout SeededRandom) -> Double {
        let radius = (-2 * log(openUnit(&generator))).squareRoot()
        return radius * cos(2 * Double.pi * generator.nextUnit())
    }

    /// A uniform draw in (0, 1], safe for `log` and `pow`.
    private static func openUnit(_ generator: inout SeededRandom) -> Double {
        1 - generator.nextUnit()
    }
}
