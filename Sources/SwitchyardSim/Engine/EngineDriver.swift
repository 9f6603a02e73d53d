import NIOConcurrencyHelpers
import NIOCore

/// Runs one replica's `SimEngine` in (scaled) real time on one event loop: a step is planned,
/// its duration waited out, then its tokens are handed to the requests' listeners, which hop to
/// their own connections' loops. Requests reach the engine after their image preprocessing
/// delay. Thread-safe: every call hops to the driver's loop.
final class EngineDriver: @unchecked Sendable {  // mutable state confined to `eventLoop`
    typealias Listener = @Sendable (SimEngine.TokenEvent) -> Void

    let eventLoop: any EventLoop
    private let timeScale: Double
    private var engine: SimEngine
    private var listeners: [Int: Listener] = [:]
    /// When each request reached the engine, until it is first scheduled (queue time).
    private var queuedSince: [Int: NIODeadline] = [:]
    private let metrics: SimMetrics
    private var busy = false
    private let slowFactor = NIOLockedValueBox(1.0)

    /// Fault injection: the engine runs `factor` times slower (1 = normal).
    func setSlowFactor(_ factor: Double) { slowFactor.withLockedValue { $0 = factor } }
    private let ids = NIOLockedValueBox(0)
    private let snapshot: NIOLockedValueBox<EngineSnapshot>

    struct EngineSnapshot: Sendable, Equatable {
        var running = 0
        var waiting = 0
        var kvCacheUsage = 0.0
        var preemptions = 0
    }

    init(
        profile: EngineProfile, policy: SimEngine.Policy, timeScale: Double, eventLoop: any EventLoop,
        metrics: SimMetrics
    ) {
        self.metrics = metrics
        self.engine = SimEngine(profile: profile, policy: policy)
        self.timeScale = timeScale
        self.eventLoop = eventLoop
        self.snapshot = NIOLockedValueBox(EngineSnapshot())
    }

    var state: EngineSnapshot { snapshot.withLockedValue { $0 } }

    /// Queues a request; `listener` gets each of its tokens. Returns its id, for `abort`.
    func submit(_ plan: SimGenerationPlan, outputTokens: Int, listener: @escaping Listener) -> Int {
        let id = ids.withLockedValue { value in
            value += 1
            return value
        }
        let request = EngineRequest(
            id: id, promptTokens: plan.promptTokens, imageTokens: plan.imageTokens, outputTokens: outputTokens,
            priority: plan.priority)
        let preprocess = engine.profile.preprocessMilliseconds(megapixels: plan.megapixels)
        eventLoop.execute {
            self.listeners[id] = listener
            self.eventLoop.scheduleTask(in: self.scaled(preprocess)) {
                guard self.listeners[id] != nil else { return }  // aborted while preprocessing
                self.queuedSince[id] = .now()
                self.engine.add(request)
                self.publish()
                self.pump()
            }
        }
        return id
    }

    /// The client went away: the request leaves the engine and its KV blocks are freed.
    func abort(_ id: Int) {
        eventLoop.execute {
            self.listeners[id] = nil
            self.queuedSince[id] = nil
            self.engine.abort(id: id)
            self.publish()
        }
    }

    private func pump() {
        guard !busy, let step = engine.step() else { return }
        busy = true
        let now = NIODeadline.now()
        for id in step.admitted {
            guard let since = queuedSince.removeValue(forKey: id) else { continue }
            let seconds = Double((now - since).nanoseconds) / 1e9
            metrics.update { $0.queue.observe(seconds) }
        }
        publish()
        eventLoop.scheduleTask(in: scaled(step.durationMs)) {
            self.busy = false
            for token in step.tokens {
                guard let listener = self.listeners[token.id] else { continue }
                if token.finished { self.listeners[token.id] = nil }
                listener(token)
            }
            self.publish()
            self.pump()
        }
    }

    private func scaled(_ milliseconds: Double) -> TimeAmount {
        let factor = slowFactor.withLockedValue { $0 }
        return .nanoseconds(Int64(milliseconds * timeScale * factor * 1_000_000))
    }

    private func publish() {
        let current = EngineSnapshot(
            running: engine.numRunning, waiting: engine.numWaiting, kvCacheUsage: engine.kvCacheUsage,
            preemptions: engine.preemptions)
        snapshot.withLockedValue { $0 = current }
    }
}
