import Foundation

/// The few pieces of Python's string formatting the vLLM report relies on.
enum PythonFormat {
    /// `"{:<width}".format(text)`: left-aligned, padded with spaces, never truncated.
    static func leftAligned(_ text: String, _ width: Int) -> String {
        let count = text.count
        return count >= width ? text : text + String(repeating: " ", count: width - count)
    }

    /// `"{s:{c}^{n}}".format(...)`: centered; the odd fill character goes on the right.
    static func centered(_ text: String, width: Int, fill: Character) -> String {
        let padding = width - text.count
        guard padding > 0 else { return text }
        let left = padding / 2
        return String(repeating: fill, count: left) + text + String(repeating: fill, count: padding - left)
    }

    /// `"{:.2f}".format(value)`, including Python's `inf`, `-inf` and `nan`.
    static func fixed2(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        return String(format: "%.2f", value)
    }

    /// `repr(value)` for a finite float: the shortest round-tripping digits, in positional
    /// notation when the decimal exponent is in [-4, 16), else `d.ddde±XX`.
    static func repr(_ value: Double) -> String {
        if value.isNaN { return "nan" }
        if value.isInfinite { return value < 0 ? "-inf" : "inf" }
        // Swift's description has the same shortest round-trip digits; only the layout differs.
        var text = Substring(value.description)
        var sign = ""
        if text.first == "-" {
            sign = "-"
            text.removeFirst()
        }
        var exponent = 0
        if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            exponent = Int(text[text.index(after: e)...]) ?? 0
            text = text[..<e]
        }
        let integerPart: Substring
        let fractionPart: Substring
        if let dot = text.firstIndex(of: ".") {
            integerPart = text[..<dot]
            fractionPart = text[text.index(after: dot)...]
        } else {
            integerPart = text
            fractionPart = ""
        }
        var digits = Array(integerPart + fractionPart)
        // The decimal point sits after `point` digits.
        var point = integerPart.count + exponent
        while digits.first == "0" {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        if digits.isEmpty { return sign + "0.0" }

        if point <= -4 || point > 16 {
            let mantissa = digits.count == 1 ? String(digits[0]) : String(digits[0]) + "." + String(digits[1...])
            let power = point - 1
            let magnitude = String(abs(power))
            return sign + mantissa + "e" + (power < 0 ? "-" : "+") + (magnitude.count < 2 ? "0" : "") + magnitude
        }
        if point <= 0 {
            return sign + "0." + String(repeating: "0", count: -point) + String(digits)
        }
        if point >= digits.count {
            return sign + String(digits) + String(repeating: "0", count: point - digits.count) + ".0"
        }
        return sign + String(digits[..<point]) + "." + String(digits[point...])
    }

    /// vLLM's percentile label: `str(int(p)) if int(p) == p else str(p)`.
    static func percentileWord(_ p: Double) -> String {
        if p.isFinite, p == p.rounded(.towardZero), abs(p) < 1e18 { return String(Int(p)) }
        return repr(p)
    }
}

/// A JSON value whose objects keep their key order, written like Python's `json.dump`
/// (`", "` and `": "` separators, ASCII only). Non-finite numbers become `null`.
public enum OrderedJSON: Sendable {
    case null
    case bool(Bool)
    case int(Int)
    case double(Double)
    case string(String)
    case array([OrderedJSON])
    case object([(String, OrderedJSON)])

    static func optional(_ value: Double?) -> OrderedJSON { value.map { .double($0) } ?? .null }
    static func optional(_ value: Int?) -> OrderedJSON { value.map { .int($0) } ?? .null }
    static func optional(_ value: String?) -> OrderedJSON { value.map { .string($0) } ?? .null }

    var serialized: String {
        var output = ""
        write(to: &output, compact: false)
        return output
    }

    /// Without spaces after separators (one log line per object).
    var compactSerialized: String {
        var output = ""
        write(to: &output, compact: true)
        return output
    }

    func write(to output: inout String, compact: Bool) {
        let comma = compact ? "," : ", "
        let colon = compact ? ":" : ": "
        switch self {
        case .null: output += "null"
        case .bool(let value): output += value ? "true" : "false"
        case .int(let value): output += String(value)
        case .double(let value): output += value.isFinite ? PythonFormat.repr(value) : "null"
        case .string(let value): Self.writeString(value, to: &output)
        case .array(let values):
            output += "["
            for (index, value) in values.enumerated() {
                if index > 0 { output += comma }
                value.write(to: &output, compact: compact)
            }
            output += "]"
        case .object(let members):
            output += "{"
            for (index, (key, value)) in members.enumerated() {
                if index > 0 { output += comma }
                Self.writeString(key, to: &output)
                output += colon
                value.write(to: &output, compact: compact)
            }
            output += "}"
        }
    }

    private static func writeString(_ text: String, to output: inout String) {
        output += "\""
        for unit in text.utf16 {
            switch unit {
            case 0x22: output += "\\\""
            case 0x5C: output += "\\\\"
            case 0x0A: output += "\\n"
            case 0x0D: output += "\\r"
            case 0x09: output += "\\t"
            case 0x08: output += "\\b"
            case 0x0C: output += "\\f"
            case 0x20..<0x7F: output.unicodeScalars.append(Unicode.Scalar(UInt8(unit)))
            default:
                let hex = String(unit, radix: 16)
                output += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            }
        }
        output += "\""
    }
}
