import SwitchyardCore

/// Settings of one simulated vLLM replica. Each replica of a fleet has its own copy, so
/// per-replica options (e.g. `maxModelLen`) can differ.
public struct SimReplicaConfiguration: Sendable {
    /// Address to bind.
    public var host: String = "127.0.0.1"
    /// Port to bind; 0 picks an ephemeral port (read it back from `SimulatedReplica.port`).
    public var port: Int = 0
    /// The name clients put in `model` (vLLM's `--served-model-name`).
    public var servedModelName: String = "glm-4.5v"
    /// The checkpoint path reported as `root` by `/v1/models`.
    public var modelRoot: String = "zai-org/GLM-4.5V-FP8"
    /// Context window: prompt + output tokens may not exceed it.
    public var maxModelLen: Int = 65536
    /// Delay from the request's arrival to the first token (the "prefill").
    public var timeToFirstToken: Duration = .milliseconds(50)
    /// Delay between consecutive output tokens.
    public var interTokenInterval: Duration = .milliseconds(10)
    /// Output budget when the request gives neither `max_completion_tokens` nor `max_tokens`
    /// (real vLLM uses `max_model_len - prompt_tokens`; the sim keeps answers short).
    public var defaultOutputTokens: Int = 16
    /// vLLM's `--limit-mm-per-prompt` for images.
    public var maxImagesPerPrompt: Int = 1
    /// The engine model that times requests (prefill, decode batches, KV, preemption). nil: the
    /// fixed `timeToFirstToken` / `interTokenInterval` timing, for deterministic tests.
    public var engine: EngineProfile? = nil
    /// Engine time runs this much faster than real time when below 1 (0.1 = ten times faster).
    public var timeScale: Double = 1
    /// Seed of the natural output lengths (requests without `ignore_eos`, engine model only).
    public var seed: UInt64 = 0
    /// Faults in force from the start (see `SimFaults`; changeable at runtime).
    public var faults = SimFaults()
    /// Like vLLM's `--api-key`: `/v1/*` requests without `Authorization: Bearer <key>` get 401.
    public var apiKey: String? = nil
    /// vLLM's `--scheduling-policy`: `priority` accepts the request field `priority`.
    public var schedulingPolicy: SimEngine.Policy = .fcfs
    /// vLLM's `--allowed-local-media-path`: `file://` images under it are accepted.
    public var allowedLocalMediaPath: String? = nil
    /// `--reasoning-parser glm45`: part of each chat answer streams as reasoning.
    public var reasoningParser = false
    /// `--tool-call-parser glm45 --enable-auto-tool-choice`: requests with `tools` call one.
    public var toolCallParser = false
    /// GLM's image-token formula and its pixel bounds.
    public var imageCost = GLMImageCost()
    /// Image tokens assumed for `http(s)` image URLs (the simulator does not fetch them).
    public var remoteImageTokens: Int = GLMImageCost().maxTokensPerImage

    public init() {}
}

/// Counters of one replica, read as a consistent snapshot through `SimulatedReplica.stats`.
public struct SimReplicaStats: Sendable, Equatable {
    public var connectionsAccepted: Int
    /// Every HTTP request, any path.
    public var requestsReceived: Int
    /// Chat/completions requests accepted (answered 200).
    public var generationsStarted: Int
    /// Generations that finished normally.
    public var generationsCompleted: Int
    /// Generations cut short because the client closed the connection.
    public var generationsAborted: Int
    /// Generations in progress now.
    public var running: Int
    /// Output tokens of the generations that finished normally (what their usage reported).
    public var completionTokensGenerated: Int
    /// Prompt tokens of the generations that finished normally.
    public var promptTokensProcessed: Int
    /// Engine model only: requests in the running batch and in the waiting queue, KV cache use
    /// (0–1) and preemptions so far.
    /// The `Authorization` header of the last generation request (nil: none was sent).
    public var lastAuthorization: String? = nil
    public var engineRunning = 0
    public var engineWaiting = 0
    public var kvCacheUsage = 0.0
    public var preemptions = 0

    public init(
        connectionsAccepted: Int = 0, requestsReceived: Int = 0, generationsStarted: Int = 0,
        generationsCompleted: Int = 0, generationsAborted: Int = 0, running: Int = 0,
        completionTokensGenerated: Int = 0, promptTokensProcessed: Int = 0
    ) {
        self.connectionsAccepted = connectionsAccepted
        self.requestsReceived = requestsReceived
        self.generationsStarted = generationsStarted
        self.generationsCompleted = generationsCompleted
        self.generationsAborted = generationsAborted
        self.running = running
        self.completionTokensGenerated = completionTokensGenerated
        self.promptTokensProcessed = promptTokensProcessed
    }
}
