import Foundation

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
    /// The string being captured, packed little-endian into three words (up to 24 bytes).
    private var captured = PackedWord()
    private var capturedCount = 0
    private var member = Member.none
    private var awaitingValue = false
    private var awaitingFirstChoice = false
    /// Depth of the `usage` object's members (0: not inside it).
    private var usageDepth = 0
    private var number: Member = .none
    private var numberValue = 0

    public init() {}

    /// True once `choices` proved non-empty: a content event, classified. The SSE observer skips
    /// the rest of such an event (usage and errors never share an event with content; with
    /// `include_usage` the totals come in a trailing event of their own).
    public private(set) var settled = false

    public mutating func consume(_ bytes: UnsafeRawBufferPointer) {
        consume(bytes, from: 0, to: bytes.count, stopWhenSettled: false)
    }

    /// Consumes `bytes[from..<to]`, or up to the byte that settles the classification.
    @inline(__always)
    mutating func consume(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int, stopWhenSettled: Bool) {
        var index = from
        while index < to {
            if inString && !escaped {
                // Inside a string: straight to its closing quote or an escape. A string that is
                // read (a key, or the value of `object`) is packed on the way.
                let start = index
                while index < to {
                    let byte = bytes[index]
                    if byte == UInt8(ascii: "\"") || byte == UInt8(ascii: "\\") { break }
                    index += 1
                }
                if role != .skip {
                    if capturedCount + index - start > Self.longestWord {
                        role = .skip  // longer than every word looked for
                    } else {
                        for offset in start..<index {
                            captured.append(bytes[offset], at: capturedCount + offset - start)
                        }
                        capturedCount += index - start
                    }
                }
                if index == to { return }
            } else if number == .none && !inString && !awaitingValue && !awaitingFirstChoice {
                // The rest of a number nobody reads (`created`). One by one, each of these digits
                // would only have cleared `member`; so does the run, or a key followed by digits
                // (`"usage"6:{`, not JSON) would count or not depending on where a buffer ends.
                let start = index
                while index < to && bytes[index] >= 0x30 && bytes[index] <= 0x39 { index += 1 }
                if index > start { member = .none }
                if index == to { return }
            }
            consume(bytes[index])
            index += 1
            if stopWhenSettled && settled { return }
        }
    }

    @inline(__always)
    mutating func consume(_ byte: UInt8) {
        if inString {
            consumeStringByte(byte)
            return
        }
        if number != .none {
            if byte >= 0x30 && byte <= 0x39 {
                // Saturates just past the largest count taken, so it can never wrap.
                numberValue = min(numberValue * 10 + Int(byte - 0x30), Self.maxTokenCount + 1)
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
            settled = result.hasChoices
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
            if role != .skip { captured = PackedWord() }
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
            if role == .skip {
                member = .none
            } else {
                endString()
            }
        default:
            if role != .skip {
                if capturedCount < Self.longestWord {
                    captured.append(byte, at: capturedCount)
                    capturedCount += 1
                } else {
                    // Longer than every word looked for: skip the rest of it fast.
                    role = .skip
                }
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
        // A count past `maxTokenCount` (a broken or hostile upstream) is ignored, not wrapped or
        // clamped: telemetry sums these counts, and a wrapped one went negative or overflowed them.
        if numberValue <= Self.maxTokenCount {
            if number == .promptTokens { result.promptTokens = numberValue }
            if number == .completionTokens { result.completionTokens = numberValue }
        }
        number = .none
    }

    /// The largest `prompt_tokens`/`completion_tokens` taken (2³² − 1); larger counts are ignored.
    static let maxTokenCount = Int(UInt32.max)

    /// Ends the document: a number running to the very end is taken.
    public mutating func finish() {
        if number != .none { finishNumber() }
    }

    private func matches(_ word: (PackedWord, Int)) -> Bool {
        capturedCount == word.1 && captured == word.0
    }

    private static func word(_ text: StaticString) -> (PackedWord, Int) {
        var packed = PackedWord()
        let count = text.utf8CodeUnitCount
        text.withUTF8Buffer { for (index, byte) in $0.enumerated() { packed.append(byte, at: index) } }
        return (packed, count)
    }

    /// "completion_tokens".
    private static let longestWord = 17
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
                // The rest of the line at once: to its end, or less once the event is settled.
                let lineEnd = Self.lineEnd(bytes, from: index, to: end)
                if !json.settled {
                    json.consume(byte)
                    json.consume(bytes, from: index, to: lineEnd, stopWhenSettled: true)
                }
                index = lineEnd
            case .ignore:
                index = Self.lineEnd(bytes, from: index, to: end)
            }
        }
        return nil
    }

    /// The index of the next `\n` at or after `from`, or `to`.
    @inline(__always)
    static func lineEnd(_ bytes: UnsafeRawBufferPointer, from: Int, to: Int) -> Int {
        guard from < to, let base = bytes.baseAddress,
            let found = memchr(base + from, 0x0A, to - from)
        else { return to }
        return base.distance(to: UnsafeRawPointer(found))
    }
}

/// Up to 24 bytes packed into three words: appending a byte is a shift and an or.
struct PackedWord: Sendable, Equatable {
    var low: UInt64 = 0
    var middle: UInt64 = 0
    var high: UInt64 = 0

    @inline(__always)
    mutating func append(_ byte: UInt8, at index: Int) {
        let bits = UInt64(byte) << UInt64((index & 7) * 8)
        switch index >> 3 {
        case 0: low |= bits
        case 1: middle |= bits
        default: high |= bits
        }
    }
}
