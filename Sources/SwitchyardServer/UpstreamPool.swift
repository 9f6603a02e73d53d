import NIOCore
import NIOHTTP1
import NIOPosix
import SwitchyardCore

/// An open connection to a backend, with the handler that relays its responses.
struct UpstreamConnection {
    let channel: any Channel
    let handler: UpstreamHandler
}

/// Keep-alive connections to each backend, owned by one event loop: a client channel borrows
/// connections from its own loop's pool, so request and response bytes never change threads.
/// Idle connections are closed after `poolIdleTimeout`, before vLLM's 5 s keep-alive expires.
final class UpstreamPool: @unchecked Sendable {  // confined to `eventLoop`, checked on every call
    private struct Idle {
        var connection: UpstreamConnection
        var expiry: Scheduled<Void>
    }

    let eventLoop: any EventLoop
    private let upstream: UpstreamConfig
    /// TLS for `https://` backends, asked for only when one is connected to.
    var tls: @Sendable (BackendURL) -> UpstreamTLS? = { _ in nil }
    private var idle: [Int: [Idle]] = [:]
    /// Connections ever opened, for tests and metrics of keep-alive reuse.
    private(set) var connectionsOpened = 0

    init(eventLoop: any EventLoop, upstream: UpstreamConfig) {
        self.eventLoop = eventLoop
        self.upstream = upstream
    }

    /// Hands `completion` a pooled idle connection to `backend` if one is open, else a new one.
    /// `completion` runs on this pool's event loop.
    func checkout(
        backend: Int, url: BackendURL, _ completion: @escaping (Result<UpstreamConnection, any Error>) -> Void
    ) {
        eventLoop.preconditionInEventLoop()
        while var list = idle[backend], let entry = list.popLast() {
            idle[backend] = list
            entry.expiry.cancel()
            if entry.connection.channel.isActive {
                completion(.success(entry.connection))
                return
            }
        }
        connect(url: url).assumeIsolated().whenComplete { result in
            completion(
                result.flatMap { channel in
                    Result {
                        let handler = try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self)
                        return UpstreamConnection(channel: channel, handler: handler)
                    }
                })
        }
    }

    /// Gives back a connection whose response ended; it is closed instead when it cannot be reused.
    func checkin(backend: Int, _ connection: UpstreamConnection) {
        eventLoop.preconditionInEventLoop()
        let channel = connection.channel
        guard connection.handler.reusable, channel.isActive,
            (idle[backend]?.count ?? 0) < upstream.maxIdlePerBackend
        else {
            channel.close(promise: nil)
            return
        }
        channel.setOption(ChannelOptions.autoRead, value: true).whenComplete { _ in }
        let expiry = eventLoop.scheduleTask(in: TimeAmount(upstream.poolIdleTimeout)) { [weak self] in
            self?.remove(backend: backend, channel: channel)
            channel.close(promise: nil)
        }
        idle[backend, default: []].append(Idle(connection: connection, expiry: expiry))
        connection.handler.onClose = { [weak self] in self?.remove(backend: backend, channel: channel) }
    }

    var idleCount: Int { idle.values.reduce(0) { $0 + $1.count } }

    func closeAll() {
        eventLoop.preconditionInEventLoop()
        for entry in idle.values.joined() {
            entry.expiry.cancel()
            entry.connection.channel.close(promise: nil)
        }
        idle = [:]
    }

    /// Closes the idle connections to one backend (removed, or its address changed).
    func closeIdle(backend: Int) {
        eventLoop.preconditionInEventLoop()
        for entry in idle[backend] ?? [] {
            entry.expiry.cancel()
            entry.connection.channel.close(promise: nil)
        }
        idle[backend] = nil
    }

    private func remove(backend: Int, channel: any Channel) {
        idle[backend]?.removeAll { entry in
            guard entry.connection.channel === channel else { return false }
            entry.expiry.cancel()
            return true
        }
    }

    private func connect(url: BackendURL) -> EventLoopFuture<any Channel> {
        connectionsOpened += 1
        let tls = self.tls(url)
        return ClientBootstrap(group: eventLoop)
            .channelOption(.tcpOption(.tcp_nodelay), value: 1)
            .connectTimeout(TimeAmount(upstream.connectTimeout))
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try UpstreamTLS.secure(channel, to: url, with: tls)
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler())
                }
            }
            .connect(host: url.host, port: url.port)
    }
}
