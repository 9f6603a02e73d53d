import NIOCore
import NIOHTTP1
import SwitchyardCore

/// Relaying the backend's response (`UpstreamResponseDelegate`): head, parts and end as they
/// arrive, failures before and after the first byte, the stream idle check, and the exchange's
/// single exit.
extension ClientRequestHandler {
    func upstreamResponseHead(_ head: HTTPResponseHead) {
        guard let context, case .forwarding(var exchange) = state else { return }
        let status = Int(head.status.code)
        let backendName = proxy.backend(exchange.ticket.backend).name
        if status >= 500 {
            proxy.telemetry.upstreamError(backend: backendName, kind: "http_5xx")
            proxy.exchangeFailed(backend: exchange.ticket.backend)
        } else {
            proxy.exchangeSucceeded(backend: exchange.ticket.backend)
        }
        // vLLM's overload answers (503, a full queue's 429) go to another backend if one can
        // take the request; otherwise the client gets this one.
        if proxy.config.retries.statuses.contains(status), retryElsewhere(exchange, context: context) { return }
        exchange.responseStarted = true
        var headers = HTTPHeaders(
            ProxyHeaders.forwardable(
                head.headers.map { ($0.name, $0.value) },
                alsoDropping: ["x-request-id", "x-switchyard-backend"]
            ).map { ($0.name, $0.value) })
        headers.add(name: "x-request-id", value: exchange.requestID)
        headers.add(name: "x-switchyard-backend", value: backendName)
        if exchange.admitted.attempts > 1 {
            headers.add(name: "x-switchyard-attempts", value: String(exchange.admitted.attempts))
        }
        if let clamp = exchange.clamp {
            headers.add(
                name: "x-switchyard-clamped", value: "max_tokens=\(clamp.granted); requested=\(clamp.requested)")
        }
        if !exchange.keepAlive { headers.add(name: "connection", value: "close") }
        relaysEventStream = head.headers.first(name: "content-type")?.hasPrefix("text/event-stream") ?? false
        if relaysEventStream { armIdleCheck(exchange.serial, context: context) }
        stripsUsage = exchange.injectsUsage && relaysEventStream && measurement != nil
        measurement?.meter.responseBegins(eventStream: relaysEventStream)
        measurement?.status = status
        measurement?.meter.timeline.upstreamHead = proxy.seconds
        let relayed = HTTPResponseHead(version: exchange.responseVersion, status: head.status, headers: headers)
        if exchange.firstTokenTimer != nil {
            // The first-token timeout may still send the request elsewhere: the head waits for
            // the first body part.
            exchange.heldHead = relayed
            state = .forwarding(exchange)
            return
        }
        exchange.clientSawResponse = true
        state = .forwarding(exchange)
        context.writeAndFlush(Self.wrapOutboundOut(.head(relayed)), promise: nil)
    }

    func upstreamResponseBody(_ buffer: ByteBuffer) {
        guard let context, case .forwarding = state else { return }
        if firstByteAt == nil, case .forwarding(var exchange) = state {
            // Prefill is done: the scheduler stops counting this prompt as work ahead. (Only
            // the first part touches the exchange; later parts do not copy it.)
            firstByteAt = .now
            proxy.firstToken(&exchange.ticket)
            releaseHeldHead(&exchange, context: context)
            state = .forwarding(exchange)
        }
        partsRelayed += 1
        if stripsUsage {
            relayStrippingUsage(buffer, context: context)
            return
        }
        observe(buffer)
        writeRelayed(buffer, context: context)
    }

    func upstreamResponseEnd() {
        guard let context, case .forwarding(var exchange) = state else { return }
        releaseHeldHead(&exchange, context: context)
        if let held = heldBack {
            // The stream ended inside an event: it goes to the client as it came.
            heldBack = nil
            writeRelayed(held, context: context)
        }
        endExchange(exchange, connectionReusable: true)
        writeEnd(keepAlive: exchange.keepAlive, context: context)
    }

    func upstreamFailed(_ error: any Error) {
        guard let context, case .forwarding(let exchange) = state else { return }
        let name = proxy.backend(exchange.ticket.backend).name
        proxy.telemetry.upstreamError(backend: name, kind: error is StreamIdleTimeout ? "stall" : "reset")
        proxy.exchangeFailed(backend: exchange.ticket.backend)
        if !exchange.clientSawResponse, retryElsewhere(exchange, context: context) { return }
        endExchange(exchange, connectionReusable: false)
        if exchange.clientSawResponse {
            proxy.logger.warning("backend failed mid-response", metadata: ["backend": "\(name)", "error": "\(error)"])
            measurement?.reason = "backend_failed"
            finishMeasurement(completed: false)
            guard relaysEventStream else {
                // A non-streamed body was cut: closing is the only honest signal, so a client
                // cannot take a truncated body for a whole one.
                state = .closed
                context.close(promise: nil)
                return
            }
            // A stream ends well-formed: an OpenAI error event, then [DONE]. An event the backend
            // left unfinished is dropped rather than sent half.
            heldBack = nil
            let failure = OpenAIError(
                status: 502, message: "Backend \(name) failed mid-stream: \(error).", reason: "backend_failed")
            writeRelayed(
                context.channel.allocator.buffer(string: "data: \(failure.jsonBody)\n\ndata: [DONE]\n\n"),
                context: context)
            writeEnd(keepAlive: exchange.keepAlive, context: context)
        } else {
            let answer = OpenAIError(
                status: 502, message: "Backend \(name) failed before answering: \(error).",
                reason: "backend_failed", retryAfterSeconds: 1)
            respond(answer, requestID: exchange.requestID, keepAlive: exchange.keepAlive, context: context)
        }
    }

    /// Checks a stream for silence every quarter of `upstream.stream_idle_timeout` (one timer per
    /// check, none per part): a stream with no part for the whole timeout has a stalled backend.
    func armIdleCheck(_ serial: Int, context: ChannelHandlerContext) {
        guard proxy.config.upstream.streamIdleTimeout > .zero else { return }
        partsAtCheck = partsRelayed
        silentSince = .now()
        scheduleIdleCheck(serial, eventLoop: context.eventLoop)
    }

    private func scheduleIdleCheck(_ serial: Int, eventLoop: any EventLoop) {
        let timeout = TimeAmount(proxy.config.upstream.streamIdleTimeout)
        let interval = TimeAmount.nanoseconds(max(timeout.nanoseconds / 4, 10_000_000))
        let handler = NIOLoopBound(self, eventLoop: eventLoop)
        idleCheck = eventLoop.scheduleTask(in: interval) {
            let handler = handler.value
            guard case .forwarding(let exchange) = handler.state, exchange.serial == serial else { return }
            if handler.partsRelayed != handler.partsAtCheck {
                handler.partsAtCheck = handler.partsRelayed
                handler.silentSince = .now()
            } else if NIODeadline.now() - handler.silentSince >= timeout {
                handler.upstreamFailed(StreamIdleTimeout(limit: handler.proxy.config.upstream.streamIdleTimeout))
                return
            }
            handler.scheduleIdleCheck(serial, eventLoop: eventLoop)
        }
    }

    /// The single exit from `.forwarding`: releases the backend slot (unless a retry took it
    /// over) and the upstream connection.
    func endExchange(_ exchange: Exchange, connectionReusable: Bool, releasingSlot: Bool = true) {
        idleCheck?.cancel()
        idleCheck = nil
        exchange.firstTokenTimer?.cancel()
        state = .closed
        if releasingSlot { proxy.finish(exchange.ticket, tpot: measuredTPOT()) }
        guard let connection = exchange.connection else { return }
        connection.handler.delegate = nil
        if connectionReusable, let context {
            proxy.pool(for: context.eventLoop).checkin(backend: exchange.ticket.backend, connection)
        } else {
            connection.channel.close(promise: nil)
        }
    }

    /// Time per output token of a streamed response, for the scheduler: from the first content
    /// event to the last over the tokens between (with telemetry off, over the parts relayed, the
    /// last being `[DONE]`). Nil for short or non-streamed responses.
    private func measuredTPOT() -> Double? {
        guard relaysEventStream else { return nil }
        if let timeline = measurement?.meter.timeline {
            let tokens = timeline.completionTokens ?? timeline.contentEvents
            guard timeline.contentEvents >= 3, tokens >= 3, let first = timeline.firstContent,
                let last = timeline.lastContent
            else { return nil }
            return (last - first) / Double(tokens - 1)
        }
        guard partsRelayed >= 4, let firstByteAt else { return nil }
        return (ContinuousClock.now - firstByteAt).inSeconds / Double(partsRelayed - 2)
    }
}

/// Nothing arrived from a streaming backend for `upstream.stream_idle_timeout`.
struct StreamIdleTimeout: Error, CustomStringConvertible {
    var limit: Duration
    var description: String { "no data for \(ConfigUnits.format(limit)) (upstream.stream_idle_timeout)" }
}
