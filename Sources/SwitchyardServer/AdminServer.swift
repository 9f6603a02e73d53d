import NIOCore
import NIOHTTP1
import NIOPosix

/// The admin API's listener: its own port (127.0.0.1:9000 by default), small bodies, one
/// request at a time per connection, answered from `AdminAPI`.
final class AdminRequestHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let api: AdminAPI
    private var head: HTTPRequestHead?
    private var body: [UInt8] = []
    private static let maxBody = 64 * 1024

    init(api: AdminAPI) { self.api = api }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let requestHead):
            head = requestHead
            body = []
        case .body(var part):
            guard body.count + part.readableBytes <= Self.maxBody else {
                head = nil
                answer(
                    AdminAPI.error(413, "Admin request bodies are limited to 64 KiB."), keepAlive: false,
                    context: context)
                return
            }
            body += part.readBytes(length: part.readableBytes) ?? []
        case .end:
            guard let requestHead = head else { return }
            head = nil
            let path = String(requestHead.uri.prefix { $0 != "?" })
            let result = api.handle(
                method: requestHead.method.rawValue, path: path,
                authorization: requestHead.headers.first(name: "authorization"), body: body)
            answer(result, keepAlive: requestHead.isKeepAlive, context: context)
        }
    }

    private func answer(_ answer: AdminAPI.Answer, keepAlive: Bool, context: ChannelHandlerContext) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "application/json")
        headers.add(name: "content-length", value: String(answer.json.utf8.count))
        if !keepAlive { headers.add(name: "connection", value: "close") }
        let responseHead = HTTPResponseHead(
            version: .http1_1, status: HTTPResponseStatus(statusCode: answer.status), headers: headers)
        context.write(Self.wrapOutboundOut(.head(responseHead)), promise: nil)
        context.write(
            Self.wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: answer.json)))),
            promise: nil)
        context.writeAndFlush(Self.wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }

    static func bind(api: AdminAPI, host: String, port: Int, group: any EventLoopGroup) async throws -> any Channel {
        try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminRequestHandler(api: api))
                }
            }
            .bind(host: host, port: port).get()
    }
}
