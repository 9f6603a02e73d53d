import Dispatch
import Foundation
import SwitchyardCore
import Synchronization

/// One entry of the synthetic image-size mix.
public struct SyntheticImageSize: Sendable, Hashable {
    public let width: Int
    public let height: Int
    /// Relative frequency (the table's weights sum to 100, so this is a percentage).
    public let weight: Int
    public let kind: SyntheticImageKind
    /// What the size stands for, for documentation and reports.
    public let label: String

    public init(width: Int, height: Int, weight: Int, kind: SyntheticImageKind, label: String) {
        self.width = width
        self.height = height
        self.weight = weight
        self.kind = kind
        self.label = label
    }
}

/// `--dataset-name visionarena-synthetic`: the seed's workload shape without downloading
/// VisionArena-Chat: one question of 20–200 words (≈ 90 tokens on average by ``TokenEstimate``)
/// and one genuine baseline JPEG per prompt, sent as `data:image/jpeg;base64,...` like
/// `vllm bench serve` sends VisionArena's original-resolution images, and `outputLen` (128)
/// output tokens.
///
/// Image sizes follow ``imageSizes``. Each image is encoded once per (size, variant) — there are
/// `variantsPerSize` different images of every size — and the base64 `data:` URL is shared by
/// every prompt that draws that variant and cached for the life of the process in
/// ``SyntheticImageCache/shared``, so building 1000 prompts encodes at most
/// `imageSizes.count × variantsPerSize` images (in parallel on all cores). The seed decides the
/// questions, sizes and variants; an image's pixels depend only on its size, kind and variant
/// (and the JPEG quality), so every seed sees the same images.
///
/// `promptTokens` counts the text only; the server adds the image tokens to `usage.prompt_tokens`.
public struct VisionArenaSyntheticDataset: BenchDataset {
    public var outputLen: Int
    /// Distinct images per size (more variants defeat a server-side image cache better but cost
    /// encoding time once per process).
    public var variantsPerSize: Int
    /// JPEG quality (libjpeg scale).
    public var jpegQuality: Int
    public var imageCache: SyntheticImageCache

    public init(
        outputLen: Int = 128, variantsPerSize: Int = 3, jpegQuality: Int = 90,
        imageCache: SyntheticImageCache = .shared
    ) {
        self.outputLen = outputLen
        self.variantsPerSize = variantsPerSize
        self.jpegQuality = jpegQuality
        self.imageCache = imageCache
    }

    /// The image-size mix: phone photos and 4K frames at the top end, thumbnails at the bottom,
    /// screenshots in between, as in VisionArena-Chat uploads. Weights are percentages.
    ///
    /// Measured JPEG sizes at quality 90 over the 3 default variants (photos scale with the pixel
    /// count, about 2.5 bits a pixel; screenshots depend on how much text there is and whether a
    /// photo panel is embedded). The weighted mean is ≈ 0.85 MB of JPEG, ≈ 1.15 MB of base64 in
    /// the request body.
    ///
    /// | size | weight | kind | JPEG size |
    /// |---|---|---|---|
    /// | 224×224 | 6 | photo (thumbnail/icon) | 17–18 KB |
    /// | 512×512 | 8 | photo | 87–88 KB |
    /// | 640×480 | 10 | photo | 100–103 KB |
    /// | 800×600 | 8 | screenshot (small window) | 152–194 KB |
    /// | 1024×768 | 12 | photo | 254–257 KB |
    /// | 1280×720 | 10 | screenshot (HD) | 248–342 KB |
    /// | 1920×1080 | 14 | screenshot (Full HD) | 353–461 KB |
    /// | 1080×1920 | 8 | screenshot (phone, portrait) | 385–430 KB |
    /// | 2048×1536 | 6 | photo (tablet / 3 MP) | 1.0 MB |
    /// | 3024×4032 | 6 | photo (12 MP phone, portrait) | 3.9 MB |
    /// | 4032×3024 | 6 | photo (12 MP phone, landscape) | 3.9 MB |
    /// | 3840×2160 | 6 | photo (4K frame) | 2.6 MB |
    ///
    /// Encoding all 36 images takes ≈ 1.8 s in a release build on 2 cores (once per process);
    /// 1000 requests from a warm cache take ≈ 30 ms.
    public static let imageSizes: [SyntheticImageSize] = [
        SyntheticImageSize(width: 224, height: 224, weight: 6, kind: .photo, label: "thumbnail/icon"),
        SyntheticImageSize(width: 512, height: 512, weight: 8, kind: .photo, label: "square photo"),
        SyntheticImageSize(width: 640, height: 480, weight: 10, kind: .photo, label: "VGA photo"),
        SyntheticImageSize(width: 800, height: 600, weight: 8, kind: .screenshot, label: "small window screenshot"),
        SyntheticImageSize(width: 1024, height: 768, weight: 12, kind: .photo, label: "XGA photo"),
        SyntheticImageSize(width: 1280, height: 720, weight: 10, kind: .screenshot, label: "HD screenshot"),
        SyntheticImageSize(width: 1920, height: 1080, weight: 14, kind: .screenshot, label: "Full HD screenshot"),
        SyntheticImageSize(width: 1080, height: 1920, weight: 8, kind: .screenshot, label: "phone screenshot"),
        SyntheticImageSize(width: 2048, height: 1536, weight: 6, kind: .photo, label: "3 MP photo"),
        SyntheticImageSize(width: 3024, height: 4032, weight: 6, kind: .photo, label: "12 MP phone photo, portrait"),
        SyntheticImageSize(width: 4032, height: 3024, weight: 6, kind: .photo, label: "12 MP phone photo, landscape"),
        SyntheticImageSize(width: 3840, height: 2160, weight: 6, kind: .photo, label: "4K frame"),
    ]

    public func makeRequests(count: Int, generator: inout SeededRandom) throws -> [BenchRequest] {
        guard outputLen >= 1 else {
            throw DatasetError.invalidParameter(name: "output length", message: "must be at least 1")
        }
        guard variantsPerSize >= 1 else {
            throw DatasetError.invalidParameter(name: "image variants per size", message: "must be at least 1")
        }
        guard (1...100).contains(jpegQuality) else {
            throw DatasetError.invalidParameter(name: "JPEG quality", message: "must be in 1...100")
        }
        let sizes = Self.imageSizes
        let weights = sizes.map(\.weight)
        var drawn: [(question: String, image: SyntheticImageCache.Key)] = []
        drawn.reserveCapacity(count)
        for _ in 0..<count {
            let size = sizes[generator.weightedIndex(weights)]
            let variant = generator.uniformInt(in: 0...(variantsPerSize - 1))
            let question = SyntheticQuestions.make(generator: &generator)
            let key = SyntheticImageCache.Key(
                width: size.width, height: size.height, kind: size.kind, variant: variant, quality: jpegQuality)
            drawn.append((question, key))
        }
        let images = imageCache.images(for: drawn.map(\.image))
        return drawn.map { entry in
            let image = images[entry.image]!
            return BenchRequest(
                prompt: entry.question, imageURLs: [image.dataURL], promptTokens: TokenEstimate.count(entry.question),
                outputTokens: outputLen, imageBytes: image.dataURL.utf8.count)
        }
    }
}

/// Encoded synthetic images, shared across datasets and requests (thread-safe).
public final class SyntheticImageCache: Sendable {
    public static let shared = SyntheticImageCache()

    public struct Key: Sendable, Hashable {
        public var width: Int
        public var height: Int
        public var kind: SyntheticImageKind
        public var variant: Int
        public var quality: Int

        public init(width: Int, height: Int, kind: SyntheticImageKind, variant: Int, quality: Int) {
            self.width = width
            self.height = height
            self.kind = kind
            self.variant = variant
            self.quality = quality
        }

        /// The pixel seed: a fixed function of size, kind and variant.
        var seed: UInt64 {
            var mix = SeededRandom(seed: 0x5EED_1A6E_0000_0000 ^ UInt64(width) << 32 ^ UInt64(height) << 8)
            return mix.next() ^ UInt64(variant) &* 0x9E37_79B9_7F4A_7C15 ^ (kind == .photo ? 0 : 0xC0FFEE)
        }
    }

    public struct Image: Sendable {
        public let key: Key
        /// Size of the JPEG file.
        public let jpegBytes: Int
        /// `data:image/jpeg;base64,...`.
        public let dataURL: String
    }

    private let storage = Mutex<[Key: Image]>([:])

    public init() {}

    /// The images for `keys`, encoding (concurrently) those not cached yet.
    public func images(for keys: [Key]) -> [Key: Image] {
        let wanted = Set(keys)
        let missing = storage.withLock { cached in wanted.filter { cached[$0] == nil } }
            .sorted { $0.width * $0.height > $1.width * $1.height }  // big ones first: better packing
        if !missing.isEmpty {
            DispatchQueue.concurrentPerform(iterations: missing.count) { index in
                let image = Self.encode(missing[index])
                storage.withLock { $0[image.key] = image }
            }
        }
        return storage.withLock { cached in
            var result: [Key: Image] = [:]
            for key in wanted { result[key] = cached[key] }
            return result
        }
    }

    /// Encodes one image without caching it.
    public static func encode(_ key: Key) -> Image {
        let pixels = SyntheticImage.rgb(width: key.width, height: key.height, kind: key.kind, seed: key.seed)
        let jpeg = JPEGEncoder.encode(rgb: pixels, width: key.width, height: key.height, quality: key.quality)
        return Image(
            key: key, jpegBytes: jpeg.count, dataURL: "data:image/jpeg;base64," + Data(jpeg).base64EncodedString())
    }
}
