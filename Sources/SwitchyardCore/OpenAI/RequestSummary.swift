/// What the proxy needs to know about a request body, read in one pass by `JSONScanner`.
/// Later stages (admission, scheduling) extend this; the body itself is forwarded unchanged.
public struct RequestSummary: Sendable, Equatable {
    public var model: String?
    public var stream = false
    /// `stream_options.include_usage` as vLLM reads it (true when `stream_options` lacks it);
    /// nil when `stream_options` is absent or null.
    public var includeUsage: Bool?
    /// `max_completion_tokens`, else `max_tokens`.
    public var outputBudget: Int?

    public init(model: String? = nil, stream: Bool = false, includeUsage: Bool? = nil, outputBudget: Int? = nil) {
        self.model = model
        self.stream = stream
        self.includeUsage = includeUsage
        self.outputBudget = outputBudget
    }
}

public enum RequestInspector {
    /// Reads a generation request (`/v1/chat/completions`, `/v1/completions`). The body must be
    /// one valid JSON object; anything else is vLLM's 400.
    public static func inspect(_ body: UnsafeRawBufferPointer) -> Result<RequestSummary, OpenAIError> {
        var fields = TopLevelFields()
        var scanner = JSONScanner(body)
        do {
            try scanner.scanObject(decodedStrings: TopLevelFields.decodedStrings) { fields.visit($0, $1) }
        } catch {
            return .failure(invalidJSON(error, empty: body.isEmpty))
        }
        return .success(fields.summary)
    }

    /// vLLM's 400 for a body that is not one JSON object.
    static func invalidJSON(_ error: JSONScanner.SyntaxError, empty: Bool) -> OpenAIError {
        let message =
            empty
            ? "The request body is empty; expected a JSON object."
            : "The request body is not valid JSON: expected \(error.expected) at byte \(error.offset)."
        return OpenAIError(status: 400, message: message, reason: "invalid_json")
    }

    /// For pass-through paths: the top-level `model` string if the body is a JSON object that
    /// has one, else nil (the request then goes to any healthy backend).
    public static func model(in body: UnsafeRawBufferPointer) -> String? {
        guard !body.isEmpty, case .success(let summary) = inspect(body) else { return nil }
        return summary.model
    }
}

/// The top-level members every reader of a generation request needs, collected from the
/// scanner's depth-1/2 visits (shared by `RequestInspector` and `RequestProfiler`).
struct TopLevelFields {
    static let decodedStrings: Set<String> = ["model"]

    private var partial = RequestSummary()
    private var maxCompletionTokens: Int?
    private var maxTokens: Int?
    /// Top-level `priority`, when it is a whole number.
    private(set) var priority: Int?
    /// The first field of the wrong type or range among those Switchyard reads (so that a
    /// request it cannot read right never reaches a backend), and which top-level arrays exist.
    private(set) var invalid: OpenAIError?
    private(set) var sawMessages = false
    private(set) var sawPrompt = false

    mutating func visit(_ path: [String], _ value: JSONScanner.Scalar) {
        if invalid == nil { check(path, value) }
        switch (path.count, path[0], value) {
        case (1, "model", .string(let name)): partial.model = name
        case (1, "stream", .bool(let flag)): partial.stream = flag
        // vLLM's StreamOptions defaults include_usage to true: `{}` asks for usage, null does not.
        case (1, "stream_options", .object): partial.includeUsage = partial.includeUsage ?? true
        case (2, "stream_options", .bool(let flag)) where path[1] == "include_usage":
            partial.includeUsage = flag
        case (2, "stream_options", .null) where path[1] == "include_usage":
            partial.includeUsage = false
        // Like pydantic's lax ints, 100.0 and 1e3 count as whole numbers.
        case (1, "max_completion_tokens", .number(let n, _)): maxCompletionTokens = Int(exactly: n)
        case (1, "max_tokens", .number(let n, _)): maxTokens = Int(exactly: n)
        case (1, "priority", .number(let n, _)): priority = Int(exactly: n)
        case (1, "priority", _): priority = nil
        default: break
        }
    }

    /// Values vLLM's request models (pydantic, lax mode) can never accept, for the fields
    /// Switchyard reads: those are refused here rather than forwarded. Strings where numbers or
    /// booleans belong are left to vLLM, whose lax parsing accepts some (`"10"`, `"true"`).
    private mutating func check(_ path: [String], _ value: JSONScanner.Scalar) {
        func fail(_ field: String, _ expectation: String) {
            invalid = OpenAIError(
                status: 400, message: "`\(field)` must be \(expectation).", param: field, reason: "invalid_field")
        }
        if path.count == 2, path[0] == "stream_options", path[1] == "include_usage" {
            switch value {
            case .object, .array: fail("stream_options.include_usage", "a boolean")
            default: break
            }
            return
        }
        guard path.count == 1 else { return }
        switch (path[0], value) {
        case (_, .null): break
        case ("model", .string), ("stream_options", .object): break
        case ("model", _): fail("model", "a string")
        case ("stream", .object), ("stream", .array): fail("stream", "a boolean")
        case ("stream_options", _): fail("stream_options", "an object")
        case ("max_tokens", .number(let n, _)), ("max_completion_tokens", .number(let n, _)):
            if Int(exactly: n).map({ $0 < 1 || $0 > Int(Int32.max) }) ?? true {
                fail(path[0], "a whole number of tokens from 1 to \(Int32.max)")
            }
        case ("max_tokens", .object), ("max_tokens", .array), ("max_tokens", .bool),
            ("max_completion_tokens", .object), ("max_completion_tokens", .array), ("max_completion_tokens", .bool):
            fail(path[0], "an integer")
        case ("priority", .number(let n, _)):
            if Int(exactly: n).map({ abs($0) > Int(Int32.max) }) ?? true {
                fail("priority", "a whole number between -\(Int32.max) and \(Int32.max)")
            }
        case ("priority", .object), ("priority", .array), ("priority", .bool): fail("priority", "an integer")
        case ("messages", .array): sawMessages = true
        case ("messages", _): fail("messages", "an array of messages")
        case ("prompt", .string), ("prompt", .array): sawPrompt = true
        case ("prompt", _): fail("prompt", "a string or an array")
        default: break
        }
    }

    /// `max_completion_tokens`, else `max_tokens`, folded into the summary.
    var summary: RequestSummary {
        var summary = partial
        summary.outputBudget = maxCompletionTokens ?? maxTokens
        return summary
    }
}
