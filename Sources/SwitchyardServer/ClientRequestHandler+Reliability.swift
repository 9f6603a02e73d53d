import NIOCore
import NIOHTTP1
import SwitchyardCore

/// Retries before the first response byte, the first-token timeout, API keys and tenant limits.
extension ClientRequestHandler {
    // MARK: - Retries

    /// Sends the exchange's request to another backend if it may still be retried (attempts and
    /// time left, some other backend can take it) and no byte has reached the client. True when
    /// it did: the connection is closed, the slot released, and the request is on its way again
    /// (or waiting for a slot). False changes nothing.
    func retryElsewhere(_ exchange: Exchange, context: ChannelHandlerContext) -> Bool {
        let retries = proxy.config.retries
        var admitted = exchange.admitted
        guard !exchange.clientSawResponse, var request = admitted.scheduled,
            admitted.attempts < retries.maxAttempts,
            let first = admitted.firstDispatchAt, ContinuousClock.now - first < retries.budget
        else { return false }
        let failed = exchange.ticket.backend
        if !request.excluded.contains(failed) { request.excluded.append(failed) }
        let admission = proxy.retry(request, releasing: exchange.ticket, waiter: makeWaiter(context: context))
        if case .refuse = admission { return false }
        admitted.scheduled = request
        endExchange(exchange, connectionReusable: false, releasingSlot: false)
        proxy.telemetry.retried(backend: proxy.backend(failed).name)
        proxy.logger.info(
            "retrying on another backend",
            metadata: [
                "request": "\(exchange.requestID)", "failed": "\(proxy.backend(failed).name)",
                "attempt": "\(admitted.attempts + 1)",
            ])
        proceed(admitted, admission: admission, context: context)
        return true
    }

    // MARK: - First-token timeout

    /// Arms `upstream.first_token_timeout` for a streamed request that has not used it yet.
    func armFirstTokenTimeout(_ serial: Int, context: ChannelHandlerContext) {
        let timeout = proxy.config.upstream.firstTokenTimeout
        guard timeout > .zero, case .forwarding(var exchange) = state, exchange.admitted.streams,
            !exchange.admitted.firstTokenRetried
        else { return }
        let handler = NIOLoopBound(self, eventLoop: context.eventLoop)
        exchange.firstTokenTimer = context.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            handler.value.firstTokenTimedOut(serial)
        }
        state = .forwarding(exchange)
    }

    /// No token in time: the request is cancelled there (closing the connection aborts it in
    /// vLLM) and sent once to another backend. With nowhere else to go, it keeps waiting here.
    private func firstTokenTimedOut(_ serial: Int) {
        guard let context, case .forwarding(var exchange) = state, exchange.serial == serial,
            firstByteAt == nil, !exchange.clientSawResponse
        else { return }
        exchange.firstTokenTimer = nil
        exchange.admitted.firstTokenRetried = true
        state = .forwarding(exchange)
        let backend = exchange.ticket.backend
        proxy.telemetry.upstreamError(backend: proxy.backend(backend).name, kind: "first_token_timeout")
        proxy.exchangeFailed(backend: backend)
        if retryElsewhere(exchange, context: context) { return }
        if let head = exchange.heldHead {
            // Staying here: the head need not wait any longer.
            exchange.heldHead = nil
            exchange.clientSawResponse = true
            state = .forwarding(exchange)
            context.writeAndFlush(Self.wrapOutboundOut(.head(head)), promise: nil)
        }
    }

    /// The first response part arrived (or the response ended): the first-token timeout is
    /// over, and a head held back for it goes to the client (flushed with the part).
    func releaseHeldHead(_ exchange: inout Exchange, context: ChannelHandlerContext) {
        exchange.firstTokenTimer?.cancel()
        exchange.firstTokenTimer = nil
        guard let head = exchange.heldHead else { return }
        exchange.heldHead = nil
        exchange.clientSawResponse = true
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
    }

    // MARK: - API keys and tenant limits

    /// With `auth.keys` configured, every endpoint but `/health` and the metrics path needs a
    /// valid key (`Authorization: Bearer KEY` or `x-api-key: KEY`). Nil key: none needed.
    func authenticate(_ head: HTTPRequestHead) -> Result<APIKey?, OpenAIError> {
        let auth = proxy.config.auth
        guard auth.enabled else { return .success(nil) }
        let path = head.uri.prefix { $0 != "?" }
        if path == "/health" || path == proxy.telemetry.config.metricsPath { return .success(nil) }
        var presented: Substring?
        if let header = head.headers.first(name: "authorization") {
            let parts = header.split(separator: " ", maxSplits: 1)
            if parts.count == 2, parts[0].lowercased() == "bearer" { presented = parts[1] }
        } else if let header = head.headers.first(name: "x-api-key") {
            presented = Substring(header)
        }
        guard let presented, !presented.isEmpty else {
            return .failure(
                OpenAIError(
                    status: 401,
                    message: "This endpoint needs an API key: send it as `Authorization: Bearer <key>`.",
                    reason: "missing_api_key"))
        }
        guard let key = auth.tenant(presenting: presented) else {
            return .failure(OpenAIError(status: 401, message: "The API key is not valid.", reason: "invalid_api_key"))
        }
        return .success(key)
    }

    func releaseTenantHold() {
        guard let tenant = heldTenant else { return }
        heldTenant = nil
        proxy.releaseTenant(tenant)
    }
}
