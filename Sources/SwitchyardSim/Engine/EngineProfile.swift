import Foundation

/// The hardware-and-model profile of a simulated replica: scheduler limits as vLLM's flags name
/// them, and the cost model of one engine step.
///
/// A step's duration (milliseconds) is
///
///     stepBase + expertLoad · (1 − (1 − activeExpertFraction)^T) + decodePerSequence · B
///              + prefillPerToken · P + encoderPerImageToken · E
///
/// where B is the number of sequences that decode one token in the step, P the prompt tokens
/// prefilled in the step (chunked under `maxNumBatchedTokens`), T = B + P the tokens in the step,
/// and E the image tokens whose vision encoding runs in the step (a request's images are encoded
/// with its first chunk). The expert term is what makes a mixture-of-experts model's decode step
/// grow quickly with the batch and then flatten: each token is routed to a fraction of the
/// experts (GLM-4.5V: 8 of 128), so a step must read the weights of the distinct experts its
/// tokens touch, 1 − (15/16)^T of them, until every expert is read once.
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
    /// Cost of reading every routed expert's weights once in a step.
    public var expertLoadMs: Double
    /// Experts a token is routed to, as a fraction of all routed experts.
    public var activeExpertFraction: Double
    public var decodePerSequenceMs: Double
    public var prefillPerTokenMs: Double
    public var encoderPerImageTokenMs: Double
    public var preprocessBaseMs: Double
    public var preprocessPerMegapixelMs: Double
    /// Probability that a request without `ignore_eos` runs to its full output budget; the rest
    /// stop at a seeded uniform length below it.
    public var fullLengthProbability: Double

    public init(
        name: String, maxNumSeqs: Int, maxNumBatchedTokens: Int, kvCacheTokens: Int, blockSize: Int,
        stepBaseMs: Double, expertLoadMs: Double, activeExpertFraction: Double, decodePerSequenceMs: Double,
        prefillPerTokenMs: Double, encoderPerImageTokenMs: Double, preprocessBaseMs: Double,
        preprocessPerMegapixelMs: Double, fullLengthProbability: Double
    ) {
        self.name = name
        self.maxNumSeqs = maxNumSeqs
        self.maxNumBatchedTokens = maxNumBatchedTokens
        self.kvCacheTokens = kvCacheTokens
        self.blockSize = blockSize
        self.stepBaseMs = stepBaseMs
        self.expertLoadMs = expertLoadMs
        self.activeExpertFraction = activeExpertFraction
        self.decodePerSequenceMs = decodePerSequenceMs
        self.prefillPerTokenMs = prefillPerTokenMs
        self.encoderPerImageTokenMs = encoderPerImageTokenMs
        self.preprocessBaseMs = preprocessBaseMs
        self.preprocessPerMegapixelMs = preprocessPerMegapixelMs
        self.fullLengthProbability = fullLengthProbability
    }

    /// GLM-4.5V-FP8, TP4 on 4×H100, as in the seed's tables (see the README's calibration section).
    public static let glm45vFP8TP4H100 = EngineProfile(
        name: "glm-4.5v-fp8-tp4-h100", maxNumSeqs: 256, maxNumBatchedTokens: 8192, kvCacheTokens: 1_000_000,
        blockSize: 16, stepBaseMs: 7.0, expertLoadMs: 23.4, activeExpertFraction: 8.0 / 128,
        decodePerSequenceMs: 0.02, prefillPerTokenMs: 0.007,
        encoderPerImageTokenMs: 0.007, preprocessBaseMs: 30, preprocessPerMegapixelMs: 140,
        fullLengthProbability: 0.97)

    /// Duration in milliseconds of a step with this work in it.
    public func stepMilliseconds(decoding: Int, prefillTokens: Int, encoderTokens: Int) -> Double {
        let tokens = Double(decoding + prefillTokens)
        let expertsRead = 1 - pow(1 - activeExpertFraction, tokens)
        return stepBaseMs + expertLoadMs * expertsRead + decodePerSequenceMs * Double(decoding)
            + prefillPerTokenMs * Double(prefillTokens) + encoderPerImageTokenMs * Double(encoderTokens)
    }

    public func preprocessMilliseconds(megapixels: Double) -> Double {
        megapixels > 0 ? preprocessBaseMs + preprocessPerMegapixelMs * megapixels : 0
    }
}
