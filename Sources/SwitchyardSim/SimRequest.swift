import Foundation
import SwitchyardCore

/// The two generation endpoints.
enum SimEndpoint: Sendable {
    case chatCompletions
    case completions
}

/// What an accepted generation request asks for.
struct SimGenerationPlan: Sendable, Equatable {
    var endpoint: SimEndpoint
    var stream: Bool
    var includeUsage: Bool
    var promptTokens: Int
    var outputTokens: Int
    /// Image tokens inside `promptTokens`, and the images' size, for the engine's cost model.
    var imageTokens = 0
    var megapixels = 0.0
    var ignoreEOS = false
    /// The model ends before the budget (engine model, without `ignore_eos`).
    var stoppedEarly = false
    /// Lower runs first (only with `--scheduling-policy priority`).
    var priority = 0
    /// Reasoning and tool-call output (glm45 parsers).
    var shape = SimOutputShape()

    var finishReasonForLastChunk: String { shape.toolCall != nil ? "tool_calls" : finishReason }

    var finishReason: String { stoppedEarly ? "stop" : "length" }
}

/// Token estimates of the simulator. Documented so clients can predict them:
/// - text: one token per 4 UTF-8 bytes, rounded up, at least 1 for the whole prompt;
/// - images: GLM's smart_resize formula on the dimensions read from a `data:` image's header
///   (vllm-contract.md §7); `http(s)` images cost `remoteImageTokens`;
/// - a completions prompt given as token ids counts one token per id.
enum SimTokenEstimate {

    static func textTokens(utf8Bytes: Int) -> Int {
        (utf8Bytes + 3) / 4
    }
}

/// The prompt a request carries, reduced to what the estimate needs.
struct SimPromptSize: Sendable, Equatable {
    var textBytes = 0
    var tokenIDs = 0
    var imageURLs: [String] = []

    var images: Int { imageURLs.count }

    var textTokens: Int { max(1, SimTokenEstimate.textTokens(utf8Bytes: textBytes) + tokenIDs) }

    /// Chat form: `messages[].content` as a string or a list of parts.
    init(messages: [Any]) {
        for case let message as [String: Any] in messages {
            if let text = message["content"] as? String {
                textBytes += text.utf8.count
            } else if let parts = message["content"] as? [Any] {
                for case let part as [String: Any] in parts {
                    switch part["type"] as? String {
                    case "text": textBytes += (part["text"] as? String)?.utf8.count ?? 0
                    case "image_url":
                        let url = (part["image_url"] as? [String: Any])?["url"] as? String
                        imageURLs.append(url ?? "")
                    default: break
                    }
                }
            }
        }
    }

    /// Completions form: a string, a list of strings, a list of token ids or a list of those.
    init(prompt: Any) {
        if let text = prompt as? String {
            textBytes = text.utf8.count
        } else if let items = prompt as? [Any] {
            for item in items {
                if let text = item as? String {
                    textBytes += text.utf8.count
                } else if let ids = item as? [Any] {
                    tokenIDs += ids.count
                } else {
                    tokenIDs += 1
                }
            }
        }
    }
}

/// Parses and validates request bodies the way vLLM's OpenAI server does, in vLLM's order:
/// JSON/schema → model → priority → multimodal limit → context length.
enum SimRequestParser {
    static func invalidJSON() -> OpenAIError {
        OpenAIError(status: 400, message: "JSON decode error", reason: "invalid_json")
    }

    static func badRequest(_ message: String, param: String? = nil) -> OpenAIError {
        OpenAIError(status: 400, message: message, param: param, reason: "bad_request")
    }

    /// The body as a JSON object, or vLLM's 400.
    static func jsonObject(_ body: [UInt8]) -> Result<[String: Any], OpenAIError> {
        guard let value = try? JSONSerialization.jsonObject(with: Data(body)),
            let object = value as? [String: Any]
        else { return .failure(invalidJSON()) }
        return .success(object)
    }

    /// Rejects a `model` this replica does not serve (a missing `model` means the served one).
    static func checkModel(_ object: [String: Any], configuration: SimReplicaConfiguration) -> OpenAIError? {
        guard let model = object["model"], !(model is NSNull) else { return nil }
        guard let name = model as? String else { return badRequest("model must be a string", param: "model") }
        return name == configuration.servedModelName
            ? nil : OpenAIError.unknownModel(name, validNames: [configuration.servedModelName])
    }

    static func generation(
        body: [UInt8], endpoint: SimEndpoint, configuration: SimReplicaConfiguration
    ) -> Result<SimGenerationPlan, OpenAIError> {
        let object: [String: Any]
        switch jsonObject(body) {
        case .success(let value): object = value
        case .failure(let error): return .failure(error)
        }

        let size: SimPromptSize
        switch endpoint {
        case .chatCompletions:
            guard let messages = object["messages"] as? [Any] else {
                return .failure(badRequest("Field required: messages", param: "messages"))
            }
            size = SimPromptSize(messages: messages)
        case .completions:
            guard let prompt = object["prompt"], !(prompt is NSNull) else {
                return .failure(badRequest("Field required: prompt", param: "prompt"))
            }
            size = SimPromptSize(prompt: prompt)
        }

        let stream = (object["stream"] as? Bool) ?? false
        let streamOptions = object["stream_options"] as? [String: Any]
        // vLLM's validator: a non-empty `stream_options` needs `stream: true` (`{}` is falsy in Python).
        if let streamOptions, !streamOptions.isEmpty, !stream {
            return .failure(badRequest("Stream options can only be defined when `stream=True`."))
        }
        // Usage chunk: vLLM's StreamOptions has `include_usage: bool | None = True` and checks
        // `request.stream_options and request.stream_options.include_usage`, so a present
        // `stream_options` without the key (e.g. `{}`) means true, an absent one or an explicit
        // false/null means false. The sim reproduces that (contract §3).
        let includeUsage: Bool
        if let streamOptions {
            includeUsage =
                streamOptions.keys.contains("include_usage")
                ? (streamOptions["include_usage"] as? Bool) ?? false
                : true
        } else {
            includeUsage = false
        }

        if let error = checkModel(object, configuration: configuration) {
            return .failure(error)
        }

        let priority = (object["priority"] as? Int) ?? 0
        if priority != 0, configuration.schedulingPolicy != .priority {
            return .failure(badRequest("Got priority \(priority) but Priority scheduling is not enabled."))
        }

        if size.images > configuration.maxImagesPerPrompt {
            return .failure(
                badRequest("At most \(configuration.maxImagesPerPrompt) image(s) may be provided in one prompt."))
        }

        let images: SimImageCost
        switch SimImageCost.of(size.imageURLs, configuration: configuration) {
        case .success(let cost): images = cost
        case .failure(let error): return .failure(error)
        }
        let promptTokens = size.textTokens + images.tokens
        let maxModelLen = configuration.maxModelLen
        let requested = (object["max_completion_tokens"] as? Int) ?? (object["max_tokens"] as? Int)
        let outputTokens: Int
        if let requested {
            guard requested >= 1 else {
                return .failure(badRequest("max_tokens must be at least 1, got \(requested)."))
            }
            outputTokens = requested
        } else {
            // No budget given: the default, shrunk to what the context leaves (vLLM fills the context).
            outputTokens = max(1, min(configuration.defaultOutputTokens, maxModelLen - promptTokens))
        }
        if promptTokens + outputTokens > maxModelLen {
            return .failure(contextOverflow(maxModelLen: maxModelLen, prompt: promptTokens, output: outputTokens))
        }

        return .success(
            SimGenerationPlan(
                endpoint: endpoint, stream: stream, includeUsage: stream && includeUsage,
                promptTokens: promptTokens, outputTokens: outputTokens, imageTokens: images.tokens,
                megapixels: images.megapixels, ignoreEOS: (object["ignore_eos"] as? Bool) ?? false,
                priority: priority,
                shape: SimOutputShape.of(
                    object, endpoint: endpoint, outputTokens: outputTokens, configuration: configuration)))
    }

    static func contextOverflow(maxModelLen: Int, prompt: Int, output: Int) -> OpenAIError {
        badRequest(
            "This model's maximum context length is \(maxModelLen) tokens. However, you requested "
                + "\(prompt + output) tokens (\(prompt) in the messages, \(output) in the completion). "
                + "Please reduce the length of the messages or completion.")
    }

    /// `POST /tokenize`: the token count of a `prompt` or `messages` body (images included).
    static func tokenize(body: [UInt8], configuration: SimReplicaConfiguration) -> Result<Int, OpenAIError> {
        let object: [String: Any]
        switch jsonObject(body) {
        case .success(let value): object = value
        case .failure(let error): return .failure(error)
        }
        if let error = checkModel(object, configuration: configuration) {
            return .failure(error)
        }
        let size: SimPromptSize
        if let messages = object["messages"] as? [Any] {
            size = SimPromptSize(messages: messages)
        } else if let prompt = object["prompt"], !(prompt is NSNull) {
            size = SimPromptSize(prompt: prompt)
        } else {
            return .failure(badRequest("Field required: prompt or messages"))
        }
        return SimImageCost.of(size.imageURLs, configuration: configuration).map { size.textTokens + $0.tokens }
    }
}

/// What a request's images cost: GLM tokens from each image's real header dimensions, and the
/// megapixels the API server must decode before the engine sees the request.
struct SimImageCost: Sendable, Equatable {
    var tokens = 0
    var megapixels = 0.0

    /// Megapixels assumed for a remote image's download and decoding.
    static let remoteMegapixels = 2.0

    static func of(_ urls: [String], configuration: SimReplicaConfiguration) -> Result<SimImageCost, OpenAIError> {
        var cost = SimImageCost()
        for (index, url) in urls.enumerated() {
            let lower = url.prefix(8).lowercased()
            if DataURLImage.isDataURL(Substring(url)) {
                switch DataURLImage.dimensions(ofDataURL: Substring(url)) {
                case .failure(let error):
                    return .failure(SimRequestParser.badRequest("Failed to load image \(index): \(error)"))
                case .success(let dimensions):
                    do {
                        cost.tokens += try configuration.imageCost.tokens(
                            width: dimensions.width, height: dimensions.height)
                    } catch {
                        return .failure(SimRequestParser.badRequest("\(error)"))
                    }
                    cost.megapixels += Double(dimensions.width) * Double(dimensions.height) / 1e6
                }
            } else if lower.hasPrefix("http://") || lower.hasPrefix("https://") {
                cost.tokens += configuration.remoteImageTokens
                cost.megapixels += remoteMegapixels
            } else if lower.hasPrefix("file://") {
                let path = String(url.dropFirst("file://".count))
                guard let allowed = configuration.allowedLocalMediaPath else {
                    return .failure(
                        SimRequestParser.badRequest("Cannot load local files without `--allowed-local-media-path`."))
                }
                let root = allowed.hasSuffix("/") ? allowed : allowed + "/"
                guard path.hasPrefix(root), !path.split(separator: "/").contains("..") else {
                    return .failure(
                        SimRequestParser.badRequest(
                            "The file path \(path) must be a subpath of `--allowed-local-media-path \(allowed)`."))
                }
                // The simulator does not read local files: they cost like a remote image.
                cost.tokens += configuration.remoteImageTokens
                cost.megapixels += remoteMegapixels
            } else {
                return .failure(
                    SimRequestParser.badRequest("Invalid `image_url`: expected a data:, http(s):// or file:// URL."))
            }
        }
        return .success(cost)
    }
}
