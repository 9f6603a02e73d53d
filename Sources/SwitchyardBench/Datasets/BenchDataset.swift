import SwitchyardCore

/// One request a dataset hands to the load generator: the text, the images (in order) and the
/// output budget. The request builder turns it into the chat body `vllm bench serve` sends:
/// a text content part followed by one `image_url` part per entry of `imageURLs`.
public struct BenchRequest: Sendable, Equatable {
    /// The text part of the user message.
    public var prompt: String
    /// `data:` URLs (or `http(s)://` / `file://` URLs given verbatim in a JSONL dataset), in order.
    public var imageURLs: [String]
    /// The dataset's estimate of the text tokens (images not included: the server reports those
    /// in `usage.prompt_tokens`).
    public var promptTokens: Int
    /// The `max_completion_tokens` to request.
    public var outputTokens: Int
    /// Total UTF-8 bytes of the `data:` URLs in `imageURLs` (what the images add to the request
    /// body on the wire; about 4/3 of the encoded image files). Remote URLs count zero.
    public var imageBytes: Int

    public init(prompt: String, imageURLs: [String] = [], promptTokens: Int, outputTokens: Int, imageBytes: Int = 0) {
        self.prompt = prompt
        self.imageURLs = imageURLs
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.imageBytes = imageBytes
    }
}

/// A source of benchmark requests. Every random choice is drawn from `generator`, so the same
/// `--seed` reproduces the same requests.
public protocol BenchDataset {
    func makeRequests(count: Int, generator: inout SeededRandom) throws -> [BenchRequest]
}

/// Why a dataset could not produce requests. Messages name the file, line and field at fault
/// where there is one.
public enum DatasetError: Error, CustomStringConvertible, Equatable {
    /// A dataset parameter is out of range (`--random-range-ratio 1.5`, a zero length, ...).
    case invalidParameter(name: String, message: String)
    /// The dataset file could not be read.
    case unreadableFile(path: String, reason: String)
    /// A line of a JSONL dataset is wrong; `line` is 1-based.
    case invalidLine(path: String, line: Int, message: String)
    /// The dataset file has no request in it.
    case emptyDataset(path: String)

    public var description: String {
        switch self {
        case .invalidParameter(let name, let message):
            return "invalid \(name): \(message)"
        case .unreadableFile(let path, let reason):
            return "cannot read dataset file \(path): \(reason)"
        case .invalidLine(let path, let line, let message):
            return "\(path):\(line): \(message)"
        case .emptyDataset(let path):
            return "dataset file \(path) contains no requests (only blank lines)"
        }
    }
}

/// A cheap, tokenizer-free estimate of how many tokens a GPT-2/Llama-style BPE tokenizer makes of
/// plain English: one token per run of letters (with its leading space), one per up-to-three
/// digits, one per other non-space character (punctuation, symbols). Common words are one token
/// in such tokenizers; rare or long words are several, so real counts for unusual text run higher.
public enum TokenEstimate {
    public static func count(_ text: String) -> Int {
        var tokens = 0
        var letterRun = false
        var digitRun = 0
        for scalar in text.unicodeScalars {
            let value = scalar.value
            let isLetter =
                (value >= 0x41 && value <= 0x5A) || (value >= 0x61 && value <= 0x7A)
                || (value > 0x7F && scalar.properties.isAlphabetic)
            let isDigit = value >= 0x30 && value <= 0x39
            if isLetter {
                if !letterRun { tokens += 1 }
                letterRun = true
                digitRun = 0
            } else if isDigit {
                if digitRun % 3 == 0 { tokens += 1 }
                digitRun += 1
                letterRun = false
            } else {
                letterRun = false
                digitRun = 0
                if !scalar.properties.isWhitespace { tokens += 1 }
            }
        }
        return tokens
    }
}

extension SeededRandom {
    /// A uniform integer in `range` (Lemire's multiply-and-reject, so there is no modulo bias),
    /// implemented here rather than through `Int.random(in:using:)` so that the sequence cannot
    /// change with the standard library's implementation.
    mutating func uniformInt(in range: ClosedRange<Int>) -> Int {
        let span = UInt64(bitPattern: Int64(range.upperBound &- range.lowerBound)) &+ 1
        if span == 0 { return Int(truncatingIfNeeded: next()) }  // the full 64-bit range
        var product = next().multipliedFullWidth(by: span)
        if product.low < span {
            let threshold = (0 &- span) % span
            while product.low < threshold {
                product = next().multipliedFullWidth(by: span)
            }
        }
        return range.lowerBound &+ Int(truncatingIfNeeded: product.high)
    }

    /// An index drawn with probability proportional to `weights` (non-negative, positive sum).
    mutating func weightedIndex(_ weights: [Int]) -> Int {
        let total = weights.reduce(0, +)
        var pick = uniformInt(in: 0...(total - 1))
        for (index, weight) in weights.enumerated() {
            if pick < weight { return index }
            pick -= weight
        }
        return weights.count - 1
    }
}
