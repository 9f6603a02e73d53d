import Logging
import NIOConcurrencyHelpers
import NIOCore
import SwitchyardCore

/// Changes to the fleet while requests flow: the admin API's add, remove, drain and undrain,
/// a reloaded config file, and DNS discovery. Each is a scheduler event; requests in flight on
/// a removed or drained backend finish there.
final class FleetControl: Sendable {
    struct Failure: Error, CustomStringConvertible {
        var status: Int
        var description: String
    }

    /// Which source each backend came from, so one source never removes another's backends.
    private struct Sources {
        var file: Set<String>
        var dns: Set<String> = []
    }

    let proxy: ProxyState
    private let sources: NIOLockedValueBox<Sources>

    init(proxy: ProxyState) {
        self.proxy = proxy
        self.sources = NIOLockedValueBox(Sources(file: Set(proxy.config.backends.map(\.name))))
    }

    func add(_ backend: BackendConfig) throws(Failure) -> Int {
        let added = proxy.withScheduler { scheduler -> Result<Int, Failure> in
            if let clash = scheduler.table.backends.first(where: { !$0.removed && $0.url == backend.url }) {
                return .failure(Failure(status: 409, description: "\(backend.url) is already backend \(clash.name)"))
            }
            guard let index = scheduler.addBackend(backend) else {
                return .failure(Failure(status: 409, description: "a backend named \(backend.name) exists"))
            }
            return .success(index)
        }
        let index = try added.get()
        // A revived index may have pooled connections to its old address.
        closePooledConnections(to: index)
        proxy.logger.notice("backend added", metadata: ["backend": "\(backend.name)", "url": "\(backend.url)"])
        return index
    }

    func remove(_ name: String) throws(Failure) {
        let index = try find(name)
        let now = proxy.now
        proxy.refuse { $0.removeBackend(index, now: now) }
        closePooledConnections(to: index)
        proxy.logger.notice("backend removed", metadata: ["backend": "\(name)"])
    }

    func drain(_ name: String) throws(Failure) {
        let index = try find(name)
        let now = proxy.now
        proxy.refuse { $0.drainBackend(index, now: now) }
        proxy.logger.notice("backend draining", metadata: ["backend": "\(name)"])
    }

    func undrain(_ name: String) throws(Failure) {
        let index = try find(name)
        let now = proxy.now
        proxy.deliver { $0.undrainBackend(index, now: now) }
        proxy.logger.notice("backend undrained", metadata: ["backend": "\(name)"])
    }

    private func find(_ name: String) throws(Failure) -> Int {
        guard let index = proxy.withTable({ $0.index(named: name) }) else {
            throw Failure(status: 404, description: "no backend is named \(name)")
        }
        return index
    }

    /// Applies a reloaded config: the file's backends are added, removed or updated (those from
    /// the admin API or DNS are left alone), and its limits and policies take effect for new
    /// requests. Returns what changed, and what needs a restart.
    func reload(_ config: SwitchyardConfig) -> [String] {
        let old = proxy.config
        var changes: [String] = []
        let wanted = Dictionary(config.backends.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        let previous = sources.withLockedValue { $0.file }
        for name in previous.sorted() where wanted[name] == nil {
            if (try? remove(name)) != nil { changes.append("removed backend \(name)") }
        }
        for backend in config.backends {
            if let index = proxy.withTable({ $0.index(named: backend.name) }) {
                guard proxy.backend(index) != backend else { continue }
                let now = proxy.now
                let urlChanged = proxy.backend(index).url != backend.url
                proxy.deliver { $0.updateBackend(index, config: backend, now: now) }
                if urlChanged { closePooledConnections(to: index) }
                changes.append("updated backend \(backend.name)")
            } else if (try? add(backend)) != nil {
                changes.append("added backend \(backend.name)")
            }
        }
        sources.withLockedValue { $0.file = Set(wanted.keys) }
        proxy.replaceConfig(config)
        for (section, same) in [
            ("listen", old.listen == config.listen), ("admin", old.admin == config.admin),
            ("telemetry", old.telemetry == config.telemetry),
            ("upstream (pool and TLS)", old.upstream.tls == config.upstream.tls),
            ("discovery.dns", old.discovery.dns == config.discovery.dns),
        ] where !same {
            changes.append("\(section) changed: takes effect after a restart")
        }
        if changes.isEmpty { changes.append("no backend changes; limits and policies reapplied") }
        return changes
    }

    /// The backends a DNS name resolves to now: new addresses are added, vanished ones removed.
    func follow(dnsBackends wanted: [BackendConfig], source: String) {
        let names = Set(wanted.map(\.name))
        let previous = sources.withLockedValue { $0.dns }
        for name in previous.subtracting(names).sorted() { try? remove(name) }
        for backend in wanted where !previous.contains(backend.name) {
            if (try? add(backend)) == nil {
                proxy.logger.debug("DNS address already a backend", metadata: ["backend": "\(backend.name)"])
            }
        }
        sources.withLockedValue { $0.dns = names }
        if names != previous {
            proxy.logger.notice(
                "DNS discovery",
                metadata: ["name": "\(source)", "backends": "\(names.sorted().joined(separator: ","))"])
        }
    }

    private func closePooledConnections(to index: Int) {
        for pool in proxy.allPools {
            pool.eventLoop.execute { pool.closeIdle(backend: index) }
        }
    }
}
