import NIOCore
import NIOHTTP1
import SwitchyardCore

/// Turns HTTP parse errors into an answer before the decoder closes the connection: 431 when
/// the head is larger than `limits.max_header_bytes`, 400 for anything else malformed.
final class ProtocolErrorHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias InboundOut = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    private let maxHeaderBytes: Int
    private var responseInProgress = false

    init(maxHeaderBytes: Int) { self.maxHeaderBytes = maxHeaderBytes }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        guard let parserError = error as? HTTPParserError else {
            context.fireErrorCaught(error)
            return
        }
        if !responseInProgress {
            let answer: OpenAIError
            if parserError == .headerOverflow {
                answer = OpenAIError(
                    status: 431,
                    message: "The request's header fields exceed the limit of \(maxHeaderBytes) bytes.",
                    reason: "headers_too_large")
            } else {
                answer = OpenAIError(
                    status: 400, message: "The request is not valid HTTP/1.1 (\(parserError)).",
                    reason: "invalid_http")
            }
            let body = context.channel.allocator.buffer(string: answer.jsonBody)
            let head = LocalResponse.errorHead(
                answer, bodyLength: body.readableBytes, requestID: nil, keepAlive: false)
            context.write(Self.wrapOutboundOut(.head(head)), promise: nil)
            context.write(Self.wrapOutboundOut(.body(.byteBuffer(body))), promise: nil)
            context.writeAndFlush(Self.wrapOutboundOut(.end(nil)), promise: nil)
        }
        context.fireErrorCaught(error)
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch Self.unwrapOutboundIn(data) {
        case .head(let head) where head.status.code >= 200: responseInProgress = true
        case .end: responseInProgress = false
        default: break
        }
        context.write(data, promise: promise)
    }
}
