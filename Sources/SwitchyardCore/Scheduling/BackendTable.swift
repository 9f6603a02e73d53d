/// Everything the proxy knows about its backends — health, served models, requests in flight —
/// and the routing rule that uses it. A value type driven by events (probe results, dispatch,
/// completion); the server keeps one behind a lock and executes the decisions it returns.
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

public struct BackendTable: Sendable {
    public struct Backend: Sendable, Equatable {
        public var name: String
        public var url: BackendURL
        /// Reachable: the last `/health` probe answered 200 and no connection attempt failed since.
        public var healthy = false
        /// Last known model cards (kept while unhealthy, so its models are still known).
        public var models: [ModelCard] = []
        public var modelsKnown = false
        /// Requests dispatched and not yet finished (last response byte or client disconnect).
        public var inFlight = 0
        public var lastError: String?
    }

    public enum Decision: Sendable, Equatable {
        case dispatch(backend: Int)
        case refuse(OpenAIError)
    }

    public private(set) var backends: [Backend]
    /// Where the next tie-break starts, so equally loaded backends take turns.
    private var rotation = 0

    public init(_ configs: [BackendConfig]) {
        backends = configs.map { Backend(name: $0.name, url: $0.url) }
    }

    public var anyHealthy: Bool { backends.contains { $0.healthy } }

    /// The union of every backend's last known model list.
    public var catalog: [ModelCard] { ModelCatalog.union(backends.map(\.models)) }

    /// Least outstanding requests among healthy backends that serve `model` (any healthy backend
    /// when `model` is nil) and whose context fits `need`. A request that fits no backend's
    /// `max_model_len` may still go to one it exceeds by at most `margin` (a fraction of the
    /// limit: the estimate is approximate, so borderline requests are left to vLLM's exact count);
    /// beyond that it is refused with vLLM's context-length 400. On `.dispatch` a slot is taken;
    /// give it back with `finish`.
    public mutating func route(model: String?, need: ContextNeed? = nil, margin: Double = 0) -> Decision {
        var serving: [Int] = []
        for step in 0..<backends.count {
            let i = (rotation + step) % backends.count
            let backend = backends[i]
            guard backend.healthy else { continue }
            if let model, !backend.models.contains(where: { $0.id == model }) { continue }
            serving.append(i)
        }
        guard !serving.isEmpty else { return .refuse(refusal(for: model)) }
        var candidates = serving
        if let need {
            let fitting = serving.filter { contextLimit(of: $0, model: model).map { need.total <= $0 } ?? true }
            let borderline = serving.filter { index in
                contextLimit(of: index, model: model).map { Double(need.total) <= Double($0) * (1 + margin) } ?? true
            }
            candidates = fitting.isEmpty ? borderline : fitting
            if candidates.isEmpty {
                let limit = serving.compactMap { contextLimit(of: $0, model: model) }.max() ?? 0
                return .refuse(Self.contextLengthExceeded(need, limit: limit))
            }
        }
        var best = candidates[0]
        for i in candidates.dropFirst() where backends[i].inFlight < backends[best].inFlight { best = i }
        rotation = (best + 1) % backends.count
        backends[best].inFlight += 1
        return .dispatch(backend: best)
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

    /// The request on `backend` has finished: its slot is free again.
    public mutating func finish(backend: Int) {
        precondition(backends[backend].inFlight > 0, "finish without dispatch on \(backends[backend].name)")
        backends[backend].inFlight -= 1
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
