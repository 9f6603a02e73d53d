import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardCore

/// Sends benchmark requests over HTTP/1.1 the way aiohttp does for `vllm bench serve`: one
/// connection per in-flight request, kept alive and reused by the next request, TCP_NODELAY.
public final class BenchClient: Sendable {
    private struct Idle {
        var channel: any Channel
        var since: UInt64
    }

    public let target: BackendURL
    let endpoint: String
    let backend: BenchBackend
    private let headers: [(String, String)]
    private let group: any EventLoopGroup
    private let idle = NIOLockedValueBox<[Idle]>([])
    /// Servers close idle keep-alive connections (vLLM after 5 s); older ones are not reused.
    private static let maxIdleNanos: UInt64 = 4_000_000_000

    public init(
        target: BackendURL, endpoint: String, backend: BenchBackend, headers: [(String, String)],
        group: any EventLoopGroup
    ) {
        self.target = target
        self.endpoint = endpoint
        self.backend = backend
        self.group = group
        var all = headers
        if let key = ProcessInfo.processInfo.environment["OPENAI_API_KEY"], !key.isEmpty,
            !headers.contains(where: { $0.0.lowercased() == "authorization" })
        {
            all.append(("Authorization", "Bearer \(key)"))
        }
        self.headers = all
    }

    /// Sends one request and measures it. Never throws: failures are failed outcomes.
    func send(
        _ request: BenchRequest, model: String, ignoreEOS: Bool, requestID: String, origin: UInt64
    ) async -> RequestOutcome {
        let start = NIODeadline.now().uptimeNanoseconds
        let measurement = StreamMeasurement(
            backend: backend, start: start, startTime: Double(start - origin) / 1e9,
            promptTokens: request.promptTokens)
        let channel: any Channel
        do {
            channel = try await checkout()
        } catch {
            var failed = measurement
            return failed.finish(now: start, error: "cannot connect to \(target): \(error)")
        }
        let head = makeHead(requestID: requestID)
        let uri = target.pathPrefix + endpoint
        let future: EventLoopFuture<RequestOutcome> = channel.eventLoop.flatSubmit {
            let promise = channel.eventLoop.makePromise(of: RequestOutcome.self)
            do {
                let handler = try channel.pipeline.syncOperations.handler(type: BenchConnectionHandler.self)
                handler.begin(measurement, promise: promise)
            } catch {
                promise.fail(error)
                return promise.futureResult
            }
            let body = RequestBody.make(
                request, backend: self.backend, model: model, ignoreEOS: ignoreEOS, allocator: channel.allocator)
            var headHeaders = head
            headHeaders.add(name: "content-length", value: String(body.readableBytes))
            let requestHead = HTTPRequestHead(version: .http1_1, method: .POST, uri: uri, headers: headHeaders)
            channel.write(HTTPClientRequestPart.head(requestHead), promise: nil)
            channel.write(HTTPClientRequestPart.body(.byteBuffer(body)), promise: nil)
            channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
            return promise.futureResult
        }
        do {
            let outcome = try await future.get()
            let reusable = try await channel.eventLoop.submit {
                (try? channel.pipeline.syncOperations.handler(type: BenchConnectionHandler.self).reusable) ?? false
            }.get()
            if reusable && channel.isActive {
                idle.withLockedValue { $0.append(Idle(channel: channel, since: NIODeadline.now().uptimeNanoseconds)) }
            } else {
                channel.close(promise: nil)
            }
            return outcome
        } catch {
            channel.close(promise: nil)
            var failed = measurement
            return failed.finish(now: NIODeadline.now().uptimeNanoseconds, error: "\(error)")
        }
    }

    /// Closes every idle connection.
    public func shutdown() {
        for entry in idle.withLockedValue({ list in
            defer { list = [] }
            return list
        }) {
            entry.channel.close(promise: nil)
        }
    }

    private func checkout() async throws -> any Channel {
        let now = NIODeadline.now().uptimeNanoseconds
        while let entry = idle.withLockedValue({ $0.popLast() }) {
            if entry.channel.isActive && now - entry.since < Self.maxIdleNanos { return entry.channel }
            entry.channel.close(promise: nil)
        }
        return try await ClientBootstrap(group: group)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(.seconds(10))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(BenchConnectionHandler())
                }
            }
            .connect(host: target.host, port: target.port).get()
    }

    private func makeHead(requestID: String) -> HTTPHeaders {
        var head = HTTPHeaders()
        head.add(name: "host", value: target.hostHeader)
        head.add(name: "content-type", value: "application/json")
        head.add(name: "accept", value: "*/*")
        for (name, value) in headers { head.add(name: name, value: value) }
        head.replaceOrAdd(name: "x-request-id", value: requestID)
        return head
    }
}

/// The handler on each client connection: feeds the current request's measurement.
final class BenchConnectionHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private var measurement: StreamMeasurement?
    private var promise: EventLoopPromise<RequestOutcome>?
    private(set) var reusable = true

    func begin(_ measurement: StreamMeasurement, promise: EventLoopPromise<RequestOutcome>) {
        self.measurement = measurement
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            reusable = head.isKeepAlive
            measurement?.head(status: Int(head.status.code))
        case .body(let buffer):
            measurement?.body(buffer, now: NIODeadline.now().uptimeNanoseconds)
        case .end:
            complete(error: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        reusable = false
        complete(error: "the server closed the connection before the response ended")
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reusable = false
        complete(error: "\(error)")
        context.close(promise: nil)
    }

    private func complete(error: String?) {
        guard var measurement, let promise else { return }
        self.measurement = nil
        self.promise = nil
        promise.succeed(measurement.finish(now: NIODeadline.now().uptimeNanoseconds, error: error))
    }
}
