/// What a request needs of a backend's context window: its prompt estimate (text plus image
/// tokens) and its output budget (none given: vLLM fills the rest of the context, so only the
/// prompt plus one token must fit).
public struct ContextNeed: Sendable, Equatable {
    public var textTokens: Int
    public var mediaTokens: Int
    public var outputBudget: Int?

    public init(textTokens: Int, mediaTokens: Int, outputBudget: Int?) {
        self.textTokens = textTokens
        self.mediaTokens = mediaTokens
        self.outputBudget = outputBudget
    }

    public var prompt: Int { textTokens + mediaTokens }
    public var total: Int { prompt + (outputBudget ?? 1) }
}

/// Everything the proxy knows about its backends: health, served models, context windows and
/// the load each has in hand. Which of them may serve a request is decided here; which one does
/// is the `Scheduler`'s policy.
public struct BackendTable: Sendable {
    public struct Backend: Sendable, Equatable {
        public var name: String
        public var url: BackendURL
        /// Reachable: the last `/health` probe answered 200 and no connection attempt failed since.
        public var healthy = false
        /// Last known model cards (kept while unhealthy, so its models are still known).
        public var models: [ModelCard] = []
        public var modelsKnown = false
        public var lastError: String?
        /// Capacity limits from the config.
        public var maxConcurrent: Int
        public var maxInFlightTokens: Int?
        /// Work in hand: requests, tokens, measured speed, scraped metrics.
        public var load = BackendLoad()

        /// Requests dispatched and not yet finished (last response byte or client disconnect).
        public var inFlight: Int { load.inFlight }

        /// Healthy and serving `model` (any model when it is nil).
        public func canServe(_ model: String?) -> Bool {
            healthy && (model.map { name in models.contains { $0.id == name } } ?? true)
        }

        /// Healthy with a request slot free (token limits aside).
        var hasFreeSlot: Bool { healthy && load.inFlight < maxConcurrent }

        /// A free slot for a request of `tokens`: under `max_concurrent`, and under
        /// `max_inflight_tokens` unless the backend is idle (a request larger than the token
        /// limit still runs alone).
        public func hasRoom(for tokens: Int) -> Bool {
            guard load.inFlight < maxConcurrent else { return false }
            guard let maxInFlightTokens, load.inFlight > 0 else { return true }
            return load.reservedTokens + tokens <= maxInFlightTokens
        }
    }

    public internal(set) var backends: [Backend]

    public init(_ configs: [BackendConfig]) {
        backends = configs.map {
            Backend(
                name: $0.name, url: $0.url, maxConcurrent: $0.maxConcurrent, maxInFlightTokens: $0.maxInFlightTokens)
        }
    }

    public var anyHealthy: Bool { backends.contains { $0.healthy } }

    /// The union of every backend's last known model list.
    public var catalog: [ModelCard] { ModelCatalog.union(backends.map(\.models)) }

    /// Some backend's last known model list has `model` (without building the catalog).
    public func knows(model: String) -> Bool {
        backends.contains { $0.models.contains { $0.id == model } }
    }

    /// Healthy backends that serve `model` (any healthy backend when `model` is nil) and whose
    /// context fits `need`, regardless of their load. A request that fits no backend's
    /// `max_model_len` may still go to one it exceeds by at most `margin` (a fraction of the
    /// limit: the estimate is approximate, so borderline requests are left to an exact count);
    /// beyond that it is refused with vLLM's context-length 400.
    public func eligible(model: String?, need: ContextNeed?, margin: Double) -> Result<[Int], OpenAIError> {
        let serving = serving(model)
        guard !serving.isEmpty else { return .failure(refusal(for: model)) }
        guard let need else { return .success(serving) }
        let fitting = serving.filter { contextLimit(of: $0, model: model).map { need.total <= $0 } ?? true }
        if !fitting.isEmpty { return .success(fitting) }
        let borderline = serving.filter { index in
            contextLimit(of: index, model: model).map { Double(need.total) <= Double($0) * (1 + margin) } ?? true
        }
        if !borderline.isEmpty { return .success(borderline) }
        return .failure(Self.contextLengthExceeded(need, limit: largestContext(among: serving, model: model)))
    }

    /// Healthy backends that serve `model` (any healthy backend when it is nil).
    public func serving(_ model: String?) -> [Int] {
        backends.indices.filter { backends[$0].canServe(model) }
    }

    /// The largest `max_model_len` for `model` among `indices` (0 when none is known).
    public func largestContext(among indices: [Int], model: String?) -> Int {
        indices.compactMap { contextLimit(of: $0, model: model) }.max() ?? 0
    }

    /// The backend's `max_model_len` for `model` (its first card when `model` is nil).
    public func contextLimit(of backend: Int, model: String?) -> Int? {
        let cards = backends[backend].models
        let card = model.map { name in cards.first { $0.id == name } } ?? cards.first
        return card?.maxModelLen
    }

    /// vLLM's wording, with the estimate's parts so the client sees where the tokens went.
    public static func contextLengthExceeded(_ need: ContextNeed, limit: Int) -> OpenAIError {
        let completion = need.outputBudget ?? 0
        return OpenAIError(
            status: 400,
            message:
                "This model's maximum context length is \(limit) tokens. However, you requested \(need.prompt + completion) "
                + "tokens (\(need.prompt) in the messages, \(completion) in the completion). Please reduce the length of "
                + "the messages or completion. (Switchyard's estimate: \(need.textTokens) text tokens and "
                + "\(need.mediaTokens) image tokens.)",
            reason: "context_length_exceeded")
    }

    private func refusal(for model: String?) -> OpenAIError {
        guard let model else { return Self.noHealthyBackend("") }
        let anyKnows = backends.contains { $0.models.contains { $0.id == model } }
        let allKnown = backends.allSatisfy(\.modelsKnown)
        if !anyKnows && allKnown { return .unknownModel(model, validNames: catalog.map(\.id)) }
        if !anyKnows && !backends.contains(where: \.modelsKnown) {
            return Self.noHealthyBackend(" (no backend's model list could be read yet)")
        }
        if !anyKnows {
            // Some backends have not told us their models yet: it might be there.
            return Self.noHealthyBackend(
                " for model `\(model)` (some backends have not answered /v1/models yet)")
        }
        return Self.noHealthyBackend(" serving model `\(model)`")
    }

    static func noHealthyBackend(_ detail: String) -> OpenAIError {
        OpenAIError(
            status: 503, message: "No healthy backend is available\(detail); try again shortly.",
            reason: "no_healthy_backend", retryAfterSeconds: 2)
    }

    // MARK: - Health and discovery events

    public mutating func probeSucceeded(backend: Int) {
        backends[backend].healthy = true
        backends[backend].lastError = nil
    }

    /// A failed probe or connection attempt: no new requests until a probe succeeds again.
    /// Requests already in flight there are untouched.
    public mutating func markUnreachable(backend: Int, reason: String) {
        backends[backend].healthy = false
        backends[backend].lastError = reason
    }

    public mutating func modelsDiscovered(backend: Int, _ models: [ModelCard]) {
        backends[backend].models = models
        backends[backend].modelsKnown = true
    }
}
