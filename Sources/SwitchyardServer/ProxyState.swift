import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwitchyardCore

/// State shared by every connection of one proxy: the backend table behind one lock (tiny
/// critical sections, decisions executed outside it) and one upstream pool per event loop.
final class ProxyState: Sendable {
    let config: SwitchyardConfig
    let logger: Logger
    /// How requests are costed (from `config.admission`), computed once.
    let profileCosts: ProfileCosts
    private let table: NIOLockedValueBox<BackendTable>
    private let pools: [ObjectIdentifier: UpstreamPool]

    init(config: SwitchyardConfig, group: any EventLoopGroup, logger: Logger) {
        self.config = config
        self.logger = logger
        self.profileCosts = config.admission.profileCosts
        self.table = NIOLockedValueBox(BackendTable(config.backends))
        var pools: [ObjectIdentifier: UpstreamPool] = [:]
        for loop in group.makeIterator() {
            pools[ObjectIdentifier(loop)] = UpstreamPool(eventLoop: loop, upstream: config.upstream)
        }
        self.pools = pools
    }

    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        guard let pool = pools[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("event loop \(eventLoop) is not in the proxy's group")
        }
        return pool
    }

    var allPools: [UpstreamPool] { Array(pools.values) }

    func withTable<T>(_ body: (inout BackendTable) -> T) -> T {
        table.withLockedValue(body)
    }

    var snapshot: BackendTable { table.withLockedValue { $0 } }
}
