import Foundation
import Testing

@testable import SwitchyardCore

/// Runs `RequestInspector.inspect` over the UTF-8 bytes of `text`.
func inspect(_ text: String) -> Result<RequestSummary, OpenAIError> {
    inspect(bytes: Array(text.utf8))
}

func inspect(bytes: [UInt8]) -> Result<RequestSummary, OpenAIError> {
    bytes.withUnsafeBytes { RequestInspector.inspect($0) }
}

func modelName(in text: String) -> String? {
    Array(text.utf8).withUnsafeBytes { RequestInspector.model(in: $0) }
}

/// The success value, or nil (recording an issue) on failure.
func summary(
    _ text: String, sourceLocation: SourceLocation = #_sourceLocation
) -> RequestSummary? {
    switch inspect(text) {
    case .success(let summary): return summary
    case .failure(let error):
        Issue.record("expected a valid body, got \(error.message)", sourceLocation: sourceLocation)
        return nil
    }
}

/// The failure value, or nil (recording an issue) on success.
func failure(
    bytes: [UInt8], sourceLocation: SourceLocation = #_sourceLocation
) -> OpenAIError? {
    switch inspect(bytes: bytes) {
    case .success(let summary):
        Issue.record("expected a 400, got \(summary)", sourceLocation: sourceLocation)
        return nil
    case .failure(let error): return error
    }
}

/// `{"a":` … nested containers … `}`: a document whose deepest container is at `depth`
/// (the top-level object counts as depth 1). Alternates objects and arrays below the top.
func nestedDocument(depth: Int, arrays: Bool) -> [UInt8] {
    precondition(depth >= 1)
    var open = "{\"a\":"
    var close = "}"
    for level in stride(from: 2, through: depth, by: 1) {
        if arrays && level % 2 == 0 {
            open += "["
            close = "]" + close
        } else {
            open += "{\"a\":"
            close = "}" + close
        }
    }
    // Innermost value: a scalar, so the deepest container above holds something.
    return Array((open + "1" + close).utf8)
}

/// A card as the parser would build it, with a minimal JSON form.
func card(_ id: String, maxModelLen: Int? = nil, tag: String = "") -> ModelCard {
    var json = "{\"id\":\(JSONString.quoted(id))"
    if let maxModelLen { json += ",\"max_model_len\":\(maxModelLen)" }
    if !tag.isEmpty { json += ",\"tag\":\(JSONString.quoted(tag))" }
    return ModelCard(id: id, maxModelLen: maxModelLen, json: json + "}")
}

func jsonObject(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any]? {
    let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any]
    if object == nil { Issue.record("not a JSON object: \(text.prefix(200))", sourceLocation: sourceLocation) }
    return object
}

/// A generator that replays fixed values, to pin `makeRequestID`'s formatting.
struct ReplayGenerator: RandomNumberGenerator {
    var values: [UInt64]
    var position = 0
    mutating func next() -> UInt64 {
        defer { position += 1 }
        return values[position % values.count]
    }
}
