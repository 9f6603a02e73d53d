/// The hardware-and-model profile of a simulated replica: scheduler limits as vLLM's flags name
/// them, and the cost model of one engine step.
///
/// A step's duration (milliseconds) is
///
///     stepBase + decodePerSequence · B + prefillPerToken · P + encoderPerImageToken · E
///
/// where B is the number of sequences that decode one token in the step, P the prompt tokens
/// prefilled in the step (chunked under `maxNumBatchedTokens`), and E the image tokens whose
/// vision encoding runs in the step (a request's images are encoded with its first chunk).
/// Before a request reaches the engine, the API server preprocesses its images (base64 and
/// JPEG decoding, resizing) for `preprocessBase + preprocessPerMegapixel · MP` milliseconds, in
/// parallel with everything else.
public struct EngineProfile: Sendable, Equatable {
    public var name: String
    public var maxNumSeqs: Int
    public var maxNumBatchedTokens: Int
    /// KV cache capacity in tokens, allocated in blocks of `blockSize`.
    public var kvCacheTokens: Int
    public var blockSize: Int
    public var stepBaseMs: Double
    public var decodePerSequenceMs: Double
    public var prefillPerTokenMs: Double
    public var encoderPerImageTokenMs: Double
    public var preprocessBaseMs: Double
    public var preprocessPerMegapixelMs: Double
    /// Probability that a request without `ignore_eos` runs to its full output budget; the rest
    /// stop at a seeded uniform length below it.
    public var fullLengthProbability: Double

    /// GLM-4.5V-FP8, TP4 on 4×H100, as in the seed's tables (see the README's calibration section).
    public static let glm45vFP8TP4H100 = EngineProfile(
        name: "glm-4.5v-fp8-tp4-h100", maxNumSeqs: 256, maxNumBatchedTokens: 8192, kvCacheTokens: 1_000_000,
        blockSize: 16, stepBaseMs: 8.0, decodePerSequenceMs: 0.45, prefillPerTokenMs: 0.02,
        encoderPerImageTokenMs: 0.02, preprocessBaseMs: 20, preprocessPerMegapixelMs: 100,
        fullLengthProbability: 0.97)

    /// Duration in milliseconds of a step with this work in it.
    public func stepMilliseconds(decoding: Int, prefillTokens: Int, encoderTokens: Int) -> Double {
        stepBaseMs + decodePerSequenceMs * Double(decoding) + prefillPerTokenMs * Double(prefillTokens)
            + encoderPerImageTokenMs * Double(encoderTokens)
    }

    public func preprocessMilliseconds(megapixels: Double) -> Double {
        megapixels > 0 ? preprocessBaseMs + preprocessPerMegapixelMs * megapixels : 0
    }
}
