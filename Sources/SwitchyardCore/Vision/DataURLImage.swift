/// Dimensions of the image inside a `data:image/...;base64,<payload>` URL, decoding only as much
/// of the base64 payload as the header needs.
public enum DataURLImage {
    /// The pieces of a data URL, split the way vLLM splits it (RFC 2397:
    /// `data:[<mediatype>][;<param>=<value>]*[;base64],<data>`).
    public struct Parts: Sendable, Equatable {
        /// Up to the first `;`, e.g. `image/jpeg`; possibly empty. vLLM ignores it (the format
        /// is sniffed from the bytes), and so does `dimensions(ofDataURL:)`.
        public var mediaType: Substring
        /// The base64 text after the first `,`.
        public var payload: Substring
    }

    /// Bytes decoded by the first attempt; each further attempt decodes `growthFactor` times more.
    static let initialDecodeBytes = 1024
    static let growthFactor = 8

    /// Whether `url` starts with `data:` (case-insensitive, as vLLM checks it).
    public static func isDataURL(_ url: Substring) -> Bool {
        var utf8 = url.utf8.makeIterator()
        for expected in "data:".utf8 {
            guard let byte = utf8.next(), byte | 0x20 == expected | 0x20 else { return false }
        }
        return true
    }

    /// Splits a data URL into its media type and base64 payload; only base64 data URLs are
    /// accepted (like vLLM).
    public static func parse(_ url: Substring) -> Result<Parts, ImageHeaderError> {
        guard isDataURL(url) else { return .failure(.corrupt("not a data URL")) }
        let afterScheme = url.utf8.index(url.startIndex, offsetBy: 5)
        let rest = url[afterScheme...]
        guard let comma = rest.firstIndex(of: ",") else {
            return .failure(.corrupt("invalid data URL: missing ',' separator"))
        }
        let spec = rest[..<comma]
        guard let lastSemicolon = spec.lastIndex(of: ";"), spec[spec.index(after: lastSemicolon)...] == "base64"
        else { return .failure(.corrupt("only base64 data URLs are supported")) }
        let mediaType = spec[..<(spec.firstIndex(of: ";") ?? lastSemicolon)]
        return .success(Parts(mediaType: mediaType, payload: rest[rest.index(after: comma)...]))
    }

    /// The dimensions of the image in a base64 data URL. Decodes about 1 KB of the payload
    /// first and, while the header is cut short, 8× more each time, up to the whole payload.
    public static func dimensions(ofDataURL url: Substring) -> Result<ImageDimensions, ImageHeaderError> {
        probe(url).result
    }

    /// What `dimensions(ofDataURL:)` did: its answer, how many payload bytes it decoded and in
    /// how many attempts.
    struct Probe {
        var result: Result<ImageDimensions, ImageHeaderError>
        var decodedBytes: Int
        var attempts: Int
    }

    static func probe(_ url: Substring) -> Probe {
        let payload: Substring
        switch parse(url) {
        case .success(let parts): payload = parts.payload
        case .failure(let error): return Probe(result: .failure(error), decodedBytes: 0, attempts: 0)
        }
        var text = payload
        return text.withUTF8 { input in
            var decoder = Base64PrefixDecoder()
            var output: [UInt8] = []
            var limit = initialDecodeBytes
            var attempts = 0
            while true {
                attempts += 1
                output.reserveCapacity(min(limit, input.count / 4 * 3 + 3))
                if case .failure(let error) = decoder.decode(input, into: &output, limit: limit) {
                    return Probe(result: .failure(error), decodedBytes: output.count, attempts: attempts)
                }
                let result = output.withUnsafeBytes { ImageHeader.dimensions($0) }
                if case .failure(.truncated) = result, !decoder.isAtEnd {
                    limit =
                        limit.multipliedReportingOverflow(by: growthFactor).overflow
                        ? Int.max : limit * growthFactor
                    continue
                }
                return Probe(result: result, decodedBytes: output.count, attempts: attempts)
            }
        }
    }
}

/// A resumable decoder of standard base64 (`A–Z a–z 0–9 + /`) that decodes a prefix of its
/// input. Skips `\n` and `\r`; tolerates a missing final padding; anything else is corrupt.
/// Only the part of the input it has consumed is validated.
struct Base64PrefixDecoder {
    /// Input bytes consumed so far.
    private(set) var position = 0
    private(set) var isAtEnd = false
    /// Sextets of the current quantum, most recent in the low bits.
    private var bits: UInt32 = 0
    private var sextets = 0
    /// `=` characters seen; once non-zero only `=` and line breaks may follow.
    private var padding = 0
    /// How many `=` the final quantum may carry: 2 after two sextets, 1 after three.
    private var allowedPadding = 0

    private static let invalid: UInt8 = 0xFF
    private static let skip: UInt8 = 0xFE
    private static let pad: UInt8 = 0xFD

    private static let table: [UInt8] = {
        var table = [UInt8](repeating: invalid, count: 256)
        for (value, character) in "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8.enumerated() {
            table[Int(character)] = UInt8(value)
        }
        table[Int(UInt8(ascii: "\n"))] = skip
        table[Int(UInt8(ascii: "\r"))] = skip
        table[Int(UInt8(ascii: "="))] = pad
        return table
    }()

    /// Decodes from where the previous call stopped until `output` holds at least `limit`
    /// bytes or the input ends. `input` must be the same buffer on every call.
    mutating func decode(
        _ input: UnsafeBufferPointer<UInt8>, into output: inout [UInt8], limit: Int
    ) -> Result<Void, ImageHeaderError> {
        let table = Self.table
        while position < input.count {
            if output.count >= limit { return .success(()) }
            let value = table[Int(input[position])]
            position += 1
            if value < 64 {
                guard padding == 0 else { return .failure(.corrupt("invalid base64: data after the padding")) }
                bits = bits << 6 | UInt32(value)
                sextets += 1
                if sextets == 4 {
                    output.append(UInt8(truncatingIfNeeded: bits >> 16))
                    output.append(UInt8(truncatingIfNeeded: bits >> 8))
                    output.append(UInt8(truncatingIfNeeded: bits))
                    bits = 0
                    sextets = 0
                }
            } else if value == Self.skip {
                continue
            } else if value == Self.pad {
                if padding == 0 {
                    guard sextets >= 2 else { return .failure(.corrupt("invalid base64 padding")) }
                    allowedPadding = 4 - sextets
                    flushPartial(into: &output)
                }
                padding += 1
                guard padding <= allowedPadding else { return .failure(.corrupt("invalid base64 padding")) }
            } else {
                return .failure(.corrupt("invalid base64 character"))
            }
        }
        isAtEnd = true
        if padding == 0 {
            guard sextets != 1 else { return .failure(.corrupt("invalid base64 length")) }
            flushPartial(into: &output)
        }
        return .success(())
    }

    /// Emits the one or two bytes of a final 2- or 3-sextet quantum.
    private mutating func flushPartial(into output: inout [UInt8]) {
        switch sextets {
        case 2:
            output.append(UInt8(truncatingIfNeeded: bits >> 4))
        case 3:
            output.append(UInt8(truncatingIfNeeded: bits >> 10))
            output.append(UInt8(truncatingIfNeeded: bits >> 2))
        default:
            break
        }
        bits = 0
        sextets = 0
    }
}
