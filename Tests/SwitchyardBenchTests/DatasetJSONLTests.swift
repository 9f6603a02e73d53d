import Foundation
import SwitchyardBench
import SwitchyardCore
import Testing

@Suite struct DatasetJSONLTests {
    /// Writes `lines` to `data.jsonl` in a fresh directory (plus `files`), makes `count`
    /// requests from it and removes the directory again.
    private func run(
        _ lines: [String], files: [String: [UInt8]] = [:], count: Int, defaultOutputLen: Int = 128
    ) throws -> [BenchRequest] {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        for (name, bytes) in files {
            let url = directory.appendingPathComponent(name)
            try FileManager.default.createDirectory(
                at: url.deletingLastPathComponent(), withIntermediateDirectories: true)
            try Data(bytes).write(to: url)
        }
        let path = directory.appendingPathComponent("data.jsonl").path
        try Data(lines.joined(separator: "\n").utf8).write(to: URL(fileURLWithPath: path))
        var generator = SeededRandom(seed: 0)
        return try JSONLDataset(path: path, defaultOutputLen: defaultOutputLen)
            .makeRequests(count: count, generator: &generator)
    }

    /// The error message the dataset throws for `lines`.
    private func failure(_ lines: [String], files: [String: [UInt8]] = [:]) throws -> String {
        do {
            _ = try run(lines, files: files, count: 1)
            Issue.record("expected an error for \(lines)")
            return ""
        } catch let error as DatasetError {
            return error.description
        }
    }

    @Test func parsesPromptsImagesAndOutputLengths() throws {
        let jpegBytes: [UInt8] = [0xFF, 0xD8, 0xFF, 0xD9]
        let pngBytes: [UInt8] = [0x89, 0x50, 0x4E, 0x47]
        let lines = [
            #"{"prompt": "What is in this picture?", "images": ["cat.jpg"], "output_len": 64}"#,
            "",
            #"{"prompt": "Two images", "images": ["https://example.com/a.png", "sub/b.PNG", "data:image/gif;base64,R0lG"]}"#,
            "   ",
            #"{"prompt": "Text only", "output_tokens": 7, "extra": [1, 2]}"#,
            #"{"prompt": "Remote file", "images": ["file:///srv/images/x.webp"], "output_len": null}"#,
            "",
        ]
        let requests = try run(
            lines, files: ["cat.jpg": jpegBytes, "sub/b.PNG": pngBytes], count: 4, defaultOutputLen: 99)

        try #require(requests.count == 4)
        let catURL = "data:image/jpeg;base64," + Data(jpegBytes).base64EncodedString()
        #expect(requests[0].prompt == "What is in this picture?")
        #expect(requests[0].imageURLs == [catURL])
        #expect(requests[0].outputTokens == 64)
        #expect(requests[0].imageBytes == catURL.utf8.count)
        #expect(requests[0].promptTokens == 6)

        let pngURL = "data:image/png;base64," + Data(pngBytes).base64EncodedString()
        #expect(requests[1].imageURLs == ["https://example.com/a.png", pngURL, "data:image/gif;base64,R0lG"])
        #expect(requests[1].outputTokens == 99)
        #expect(requests[1].imageBytes == pngURL.utf8.count + "data:image/gif;base64,R0lG".utf8.count)

        #expect(requests[2].imageURLs.isEmpty && requests[2].imageBytes == 0)
        #expect(requests[2].outputTokens == 7)
        #expect(requests[3].imageURLs == ["file:///srv/images/x.webp"])
        #expect(requests[3].outputTokens == 99 && requests[3].imageBytes == 0)
    }

    @Test func absoluteImagePathsAreRead() throws {
        let directory = try makeTemporaryDirectory()
        defer { try? FileManager.default.removeItem(at: directory) }
        let image = directory.appendingPathComponent("photo.jpeg")
        try Data([1, 2, 3]).write(to: image)
        let requests = try run([#"{"prompt": "p", "images": ["\#(image.path)"]}"#], count: 1)
        #expect(requests[0].imageURLs == ["data:image/jpeg;base64,AQID"])
    }

    @Test func cyclesWhenMoreRequestsThanLinesAndTruncatesWhenFewer() throws {
        let lines = [#"{"prompt": "one"}"#, #"{"prompt": "two"}"#, "", #"{"prompt": "three"}"#]
        let many = try run(lines, count: 7)
        #expect(many.map(\.prompt) == ["one", "two", "three", "one", "two", "three", "one"])
        let few = try run(lines, count: 2)
        #expect(few.map(\.prompt) == ["one", "two"])
    }

    @Test func crlfLineEndsAndByteOrderMarkAreAccepted() throws {
        let requests = try run(["\u{FEFF}{\"prompt\": \"a\"}\r", "\r", #"{"prompt": "b", "output_len": 3}"#], count: 2)
        #expect(requests.map(\.prompt) == ["a", "b"])
        #expect(requests[1].outputTokens == 3)
        let message = try failure(["{\"prompt\": \"a\"}\r", "\r", "{oops}\r"])
        #expect(message.contains("data.jsonl:3:"), "\(message)")
    }

    @Test func badJSONNamesFileAndLine() throws {
        let message = try failure([#"{"prompt": "fine"}"#, "", #"{"prompt": "oops""#])
        #expect(message.contains("data.jsonl:3:"), "\(message)")
        #expect(message.contains("invalid JSON"), "\(message)")
    }

    @Test func missingOrMistypedPromptNamesLineAndField() throws {
        let missing = try failure([#"{"prompt": "fine"}"#, #"{"text": "no prompt"}"#])
        #expect(
            missing.contains("data.jsonl:2:") && missing.contains("missing required field \"prompt\""), "\(missing)")
        let number = try failure([#"{"prompt": 42}"#])
        #expect(number.contains("data.jsonl:1:") && number.contains("\"prompt\" must be a string"), "\(number)")
        let array = try failure([#"["prompt"]"#])
        #expect(array.contains("data.jsonl:1:") && array.contains("expected a JSON object"), "\(array)")
    }

    @Test func badImageExtensionNamesLineAndExtension() throws {
        let message = try failure(
            [#"{"prompt": "a"}"#, #"{"prompt": "b", "images": ["scan.bmp"]}"#], files: ["scan.bmp": [0]])
        #expect(message.contains("data.jsonl:2:"), "\(message)")
        #expect(message.contains(".bmp") && message.contains("images"), "\(message)")
        let none = try failure([#"{"prompt": "b", "images": ["README"]}"#])
        #expect(none.contains("data.jsonl:1:") && none.contains("(none)"), "\(none)")
    }

    @Test func missingImageFileNamesLineAndPath() throws {
        let message = try failure(
            [#"{"prompt": "a", "images": ["ok.png"]}"#, #"{"prompt": "b", "images": ["gone.jpg"]}"#],
            files: ["ok.png": [1]])
        #expect(message.contains("data.jsonl:2:"), "\(message)")
        #expect(message.contains("not found") && message.contains("gone.jpg"), "\(message)")
    }

    @Test(arguments: [#"0"#, #"-3"#, #""12""#, #"1.5"#, #"true"#, #"[1]"#])
    func badOutputLengthNamesLineAndField(value: String) throws {
        let message = try failure([#"{"prompt": "a", "output_len": \#(value)}"#])
        #expect(
            message.contains("data.jsonl:1:") && message.contains("\"output_len\" must be a positive integer"),
            "\(message)")
    }

    @Test func badImagesFieldNamesLineAndField() throws {
        let notArray = try failure([#"{"prompt": "a", "images": "cat.jpg"}"#])
        #expect(notArray.contains("data.jsonl:1:") && notArray.contains("\"images\" must be an array"), "\(notArray)")
        let notString = try failure([#"{"prompt": "a", "images": [3]}"#])
        #expect(notString.contains("\"images\"[0] must be a string"), "\(notString)")
    }

    @Test func unreadableOrEmptyFileIsReported() throws {
        var generator = SeededRandom(seed: 0)
        let path = "/nonexistent/switchyard/prompts.jsonl"
        do {
            _ = try JSONLDataset(path: path, defaultOutputLen: 10).makeRequests(count: 1, generator: &generator)
            Issue.record("expected an error")
        } catch let error as DatasetError {
            #expect(error.description.contains(path), "\(error)")
        }
        let blank = try failure(["", "  ", ""])
        #expect(blank.contains("data.jsonl") && blank.contains("no requests"), "\(blank)")
    }
}
