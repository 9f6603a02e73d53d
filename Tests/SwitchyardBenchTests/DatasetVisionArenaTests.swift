import Foundation
import SwitchyardBench
import SwitchyardCore
import Testing

@Suite struct DatasetVisionArenaTests {
    static let prefix = "data:image/jpeg;base64,"

    /// The seed's workload: 1000 prompts, one image each, 128 output tokens, ~90 text tokens.
    @Test func thousandPromptsHaveTheSeedsShape() throws {
        var generator = SeededRandom(seed: 0)
        let requests = try VisionArenaSyntheticDataset().makeRequests(count: 1_000, generator: &generator)
        try #require(requests.count == 1_000)

        let meanTokens = Double(requests.map(\.promptTokens).reduce(0, +)) / 1_000
        #expect((80...100).contains(meanTokens), "mean prompt tokens \(meanTokens)")
        for request in requests {
            #expect(request.outputTokens == 128)
            #expect(request.imageURLs.count == 1)
            #expect(request.imageURLs.allSatisfy { $0.hasPrefix(Self.prefix) })
            #expect(request.imageBytes == request.imageURLs[0].utf8.count)
            #expect(request.promptTokens == TokenEstimate.count(request.prompt))
            let words = request.prompt.split(separator: " ").count
            #expect((20...200).contains(words), "\(words) words: \(request.prompt)")
        }
        #expect(Set(requests.map(\.prompt)).count > 950)  // questions vary

        // Decode each distinct image once: genuine JPEGs whose SOF0 sizes follow the table.
        var sizeOfURL: [String: (width: Int, height: Int, bytes: Int)] = [:]
        for url in Set(requests.map { $0.imageURLs[0] }) {
            let jpeg = try #require(Data(base64Encoded: String(url.dropFirst(Self.prefix.count))))
            let segments = try #require(JPEGSegments(Array(jpeg)))
            #expect(segments.endsWithEOI)
            let frame = try #require(segments.frame)
            sizeOfURL[url] = (frame.width, frame.height, jpeg.count)
        }
        let table = VisionArenaSyntheticDataset.imageSizes
        #expect(table.map(\.weight).reduce(0, +) == 100)
        #expect(sizeOfURL.count <= table.count * 3)
        var counts: [String: Int] = [:]
        for request in requests {
            let size = try #require(sizeOfURL[request.imageURLs[0]])
            counts["\(size.width)x\(size.height)", default: 0] += 1
        }
        #expect(Set(counts.keys) == Set(table.map { "\($0.width)x\($0.height)" }))
        for entry in table {
            let observed = Double(counts["\(entry.width)x\(entry.height)"] ?? 0)
            let p = Double(entry.weight) / 100
            let expected = 1_000 * p
            let sigma = (1_000 * p * (1 - p)).squareRoot()
            #expect(abs(observed - expected) <= 4 * sigma, "\(entry.width)x\(entry.height): \(observed) vs \(expected)")
        }

        // File sizes like real uploads: tens of KB for thumbnails up to megabytes for 4K photos.
        let bytes = sizeOfURL.values.map(\.bytes)
        #expect(bytes.min()! >= 10_000 && bytes.min()! < 100_000, "smallest \(bytes.min()!)")
        #expect(bytes.max()! > 1_000_000, "largest \(bytes.max()!)")
        for size in sizeOfURL.values where size.width == 224 {
            #expect((10_000...30_000).contains(size.bytes), "224x224: \(size.bytes) bytes")
        }
        for size in sizeOfURL.values where size.width == 3840 {
            #expect((1_500_000...4_000_000).contains(size.bytes), "3840x2160: \(size.bytes) bytes")
        }
        let mean = Double(requests.map(\.imageBytes).reduce(0, +)) / 1_000
        #expect(mean > 300_000 && mean < 3_000_000, "mean data URL bytes \(mean)")
    }

    @Test func sameSeedSameRequestsDifferentSeedDifferent() throws {
        let dataset = VisionArenaSyntheticDataset(variantsPerSize: 1)
        func make(_ seed: UInt64) throws -> [BenchRequest] {
            var generator = SeededRandom(seed: seed)
            return try dataset.makeRequests(count: 40, generator: &generator)
        }
        let a = try make(5)
        #expect(a == (try make(5)))
        #expect(a.map(\.prompt) != (try make(6)).map(\.prompt))
    }

    @Test func imagesDependOnVariantNotOnCallOrder() {
        let key = SyntheticImageCache.Key(width: 224, height: 224, kind: .photo, variant: 0, quality: 90)
        let other = SyntheticImageCache.Key(width: 224, height: 224, kind: .photo, variant: 1, quality: 90)
        let cache = SyntheticImageCache()
        let first = cache.images(for: [key, other])
        #expect(first[key]?.dataURL == SyntheticImageCache.encode(key).dataURL)
        #expect(first[key]?.dataURL != first[other]?.dataURL)
        #expect(first[key]?.dataURL.hasPrefix(Self.prefix) == true)
    }

    @Test func invalidParametersAreRejected() {
        var generator = SeededRandom(seed: 0)
        #expect(throws: DatasetError.self) {
            try VisionArenaSyntheticDataset(outputLen: 0).makeRequests(count: 1, generator: &generator)
        }
        #expect(throws: DatasetError.self) {
            try VisionArenaSyntheticDataset(variantsPerSize: 0).makeRequests(count: 1, generator: &generator)
        }
        #expect(throws: DatasetError.self) {
            try VisionArenaSyntheticDataset(jpegQuality: 101).makeRequests(count: 1, generator: &generator)
        }
    }
}
