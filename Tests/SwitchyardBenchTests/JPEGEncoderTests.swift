import Foundation
import SwitchyardBench
import Testing

@Suite struct JPEGEncoderTests {
    static let sizes: [(width: Int, height: Int)] = [
        (1, 1), (7, 13), (16, 16), (224, 224), (1000, 750), (1920, 1080),
    ]

    @Test(arguments: sizes.map { [$0.width, $0.height] })
    func baselineJFIFStructure(size: [Int]) throws {
        let (width, height) = (size[0], size[1])
        let jpeg = JPEGEncoder.encode(
            rgb: SyntheticImage.smoothGradient(width: width, height: height), width: width, height: height)
        let segments = try #require(JPEGSegments(jpeg), "no SOI or malformed segments")
        #expect(segments.endsWithEOI)
        #expect(segments.markers.first == 0xE0)
        #expect(segments.payloads[0xE0].map { Array($0.prefix(7)) } == Array("JFIF".utf8) + [0, 1, 1])
        #expect(segments.markers.contains(0xDB))
        #expect(segments.markers.contains(0xC4))
        #expect(segments.markers.last == 0xDA)
        // Baseline only: no progressive / extended / arithmetic frame, no restart interval.
        for marker: UInt8 in [0xC1, 0xC2, 0xC3, 0xC9, 0xCA, 0xDD] { #expect(!segments.markers.contains(marker)) }
        let frame = try #require(segments.frame)
        #expect(frame.precision == 8)
        #expect(frame.width == width && frame.height == height)
        #expect(frame.components.map(\.id) == [1, 2, 3])
        #expect(frame.components.map(\.sampling) == [0x22, 0x11, 0x11])  // 4:2:0
        #expect(frame.components.map(\.table) == [0, 1, 1])
    }

    @Test func qualityScalesTheAnnexKTables() throws {
        func tables(_ quality: Int) throws -> [UInt8] {
            let jpeg = JPEGEncoder.encode(rgb: [128, 128, 128], width: 1, height: 1, quality: quality)
            return try #require(JPEGSegments(jpeg)?.payloads[0xDB])
        }
        let q50 = try tables(50)
        #expect(q50.count == 130)
        #expect(q50[0] == 0 && q50[65] == 1)
        // Zig-zag order: 16, 11, 12, 14, 12, 10 ... for luma; 17, 18, 18, 24, 21 ... for chroma.
        #expect(Array(q50[1...6]) == [16, 11, 12, 14, 12, 10])
        #expect(Array(q50[66...70]) == [17, 18, 18, 24, 21])
        #expect(q50[64] == 99 && q50[129] == 99)
        let q100 = try tables(100)
        #expect(q100[1...64].allSatisfy { $0 == 1 })
        let q90 = try tables(90)
        #expect(q90[1] == 3 && q90[64] == 20)  // (16·20+50)/100, (99·20+50)/100
    }

    /// Pillow decodes every size, and a smooth gradient comes back close to the source, which
    /// only happens when the DCT, quantization, zig-zag and Huffman stages are all right.
    @Test func pillowDecodesCloseToTheSource() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        var files: [(jpeg: URL, raw: URL?)] = []
        for (width, height) in Self.sizes {
            let rgb = SyntheticImage.smoothGradient(width: width, height: height)
            let jpegURL = directory.appendingPathComponent("gradient-\(width)x\(height).jpg")
            let rawURL = directory.appendingPathComponent("gradient-\(width)x\(height).rgb")
            try Data(JPEGEncoder.encode(rgb: rgb, width: width, height: height, quality: 90)).write(to: jpegURL)
            try Data(rgb).write(to: rawURL)
            files.append((jpegURL, rawURL))
        }
        // Noisy photo-like and text-like content exercise long codes, ZRL runs and 0xFF stuffing.
        for (kind, width, height) in [(SyntheticImageKind.photo, 224, 224), (.screenshot, 800, 600)] {
            let rgb = SyntheticImage.rgb(width: width, height: height, kind: kind, seed: 7)
            let jpegURL = directory.appendingPathComponent("\(kind)-\(width)x\(height).jpg")
            let rawURL = directory.appendingPathComponent("\(kind)-\(width)x\(height).rgb")
            try Data(JPEGEncoder.encode(rgb: rgb, width: width, height: height, quality: 90)).write(to: jpegURL)
            try Data(rgb).write(to: rawURL)
            files.append((jpegURL, rawURL))
        }
        // Extreme qualities still decode.
        for quality in [1, 100] {
            let rgb = SyntheticImage.smoothGradient(width: 64, height: 48)
            let jpegURL = directory.appendingPathComponent("quality-\(quality).jpg")
            let rawURL = directory.appendingPathComponent("quality-\(quality).rgb")
            try Data(JPEGEncoder.encode(rgb: rgb, width: 64, height: 48, quality: quality)).write(to: jpegURL)
            try Data(rgb).write(to: rawURL)
            files.append((jpegURL, rawURL))
        }

        guard let results = try PillowDecoder.decode(files) else { return }
        try #require(results.count == files.count)
        for (index, result) in results.enumerated() {
            let name = files[index].jpeg.lastPathComponent
            #expect(result.error == nil, "\(name): \(result.error ?? "")")
            #expect(result.format == "JPEG", "\(name)")
            #expect(result.mode == "RGB", "\(name)")
            #expect(result.sampling == 2, "\(name): expected 4:2:0")
            #expect(result.jfif == [1, 1], "\(name)")
            #expect(result.progressive == false, "\(name)")
        }
        let byName = Dictionary(
            uniqueKeysWithValues: zip(files.map { $0.jpeg.lastPathComponent }, results))
        for (width, height) in Self.sizes {
            let result = try #require(byName["gradient-\(width)x\(height).jpg"])
            #expect(result.width == width && result.height == height)
            let mae = try #require(result.mae)
            #expect(mae < 1.0, "gradient \(width)x\(height): mean absolute error \(mae)")
        }
        // Measured: gradients 0.4–0.7, noisy photo ≈ 3.8, screenshot ≈ 1.3; a wrong zig-zag order
        // gives 2.3+, 11 and 15. Noise is partly quantized away, but the picture must survive.
        let photo = try #require(byName["photo-224x224.jpg"]?.mae)
        #expect(photo < 6, "noisy photo: mean absolute error \(photo)")
        let screenshot = try #require(byName["screenshot-800x600.jpg"]?.mae)
        #expect(screenshot < 4, "screenshot: mean absolute error \(screenshot)")
        let best = try #require(byName["quality-100.jpg"]?.mae)
        let worst = try #require(byName["quality-1.jpg"]?.mae)
        #expect(best < 1.0 && worst > 5 * best, "quality 100: \(best), quality 1: \(worst)")
    }

    @Test func encodingIsDeterministic() {
        let rgb = SyntheticImage.rgb(width: 97, height: 61, kind: .photo, seed: 11)
        #expect(
            JPEGEncoder.encode(rgb: rgb, width: 97, height: 61) == JPEGEncoder.encode(rgb: rgb, width: 97, height: 61))
        #expect(rgb == SyntheticImage.rgb(width: 97, height: 61, kind: .photo, seed: 11))
        #expect(rgb != SyntheticImage.rgb(width: 97, height: 61, kind: .photo, seed: 12))
    }
}
