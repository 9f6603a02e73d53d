// libFuzzer target: the fuzz input is the start of an image file.
//
// Reads it with ImageHeader directly, as the base64 payload of a data: URL (plain, with MIME
// line breaks, without padding, and inside a JSON string with escapes), and as a data: URL text
// of its own. Checks what ImageHeader.swift and DataURLImage.swift document:
// - a prefix of the bytes gives `.truncated` or the whole bytes' answer ("a longer prefix may
//   still succeed"; reads stop at the dimensions);
// - dimensions found are positive;
// - a base64 data URL of the bytes gives exactly the bytes' answer, whatever line breaks or
//   padding it has, and through JSON escapes too;
// - the GLM cost of found dimensions never exceeds `maxTokensPerImage`.
// Any trap or ASan report is a finding.

import CFuzzerDriver

@testable import SwitchyardCore

/// The entry point. SwiftPM (tools 5.5+, Linux) compiles an executable's `main` as
/// `<module>_main` and links `main` to that name, so libFuzzer's own `main` is never linked in;
/// this starts libFuzzer's driver exactly as that `main` would.
@_cdecl("FuzzImageHeader_main")
public func fuzzerMain(_ argc: CInt, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>) -> CInt {
    var argc = argc
    var argv: UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>? = argv
    return LLVMFuzzerRunDriver(&argc, &argv) { data, size in data.map { fuzz($0, size) } ?? 0 }
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzz(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    // Exactly `size` bytes: ASan sees any read past them.
    let bytes = UnsafeRawBufferPointer(start: data, count: size)
    let direct = ImageHeader.dimensions(bytes)
    if case .success(let found) = direct {
        require(found.width > 0 && found.height > 0, "dimensions \(found)")
        checkCost(found)
    }
    checkPrefixes(bytes, whole: direct)
    checkDataURLs(bytes, expected: direct)
    // The bytes as URL text of their own (data:, header and payload parsing on anything).
    let text = String(decoding: bytes, as: UTF8.self)
    _ = DataURLImage.dimensions(ofDataURL: text[...])
    _ = DataURLImage.dimensions(ofDataURL: ("data:image/png;base64," + text)[...])
    return 0
}

private func require(_ condition: Bool, _ message: @autoclosure () -> String) {
    if !condition { fatalError("invariant violated: \(message())") }
}

private let cost = GLMImageCost()

private func checkCost(_ found: ImageDimensions) {
    do {
        let tokens = try cost.tokens(width: found.width, height: found.height)
        require(
            tokens >= GLMImageCost.wrapperTokens && tokens <= cost.maxTokensPerImage,
            "\(found.width)x\(found.height) costs \(tokens) tokens (most \(cost.maxTokensPerImage))")
    } catch {
        _ = error.description
    }
}

private func checkPrefixes(_ bytes: UnsafeRawBufferPointer, whole: Result<ImageDimensions, ImageHeaderError>) {
    guard !bytes.isEmpty else { return }
    var lengths: Set<Int> = [bytes.count - 1, bytes.count / 2, Int(bytes[0]) % bytes.count]
    if bytes.count > 1 { lengths.insert(Int(bytes[1]) * 16 % bytes.count) }
    for length in lengths {
        // A copy of exactly that length, so a read past the prefix is an ASan report.
        let prefix = Array(bytes[..<length])
        let result = prefix.withUnsafeBytes { ImageHeader.dimensions($0) }
        require(
            result == .failure(.truncated) || result == whole,
            "prefix of \(length) bytes gives \(result), the whole \(bytes.count) bytes \(whole)")
    }
}

private func checkDataURLs(_ bytes: UnsafeRawBufferPointer, expected: Result<ImageDimensions, ImageHeaderError>) {
    let encoded = base64(bytes)
    let plain = "data:image/png;base64," + encoded
    require(
        DataURLImage.dimensions(ofDataURL: plain[...]) == expected,
        "data URL gives \(DataURLImage.dimensions(ofDataURL: plain[...])), the bytes \(expected)")

    // MIME line breaks and no padding: both documented as tolerated.
    var wrapped = "data:image/jpeg;base64,"
    var column = 0
    for character in encoded where character != "=" {
        wrapped.append(character)
        column += 1
        if column == 76 {
            wrapped += "\r\n"
            column = 0
        }
    }
    require(DataURLImage.dimensions(ofDataURL: wrapped[...]) == expected, "wrapped data URL differs")

    // Inside a JSON string: `/` as `\/`, and some letters as `\u00XX` (chosen by the input).
    let salt = bytes.first.map(Int.init) ?? 0
    var escaped: [UInt8] = Array("data:image\\/png;base64,".utf8)
    for (index, byte) in encoded.utf8.enumerated() {
        if byte == UInt8(ascii: "/") {
            escaped += Array("\\/".utf8)
        } else if (index &* 7 &+ salt) % 11 == 0 {
            escaped += Array("\\u00".utf8) + hex(byte)
        } else {
            escaped.append(byte)
        }
    }
    let viaJSON = escaped.withUnsafeBytes { RequestProfiler.probeDataImage($0, hasEscapes: true).result }
    require(viaJSON == expected, "escaped data URL gives \(viaJSON), the bytes \(expected)")

    // And through the profiler, end to end.
    let body =
        Array(#"{"model":"m","messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":""#.utf8)
        + escaped + Array(#""}}]}]}"#.utf8)
    let profiled = body.withUnsafeBytes { RequestProfiler.profile($0, costs: ProfileCosts()) }
    switch (profiled, expected) {
    case (.success(let profile), .success(let found)):
        require(profile.media.count == 1, "one image")
        require(profile.media[0].width == found.width && profile.media[0].height == found.height, "profiled size")
    case (.success(let profile), .failure):
        require(false, "profiled \(profile.media) although the header is unreadable")
    case (.failure(let error), _):
        require(error.status == 400 && error.reason == "invalid_image", "refusal \(error.reason)")
    }
}

private let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)

private func base64(_ bytes: UnsafeRawBufferPointer) -> String {
    var out: [UInt8] = []
    out.reserveCapacity((bytes.count + 2) / 3 * 4)
    var index = 0
    while index < bytes.count {
        let chunk = min(3, bytes.count - index)
        var value = UInt32(bytes[index]) << 16
        if chunk > 1 { value |= UInt32(bytes[index + 1]) << 8 }
        if chunk > 2 { value |= UInt32(bytes[index + 2]) }
        for position in 0..<4 {
            if position <= chunk {
                out.append(alphabet[Int((value >> UInt32(18 - 6 * position)) & 0x3F)])
            } else {
                out.append(UInt8(ascii: "="))
            }
        }
        index += 3
    }
    return String(decoding: out, as: UTF8.self)
}

private func hex(_ byte: UInt8) -> [UInt8] {
    let digits = Array("0123456789abcdef".utf8)
    return [digits[Int(byte >> 4)], digits[Int(byte & 0xF)]]
}
