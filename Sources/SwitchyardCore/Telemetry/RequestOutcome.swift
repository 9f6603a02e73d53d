/// One request as vLLM's `RequestFuncOutput` sees it (openai-chat backend). Times in seconds.
///
/// The client fills it in exactly as `async_request_openai_chat_completions` does: the clock
/// starts just before the POST; the first SSE event with a non-empty `choices` array sets
/// `ttft`; every later such event appends the gap since the previous one to `itl`; `latency`
/// is the time of the last such event (the trailing usage chunk does not extend it); a
/// request succeeds on HTTP 200 with at least one such event.
public struct RequestOutcome: Sendable, Equatable {
    public var success: Bool
    /// When the request was sent, on any clock common to the whole run.
    public var startTime: Double
    /// Time to the first event with non-empty `choices`; 0 when none arrived.
    public var ttft: Double
    /// Gaps between consecutive events with non-empty `choices`.
    public var itl: [Double]
    /// E2EL: time of the last event with non-empty `choices`, minus `startTime`.
    public var latency: Double
    /// `usage.prompt_tokens` when the server reported it, else the dataset's estimate.
    public var promptTokens: Int
    /// `usage.completion_tokens`; nil when the server sent no usage.
    public var outputTokens: Int?
    /// How many events had non-empty `choices` (the output length when usage is missing).
    public var contentEvents: Int
    /// Why the request failed (nil on success; vLLM's `""`).
    public var error: String?
    /// The concatenated `delta.content` of every event.
    public var generatedText: String

    public init(
        success: Bool,
        startTime: Double = 0,
        ttft: Double = 0,
        itl: [Double] = [],
        latency: Double = 0,
        promptTokens: Int = 0,
        outputTokens: Int? = nil,
        contentEvents: Int = 0,
        error: String? = nil,
        generatedText: String = ""
    ) {
        self.success = success
        self.startTime = startTime
        self.ttft = ttft
        self.itl = itl
        self.latency = latency
        self.promptTokens = promptTokens
        self.outputTokens = outputTokens
        self.contentEvents = contentEvents
        self.error = error
        self.generatedText = generatedText
    }
}
