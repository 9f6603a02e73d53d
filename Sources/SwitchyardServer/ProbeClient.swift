import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardCore

/// A one-shot HTTP request for health probes, model discovery, metrics scrapes and exact
/// `/tokenize` counts (also used by `bench serve` to find the default model): its own
/// connection, closed after the answer, bounded by a timeout. Not for the data path.
public enum ProbeClient {
    public struct Answer: Sendable {
        public var status: Int
        public var body: [UInt8]
    }

    struct TimeoutError: Error, CustomStringConvertible {
        var description: String { "no answer within the probe timeout" }
    }

    public static func get(_ url: BackendURL, path: String, timeout: Duration, group: any EventLoopGroup) async throws
        -> Answer
    {
        try await request(url, method: .GET, path: path, body: nil, timeout: timeout, group: group)
    }

    static func get(
        _ url: BackendURL, path: String, timeout: Duration, group: any EventLoopGroup, tls: UpstreamTLS?,
        authorization: String? = nil
    ) async throws -> Answer {
        try await request(
            url, method: .GET, path: path, body: nil, timeout: timeout, group: group, tls: tls,
            authorization: authorization)
    }

    /// `https://` URLs are verified against the system's trust store.
    public static func request(
        _ url: BackendURL, method: HTTPMethod, path: String, body: ByteBuffer?, timeout: Duration,
        group: any EventLoopGroup
    ) async throws -> Answer {
        let tls = url.usesTLS ? try UpstreamTLS(UpstreamTLSConfig()) : nil
        return try await request(url, method: method, path: path, body: body, timeout: timeout, group: group, tls: tls)
    }

    /// `body` is sent as `application/json`; `authorization` is the backend's own key, if any.
    static func request(
        _ url: BackendURL, method: HTTPMethod, path: String, body: ByteBuffer?, timeout: Duration,
        group: any EventLoopGroup, tls: UpstreamTLS?, authorization: String? = nil
    ) async throws -> Answer {
        let channel = try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(timeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try UpstreamTLS.secure(channel, to: url, with: tls)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                }
            }
            .connect(host: url.host, port: url.port).get()
        let promise = channel.eventLoop.makePromise(of: Answer.self)
        let timer = channel.eventLoop.scheduleTask(in: TimeAmount(timeout)) {
            promise.fail(TimeoutError())
            channel.close(promise: nil)
        }
        defer {
            timer.cancel()
            channel.close(promise: nil)
        }
        // Whatever happens before the answer (a failed TLS handshake closes the channel while
        // the request is being written), the promise is completed: a promise left to an event
        // loop that shuts down is a leak NIO traps on.
        let sent = channel.eventLoop.submit {
            try channel.pipeline.syncOperations.addHandler(AnswerCollector(promise: promise))
            var headers = HTTPHeaders()
            headers.add(name: "host", value: url.hostHeader)
            headers.add(name: "connection", value: "close")
            if let authorization { headers.add(name: "authorization", value: "Bearer \(authorization)") }
            if let body {
                headers.add(name: "content-type", value: "application/json")
                headers.add(name: "content-length", value: String(body.readableBytes))
            }
            let head = HTTPRequestHead(version: .http1_1, method: method, uri: url.pathPrefix + path, headers: headers)
            channel.write(HTTPClientRequestPart.head(head), promise: nil)
            if let body { channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil) }
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        }
        do {
            try await sent.get()
        } catch {
            promise.fail(error)
            throw error
        }
        return try await promise.futureResult.get()
    }

    private final class AnswerCollector: ChannelInboundHandler {
        typealias InboundIn = HTTPClientResponsePart
        let promise: EventLoopPromise<Answer>
        var answer = Answer(status: 0, body: [])

        init(promise: EventLoopPromise<Answer>) { self.promise = promise }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch Self.unwrapInboundIn(data) {
            case .head(let head): answer.status = Int(head.status.code)
            case .body(var buffer): answer.body += buffer.readBytes(length: buffer.readableBytes) ?? []
            case .end: promise.succeed(answer)
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            promise.fail(UpstreamClosedError())
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            promise.fail(error)
            context.close(promise: nil)
        }
    }
}
