import Foundation
import Testing

@testable import SwitchyardCore

private func dataURL(_ bytes: [UInt8], mediaType: String = "image/jpeg", lineLength: Int? = nil, padded: Bool = true)
    -> String
{
    var base64 = Data(bytes).base64EncodedString()
    if !padded { while base64.last == "=" { base64.removeLast() } }
    if let lineLength {
        var wrapped: [UInt8] = []
        for (index, byte) in base64.utf8.enumerated() {
            if index > 0 && index % lineLength == 0 { wrapped += [13, 10] }
            wrapped.append(byte)
        }
        base64 = String(decoding: wrapped, as: UTF8.self)
    }
    return "data:\(mediaType);base64,\(base64)"
}

/// Runs the decoder over `text` in steps of `limit` bytes until the end.
private func decodeBase64(_ text: String, step: Int = Int.max) -> Result<[UInt8], ImageHeaderError> {
    var copy = text
    return copy.withUTF8 { input in
        var decoder = Base64PrefixDecoder()
        var output: [UInt8] = []
        var limit = step
        while !decoder.isAtEnd {
            if case .failure(let error) = decoder.decode(input, into: &output, limit: limit) { return .failure(error) }
            limit = limit > Int.max - step ? Int.max : limit + step
        }
        return .success(output)
    }
}

/// A baseline JPEG whose entropy-coded scan is `scanBytes` long (a repeated 4 KB random block
/// without 0xFF).
private func hugeJPEG(header: [UInt8] = VisionSamples.baselineJPEG, scanBytes: Int) -> [UInt8] {
    var generator = SeededGenerator(seed: 99)
    let block = (0..<4096).map { _ in UInt8.random(in: 0...0xFE, using: &generator) }
    var bytes = Array(header.dropLast(2))
    bytes.reserveCapacity(bytes.count + scanBytes + 2)
    while bytes.count < header.count - 2 + scanBytes - block.count { bytes += block }
    bytes += block.prefix(header.count - 2 + scanBytes - bytes.count)
    return bytes + [0xFF, 0xD9]
}

@Suite("DataURLImage")
struct VisionDataURLTests {
    @Test("isDataURL checks the scheme case-insensitively")
    func isDataURL() {
        #expect(DataURLImage.isDataURL("data:image/png;base64,AAAA"))
        #expect(DataURLImage.isDataURL("DATA:image/png;base64,AAAA"))
        #expect(DataURLImage.isDataURL("data:"))
        #expect(!DataURLImage.isDataURL("data"))
        #expect(!DataURLImage.isDataURL("https://example.com/data:x"))
        #expect(!DataURLImage.isDataURL(""))
    }

    @Test("parse splits like vLLM: first ',' ends the spec, last ';' must be base64")
    func parse() {
        #expect(
            DataURLImage.parse("data:image/jpeg;base64,QUJD")
                == .success(DataURLImage.Parts(mediaType: "image/jpeg", payload: "QUJD")))
        #expect(
            DataURLImage.parse("data:image/png;name=a.png;base64,QQ==")
                == .success(DataURLImage.Parts(mediaType: "image/png", payload: "QQ==")))
        #expect(DataURLImage.parse("data:;base64,") == .success(DataURLImage.Parts(mediaType: "", payload: "")))
        let notBase64 = ImageHeaderError.corrupt("only base64 data URLs are supported")
        #expect(DataURLImage.parse("data:image/png,hello") == .failure(notBase64))
        #expect(DataURLImage.parse("data:image/png;utf8,hello") == .failure(notBase64))
        #expect(DataURLImage.parse("data:image/png;BASE64,QUJD") == .failure(notBase64))
        #expect(
            DataURLImage.parse("data:image/png;base64") == .failure(.corrupt("invalid data URL: missing ',' separator"))
        )
        #expect(DataURLImage.parse("http://x/y.png") == .failure(.corrupt("not a data URL")))
        #expect(DataURLImage.dimensions(ofDataURL: "data:image/png,abc") == .failure(notBase64))
    }

    @Test("every sample's dimensions through a data URL, padded or not, with CRLF line breaks or not")
    func samples() {
        for sample in VisionSamples.all {
            for (lineLength, padded) in [(nil, true), (76, true), (nil, false), (64, false)] as [(Int?, Bool)] {
                let url = dataURL(sample.bytes, lineLength: lineLength, padded: padded)
                #expect(DataURLImage.dimensions(ofDataURL: url[...]) == .success(sample.expected), "\(sample.name)")
            }
        }
    }

    @Test("a multi-megabyte JPEG is measured from its first kilobyte")
    func hugeJPEGFromPrefix() {
        let bytes = hugeJPEG(scanBytes: 4 << 20)
        let url = dataURL(bytes, lineLength: 76)
        let probe = DataURLImage.probe(url[...])
        #expect(probe.result == .success(ImageDimensions(width: 37, height: 23, format: .jpeg)))
        #expect(probe.attempts == 1)
        #expect(probe.decodedBytes >= DataURLImage.initialDecodeBytes && probe.decodedBytes <= 1026)
    }

    @Test("a frame header 85 KB deep (big EXIF) takes ×8 steps, not the whole payload")
    func bigExifSteps() {
        let bytes = hugeJPEG(header: VisionSamples.bigExifJPEG, scanBytes: 3 << 20)
        let probe = DataURLImage.probe(dataURL(bytes)[...])
        #expect(probe.result == .success(ImageDimensions(width: 37, height: 23, format: .jpeg)))
        // 1 KB, 8 KB and 64 KB are not enough; 512 KB is.
        #expect(probe.attempts == 4)
        #expect(probe.decodedBytes >= 512 * 1024 && probe.decodedBytes <= 512 * 1024 + 2)
        #expect(probe.decodedBytes < bytes.count / 6)
    }

    @Test("a payload that ends before the dimensions is truncated, after decoding all of it")
    func truncatedPayload() {
        let probe = DataURLImage.probe(dataURL(Array(VisionSamples.bigExifJPEG.prefix(70000)))[...])
        #expect(probe.result == .failure(.truncated))
        #expect(probe.decodedBytes == 70000)
        #expect(probe.attempts == 4)
        #expect(DataURLImage.dimensions(ofDataURL: "data:image/png;base64,") == .failure(.truncated))
        #expect(DataURLImage.dimensions(ofDataURL: "data:image/png;base64,iVBORw0KGgo=") == .failure(.truncated))
    }

    @Test("format comes from the bytes, not the media type")
    func sniffedFormat() {
        let url = dataURL(VisionSamples.png, mediaType: "image/jpeg")
        #expect(
            DataURLImage.dimensions(ofDataURL: url[...])
                == .success(ImageDimensions(width: 33, height: 17, format: .png)))
        let bmp = dataURL(Array("BM".utf8) + [UInt8](repeating: 0, count: 100), mediaType: "image/bmp")
        #expect(DataURLImage.dimensions(ofDataURL: bmp[...]) == .failure(.unsupportedFormat))
    }

    @Test("invalid base64 in the decoded prefix is corrupt")
    func invalidBase64() {
        let png = Data(VisionSamples.png).base64EncodedString()
        for bad in [
            "iVBO Rw0K", "iVBO\tRw0K", "iVBO-Rw0K", "iVBO_Rw0K", "iVB=Rw0K", "i===", "iVBORw0KG=", "iVBORw0K\u{e9}",
        ] {
            let url = "data:image/png;base64,\(bad)\(png)"
            let result = DataURLImage.dimensions(ofDataURL: url[...])
            guard case .failure(.corrupt) = result else {
                Issue.record("\(bad): \(result)")
                continue
            }
        }
        // Only the decoded prefix is validated: garbage far past the header goes unnoticed.
        let late = dataURL(hugeJPEG(scanBytes: 100_000)) + "!!!"
        #expect(
            DataURLImage.dimensions(ofDataURL: late[...])
                == .success(ImageDimensions(width: 37, height: 23, format: .jpeg)))
    }

    @Test("the decoder matches Foundation on random data, in one go or resumed in small steps")
    func decoderMatchesFoundation() {
        var generator = SeededGenerator(seed: 2024)
        for length in Array(0...40) + [255, 256, 257, 1000, 4099] {
            let bytes = (0..<length).map { _ in UInt8.random(in: 0...255, using: &generator) }
            let encoded = Data(bytes).base64EncodedString()
            #expect(decodeBase64(encoded) == .success(bytes), "length \(length)")
            #expect(decodeBase64(encoded, step: Int.random(in: 1...7, using: &generator)) == .success(bytes))
            var unpadded = encoded
            while unpadded.last == "=" { unpadded.removeLast() }
            #expect(decodeBase64(unpadded) == .success(bytes), "unpadded length \(length)")
            let wrapped = Data(bytes).base64EncodedString(options: [.lineLength64Characters, .endLineWithLineFeed])
            #expect(decodeBase64(wrapped + "\n", step: 5) == .success(bytes), "wrapped length \(length)")
        }
    }

    @Test("padding and length rules")
    func padding() {
        #expect(decodeBase64("QQ==") == .success([0x41]))
        #expect(decodeBase64("QUI=") == .success([0x41, 0x42]))
        #expect(decodeBase64("QQ=") == .success([0x41]))
        #expect(decodeBase64("QQ==\r\n") == .success([0x41]))
        #expect(decodeBase64("QQ") == .success([0x41]))
        #expect(decodeBase64("") == .success([]))
        for bad in ["Q", "QUJDQ", "=", "Q=", "QQ===", "QUI==", "QQ==QQ==", "QQ=A"] {
            guard case .failure(.corrupt) = decodeBase64(bad) else {
                Issue.record("\(bad) should be corrupt")
                continue
            }
        }
    }

    @Test("random payloads never crash")
    func fuzz() {
        var generator = SeededGenerator(seed: 31337)
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/=\r\n!".utf8)
        let prefixes = ["/9j/", "iVBORw0KGgo", "R0lGODlh", "UklGR", ""]
        for round in 0..<1500 {
            let count = Int.random(in: 0...200, using: &generator)
            let body = String(
                decoding: (0..<count).map { _ in alphabet.randomElement(using: &generator)! }, as: UTF8.self)
            let url = "data:image/png;base64," + prefixes[round % prefixes.count] + body
            if case .success(let dimensions) = DataURLImage.dimensions(ofDataURL: url[...]) {
                #expect(dimensions.width > 0 && dimensions.height > 0)
            }
        }
    }
}
