/// Everything the proxy knows about its backends — health, served models, requests in flight —
/// and the routing rule that uses it. A value type driven by events (probe results, dispatch,
/// completion); the server keeps one behind a lock and executes the decisions it returns.
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
    /// when `model` is nil). On `.dispatch` a slot is taken; give it back with `finish`.
    public mutating func route(model: String?) -> Decision {
        var best: Int?
        let count = backends.count
        for step in 0..<count {
            let i = (rotation + step) % count
            let backend = backends[i]
            guard backend.healthy else { continue }
            if let model, !backend.models.contains(where: { $0.id == model }) { continue }
            if best == nil || backend.inFlight < backends[best!].inFlight { best = i }
        }
        if let best {
            rotation = (best + 1) % max(count, 1)
            backends[best].inFlight += 1
            return .dispatch(backend: best)
        }
        return .refuse(refusal(for: model))
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
