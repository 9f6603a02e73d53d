import NIOCore

/// One running generation, writing vLLM's response as its tokens are produced.
///
/// Tokens come from one of two sources:
/// - the replica's engine model (`EngineDriver`): token k arrives when the engine step that
///   produced it ends, so timing reflects batching, chunked prefill, queueing and preemption;
/// - a fixed schedule (no engine): token k at `TTFT + k × interval` after arrival, with absolute
///   deadlines so timer jitter does not accumulate.
/// Either way: a streaming chat sends the role chunk with the first token (vLLM sends it with the
/// first engine output), one content chunk per token, then the usage chunk (if asked) and
/// `[DONE]`; streaming completions the same without the role chunk; non-streaming, the whole body
/// at the last token.
final class SimGeneration {
    private let plan: SimGenerationPlan
    private let identity: SimStreamIdentity
    private let responder: Responder
    private let onFinish: () -> Void
    private let configuration: SimReplicaConfiguration
    private let driver: EngineDriver?
    private let arrival: NIODeadline
    private let metrics: SimMetrics
    private let faults: SimFaults
    private var eventsSent = 0
    private var lastToken: NIODeadline?
    private var scheduled: Scheduled<Void>?
    private var engineID: Int?
    private var cancelled = false

    init(
        plan: SimGenerationPlan, identity: SimStreamIdentity, configuration: SimReplicaConfiguration,
        driver: EngineDriver?, metrics: SimMetrics, faults: SimFaults, responder: Responder,
        onFinish: @escaping () -> Void
    ) {
        self.metrics = metrics
        self.faults = faults
        self.plan = plan
        self.identity = identity
        self.responder = responder
        self.onFinish = onFinish
        self.configuration = configuration
        self.driver = driver
        self.arrival = .now()
    }

    func start() {
        if plan.stream { responder.startEventStream() }
        guard faults.stallFirstTokenMs > 0 else { return submit() }
        let stall = TimeAmount.nanoseconds(Int64(faults.stallFirstTokenMs * 1_000_000))
        scheduled = responder.eventLoop.assumeIsolated().scheduleTask(in: stall) { [self] in
            if !cancelled { submit() }
        }
    }

    private func submit() {
        if let driver {
            let generation = NIOLoopBound(self, eventLoop: responder.eventLoop)
            engineID = driver.submit(plan, outputTokens: plan.outputTokens) { token in
                generation.eventLoop.execute { generation.value.produced(token: token.index) }
            }
        } else {
            scheduleFixed(token: 0)
        }
    }

    /// Stops producing (the client went away); the engine frees the request's KV.
    func cancel() {
        guard !cancelled else { return }
        metrics.update { $0.finished["abort", default: 0] += 1 }
        cancelled = true
        scheduled?.cancel()
        scheduled = nil
        if let engineID { driver?.abort(engineID) }
    }

    // MARK: - Token sources

    private func scheduleFixed(token index: Int) {
        let slow = faults.slowFactor
        let ttft = TimeAmount.nanoseconds(Int64(Double(TimeAmount(configuration.timeToFirstToken).nanoseconds) * slow))
        let interval = TimeAmount.nanoseconds(
            Int64(Double(TimeAmount(configuration.interTokenInterval).nanoseconds) * slow))
        // Non-streaming answers need only the last token's time.
        let target = plan.stream ? index : plan.outputTokens - 1
        let stall = TimeAmount.nanoseconds(Int64(faults.stallFirstTokenMs * 1_000_000))
        let deadline = arrival + stall + ttft + interval * Int64(target)
        scheduled = responder.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [self] in
            produced(token: target)
            if !cancelled && target < plan.outputTokens - 1 { scheduleFixed(token: target + 1) }
        }
    }

    // MARK: - Output

    private func produced(token index: Int) {
        guard !cancelled else { return }
        let last = index == plan.outputTokens - 1
        record(token: index, last: last)
        guard plan.stream else {
            if last { finishNonStreaming() }
            return
        }
        if index == 0, plan.endpoint == .chatCompletions {
            responder.sendEvent(SimResponses.event(SimResponses.chatRoleChunk(identity)))
        }
        let chunk: String
        if let call = plan.shape.toolCall {
            // The tool parser holds every token back until the call is complete.
            guard last else { return }
            chunk = SimResponses.toolCallChunk(
                identity, name: call.name, arguments: call.arguments, callID: "call_" + identity.id.suffix(24))
        } else if index < plan.shape.reasoningTokens {
            chunk = SimResponses.reasoningChunk(identity, text: SimText.token(index))
        } else {
            chunk = SimResponses.contentChunk(
                identity, text: SimText.token(index), last: last, finishReason: plan.finishReason)
        }
        responder.sendEvent(SimResponses.event(chunk))
        eventsSent += 1
        if let limit = faults.closeAfterEvents, eventsSent >= limit {
            cancel()
            responder.abortConnection()  // fault injection: the replica dies mid-stream
            return
        }
        guard last else { return }
        if plan.includeUsage {
            let usage = SimResponses.usageChunk(identity, prompt: plan.promptTokens, completion: plan.outputTokens)
            responder.sendEvent(SimResponses.event(usage))
        }
        responder.sendEvent(SimResponses.done)
        finish()
    }

    private func finishNonStreaming() {
        let reasoning = plan.shape.reasoningTokens
        let text = (reasoning..<plan.outputTokens).map(SimText.token).joined()
        let body = SimResponses.completeBody(
            identity, text: plan.shape.toolCall == nil ? text : "", prompt: plan.promptTokens,
            completion: plan.outputTokens, finishReason: plan.finishReasonForLastChunk,
            reasoning: reasoning > 0 ? (0..<reasoning).map(SimText.token).joined() : nil,
            toolCall: plan.shape.toolCall.map { ($0.name, $0.arguments, "call_" + identity.id.suffix(24)) })
        finish()
        responder.json(.ok, body)
    }

    /// Engine-side latency metrics, as vLLM records them.
    private func record(token index: Int, last: Bool) {
        let now = NIODeadline.now()
        let sinceArrival = Double((now - arrival).nanoseconds) / 1e9
        let gap = lastToken.map { Double((now - $0).nanoseconds) / 1e9 }
        let firstTokenAt = index == 0 ? sinceArrival : nil
        lastToken = now
        let plan = self.plan
        metrics.update { values in
            if let firstTokenAt {
                values.ttft.observe(firstTokenAt)
                if self.driver == nil { values.queue.observe(0) }
            }
            if let gap { values.itl.observe(gap) }
            if last {
                values.e2e.observe(sinceArrival)
                values.finished[plan.finishReason, default: 0] += 1
                values.promptTokens += plan.promptTokens
                values.generationTokens += plan.outputTokens
            }
        }
        if last, plan.outputTokens > 1, let firstToken = firstTokenTime {
            let tpot = (sinceArrival - firstToken) / Double(plan.outputTokens - 1)
            metrics.update { $0.tpot.observe(tpot) }
        }
        if index == 0 { firstTokenTime = sinceArrival }
    }

    private var firstTokenTime: Double?

    private func finish() {
        scheduled = nil
        engineID = nil
        onFinish()
        if plan.stream { responder.end() }
    }
}
