/// A validating, single-pass JSON scanner over raw bytes. It checks the whole document's
/// syntax but builds no object tree: the caller is told about top-level members through a
/// visitor, and long strings (base64 images) are skipped with one table lookup per byte.
public struct JSONScanner: ~Copyable {
    public struct SyntaxError: Error, Sendable, Equatable {
        public var offset: Int
        public var expected: String
    }

    /// What a top-level member's value was, for the members a caller wants to read.
    public enum Scalar: Sendable, Equatable {
        case string(String)
        case number(Double, isInteger: Bool)
        case bool(Bool)
        case null
        case object, array
    }

    /// One step of the path to a value at any depth, for the deep visitor.
    public enum PathComponent: Sendable, Hashable {
        case member(String)
        case index(Int)
    }

    /// What the deep visitor is told about each value, at every depth. Strings are not
    /// decoded: the visitor gets the byte range between the quotes (offsets into the scanned
    /// buffer) and whether it contains escape sequences, so long strings are never copied.
    public enum DeepEvent: Sendable, Equatable {
        case objectStart
        case arrayStart
        /// The end of the object or array that started at the same path; `bytes` spans the
        /// whole value, brackets included.
        case containerEnd(bytes: Range<Int>)
        case string(bytes: Range<Int>, hasEscapes: Bool)
        case number(Double, isInteger: Bool)
        case bool(Bool)
        case null
    }

    private let bytes: UnsafeRawBufferPointer
    private var index = 0
    private let maxDepth: Int
    /// Only maintained (and member names only decoded below depth 2) when a deep visitor runs.
    private var deepEnabled = false
    private var deepPath: [PathComponent] = []

    public init(_ bytes: UnsafeRawBufferPointer, maxDepth: Int = 128) {
        self.bytes = bytes
        self.maxDepth = maxDepth
    }

    /// Scans a document whose top level must be an object. `visit(path, value)` is called for
    /// every member at depth 1 (path `["model"]`) and depth 2 (path `["stream_options", "include_usage"]`)
    /// reached through objects only. String values are decoded only for members whose name is in
    /// `decodedStrings`; the rest (prompts, base64 images) are validated and skipped.
    public mutating func scanObject(
        decodedStrings: Set<String>, visit: (_ path: [String], _ value: Scalar) -> Void
    ) throws(SyntaxError) {
        deepEnabled = false
        try scanDocument(decodedStrings: decodedStrings, visit: visit, deep: { _, _ in })
    }

    /// Like `scanObject(decodedStrings:visit:)`, in the same single pass, and also calls
    /// `deep(path, event)` for every value at every depth (the document itself has path `[]`).
    /// Containers get `.objectStart`/`.arrayStart` before their contents and `.containerEnd`
    /// after; `visit` is still called for depth-1/2 members exactly as without `deep`.
    public mutating func scanObject(
        decodedStrings: Set<String>, visit: (_ path: [String], _ value: Scalar) -> Void,
        deep: (_ path: [PathComponent], _ event: DeepEvent) -> Void
    ) throws(SyntaxError) {
        deepEnabled = true
        deepPath = []
        try scanDocument(decodedStrings: decodedStrings, visit: visit, deep: deep)
    }

    private mutating func scanDocument(
        decodedStrings: Set<String>, visit: (_ path: [String], _ value: Scalar) -> Void,
        deep: (_ path: [PathComponent], _ event: DeepEvent) -> Void
    ) throws(SyntaxError) {
        // A UTF-8 byte order mark is tolerated, as Python's json.loads on bytes does.
        if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { index = 3 }
        skipWhitespace()
        guard peek() == UInt8(ascii: "{") else { throw error("a JSON object") }
        var path: [String]? = []
        _ = try scanValue(depth: 1, path: &path, decodedStrings: decodedStrings, visit: visit, deep: deep)
        skipWhitespace()
        guard index == bytes.count else { throw error("the end of the document") }
    }

    // MARK: - Grammar

    /// `path` is nil below the reported levels.
    private mutating func scanValue(
        depth: Int, path: inout [String]?, decodedStrings: Set<String>,
        visit: (_ path: [String], _ value: Scalar) -> Void,
        deep: (_ path: [PathComponent], _ event: DeepEvent) -> Void
    ) throws(SyntaxError) -> Scalar {
        let start = index
        switch peek() {
        case UInt8(ascii: "{"):
            if deepEnabled { deep(deepPath, .objectStart) }
            try scanObjectMembers(
                depth: depth, path: &path, decodedStrings: decodedStrings, visit: visit, deep: deep)
            if deepEnabled { deep(deepPath, .containerEnd(bytes: start..<index)) }
            return .object
        case UInt8(ascii: "["):
            if deepEnabled { deep(deepPath, .arrayStart) }
            try scanArrayElements(depth: depth, decodedStrings: decodedStrings, visit: visit, deep: deep)
            if deepEnabled { deep(deepPath, .containerEnd(bytes: start..<index)) }
            return .array
        case UInt8(ascii: "\""):
            if let name = path?.last, decodedStrings.contains(name) {
                let value = try readString()
                if deepEnabled {
                    let contents = (start + 1)..<(index - 1)
                    let raw = UnsafeRawBufferPointer(rebasing: bytes[contents])
                    deep(deepPath, .string(bytes: contents, hasEscapes: raw.contains(UInt8(ascii: "\\"))))
                }
                return .string(value)
            }
            let hasEscapes = try skipString()
            if deepEnabled { deep(deepPath, .string(bytes: (start + 1)..<(index - 1), hasEscapes: hasEscapes)) }
            return .string("")
        case UInt8(ascii: "t"):
            try expectLiteral("true")
            if deepEnabled { deep(deepPath, .bool(true)) }
            return .bool(true)
        case UInt8(ascii: "f"):
            try expectLiteral("false")
            if deepEnabled { deep(deepPath, .bool(false)) }
            return .bool(false)
        case UInt8(ascii: "n"):
            try expectLiteral("null")
            if deepEnabled { deep(deepPath, .null) }
            return .null
        case UInt8(ascii: "-"), .some(UInt8(ascii: "0")...UInt8(ascii: "9")):
            let number = try readNumber()
            if deepEnabled, case .number(let value, let isInteger) = number {
                deep(deepPath, .number(value, isInteger: isInteger))
            }
            return number
        default:
            throw error("a JSON value")
        }
    }

    private mutating func scanObjectMembers(
        depth: Int, path: inout [String]?, decodedStrings: Set<String>,
        visit: (_ path: [String], _ value: Scalar) -> Void,
        deep: (_ path: [PathComponent], _ event: DeepEvent) -> Void
    ) throws(SyntaxError) {
        guard depth <= maxDepth else { throw error("at most \(maxDepth) levels of nesting") }
        index += 1  // {
        skipWhitespace()
        if peek() == UInt8(ascii: "}") {
            index += 1
            return
        }
        let reportsMembers = (path?.count ?? 2) < 2
        while true {
            skipWhitespace()
            guard peek() == UInt8(ascii: "\"") else { throw error("a member name in double quotes") }
            var memberPath: [String]? = nil
            if reportsMembers {
                let name = try readString()
                memberPath = path! + [name]
                if deepEnabled { deepPath.append(.member(name)) }
            } else if deepEnabled {
                deepPath.append(.member(try readString()))
            } else {
                try skipString()
            }
            skipWhitespace()
            guard peek() == UInt8(ascii: ":") else { throw error("':' after a member name") }
            index += 1
            skipWhitespace()
            let value = try scanValue(
                depth: depth + 1, path: &memberPath, decodedStrings: decodedStrings, visit: visit, deep: deep)
            if deepEnabled { deepPath.removeLast() }
            if let memberPath { visit(memberPath, value) }
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "}"):
                index += 1
                return
            default: throw error("',' or '}' in an object")
            }
        }
    }

    private mutating func scanArrayElements(
        depth: Int, decodedStrings: Set<String>, visit: (_ path: [String], _ value: Scalar) -> Void,
        deep: (_ path: [PathComponent], _ event: DeepEvent) -> Void
    ) throws(SyntaxError) {
        guard depth <= maxDepth else { throw error("at most \(maxDepth) levels of nesting") }
        index += 1  // [
        skipWhitespace()
        if peek() == UInt8(ascii: "]") {
            index += 1
            return
        }
        var unreported: [String]? = nil  // elements are never top-level members
        var position = 0
        while true {
            skipWhitespace()
            if deepEnabled { deepPath.append(.index(position)) }
            _ = try scanValue(
                depth: depth + 1, path: &unreported, decodedStrings: decodedStrings, visit: visit, deep: deep)
            if deepEnabled { deepPath.removeLast() }
            position += 1
            skipWhitespace()
            switch peek() {
            case UInt8(ascii: ","): index += 1
            case UInt8(ascii: "]"):
                index += 1
                return
            default: throw error("',' or ']' in an array")
            }
        }
    }

    // MARK: - Tokens

    private func peek() -> UInt8? { index < bytes.count ? bytes[index] : nil }

    private func error(_ expected: String) -> SyntaxError { SyntaxError(offset: index, expected: expected) }

    private mutating func skipWhitespace() {
        while index < bytes.count {
            switch bytes[index] {
            case 0x20, 0x0A, 0x0D, 0x09: index += 1
            default: return
            }
        }
    }

    private mutating func expectLiteral(_ literal: StaticString) throws(SyntaxError) {
        let count = literal.utf8CodeUnitCount
        guard index + count <= bytes.count else { throw error("\(literal)") }
        let start = literal.utf8Start
        for i in 0..<count where bytes[index + i] != start[i] { throw error("\(literal)") }
        index += count
    }

    private mutating func readNumber() throws(SyntaxError) -> Scalar {
        let start = index
        var isInteger = true
        if peek() == UInt8(ascii: "-") { index += 1 }
        guard let first = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(first) else {
            throw error("a digit")
        }
        if first == UInt8(ascii: "0") {
            index += 1
        } else {
            skipDigits()
        }
        if peek() == UInt8(ascii: ".") {
            isInteger = false
            index += 1
            guard skipDigits() > 0 else { throw error("a digit after '.'") }
        }
        if peek() == UInt8(ascii: "e") || peek() == UInt8(ascii: "E") {
            isInteger = false
            index += 1
            if peek() == UInt8(ascii: "+") || peek() == UInt8(ascii: "-") { index += 1 }
            guard skipDigits() > 0 else { throw error("a digit in the exponent") }
        }
        let text = String(decoding: UnsafeRawBufferPointer(rebasing: bytes[start..<index]), as: UTF8.self)
        return .number(Double(text) ?? .nan, isInteger: isInteger)
    }

    @discardableResult
    private mutating func skipDigits() -> Int {
        let start = index
        while let b = peek(), (UInt8(ascii: "0")...UInt8(ascii: "9")).contains(b) { index += 1 }
        return index - start
    }

    /// The hot loop for base64 images: one table lookup per byte until a quote, a backslash,
    /// a control character (invalid in JSON strings) or a non-ASCII byte (validated as UTF-8).
    /// Returns whether the string contained an escape sequence.
    @discardableResult
    private mutating func skipString() throws(SyntaxError) -> Bool {
        index += 1  // opening quote
        var hasEscapes = false
        while true {
            while index < bytes.count && !JSONScanner.stops[Int(bytes[index])] { index += 1 }
            guard index < bytes.count else { throw error("the end of a string") }
            switch bytes[index] {
            case UInt8(ascii: "\""):
                index += 1
                return hasEscapes
            case UInt8(ascii: "\\"):
                hasEscapes = true
                try skipEscape()
            case 0x80...:
                try skipUTF8Sequence()
            default:
                throw error("no raw control characters in a string")
            }
        }
    }

    /// One multi-byte UTF-8 sequence, rejecting overlong forms, surrogates and values past U+10FFFF.
    private mutating func skipUTF8Sequence() throws(SyntaxError) {
        let lead = bytes[index]
        let length: Int
        var secondRange: ClosedRange<UInt8> = 0x80...0xBF
        switch lead {
        case 0xC2...0xDF: length = 2
        case 0xE0: (length, secondRange) = (3, 0xA0...0xBF)
        case 0xED: (length, secondRange) = (3, 0x80...0x9F)
        case 0xE1...0xEF: length = 3
        case 0xF0: (length, secondRange) = (4, 0x90...0xBF)
        case 0xF4: (length, secondRange) = (4, 0x80...0x8F)
        case 0xF1...0xF3: length = 4
        default: throw error("valid UTF-8")
        }
        guard index + length <= bytes.count, secondRange.contains(bytes[index + 1]) else {
            throw error("valid UTF-8")
        }
        for offset in 2..<length where !(0x80...0xBF).contains(bytes[index + offset]) {
            throw error("valid UTF-8")
        }
        index += length
    }

    private mutating func skipEscape() throws(SyntaxError) {
        index += 1
        guard let escaped = peek() else { throw error("an escape sequence") }
        switch escaped {
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"), UInt8(ascii: "b"),
            UInt8(ascii: "f"), UInt8(ascii: "n"), UInt8(ascii: "r"), UInt8(ascii: "t"):
            index += 1
        case UInt8(ascii: "u"):
            index += 1
            _ = try readHex4()
        default:
            throw error("a valid escape sequence")
        }
    }

    private mutating func readHex4() throws(SyntaxError) -> UInt32 {
        guard index + 4 <= bytes.count else { throw error("four hex digits") }
        var value: UInt32 = 0
        for _ in 0..<4 {
            let b = bytes[index]
            let digit: UInt8
            switch b {
            case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = b - UInt8(ascii: "0")
            case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = b - UInt8(ascii: "a") + 10
            case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = b - UInt8(ascii: "A") + 10
            default: throw error("four hex digits")
            }
            value = value << 4 | UInt32(digit)
            index += 1
        }
        return value
    }

    /// Decodes a string (with escapes). Only used for member names and reported values.
    private mutating func readString() throws(SyntaxError) -> String {
        let start = index + 1
        try skipString()
        let raw = UnsafeRawBufferPointer(rebasing: bytes[start..<(index - 1)])
        if !raw.contains(UInt8(ascii: "\\")) {
            return String(decoding: raw, as: UTF8.self)
        }
        var scanner = JSONScanner(raw)
        return scanner.unescape()
    }

    /// Decodes the contents of a string the scanner has validated (the bytes between the
    /// quotes, as reported by a `.string` deep event).
    static func decodeValidatedString(_ raw: UnsafeRawBufferPointer) -> String {
        if !raw.contains(UInt8(ascii: "\\")) { return String(decoding: raw, as: UTF8.self) }
        var scanner = JSONScanner(raw)
        return scanner.unescape()
    }

    /// Called on a validated string's contents.
    private mutating func unescape() -> String {
        var utf8: [UInt8] = []
        utf8.reserveCapacity(bytes.count)
        var pendingHighSurrogate: UInt32?
        func append(scalar: UInt32) {
            let s = Unicode.Scalar(scalar) ?? "\u{FFFD}"
            utf8.append(contentsOf: Array(String(Character(s)).utf8))
        }
        while index < bytes.count {
            let b = bytes[index]
            guard b == UInt8(ascii: "\\") else {
                if let high = pendingHighSurrogate {
                    append(scalar: high)
                    pendingHighSurrogate = nil
                }
                utf8.append(b)
                index += 1
                continue
            }
            index += 1
            let e = bytes[index]
            index += 1
            var code: UInt32
            switch e {
            case UInt8(ascii: "b"): code = 0x08
            case UInt8(ascii: "f"): code = 0x0C
            case UInt8(ascii: "n"): code = 0x0A
            case UInt8(ascii: "r"): code = 0x0D
            case UInt8(ascii: "t"): code = 0x09
            case UInt8(ascii: "u"): code = (try? readHex4()) ?? 0xFFFD
            default: code = UInt32(e)
            }
            if let high = pendingHighSurrogate {
                pendingHighSurrogate = nil
                if (0xDC00...0xDFFF).contains(code) {
                    code = 0x10000 + ((high - 0xD800) << 10) + (code - 0xDC00)
                } else {
                    append(scalar: 0xFFFD)
                }
            }
            if (0xD800...0xDBFF).contains(code) {
                pendingHighSurrogate = code
            } else {
                append(scalar: code)
            }
        }
        if pendingHighSurrogate != nil { append(scalar: 0xFFFD) }
        return String(decoding: utf8, as: UTF8.self)
    }

    /// Bytes that end a run of ordinary string content: `"`, `\`, control characters and the
    /// first byte of every non-ASCII sequence.
    private static let stops: [Bool] = (0..<256).map { $0 < 0x20 || $0 == 0x22 || $0 == 0x5C || $0 >= 0x80 }
}
