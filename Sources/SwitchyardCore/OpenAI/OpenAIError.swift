/// An OpenAI-style error answer: `{"error":{"message","type","param","code"}}` with the HTTP
/// status equal to `code`, as vLLM ≥ 0.10.1 sends it. Every refusal Switchyard makes is one of
/// these plus an `x-switchyard-reason` header naming the rule that refused.
public struct OpenAIError: Sendable, Equatable, Error {
    public var status: Int
    public var message: String
    public var type: String
    public var param: String?
    /// Machine-readable cause, sent as `x-switchyard-reason` (e.g. `unknown_model`).
    public var reason: String
    /// Seconds the client should wait before retrying, when waiting helps.
    public var retryAfterSeconds: Int?

    public init(
        status: Int, message: String, type: String? = nil, param: String? = nil,
        reason: String, retryAfterSeconds: Int? = nil
    ) {
        self.status = status
        self.message = message
        self.type = type ?? OpenAIError.defaultType(forStatus: status)
        self.param = param
        self.reason = reason
        self.retryAfterSeconds = retryAfterSeconds
    }

    /// The body vLLM sends for this error, byte for byte in vLLM's key order.
    public var jsonBody: String {
        let paramJSON = param.map { JSONString.quoted($0) } ?? "null"
        return
            "{\"error\":{\"message\":\(JSONString.quoted(message)),\"type\":\(JSONString.quoted(type)),\"param\":\(paramJSON),\"code\":\(status)}}"
    }

    /// The exception class names vLLM's server uses for each status.
    public static func defaultType(forStatus status: Int) -> String {
        switch status {
        case 400: "BadRequestError"
        case 401: "AuthenticationError"
        case 403: "PermissionDeniedError"
        case 404: "NotFoundError"
        case 408: "RequestTimeoutError"
        case 413: "RequestEntityTooLargeError"
        case 429: "RateLimitError"
        case 431: "RequestHeaderFieldsTooLargeError"
        case 501: "NotImplementedError"
        case 502: "BadGatewayError"
        case 503: "ServiceUnavailableError"
        case 504: "GatewayTimeoutError"
        default: status >= 500 ? "InternalServerError" : "BadRequestError"
        }
    }
}

extension OpenAIError {
    /// vLLM's answer for a model name no backend serves. vLLM ≥ 0.30 appends the served names
    /// ("Valid aliases: a, b."); the first sentence is the same in every version.
    public static func unknownModel(_ model: String, validNames: [String]) -> OpenAIError {
        let aliases = validNames.isEmpty ? "" : " Valid aliases: \(validNames.joined(separator: ", "))."
        return OpenAIError(
            status: 404, message: "The model `\(model)` does not exist.\(aliases)", type: "NotFoundError",
            param: "model", reason: "unknown_model")
    }
}

/// Minimal JSON string encoding, enough for error messages and model names.
public enum JSONString {
    public static func quoted(_ string: String) -> String {
        var out = "\""
        out.reserveCapacity(string.utf8.count + 2)
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\r": out += "\\r"
            case "\t": out += "\\t"
            case let s where s.value < 0x20:
                let hex = String(s.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        out += "\""
        return out
    }
}
