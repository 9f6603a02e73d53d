/// The image container formats whose dimensions Switchyard reads from the header.
public enum ImageFormat: String, Sendable {
    case jpeg, png, gif, webp
}

/// Width and height in pixels as stored in the file (before any EXIF orientation is applied;
/// the GLM token count is symmetric in width and height, so orientation does not change it).
public struct ImageDimensions: Sendable, Equatable {
    public var width: Int
    public var height: Int
    public var format: ImageFormat

    public init(width: Int, height: Int, format: ImageFormat) {
        self.width = width
        self.height = height
        self.format = format
    }
}

/// Why the dimensions could not be read. `truncated` means "a longer prefix may still succeed".
public enum ImageHeaderError: Error, Equatable, CustomStringConvertible {
    case truncated
    case unsupportedFormat
    case corrupt(String)

    public var description: String {
        switch self {
        case .truncated: "the image data is truncated before its dimensions"
        case .unsupportedFormat: "the image is not JPEG, PNG, GIF or WebP"
        case .corrupt(let reason): "the image is corrupt: \(reason)"
        }
    }
}

/// Reads image dimensions from the first bytes of a JPEG, PNG, GIF or WebP file, without
/// decoding pixels. Reads only as far as the dimensions; a prefix that ends before them gives
/// `.truncated`, so a caller can retry with more bytes.
public enum ImageHeader {
    public static func dimensions(_ bytes: UnsafeRawBufferPointer) -> Result<ImageDimensions, ImageHeaderError> {
        let reader = ByteReader(bytes)
        switch sniff(reader) {
        case .failure(let error): return .failure(error)
        case .success(.jpeg): return jpeg(reader)
        case .success(.png): return png(reader)
        case .success(.gif): return gif(reader)
        case .success(.webp): return webp(reader)
        }
    }

    // MARK: - Format detection

    private static let jpegSignature: [UInt8] = [0xFF, 0xD8, 0xFF]
    private static let pngSignature: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    private static let gif87: [UInt8] = Array("GIF87a".utf8)
    private static let gif89: [UInt8] = Array("GIF89a".utf8)
    private static let riff: [UInt8] = Array("RIFF".utf8)
    private static let webpTag: [UInt8] = Array("WEBP".utf8)

    /// The format whose signature the bytes carry; `.truncated` while the available bytes are
    /// still a prefix of some signature.
    private static func sniff(_ reader: ByteReader) -> Result<ImageFormat, ImageHeaderError> {
        var undecided = false
        func check(_ signature: [UInt8], at offset: Int = 0) -> Bool {
            switch reader.matches(signature, at: offset) {
            case .some(true): return true
            case .some(false): return false
            case .none:
                undecided = true
                return false
            }
        }
        if check(jpegSignature) { return .success(.jpeg) }
        if check(pngSignature) { return .success(.png) }
        if check(gif87) || check(gif89) { return .success(.gif) }
        if check(riff) {
            if check(webpTag, at: 8) { return .success(.webp) }
        }
        return .failure(undecided ? .truncated : .unsupportedFormat)
    }

    // MARK: - JPEG

    /// Walks the marker segments from SOI, skipping each by its length (so an EXIF thumbnail
    /// inside APP1 is never looked at), until the first SOFn. Mirrors Pillow's tolerance: fill
    /// bytes 0xFF, stuffed 0xFF00 and non-0xFF junk between segments are skipped.
    private static func jpeg(_ reader: ByteReader) -> Result<ImageDimensions, ImageHeaderError> {
        var offset = 2  // after SOI
        while true {
            guard let byte = reader.u8(offset) else { return .failure(.truncated) }
            guard byte == 0xFF else {
                offset += 1  // junk between segments
                continue
            }
            guard let marker = reader.u8(offset + 1) else { return .failure(.truncated) }
            switch marker {
            case 0xFF:
                offset += 1  // fill byte
                continue
            case 0x00, 0x01, 0xD0...0xD8:
                offset += 2  // stuffed zero, TEM, RSTn, SOI: no length
                continue
            case 0xD9:
                return .failure(.corrupt("the JPEG ends before its frame header"))
            case 0xDA:
                return .failure(.corrupt("the JPEG scan starts before its frame header"))
            case 0x02...0xBF:
                return .failure(.corrupt("invalid JPEG marker"))
            default:
                break
            }
            guard let length = reader.u16be(offset + 2) else { return .failure(.truncated) }
            guard length >= 2 else { return .failure(.corrupt("invalid JPEG segment length")) }
            if isStartOfFrame(marker) {
                guard length >= 8 else { return .failure(.corrupt("the JPEG frame header is too short")) }
                guard let precision = reader.u8(offset + 4), let height = reader.u16be(offset + 5),
                    let width = reader.u16be(offset + 7), let components = reader.u8(offset + 9)
                else { return .failure(.truncated) }
                // Pillow (which vLLM decodes with) refuses anything else.
                guard precision == 8 else {
                    return .failure(.corrupt("cannot handle \(precision)-bit JPEG samples"))
                }
                guard components == 1 || components == 3 || components == 4 else {
                    return .failure(.corrupt("cannot handle \(components)-component JPEG images"))
                }
                guard height > 0 else {
                    return .failure(.corrupt("the JPEG height is defined by a DNL marker, which is not supported"))
                }
                guard width > 0 else { return .failure(.corrupt("the JPEG width is zero")) }
                return .success(ImageDimensions(width: width, height: height, format: .jpeg))
            }
            offset += 2 + length
        }
    }

    /// SOF0–3, 5–7, 9–11, 13–15; not DHT (C4), JPG (C8) or DAC (CC).
    private static func isStartOfFrame(_ marker: UInt8) -> Bool {
        (0xC0...0xCF).contains(marker) && marker != 0xC4 && marker != 0xC8 && marker != 0xCC
    }

    // MARK: - PNG

    private static func png(_ reader: ByteReader) -> Result<ImageDimensions, ImageHeaderError> {
        guard let chunkType = reader.u32be(12) else { return .failure(.truncated) }
        guard chunkType == 0x4948_4452 else {  // "IHDR"
            return .failure(.corrupt("the PNG does not start with an IHDR chunk"))
        }
        guard let width = reader.u32be(16), let height = reader.u32be(20) else { return .failure(.truncated) }
        guard width > 0, height > 0 else { return .failure(.corrupt("the PNG width or height is zero")) }
        guard width <= 0x7FFF_FFFF, height <= 0x7FFF_FFFF else {
            return .failure(.corrupt("the PNG width or height is out of range"))
        }
        return .success(ImageDimensions(width: width, height: height, format: .png))
    }

    // MARK: - GIF

    private static func gif(_ reader: ByteReader) -> Result<ImageDimensions, ImageHeaderError> {
        guard let width = reader.u16le(6), let height = reader.u16le(8) else { return .failure(.truncated) }
        guard width > 0, height > 0 else { return .failure(.corrupt("the GIF width or height is zero")) }
        return .success(ImageDimensions(width: width, height: height, format: .gif))
    }

    // MARK: - WebP

    private static func webp(_ reader: ByteReader) -> Result<ImageDimensions, ImageHeaderError> {
        guard let chunk = reader.u32be(12) else { return .failure(.truncated) }
        let payload = 20  // after the chunk FourCC and its 32-bit size
        let width: Int
        let height: Int
        switch chunk {
        case 0x5650_3820:  // "VP8 ": lossy
            guard let tag = reader.u8(payload) else { return .failure(.truncated) }
            guard tag & 1 == 0 else { return .failure(.corrupt("the WebP VP8 frame is not a key frame")) }
            guard let startCode = reader.u24be(payload + 3) else { return .failure(.truncated) }
            guard startCode == 0x9D_012A else { return .failure(.corrupt("the WebP VP8 start code is missing")) }
            guard let w = reader.u16le(payload + 6), let h = reader.u16le(payload + 8) else {
                return .failure(.truncated)
            }
            width = w & 0x3FFF
            height = h & 0x3FFF
        case 0x5650_384C:  // "VP8L": lossless
            guard let signature = reader.u8(payload) else { return .failure(.truncated) }
            guard signature == 0x2F else { return .failure(.corrupt("the WebP VP8L signature is missing")) }
            guard let bits = reader.u32le(payload + 1) else { return .failure(.truncated) }
            width = (bits & 0x3FFF) + 1
            height = ((bits >> 14) & 0x3FFF) + 1
        case 0x5650_3858:  // "VP8X": extended
            guard let w = reader.u24le(payload + 4), let h = reader.u24le(payload + 7) else {
                return .failure(.truncated)
            }
            width = w + 1
            height = h + 1
        default:
            return .failure(.corrupt("unknown WebP chunk"))
        }
        guard width > 0, height > 0 else { return .failure(.corrupt("the WebP width or height is zero")) }
        return .success(ImageDimensions(width: width, height: height, format: .webp))
    }
}

/// Bounds-checked big/little-endian reads; nil past the end.
private struct ByteReader {
    let bytes: UnsafeRawBufferPointer

    init(_ bytes: UnsafeRawBufferPointer) { self.bytes = bytes }

    @inline(__always)
    func u8(_ offset: Int) -> UInt8? {
        offset >= 0 && offset < bytes.count ? bytes[offset] : nil
    }

    /// `count` bytes from `offset`, most significant first (`bigEndian`) or last.
    @inline(__always)
    private func integer(_ offset: Int, count: Int, bigEndian: Bool) -> Int? {
        guard offset >= 0, offset <= bytes.count - count else { return nil }
        var value = 0
        for index in 0..<count {
            let byte = Int(bytes[offset + (bigEndian ? index : count - 1 - index)])
            value = value << 8 | byte
        }
        return value
    }

    func u16be(_ offset: Int) -> Int? { integer(offset, count: 2, bigEndian: true) }
    func u24be(_ offset: Int) -> Int? { integer(offset, count: 3, bigEndian: true) }
    func u32be(_ offset: Int) -> Int? { integer(offset, count: 4, bigEndian: true) }
    func u16le(_ offset: Int) -> Int? { integer(offset, count: 2, bigEndian: false) }
    func u24le(_ offset: Int) -> Int? { integer(offset, count: 3, bigEndian: false) }
    func u32le(_ offset: Int) -> Int? { integer(offset, count: 4, bigEndian: false) }

    /// Whether `signature` occurs at `offset`; nil when the bytes end first but agree so far.
    func matches(_ signature: [UInt8], at offset: Int) -> Bool? {
        for (index, expected) in signature.enumerated() {
            guard let byte = u8(offset + index) else { return nil }
            if byte != expected { return false }
        }
        return true
    }
}
