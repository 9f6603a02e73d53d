import NIOCore
import NIOHTTP1
import SwitchyardCore

/// Answers the proxy writes itself: its own endpoints and every refusal.
enum LocalResponse {
    static func head(
        status: Int, contentType: String?, contentLength: Int, requestID: String?, keepAlive: Bool,
        reason: String? = nil, retryAfter: Int? = nil
    ) -> HTTPResponseHead {
        var headers = HTTPHeaders()
        if let contentType { headers.add(name: "content-type", value: contentType) }
        headers.add(name: "content-length", value: String(contentLength))
        if let requestID { headers.add(name: "x-request-id", value: requestID) }
        if let reason { headers.add(name: "x-switchyard-reason", value: reason) }
        if let retryAfter { headers.add(name: "retry-after", value: String(retryAfter)) }
        if !keepAlive { headers.add(name: "connection", value: "close") }
        return HTTPResponseHead(version: .http1_1, status: .init(statusCode: status), headers: headers)
    }

    static func errorHead(_ error: OpenAIError, bodyLength: Int, requestID: String?, keepAlive: Bool)
        -> HTTPResponseHead
    {
        head(
            status: error.status, contentType: "application/json", contentLength: bodyLength,
            requestID: requestID, keepAlive: keepAlive, reason: error.reason, retryAfter: error.retryAfterSeconds)
    }

    /// A complete `Connection: close` HTTP/1.1 error response as text, for layers below the encoder.
    static func rawHTTP(_ error: OpenAIError) -> String {
        let body = error.jsonBody
        let phrase = HTTPResponseStatus(statusCode: error.status).reasonPhrase
        var text = "HTTP/1.1 \(error.status) \(phrase)\r\ncontent-type: application/json\r\n"
        text += "content-length: \(body.utf8.count)\r\nx-switchyard-reason: \(error.reason)\r\n"
        text += "connection: close\r\n\r\n\(body)"
        return text
    }
}

/// A connection refused as a whole (over `limits.max_connections_per_ip`): the error is written
/// as soon as the connection is up, and the connection closed once the client has sent its
/// request (closing before it arrives would reset it, and the client might never read the
/// answer) or after a second at most. Nothing it sends is parsed.
final class ConnectionRefusal: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    private let error: OpenAIError

    init(error: OpenAIError) { self.error = error }

    func channelActive(context: ChannelHandlerContext) {
        let bytes = context.channel.allocator.buffer(string: LocalResponse.rawHTTP(error))
        context.writeAndFlush(NIOAny(bytes), promise: nil)
        let loopContext = NIOLoopBound(context, eventLoop: context.eventLoop)
        context.eventLoop.scheduleTask(in: .seconds(1)) { loopContext.value.close(promise: nil) }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.close(promise: nil)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) { context.close(promise: nil) }
}
