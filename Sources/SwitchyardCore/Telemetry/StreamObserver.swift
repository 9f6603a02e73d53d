/// What telemetry needs from one SSE event, or from a whole non-streamed JSON body.
public struct ObservedEvent: Sendable, Equatable {
    /// `choices` is a non-empty array: a content event (vLLM's bench times these).
    public var hasChoices = false
    /// The payload was `[DONE]`.
    public var isDone = false
    /// A non-null top-level `error` member, or `"object":"error"` (vLLM's older flat error).
    public var isError = false
    /// A non-null top-level `usage` object.
    public var hasUsage = false
    public var promptTokens: Int?
    public var completionTokens: Int?

    public init() {}

    /// The trailing usage chunk of `include_usage`: usage and no choices.
    public var isUsageOnly: Bool { hasUsage && !hasChoices }
}

/// Classifies a JSON document's top-level members as its bytes pass, one byte at a time and
/// without buffering: whether `choices` is non-empty, `usage` (with its token counts), `error`.
/// Strings are skipped except the few keys it looks for; nesting is tracked, so a `"usage"` inside
/// a message's content is never mistaken for the member.
public struct JSONMemberWatcher: Sendable {
    public private(set) var result = ObservedEvent()

    private enum Member: UInt8 { case none, choices, usage, error, object, promptTokens, completionTokens }
    private enum StringRole: UInt8 { case skip, key, objectValue }

    private var depth = 0
    /// Bit `d` set: the container at depth `d` is an object (depths beyond 63 are never watched).
    private var objectDepths: UInt64 = 0
    private var inString = false
    private var escaped = false
    private var expectKey = false
    private var role = StringRole.skip
    private var captured = SIMD32<UInt8>()
    private var capturedCount = 0
    private var member = Member.none
    private var awaitingValue = false
    private var awaitingFirstChoice = false
    /// Depth of the `usage` object's members (0: not inside it).
    private var usageDepth = 0
    private var number: Member = .none
    private var numberValue = 0

    public init() {}

    public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        for byte in bytes { consume(byte) }
    }

    @inline(__always)
    mutating func consume(_ byte: UInt8) {
        if inString {
            consumeStringByte(byte)
            return
        }
        if number != .none {
            if byte >= 0x30 && byte <= 0x39 {
                numberValue = numberValue &* 10 &+ Int(byte - 0x30)
                return
            }
            finishNumber()
        }
        switch byte {
        case 0x20, 0x09, 0x0A, 0x0D: return
        default: break
        }
        if awaitingFirstChoice {
            awaitingFirstChoice = false
            result.hasChoices = byte != UInt8(ascii: "]")
        }
        var opensChoices = false
        var opensUsage = false
        if awaitingValue {
            awaitingValue = false
            switch member {
            case .choices: opensChoices = byte == UInt8(ascii: "[")
            case .usage: opensUsage = byte == UInt8(ascii: "{")
            case .error: if byte != UInt8(ascii: "n") { result.isError = true }
            case .promptTokens, .completionTokens:
                if byte >= 0x30 && byte <= 0x39 {
                    number = member
                    numberValue = Int(byte - 0x30)
                    member = .none
                    return
                }
            case .object, .none: break
            }
        }
        switch byte {
        case UInt8(ascii: "{"):
            depth += 1
            if depth > 0 && depth < 64 { objectDepths |= 1 << UInt64(depth) }
            expectKey = true
            if opensUsage {
                usageDepth = depth
                result.hasUsage = true
            }
        case UInt8(ascii: "["):
            if depth == 0 { result.isDone = true }  // `[DONE]`: no chunk is a JSON array
            depth += 1
            if depth > 0 && depth < 64 { objectDepths &= ~(1 << UInt64(depth)) }
            expectKey = false
            awaitingFirstChoice = opensChoices
        case UInt8(ascii: "}"), UInt8(ascii: "]"):
            if depth == usageDepth { usageDepth = 0 }
            depth -= 1
            expectKey = false
        case UInt8(ascii: ","):
            expectKey = depth > 0 && depth < 64 && objectDepths & (1 << UInt64(depth)) != 0
        case UInt8(ascii: ":"):
            awaitingValue = true
            expectKey = false
        case UInt8(ascii: "\""):
            inString = true
            capturedCount = 0
            if expectKey && (depth == 1 || (usageDepth != 0 && depth == usageDepth)) {
                role = .key
            } else if member == .object && depth == 1 {
                role = .objectValue
            } else {
                role = .skip
            }
            if role != .skip { captured = SIMD32() }
            if !expectKey { member = .none }
            expectKey = false
        default:
            break
        }
        if byte != UInt8(ascii: ":") && byte != UInt8(ascii: "\"") { member = .none }
    }

    @inline(__always)
    private mutating func consumeStringByte(_ byte: UInt8) {
        if escaped {
            escaped = false
            capturedCount = 32  // an escaped key or value never matches
            return
        }
        switch byte {
        case UInt8(ascii: "\\"):
            escaped = true
        case UInt8(ascii: "\""):
            inString = false
            endString()
        default:
            if role != .skip && capturedCount < 32 {
                captured[capturedCount] = byte
                capturedCount += 1
            }
        }
    }

    private mutating func endString() {
        switch role {
        case .skip: member = .none
        case .key:
            if depth == 1 {
                member =
                    matches(Self.choices)
                    ? .choices
                    : matches(Self.usage)
                        ? .usage
                        : matches(Self.error) ? .error : matches(Self.object) ? .object : .none
            } else {
                member =
                    matches(Self.promptTokens)
                    ? .promptTokens
                    : matches(Self.completionTokens) ? .completionTokens : .none
            }
        case .objectValue:
            if matches(Self.error) { result.isError = true }
            member = .none
        }
        role = .skip
    }

    private mutating func finishNumber() {
        if number == .promptTokens { result.promptTokens = numberValue }
        if number == .completionTokens { result.completionTokens = numberValue }
        number = .none
    }

    /// Ends the document: a number running to the very end is taken.
    public mutating func finish() {
        if number != .none { finishNumber() }
    }

    private func matches(_ word: (SIMD32<UInt8>, Int)) -> Bool {
        capturedCount == word.1 && captured == word.0
    }

    private static func word(_ text: StaticString) -> (SIMD32<UInt8>, Int) {
        var vector = SIMD32<UInt8>()
        let count = text.utf8CodeUnitCount
        text.withUTF8Buffer { for (index, byte) in $0.enumerated() { vector[index] = byte } }
        return (vector, count)
    }

    private static let choices = word("choices")
    private static let usage = word("usage")
    private static let error = word("error")
    private static let object = word("object")
    private static let promptTokens = word("prompt_tokens")
    private static let completionTokens = word("completion_tokens")
}

/// Finds server-sent events in a byte stream as it passes and classifies each with a
/// `JSONMemberWatcher`: an event is a block of lines with at least one `data:` line, ended by a
/// blank line (`\n\n`, with or without `\r`). Comment-only blocks (`: keep-alive`) are not events.
/// Buffers may split anywhere; nothing is copied or buffered.
public struct SSEObserver: Sendable {
    private enum LineState: UInt8 { case start, field, afterColon, data, ignore }

    private var json = JSONMemberWatcher()
    private var line = LineState.start
    private var fieldMatched = 0
    private var eventHasData = false
    /// The classification of the event `nextEvent` last found.
    public private(set) var lastEvent = ObservedEvent()
    /// Events found so far (comment-only blocks excluded).
    public private(set) var events = 0

    public init() {}

    private static let dataField: [UInt8] = Array("data:".utf8)

    /// Scans from `start` to the end of the next event: returns the offset just past the blank
    /// line that ends it (its classification is then `lastEvent`), or nil when the bytes ran
    /// out first (the state carries over to the next buffer).
    public mutating func nextEvent(in bytes: UnsafeRawBufferPointer, from start: Int) -> Int? {
        var index = start
        let end = bytes.count
        while index < end {
            let byte = bytes[index]
            index += 1
            if byte == 0x0A {
                if line == .start {
                    // A blank line: the block ends here.
                    if eventHasData {
                        json.finish()
                        lastEvent = json.result
                        events += 1
                        json = JSONMemberWatcher()
                        eventHasData = false
                        return index
                    }
                } else {
                    if line == .data { json.consume(byte) }
                    line = .start
                }
                continue
            }
            if byte == 0x0D { continue }
            switch line {
            case .start:
                if byte == UInt8(ascii: "d") {
                    line = .field
                    fieldMatched = 1
                } else {
                    line = .ignore
                }
            case .field:
                if byte == Self.dataField[fieldMatched] {
                    fieldMatched += 1
                    if fieldMatched == Self.dataField.count {
                        line = .afterColon
                        eventHasData = true
                    }
                } else {
                    line = .ignore
                }
            case .afterColon:
                line = .data
                if byte != 0x20 { json.consume(byte) }
            case .data:
                json.consume(byte)
            case .ignore:
                continue
            }
        }
        return nil
    }
}
