import Testing

@testable import SwitchyardCore

/// Values computed at authoring time by the real code: vLLM's
/// `Glm4vProcessingInfo._get_vision_info(num_frames=1, max_image_pixels=9633792)` (which calls
/// transformers' `glm4v.image_processing_glm4v.smart_resize`), cross-checked against
/// `Glm4vImageProcessor.get_number_of_image_patches`, + 2 wrapper tokens.
private enum GLMReference {
    /// (width, height, resized width, resized height, tokens incl. wrapper)
    static let table: [(Int, Int, Int, Int, Int)] = [
        (224, 224, 224, 224, 66),
        (512, 512, 504, 504, 326),
        (1024, 768, 1036, 756, 1001),
        (1280, 720, 1288, 728, 1198),
        (1920, 1080, 1932, 1092, 2693),
        (3840, 2160, 2912, 1624, 6034),
        (1, 1, 84, 84, 11),
        (1, 28, 28, 784, 30),
        (27, 27, 84, 84, 11),
        (28, 28, 84, 84, 11),
        (14, 14, 84, 84, 11),
        (2, 3, 84, 112, 14),
        (10, 1999, 28, 5600, 202),
        (5, 1000, 28, 5600, 202),
        (1, 200, 28, 5600, 202),
        (56, 56, 84, 84, 11),
        (42, 42, 84, 84, 11),
        (70, 70, 84, 84, 11),
        (98, 98, 112, 112, 18),
        (111, 113, 112, 112, 18),
        (112, 112, 112, 112, 18),
        (113, 113, 112, 112, 18),
        (127, 255, 140, 252, 47),
        (333, 777, 336, 784, 338),
        (640, 480, 644, 476, 393),
        (800, 600, 812, 588, 611),
        (1000, 5, 5600, 28, 202),
        (3024, 4032, 1876, 2520, 6032),
        (4032, 3024, 2520, 1876, 6032),
        (4000, 3000, 2520, 1876, 6032),
        (6000, 4000, 2688, 1792, 6146),
        (7680, 4320, 2912, 1624, 6034),
        (8192, 8192, 2184, 2184, 6086),
        (10000, 10000, 2184, 2184, 6086),
        (16384, 16384, 2184, 2184, 6086),
        (20000, 100, 19992, 112, 2858),
        (100, 20000, 112, 19992, 2858),
        (28, 5600, 28, 5600, 202),
        (29, 5800, 28, 5796, 209),
        (1792, 2688, 1792, 2688, 6146),
        (2688, 1792, 2688, 1792, 6146),
        (2184, 2184, 2184, 2184, 6086),
        (2185, 2185, 2184, 2184, 6086),
        (2200, 2200, 2184, 2184, 6086),
        (2199, 2191, 2184, 2184, 6086),
        (1366, 768, 1372, 756, 1325),
        (1440, 900, 1428, 896, 1634),
        (1536, 2048, 1540, 2044, 4017),
        (2048, 1536, 2044, 1540, 4017),
        (2560, 1440, 2548, 1428, 4643),
        (3000, 3000, 2184, 2184, 6086),
        (1234, 4321, 1148, 4088, 5988),
        (4321, 1234, 4088, 1148, 5988),
        (777, 333, 784, 336, 338),
        (50, 9000, 56, 8988, 644),
        (9_999_999, 9_999_999, 2184, 2184, 6086),
        (126, 126, 112, 112, 18),
        (182, 238, 168, 224, 50),
        (350, 406, 336, 392, 170),
        (406, 350, 392, 336, 170),
        (1470, 1050, 1456, 1064, 1978),
        (14, 42, 56, 140, 12),
        (30000, 150, 29988, 140, 5357),
        (150, 30000, 140, 29988, 5357),
        (2, 400, 28, 5600, 202),
        (45, 45, 84, 84, 11),
        (15, 2000, 28, 3724, 135),
        (20, 4000, 28, 5600, 202),
        (1, 199, 28, 5572, 201),
        (199, 1, 5572, 28, 201),
    ]

    /// (width, height, message) for sizes smart_resize rejects
    static let rejected: [(Int, Int, String)] = [
        (999, 1, "absolute aspect ratio must be smaller than 200, got 999.0"),
        (1001, 5, "absolute aspect ratio must be smaller than 200, got 200.17857142857142"),
        (4096, 20, "absolute aspect ratio must be smaller than 200, got 204.78571428571428"),
        (28, 5601, "absolute aspect ratio must be smaller than 200, got 200.03571428571428"),
        (3, 601, "absolute aspect ratio must be smaller than 200, got 200.32142857142858"),
        (4, 801, "absolute aspect ratio must be smaller than 200, got 200.25"),
    ]

    /// (width, height, min_pixels, max_pixels, resized width, resized height, tokens incl. wrapper)
    static let custom: [(Int, Int, Int, Int, Int, Int, Int)] = [
        (224, 224, 200704, 9_633_792, 336, 336, 146),
        (100, 100, 200704, 9_633_792, 336, 336, 146),
        (1920, 1080, 12544, 1_003_520, 924, 504, 596),
        (4032, 3024, 12544, 1_003_520, 812, 588, 611),
        (28, 28, 12544, 3136, 84, 84, 11),
        (56, 2000, 12544, 12544, 28, 448, 18),
        (3840, 2160, 12544, 1_605_632, 1176, 672, 1010),
        (300, 300, 401408, 9_633_792, 448, 448, 258),
    ]

    /// (width, height, tokens incl. wrapper), log-uniform random sizes (seed 20250101)
    static let random: [(Int, Int, Int)] = [
        (366, 382, 184), (1, 66, 68), (2199, 1762, 4979), (1130, 209, 282), (99, 996, 146), (6, 26, 14),
        (17, 435, 28), (434, 1932, 1106), (9, 9, 11), (39, 2, 22), (10391, 14504, 6074), (4473, 56, 322),
        (1191, 929, 1421), (4788, 274, 1712), (12, 2245, 189), (13773, 1665, 6077), (16, 1650, 105), (8, 3, 12),
        (10453, 459, 5970), (299, 60, 24), (40, 3097, 113), (10, 186, 21), (3, 2, 14), (949, 21, 47),
        (27, 28, 11), (1366, 14159, 6050), (35, 4, 11), (58, 1657, 120), (420, 73, 47), (5, 22, 14),
        (23, 8, 12), (578, 2288, 1724), (413, 7076, 3797), (2912, 30, 106), (1675, 4766, 6074), (4, 651, 165),
        (2358, 102, 338), (153, 487, 87), (253, 284, 92), (543, 6, 92), (419, 3, 142), (1, 1, 11),
        (17848, 1131, 5911), (16, 16, 11), (12, 456, 40), (11, 768, 72), (19, 2381, 127), (1184, 4108, 6134),
        (53, 3, 20), (1054, 23, 48), (147, 805, 147), (3, 227, 78), (296, 2, 150), (29, 3784, 137),
        (344, 5, 71), (6, 21, 14), (3, 4, 14), (3, 1, 12), (1931, 18361, 6027), (61, 15, 14),
        (152, 16060, 2872), (48, 1624, 118), (1095, 17, 66), (2992, 14998, 6127), (3731, 1284, 6120), (12, 2, 16),
        (4674, 373, 2173), (148, 10, 17), (1, 93, 95), (9, 89, 12), (9, 3, 12), (2940, 878, 3257),
        (621, 7, 91), (2980, 829, 3182), (205, 106, 30), (8, 2, 14), (24, 302, 15), (12, 171, 16),
        (47, 1, 49), (2488, 150, 447), (391, 6, 67), (69, 147, 12), (87, 122, 14), (4999, 454, 2866),
        (1135, 322, 494), (304, 98, 46), (10016, 1840, 6008), (12, 18, 14), (6, 11, 14), (5, 884, 179),
        (21, 376, 20), (9, 58, 18), (19, 9, 12), (2654, 246, 857), (19, 2, 12), (20, 1152, 60),
        (915, 7, 133), (29, 125, 14), (8, 1096, 139), (1, 1, 11), (9234, 527, 5906), (1468, 131, 262),
        (17, 594, 37), (3, 120, 42), (430, 182, 92), (25, 418, 19), (41, 1141, 43), (113, 1752, 254),
        (354, 357, 171), (44, 82, 14), (3, 3, 11), (233, 656, 186), (1, 198, 200), (1, 4, 14),
        (43, 232, 18), (24, 5, 16), (838, 335, 362), (1957, 2128, 5322), (3673, 1732, 6044), (6377, 132, 1142),
    ]
}

@Suite("GLMImageCost")
struct VisionGLMImageCostTests {
    let cost = GLMImageCost()

    @Test(
        "the contract's worked values",
        arguments: [
            (224, 224, 66), (512, 512, 326), (1024, 768, 1001), (1280, 720, 1198), (1920, 1080, 2693),
            (3840, 2160, 6034),
        ])
    func worked(width: Int, height: Int, tokens: Int) throws {
        #expect(try cost.tokens(width: width, height: height) == tokens)
    }

    @Test("the vLLM/HF table: resized size and tokens")
    func table() throws {
        #expect(GLMReference.table.count >= 30)
        for (width, height, resizedWidth, resizedHeight, tokens) in GLMReference.table {
            let size = try cost.resizedSize(width: width, height: height)
            #expect(size.width == resizedWidth && size.height == resizedHeight, "\(width)x\(height)")
            #expect(try cost.tokens(width: width, height: height) == tokens, "\(width)x\(height)")
        }
    }

    @Test("120 random sizes match vLLM")
    func random() throws {
        for (width, height, tokens) in GLMReference.random {
            #expect(try cost.tokens(width: width, height: height) == tokens, "\(width)x\(height)")
        }
    }

    @Test("custom min/max pixel bounds match the HF processor")
    func customBounds() throws {
        for (width, height, minPixels, maxPixels, resizedWidth, resizedHeight, tokens) in GLMReference.custom {
            let custom = GLMImageCost(minPixels: minPixels, maxPixels: maxPixels)
            let size = try custom.resizedSize(width: width, height: height)
            #expect(size.width == resizedWidth && size.height == resizedHeight, "\(width)x\(height)")
            #expect(try custom.tokens(width: width, height: height) == tokens, "\(width)x\(height)")
        }
    }

    @Test("an aspect ratio above 200 is rejected with vLLM's message")
    func aspectRatio() throws {
        for (width, height, message) in GLMReference.rejected {
            #expect(throws: ImageCostError.aspectRatioTooLarge(width: width, height: height)) {
                try cost.tokens(width: width, height: height)
            }
            #expect(ImageCostError.aspectRatioTooLarge(width: width, height: height).description == message)
        }
        // Exactly 200 is allowed.
        #expect(try cost.tokens(width: 5600, height: 28) == 202)
    }

    @Test("non-positive or absurd sides are invalid")
    func invalid() {
        for (width, height) in [(0, 10), (10, 0), (-1, 5), (1 << 33, 1 << 33)] {
            #expect(throws: ImageCostError.invalidSize(width: width, height: height)) {
                try cost.tokens(width: width, height: height)
            }
        }
    }

    @Test("half-way roundings are half-to-even, like Python's round")
    func bankersRounding() throws {
        // 126/28 = 4.5 → 4, 182/28 = 6.5 → 6, 238/28 = 8.5 → 8.
        #expect(try cost.resizedSize(width: 126, height: 126) == (112, 112))
        #expect(try cost.resizedSize(width: 182, height: 238) == (168, 224))
        #expect(try cost.resizedSize(width: 210, height: 210) == (224, 224))  // 7.5 → 8
    }

    @Test("min_pixels lifts tiny images; max_pixels caps huge ones")
    func clamps() throws {
        // Tiny: t·h'·w' is lifted to at least min_pixels.
        for side in [1, 2, 13, 27, 28, 56, 70] {
            let size = try cost.resizedSize(width: side, height: side)
            #expect(2 * size.width * size.height >= cost.minPixels)
            #expect(try cost.tokens(width: side, height: side) == 11)
        }
        // Huge: t·h'·w' never exceeds max_pixels.
        for (width, height) in [(8192, 8192), (100_000, 1000), (16384, 9000), (6000, 4000), (30000, 150)] {
            let size = try cost.resizedSize(width: width, height: height)
            #expect(2 * size.width * size.height <= cost.maxPixels)
            #expect(try cost.tokens(width: width, height: height) <= cost.maxTokensPerImage)
        }
        // A larger min_pixels raises small images; a smaller max_pixels lowers large ones.
        #expect(try GLMImageCost(minPixels: 200_704, maxPixels: 9_633_792).tokens(width: 224, height: 224) == 146)
        #expect(try GLMImageCost(minPixels: 12544, maxPixels: 1_003_520).tokens(width: 1920, height: 1080) == 596)
    }

    @Test("isValid requires positive parameters")
    func validity() {
        #expect(cost.isValid)
        var bad = cost
        bad.maxPixels = 0
        #expect(!bad.isValid)
        bad = cost
        bad.patchSize = -14
        #expect(!bad.isValid)
    }

    @Test("maxTokensPerImage is reached and never exceeded")
    func maxTokens() throws {
        #expect(cost.maxTokensPerImage == 6146)
        #expect(try cost.tokens(width: 1792, height: 2688) == 6146)
        #expect(try cost.tokens(width: 6000, height: 4000) == 6146)
        #expect(GLMImageCost(minPixels: 12544, maxPixels: 1_003_520).maxTokensPerImage == 642)
        var generator = SeededGenerator(seed: 7)
        var costed = 0
        for _ in 0..<5000 {
            let width = Int.random(in: 1...40000, using: &generator)
            let height = Int.random(in: ((width + 199) / 200)...min(40000, width * 200), using: &generator)
            // Right at ratio 200 the truncating scale-up may still tip it over.
            guard let tokens = try? cost.tokens(width: width, height: height) else { continue }
            costed += 1
            #expect(tokens <= cost.maxTokensPerImage)
            #expect(tokens >= 11)
        }
        #expect(costed > 4900)
    }

    @Test("the cost is symmetric in width and height (so EXIF orientation does not matter)")
    func symmetric() throws {
        for (width, height, _, _, tokens) in GLMReference.table {
            #expect(try cost.tokens(width: height, height: width) == tokens)
        }
    }
}
