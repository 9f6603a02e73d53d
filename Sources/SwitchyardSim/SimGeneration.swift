import NIOCore

/// One running generation: timers on the connection's event loop emit the response.
///
/// Schedule (deterministic, measured from the request's arrival): token k (0-based) is produced
/// at `TTFT + k × interval`, so the last of n tokens lands at `TTFT + (n-1) × interval`.
/// - streaming chat: the role chunk and the first content chunk go out together at TTFT (as in
///   vLLM, where the role chunk rides on the first engine output), then one content chunk per
///   interval; the usage chunk (if asked) and `[DONE]` follow the last content chunk at once;
/// - streaming completions: the same without the role chunk;
/// - non-streaming: the whole body at the time of the last token.
/// Deadlines are absolute, so timer jitter does not accumulate.
final class SimGeneration {
    private let plan: SimGenerationPlan
    private let identity: SimStreamIdentity
    private let responder: Responder
    private let onFinish: () -> Void
    private let arrival: NIODeadline
    private let timeToFirstToken: TimeAmount
    private let interval: TimeAmount
    private var scheduled: Scheduled<Void>?
    private var cancelled = false

    init(
        plan: SimGenerationPlan, identity: SimStreamIdentity, configuration: SimReplicaConfiguration,
        responder: Responder, onFinish: @escaping () -> Void
    ) {
        self.plan = plan
        self.identity = identity
        self.responder = responder
        self.onFinish = onFinish
        self.arrival = .now()
        self.timeToFirstToken = TimeAmount(configuration.timeToFirstToken)
        self.interval = TimeAmount(configuration.interTokenInterval)
    }

    func start() {
        if plan.stream {
            responder.startEventStream()
            schedule(token: 0)
        } else {
            let lastToken = plan.outputTokens - 1
            scheduleAt(tokenTime(lastToken)) { generation in generation.finishNonStreaming() }
        }
    }

    /// Stops the timers (the client went away).
    func cancel() {
        cancelled = true
        scheduled?.cancel()
        scheduled = nil
    }

    private func tokenTime(_ index: Int) -> NIODeadline {
        arrival + timeToFirstToken + interval * Int64(index)
    }

    private func scheduleAt(_ deadline: NIODeadline, _ work: @escaping (SimGeneration) -> Void) {
        scheduled = responder.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            guard !cancelled else { return }
            work(self)
        }
    }

    private func schedule(token index: Int) {
        scheduleAt(tokenTime(index)) { generation in generation.emit(token: index) }
    }

    private func emit(token index: Int) {
        let last = index == plan.outputTokens - 1
        if index == 0, plan.endpoint == .chatCompletions {
            responder.sendEvent(SimResponses.event(SimResponses.chatRoleChunk(identity)))
        }
        let chunk = SimResponses.contentChunk(identity, text: SimText.token(index), last: last)
        responder.sendEvent(SimResponses.event(chunk))
        guard last else {
            schedule(token: index + 1)
            return
        }
        if plan.includeUsage {
            let usage = SimResponses.usageChunk(
                identity, prompt: plan.promptTokens, completion: plan.outputTokens)
            responder.sendEvent(SimResponses.event(usage))
        }
        responder.sendEvent(SimResponses.done)
        finish()
    }

    private func finishNonStreaming() {
        let body = SimResponses.completeBody(
            identity, text: SimText.text(tokens: plan.outputTokens), prompt: plan.promptTokens,
            completion: plan.outputTokens)
        finish()
        responder.json(.ok, body)
    }

    private func finish() {
        scheduled = nil
        onFinish()
        if plan.stream { responder.end() }
    }
}
