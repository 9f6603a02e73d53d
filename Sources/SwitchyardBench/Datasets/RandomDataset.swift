import SwitchyardCore

/// `--dataset-name random`: text-only prompts of a chosen length, like vLLM's `RandomDataset`.
///
/// Per request the input and output lengths are drawn uniformly from integer ranges exactly as
/// vLLM's `get_sampling_params` does: input in `[floor(L·(1−r)), ceil(L·(1+r))]`, output in
/// `[max(1, floor(O·(1−r))), max(1, ceil(O·(1+r)))]`, with `r` (`rangeRatio`) in `[0, 1)`.
///
/// The prompt is that many words drawn uniformly from ``commonWords`` and joined by single spaces,
/// and `promptTokens` is the word count. **This is an estimate.** vLLM samples random token ids
/// and decodes them with the served model's tokenizer (re-encoding to fix the length), so its
/// prompts are exactly `L` tokens for that tokenizer (it also subtracts the tokenizer's special
/// tokens, such as BOS, from `L` before sampling). Switchyard has no tokenizer: its prompts are
/// exactly `L` tokens only for tokenizers in which every listed word, preceded by a space, is one
/// token (true of GPT-2-style and Llama-style BPE vocabularies for these very common words); other
/// tokenizers may split some words, and the chat template adds its own tokens in both tools. The
/// server's `usage.prompt_tokens` is what the report counts, as in vLLM.
public struct RandomDataset: BenchDataset {
    public var inputLen: Int
    public var outputLen: Int
    public var rangeRatio: Double

    public init(inputLen: Int = 1024, outputLen: Int = 128, rangeRatio: Double = 0) {
        self.inputLen = inputLen
        self.outputLen = outputLen
        self.rangeRatio = rangeRatio
    }

    /// The inclusive ranges the per-request lengths are drawn from (vLLM's `get_sampling_params`).
    public func samplingRanges() throws -> (input: ClosedRange<Int>, output: ClosedRange<Int>) {
        guard rangeRatio >= 0, rangeRatio < 1 else {
            throw DatasetError.invalidParameter(
                name: "random range ratio", message: "must be in [0, 1), got \(rangeRatio)")
        }
        guard inputLen >= 1 else {
            throw DatasetError.invalidParameter(name: "random input length", message: "must be at least 1")
        }
        guard outputLen >= 1 else {
            throw DatasetError.invalidParameter(name: "random output length", message: "must be at least 1")
        }
        let inputLow = Int((Double(inputLen) * (1 - rangeRatio)).rounded(.down))
        let inputHigh = Int((Double(inputLen) * (1 + rangeRatio)).rounded(.up))
        let outputLow = max(1, Int((Double(outputLen) * (1 - rangeRatio)).rounded(.down)))
        let outputHigh = max(1, Int((Double(outputLen) * (1 + rangeRatio)).rounded(.up)))
        guard inputLow >= 1 else {
            throw DatasetError.invalidParameter(
                name: "random input length",
                message: "\(inputLen) with range ratio \(rangeRatio) allows empty prompts; "
                    + "increase the input length or decrease the range ratio")
        }
        return (inputLow...inputHigh, outputLow...outputHigh)
    }

    public func makeRequests(count: Int, generator: inout SeededRandom) throws -> [BenchRequest] {
        let ranges = try samplingRanges()
        let words = Self.commonWords
        var requests: [BenchRequest] = []
        requests.reserveCapacity(count)
        for _ in 0..<count {
            let inputTokens = generator.uniformInt(in: ranges.input)
            let outputTokens = generator.uniformInt(in: ranges.output)
            var prompt = ""
            prompt.reserveCapacity(inputTokens * 6)
            for index in 0..<inputTokens {
                if index > 0 { prompt.append(" ") }
                prompt.append(words[generator.uniformInt(in: 0...(words.count - 1))])
            }
            requests.append(BenchRequest(prompt: prompt, promptTokens: inputTokens, outputTokens: outputTokens))
        }
        return requests
    }

    /// 200 short, very common lowercase English words, each a single token in GPT-2/Llama-style
    /// BPE vocabularies when preceded by a space (" the", " of", " time", ...).
    public static let commonWords: [String] = [
        "the", "of", "and", "to", "in", "is", "that", "for", "it", "as",
        "was", "with", "be", "by", "on", "not", "he", "this", "are", "or",
        "his", "from", "at", "which", "but", "have", "an", "had", "they", "you",
        "were", "their", "one", "all", "we", "can", "her", "has", "there", "been",
        "if", "more", "when", "will", "would", "who", "so", "no", "she", "other",
        "its", "may", "these", "what", "them", "than", "some", "him", "time", "into",
        "only", "do", "also", "most", "made", "over", "then", "after", "first", "new",
        "about", "such", "two", "could", "like", "any", "our", "between", "years", "many",
        "those", "my", "me", "up", "out", "just", "how", "where", "good", "well",
        "now", "very", "because", "each", "much", "before", "must", "through", "back", "down",
        "way", "day", "man", "people", "year", "work", "life", "world", "part", "place",
        "same", "right", "still", "long", "own", "here", "high", "old", "great", "small",
        "large", "last", "next", "few", "young", "little", "home", "water", "house", "family",
        "city", "school", "car", "book", "road", "light", "game", "music", "food", "money",
        "night", "morning", "week", "hand", "head", "name", "word", "line", "number", "point",
        "open", "show", "call", "keep", "take", "make", "give", "find", "think", "know",
        "look", "come", "want", "use", "tell", "ask", "help", "play", "run", "move",
        "live", "hold", "turn", "start", "read", "write", "learn", "change", "follow", "stop",
        "red", "blue", "green", "black", "white", "hot", "cold", "big", "short", "early",
        "true", "free", "full", "real", "sure", "best", "hard", "easy", "clear", "simple",
    ]
}
