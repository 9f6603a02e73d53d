/// Why an image has no GLM token cost.
public enum ImageCostError: Error, Equatable, CustomStringConvertible {
    /// The longer side is more than 200 times the shorter one (after a side below the resize
    /// factor has been scaled up), which vLLM's processor rejects.
    case aspectRatioTooLarge(width: Int, height: Int)
    /// A side is not positive, or absurdly large (above 2³²).
    case invalidSize(width: Int, height: Int)

    public var description: String {
        switch self {
        case .aspectRatioTooLarge(let width, let height):
            // The ratio as smart_resize computes it, for the GLM resize factor of 28.
            let scaled = GLMImageCost.scaledUp(width: width, height: height, factor: 28)
            return "absolute aspect ratio must be smaller than 200, got \(PythonFormat.repr(scaled.ratio))"
        case .invalidSize(let width, let height):
            return "invalid image size \(width)x\(height)"
        }
    }
}

/// The number of prompt tokens a still image costs on GLM-4.1V / GLM-4.5V / GLM-4.6V, exactly as
/// vLLM counts it (`Glm4vProcessingInfo.get_num_image_tokens`, which calls the HF
/// `Glm4vImageProcessor`'s `smart_resize`), plus the begin/end-of-image wrapper tokens.
public struct GLMImageCost: Sendable, Equatable {
    /// Lower bound on t·h'·w' (HF `size.shortest_edge`; vLLM's count uses the default 112·112).
    public var minPixels = 12544
    /// Upper bound on t·h'·w' (HF `size.longest_edge`).
    public var maxPixels = 9_633_792
    public var patchSize = 14
    public var mergeSize = 2
    public var temporalPatchSize = 2

    /// `<|begin_of_image|>` and `<|end_of_image|>` around the image's placeholder tokens.
    public static let wrapperTokens = 2

    public init() {}

    public init(minPixels: Int, maxPixels: Int, patchSize: Int = 14, mergeSize: Int = 2, temporalPatchSize: Int = 2) {
        self.minPixels = minPixels
        self.maxPixels = maxPixels
        self.patchSize = patchSize
        self.mergeSize = mergeSize
        self.temporalPatchSize = temporalPatchSize
    }

    /// Side length the resized image is a multiple of (28 for GLM).
    public var factor: Int { patchSize * mergeSize }

    /// Whether every parameter is positive; the computations below assume it (validate a
    /// configured cost with this before using it).
    public var isValid: Bool {
        minPixels > 0 && maxPixels > 0 && patchSize > 0 && mergeSize > 0 && temporalPatchSize > 0
    }

    /// Tokens for one image of `width`×`height` pixels, wrapper included.
    public func tokens(width: Int, height: Int) throws(ImageCostError) -> Int {
        let size = try resizedSize(width: width, height: height)
        // vLLM: grid_t · (h'/patch) · (w'/patch) // merge², with grid_t = 1 for a still image.
        let patches = (size.height / patchSize) * (size.width / patchSize)
        return patches / (mergeSize * mergeSize) + Self.wrapperTokens
    }

    /// The most tokens any image can cost: t·h'·w' ≤ max_pixels, so h'·w'/factor² is at most
    /// max_pixels / (t·factor²) (6144 + 2 for the GLM defaults, reached by e.g. 1792×2688).
    /// vLLM's own `get_max_image_tokens` probes a square and reports 6084 instead.
    public var maxTokensPerImage: Int {
        maxPixels / (max(temporalPatchSize, 1) * factor * factor) + Self.wrapperTokens
    }

    /// The size the processor resizes the image to: HF `smart_resize(num_frames: t, ...)`, line
    /// for line, with the same floating-point operations (Python `round` is half-to-even).
    public func resizedSize(width: Int, height: Int) throws(ImageCostError) -> (width: Int, height: Int) {
        guard width > 0, height > 0, width <= 1 << 32, height <= 1 << 32 else {
            throw .invalidSize(width: width, height: height)
        }
        let factor = self.factor
        let f = Double(factor)
        // vLLM passes num_frames = temporal_patch_size for a single image; t_bar is then t.
        let frames = max(temporalPatchSize, 1)
        let scaled = Self.scaledUp(width: width, height: height, factor: factor)
        guard scaled.ratio <= 200 else { throw .aspectRatioTooLarge(width: width, height: height) }
        let h = scaled.height
        let w = scaled.width
        var hBar = Int((Double(h) / f).rounded(.toNearestOrEven)) * factor
        var wBar = Int((Double(w) / f).rounded(.toNearestOrEven)) * factor
        let volume = Self.product(frames, hBar, wBar)
        if volume.exceeds(maxPixels) {
            let beta = (Self.product(frames, h, w).value / Double(maxPixels)).squareRoot()
            hBar = max(factor, Int((Double(h) / beta / f).rounded(.down)) * factor)
            wBar = max(factor, Int((Double(w) / beta / f).rounded(.down)) * factor)
        } else if volume.isBelow(minPixels) {
            let beta = (Double(minPixels) / Self.product(frames, h, w).value).squareRoot()
            hBar = Int((Double(h) * beta / f).rounded(.up)) * factor
            wBar = Int((Double(w) * beta / f).rounded(.up)) * factor
        }
        return (wBar, hBar)
    }

    /// smart_resize's first step: when a side is below `factor`, scale both by
    /// `max(factor/h, factor/w)` and truncate; then the aspect ratio it checks.
    static func scaledUp(width: Int, height: Int, factor: Int) -> (width: Int, height: Int, ratio: Double) {
        var h = height
        var w = width
        if h < factor || w < factor {
            let scale = max(Double(factor) / Double(h), Double(factor) / Double(w))
            h = Int(Double(h) * scale)
            w = Int(Double(w) * scale)
        }
        return (w, h, Double(max(h, w)) / Double(min(h, w)))
    }

    /// a·b·c exactly when it fits in an Int (as Python's big ints would give it), else as a Double.
    private static func product(_ a: Int, _ b: Int, _ c: Int) -> Volume {
        let (ab, overflow1) = a.multipliedReportingOverflow(by: b)
        let (abc, overflow2) = ab.multipliedReportingOverflow(by: c)
        if overflow1 || overflow2 { return Volume(exact: nil, value: Double(a) * Double(b) * Double(c)) }
        return Volume(exact: abc, value: Double(abc))
    }

    private struct Volume {
        /// nil when the product overflows an Int (then it exceeds any Int bound).
        var exact: Int?
        var value: Double

        func exceeds(_ bound: Int) -> Bool { exact.map { $0 > bound } ?? true }
        func isBelow(_ bound: Int) -> Bool { exact.map { $0 < bound } ?? false }
    }
}
