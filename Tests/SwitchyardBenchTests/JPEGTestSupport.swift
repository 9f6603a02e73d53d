import Foundation
import Testing

/// The segments of a JPEG file up to its scan, parsed independently of the encoder.
struct JPEGSegments {
    var markers: [UInt8] = []
    var payloads: [UInt8: [UInt8]] = [:]
    var endsWithEOI = false

    /// Height, width and components of the SOF0 segment.
    var frame: (precision: Int, height: Int, width: Int, components: [(id: Int, sampling: Int, table: Int)])? {
        guard let sof = payloads[0xC0], sof.count >= 6 else { return nil }
        let count = Int(sof[5])
        guard sof.count >= 6 + 3 * count else { return nil }
        let components = (0..<count).map { i in
            (id: Int(sof[6 + 3 * i]), sampling: Int(sof[7 + 3 * i]), table: Int(sof[8 + 3 * i]))
        }
        return (Int(sof[0]), Int(sof[1]) << 8 | Int(sof[2]), Int(sof[3]) << 8 | Int(sof[4]), components)
    }

    init?(_ bytes: [UInt8]) {
        guard bytes.count >= 4, bytes[0] == 0xFF, bytes[1] == 0xD8 else { return nil }
        endsWithEOI = bytes[bytes.count - 2] == 0xFF && bytes[bytes.count - 1] == 0xD9
        var index = 2
        while index + 4 <= bytes.count {
            guard bytes[index] == 0xFF else { return nil }
            let marker = bytes[index + 1]
            let length = Int(bytes[index + 2]) << 8 | Int(bytes[index + 3])
            guard length >= 2, index + 2 + length <= bytes.count else { return nil }
            markers.append(marker)
            payloads[marker] = Array(bytes[(index + 4)..<(index + 2 + length)])
            index += 2 + length
            if marker == 0xDA { return }  // entropy-coded data follows
        }
        return nil
    }
}

/// Runs a small Python script (Pillow, a decoder independent of ours) on JPEG files. The script
/// is embedded here rather than kept as a .py file because SwiftPM warns about unhandled files
/// in a test target, and Package.swift declares no resources for it.
enum PillowDecoder {
    struct Result: Decodable {
        var path: String
        var width: Int?
        var height: Int?
        var mode: String?
        var format: String?
        var sampling: Int?
        var jfif: [Int]?
        var progressive: Bool?
        var mae: Double?
        var error: String?
    }

    static let script = #"""
        #!/usr/bin/env python3
        """Decode JPEG files with Pillow, an encoder-independent decoder, for the JPEG encoder tests.

        Usage: check_jpegs.py JPEG RAW [JPEG RAW ...]
        RAW is the source image as packed 8-bit RGB (or "-" for none). For each JPEG prints one JSON
        line: width, height, mode, format, sampling (2 = 4:2:0), jfif version, progressive flag and,
        with RAW, the mean absolute error per channel value between the decoded image and the source.
        Exit status 3 (with a message) when Pillow is missing, 1 when a file does not decode.
        """
        import json
        import sys

        try:
            from PIL import Image, ImageChops, ImageStat, JpegImagePlugin
        except ImportError as error:
            sys.stderr.write(
                "Pillow is not installed for %s (%s): run `pip install pillow`\n" % (sys.executable, error)
            )
            sys.exit(3)


        def check(jpeg_path, raw_path):
            with Image.open(jpeg_path) as image:
                image.load()  # full decode: raises on corrupt entropy data
                result = {
                    "path": jpeg_path,
                    "width": image.width,
                    "height": image.height,
                    "mode": image.mode,
                    "format": image.format,
                    "sampling": JpegImagePlugin.get_sampling(image),
                    "jfif": list(image.info.get("jfif_version", ())),
                    "progressive": bool(image.info.get("progressive", 0)),
                }
                if raw_path != "-":
                    with open(raw_path, "rb") as raw_file:
                        source = Image.frombytes("RGB", image.size, raw_file.read())
                    difference = ImageChops.difference(image.convert("RGB"), source)
                    result["mae"] = sum(ImageStat.Stat(difference).mean) / 3
            return result


        def main(arguments):
            if len(arguments) % 2 != 0 or not arguments:
                sys.stderr.write("usage: check_jpegs.py JPEG RAW [JPEG RAW ...]\n")
                return 2
            status = 0
            for jpeg_path, raw_path in zip(arguments[0::2], arguments[1::2]):
                try:
                    print(json.dumps(check(jpeg_path, raw_path)))
                except Exception as error:  # report every file, fail at the end
                    print(json.dumps({"path": jpeg_path, "error": "%s: %s" % (type(error).__name__, error)}))
                    status = 1
            return status


        if __name__ == "__main__":
            sys.exit(main(sys.argv[1:]))
        """#

    /// Decodes each `(jpeg, raw RGB source or nil)`; records a test failure (and returns nil) when
    /// Python or Pillow is missing, so that a machine without Pillow cannot pass silently.
    static func decode(_ files: [(jpeg: URL, raw: URL?)], sourceLocation: SourceLocation = #_sourceLocation)
        throws -> [Result]?
    {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let scriptURL = directory.appendingPathComponent("check_jpegs.py")
        try Data(script.utf8).write(to: scriptURL)
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
        process.arguments = ["python3", scriptURL.path] + files.flatMap { [$0.jpeg.path, $0.raw?.path ?? "-"] }
        let output = Pipe()
        let errors = Pipe()
        process.standardOutput = output
        process.standardError = errors
        try process.run()
        let stdout = output.fileHandleForReading.readDataToEndOfFile()
        let stderr = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        switch process.terminationStatus {
        case 3:
            Issue.record(
                "Pillow is required to check the JPEG encoder: run `pip install pillow` (\(stderr))",
                sourceLocation: sourceLocation)
            return nil
        case 126, 127:
            Issue.record(
                "python3 is required to check the JPEG encoder (with Pillow: `pip install pillow`): \(stderr)",
                sourceLocation: sourceLocation)
            return nil
        case 0, 1:
            let lines = String(decoding: stdout, as: UTF8.self).split(separator: "\n")
            return try lines.map { try JSONDecoder().decode(Result.self, from: Data($0.utf8)) }
        default:
            Issue.record(
                "check_jpegs.py exited \(process.terminationStatus): \(stderr)", sourceLocation: sourceLocation)
            return nil
        }
    }
}

/// A fresh temporary directory, removed by the caller.
func makeTemporaryDirectory() throws -> URL {
    let directory = FileManager.default.temporaryDirectory
        .appendingPathComponent("switchyard-datasets-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
    return directory
}
