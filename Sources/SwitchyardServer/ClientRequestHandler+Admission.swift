import NIOCore
import NIOHTTP1
import SwitchyardCore

/// Admission and scheduling of one request: the context check (with an exact `/tokenize` count
/// for borderline requests), the scheduler's verdict, and the wait in the queue.
extension ClientRequestHandler {
    func admit(_ request: IncomingRequest, profile: RequestProfile, context: ChannelHandlerContext) {
        let model = profile.summary.model
        let need = ContextNeed(
            textTokens: profile.textTokens, mediaTokens: profile.mediaTokens, outputBudget: profile.summary.outputBudget
        )
        let admission = proxy.config.admission
        let verdict = proxy.withTable { ContextAdmission.evaluate(need, model: model, table: $0, config: admission) }
        switch verdict {
        case .refuse(let error):
            proxy.recordAdmissionRefusal(error)
            respond(error, to: request, context: context)
        case .admit(let need, let clampedFrom):
            proceed(request, profile: profile, need: need, clampedFrom: clampedFrom, context: context)
        case .countExactly(let backend, let limit):
            countExactly(request, profile: profile, need: need, backend: backend, limit: limit, context: context)
        }
    }

    /// Asks the backend's `/tokenize` for the exact prompt count (the body is sent as is; vLLM
    /// ignores the generation fields). If the count cannot be had, the estimate decides.
    private func countExactly(
        _ request: IncomingRequest, profile: RequestProfile, need: ContextNeed, backend: Int, limit: Int,
        context: ChannelHandlerContext
    ) {
        exchangeSerial += 1
        let serial = exchangeSerial
        state = .counting(serial: serial)
        let proxy = self.proxy
        let target = proxy.backend(backend)
        let url = target.url
        let body = request.body
        let timeout = proxy.config.discovery.probeTimeout
        let group = context.eventLoop
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        Task {
            let answer = try? await ProbeClient.request(
                url, method: .POST, path: "/tokenize", body: body, timeout: timeout, group: group,
                tls: proxy.tls(for: url), authorization: target.apiKey)
            let count = answer.flatMap { $0.status == 200 ? $0.body : nil }.flatMap { bytes in
                bytes.withUnsafeBytes { ContextAdmission.tokenizeCount($0) }
            }
            proxy.recordExactCheck(succeeded: count != nil)
            group.execute {
                let handler = handler.value
                guard case .counting(let current) = handler.state, current == serial else { return }
                let admission = proxy.config.admission
                let verdict: ContextAdmission.Verdict
                if let count {
                    verdict = ContextAdmission.evaluateExact(need, promptTokens: count, limit: limit, config: admission)
                } else {
                    var fallback = admission
                    fallback.exactCheck = false
                    verdict = proxy.withTable {
                        ContextAdmission.evaluate(need, model: profile.summary.model, table: $0, config: fallback)
                    }
                }
                switch verdict {
                case .refuse(let error):
                    proxy.recordAdmissionRefusal(error)
                    handler.respond(error, to: request, context: loopContext.value)
                case .admit(let need, let clampedFrom):
                    handler.proceed(
                        request, profile: profile, need: need, clampedFrom: clampedFrom, context: loopContext.value)
                case .countExactly:  // cannot come from an exact count
                    handler.proceed(request, profile: profile, need: need, clampedFrom: nil, context: loopContext.value)
                }
            }
        }
    }

    private func proceed(
        _ request: IncomingRequest, profile: RequestProfile, need: ContextNeed, clampedFrom: Int?,
        context: ChannelHandlerContext
    ) {
        var admitted = AdmittedRequest(incoming: request, hasPriority: profile.priority != nil)
        let telemetry = proxy.telemetry.config
        admitted.injectsUsage =
            telemetry.enabled && telemetry.usageRewrite && profile.summary.stream && profile.summary.includeUsage == nil
        admitted.streams = profile.summary.stream
        if let clampedFrom, let granted = need.outputBudget { admitted.clamp = (clampedFrom, granted) }
        schedule(admitted, model: profile.summary.model, profile: profile, need: need, context: context)
    }

    /// The scheduler's verdict: run now, wait, or a refusal.
    func schedule(
        _ admitted: AdmittedRequest, model: String?, profile: RequestProfile?, need: ContextNeed?,
        context: ChannelHandlerContext
    ) {
        let request = admitted.incoming
        let headers = request.head.headers
        let queueConfig = proxy.config.queue
        let timeout: Duration
        switch QueueTimeout.parse(headers.first(name: queueConfig.timeoutHeader), config: queueConfig) {
        case .success(let value): timeout = value
        case .failure(let error): return respond(error, to: request, context: context)
        }
        let tenant = request.key?.tenant ?? Self.tenant(of: headers, header: queueConfig.tenantHeader)
        let sessionKey: UInt64? =
            headers.first(name: proxy.config.routing.sessionHeader).map { HashRing.key($0) }
            ?? profile.flatMap { $0.sessionSeed == 0 ? nil : HashRing.key(seed: $0.sessionSeed) }
        let output = need.map { $0.outputBudget ?? proxy.config.admission.defaultOutputReservation } ?? 0
        let prompt = need?.prompt ?? 0
        if let key = request.key, !key.limits.isEmpty {
            if let refusal = proxy.acquireTenant(key.tenant, limits: key.limits, tokens: prompt + output) {
                return respond(refusal, to: request, context: context)
            }
            heldTenant = key.tenant
        }
        let (scheduled, admission) = proxy.submit(
            ScheduleRequest(
                id: 0, model: model, need: need, prompt: prompt, output: output, priority: profile?.priority ?? 0,
                tenant: tenant, sessionKey: sessionKey, timeout: timeout),
            waiter: makeWaiter(context: context))
        if case .refuse = admission {} else { measureAdmitted(queued: admission.isQueued) }
        var admitted = admitted
        admitted.scheduled = scheduled
        proceed(admitted, admission: admission, context: context)
    }

    /// Acts on the scheduler's answer for an admitted request (new, or a retry).
    func proceed(_ admitted: AdmittedRequest, admission: Admission, context: ChannelHandlerContext) {
        switch admission {
        case .refuse(let error):
            respond(error, to: admitted.incoming, context: context)
        case .dispatch(let ticket):
            forward(admitted, ticket: ticket, context: context)
        case .queued(let deadline):
            let id = admitted.scheduled?.id ?? 0
            let delay = TimeAmount(max(.zero, deadline - proxy.now))
            let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
            let timer = context.eventLoop.scheduleTask(in: delay) { handler.value.queueDeadlinePassed(id) }
            state = .queued(Waiting(request: admitted, id: id, timer: timer))
        }
    }

    /// How the scheduler reaches this request while it waits: on this connection's loop.
    func makeWaiter(context: ChannelHandlerContext) -> ProxyState.Waiter {
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        return ProxyState.Waiter(
            eventLoop: context.eventLoop, bound: { ticket in handler.value.bound(ticket) },
            refused: { error in handler.value.refusedWhileQueued(error) })
    }

    /// A slot was bound to a waiting request (on this loop). If the client has left meanwhile,
    /// the slot goes straight back.
    func bound(_ ticket: Ticket) {
        guard case .queued(let waiting) = state, waiting.id == ticket.request, let context else {
            proxy.finish(ticket)
            return
        }
        waiting.timer?.cancel()
        forward(waiting.request, ticket: ticket, context: context)
    }

    func refusedWhileQueued(_ error: OpenAIError) {
        guard case .queued(let waiting) = state, let context else { return }
        waiting.timer?.cancel()
        respond(error, to: waiting.request.incoming, context: context)
    }

    func queueDeadlinePassed(_ id: UInt64) {
        guard case .queued(let waiting) = state, waiting.id == id, let context else { return }
        // Nil: a slot was bound a moment ago and is on its way to `bound`.
        guard let error = proxy.expire(request: id) else { return }
        respond(error, to: waiting.request.incoming, context: context)
    }

    /// The tenant: the configured header's value when present, else the API key, else "".
    static func tenant(of headers: HTTPHeaders, header: String?) -> String {
        if let header, let value = headers.first(name: header), !value.isEmpty { return value }
        guard let authorization = headers.first(name: "authorization") else { return "" }
        let parts = authorization.split(separator: " ", maxSplits: 1)
        return parts.count == 2 && parts[0].lowercased() == "bearer" ? String(parts[1]) : authorization
    }
}

extension Admission {
    var isQueued: Bool {
        if case .queued = self { return true }
        return false
    }
}
