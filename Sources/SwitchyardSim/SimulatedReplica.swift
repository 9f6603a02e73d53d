import NIOCore
import NIOHTTP1
import NIOPosix
import Synchronization

/// A simulated vLLM replica: serves vLLM's OpenAI HTTP surface on a real socket. Generation is
/// timed by the engine model (`configuration.engine`: a V1-style scheduler with batching, chunked
/// prefill and KV accounting) or, without one, on a fixed schedule (time to first token, then one
/// token per interval) for deterministic tests.
public final class SimulatedReplica: Sendable {
    private let serverChannel: any Channel
    private let shared: SimReplicaShared

    /// The bound port.
    public let port: Int

    /// A consistent snapshot of the replica's counters.
    public var stats: SimReplicaStats { shared.stats }

    /// The faults in force; setting them has the same effect as `POST /sim/faults`.
    public var faults: SimFaults {
        get { shared.faults }
        set { shared.faults = newValue }
    }

    private init(serverChannel: any Channel, shared: SimReplicaShared, port: Int) {
        self.serverChannel = serverChannel
        self.shared = shared
        self.port = port
    }

    /// Binds `configuration.host:configuration.port` and starts serving.
    public static func start(
        _ configuration: SimReplicaConfiguration, group: any EventLoopGroup
    ) async throws -> SimulatedReplica {
        let metrics = SimMetrics()
        let driver = configuration.engine.map {
            EngineDriver(
                profile: $0, policy: configuration.schedulingPolicy, timeScale: configuration.timeScale,
                eventLoop: group.next(), metrics: metrics)
        }
        let shared = SimReplicaShared(driver: driver, metrics: metrics, faults: configuration.faults)
        let bootstrap = ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    guard shared.register(channel), !shared.faults.refuseConnections else {
                        throw ChannelError.ioOnClosedChannel  // shutting down, or told to refuse
                    }
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline()
                    try channel.pipeline.syncOperations.addHandler(
                        SimHTTPHandler(configuration: configuration, shared: shared))
                }
            }
        let channel = try await bootstrap.bind(host: configuration.host, port: configuration.port).get()
        guard let port = channel.localAddress?.port else {
            try? await channel.close()
            throw ChannelError.unknownLocalAddress
        }
        return SimulatedReplica(serverChannel: channel, shared: shared, port: port)
    }

    /// Closes the listener and every open connection (running generations count as aborted).
    /// Safe to call more than once.
    public func shutdown() async throws {
        let connections = shared.beginShutdown()
        do {
            try await serverChannel.close()
        } catch ChannelError.alreadyClosed {
            // A second shutdown: nothing left to close.
        }
        for connection in connections {
            connection.close(promise: nil)
        }
        for connection in connections {
            try? await connection.closeFuture.get()
        }
    }
}

/// State shared by the replica and its connection handlers, behind one lock.
final class SimReplicaShared: Sendable {
    private struct State {
        var stats = SimReplicaStats()
        var connections: [ObjectIdentifier: any Channel] = [:]
        var shuttingDown = false
    }

    private let state = Mutex(State())
    private let generations = Mutex<UInt64>(0)
    private let faultState: Mutex<SimFaults>

    /// The replica's injected faults, read by every connection (see `SimFaults`).
    var faults: SimFaults {
        get { faultState.withLock { $0 } }
        set {
            faultState.withLock { $0 = newValue }
            driver?.setSlowFactor(newValue.slowFactor)
        }
    }
    /// The engine every connection of this replica submits to (nil: fixed timing).
    let driver: EngineDriver?
    let metrics: SimMetrics

    init(driver: EngineDriver?, metrics: SimMetrics, faults: SimFaults) {
        self.driver = driver
        self.metrics = metrics
        self.faultState = Mutex(faults)
        driver?.setSlowFactor(faults.slowFactor)
    }

    /// The n-th generation's key for its natural length.
    func nextGenerationKey(seed: UInt64) -> UInt64 {
        generations.withLock { count in
            count += 1
            return seed ^ (count &* 0x2545_F491_4F6C_DD1D)
        }
    }

    var stats: SimReplicaStats {
        var stats = state.withLock { $0.stats }
        if let engine = driver?.state {
            stats.engineRunning = engine.running
            stats.engineWaiting = engine.waiting
            stats.kvCacheUsage = engine.kvCacheUsage
            stats.preemptions = engine.preemptions
        }
        return stats
    }

    func update(_ body: (inout SimReplicaStats) -> Void) {
        state.withLock { body(&$0.stats) }
    }

    /// Tracks an accepted connection until it closes; false when the replica is shutting down.
    func register(_ channel: any Channel) -> Bool {
        let key = ObjectIdentifier(channel)
        let accepted = state.withLock { state -> Bool in
            guard !state.shuttingDown else { return false }
            state.connections[key] = channel
            state.stats.connectionsAccepted += 1
            return true
        }
        if accepted {
            channel.closeFuture.whenComplete { [self] _ in
                _ = state.withLock { $0.connections.removeValue(forKey: key) }
            }
        }
        return accepted
    }

    /// Stops accepting connections and returns the open ones.
    func beginShutdown() -> [any Channel] {
        state.withLock { state in
            state.shuttingDown = true
            return Array(state.connections.values)
        }
    }
}

/// Several replicas on consecutive ports (the CLI's `--replicas N`).
public enum SimulatedFleet {
    /// Starts `replicas` copies of `base` on ports `base.port`, `base.port + 1`, ...
    /// When `base.port` is 0 the first port is ephemeral and the others follow it; if one of
    /// those is taken the fleet is retried from a new ephemeral port (a few attempts).
    /// `customize(i, &configuration)` adjusts replica `i` (e.g. a different `maxModelLen`).
    public static func start(
        _ base: SimReplicaConfiguration, replicas: Int, group: any EventLoopGroup,
        customize: @Sendable (Int, inout SimReplicaConfiguration) -> Void = { _, _ in }
    ) async throws -> [SimulatedReplica] {
        precondition(replicas >= 1, "a fleet needs at least one replica")
        let attempts = base.port == 0 ? 8 : 1
        var lastError: (any Error)?
        for _ in 0..<attempts {
            do {
                return try await startConsecutive(base, replicas: replicas, group: group, customize: customize)
            } catch {
                lastError = error
            }
        }
        throw lastError!
    }

    private static func startConsecutive(
        _ base: SimReplicaConfiguration, replicas: Int, group: any EventLoopGroup,
        customize: @Sendable (Int, inout SimReplicaConfiguration) -> Void
    ) async throws -> [SimulatedReplica] {
        var started: [SimulatedReplica] = []
        do {
            var firstConfiguration = base
            customize(0, &firstConfiguration)
            let first = try await SimulatedReplica.start(firstConfiguration, group: group)
            started.append(first)
            for index in 1..<replicas {
                var configuration = base
                configuration.port = first.port + index
                customize(index, &configuration)
                started.append(try await SimulatedReplica.start(configuration, group: group))
            }
            return started
        } catch {
            for replica in started {
                try? await replica.shutdown()
            }
            throw error
        }
    }
}
