import Testing

@testable import SwitchyardCore

/// A JPEG made of SOI and the given raw bytes.
private func jpeg(_ parts: [UInt8]...) -> [UInt8] {
    [0xFF, 0xD8] + parts.flatMap { $0 }
}

/// A marker segment: FF marker, 16-bit length (payload + 2), payload.
private func segment(_ marker: UInt8, _ payload: [UInt8]) -> [UInt8] {
    let length = payload.count + 2
    return [0xFF, marker, UInt8(length >> 8), UInt8(length & 0xFF)] + payload
}

/// A frame header segment (SOFn) for `components` components.
private func sof(
    _ marker: UInt8 = 0xC0, width: Int, height: Int, precision: UInt8 = 8, components: UInt8 = 3
) -> [UInt8] {
    var payload: [UInt8] = [
        precision, UInt8(height >> 8), UInt8(height & 0xFF), UInt8(width >> 8), UInt8(width & 0xFF),
    ]
    payload.append(components)
    for id in 0..<components { payload += [id + 1, 0x11, 0x00] }
    return segment(marker, payload)
}

private let app0 = segment(0xE0, Array("JFIF\0".utf8) + [1, 1, 0, 0, 1, 0, 1, 0, 0])
private let sos = segment(0xDA, [1, 1, 0, 0, 0x3F, 0])

private func expectDimensions(
    _ bytes: [UInt8], _ width: Int, _ height: Int, _ format: ImageFormat,
    sourceLocation: SourceLocation = #_sourceLocation
) {
    #expect(
        headerDimensions(bytes) == .success(ImageDimensions(width: width, height: height, format: format)),
        sourceLocation: sourceLocation)
}

private func expectCorrupt(_ bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation) {
    switch headerDimensions(bytes) {
    case .failure(.corrupt): break
    case let other: Issue.record("expected corrupt, got \(other)", sourceLocation: sourceLocation)
    }
}

@Suite("ImageHeader: real Pillow files")
struct VisionRealFileTests {
    @Test("each sample's dimensions match Pillow's", arguments: VisionSamples.all.indices)
    func sample(index: Int) {
        let sample = VisionSamples.all[index]
        #expect(headerDimensions(sample.bytes) == .success(sample.expected), "\(sample.name)")
    }

    @Test("the WebP samples use the three chunk kinds")
    func webpChunks() {
        #expect(Array(VisionSamples.webpLossy[12..<16]) == Array("VP8 ".utf8))
        #expect(Array(VisionSamples.webpLossless[12..<16]) == Array("VP8L".utf8))
        #expect(Array(VisionSamples.webpAlpha[12..<16]) == Array("VP8X".utf8))
        #expect(VisionSamples.progressiveJPEG.contains(0xC2))
    }

    @Test("a JPEG whose SOF0 sits after 85 KB of EXIF (with a thumbnail) and XMP")
    func bigExif() {
        let big = VisionSamples.bigExifJPEG
        #expect(big.count == 86229)
        // The traps are real: the thumbnail inside APP1 is a valid 96×64 JPEG, and fake SOF0s
        // fill the rest of both APP1 segments.
        let thumbnail = big[VisionSamples.thumbnailOffset..<(VisionSamples.thumbnailOffset + 751)]
        expectDimensions(Array(thumbnail), 96, 64, .jpeg)
        #expect(
            Array(big[(VisionSamples.thumbnailOffset + 751)..<(VisionSamples.thumbnailOffset + 753)]) == [0xFF, 0xC0])
        expectDimensions(big, 37, 23, .jpeg)
        // The dimensions need the bytes up to the real SOF0 at 85 699.
        #expect(headerDimensions(big.prefix(85699 + 9)) == .failure(.truncated))
        expectDimensions(Array(big.prefix(85699 + 10)), 37, 23, .jpeg)
    }

    @Test("every prefix is either truncated or already complete", arguments: VisionSamples.all.indices)
    func everyPrefix(index: Int) {
        let sample = VisionSamples.all[index]
        checkPrefixes(sample.bytes, sample.expected, sample.name)
    }

    @Test("every prefix of the big-EXIF JPEG is truncated or complete")
    func everyPrefixBigExif() {
        checkPrefixes(VisionSamples.bigExifJPEG, ImageDimensions(width: 37, height: 23, format: .jpeg), "big EXIF")
    }

    private func checkPrefixes(_ bytes: [UInt8], _ expected: ImageDimensions, _ name: String) {
        var complete = false
        var firstComplete = -1
        for count in 0...bytes.count {
            let result = bytes.withUnsafeBytes {
                ImageHeader.dimensions(UnsafeRawBufferPointer(rebasing: $0[..<count]))
            }
            switch result {
            case .success(let dimensions):
                if dimensions != expected { Issue.record("\(name) prefix \(count): \(dimensions)") }
                if !complete { firstComplete = count }
                complete = true
            case .failure(.truncated):
                if complete { Issue.record("\(name): prefix \(count) truncated after an earlier prefix succeeded") }
            case .failure(let error):
                Issue.record("\(name) prefix \(count): \(error)")
            }
        }
        #expect(complete)
        // Only the header is needed, never the whole file.
        #expect(firstComplete < bytes.count, "\(name)")
    }

    @Test("flipping random bytes never crashes; any success has positive sides")
    func randomFlips() {
        var generator = SeededGenerator(seed: 0x5EED)
        var samples = VisionSamples.all.map(\.bytes)
        samples.append(Array(VisionSamples.bigExifJPEG.prefix(86229)))
        var outcomes = [String: Int]()
        for sample in samples {
            let iterations = sample.count > 10000 ? 60 : 600
            for _ in 0..<iterations {
                var bytes = sample
                for _ in 0..<Int.random(in: 1...4, using: &generator) {
                    // Mostly in the header, where it matters.
                    let limit = min(bytes.count, Int.random(in: 0...1, using: &generator) == 0 ? 64 : bytes.count)
                    let offset = Int.random(in: 0..<limit, using: &generator)
                    bytes[offset] ^= UInt8.random(in: 1...255, using: &generator)
                }
                if Int.random(in: 0..<4, using: &generator) == 0 {
                    bytes.removeLast(Int.random(in: 0..<bytes.count, using: &generator))
                }
                switch headerDimensions(bytes) {
                case .success(let dimensions):
                    #expect(dimensions.width > 0 && dimensions.height > 0)
                    outcomes["success", default: 0] += 1
                case .failure(let error):
                    outcomes["\(error)".prefix(24).description, default: 0] += 1
                }
            }
        }
        // The loop exercised more than one path.
        #expect(outcomes.count >= 3)
    }

    @Test("random garbage of random lengths never crashes")
    func randomGarbage() {
        var generator = SeededGenerator(seed: 42)
        let prefixes: [[UInt8]] = [[0xFF, 0xD8, 0xFF], Array("RIFF\0\0\0\0WEBP".utf8), Array("GIF89a".utf8), []]
        for round in 0..<2000 {
            let count = Int.random(in: 0...300, using: &generator)
            let bytes =
                prefixes[round % prefixes.count] + (0..<count).map { _ in UInt8.random(in: 0...255, using: &generator) }
            if case .success(let dimensions) = headerDimensions(bytes) {
                #expect(dimensions.width > 0 && dimensions.height > 0)
            }
        }
    }
}

@Suite("ImageHeader: JPEG markers")
struct VisionJPEGMarkerTests {
    @Test(
        "every SOFn gives the dimensions",
        arguments: [0xC0, 0xC1, 0xC2, 0xC3, 0xC5, 0xC6, 0xC7, 0xC9, 0xCA, 0xCB, 0xCD, 0xCE, 0xCF] as [UInt8])
    func everySOF(marker: UInt8) {
        expectDimensions(jpeg(app0, sof(marker, width: 640, height: 480), sos), 640, 480, .jpeg)
    }

    @Test("DHT, JPG and DAC are skipped by length, not taken for frames", arguments: [0xC4, 0xC8, 0xCC] as [UInt8])
    func notFrames(marker: UInt8) {
        let decoy = Array(sof(marker, width: 16, height: 16).dropFirst(4))
        expectDimensions(jpeg(segment(marker, decoy), sof(width: 300, height: 200), sos), 300, 200, .jpeg)
    }

    @Test("APPn, COM, DQT, DRI and DNL-free tables before the frame are skipped")
    func skippedSegments() {
        var parts: [UInt8] = []
        for app in 0xE0...0xEF { parts += segment(UInt8(app), Array(sof(width: 1, height: 1))) }
        parts += segment(0xFE, Array("a comment".utf8) + [0xFF, 0xC0, 0x00, 0x11])
        parts += segment(0xDB, [UInt8](repeating: 1, count: 65))
        parts += segment(0xDD, [0, 16])
        parts += segment(0xF0, [1, 2, 3])  // JPG0 extension
        expectDimensions(jpeg(parts, sof(width: 4032, height: 3024), sos), 4032, 3024, .jpeg)
    }

    @Test("fill bytes, TEM, RSTn, stuffed zeros and junk between segments are tolerated (as Pillow does)")
    func fillAndStandalone() {
        expectDimensions(jpeg([0xFF, 0xFF, 0xFF], sof(width: 7, height: 9)), 7, 9, .jpeg)
        expectDimensions(jpeg(app0, [0xFF, 0xFF], sof(width: 7, height: 9)), 7, 9, .jpeg)
        expectDimensions(jpeg([0xFF, 0x01, 0xFF, 0xD0, 0xFF, 0xD7, 0xFF, 0x00], sof(width: 8, height: 2)), 8, 2, .jpeg)
        expectDimensions(jpeg(app0, [0x00, 0x12, 0x34], sof(width: 65535, height: 65535)), 65535, 65535, .jpeg)
    }

    @Test("only the first frame header counts")
    func firstFrame() {
        expectDimensions(jpeg(sof(width: 10, height: 20), sof(0xC2, width: 30, height: 40)), 10, 20, .jpeg)
    }

    @Test("height 0 (defined by DNL) and width 0 are corrupt")
    func zeroSides() {
        let dnl = jpeg(sof(width: 100, height: 0), sos)
        expectCorrupt(dnl)
        #expect("\(headerDimensions(dnl))".contains("DNL"))
        expectCorrupt(jpeg(sof(width: 0, height: 100)))
    }

    @Test("a scan or the end of image before any frame header is corrupt")
    func noFrame() {
        expectCorrupt(jpeg(app0, sos, [1, 2, 3, 0xFF, 0xD9]))
        expectCorrupt(jpeg(app0, [0xFF, 0xD9]))
    }

    @Test("invalid markers and lengths are corrupt")
    func invalidStructure() {
        expectCorrupt(jpeg([0xFF, 0x02, 0x00, 0x04, 0, 0]))
        expectCorrupt(jpeg([0xFF, 0xBF, 0x00, 0x04, 0, 0]))
        expectCorrupt(jpeg([0xFF, 0xE0, 0x00, 0x01]))
        expectCorrupt(jpeg([0xFF, 0xC0, 0x00, 0x07, 8, 0, 1, 0, 1]))
    }

    @Test("12-bit samples and 2-component frames are refused, like Pillow")
    func pillowLimits() {
        expectCorrupt(jpeg(sof(width: 10, height: 10, precision: 12)))
        expectCorrupt(jpeg(sof(width: 10, height: 10, components: 2)))
        expectDimensions(jpeg(sof(width: 10, height: 10, components: 1)), 10, 10, .jpeg)
        expectDimensions(jpeg(sof(width: 10, height: 10, components: 4)), 10, 10, .jpeg)
    }

    @Test("a segment longer than the data is truncated, not corrupt")
    func longSegment() {
        #expect(
            headerDimensions(jpeg([0xFF, 0xE1, 0xFF, 0xFF], [UInt8](repeating: 0, count: 1000))) == .failure(.truncated)
        )
        #expect(headerDimensions([0xFF, 0xD8, 0xFF]) == .failure(.truncated))
        #expect(headerDimensions(jpeg(Array(sof(width: 5, height: 5).prefix(8)))) == .failure(.truncated))
    }
}

@Suite("ImageHeader: PNG, GIF, WebP and sniffing")
struct VisionOtherFormatTests {
    private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]

    private func png(type: String = "IHDR", width: UInt32, height: UInt32) -> [UInt8] {
        func be32(_ v: UInt32) -> [UInt8] {
            [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)]
        }
        return Self.pngSignature + be32(13) + Array(type.utf8) + be32(width) + be32(height) + [8, 6, 0, 0, 0]
    }

    private func webp(_ fourCC: String, _ payload: [UInt8]) -> [UInt8] {
        Array("RIFF".utf8) + [0, 0, 0, 0] + Array("WEBP".utf8) + Array(fourCC.utf8) + [UInt8(payload.count), 0, 0, 0]
            + payload
    }

    @Test("PNG: IHDR big-endian sides; anything else first is corrupt")
    func pngCases() {
        expectDimensions(png(width: 100_000, height: 3), 100_000, 3, .png)
        expectDimensions(png(width: 0x7FFF_FFFF, height: 1), 0x7FFF_FFFF, 1, .png)
        expectCorrupt(png(type: "CgBI", width: 1, height: 1))
        expectCorrupt(png(width: 0, height: 5))
        expectCorrupt(png(width: 5, height: 0x8000_0000))
    }

    @Test("GIF: 87a and 89a little-endian logical screen")
    func gifCases() {
        expectDimensions(Array("GIF87a".utf8) + [0x34, 0x12, 0x02, 0x00], 0x1234, 2, .gif)
        expectDimensions(Array("GIF89a".utf8) + [0xFF, 0xFF, 0x01, 0x00, 0x00], 65535, 1, .gif)
        expectCorrupt(Array("GIF89a".utf8) + [0x00, 0x00, 0x01, 0x00])
        #expect(headerDimensions(Array("GIF88a".utf8) + [1, 0, 1, 0]) == .failure(.unsupportedFormat))
    }

    @Test("WebP VP8: key frame, start code, 14-bit sides (scale bits ignored)")
    func vp8() {
        let frame: [UInt8] = [0x50, 0x01, 0x00, 0x9D, 0x01, 0x2A]
        expectDimensions(webp("VP8 ", frame + [0x00, 0x40 | 0x3F, 0x00, 0xC0 | 0x10]), 0x3F00, 0x1000, .webp)
        expectCorrupt(webp("VP8 ", [0x51, 0x01, 0x00, 0x9D, 0x01, 0x2A, 1, 0, 1, 0]))
        expectCorrupt(webp("VP8 ", [0x50, 0x01, 0x00, 0x9D, 0x01, 0x2B, 1, 0, 1, 0]))
        expectCorrupt(webp("VP8 ", frame + [0, 0, 1, 0]))
    }

    @Test("WebP VP8L: signature 0x2F, 14-bit width−1 and height−1")
    func vp8l() {
        // width-1 = 16383, height-1 = 16383
        expectDimensions(webp("VP8L", [0x2F, 0xFF, 0xFF, 0xFF, 0x0F]), 16384, 16384, .webp)
        expectDimensions(webp("VP8L", [0x2F, 0x00, 0x00, 0x00, 0x00]), 1, 1, .webp)
        expectCorrupt(webp("VP8L", [0x2E, 0x00, 0x00, 0x00, 0x00]))
    }

    @Test("WebP VP8X: 24-bit canvas width−1 and height−1")
    func vp8x() {
        expectDimensions(webp("VP8X", [0x10, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x01, 0x00, 0x00]), 1 << 24, 2, .webp)
        expectCorrupt(webp("VP8Z", [0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0]))
        #expect(headerDimensions(webp("VP8X", [0x10, 0, 0, 0, 0xFF, 0xFF, 0xFF, 0x01, 0x00])) == .failure(.truncated))
    }

    @Test("other formats are unsupported; a prefix of a signature is truncated")
    func sniffing() {
        #expect(headerDimensions(Array("BM".utf8) + [UInt8](repeating: 0, count: 60)) == .failure(.unsupportedFormat))
        #expect(headerDimensions(Array("II*\0".utf8) + [8, 0, 0, 0]) == .failure(.unsupportedFormat))
        #expect(headerDimensions(Array("RIFF\0\0\0\0WAVEfmt ".utf8)) == .failure(.unsupportedFormat))
        #expect(headerDimensions([0xFF, 0xD8, 0x00, 0x00]) == .failure(.unsupportedFormat))
        #expect(headerDimensions([0x00]) == .failure(.unsupportedFormat))
        for prefix: [UInt8] in [
            [], [0xFF], [0xFF, 0xD8], [0x89, 0x50], Array("GIF".utf8), Array("RIFF\0\0\0\0WE".utf8),
        ] {
            #expect(headerDimensions(prefix) == .failure(.truncated), "\(prefix)")
        }
    }

    @Test("error messages suit a 400 answer")
    func messages() {
        #expect(ImageHeaderError.truncated.description == "the image data is truncated before its dimensions")
        #expect(ImageHeaderError.unsupportedFormat.description == "the image is not JPEG, PNG, GIF or WebP")
        #expect(ImageHeaderError.corrupt("x").description == "the image is corrupt: x")
    }
}
