import Foundation

/// How fast the cluster frees capacity for waiting requests, in tokens per second, measured
/// only while requests were waiting (when the cluster is not saturated, completions track the
/// arrival rate, not the capacity). Both sums decay with a half-life, so the rate follows
/// changes in load and backend speed; nil until a second of saturation has been seen.
public struct DrainRate: Sendable, Equatable {
    public var halfLife: Duration
    private var busySeconds = 0.0
    private var busyTokens = 0.0
    private var lastUpdate: Duration?
    private var saturated = false

    public init(halfLife: Duration = .seconds(30)) {
        self.halfLife = halfLife
    }

    /// Tokens per second freed while saturated.
    public var tokensPerSecond: Double? {
        guard busySeconds >= 1, busyTokens > 0 else { return nil }
        return busyTokens / busySeconds
    }

    /// Call whenever the queue goes from empty to waiting or back (`saturated` = requests wait).
    public mutating func setSaturated(_ saturated: Bool, now: Duration) {
        advance(to: now)
        self.saturated = saturated
    }

    /// A request released `tokens` of capacity.
    public mutating func completed(tokens: Int, now: Duration) {
        advance(to: now)
        if saturated { busyTokens += Double(tokens) }
    }

    /// Seconds until `tokens` more are freed (nil while unmeasured).
    public func secondsToDrain(_ tokens: Int) -> Double? {
        tokensPerSecond.map { Double(tokens) / $0 }
    }

    private mutating func advance(to now: Duration) {
        defer { lastUpdate = now }
        guard let lastUpdate, now > lastUpdate else { return }
        let elapsed = (now - lastUpdate).inSeconds
        let decay = exp2(-elapsed / halfLife.inSeconds)
        busyTokens *= decay
        busySeconds = busySeconds * decay + (saturated ? elapsed * (1 + decay) / 2 : 0)
    }
}
