import SwitchyardCore

/// Output length without `ignore_eos`: the model stops on its own. Most VisionArena answers run
/// to the 128-token cap in the seed (127.1 on average), so a request runs to its full budget with
/// `fullLengthProbability` and otherwise stops at a uniform length below it.
public enum NaturalLength {
    public static func draw<G: RandomNumberGenerator>(cap: Int, profile: EngineProfile, generator: inout G) -> Int {
        guard cap > 1 else { return max(cap, 1) }
        let unit = Double(UInt64.random(in: 0..<(1 << 53), using: &generator)) / Double(1 << 53)
        if unit < profile.fullLengthProbability { return cap }
        return Int.random(in: 1..<cap, using: &generator)
    }

    /// The same draw from a key (seed and request number), for a replica without shared state.
    public static func draw(cap: Int, profile: EngineProfile, key: UInt64) -> Int {
        var generator = SeededRandom(seed: key)
        return draw(cap: cap, profile: profile, generator: &generator)
    }
}
