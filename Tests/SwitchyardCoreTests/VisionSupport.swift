import Foundation

@testable import SwitchyardCore

/// Test images generated with Pillow 13 (`Image.save`) at authoring time, embedded whole.
enum VisionSamples {
    static func decode(_ lines: [String]) -> [UInt8] {
        guard let data = Data(base64Encoded: lines.joined()) else { fatalError("bad sample literal") }
        return [UInt8](data)
    }

    /// Pillow JPEG 37×23.
    static let baselineJPEG = decode([
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAFA3PEY8MlBGQUZaVVBfeMiCeG5uePWvuZHI////////////////////////////",
        "////////////////////////2wBDAVVaWnhpeOuCguv/////////////////////////////////////////////////////",
        "////////////////////wAARCAAXACUDASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAA",
        "AgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6",
        "Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG",
        "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREA",
        "AgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5",
        "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPE",
        "xcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwAooorM1CiilZSvXFAXEopM0U7E86FAJNGD",
        "RRWiimjOc2nYeiBs5/SpGQN1zRRWctGOLbWpDIoRsD0ooooJe5//2Q==",
    ])

    /// Pillow JPEG 41×29.
    static let progressiveJPEG = decode([
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAFA3PEY8MlBGQUZaVVBfeMiCeG5uePWvuZHI////////////////////////////",
        "////////////////////////2wBDAVVaWnhpeOuCguv/////////////////////////////////////////////////////",
        "////////////////////wgARCAAdACkDASIAAhEBAxEB/8QAFwABAQEBAAAAAAAAAAAAAAAAAAIBA//EABYBAQEBAAAAAAAA",
        "AAAAAAAAAAACAf/aAAwDAQACEAMQAAABCaA0Iwa53FqpC8//xAAYEAEBAAMAAAAAAAAAAAAAAAABMRAgMP/aAAgBAQABBQLq",
        "wdWFz//EABcRAAMBAAAAAAAAAAAAAAAAAAABEBH/2gAIAQMBAT8BrZs//8QAFxEBAAMAAAAAAAAAAAAAAAAAEAAREv/aAAgB",
        "AgEBPwEpzP/EABQQAQAAAAAAAAAAAAAAAAAAAED/2gAIAQEABj8CR//EABkQAQADAQEAAAAAAAAAAAAAAAEQICEAMP/aAAgB",
        "AQABPyGh45Sci1e4mf/aAAwDAQACAAMAAAAQBBQa2A//xAAZEQACAwEAAAAAAAAAAAAAAAAAARARQTH/2gAIAQMBAT8Qh9L2",
        "qYsaUf/EABoRAAICAwAAAAAAAAAAAAAAAAABEBEhUXH/2gAIAQIBAT8QklsrKOj/xAAaEAEAAgMBAAAAAAAAAAAAAAABABEQ",
        "ITEg/9oACAEBAAE/EPHHo5kGkJAIuotEOGKlwVNjBRn/2Q==",
    ])

    /// Pillow JPEG 96×64.
    static let thumbnailJPEG = decode([
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAKBueIx4ZKCMgoy0qqC+8P//8Nzc8P//////////////////////////////////",
        "////////////////////////2wBDAaq0tPDS8P//////////////////////////////////////////////////////////",
        "////////////////////wAARCABAAGADASIAAhEBAxEB/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAA",
        "AgEDAwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6",
        "Q0RFRkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXG",
        "x8jJytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/8QAHwEAAwEBAQEBAQEBAQAAAAAAAAECAwQFBgcICQoL/8QAtREA",
        "AgECBAQDBAcFBAQAAQJ3AAECAxEEBSExBhJBUQdhcRMiMoEIFEKRobHBCSMzUvAVYnLRChYkNOEl8RcYGRomJygpKjU2Nzg5",
        "OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6goOEhYaHiImKkpOUlZaXmJmaoqOkpaanqKmqsrO0tba3uLm6wsPE",
        "xcbHyMnK0tPU1dbX2Nna4uPk5ebn6Onq8vP09fb3+Pn6/9oADAMBAAIRAxEAPwAoooqSm7BRRRQAUUUUDCiiigAooooAKKKK",
        "ACiiimiJBRRRSKWwUUUUDCiiigApKDRQTcKKKKAuLRRgmlwaY3YSilwaShK4BRRRT5QCilwaMGpC4lFFFABRRRQA5elLSL0p",
        "apEsKTFLRTEJijFLRQMKKKKBDKKKKg0CgUUCgD//2Q==",
    ])

    /// Pillow JPEG 300×2.
    static let grayJPEG = decode([
        "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAFA3PEY8MlBGQUZaVVBfeMiCeG5uePWvuZHI////////////////////////////",
        "////////////////////////wAALCAACASwBAREA/8QAHwAAAQUBAQEBAQEAAAAAAAAAAAECAwQFBgcICQoL/8QAtRAAAgED",
        "AwIEAwUFBAQAAAF9AQIDAAQRBRIhMUEGE1FhByJxFDKBkaEII0KxwRVS0fAkM2JyggkKFhcYGRolJicoKSo0NTY3ODk6Q0RF",
        "RkdISUpTVFVWV1hZWmNkZWZnaGlqc3R1dnd4eXqDhIWGh4iJipKTlJWWl5iZmqKjpKWmp6ipqrKztLW2t7i5usLDxMXGx8jJ",
        "ytLT1NXW19jZ2uHi4+Tl5ufo6erx8vP09fb3+Pn6/9oACAEBAAA/ACiigdadijFGKMUmBRgegowPQUYHoKMD0FGB6CjA9BRg",
        "egowPQUYHoKCBg8VHRRRRRRRRRRRV2o5QDjNR4HoKMD0FGB6CjA9BRgegr//2Q==",
    ])

    /// Pillow JPEG 5×70.
    static let cmykJPEG = decode([
        "/9j/7gAOQWRvYmUAZAAAAAAA/9sAQwBQNzxGPDJQRkFGWlVQX3jIgnhubnj1r7mRyP//////////////////////////////",
        "/////////////////////8AAFAgARgAFBEMRAE0RAFkRAEsRAP/EAB8AAAEFAQEBAQEBAAAAAAAAAAABAgMEBQYHCAkKC//E",
        "ALUQAAIBAwMCBAMFBQQEAAABfQECAwAEEQUSITFBBhNRYQcicRQygZGhCCNCscEVUtHwJDNicoIJChYXGBkaJSYnKCkqNDU2",
        "Nzg5OkNERUZHSElKU1RVVldYWVpjZGVmZ2hpanN0dXZ3eHl6g4SFhoeIiYqSk5SVlpeYmZqio6Slpqeoqaqys7S1tre4ubrC",
        "w8TFxsfIycrS09TV1tfY2drh4uPk5ebn6Onq8fLz9PX29/j5+v/aAA4EQwBNAFkASwAAPwCeoy2D0P5VEseRneo+pq7RS0yi",
        "iiiiiiiiiiiikLAdSBSEgdSBShSegJ/CioZTufjtxUc6kMPcZqaNgi4Y9eaKD94/Wn3H3k/3RUb/AMP+6KKD94/Wi4+8n+6K",
        "H/h/3RRX/9k=",
    ])

    /// Pillow PNG 33×17.
    static let png = decode([
        "iVBORw0KGgoAAAANSUhEUgAAACEAAAARCAYAAABTnsXCAAAAZklEQVR4nGM8kWLUwEBD4Gt2lxOb+OZTyt9hbCZaOoBYMOoI",
        "GGCBMfZUZ4TTwoJ8HOJ7XBHsQRESo46AgVFHwMCoI2CAkdy6g/mly1lKLJb47vqEgYGBYXJGcNygCIlRR8DAoHAEAKwPESaV",
        "wxoaAAAAAElFTkSuQmCC",
    ])

    /// Pillow GIF 19×11.
    static let gif = decode([
        "R0lGODdhEwALAIQAAACZADOZAP8zM5lmM8xmMzOZM2YAZpkAZmYzZpkzZpnMZszMZmYAmZkAmTMzmWYzmZkzmWZmmZnMmQAA",
        "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAACwAAAAAEwALAAAIcQAJEEhwgGCECA8OJkQYQaDDAxAMJlxI",
        "0aFAggkgLGTI0SIBiAYCiAQgskAAkiJFXiyYMoBJlCNVfswIs6XNABcNJEhZM6VJnB8hHLh5MqZMjDZ7phQIMQGDBA2gSo3a",
        "wMEDBA4HWBSgQELXrwskLAgIADs=",
    ])

    /// Pillow WEBP 45×31.
    static let webpLossy = decode([
        "UklGRooAAABXRUJQVlA4IH4AAADwBACdASotAB8AP2GaxViyq6ijtVgMAlAsCWwAw21BPPAnsrZ4rwm5kx6/sTc6oIAA9m0X",
        "48Xqx7HtqIDNcA8y4EwQeAD/VCJFSjr9Jj+abAJb/n4K5KE6B6Tcg7seNCNibyKhG3LSy1HoKgeKlBrZXSqlEXqlznDrTC5H",
        "AAA=",
    ])

    /// Pillow WEBP 27×13.
    static let webpLossless = decode([
        "UklGRmoAAABXRUJQVlA4TF4AAAAvGgADAC9AJm1D/cuoh/37J2lClLSNAOHL+dfzSTp2jCzABGAge7OJNIHI5j8UC41B57u8",
        "oCCSrQRJoAUsARU+Eegf5iskiOj/BCS5Jy7Z3uz4W6eW4jAYAJBzb0gC",
    ])

    /// Pillow WEBP 29×21.
    static let webpAlpha = decode([
        "UklGRvQAAABXRUJQVlA4WAoAAAAQAAAAHAAAFAAAQUxQSEAAAAABL0AWYJq8ZrEMugIoIiIdF4oiSWruDgxQSLniHw1E/2Jy",
        "MBDR/wngTfFKiL0cAIC95Eda8fCx8NVYXEtt1bwGVlA4II4AAABQBQCdASodABUAP3Gix1k0rCgjsAgCkC4JbACdMw43N7dw",
        "gjwD0AAASnQUpJryIvDYzN4AO4bD57jEykKBrAjauhuBZqAOB8b/uJ13jyXEwaIqavS/8JoKcVGYh52IqDNsIiTGmcQgZgf8",
        "hYH/RA0bD8LwQXuYN0ilU18wpjjUOZfK3JB0pP6lsvZ2wAAA",
    ])

    /// Every sample with the dimensions Pillow reports for it.
    static let all: [(name: String, bytes: [UInt8], expected: ImageDimensions)] = [
        ("baseline JPEG", baselineJPEG, ImageDimensions(width: 37, height: 23, format: .jpeg)),
        ("progressive JPEG", progressiveJPEG, ImageDimensions(width: 41, height: 29, format: .jpeg)),
        ("thumbnail JPEG", thumbnailJPEG, ImageDimensions(width: 96, height: 64, format: .jpeg)),
        ("grayscale JPEG", grayJPEG, ImageDimensions(width: 300, height: 2, format: .jpeg)),
        ("CMYK JPEG", cmykJPEG, ImageDimensions(width: 5, height: 70, format: .jpeg)),
        ("PNG", png, ImageDimensions(width: 33, height: 17, format: .png)),
        ("GIF", gif, ImageDimensions(width: 19, height: 11, format: .gif)),
        ("WebP lossy", webpLossy, ImageDimensions(width: 45, height: 31, format: .webp)),
        ("WebP lossless", webpLossless, ImageDimensions(width: 27, height: 13, format: .webp)),
        ("WebP with alpha (VP8X)", webpAlpha, ImageDimensions(width: 29, height: 21, format: .webp)),
    ]

    /// A fake SOF0 segment claiming 16×16: what a scanner looking for FF C0 would find first.
    static let sofTrap: [UInt8] = [
        0xFF, 0xC0, 0x00, 0x11, 0x08, 0x00, 0x10, 0x00, 0x10, 0x03, 0x01, 0x22, 0x00, 0x02, 0x11, 0x01, 0x03, 0x11,
        0x01,
    ]

    static func filled(_ prefix: [UInt8], to count: Int) -> [UInt8] {
        var out = prefix
        while out.count < count { out += sofTrap }
        return Array(out.prefix(count))
    }

    /// Offset of the embedded thumbnail within `bigExifJPEG`.
    static let thumbnailOffset = 2 + 4 + 6 + 68

    /// The 37×23 baseline JPEG with, right after SOI, a full 64 KB EXIF APP1 (TIFF IFD0 + IFD1
    /// whose JPEGInterchangeFormat points at the 96×64 thumbnail JPEG, then fake SOF0 segments to
    /// the end of the segment) and a 20 KB XMP APP1 also full of fake SOF0s: the real SOF0 sits
    /// at byte 85 699. Built byte for byte like the Python script that checked Pillow opens it as
    /// 37×23 and the thumbnail as 96×64.
    static let bigExifJPEG: [UInt8] = {
        func be16(_ v: Int) -> [UInt8] { [UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
        func be32(_ v: Int) -> [UInt8] { be16(v >> 16) + be16(v & 0xFFFF) }
        func entry(_ tag: Int, _ type: Int, _ value: Int) -> [UInt8] { be16(tag) + be16(type) + be32(1) + be32(value) }
        var tiff: [UInt8] = Array("MM".utf8) + [0x00, 0x2A] + be32(8)
        tiff += be16(1) + entry(0x0112, 3, 1 << 16) + be32(26)
        tiff += be16(3) + entry(0x0103, 3, 6 << 16) + entry(0x0201, 4, 68) + entry(0x0202, 4, thumbnailJPEG.count)
        tiff += be32(0)
        precondition(tiff.count == 68)
        tiff += thumbnailJPEG
        let exif = [0xFF, 0xE1] + be16(65535) + filled(Array("Exif".utf8) + [0, 0] + tiff, to: 65533)
        let xmpBody = filled(Array("http://ns.adobe.com/xap/1.0/\0<x:xmpmeta>".utf8), to: 20000)
        let xmp = [0xFF, 0xE1] + be16(xmpBody.count + 2) + xmpBody
        return Array(baselineJPEG.prefix(2)) + exif + xmp + Array(baselineJPEG.dropFirst(2))
    }()
}

/// `ImageHeader.dimensions` over an array.
func headerDimensions(_ bytes: some Collection<UInt8>) -> Result<ImageDimensions, ImageHeaderError> {
    Array(bytes).withUnsafeBytes { ImageHeader.dimensions($0) }
}

/// SplitMix64: a small seeded generator so the fuzz loops are reproducible.
struct SeededGenerator: RandomNumberGenerator {
    var state: UInt64
    init(seed: UInt64) { state = seed }
    mutating func next() -> UInt64 {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return z ^ (z >> 31)
    }
}
