import Logging
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// One client connection's request handler. A request passes through these phases:
/// receive (limits) → profile (one JSON pass) → admit (context check, maybe an exact count) →
/// schedule (dispatch now, or wait in the queue until a slot is bound to it) → forward (pooled
/// upstream connection) → relay (response parts written and flushed as they arrive) → complete
/// (slot released at the last byte or at the client's disconnect). Everything runs on the client
/// channel's event loop, which is also the upstream connection's loop.
final class ClientRequestHandler: ChannelInboundHandler, UpstreamResponseDelegate {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    struct IncomingRequest {
        var head: HTTPRequestHead
        var body: ByteBuffer
        var requestID: String
        var keepAlive: Bool
        /// The API key the client presented, when keys are configured.
        var key: APIKey?
    }

    /// A request that passed admission, with the rewrites its forwarding needs.
    struct AdmittedRequest {
        var incoming: IncomingRequest
        /// The body has a `priority`, removed for backends without priority scheduling.
        var hasPriority = false
        /// `clamp` admission lowered the output budget: (the client's budget, the one granted).
        var clamp: (requested: Int, granted: Int)?
        /// A stream without `stream_options`: usage is asked for, and its event stripped.
        var injectsUsage = false
        /// As the scheduler knows it (id included), for retries; nil before scheduling.
        var scheduled: ScheduleRequest?
        /// Dispatches so far, and when the first was (retries are bounded by both).
        var attempts = 0
        var firstDispatchAt: ContinuousClock.Instant?
        /// The first-token timeout has already sent it elsewhere once.
        var firstTokenRetried = false
        /// A streamed request (only those have a first token to wait for).
        var streams = false
    }

    struct Exchange {
        var serial: Int
        var ticket: Ticket
        var requestID: String
        var keepAlive: Bool
        var responseVersion: HTTPVersion
        var clamp: (requested: Int, granted: Int)?
        var connection: UpstreamConnection?
        /// The backend's response head arrived.
        var responseStarted = false
        /// Some byte of the response went to the client: from here on, no retry.
        var clientSawResponse = false
        var injectsUsage = false
        /// The request as admitted, for a retry elsewhere.
        var admitted: AdmittedRequest
        /// The response head, held back while the first-token timeout may still send the
        /// request elsewhere.
        var heldHead: HTTPResponseHead?
        var firstTokenTimer: Scheduled<Void>?
    }

    struct Waiting {
        var request: AdmittedRequest
        var id: UInt64
        var timer: Scheduled<Void>?
    }

    enum State {
        case idle
        case receiving(IncomingRequest)
        /// A refusal was sent before the body was read; the connection closes once it is flushed.
        case rejecting
        /// Waiting for the backend's exact `/tokenize` count of a borderline request.
        case counting(serial: Int)
        /// In the queue: no backend had room. A slot arrives through `bound(_:)`.
        case queued(Waiting)
        case forwarding(Exchange)
        case closed
    }

    let proxy: ProxyState
    private let timeouts: ClientTimeoutHandler
    var state = State.idle
    var context: ChannelHandlerContext?
    var exchangeSerial = 0
    private var generator = SystemRandomNumberGenerator()
    // Measurement of the current request and exchange, kept out of `state` so relaying a part
    // does not copy the exchange.
    var measurement: RequestMeasurement?
    /// The gaps' storage between requests (reused, so a stream's gaps rarely allocate).
    var spareGaps: [Double] = []
    /// The response is an SSE stream.
    var relaysEventStream = false
    /// The usage event is removed from what the client receives (see `relayStrippingUsage`).
    var stripsUsage = false
    /// An incomplete event held back while stripping usage.
    var heldBack: ByteBuffer?
    /// Body parts relayed and when the first arrived (the scheduler's TPOT with telemetry off).
    var partsRelayed = 0
    /// The stream idle check: parts relayed at the last check, and since when none arrived.
    var idleCheck: Scheduled<Void>?
    var partsAtCheck = 0
    var silentSince = NIODeadline.now()
    var firstByteAt: ContinuousClock.Instant?
    /// The tenant whose limits this request holds a share of, until it ends.
    var heldTenant: String?

    init(proxy: ProxyState, timeouts: ClientTimeoutHandler) {
        self.proxy = proxy
        self.timeouts = timeouts
    }

    func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    func handlerRemoved(context: ChannelHandlerContext) { self.context = nil }

    // MARK: - Receive

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head): receiveHead(head, context: context)
        case .body(let part): receiveBody(part, context: context)
        case .end: receiveEnd(context: context)
        }
    }

    private func receiveHead(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        guard case .idle = state else { return }  // the pipeline handler serialises requests
        timeouts.headReceived()
        let requestID = head.headers.first(name: "x-request-id") ?? ProxyHeaders.makeRequestID(using: &generator)
        beginMeasurement(head, requestID: requestID)
        let key: APIKey?
        switch authenticate(head) {
        case .success(let found):
            key = found
            // A configured key's tenant is a name the operator chose: the log shows it.
            if let found { measurement?.tenant = found.tenant }
        case .failure(let refusal):
            refuseBeforeBody(refusal, requestID: requestID, context: context)
            return
        }
        let maxBody = proxy.config.limits.maxBodyBytes
        let declaredLength = head.headers.first(name: "content-length").flatMap { Int($0) }
        if let declaredLength, declaredLength > maxBody {
            refuseBeforeBody(Self.bodyTooLarge(maxBody), requestID: requestID, context: context)
            return
        }
        if head.headers.first(name: "expect")?.lowercased() == "100-continue" {
            let interim = HTTPResponseHead(version: head.version, status: .continue)
            context.writeAndFlush(Self.wrapOutboundOut(.head(interim)), promise: nil)
        }
        let body = context.channel.allocator.buffer(capacity: min(declaredLength ?? 0, maxBody))
        state = .receiving(
            IncomingRequest(head: head, body: body, requestID: requestID, keepAlive: head.isKeepAlive, key: key))
    }

    private func receiveBody(_ part: ByteBuffer, context: ChannelHandlerContext) {
        guard case .receiving(var request) = state else { return }
        let maxBody = proxy.config.limits.maxBodyBytes
        guard request.body.readableBytes + part.readableBytes <= maxBody else {
            refuseBeforeBody(Self.bodyTooLarge(maxBody), requestID: request.requestID, context: context)
            return
        }
        measurement?.bytesIn += part.readableBytes
        state = .closed  // drop the reference while appending, so the buffer is not copied on write
        if request.body.readableBytes == 0 && request.body.capacity == 0 {
            request.body = part
        } else {
            var part = part
            request.body.writeBuffer(&part)
        }
        state = .receiving(request)
    }

    private func receiveEnd(context: ChannelHandlerContext) {
        guard case .receiving(let request) = state else { return }
        timeouts.requestReceived()
        measurement?.meter.timeline.bodyComplete = proxy.seconds
        dispatch(request, context: context)
    }

    private static func bodyTooLarge(_ limit: Int) -> OpenAIError {
        OpenAIError(
            status: 413,
            message: "The request body exceeds the limit of \(limit) bytes (limits.max_body_bytes).",
            reason: "body_too_large")
    }

    // MARK: - Profile and route

    private func dispatch(_ request: IncomingRequest, context: ChannelHandlerContext) {
        let path = request.head.uri.prefix { $0 != "?" }
        switch (request.head.method, path) {
        case (.GET, "/health"), (.HEAD, "/health"):
            answerHealth(request, context: context)
        case (.GET, "/v1/models"):
            answerModels(request, context: context)
        case (.GET, "/switchyard/status"):
            let json = StatusPage.json(
                proxy.snapshot, exactChecks: proxy.exactChecks, admissionRefusals: proxy.admissionRefusals)
            writeLocal(status: 200, contentType: "application/json", body: json, request: request, context: context)
        case (.GET, proxy.telemetry.config.metricsPath[...]):
            let exposition = proxy.telemetry.exposition(proxy.snapshot)
            writeLocal(
                status: 200, contentType: "text/plain; version=0.0.4; charset=utf-8",
                buffer: context.channel.allocator.buffer(bytes: exposition), request: request, context: context)
        case (.GET, proxy.telemetry.config.statsPath[...]):
            answerStats(request, context: context)
        case (.POST, "/v1/chat/completions"), (.POST, "/v1/completions"):
            // One pass: validity, model, output budget, text size, and each image's token cost
            // from its header (base64 decoded only that far).
            let costs = proxy.profileCosts
            let endpoint: RequestProfiler.Endpoint = path == "/v1/completions" ? .completions : .chatCompletions
            let profiled = request.body.withUnsafeReadableBytes {
                RequestProfiler.profile($0, costs: costs, endpoint: endpoint)
            }
            switch profiled {
            case .failure(let error):
                measureInference(model: nil, profile: nil)
                respond(error, to: request, context: context)
            case .success(let profile):
                measureInference(model: profile.summary.model, profile: profile)
                admit(request, profile: profile, context: context)
            }
        default:
            let model = request.body.withUnsafeReadableBytes { RequestInspector.model(in: $0) }
            schedule(AdmittedRequest(incoming: request), model: model, profile: nil, need: nil, context: context)
        }
    }

    // MARK: - Forward

    func forward(_ admitted: AdmittedRequest, ticket: Ticket, context: ChannelHandlerContext) {
        exchangeSerial += 1
        let serial = exchangeSerial
        let backend = ticket.backend
        let backendConfig = proxy.backend(backend)
        let request = admitted.incoming
        var admitted = admitted
        admitted.attempts += 1
        if admitted.firstDispatchAt == nil { admitted.firstDispatchAt = .now }
        state = .forwarding(
            Exchange(
                serial: serial, ticket: ticket, requestID: request.requestID, keepAlive: request.keepAlive,
                responseVersion: request.head.version, clamp: admitted.clamp, injectsUsage: admitted.injectsUsage,
                admitted: admitted))
        relaysEventStream = false
        stripsUsage = false
        heldBack = nil
        partsRelayed = 0
        firstByteAt = nil
        measureDispatch(backend: backendConfig.name)
        armFirstTokenTimeout(serial, context: context)
        let body = Self.upstreamBody(admitted, priorityForwarded: backendConfig.priorityScheduling, context: context)
        let upstreamHead = makeUpstreamHead(
            request, bodyLength: body.readableBytes, backend: backendConfig, context: context)
        proxy.pool(for: context.eventLoop).checkout(backend: backend, url: backendConfig.url) { result in
            guard case .forwarding(var exchange) = self.state, exchange.serial == serial else {
                // The client left while we were connecting.
                if case .success(let connection) = result { connection.channel.close(promise: nil) }
                return
            }
            switch result {
            case .failure(let error):
                self.proxy.telemetry.upstreamError(backend: backendConfig.name, kind: "connect")
                self.proxy.logger.warning(
                    "backend unreachable", metadata: ["backend": "\(backendConfig.name)", "error": "\(error)"])
                // A refused connection is plain evidence: out of rotation until a probe succeeds.
                self.proxy.markUnreachable(backend: backend, reason: "\(error)")
                self.proxy.exchangeFailed(backend: backend)
                if self.retryElsewhere(exchange, context: context) { return }
                self.endExchange(exchange, connectionReusable: false)
                self.respond(
                    OpenAIError(
                        status: 502, message: "Backend \(backendConfig.name) could not be reached: \(error).",
                        reason: "backend_unreachable", retryAfterSeconds: 1),
                    to: request, context: context)
            case .success(let connection):
                exchange.connection = connection
                self.state = .forwarding(exchange)
                connection.handler.delegate = self
                let channel = connection.channel
                channel.write(HTTPClientRequestPart.head(upstreamHead), promise: nil)
                if body.readableBytes > 0 {
                    channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
                }
                channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
                if !context.channel.isWritable {
                    channel.setOption(ChannelOptions.autoRead, value: false).whenComplete { _ in }
                }
            }
        }
    }

    /// The body as the backend gets it: byte for byte, unless `priority` must go (the backend
    /// does not run priority scheduling), `clamp` lowered the output budget, or usage is asked
    /// for on the client's behalf.
    private static func upstreamBody(
        _ admitted: AdmittedRequest, priorityForwarded: Bool, context: ChannelHandlerContext
    ) -> ByteBuffer {
        let removing: Set<String> = admitted.hasPriority && !priorityForwarded ? ["priority"] : []
        var setting: [String: Int] = [:]
        if let clamp = admitted.clamp {
            setting = ["max_tokens": clamp.granted, "max_completion_tokens": clamp.granted]
        }
        let appending: [(name: String, rawJSON: String)] =
            admitted.injectsUsage ? [("stream_options", #"{"include_usage":true}"#)] : []
        guard !removing.isEmpty || !setting.isEmpty || !appending.isEmpty else { return admitted.incoming.body }
        let bytes = admitted.incoming.body.withUnsafeReadableBytes {
            BodyRewrite.rewrite($0, removing: removing, settingIntegers: setting, appending: appending)
        }
        return context.channel.allocator.buffer(bytes: bytes)
    }

    private func makeUpstreamHead(
        _ request: IncomingRequest, bodyLength: Int, backend: BackendConfig, context: ChannelHandlerContext
    ) -> HTTPRequestHead {
        let client = request.head.headers
        let url = backend.url
        // The client's credentials are never forwarded: the backend gets its own key, if any.
        var headers = HTTPHeaders(
            ProxyHeaders.forwardable(
                client.map { ($0.name, $0.value) },
                alsoDropping: [
                    "host", "content-length", "expect", "x-request-id", "x-forwarded-for", "authorization",
                    "x-api-key", "proxy-authorization",
                ]
            ).map { ($0.name, $0.value) })
        headers.add(name: "host", value: url.hostHeader)
        if let apiKey = backend.apiKey { headers.add(name: "authorization", value: "Bearer \(apiKey)") }
        headers.add(name: "x-request-id", value: request.requestID)
        if let forwardedFor = ProxyHeaders.forwardedFor(
            existing: client["x-forwarded-for"], clientAddress: context.channel.remoteAddress?.ipAddress)
        {
            headers.add(name: "x-forwarded-for", value: forwardedFor)
        }
        if bodyLength > 0 || [.POST, .PUT, .PATCH].contains(request.head.method) {
            headers.add(name: "content-length", value: String(bodyLength))
        }
        return HTTPRequestHead(
            version: .http1_1, method: request.head.method, uri: url.pathPrefix + request.head.uri, headers: headers)
    }

    // MARK: - Client connection events

    /// HTTP parse errors: answered here rather than in a handler of their own, because this
    /// handler knows whether a response is in progress (and a separate handler would sit in the
    /// path of every response write just to track that). The decoder closes the connection after.
    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        switch state {
        case .idle, .receiving:
            let answer: OpenAIError
            if parserError == .headerOverflow {
                let limit = proxy.config.limits.maxHeaderBytes
                answer = OpenAIError(
                    status: 431, message: "The request's header fields exceed the limit of \(limit) bytes.",
                    reason: "headers_too_large")
            } else {
                answer = OpenAIError(
                    status: 400, message: "The request is not valid HTTP/1.1 (\(parserError)).", reason: "invalid_http")
            }
            respond(
                answer, requestID: ProxyHeaders.makeRequestID(using: &generator), keepAlive: false, context: context)
        case .forwarding, .rejecting, .closed, .counting, .queued:
            break  // a response is already under way: the connection just closes
        }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        finishMeasurement(completed: false, clientDisconnected: true)
        releaseTenantHold()
        switch state {
        case .forwarding(let exchange):
            // Closing the upstream connection is how vLLM learns to abort and free the KV cache.
            endExchange(exchange, connectionReusable: false)
        case .queued(let waiting):
            // Out of the queue at once. If a slot was bound a moment ago, `bound` gives it back.
            waiting.timer?.cancel()
            _ = proxy.cancel(request: waiting.id)
        default: break
        }
        state = .closed
        context.fireChannelInactive()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if let timedOut = event as? ClientTimeoutHandler.TimedOut {
            measurement?.status = timedOut.error.status
            measurement?.reason = timedOut.error.reason
            proxy.telemetry.rejected(reason: timedOut.error.reason)
            finishMeasurement(completed: true)
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if case .forwarding(let exchange) = state, let channel = exchange.connection?.channel {
            // Backpressure: stop reading the backend while the client cannot keep up.
            channel.setOption(ChannelOptions.autoRead, value: context.channel.isWritable).whenComplete { _ in }
        }
        context.fireChannelWritabilityChanged()
    }

    // MARK: - Local answers

    private func answerHealth(_ request: IncomingRequest, context: ChannelHandlerContext) {
        if proxy.withTable({ $0.anyHealthy }) {
            writeLocal(status: 200, contentType: nil, body: nil, request: request, context: context)
        } else {
            respond(
                OpenAIError(
                    status: 503, message: "No backend is reachable.", reason: "no_healthy_backend",
                    retryAfterSeconds: 2), to: request, context: context)
        }
    }

    private func answerModels(_ request: IncomingRequest, context: ChannelHandlerContext) {
        let json = ModelCatalog.listJSON(proxy.withTable { $0.catalog })
        writeLocal(status: 200, contentType: "application/json", body: json, request: request, context: context)
    }

    func respond(_ error: OpenAIError, to request: IncomingRequest, context: ChannelHandlerContext) {
        respond(error, requestID: request.requestID, keepAlive: request.keepAlive, context: context)
    }

    func respond(_ error: OpenAIError, requestID: String, keepAlive: Bool, context: ChannelHandlerContext) {
        measurement?.reason = error.reason
        proxy.telemetry.rejected(reason: error.reason)
        let body = context.channel.allocator.buffer(string: error.jsonBody)
        let head = LocalResponse.errorHead(
            error, bodyLength: body.readableBytes, requestID: requestID, keepAlive: keepAlive)
        write(head: head, body: body, keepAlive: keepAlive, context: context)
    }

    func writeLocal(
        status: Int, contentType: String?, body: String?, request: IncomingRequest, context: ChannelHandlerContext
    ) {
        writeLocal(
            status: status, contentType: contentType, buffer: body.map { context.channel.allocator.buffer(string: $0) },
            request: request, context: context)
    }

    func writeLocal(
        status: Int, contentType: String?, buffer: ByteBuffer?, request: IncomingRequest,
        context: ChannelHandlerContext
    ) {
        let head = LocalResponse.head(
            status: status, contentType: contentType, contentLength: buffer?.readableBytes ?? 0,
            requestID: request.requestID, keepAlive: request.keepAlive)
        write(head: head, body: buffer, keepAlive: request.keepAlive, context: context)
    }

    func write(head: HTTPResponseHead, body: ByteBuffer?, keepAlive: Bool, context: ChannelHandlerContext) {
        measurement?.status = Int(head.status.code)
        measurement?.bytesWritten += body?.readableBytes ?? 0
        context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
        if let body { context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil) }
        writeEnd(keepAlive: keepAlive, context: context)
    }

    /// A refusal sent before the body was read: the connection cannot be reused.
    private func refuseBeforeBody(_ error: OpenAIError, requestID: String, context: ChannelHandlerContext) {
        respond(error, requestID: requestID, keepAlive: false, context: context)
        state = .rejecting
    }

    /// Ends the response. The state moves first: writing `.end` may re-enter this handler at
    /// once (the pipelining helper delivers the next request, or a draining server closes the
    /// connection), and that must find the connection idle, not mid-exchange.
    func writeEnd(keepAlive: Bool, context: ChannelHandlerContext) {
        finishMeasurement(completed: true)
        releaseTenantHold()
        if keepAlive {
            state = .idle
            timeouts.responseFinished()
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
        } else {
            state = .closed
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        }
    }
}
