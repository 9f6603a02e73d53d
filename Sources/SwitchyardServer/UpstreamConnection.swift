import NIOCore
import NIOHTTP1

/// Receives one upstream response, part by part, on the client channel's event loop.
protocol UpstreamResponseDelegate: AnyObject {
    func upstreamResponseHead(_ head: HTTPResponseHead)
    func upstreamResponseBody(_ buffer: ByteBuffer)
    func upstreamResponseEnd()
    /// The connection failed or closed before the response ended.
    func upstreamFailed(_ error: any Error)
}

struct UpstreamClosedError: Error, CustomStringConvertible {
    var description: String { "the backend closed the connection before the response ended" }
}

struct UpstreamBrokenResponse: Error, CustomStringConvertible {
    var parserError: HTTPParserError
    var description: String { "the backend's response broke off or was malformed (\(parserError))" }
}

/// The last handler of a pooled upstream connection: hands response parts to whichever
/// exchange currently owns the connection. Thin by design: no buffering, no parsing.
final class UpstreamHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    weak var delegate: (any UpstreamResponseDelegate)?
    /// Whether the last response allows the connection to be reused.
    private(set) var reusable = true
    /// Called once when the channel closes, so the pool forgets it.
    var onClose: (() -> Void)?

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch Self.unwrapInboundIn(data) {
        case .head(let head):
            reusable = head.isKeepAlive
            delegate?.upstreamResponseHead(head)
        case .body(let buffer):
            delegate?.upstreamResponseBody(buffer)
        case .end:
            let delegate = self.delegate
            self.delegate = nil
            delegate?.upstreamResponseEnd()
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        reusable = false
        let delegate = self.delegate
        self.delegate = nil
        delegate?.upstreamFailed(UpstreamClosedError())
        onClose?()
        onClose = nil
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        reusable = false
        let delegate = self.delegate
        self.delegate = nil
        // A response cut short surfaces as the parser's complaint; say what it means.
        delegate?.upstreamFailed((error as? HTTPParserError).map { UpstreamBrokenResponse(parserError: $0) } ?? error)
        context.close(promise: nil)
    }
}
