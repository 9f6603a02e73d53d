import Foundation
import NIOCore
import NIOHTTP1
import SwitchyardCore

/// One connection's HTTP handler. The pipelining handler in front of it holds back the next
/// request until the current response has ended, so there is at most one generation at a time.
final class SimHTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let configuration: SimReplicaConfiguration
    private let shared: SimReplicaShared
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private var generation: SimGeneration?

    init(configuration: SimReplicaConfiguration, shared: SimReplicaShared) {
        self.configuration = configuration
        self.shared = shared
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body.removeAll(keepingCapacity: true)
            shared.update { $0.requestsReceived += 1 }
        case .body(var buffer):
            body.append(contentsOf: buffer.readBytes(length: buffer.readableBytes) ?? [])
        case .end:
            guard let requestHead = head else { return }
            head = nil
            route(context: context, head: requestHead)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let generation {
            generation.cancel()
            self.generation = nil
            shared.update {
                $0.generationsAborted += 1
                $0.running -= 1
            }
        }
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // e.g. connection reset by the client: closing leads to channelInactive, which aborts.
        context.close(promise: nil)
    }

    // MARK: Routing

    private func route(context: ChannelHandlerContext, head: HTTPRequestHead) {
        let path = head.uri.split(separator: "?", maxSplits: 1).first.map(String.init) ?? head.uri
        let responder = Responder(context: context, head: head)
        let isGet = head.method == .GET || head.method == .HEAD
        if let key = configuration.apiKey, path.hasPrefix("/v1"),
            head.headers.first(name: "authorization") != "Bearer \(key)"
        {
            // vLLM's own answer to a missing or wrong key.
            return responder.send(
                HTTPResponseStatus(statusCode: 401), contentType: "application/json", body: #"{"error":"Unauthorized"}"#)
        }
        switch path {
        case "/v1/models":
            guard isGet else { return responder.methodNotAllowed(allow: "GET") }
            let created = Self.now()
            responder.json(.ok, SimResponses.models(configuration, created: created, permissionID: Self.hexID()))
        case "/health":
            guard isGet else { return responder.methodNotAllowed(allow: "GET") }
            let status = shared.faults.healthStatus.map { HTTPResponseStatus(statusCode: $0) } ?? .ok
            responder.send(status, contentType: nil, body: "")
        case "/metrics":
            guard isGet else { return responder.methodNotAllowed(allow: "GET") }
            let stats = shared.stats
            let engine = shared.driver != nil
            let text = shared.metrics.render(
                modelName: configuration.servedModelName, running: engine ? stats.engineRunning : stats.running,
                waiting: stats.engineWaiting, kvCacheUsage: stats.kvCacheUsage, preemptions: stats.preemptions)
            responder.send(.ok, contentType: "text/plain; version=0.0.4; charset=utf-8", body: text)
        case "/sim/state":
            guard isGet else { return responder.methodNotAllowed(allow: "GET") }
            responder.json(.ok, SimResponses.state(shared.stats, faults: shared.faults))
        case "/sim/faults":
            guard head.method == .POST else { return responder.methodNotAllowed(allow: "POST") }
            switch SimFaults.parse(body) {
            case .success(let faults):
                shared.faults = faults
                responder.json(.ok, faults.json)
            case .failure(let error):
                responder.error(SimRequestParser.badRequest(error.message))
            }
        case "/version":
            guard isGet else { return responder.methodNotAllowed(allow: "GET") }
            responder.json(.ok, SimResponses.version)
        case "/tokenize":
            guard head.method == .POST else { return responder.methodNotAllowed(allow: "POST") }
            switch SimRequestParser.tokenize(body: body, configuration: configuration) {
            case .success(let count):
                responder.json(.ok, SimResponses.tokenize(count: count, maxModelLen: configuration.maxModelLen))
            case .failure(let error):
                responder.error(error)
            }
        case "/v1/chat/completions", "/v1/completions":
            guard head.method == .POST else { return responder.methodNotAllowed(allow: "POST") }
            let authorization = head.headers.first(name: "authorization")
            shared.update { $0.lastAuthorization = authorization }
            if let status = shared.faults.errorStatus {
                return responder.error(
                    OpenAIError(
                        status: status, message: "Simulated failure (fault injection: error_status).",
                        reason: "sim_fault"))
            }
            let endpoint: SimEndpoint = path == "/v1/completions" ? .completions : .chatCompletions
            switch SimRequestParser.generation(body: body, endpoint: endpoint, configuration: configuration) {
            case .success(let plan):
                startGeneration(plan, responder: responder)
            case .failure(let error):
                responder.error(error)
            }
        default:
            responder.json(.notFound, SimResponses.notFound)
        }
    }

    // MARK: Generation

    private func startGeneration(_ requested: SimGenerationPlan, responder: Responder) {
        var plan = requested
        if let profile = configuration.engine, !plan.ignoreEOS {
            let key = shared.nextGenerationKey(seed: configuration.seed)
            let natural = NaturalLength.draw(cap: plan.outputTokens, profile: profile, key: key)
            plan.stoppedEarly = natural < plan.outputTokens
            plan.outputTokens = natural
        }
        shared.update {
            $0.generationsStarted += 1
            $0.running += 1
        }
        // vLLM names the response after the X-Request-Id header when there is one.
        let base = responder.head.headers.first(name: "x-request-id") ?? Self.hexID()
        let identity = SimStreamIdentity(
            endpoint: plan.endpoint, id: plan.endpoint.idPrefix + base, created: Self.now(),
            model: configuration.servedModelName)
        let generation = SimGeneration(
            plan: plan, identity: identity, configuration: configuration, driver: shared.driver,
            metrics: shared.metrics, faults: shared.faults, responder: responder,
            onFinish: { [weak self] in self?.generationFinished(plan) })
        self.generation = generation
        generation.start()
    }

    private func generationFinished(_ plan: SimGenerationPlan) {
        guard generation != nil else { return }
        generation = nil
        shared.update {
            $0.generationsCompleted += 1
            $0.running -= 1
            $0.completionTokensGenerated += plan.outputTokens
            $0.promptTokensProcessed += plan.promptTokens
        }
    }

    // MARK: Helpers

    static func now() -> Int {
        Int(Date().timeIntervalSince1970)
    }

    /// 32 random hex digits, like vLLM's `random_uuid()`.
    static func hexID() -> String {
        let high = UInt64.random(in: .min ... .max)
        let low = UInt64.random(in: .min ... .max)
        return hex16(high) + hex16(low)
    }

    private static func hex16(_ value: UInt64) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}

/// Writes one response for one request on the handler's channel (event-loop only).
struct Responder {
    let context: ChannelHandlerContext
    let head: HTTPRequestHead

    var eventLoop: any EventLoop { context.eventLoop }
    /// False once the client has gone: writes are then skipped.
    var isActive: Bool { context.channel.isActive }

    /// Drops the connection (fault injection: a replica dying mid-stream).
    func abortConnection() { context.close(promise: nil) }

    private func responseHead(_ status: HTTPResponseStatus, contentType: String?, length: Int?) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        if let contentType { headers.add(name: "content-type", value: contentType) }
        if let length { headers.add(name: "content-length", value: String(length)) }
        if let requestID = head.headers.first(name: "x-request-id") {
            headers.add(name: "x-request-id", value: requestID)
        }
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: head.version, status: status, headers: headers)
    }

    /// A complete response with a fixed-length body.
    func send(_ status: HTTPResponseStatus, contentType: String?, body: String, extraHeaders: HTTPHeaders = [:]) {
        guard isActive else { return }
        var response = responseHead(status, contentType: contentType, length: body.utf8.count)
        response.headers.add(contentsOf: extraHeaders)
        context.write(NIOAny(HTTPServerResponsePart.head(response)), promise: nil)
        if head.method != .HEAD, !body.isEmpty {
            context.write(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: body)))), promise: nil)
        }
        end()
    }

    func json(_ status: HTTPResponseStatus, _ body: String) {
        send(status, contentType: "application/json", body: body)
    }

    func error(_ error: OpenAIError) {
        json(HTTPResponseStatus(statusCode: error.status), error.jsonBody)
    }

    /// FastAPI's 405, with its `allow` header.
    func methodNotAllowed(allow: String) {
        var extra = HTTPHeaders()
        extra.add(name: "allow", value: allow)
        send(
            .methodNotAllowed, contentType: "application/json", body: SimResponses.methodNotAllowed, extraHeaders: extra
        )
    }

    /// Starts a chunked SSE response (Starlette adds the charset to text/* media types).
    func startEventStream() {
        guard isActive else { return }
        let response = responseHead(.ok, contentType: "text/event-stream; charset=utf-8", length: nil)
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.head(response)), promise: nil)
    }

    /// One SSE event as its own HTTP chunk, flushed at once.
    func sendEvent(_ event: String) {
        guard isActive else { return }
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.body(.byteBuffer(ByteBuffer(string: event)))), promise: nil)
    }

    /// Ends the response; closes the connection afterwards unless it is keep-alive.
    func end() {
        guard isActive else { return }
        let keepAlive = head.isKeepAlive
        let context = self.context
        context.writeAndFlush(NIOAny(HTTPServerResponsePart.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
