import Foundation
import Testing

@testable import SwitchyardCore

// MARK: - Helpers

private func profile(bytes: [UInt8], costs: ProfileCosts = ProfileCosts()) -> Result<RequestProfile, OpenAIError> {
    bytes.withUnsafeBytes { RequestProfiler.profile($0, costs: costs) }
}

private func profile(_ text: String, costs: ProfileCosts = ProfileCosts()) -> Result<RequestProfile, OpenAIError> {
    profile(bytes: Array(text.utf8), costs: costs)
}

private func profiled(
    _ text: String, costs: ProfileCosts = ProfileCosts(), sourceLocation: SourceLocation = #_sourceLocation
) -> RequestProfile? {
    switch profile(text, costs: costs) {
    case .success(let profile): return profile
    case .failure(let error):
        Issue.record("expected a profile, got \(error.reason): \(error.message)", sourceLocation: sourceLocation)
        return nil
    }
}

private func refusal(
    _ text: String, costs: ProfileCosts = ProfileCosts(), sourceLocation: SourceLocation = #_sourceLocation
) -> OpenAIError? {
    switch profile(text, costs: costs) {
    case .success(let profile):
        Issue.record("expected a 400, got \(profile)", sourceLocation: sourceLocation)
        return nil
    case .failure(let error): return error
    }
}

private func base64(_ bytes: [UInt8]) -> String { Data(bytes).base64EncodedString() }

private func jpegURL(_ bytes: [UInt8], mediaType: String = "image/jpeg") -> String {
    "data:\(mediaType);base64,\(base64(bytes))"
}

/// A chat body whose single user message holds `parts` (raw JSON objects).
private func chat(_ parts: [String], extra: String = "") -> String {
    #"{"model":"glm","messages":[{"role":"user","content":["# + parts.joined(separator: ",") + "]}]" + extra + "}"
}

private func imagePart(_ url: String) -> String { #"{"type":"image_url","image_url":{"url":"\#(url)"}}"# }

private func glmTokens(_ width: Int, _ height: Int) -> Int {
    (try? GLMImageCost().tokens(width: width, height: height)) ?? -1
}

/// Reference FNV-1a 64.
private func fnv(_ bytes: [UInt8]) -> UInt64 {
    var hash: UInt64 = 0xcbf2_9ce4_8422_2325
    for byte in bytes { hash = (hash ^ UInt64(byte)) &* 0x0000_0100_0000_01B3 }
    return hash
}

private func seed(system: String, user: String) -> UInt64 { fnv(Array(system.utf8) + [0xFF] + Array(user.utf8)) }

// MARK: - Images

struct SampleCase: Sendable, CustomTestStringConvertible {
    var name: String
    var bytes: [UInt8]
    var expected: ImageDimensions
    var testDescription: String { name }
}

@Suite("RequestProfile: data: images")
struct RequestProfileImageTests {
    static let samples: [SampleCase] = VisionSamples.all.map {
        SampleCase(name: $0.name, bytes: $0.bytes, expected: $0.expected)
    }

    @Test(arguments: samples)
    func sample(_ c: SampleCase) {
        guard let p = profiled(chat([#"{"type":"text","text":"hi"}"#, imagePart(jpegURL(c.bytes))])) else { return }
        let tokens = glmTokens(c.expected.width, c.expected.height)
        #expect(
            p.media == [
                MediaPart(
                    index: 0, kind: .image, source: .data, width: c.expected.width, height: c.expected.height,
                    tokens: tokens)
            ])
        #expect(p.mediaTokens == tokens)
        #expect(p.promptTokens == p.textTokens + tokens)
    }

    @Test func twoImagesInBodyOrder() {
        let body = """
            {"messages":[{"role":"user","content":[\(imagePart(jpegURL(VisionSamples.png)))]},
             {"role":"assistant","content":"ok"},
             {"role":"user","content":[{"type":"text","text":"and"},\(imagePart(jpegURL(VisionSamples.gif)))]}]}
            """
        guard let p = profiled(body) else { return }
        #expect(p.media.map(\.index) == [0, 1])
        #expect(p.media.map(\.width) == [33, 19])
        #expect(p.media.map(\.height) == [17, 11])
        #expect(p.mediaTokens == glmTokens(33, 17) + glmTokens(19, 11))
    }

    @Test func stringFormImageURL() {
        let body = chat([#"{"type":"image_url","image_url":"\#(jpegURL(VisionSamples.webpLossy))"}"#])
        #expect(profiled(body)?.media.first?.width == 45)
        #expect(profiled(body)?.media.first?.height == 31)
    }

    @Test func membersInAnyOrder() {
        let body = chat([#"{"image_url":{"detail":"high","url":"\#(jpegURL(VisionSamples.png))"},"type":"image_url"}"#])
        #expect(profiled(body)?.media.first?.width == 33)
    }

    @Test func escapedSlashesEverywhere() {
        // PHP-style encoders write every '/' as '\/', in the media type and in the base64.
        for bytes in [VisionSamples.baselineJPEG, VisionSamples.bigExifJPEG] {
            let url = jpegURL(bytes).replacingOccurrences(of: "/", with: #"\/"#)
            #expect(url.hasPrefix(#"data:image\/jpeg;base64,"#))
            #expect(profiled(chat([imagePart(url)]))?.media.first?.width == 37)
            #expect(profiled(chat([imagePart(url)]))?.media.first?.height == 23)
        }
    }

    @Test func escapedLineBreaksAndUnicodeEscapes() {
        // Base64 wrapped at 76 columns with JSON "\r\n" escapes, and "data:" spelled with \u escapes.
        var wrapped = ""
        for (i, ch) in base64(VisionSamples.bigExifJPEG).enumerated() {
            if i > 0 && i % 76 == 0 { wrapped += #"\r\n"# }
            wrapped.append(ch)
        }
        let url = #"\u0064ata:image/jpeg;base64,"# + wrapped
        #expect(profiled(chat([imagePart(url)]))?.media.first?.width == 37)
    }

    @Test func uppercaseDataScheme() {
        #expect(
            profiled(chat([imagePart("DATA:image/png;base64," + base64(VisionSamples.png))]))?.media.first?.width == 33)
    }

    @Test func largeBodyDecodesOnlyTheHeader() {
        // ~3 MB of payload after a real JPEG header (the scan data is never reached).
        var generator = SeededGenerator(seed: 7)
        var bytes = VisionSamples.baselineJPEG
        bytes.reserveCapacity(2_300_000)
        while bytes.count < 2_250_000 { bytes.append(UInt8(truncatingIfNeeded: generator.next())) }
        let url = jpegURL(bytes)
        #expect(url.utf8.count > 3_000_000)
        let body = chat([#"{"type":"text","text":"describe"}"#, imagePart(url)])
        guard let p = profiled(body) else { return }
        #expect(
            p.media == [
                MediaPart(index: 0, kind: .image, source: .data, width: 37, height: 23, tokens: glmTokens(37, 23))
            ])
        #expect(p.textBytes == 8 + 8)

        // The probe over the body's bytes decodes about 1 KB, like DataURLImage.
        let raw = Array(url.utf8)
        let probe = raw.withUnsafeBytes { RequestProfiler.probeDataImage($0) }
        #expect(probe.result == .success(ImageDimensions(width: 37, height: 23, format: .jpeg)))
        #expect(probe.attempts == 1)
        #expect(probe.decodedBytes <= DataURLImage.initialDecodeBytes + 2)
    }

    @Test func bigExifMatchesDataURLImage() {
        let url = jpegURL(VisionSamples.bigExifJPEG)
        let reference = DataURLImage.probe(url[...])
        let probe = Array(url.utf8).withUnsafeBytes { RequestProfiler.probeDataImage($0) }
        #expect(probe.result == reference.result)
        #expect(probe.decodedBytes == reference.decodedBytes)
        #expect(probe.attempts == reference.attempts)
        #expect(profiled(chat([imagePart(url)]))?.media.first?.width == 37)
    }
}

// MARK: - Remote, video, audio, file://

struct MediaCase: Sendable, CustomTestStringConvertible {
    var label: String
    var part: String
    var costs = ProfileCosts()
    var expected: MediaPart
    var testDescription: String { label }
}

@Suite("RequestProfile: remote and other media")
struct RequestProfileMediaTests {
    static let fileAllowed = ProfileCosts(remoteImageTokens: 1000, allowFileMedia: true)
    static let cases: [MediaCase] = [
        MediaCase(
            label: "https image", part: imagePart("https://example.com/cat.jpg"),
            expected: MediaPart(index: 0, kind: .image, source: .remote, tokens: GLMImageCost().maxTokensPerImage)),
        MediaCase(
            label: "http image, configured cost", part: imagePart("HTTP://example.com/cat.jpg"),
            costs: ProfileCosts(remoteImageTokens: 777),
            expected: MediaPart(index: 0, kind: .image, source: .remote, tokens: 777)),
        MediaCase(
            label: "video", part: #"{"type":"video_url","video_url":{"url":"https://example.com/v.mp4"}}"#,
            expected: MediaPart(index: 0, kind: .video, source: .remote, tokens: 16_384)),
        MediaCase(
            label: "video as a string", part: #"{"type":"video_url","video_url":"https://example.com/v.mp4"}"#,
            costs: ProfileCosts(videoTokens: 9000),
            expected: MediaPart(index: 0, kind: .video, source: .remote, tokens: 9000)),
        MediaCase(
            label: "data: video is not decoded",
            part: #"{"type":"video_url","video_url":{"url":"data:video/mp4;base64,AAAA"}}"#,
            expected: MediaPart(index: 0, kind: .video, source: .data, tokens: 16_384)),
        MediaCase(
            label: "input_audio", part: #"{"type":"input_audio","input_audio":{"data":"UklGRg==","format":"wav"}}"#,
            expected: MediaPart(index: 0, kind: .audio, source: .data, tokens: 1500)),
        MediaCase(
            label: "audio_url", part: #"{"type":"audio_url","audio_url":{"url":"https://example.com/a.wav"}}"#,
            costs: ProfileCosts(audioTokens: 42),
            expected: MediaPart(index: 0, kind: .audio, source: .remote, tokens: 42)),
        MediaCase(
            label: "file:// image when allowed", part: imagePart("file:///srv/images/cat.jpg"), costs: fileAllowed,
            expected: MediaPart(index: 0, kind: .image, source: .file, tokens: 1000)),
        MediaCase(
            label: "file:// video when allowed",
            part: #"{"type":"video_url","video_url":{"url":"file:///srv/v.mp4"}}"#, costs: fileAllowed,
            expected: MediaPart(index: 0, kind: .video, source: .file, tokens: 16_384)),
        MediaCase(
            label: "part without type, classified by member", part: #"{"image_url":{"url":"https://e.com/x.png"}}"#,
            expected: MediaPart(index: 0, kind: .image, source: .remote, tokens: GLMImageCost().maxTokensPerImage)),
    ]

    @Test(arguments: cases)
    func priced(_ c: MediaCase) {
        #expect(profiled(chat([c.part]), costs: c.costs)?.media == [c.expected])
    }

    @Test func mixedKindsInOrder() {
        let body = chat([
            #"{"type":"video_url","video_url":{"url":"https://e.com/v.mp4"}}"#,
            imagePart(jpegURL(VisionSamples.png)),
            #"{"type":"input_audio","input_audio":{"data":"AA==","format":"wav"}}"#,
            imagePart("https://e.com/x.jpg"),
        ])
        guard let p = profiled(body) else { return }
        #expect(p.media.map(\.kind) == [.video, .image, .audio, .image])
        #expect(p.media.map(\.index) == [0, 1, 2, 3])
        #expect(p.media.map(\.source) == [.remote, .data, .data, .remote])
        #expect(p.mediaTokens == 16_384 + glmTokens(33, 17) + 1500 + GLMImageCost().maxTokensPerImage)
    }

    @Test func multiModalDataAndDecoysIgnored() {
        let body = """
            {"prompt":"x","multi_modal_data":{"image":{"type":"image_url","image_url":{"url":"file:///etc/passwd"}}},
             "metadata":{"messages":[{"content":[{"type":"image_url","image_url":{"url":"file:///x"}}]}]}}
            """
        #expect(profiled(body)?.media == [])
    }
}

// MARK: - Refusals

struct RefusalCase: Sendable, CustomTestStringConvertible {
    var label: String
    var body: String
    var reason: String
    var message: String
    var testDescription: String { label }
}

@Suite("RequestProfile: media refusals are 400")
struct RequestProfileRefusalTests {
    static let textPart = #"{"type":"text","text":"look"}"#
    static let goodImage = imagePart(jpegURL(VisionSamples.png))
    static let wideBytes: [UInt8] = {
        var png = VisionSamples.png  // IHDR width and height at bytes 16 and 20
        png.replaceSubrange(16..<24, with: [0, 0, 0x27, 0x10, 0, 0, 0, 10])  // 10000×10
        return png
    }()

    static let cases: [RefusalCase] = [
        RefusalCase(
            label: "corrupt base64", body: chat([textPart, imagePart("data:image/jpeg;base64,/9j/4A@@@@")]),
            reason: "invalid_image",
            message:
                "Image 0 (messages[0].content[1]) could not be read: the image is corrupt: invalid base64 character."),
        RefusalCase(
            label: "truncated image is the second part",
            body: chat([goodImage, imagePart(jpegURL(Array(VisionSamples.baselineJPEG.prefix(100))))]),
            reason: "invalid_image",
            message:
                "Image 1 (messages[0].content[1]) could not be read: the image data is truncated before its dimensions."
        ),
        RefusalCase(
            label: "unsupported format", body: chat([imagePart(jpegURL(Array("just some text, no image".utf8)))]),
            reason: "invalid_image",
            message: "Image 0 (messages[0].content[0]) could not be read: the image is not JPEG, PNG, GIF or WebP."),
        RefusalCase(
            label: "not base64", body: chat([imagePart("data:image/png,rawbytes")]), reason: "invalid_image",
            message:
                "Image 0 (messages[0].content[0]) could not be read: the image is corrupt: only base64 data URLs are supported."
        ),
        RefusalCase(
            label: "aspect ratio", body: chat([imagePart(jpegURL(wideBytes))]), reason: "invalid_image",
            message:
                "Image 0 (messages[0].content[0]) is not accepted: \(ImageCostError.aspectRatioTooLarge(width: 10000, height: 10))."
        ),
        RefusalCase(
            label: "ftp scheme", body: chat([imagePart("ftp://e.com/x.jpg")]), reason: "invalid_image",
            message:
                "Image 0 (messages[0].content[0]) has an unsupported URL; expected a data:, http:// or https:// URL."),
        RefusalCase(
            label: "no scheme", body: chat([imagePart("cat.jpg")]), reason: "invalid_image",
            message:
                "Image 0 (messages[0].content[0]) has an unsupported URL; expected a data:, http:// or https:// URL."),
        RefusalCase(
            label: "image_url without url", body: chat([#"{"type":"image_url","image_url":{"detail":"low"}}"#]),
            reason: "invalid_image", message: "Image 0 (messages[0].content[0]) has no URL."),
        RefusalCase(
            label: "file:// image", body: chat([goodImage, imagePart("file:///etc/shadow")]),
            reason: "file_media_refused",
            message: "Local file media (file://) is not accepted from clients; ask the operator to allow it."),
        RefusalCase(
            label: "file:// video, escaped",
            body: chat([#"{"type":"video_url","video_url":{"url":"file:\/\/\/v.mp4"}}"#]), reason: "file_media_refused",
            message: "Local file media (file://) is not accepted from clients; ask the operator to allow it."),
    ]

    @Test(arguments: cases)
    func refused(_ c: RefusalCase) {
        guard let error = refusal(c.body) else { return }
        #expect(error.status == 400)
        #expect(error.type == "BadRequestError")
        #expect(error.reason == c.reason)
        #expect(error.message == c.message)
    }

    @Test func invalidJSONWinsOverMedia() {
        let body = chat([imagePart("file:///etc/shadow")]) + ","
        #expect(refusal(body)?.reason == "invalid_json")
    }
}

// MARK: - Text, priority, summary

struct TextCase: Sendable, CustomTestStringConvertible {
    var label: String
    var body: String
    var textBytes: Int
    var promptTokenIDs = 0
    var textTokens: Int
    var testDescription: String { label }
}

@Suite("RequestProfile: text estimate")
struct RequestProfileTextTests {
    static let cases: [TextCase] = [
        TextCase(label: "empty object", body: "{}", textBytes: 0, textTokens: 1),
        TextCase(
            label: "string content", body: #"{"messages":[{"role":"user","content":"Hello"}]}"#, textBytes: 13,
            textTokens: 4),
        TextCase(
            label: "system and user",
            body: #"{"messages":[{"role":"system","content":"Be brief."},{"role":"user","content":"Hi there"}]}"#,
            textBytes: 9 + 8 + 8 + 8, textTokens: 9),
        TextCase(
            label: "part list: text parts only",
            body: chat([
                #"{"type":"text","text":"What is"}"#, imagePart("https://e.com/a.png"),
                #"{"type":"text","text":"this?"}"#,
            ]),
            textBytes: 7 + 5 + 8, textTokens: 5),
        TextCase(
            label: "null content and tool calls", body: #"{"messages":[{"role":"assistant","content":null}]}"#,
            textBytes: 8, textTokens: 2),
        TextCase(
            label: "escapes count raw", body: #"{"messages":[{"role":"user","content":"a\nb\u00e9"}]}"#,
            textBytes: 10 + 8, textTokens: 5),
        TextCase(
            label: "raw UTF-8 counts bytes", body: #"{"messages":[{"role":"user","content":"模型"}]}"#, textBytes: 6 + 8,
            textTokens: 4),
        TextCase(label: "completions string prompt", body: #"{"prompt":"abcdefgh"}"#, textBytes: 8, textTokens: 2),
        TextCase(label: "completions prompt list", body: #"{"prompt":["ab","cde"]}"#, textBytes: 5, textTokens: 2),
        TextCase(label: "token ids", body: #"{"prompt":[1,2,3]}"#, textBytes: 0, promptTokenIDs: 3, textTokens: 3),
        TextCase(
            label: "batched token ids", body: #"{"prompt":[[1,2],[3]]}"#, textBytes: 0, promptTokenIDs: 3, textTokens: 3
        ),
        TextCase(
            label: "tools counted raw",
            body: #"{"tools":[{"type":"function"}],"messages":[{"role":"user","content":"x"}]}"#,
            textBytes: #"[{"type":"function"}]"#.utf8.count + 1 + 8, textTokens: 8),
        TextCase(
            label: "other strings not counted",
            body:
                #"{"model":"a-long-model-name","stop":["\n"],"messages":[{"role":"user","name":"bob","content":"x"}]}"#,
            textBytes: 9, textTokens: 3),
    ]

    @Test(arguments: cases)
    func estimate(_ c: TextCase) {
        guard let p = profiled(c.body) else { return }
        #expect(p.textBytes == c.textBytes)
        #expect(p.promptTokenIDs == c.promptTokenIDs)
        #expect(p.textTokens == c.textTokens)
    }

    @Test func bytesPerTokenConfigurable() {
        let body = #"{"prompt":"abcdefghij"}"#
        #expect(profiled(body, costs: ProfileCosts(utf8BytesPerToken: 3))?.textTokens == 4)
        #expect(profiled(body, costs: ProfileCosts(utf8BytesPerToken: 10))?.textTokens == 1)
    }
}

@Suite("RequestProfile: session seed")
struct RequestProfileSeedTests {
    static func body(system: String?, user: String, image: Bool = false) -> String {
        let sys = system.map { #"{"role":"system","content":"\#($0)"},"# } ?? ""
        let img = image ? imagePart(jpegURL(VisionSamples.png)) + "," : ""
        return #"{"messages":[\#(sys){"role":"user","content":[\#(img){"type":"text","text":"\#(user)"}]},"#
            + #"{"role":"assistant","content":"sure"},{"role":"user","content":"second"}]}"#
    }

    @Test func matchesReferenceHash() {
        #expect(
            profiled(Self.body(system: "You are helpful.", user: "hello"))?.sessionSeed
                == seed(system: "You are helpful.", user: "hello"))
        #expect(profiled(Self.body(system: nil, user: "hello"))?.sessionSeed == seed(system: "", user: "hello"))
    }

    @Test func stableAndDiscriminating() {
        let a = profiled(Self.body(system: "S", user: "hello"))?.sessionSeed
        #expect(a == profiled(Self.body(system: "S", user: "hello"))?.sessionSeed)
        #expect(a != profiled(Self.body(system: "S", user: "hello!"))?.sessionSeed)
        #expect(a != profiled(Self.body(system: "T", user: "hello"))?.sessionSeed)
        #expect(a != profiled(Self.body(system: "Shello", user: ""))?.sessionSeed)
        #expect(a != 0)
    }

    @Test func unaffectedByImagesAndLaterTurns() {
        let plain = profiled(Self.body(system: "S", user: "what is this"))?.sessionSeed
        #expect(plain == profiled(Self.body(system: "S", user: "what is this", image: true))?.sessionSeed)
    }

    @Test func stringAndPartFormsAgree() {
        let string = #"{"messages":[{"content":"sys","role":"system"},{"role":"user","content":"hi"}]}"#
        let parts =
            #"{"messages":[{"role":"system","content":[{"type":"text","text":"sys"}]},{"role":"user","content":[{"type":"text","text":"h"},{"type":"text","text":"i"}]}]}"#
        let escaped = #"{"messages":[{"role":"system","content":"s\u0079s"},{"role":"user","content":"h\u0069"}]}"#
        #expect(profiled(string)?.sessionSeed == seed(system: "sys", user: "hi"))
        #expect(profiled(parts)?.sessionSeed == seed(system: "sys", user: "hi"))
        #expect(profiled(escaped)?.sessionSeed == seed(system: "sys", user: "hi"))
    }

    @Test func zeroWithoutSystemOrUser() {
        #expect(profiled(#"{"prompt":"hello"}"#)?.sessionSeed == 0)
        #expect(profiled(#"{"messages":[{"role":"assistant","content":"x"}]}"#)?.sessionSeed == 0)
    }
}

struct PriorityCase: Sendable, CustomTestStringConvertible {
    var json: String
    var expected: Int?
    var testDescription: String { json }
}

@Suite("RequestProfile: priority and summary")
struct RequestProfileSummaryTests {
    static let priorities: [PriorityCase] = [
        PriorityCase(json: #"{"priority":3}"#, expected: 3),
        PriorityCase(json: #"{"priority":-10}"#, expected: -10),
        PriorityCase(json: #"{"priority":3.0}"#, expected: 3),
        PriorityCase(json: #"{"priority":1e2}"#, expected: 100),
        PriorityCase(json: #"{"priority":"3"}"#, expected: nil),
        PriorityCase(json: #"{"priority":null}"#, expected: nil),
        PriorityCase(json: #"{"priority":1,"priority":2}"#, expected: 2),
        PriorityCase(json: #"{"options":{"priority":4}}"#, expected: nil),
        PriorityCase(json: #"{}"#, expected: nil),
    ]

    @Test(arguments: priorities)
    func priority(_ c: PriorityCase) {
        #expect(profiled(c.json)?.priority == c.expected)
    }

    @Test(
        "values vLLM could never accept in the fields Switchyard reads are refused with the field named",
        arguments: [
            (#"{"priority":2.5}"#, "priority"), (#"{"priority":true}"#, "priority"),
            (#"{"priority":1e12}"#, "priority"), (#"{"max_tokens":0}"#, "max_tokens"),
            (#"{"max_tokens":-5}"#, "max_tokens"), (#"{"max_tokens":1e308}"#, "max_tokens"),
            (#"{"max_completion_tokens":99999999999999999999999}"#, "max_completion_tokens"),
            (#"{"max_tokens":[1]}"#, "max_tokens"), (#"{"model":5}"#, "model"), (#"{"model":["a"]}"#, "model"),
            (#"{"stream":{}}"#, "stream"), (#"{"stream_options":true}"#, "stream_options"),
            (#"{"stream_options":{"include_usage":[]}}"#, "stream_options.include_usage"),
            (#"{"messages":"hi"}"#, "messages"), (#"{"prompt":{}}"#, "prompt"),
        ])
    func invalidFields(_ json: String, _ field: String) {
        guard case .failure(let error) = profile(json) else {
            Issue.record("\(json) was accepted")
            return
        }
        #expect(error.status == 400 && error.reason == "invalid_field" && error.param == field)
        #expect(error.message.hasPrefix("`\(field)` must be"))
    }

    @Test("strings where numbers belong are left to vLLM's lax parsing; null is absent")
    func laxValuesPass() {
        for json in [#"{"max_tokens":"10"}"#, #"{"stream":"true"}"#, #"{"priority":null}"#, #"{"model":null}"#] {
            #expect(profiled(json) != nil, "\(json)")
        }
    }

    @Test("with an endpoint, its required member must be there")
    func requiredMembers() {
        let chat = Array(#"{"model":"m","prompt":"x"}"#.utf8)
        let result = chat.withUnsafeBytes {
            RequestProfiler.profile($0, costs: ProfileCosts(), endpoint: .chatCompletions)
        }
        guard case .failure(let error) = result else {
            Issue.record("a chat request without messages was accepted")
            return
        }
        #expect(error.param == "messages" && error.reason == "invalid_field")
        let completion = chat.withUnsafeBytes {
            RequestProfiler.profile($0, costs: ProfileCosts(), endpoint: .completions)
        }
        #expect((try? completion.get()) != nil)
    }

    @Test func outputBudgetPrecedence() {
        #expect(profiled(#"{"max_tokens":10,"max_completion_tokens":20}"#)?.summary.outputBudget == 20)
        #expect(profiled(#"{"max_completion_tokens":20,"max_tokens":10}"#)?.summary.outputBudget == 20)
        #expect(profiled(#"{"max_tokens":10}"#)?.summary.outputBudget == 10)
        #expect(profiled(#"{"max_tokens":10.0}"#)?.summary.outputBudget == 10)
        #expect(profiled(#"{}"#)?.summary.outputBudget == nil)
    }

    static let inspectorCases = RequestInspectorExtractionTests.cases + RequestInspectorExtractionTests.nestedDecoys

    @Test(arguments: inspectorCases)
    func summaryMatchesInspector(_ c: SummaryCase) {
        switch profile(c.body) {
        case .success(let p): #expect(p.summary == c.expected)
        // Some inspector bodies carry placeholder images the profiler reads and rejects, or values
        // the inspector reads leniently and the profiler refuses (vLLM would too).
        case .failure(let error):
            #expect(["invalid_image", "file_media_refused", "invalid_field"].contains(error.reason))
        }
    }

    @Test(arguments: RequestInspectorInvalidTests.cases)
    func invalidJSONMatchesInspector(_ c: InvalidCase) {
        let expected = inspect(bytes: c.bytes)
        guard case .failure(let error) = expected else {
            Issue.record("inspector accepted \(c.label)")
            return
        }
        #expect(profile(bytes: c.bytes) == .failure(error))
        #expect(error.reason == "invalid_json")
    }
}

// MARK: - The deep visitor

@Suite("JSONScanner: deep visitor")
struct RequestProfileDeepVisitorTests {
    @Test func eventsAndPaths() throws {
        let text = #"{"a":[1,{"b":"x\/y"}],"c":{"d":true},"e":null}"#
        let bytes = Array(text.utf8)
        var events: [String] = []
        var top: [String] = []
        try bytes.withUnsafeBytes { raw in
            var scanner = JSONScanner(raw)
            try scanner.scanObject(
                decodedStrings: [], visit: { path, _ in top.append(path.joined(separator: ".")) },
                deep: { path, event in
                    let p = path.map { c -> String in
                        switch c {
                        case .member(let m): m
                        case .index(let i): "\(i)"
                        }
                    }.joined(separator: ".")
                    switch event {
                    case .string(let range, let escaped):
                        events.append("\(p)=\(String(decoding: bytes[range], as: UTF8.self))\(escaped ? "!" : "")")
                    case .containerEnd(let range): events.append("\(p)}\(range.count)")
                    case .objectStart: events.append("\(p){")
                    case .arrayStart: events.append("\(p)[")
                    case .number(let n, _): events.append("\(p)=\(Int(n))")
                    case .bool(let b): events.append("\(p)=\(b)")
                    case .null: events.append("\(p)=null")
                    }
                })
        }
        #expect(
            events == [
                "{", "a[", "a.0=1", "a.1{", #"a.1.b=x\/y!"#, "a.1}12", "a}16", "c{", "c.d=true", "c}10", "e=null",
                "}\(bytes.count)",
            ])
        #expect(top == ["a", "c.d", "c", "e"])
    }
}
