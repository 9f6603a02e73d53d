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
        public var config: BackendConfig
        /// The active checks' verdict: the last `/health` probes answered 200 (see
        /// `HealthThresholds`) and no connection attempt was refused since.
        public var healthy = false
        /// Consecutive probe results: positive successes, negative failures.
        public var probeStreak = 0
        /// Taken out of rotation by an operator: no new requests, those in flight finish.
        public var draining = false
        /// Removed (admin, reload or DNS): drained, and forgotten once idle. The index stays
        /// valid for the tickets still in flight.
        public var removed = false
        /// Passive outlier detection: consecutive failed exchanges, and the ejection in force.
        public var failureStreak = 0
        public var ejectedUntil: Duration?
        /// Ejections in a row without a success between: each one lasts twice the last.
        public var ejections = 0
        /// Last known model cards (kept while unhealthy, so its models are still known).
        public var models: [ModelCard] = []
        public var modelsKnown = false
        public var lastError: String?
        /// Work in hand: requests, tokens, measured speed, scraped metrics.
        public var load = BackendLoad()

        public init(config: BackendConfig) { self.config = config }

        public var name: String {
            get { config.name }
            set { config.name = newValue }
        }
        public var url: BackendURL {
            get { config.url }
            set { config.url = newValue }
        }
        public var maxConcurrent: Int {
            get { config.maxConcurrent }
            set { config.maxConcurrent = newValue }
        }
        public var maxInFlightTokens: Int? {
            get { config.maxInFlightTokens }
            set { config.maxInFlightTokens = newValue }
        }

        /// Requests dispatched and not yet finished (last response byte or client disconnect).
        public var inFlight: Int { load.inFlight }

        /// Takes new requests: healthy, not ejected, not draining, not removed.
        public var inRotation: Bool { healthy && ejectedUntil == nil && !draining && !removed }

        /// In rotation and serving `model` (any model when it is nil).
        public func canServe(_ model: String?) -> Bool {
            inRotation && (model.map { name in models.contains { $0.id == name } } ?? true)
        }

        /// In rotation with a request slot free (token limits aside).
        var hasFreeSlot: Bool { inRotation && load.inFlight < maxConcurrent }

        /// A free slot for a request of `tokens`: under `max_concurrent`, and under
        /// `max_inflight_tokens` unless the backend is idle (a request larger than the token
        /// limit still runs alone).
        public func hasRoom(for tokens: Int) -> Bool {
            guard load.inFlight < maxConcurrent else { return false }
            guard let maxInFlightTokens, load.inFlight > 0 else { return true }
            return load.reservedTokens + tokens <= maxInFlightTokens
        }

        /// Shown in listings: present, or removed with requests still finishing there.
        public var isListed: Bool { !removed || load.inFlight > 0 }

        /// One word for operators: removed, draining, ejected, unhealthy or healthy.
        public var status: String {
            if removed { return "removed" }
            if draining { return "draining" }
            if ejectedUntil != nil { return "ejected" }
            return healthy ? "healthy" : "unhealthy"
        }
    }

    public internal(set) var backends: [Backend]

    /// When a probe verdict changes the backend's health.
    public var thresholds: HealthThresholds

    public init(_ configs: [BackendConfig], thresholds: HealthThresholds = HealthThresholds()) {
        backends = configs.map { Backend(config: $0) }
        self.thresholds = thresholds
    }

    /// Some backend takes new requests.
    public var anyHealthy: Bool { backends.contains { $0.inRotation } }

    /// The union of every present backend's last known model list.
    public var catalog: [ModelCard] { ModelCatalog.union(backends.filter { !$0.removed }.map(\.models)) }

    /// Some present backend's last known model list has `model` (without building the catalog).
    public func knows(model: String) -> Bool {
        backends.contains { !$0.removed && $0.models.contains { $0.id == model } }
    }

    /// The index of the present (not removed) backend called `name`.
    public func index(named name: String) -> Int? {
        backends.indices.first { backends[$0].name == name && !backends[$0].removed }
    }

    /// Healthy backends that serve `model` (any healthy backend when `model` is nil) and whose
    /// context fits `need`, regardless of their load. A request that fits no backend's
    /// `max_model_len` may still go to one it exceeds by at most `margin` (a fraction of the
    /// limit: the estimate is approximate, so borderline requests are left to an exact count);
    /// beyond that it is refused with vLLM's context-length 400.
    public func eligible(
        model: String?, need: ContextNeed?, margin: Double, excluding excluded: [Int] = []
    ) -> Result<[Int], OpenAIError> {
        var serving = serving(model)
        if !excluded.isEmpty { serving.removeAll { excluded.contains($0) } }
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
        let present = backends.filter { !$0.removed }
        let anyKnows = knows(model: model)
        let allKnown = present.allSatisfy(\.modelsKnown)
        if !anyKnows && allKnown { return .unknownModel(model, validNames: catalog.map(\.id)) }
        if !anyKnows && !present.contains(where: \.modelsKnown) {
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

    /// A `/health` probe answered 200. True when this brought the backend back (or in for the
    /// first time): `healthy_threshold` successes in a row, or the very first probe.
    @discardableResult
    public mutating func probeSucceeded(backend: Int) -> Bool {
        var entry = backends[backend]
        entry.probeStreak = max(entry.probeStreak, 0) + 1
        let firstVerdict = entry.lastError == nil && !entry.healthy && entry.probeStreak == 1
        var recovered = false
        if !entry.healthy && (firstVerdict || entry.probeStreak >= thresholds.healthy) {
            entry.healthy = true
            recovered = true
        }
        if entry.healthy { entry.lastError = nil }
        backends[backend] = entry
        return recovered
    }

    /// A probe failed. True when this took the backend out: `unhealthy_threshold` failures in a
    /// row (the first probe's failure counts at once). Requests in flight there are untouched.
    @discardableResult
    public mutating func probeFailed(backend: Int, reason: String) -> Bool {
        var entry = backends[backend]
        entry.probeStreak = min(entry.probeStreak, 0) - 1
        entry.lastError = reason
        let wentDown = entry.healthy && -entry.probeStreak >= thresholds.unhealthy
        if wentDown { entry.healthy = false }
        backends[backend] = entry
        return wentDown
    }

    /// Unreachable at once (no threshold): no new requests until probes bring it back.
    /// Requests already in flight there are untouched.
    public mutating func markUnreachable(backend: Int, reason: String) {
        backends[backend].healthy = false
        backends[backend].probeStreak = min(backends[backend].probeStreak, 0)
        backends[backend].lastError = reason
    }

    public mutating func modelsDiscovered(backend: Int, _ models: [ModelCard]) {
        backends[backend].models = models
        backends[backend].modelsKnown = true
    }
}

/// How many probe results in a row change a backend's health (Kubernetes' defaults).
public struct HealthThresholds: Sendable, Equatable {
    /// Failed probes in a row that take a healthy backend out.
    public var unhealthy = 3
    /// Successful probes in a row that bring an unhealthy backend back.
    public var healthy = 1
    public init(unhealthy: Int = 3, healthy: Int = 1) {
        self.unhealthy = unhealthy
        self.healthy = healthy
    }
}
