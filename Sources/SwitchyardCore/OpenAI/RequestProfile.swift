/// One image, video or audio input of a request, in body order.
public struct MediaPart: Sendable, Equatable {
    public enum Kind: String, Sendable { case image, video, audio }
    public enum Source: Sendable, Equatable { case data, remote, file }

    /// 0-based position among the request's media parts, in body order.
    public var index: Int
    public var kind: Kind
    public var source: Source
    /// Pixel size, known for `data:` images only.
    public var width: Int?
    public var height: Int?
    /// The prompt-token cost used for admission and accounting.
    public var tokens: Int

    public init(
        index: Int, kind: Kind, source: Source, width: Int? = nil, height: Int? = nil, tokens: Int
    ) {
        self.index = index
        self.kind = kind
        self.source = source
        self.width = width
        self.height = height
        self.tokens = tokens
    }
}

/// How the profiler prices the parts of a request (configuration).
public struct ProfileCosts: Sendable, Equatable {
    public var imageCost = GLMImageCost()
    /// Cost of an image the backend fetches itself (size unknown): the most an image can cost.
    public var remoteImageTokens: Int
    public var videoTokens = 16_384
    public var audioTokens = 1_500
    /// Text is estimated at this many UTF-8 bytes per token.
    public var utf8BytesPerToken = 4.0
    /// Whether `file://` media from clients is accepted (then priced like remote media).
    public var allowFileMedia = false
    /// Where `http(s)://` media may come from (empty: anywhere).
    public var mediaDomains = MediaDomains([])

    public init(
        imageCost: GLMImageCost = GLMImageCost(), remoteImageTokens: Int? = nil, videoTokens: Int = 16_384,
        audioTokens: Int = 1_500, utf8BytesPerToken: Double = 4.0, allowFileMedia: Bool = false,
        mediaDomains: [String] = []
    ) {
        self.mediaDomains = MediaDomains(mediaDomains)
        self.imageCost = imageCost
        self.remoteImageTokens = remoteImageTokens ?? imageCost.maxTokensPerImage
        self.videoTokens = videoTokens
        self.audioTokens = audioTokens
        self.utf8BytesPerToken = utf8BytesPerToken
        self.allowFileMedia = allowFileMedia
    }
}

/// The scheduler's view of a generation request, read in one pass over the body.
public struct RequestProfile: Sendable, Equatable {
    /// model, stream, include_usage and output budget, exactly as `RequestInspector` reads them.
    public var summary: RequestSummary
    /// Top-level `priority` when it is a whole number (`3` or `3.0`).
    public var priority: Int?
    /// Estimated UTF-8 bytes of the text the model reads; see `RequestProfiler`.
    public var textBytes: Int
    /// Completions `prompt` token ids (each counts one token, not bytes).
    public var promptTokenIDs: Int
    /// `ceil(textBytes / utf8BytesPerToken) + promptTokenIDs`, at least 1.
    public var textTokens: Int
    public var media: [MediaPart]
    /// FNV-1a 64 of the first system message's text, a 0xFF byte and the first user message's
    /// text (text parts only), for session affinity; 0 when the request has neither.
    public var sessionSeed: UInt64

    public var mediaTokens: Int { media.reduce(0) { $0 + $1.tokens } }
    public var promptTokens: Int { textTokens + mediaTokens }

    public init(
        summary: RequestSummary = RequestSummary(), priority: Int? = nil, textBytes: Int = 0,
        promptTokenIDs: Int = 0, textTokens: Int = 1, media: [MediaPart] = [], sessionSeed: UInt64 = 0
    ) {
        self.summary = summary
        self.priority = priority
        self.textBytes = textBytes
        self.promptTokenIDs = promptTokenIDs
        self.textTokens = textTokens
        self.media = media
        self.sessionSeed = sessionSeed
    }
}

/// Builds a `RequestProfile` with one `JSONScanner` pass (the deep visitor) over the body.
///
/// What counts as text (`textBytes`):
/// - every `messages[i].content` string and every `messages[i].content[j].text` string;
/// - completions `prompt` as a string or a list of strings; token ids (`[1,2]` or `[[1,2]]`)
///   are counted in `promptTokenIDs`, one token each, not as bytes;
/// - the raw byte length of the `tools` value (the chat template renders the JSON schema);
/// - 8 bytes per message for the role header and template tokens around it.
///
/// Strings are measured by their raw (still escaped) length: `\n` counts 2 bytes, `\u00e9`
/// 6. That overestimates escaped text slightly and never requires decoding it.
///
/// Media (`messages[i].content[j]`): `type` `image_url` with `image_url: {"url": U}` or
/// `image_url: U`; `input_image` with `image_url: U` (the Responses API's form, which vLLM
/// also accepts); `video_url` likewise; `audio_url` likewise; `input_audio` (inline audio).
/// A part without `type` is classified by which of those members it has. Completions
/// `multi_modal_data` is ignored. `data:` images are sized by decoding only the base64 prefix
/// the image header needs, straight from the body bytes (no copy of the string); when the URL
/// contains JSON escapes (e.g. `data:image\/jpeg` or `\/` inside the base64), escapes are
/// undone on the fly for the header and for a growing prefix of the payload only.
public enum RequestProfiler {
    /// Which endpoint the body is for: it decides the required member (`messages` or `prompt`).
    public enum Endpoint: Sendable {
        case chatCompletions, completions
    }

    /// With `endpoint`, its required member (`messages` or `prompt`) must be present.
    public static func profile(
        _ body: UnsafeRawBufferPointer, costs: ProfileCosts, endpoint: Endpoint? = nil
    ) -> Result<RequestProfile, OpenAIError> {
        var fields = TopLevelFields()
        var state = ScanState()
        var scanner = JSONScanner(body)
        do {
            try scanner.scanObject(
                decodedStrings: TopLevelFields.decodedStrings, visit: { fields.visit($0, $1) },
                deep: { path, event in state.handle(path, event, body: body) })
        } catch {
            return .failure(RequestInspector.invalidJSON(error, empty: body.isEmpty))
        }
        if let invalid = fields.invalid { return .failure(invalid) }
        switch endpoint {
        case .chatCompletions? where !fields.sawMessages:
            return .failure(
                OpenAIError(
                    status: 400, message: "`messages` is required (an array of messages).", param: "messages",
                    reason: "invalid_field"))
        case .completions? where !fields.sawPrompt:
            return .failure(
                OpenAIError(
                    status: 400, message: "`prompt` is required (a string or an array).", param: "prompt",
                    reason: "invalid_field"))
        default: break
        }
        let summary = fields.summary
        let priority = fields.priority

        var media: [MediaPart] = []
        media.reserveCapacity(state.parts.count)
        for (index, part) in state.parts.enumerated() {
            switch price(part, index: index, body: body, costs: costs) {
            case .success(let priced): media.append(priced)
            case .failure(let error): return .failure(error)
            }
        }

        let estimate = (Double(state.textBytes) / max(costs.utf8BytesPerToken, .leastNormalMagnitude)).rounded(.up)
        let textTokens = max(1, (Int(exactly: estimate) ?? Int.max / 2) + state.promptTokenIDs)
        var seed: UInt64 = 0
        if state.systemText != nil || state.userText != nil {
            var hash = FNV1a64()
            for text in state.systemText ?? [] { hash.add(text, in: body) }
            hash.add(byte: 0xFF)
            for text in state.userText ?? [] { hash.add(text, in: body) }
            seed = hash.value
        }
        return .success(
            RequestProfile(
                summary: summary, priority: priority, textBytes: state.textBytes,
                promptTokenIDs: state.promptTokenIDs, textTokens: textTokens, media: media, sessionSeed: seed))
    }

    // MARK: - Scan state

    /// A string value's location in the body.
    struct StringRef {
        var bytes: Range<Int>
        var hasEscapes: Bool
    }

    /// A media part found by the scan, priced after the scan succeeds.
    struct PendingPart {
        var kind: MediaPart.Kind
        var url: StringRef?
        var message: Int
        var part: Int
    }

    /// One `messages[i].content[j]` object while it is being scanned.
    struct OpenPart {
        var type: String?
        /// The media members present (`image_url`, `video_url`, `audio_url`) and their URLs:
        /// vLLM fetches only the one `type` names, so that is the one checked and priced.
        var urlMembers: Set<String> = []
        var urls: [String: StringRef] = [:]
        var hasInputAudio = false
        var texts: [StringRef] = []
    }

    struct ScanState {
        var textBytes = 0
        var promptTokenIDs = 0
        var parts: [PendingPart] = []
        var systemText: [StringRef]?
        var userText: [StringRef]?
        // The message and part being scanned.
        var role: String?
        var messageTexts: [StringRef] = []
        var openPart: OpenPart?

        mutating func handle(
            _ path: [JSONScanner.PathComponent], _ event: JSONScanner.DeepEvent, body: UnsafeRawBufferPointer
        ) {
            guard let first = path.first, case .member(let top) = first else { return }
            switch top {
            case "messages": handleMessages(path, event, body: body)
            case "prompt":
                switch (path.count, event) {
                case (1, .string(let bytes, _)), (2, .string(let bytes, _)): textBytes += bytes.count
                case (2, .number), (3, .number): promptTokenIDs += 1
                default: break
                }
            case "tools":
                if path.count == 1, case .containerEnd(let bytes) = event { textBytes += bytes.count }
            default: break
            }
        }

        private mutating func handleMessages(
            _ path: [JSONScanner.PathComponent], _ event: JSONScanner.DeepEvent, body: UnsafeRawBufferPointer
        ) {
            guard path.count >= 2, case .index(let message) = path[1] else { return }
            if path.count == 2 {
                switch event {
                case .objectStart:
                    textBytes += RequestProfiler.messageOverheadBytes
                    role = nil
                    messageTexts = []
                case .containerEnd:
                    if role == "system", systemText == nil { systemText = messageTexts }
                    if role == "user", userText == nil { userText = messageTexts }
                default: break
                }
                return
            }
            guard case .member(let member) = path[2] else { return }
            if path.count == 3 {
                switch (member, event) {
                case ("role", .string(let bytes, let escaped)):
                    role = RequestProfiler.shortString(bytes, escaped, in: body)
                case ("content", .string(let bytes, let escaped)):
                    textBytes += bytes.count
                    messageTexts = [StringRef(bytes: bytes, hasEscapes: escaped)]
                default: break
                }
                return
            }
            guard member == "content", case .index(let part) = path[3] else { return }
            if path.count == 4 {
                switch event {
                case .objectStart: openPart = OpenPart()
                case .containerEnd:
                    if let open = openPart { close(open, message: message, part: part) }
                    openPart = nil
                default: break
                }
                return
            }
            guard openPart != nil, case .member(let key) = path[4] else { return }
            switch (path.count, key, event) {
            case (5, "type", .string(let bytes, let escaped)):
                openPart?.type = RequestProfiler.shortString(bytes, escaped, in: body)
            case (5, "text", .string(let bytes, let escaped)):
                textBytes += bytes.count
                openPart?.texts.append(StringRef(bytes: bytes, hasEscapes: escaped))
            case (5, "image_url", .string(let bytes, let escaped)), (5, "video_url", .string(let bytes, let escaped)),
                (5, "audio_url", .string(let bytes, let escaped)):
                openPart?.urls[key] = StringRef(bytes: bytes, hasEscapes: escaped)
                openPart?.urlMembers.insert(key)
            case (5, "image_url", .objectStart), (5, "video_url", .objectStart), (5, "audio_url", .objectStart):
                // A repeated member replaces the earlier one, as in Python's json.
                openPart?.urls[key] = nil
                openPart?.urlMembers.insert(key)
            case (6, "image_url", .string(let bytes, let escaped)), (6, "video_url", .string(let bytes, let escaped)),
                (6, "audio_url", .string(let bytes, let escaped)):
                if case .member("url") = path[5] {
                    openPart?.urls[key] = StringRef(bytes: bytes, hasEscapes: escaped)
                    openPart?.urlMembers.insert(key)
                }
            case (5, "input_audio", _):
                openPart?.hasInputAudio = true
            default: break
            }
        }

        private mutating func close(_ open: OpenPart, message: Int, part: Int) {
            // Without a type, vLLM takes the first of these members the part has.
            let member =
                open.type
                ?? ["image_url", "audio_url", "input_audio", "video_url"].first {
                    open.urlMembers.contains($0) || ($0 == "input_audio" && open.hasInputAudio)
                }
            let kind: MediaPart.Kind?
            switch member ?? (open.texts.isEmpty ? nil : "text") {
            case "text", "input_text", "output_text":
                messageTexts.append(contentsOf: open.texts)
                kind = nil
            // vLLM also takes the Responses API's `{"type":"input_image","image_url":"<url>"}`.
            case "image_url", "input_image": kind = .image
            case "video_url": kind = .video
            case "audio_url", "input_audio": kind = .audio
            default: kind = nil
            }
            guard let kind else { return }
            // The URL vLLM fetches: the named member's (input_audio carries its data inline).
            let url = member.flatMap { open.urls[$0 == "input_image" ? "image_url" : $0] }
            parts.append(PendingPart(kind: kind, url: url, message: message, part: part))
        }
    }

    /// Role/template overhead added per message.
    static let messageOverheadBytes = 8

    /// A short string's decoded value (roles, part types); nil when longer than 64 bytes.
    static func shortString(_ bytes: Range<Int>, _ escaped: Bool, in body: UnsafeRawBufferPointer) -> String? {
        guard bytes.count <= 64 else { return nil }
        return JSONScanner.decodeValidatedString(UnsafeRawBufferPointer(rebasing: body[bytes]))
    }

    // MARK: - Pricing media

    static func price(_ part: PendingPart, index: Int, body: UnsafeRawBufferPointer, costs: ProfileCosts) -> Result<
        MediaPart, OpenAIError
    > {
        let noun =
            switch part.kind {
            case .image: "Image"
            case .video: "Video"
            case .audio: "Audio"
            }
        let name = "\(noun) \(index) (messages[\(part.message)].content[\(part.part)])"
        func refuse(_ detail: String, reason: String = "invalid_image") -> Result<MediaPart, OpenAIError> {
            .failure(OpenAIError(status: 400, message: "\(name) \(detail)", param: "messages", reason: reason))
        }
        let flatCost =
            switch part.kind {
            case .image: costs.remoteImageTokens
            case .video: costs.videoTokens
            case .audio: costs.audioTokens
            }
        guard let url = part.url else {
            if part.kind == .audio {
                return .success(MediaPart(index: index, kind: .audio, source: .data, tokens: flatCost))
            }
            return refuse("has no URL.")
        }
        let raw = UnsafeRawBufferPointer(rebasing: body[url.bytes])
        switch scheme(of: raw) {
        case "http", "https":
            if !costs.mediaDomains.isEmpty {
                let text =
                    url.hasEscapes
                    ? JSONScanner.decodeValidatedString(raw) : String(decoding: raw, as: UTF8.self)
                guard costs.mediaDomains.allows(text) else {
                    return .failure(
                        OpenAIError(
                            status: 400,
                            message:
                                "\(name) is fetched from a host that is not allowed (admission.media_domains); send "
                                + "it inline as a data: URL or from an allowed host.",
                            param: "messages", reason: "media_domain_refused"))
                }
            }
            return .success(MediaPart(index: index, kind: part.kind, source: .remote, tokens: flatCost))
        case "file":
            guard costs.allowFileMedia else {
                return .failure(
                    OpenAIError(
                        status: 400,
                        message:
                            "Local file media (file://) is not accepted from clients; ask the operator to allow it.",
                        param: "messages", reason: "file_media_refused"))
            }
            return .success(MediaPart(index: index, kind: part.kind, source: .file, tokens: flatCost))
        case "data":
            guard part.kind == .image else {
                return .success(MediaPart(index: index, kind: part.kind, source: .data, tokens: flatCost))
            }
            let dimensions: ImageDimensions
            switch probeDataImage(raw, hasEscapes: url.hasEscapes).result {
            case .success(let found): dimensions = found
            case .failure(let error): return refuse("could not be read: \(error).")
            }
            do {
                let tokens = try costs.imageCost.tokens(width: dimensions.width, height: dimensions.height)
                return .success(
                    MediaPart(
                        index: index, kind: .image, source: .data, width: dimensions.width, height: dimensions.height,
                        tokens: tokens))
            } catch {
                return refuse("is not accepted: \(error).")
            }
        default:
            return refuse("has an unsupported URL; expected a data:, http:// or https:// URL.")
        }
    }

    /// The URL's scheme, lowercased, or nil when it has none within its first 16 characters.
    static func scheme(of raw: UnsafeRawBufferPointer) -> String? {
        var reader = EscapedBytes(raw)
        var scheme: [UInt8] = []
        while scheme.count <= 16, let byte = reader.next() {
            if byte == UInt8(ascii: ":") { return String(decoding: scheme, as: UTF8.self) }
            scheme.append(byte | (UInt8(ascii: "A")...UInt8(ascii: "Z") ~= byte ? 0x20 : 0))
        }
        return nil
    }

    /// `DataURLImage.probe` over the raw (possibly escaped) contents of a JSON string: the
    /// header up to the first `,` is unescaped and split by `DataURLImage.parse`; the payload is
    /// decoded in place when it has no escapes, else from a growing unescaped prefix.
    /// `hasEscapes: false` (from the scanner) skips looking for escapes in the payload.
    static func probeDataImage(_ raw: UnsafeRawBufferPointer, hasEscapes: Bool = true) -> DataURLImage.Probe {
        var reader = EscapedBytes(raw)
        var header: [UInt8] = []
        while header.count < 4096, let byte = reader.next() {
            header.append(byte)
            if byte == UInt8(ascii: ",") { break }
        }
        if case .failure(let error) = DataURLImage.parse(String(decoding: header, as: UTF8.self)[...]) {
            return DataURLImage.Probe(result: .failure(error), decodedBytes: 0, attempts: 0)
        }
        let payload = UnsafeRawBufferPointer(rebasing: raw[reader.position...])
        if !hasEscapes || !payload.contains(UInt8(ascii: "\\")) {
            return payload.withMemoryRebound(to: UInt8.self) { probePayload($0) }
        }
        return probeEscapedPayload(payload)
    }

    /// The loop of `DataURLImage.probe`, over bytes of the body.
    private static func probePayload(_ input: UnsafeBufferPointer<UInt8>) -> DataURLImage.Probe {
        var decoder = Base64PrefixDecoder()
        var output: [UInt8] = []
        var limit = DataURLImage.initialDecodeBytes
        var attempts = 0
        while true {
            attempts += 1
            output.reserveCapacity(min(limit, input.count / 4 * 3 + 3))
            if case .failure(let error) = decoder.decode(input, into: &output, limit: limit) {
                return DataURLImage.Probe(result: .failure(error), decodedBytes: output.count, attempts: attempts)
            }
            let result = output.withUnsafeBytes { ImageHeader.dimensions($0) }
            if case .failure(.truncated) = result, !decoder.isAtEnd {
                limit = growing(limit)
                continue
            }
            return DataURLImage.Probe(result: result, decodedBytes: output.count, attempts: attempts)
        }
    }

    /// For a payload with JSON escapes: unescape a prefix, decode it, and grow the prefix while
    /// the header is cut short. A result is only trusted when the decoder stopped before the
    /// end of the prefix (or the prefix is the whole payload), so a prefix cut mid-quantum is
    /// never mistaken for a corrupt payload.
    private static func probeEscapedPayload(_ payload: UnsafeRawBufferPointer) -> DataURLImage.Probe {
        var reader = EscapedBytes(payload)
        var text: [UInt8] = []
        var limit = DataURLImage.initialDecodeBytes
        var attempts = 0
        while true {
            attempts += 1
            let wanted = limit.multipliedReportingOverflow(by: 2).overflow ? Int.max : limit * 2
            while text.count < wanted, let byte = reader.next() { text.append(byte) }
            let whole = reader.isAtEnd
            var decoder = Base64PrefixDecoder()
            var output: [UInt8] = []
            let decoded = text.withUnsafeBufferPointer {
                decoder.decode($0, into: &output, limit: whole ? Int.max : limit)
            }
            if !whole && decoder.isAtEnd {
                limit = growing(limit)
                continue
            }
            if case .failure(let error) = decoded {
                return DataURLImage.Probe(result: .failure(error), decodedBytes: output.count, attempts: attempts)
            }
            let result = output.withUnsafeBytes { ImageHeader.dimensions($0) }
            if case .failure(.truncated) = result, !whole {
                limit = growing(limit)
                continue
            }
            return DataURLImage.Probe(result: result, decodedBytes: output.count, attempts: attempts)
        }
    }

    private static func growing(_ limit: Int) -> Int {
        let (grown, overflow) = limit.multipliedReportingOverflow(by: DataURLImage.growthFactor)
        return overflow ? Int.max : grown
    }
}

/// The bytes of a validated JSON string's contents with escapes undone, one at a time. Only for
/// ASCII contexts (URL schemes, data URL headers, base64): a `\u` escape beyond ASCII yields
/// 0xFF, which those parsers reject.
struct EscapedBytes {
    private let raw: UnsafeRawBufferPointer
    private(set) var position = 0

    init(_ raw: UnsafeRawBufferPointer) { self.raw = raw }

    var isAtEnd: Bool { position >= raw.count }

    mutating func next() -> UInt8? {
        guard position < raw.count else { return nil }
        let byte = raw[position]
        position += 1
        guard byte == UInt8(ascii: "\\"), position < raw.count else { return byte }
        let escaped = raw[position]
        position += 1
        switch escaped {
        case UInt8(ascii: "b"): return 0x08
        case UInt8(ascii: "f"): return 0x0C
        case UInt8(ascii: "n"): return 0x0A
        case UInt8(ascii: "r"): return 0x0D
        case UInt8(ascii: "t"): return 0x09
        case UInt8(ascii: "u"):
            var value: UInt32 = 0
            for _ in 0..<4 where position < raw.count {
                let digit = raw[position]
                position += 1
                let nibble: UInt8
                switch digit {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): nibble = digit - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): nibble = digit - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): nibble = digit - UInt8(ascii: "A") + 10
                default: nibble = 0
                }
                value = value << 4 | UInt32(nibble)
            }
            return value < 0x80 ? UInt8(value) : 0xFF
        default: return escaped
        }
    }
}

/// FNV-1a, 64-bit.
struct FNV1a64 {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(byte: UInt8) {
        value = (value ^ UInt64(byte)) &* 0x0000_0100_0000_01B3
    }

    /// Adds a string value's decoded UTF-8 (hashed in place when it has no escapes).
    mutating func add(_ text: RequestProfiler.StringRef, in body: UnsafeRawBufferPointer) {
        let raw = UnsafeRawBufferPointer(rebasing: body[text.bytes])
        if text.hasEscapes {
            for byte in JSONScanner.decodeValidatedString(raw).utf8 { add(byte: byte) }
        } else {
            for byte in raw { add(byte: byte) }
        }
    }
}
