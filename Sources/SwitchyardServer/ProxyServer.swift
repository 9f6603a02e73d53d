import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import ServiceLifecycle
import SwitchyardCore

/// The proxy: a listener, its client connections, and the backend monitor. `start()` reads every
/// backend once and binds; `shutdown()` drains: stop accepting, let in-flight responses finish
/// within the grace period, then close what is left.
public final class ProxyServer: Sendable {
    private let proxy: ProxyState
    private let group: any EventLoopGroup
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    private let monitorTask = NIOLockedValueBox<Task<Void, Never>?>(nil)

    public init(config: SwitchyardConfig, group: any EventLoopGroup, logger: Logger) {
        self.proxy = ProxyState(config: config, group: group, logger: logger)
        self.group = group
    }

    /// The bound address once started (the port is useful when the config asked for port 0).
    public var localAddress: SocketAddress? { listener.withLockedValue { $0?.localAddress } }

    /// Backends as the proxy sees them now: health, models, requests in flight.
    public var backends: [BackendTable.Backend] { proxy.snapshot.table.backends }

    /// Upstream connections opened so far on all event loops (keep-alive reuse shows as few).
    public func upstreamConnectionsOpened() async throws -> Int {
        var total = 0
        for pool in proxy.allPools {
            total += try await pool.eventLoop.submit { pool.connectionsOpened }.get()
        }
        return total
    }

    public func start() async throws {
        try proxy.telemetry.openAccessLog()
        let monitor = BackendMonitor(proxy: proxy, group: group)
        let firstRound = await monitor.probeAll(
            lastModelsRead: Array(repeating: nil, count: proxy.config.backends.count))
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [proxy, connections] channel in
                channel.eventLoop.makeCompletedFuture {
                    try Self.configureClientPipeline(channel, proxy: proxy)
                    let id = ObjectIdentifier(channel)
                    connections.withLockedValue { $0[id] = channel }
                    channel.closeFuture.whenComplete { _ in
                        _ = connections.withLockedValue { $0.removeValue(forKey: id) }
                    }
                }
            }
            .bind(host: proxy.config.listen.host, port: proxy.config.listen.port).get()
        listener.withLockedValue { $0 = channel }
        monitorTask.withLockedValue { $0 = Task { await monitor.run(after: firstRound) } }
        let healthy = proxy.snapshot.table.backends.filter(\.healthy).count
        proxy.logger.notice(
            "switchyard listening",
            metadata: [
                "address": "\(channel.localAddress.map { "\($0)" } ?? "?")",
                "backends": "\(proxy.config.backends.count)", "healthy": "\(healthy)",
            ])
    }

    private static func configureClientPipeline(_ channel: any Channel, proxy: ProxyState) throws {
        let limits = proxy.config.limits
        var decoderLimits = NIOHTTPDecoderLimitConfiguration()
        decoderLimits.maxHeaderListSize = limits.maxHeaderBytes
        decoderLimits.maxHeaderFieldSize = limits.maxHeaderBytes
        let timeouts = ClientTimeoutHandler(limits: limits)
        let pipeline = channel.pipeline.syncOperations
        try pipeline.addHandler(timeouts)
        try pipeline.configureHTTPServerPipeline(
            withPipeliningAssistance: true, withErrorHandling: false, withEncoderConfiguration: .init(),
            withDecoderLimitConfiguration: decoderLimits)
        try pipeline.addHandler(ClientRequestHandler(proxy: proxy, timeouts: timeouts))
    }

    /// Graceful drain. New connections are refused at once; idle keep-alive connections close;
    /// connections with a response in progress close after its last byte. Whatever is still
    /// open after `gracePeriod` is closed.
    public func shutdown(gracePeriod: Duration? = nil) async {
        let grace = gracePeriod ?? proxy.config.shutdown.gracePeriod
        if let listener = listener.withLockedValue({ $0 }) {
            try? await listener.close()
        }
        // The monitor is awaited, not just cancelled: a probe still connecting when the caller
        // shuts the event loops down would otherwise hit a dead loop.
        let monitor = monitorTask.withLockedValue { task -> Task<Void, Never>? in
            task?.cancel()
            return task
        }
        await monitor?.value
        let open = connections.withLockedValue { Array($0.values) }
        proxy.logger.notice("draining", metadata: ["connections": "\(open.count)", "grace": "\(grace)"])
        for channel in open {
            channel.pipeline.fireUserInboundEventTriggered(ChannelShouldQuiesceEvent())
        }
        let deadline = ContinuousClock.now + grace
        while ContinuousClock.now < deadline, !connections.withLockedValue({ $0.isEmpty }) {
            try? await Task.sleep(for: .milliseconds(20))
        }
        let remaining = connections.withLockedValue { Array($0.values) }
        if !remaining.isEmpty {
            proxy.logger.warning(
                "grace period over, closing connections", metadata: ["connections": "\(remaining.count)"])
        }
        for channel in remaining { try? await channel.close() }
        for pool in proxy.allPools {
            try? await pool.eventLoop.submit { pool.closeAll() }.get()
        }
        proxy.telemetry.flushAccessLog()
    }
}

/// Runs a `ProxyServer` inside a swift-service-lifecycle `ServiceGroup`: SIGTERM/SIGINT begin
/// the graceful drain.
public struct ProxyService: Service {
    public let server: ProxyServer

    public init(server: ProxyServer) { self.server = server }

    public func run() async throws {
        try await server.start()
        try? await gracefulShutdown()
        await server.shutdown()
    }
}
