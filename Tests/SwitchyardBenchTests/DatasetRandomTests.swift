import SwitchyardBench
import SwitchyardCore
import Testing

@Suite struct DatasetRandomTests {
    private func requests(_ dataset: RandomDataset, count: Int = 200, seed: UInt64 = 1) throws -> [BenchRequest] {
        var generator = SeededRandom(seed: seed)
        return try dataset.makeRequests(count: count, generator: &generator)
    }

    @Test func rangesFollowVLLMsGetSamplingParams() throws {
        let ranges = try RandomDataset(inputLen: 1024, outputLen: 128, rangeRatio: 0.1).samplingRanges()
        #expect(ranges.input == 921...1127)  // floor(921.6), ceil(1126.4)
        #expect(ranges.output == 115...141)  // floor(115.2), ceil(140.8)
        // Same float arithmetic as Python: 20 · (1 − 0.9) = 1.9999… → 1, 20 · 1.9 → 38.
        let tiny = try RandomDataset(inputLen: 20, outputLen: 1, rangeRatio: 0.9).samplingRanges()
        #expect(tiny.input == 1...38)
        #expect(tiny.output == 1...2)  // the lower bound never drops below 1
        let exact = try RandomDataset(inputLen: 7, outputLen: 3, rangeRatio: 0).samplingRanges()
        #expect(exact.input == 7...7 && exact.output == 3...3)
    }

    @Test func lengthsStayInTheirRangesAndCoverThem() throws {
        let dataset = RandomDataset(inputLen: 20, outputLen: 10, rangeRatio: 0.5)
        let all = try requests(dataset, count: 2_000)
        let inputs = Set(all.map(\.promptTokens))
        let outputs = Set(all.map(\.outputTokens))
        #expect(inputs == Set(10...30))
        #expect(outputs == Set(5...15))
        let words = Set(RandomDataset.commonWords)
        for request in all {
            let promptWords = request.prompt.split(separator: " ", omittingEmptySubsequences: false)
            #expect(promptWords.count == request.promptTokens)
            #expect(promptWords.allSatisfy { words.contains(String($0)) })
            #expect(!request.prompt.hasPrefix(" ") && !request.prompt.hasSuffix(" "))
            #expect(request.imageURLs.isEmpty && request.imageBytes == 0)
        }
    }

    @Test func ratioZeroGivesExactLengths() throws {
        let all = try requests(RandomDataset(inputLen: 1024, outputLen: 128, rangeRatio: 0), count: 50)
        #expect(all.allSatisfy { $0.promptTokens == 1024 && $0.outputTokens == 128 })
        #expect(all.allSatisfy { $0.prompt.split(separator: " ").count == 1024 })
        #expect(Set(all.map(\.prompt)).count == 50)  // no two prompts alike (no accidental prefix sharing)
    }

    @Test func sameSeedSameRequestsDifferentSeedDifferent() throws {
        let dataset = RandomDataset(inputLen: 64, outputLen: 32, rangeRatio: 0.25)
        let a = try requests(dataset, seed: 42)
        #expect(a == (try requests(dataset, seed: 42)))
        #expect(a != (try requests(dataset, seed: 43)))
    }

    @Test(arguments: [-0.1, 1.0, 1.5, Double.nan, Double.infinity])
    func invalidRangeRatioIsRejected(ratio: Double) {
        var generator = SeededRandom(seed: 0)
        #expect(throws: DatasetError.self) {
            try RandomDataset(inputLen: 100, outputLen: 10, rangeRatio: ratio).makeRequests(
                count: 1, generator: &generator)
        }
        do {
            _ = try RandomDataset(inputLen: 100, outputLen: 10, rangeRatio: ratio).samplingRanges()
        } catch {
            #expect("\(error)".contains("range ratio"))
        }
    }

    @Test func nonPositiveLengthsAreRejected() {
        #expect(throws: DatasetError.self) { try RandomDataset(inputLen: 0, outputLen: 10).samplingRanges() }
        #expect(throws: DatasetError.self) { try RandomDataset(inputLen: 10, outputLen: 0).samplingRanges() }
        // floor(1 · 0.5) = 0 and floor(10 · (1 − 0.9)) = 0 would allow empty prompts (vLLM refuses too).
        #expect(throws: DatasetError.self) {
            try RandomDataset(inputLen: 10, outputLen: 1, rangeRatio: 0.9).samplingRanges()
        }
        #expect(throws: DatasetError.self) {
            try RandomDataset(inputLen: 1, outputLen: 10, rangeRatio: 0.5).samplingRanges()
        }
    }

    @Test func wordListIsTwoHundredDistinctShortWords() {
        let words = RandomDataset.commonWords
        #expect(words.count == 200)
        #expect(Set(words).count == words.count)
        #expect(words.allSatisfy { word in !word.isEmpty && word.count <= 8 && word.allSatisfy { $0.isLowercase } })
    }

    @Test func tokenEstimateCountsWordsAndPunctuation() {
        #expect(TokenEstimate.count("the of time") == 3)
        #expect(TokenEstimate.count("What is shown in this image?") == 7)
        #expect(TokenEstimate.count("Total: 12345 items, (roughly).") == 10)  // Total : 123 45 items , ( roughly ) .
        #expect(TokenEstimate.count("") == 0)
        #expect(TokenEstimate.count("  \n ") == 0)
    }
}
