import Logging
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL
import ServiceLifecycle
import SwitchyardCore
import UnixSignals

/// The proxy: a listener, its client connections, and the backend monitor. `start()` reads every
/// backend once and binds; `shutdown()` drains: stop accepting, let in-flight responses finish
/// within the grace period, then close what is left.
public final class ProxyServer: Sendable {
    private let proxy: ProxyState
    private let group: any EventLoopGroup
    private let fleet: FleetControl
    private let listener = NIOLockedValueBox<(any Channel)?>(nil)
    private let adminListener = NIOLockedValueBox<(any Channel)?>(nil)
    private let connections = NIOLockedValueBox<[ObjectIdentifier: any Channel]>([:])
    private let connectionsPerIP = NIOLockedValueBox<[String: Int]>([:])
    private let monitorTask = NIOLockedValueBox<Task<Void, Never>?>(nil)
    /// Reads the config file again (with the command line's overrides) for a reload.
    private let reloader: (@Sendable () throws(ConfigError) -> SwitchyardConfig)?

    public init(
        config: SwitchyardConfig, group: any EventLoopGroup, logger: Logger,
        reloader: (@Sendable () throws(ConfigError) -> SwitchyardConfig)? = nil
    ) {
        self.proxy = ProxyState(config: config, group: group, logger: logger)
        self.group = group
        self.fleet = FleetControl(proxy: proxy)
        self.reloader = reloader
    }

    /// The bound address once started (the port is useful when the config asked for port 0).
    public var localAddress: SocketAddress? { listener.withLockedValue { $0?.localAddress } }

    /// The admin API's bound address, when it runs.
    public var adminAddress: SocketAddress? { adminListener.withLockedValue { $0?.localAddress } }

    /// Reloads the config file: backends added, removed or updated, limits and policies
    /// replaced; an invalid file changes nothing. Returns what changed.
    @discardableResult
    public func reload() -> Result<[String], ConfigError> {
        guard let reloader else { return .failure(ConfigError("no config file to reload (started without --config)")) }
        do {
            let config = try reloader()
            try config.validate()
            let changes = fleet.reload(config)
            proxy.logger.notice("config reloaded", metadata: ["changes": "\(changes.joined(separator: "; "))"])
            return .success(changes)
        } catch {
            proxy.logger.error("config reload rejected; the old config stays", metadata: ["error": "\(error.message)"])
            return .failure(error)
        }
    }

    /// Reloads with a configuration in hand (tests, embedding).
    @discardableResult
    public func apply(_ config: SwitchyardConfig) throws(ConfigError) -> [String] {
        try config.validate()
        return fleet.reload(config)
    }

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
        let config = proxy.config
        if config.backends.contains(where: \.url.usesTLS) || config.upstream.tls != UpstreamTLSConfig(),
            case .failure(let error) = proxy.upstreamTLS
        {
            throw ConfigError("upstream.tls: \(error)")
        }
        let serverTLS = try config.listen.tls.map { try ListenerTLS.context($0, clientCA: config.listen.tlsClientCA) }
        try proxy.telemetry.openAccessLog()
        let monitor = BackendMonitor(proxy: proxy, group: group, fleet: fleet)
        if let dns = config.discovery.dns { await monitor.resolveOnce(dns) }
        let firstRound = await monitor.probeAll(lastModelsRead: [:])
        let perIP = config.limits.maxConnectionsPerIP
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.tcpOption(.tcp_nodelay), value: 1)
            .childChannelOption(.maxMessagesPerRead, value: 16)
            .childChannelInitializer { [proxy, connections, connectionsPerIP] channel in
                channel.eventLoop.makeCompletedFuture {
                    if perIP > 0, let address = channel.remoteAddress?.ipAddress {
                        let admitted = connectionsPerIP.withLockedValue { counts -> Bool in
                            guard counts[address, default: 0] < perIP else { return false }
                            counts[address, default: 0] += 1
                            return true
                        }
                        guard admitted else {
                            try channel.pipeline.syncOperations.addHandler(
                                ConnectionRefusal(error: Self.tooManyConnections(perIP)))
                            proxy.telemetry.rejected(reason: "too_many_connections")
                            return
                        }
                        channel.closeFuture.whenComplete { _ in
                            connectionsPerIP.withLockedValue { counts in
                                counts[address, default: 1] -= 1
                                if counts[address] == 0 { counts[address] = nil }
                            }
                        }
                    }
                    if let serverTLS {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: serverTLS))
                    }
                    try Self.configureClientPipeline(channel, proxy: proxy)
                    let id = ObjectIdentifier(channel)
                    connections.withLockedValue { $0[id] = channel }
                    channel.closeFuture.whenComplete { _ in
                        _ = connections.withLockedValue { $0.removeValue(forKey: id) }
                    }
                }
            }
            .bind(host: config.listen.host, port: config.listen.port).get()
        listener.withLockedValue { $0 = channel }
        if let token = config.admin.token {
            let api = AdminAPI(proxy: proxy, fleet: fleet, token: token) { [weak self] in
                self?.reload() ?? .failure(ConfigError("the proxy is shutting down"))
            }
            let admin = try await AdminRequestHandler.bind(
                api: api, host: config.admin.host, port: config.admin.port, group: group)
            adminListener.withLockedValue { $0 = admin }
            proxy.logger.notice(
                "admin API listening", metadata: ["address": "\(admin.localAddress.map { "\($0)" } ?? "?")"])
        }
        monitorTask.withLockedValue { $0 = Task { await monitor.run(after: firstRound) } }
        let backends = proxy.snapshot.table.backends
        proxy.logger.notice(
            "switchyard listening",
            metadata: [
                "address": "\(channel.localAddress.map { "\($0)" } ?? "?")", "tls": "\(serverTLS != nil)",
                "backends": "\(backends.count)", "healthy": "\(backends.filter(\.healthy).count)",
            ])
    }

    static func tooManyConnections(_ limit: Int) -> OpenAIError {
        OpenAIError(
            status: 429,
            message: "This address already has \(limit) open connections (limits.max_connections_per_ip).",
            reason: "too_many_connections", retryAfterSeconds: 1)
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
        if let admin = adminListener.withLockedValue({ $0 }) {
            try? await admin.close()
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
        // SIGHUP reloads the config file until shutdown begins.
        let reloads = Task { [server] in
            for await _ in await UnixSignalsSequence(trapping: .sighup) {
                if Task.isCancelled { break }
                server.reload()
            }
        }
        try? await gracefulShutdown()
        reloads.cancel()
        await server.shutdown()
    }
}
