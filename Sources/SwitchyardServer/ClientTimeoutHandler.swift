import NIOCore
import SwitchyardCore

/// Sits in front of the HTTP decoder and enforces the client-side clocks: an idle keep-alive
/// connection is closed quietly; a request whose head or body stops arriving gets a 408.
/// `ClientRequestHandler` tells it which phase the connection is in. Inbound only, so response
/// bytes never pass through it.
final class ClientTimeoutHandler: ChannelInboundHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer
    typealias OutboundOut = ByteBuffer

    enum Phase { case idle, readingHead, readingBody, processing }

    private let limits: LimitsConfig
    private var phase = Phase.idle
    private var timer: Scheduled<Void>?
    private var context: ChannelHandlerContext?

    init(limits: LimitsConfig) { self.limits = limits }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { enter(.idle) }
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        timer?.cancel()
        self.context = nil
    }

    func channelActive(context: ChannelHandlerContext) {
        enter(.idle)
        context.fireChannelActive()
    }

    func channelInactive(context: ChannelHandlerContext) {
        timer?.cancel()
        timer = nil
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch phase {
        case .idle: enter(.readingHead)
        case .readingBody: enter(.readingBody)  // any progress restarts the body clock
        case .readingHead, .processing: break
        }
        context.fireChannelRead(data)
    }

    // MARK: - Phase changes from the request handler

    func headReceived() { enter(.readingBody) }
    func requestReceived() { enter(.processing) }
    func responseFinished() { enter(.idle) }

    private func enter(_ next: Phase) {
        phase = next
        timer?.cancel()
        timer = nil
        guard let context else { return }
        let (delay, onExpiry): (Duration, (ChannelHandlerContext) -> Void)
        switch next {
        case .idle: (delay, onExpiry) = (limits.idleTimeout, { $0.close(promise: nil) })
        case .readingHead:
            (delay, onExpiry) = (
                limits.headerTimeout,
                { [weak self] in self?.timedOut($0, what: "request head", limit: self?.limits.headerTimeout) }
            )
        case .readingBody:
            (delay, onExpiry) = (
                limits.bodyTimeout,
                { [weak self] in self?.timedOut($0, what: "request body", limit: self?.limits.bodyTimeout) }
            )
        case .processing: return
        }
        timer = context.eventLoop.assumeIsolated().scheduleTask(in: TimeAmount(delay)) { onExpiry(context) }
    }

    /// No response is in progress in these phases, so the 408 can be written as raw bytes
    /// below the HTTP encoder.
    private func timedOut(_ context: ChannelHandlerContext, what: String, limit: Duration?) {
        let seconds = limit.map(ConfigUnits.format) ?? "?"
        let error = OpenAIError(
            status: 408, message: "The \(what) did not arrive within \(seconds).", reason: "client_timeout")
        // The request handler records the refusal (telemetry, access log) before the bytes go.
        context.fireUserInboundEventTriggered(TimedOut(error: error))
        var buffer = context.channel.allocator.buffer(capacity: 256)
        buffer.writeString(LocalResponse.rawHTTP(error))
        context.writeAndFlush(Self.wrapOutboundOut(buffer)).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Sent up the pipeline when a 408 is about to be written.
    struct TimedOut {
        var error: OpenAIError
    }
}
