/// The two rewrites Switchyard makes to a request body, both documented: removing `priority` for
/// backends without priority scheduling, and lowering the output budget in `clamp` admission.
/// They run on bodies already validated by the scanner, touch only top-level members, and copy
/// the body once (they are off the common path: most requests are forwarded untouched).
public enum BodyRewrite {
    /// A top-level member: `member` spans from its name's opening quote to the end of its value.
    public struct Member: Sendable, Equatable {
        public var name: String
        public var member: Range<Int>
        public var value: Range<Int>
    }

    /// The top-level members of a valid JSON object, in order.
    public static func members(_ body: UnsafeRawBufferPointer) -> [Member] {
        var cursor = Cursor(bytes: body)
        cursor.skipBOMAndWhitespace()
        guard cursor.peek == UInt8(ascii: "{") else { return [] }
        cursor.index += 1
        var members: [Member] = []
        while true {
            cursor.skipWhitespace()
            guard cursor.peek == UInt8(ascii: "\"") else { return members }
            let nameStart = cursor.index
            cursor.skipString()
            let rawName = UnsafeRawBufferPointer(rebasing: body[(nameStart + 1)..<(cursor.index - 1)])
            let name = JSONScanner.decodeValidatedString(rawName)
            cursor.skipWhitespace()
            cursor.index += 1  // :
            cursor.skipWhitespace()
            let valueStart = cursor.index
            cursor.skipValue()
            members.append(Member(name: name, member: nameStart..<cursor.index, value: valueStart..<cursor.index))
            cursor.skipWhitespace()
            guard cursor.peek == UInt8(ascii: ",") else { return members }
            cursor.index += 1
        }
    }

    /// The body with the named top-level members removed and others' values replaced by integers.
    /// Replacements of members that are absent are not added; `appending` members (name, raw
    /// JSON value) are added at the end of the object.
    public static func rewrite(
        _ body: UnsafeRawBufferPointer, removing: Set<String>, settingIntegers: [String: Int],
        appending: [(name: String, rawJSON: String)] = []
    ) -> [UInt8] {
        let all = members(body)
        var cuts: [(range: Range<Int>, replacement: [UInt8])] = []
        for (position, member) in all.enumerated() {
            if removing.contains(member.name) {
                // Take the comma after it while a kept member follows; in the trailing run of
                // removed members (`…,"b":1,"b":2}`), the one before it, so the cuts stay disjoint.
                var range = member.member
                if all[(position + 1)...].contains(where: { !removing.contains($0.name) }) {
                    range = member.member.lowerBound..<all[position + 1].member.lowerBound
                } else if position > 0 {
                    range = all[position - 1].member.upperBound..<member.member.upperBound
                }
                cuts.append((range, []))
            } else if let value = settingIntegers[member.name] {
                cuts.append((member.value, Array(String(value).utf8)))
            }
        }
        var out: [UInt8] = []
        out.reserveCapacity(body.count)
        var done = 0
        for cut in cuts.sorted(by: { $0.range.lowerBound < $1.range.lowerBound }) where cut.range.lowerBound >= done {
            out.append(contentsOf: body[done..<cut.range.lowerBound])
            out.append(contentsOf: cut.replacement)
            done = cut.range.upperBound
        }
        out.append(contentsOf: body[done...])
        if !appending.isEmpty, let close = out.lastIndex(of: UInt8(ascii: "}")) {
            var keptMembers = all.contains { !removing.contains($0.name) }
            var added: [UInt8] = []
            for member in appending {
                if keptMembers { added.append(UInt8(ascii: ",")) }
                added += Array("\"\(member.name)\":\(member.rawJSON)".utf8)
                keptMembers = true
            }
            out.insert(contentsOf: added, at: close)
        }
        return out
    }

    private struct Cursor {
        let bytes: UnsafeRawBufferPointer
        var index = 0

        var peek: UInt8? { index < bytes.count ? bytes[index] : nil }

        mutating func skipBOMAndWhitespace() {
            if bytes.count >= 3 && bytes[0] == 0xEF && bytes[1] == 0xBB && bytes[2] == 0xBF { index = 3 }
            skipWhitespace()
        }

        mutating func skipWhitespace() {
            while let byte = peek, byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D { index += 1 }
        }

        /// At an opening quote: moves past the closing one.
        mutating func skipString() {
            index += 1
            while let byte = peek {
                index += 1
                if byte == UInt8(ascii: "\\") {
                    index += 1
                } else if byte == UInt8(ascii: "\"") {
                    return
                }
            }
        }

        /// Moves past one value (the document is known to be valid).
        mutating func skipValue() {
            var depth = 0
            while let byte = peek {
                switch byte {
                case UInt8(ascii: "\""):
                    skipString()
                    if depth == 0 { return }
                    continue
                case UInt8(ascii: "{"), UInt8(ascii: "["):
                    depth += 1
                case UInt8(ascii: "}"), UInt8(ascii: "]"):
                    if depth == 0 { return }
                    depth -= 1
                    if depth == 0 {
                        index += 1
                        return
                    }
                case UInt8(ascii: ","):
                    if depth == 0 { return }
                case 0x20, 0x09, 0x0A, 0x0D:
                    if depth == 0 { return }
                default: break
                }
                index += 1
            }
        }
    }
}
