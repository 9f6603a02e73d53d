import Foundation
import SwitchyardCore

/// `--dataset-name jsonl --dataset-path FILE`: one JSON object per line,
///
/// ```
/// {"prompt": "What is in this picture?", "images": ["cat.jpg"], "output_len": 64}
/// ```
///
/// - `prompt` (string, required): the text part.
/// - `images` (array of strings, optional), each one of
///   - an `http://` / `https://` URL or a `file://` URL: sent verbatim (the server fetches or
///     opens it; `file://` only works with vLLM's `--allowed-local-media-path`),
///   - a `data:` URL: sent verbatim,
///   - a local file path (relative paths are resolved against the JSONL file's directory): read
///     and sent as `data:<mime>;base64,...`, the MIME type from the extension (`jpg`/`jpeg`,
///     `png`, `webp`, `gif`; anything else is an error).
/// - `output_len` (positive integer, optional; vLLM's custom-dataset spelling `output_tokens`
///   is accepted too): the output budget, `defaultOutputLen` when absent.
///
/// Blank lines are skipped; CRLF line ends and a UTF-8 byte-order mark are accepted. Requests are
/// taken in file order (unlike vLLM's custom dataset, which shuffles unless `--disable-shuffle`): with fewer lines than requests the
/// lines are cycled (vLLM oversamples too); with more, the first `count` are used. Every line is
/// validated, and image files must exist, but only the used lines' files are read (once each).
///
/// `promptTokens` is the ``TokenEstimate`` of the prompt (about one token per word and per
/// punctuation mark), not the model's tokenizer count; the report uses the server's usage.
public struct JSONLDataset: BenchDataset {
    public var path: String
    public var defaultOutputLen: Int

    public init(path: String, defaultOutputLen: Int = 128) {
        self.path = path
        self.defaultOutputLen = defaultOutputLen
    }

    /// One validated line.
    struct Entry {
        var line: Int
        var prompt: String
        var images: [ImageSource]
        var outputLen: Int
    }

    enum ImageSource: Equatable {
        case url(String)
        case file(path: String, mime: String)
    }

    static let mimeTypes = [
        "jpg": "image/jpeg", "jpeg": "image/jpeg", "png": "image/png", "webp": "image/webp", "gif": "image/gif",
    ]

    public func makeRequests(count: Int, generator: inout SeededRandom) throws -> [BenchRequest] {
        let entries = try load()
        guard !entries.isEmpty else { throw DatasetError.emptyDataset(path: path) }
        var fileCache: [String: String] = [:]
        var requests: [BenchRequest] = []
        requests.reserveCapacity(count)
        for index in 0..<count {
            let entry = entries[index % entries.count]
            var urls: [String] = []
            var imageBytes = 0
            for image in entry.images {
                switch image {
                case .url(let url):
                    urls.append(url)
                    if url.hasPrefix("data:") { imageBytes += url.utf8.count }
                case .file(let filePath, let mime):
                    let url: String
                    if let cached = fileCache[filePath] {
                        url = cached
                    } else {
                        let data: Data
                        do {
                            data = try Data(contentsOf: URL(fileURLWithPath: filePath))
                        } catch {
                            throw DatasetError.invalidLine(
                                path: path, line: entry.line, message: "cannot read image file \(filePath): \(error)")
                        }
                        url = "data:\(mime);base64," + data.base64EncodedString()
                        fileCache[filePath] = url
                    }
                    urls.append(url)
                    imageBytes += url.utf8.count
                }
            }
            requests.append(
                BenchRequest(
                    prompt: entry.prompt, imageURLs: urls, promptTokens: TokenEstimate.count(entry.prompt),
                    outputTokens: entry.outputLen, imageBytes: imageBytes))
        }
        return requests
    }

    /// Reads and validates every line.
    func load() throws -> [Entry] {
        guard defaultOutputLen >= 1 else {
            throw DatasetError.invalidParameter(name: "output length", message: "must be at least 1")
        }
        let data: Data
        do {
            data = try Data(contentsOf: URL(fileURLWithPath: path))
        } catch {
            throw DatasetError.unreadableFile(path: path, reason: Self.reason(error))
        }
        guard var text = String(data: data, encoding: .utf8) else {
            throw DatasetError.unreadableFile(path: path, reason: "not valid UTF-8")
        }
        if text.hasPrefix("\u{FEFF}") { text.removeFirst() }  // a byte-order mark
        let directory = URL(fileURLWithPath: path).deletingLastPathComponent()
        var entries: [Entry] = []
        var lineNumber = 0
        // "\r\n" is one Character in Swift, so split on both spellings of a line end.
        for rawLine in text.split(omittingEmptySubsequences: false, whereSeparator: { $0 == "\n" || $0 == "\r\n" }) {
            lineNumber += 1
            let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
            if line.isEmpty { continue }
            entries.append(try parse(line: line, number: lineNumber, directory: directory))
        }
        return entries
    }

    private func parse(line: String, number: Int, directory: URL) throws -> Entry {
        func fail(_ message: String) -> DatasetError {
            DatasetError.invalidLine(path: path, line: number, message: message)
        }
        let value: JSONValue
        do {
            value = try JSONDecoder().decode(JSONValue.self, from: Data(line.utf8))
        } catch {
            // JSONSerialization says where the syntax breaks; JSONDecoder does not.
            var detail = Self.reason(error)
            do {
                _ = try JSONSerialization.jsonObject(with: Data(line.utf8), options: [.fragmentsAllowed])
            } catch {
                if let syntax = (error as NSError).userInfo[NSDebugDescriptionErrorKey] as? String { detail = syntax }
            }
            throw fail("invalid JSON: \(detail)")
        }
        guard case .object(let fields) = value else {
            throw fail("expected a JSON object with a \"prompt\" field, got \(value.kindName)")
        }
        guard let promptValue = fields["prompt"] else { throw fail("missing required field \"prompt\"") }
        guard case .string(let prompt) = promptValue else {
            throw fail("field \"prompt\" must be a string, got \(promptValue.kindName)")
        }

        var images: [ImageSource] = []
        switch fields["images"] {
        case nil, .null?:
            break
        case .array(let list)?:
            for (index, item) in list.enumerated() {
                guard case .string(let reference) = item else {
                    throw fail("field \"images\"[\(index)] must be a string, got \(item.kindName)")
                }
                images.append(try imageSource(reference, index: index, directory: directory, fail: fail))
            }
        case let other?:
            throw fail("field \"images\" must be an array of strings, got \(other.kindName)")
        }

        if fields["output_len"] != nil && fields["output_tokens"] != nil {
            throw fail("give either \"output_len\" or \"output_tokens\", not both")
        }
        var outputLen = defaultOutputLen
        for name in ["output_len", "output_tokens"] {
            switch fields[name] {
            case nil, .null?:
                continue
            case .integer(let integer)? where integer >= 1:
                outputLen = integer
            case let other?:
                throw fail("field \"\(name)\" must be a positive integer, got \(other.description)")
            }
        }
        return Entry(line: number, prompt: prompt, images: images, outputLen: outputLen)
    }

    private func imageSource(
        _ reference: String, index: Int, directory: URL, fail: (String) -> DatasetError
    ) throws -> ImageSource {
        let lowered = reference.lowercased()
        if lowered.hasPrefix("http://") || lowered.hasPrefix("https://") || lowered.hasPrefix("file://") {
            return .url(reference)
        }
        if lowered.hasPrefix("data:") {
            guard reference.contains(",") else { throw fail("field \"images\"[\(index)] is a malformed data: URL") }
            return .url(reference)
        }
        if reference.isEmpty { throw fail("field \"images\"[\(index)] is empty") }
        let fileURL =
            reference.hasPrefix("/")
            ? URL(fileURLWithPath: reference) : directory.appendingPathComponent(reference)
        let fileExtension = fileURL.pathExtension.lowercased()
        guard let mime = Self.mimeTypes[fileExtension] else {
            throw fail(
                "field \"images\"[\(index)]: unsupported image extension "
                    + "\(fileExtension.isEmpty ? "(none)" : "." + fileExtension) in \(reference) "
                    + "(expected .jpg, .jpeg, .png, .webp or .gif)")
        }
        var isDirectory: ObjCBool = false
        guard FileManager.default.fileExists(atPath: fileURL.path, isDirectory: &isDirectory), !isDirectory.boolValue
        else {
            throw fail("field \"images\"[\(index)]: image file not found: \(fileURL.path)")
        }
        return .file(path: fileURL.path, mime: mime)
    }

    private static func reason(_ error: Error) -> String {
        if case DecodingError.dataCorrupted(let context) = error {
            guard let underlying = context.underlyingError else { return context.debugDescription }
            let detail = (underlying as NSError).userInfo[NSDebugDescriptionErrorKey] as? String
            return detail ?? "\(underlying)"
        }
        let nsError = error as NSError
        if let underlying = nsError.userInfo[NSUnderlyingErrorKey] as? NSError {
            return underlying.localizedDescription
        }
        return nsError.localizedDescription
    }
}

/// A parsed JSON value, decoded strictly (a boolean is never an integer, a fraction never an integer).
private enum JSONValue: Decodable, CustomStringConvertible {
    case null
    case bool(Bool)
    case integer(Int)
    case number(Double)
    case string(String)
    case array([JSONValue])
    case object([String: JSONValue])

    init(from decoder: Decoder) throws {
        if var list = try? decoder.unkeyedContainer() {
            var items: [JSONValue] = []
            while !list.isAtEnd { items.append(try list.decode(JSONValue.self)) }
            self = .array(items)
            return
        }
        if let keyed = try? decoder.container(keyedBy: AnyKey.self) {
            var fields: [String: JSONValue] = [:]
            for key in keyed.allKeys { fields[key.stringValue] = try keyed.decode(JSONValue.self, forKey: key) }
            self = .object(fields)
            return
        }
        let single = try decoder.singleValueContainer()
        if single.decodeNil() {
            self = .null
        } else if let value = try? single.decode(Bool.self) {
            self = .bool(value)
        } else if let value = try? single.decode(String.self) {
            self = .string(value)
        } else if let value = try? single.decode(Int.self) {
            self = .integer(value)
        } else {
            let value = try single.decode(Double.self)
            if value.rounded() == value, abs(value) < 9e15 {
                self = .integer(Int(value))
            } else {
                self = .number(value)
            }
        }
    }

    var kindName: String {
        switch self {
        case .null: return "null"
        case .bool: return "a boolean"
        case .integer, .number: return "a number"
        case .string: return "a string"
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    var description: String {
        switch self {
        case .null: return "null"
        case .bool(let value): return String(value)
        case .integer(let value): return String(value)
        case .number(let value): return String(value)
        case .string(let value): return "\"\(value)\""
        case .array: return "an array"
        case .object: return "an object"
        }
    }

    private struct AnyKey: CodingKey {
        var stringValue: String
        var intValue: Int? { nil }
        init(stringValue: String) { self.stringValue = stringValue }
        init?(intValue: Int) { nil }
    }
}
