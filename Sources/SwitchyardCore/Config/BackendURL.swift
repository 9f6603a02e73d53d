/// A backend's base address: `http(s)://host:port` with an optional path prefix that is put in
/// front of every forwarded path (`http://10.0.0.5:8000/replica-a` → `/replica-a/v1/models`).
public struct BackendURL: Sendable, Hashable, CustomStringConvertible {
    public var host: String
    public var port: Int
    /// Empty, or starts with `/` and has no trailing `/`.
    public var pathPrefix: String
    /// `https://`: the connection is TLS (verified against `upstream.tls`).
    public var usesTLS: Bool

    public init(host: String, port: Int, pathPrefix: String = "", usesTLS: Bool = false) {
        self.host = host
        self.port = port
        self.pathPrefix = pathPrefix
        self.usesTLS = usesTLS
    }

    /// Parses `http(s)://host[:port][/prefix]`; the port defaults to 80 (443 for https). The
    /// message of the thrown error says what is wrong, for the config loader to put after the
    /// field's name.
    public init(parsing text: String) throws(ConfigError) {
        let lower = text.lowercased()
        let usesTLS = lower.hasPrefix("https://")
        guard lower.hasPrefix("http://") || usesTLS else {
            throw ConfigError("must look like http://host:port[/prefix] or https://…, got \"\(text)\"")
        }
        let rest = text.dropFirst(usesTLS ? "https://".count : "http://".count)
        let authority = rest.prefix { $0 != "/" && $0 != "?" && $0 != "#" }
        var path = String(rest.dropFirst(authority.count))
        if path.contains("?") || path.contains("#") {
            throw ConfigError("must not have a query or fragment, got \"\(text)\"")
        }
        while path.hasSuffix("/") { path.removeLast() }

        if authority.contains("@") {
            throw ConfigError("must not contain user credentials, got \"\(text)\"")
        }
        var host = Substring(authority)
        var port = usesTLS ? 443 : 80
        if host.hasPrefix("[") {  // [IPv6]:port
            guard let close = host.firstIndex(of: "]") else {
                throw ConfigError("has an unterminated IPv6 address, got \"\(text)\"")
            }
            let after = host[host.index(after: close)...]
            host = host[host.index(after: host.startIndex)..<close]
            guard !host.isEmpty else { throw ConfigError("has no host, got \"\(text)\"") }
            guard !host.contains("%") else {
                throw ConfigError("IPv6 zone identifiers are not supported, got \"\(text)\"")
            }
            guard host.contains(":"), host.allSatisfy({ $0.isHexDigit || $0 == ":" || $0 == "." }) else {
                throw ConfigError("has an invalid IPv6 address, got \"\(text)\"")
            }
            if !after.isEmpty {
                guard after.hasPrefix(":"), let p = Int(after.dropFirst()) else {
                    throw ConfigError("has an invalid port, got \"\(text)\"")
                }
                port = p
            }
        } else {
            if let colon = host.firstIndex(of: ":") {
                guard let p = Int(host[host.index(after: colon)...]) else {
                    throw ConfigError("has an invalid port (IPv6 addresses go in brackets), got \"\(text)\"")
                }
                port = p
                host = host[..<colon]
            }
            guard host.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) else {
                throw ConfigError("has an invalid host name, got \"\(text)\"")
            }
        }
        guard !host.isEmpty else { throw ConfigError("has no host, got \"\(text)\"") }
        guard (1...65535).contains(port) else {
            throw ConfigError("port must be 1-65535, got \(port)")
        }
        // Host names are case-insensitive: one spelling, so duplicates are found.
        self.init(host: host.lowercased(), port: port, pathPrefix: path, usesTLS: usesTLS)
    }

    /// The value for a `Host` header sent to this backend.
    public var hostHeader: String {
        let h = host.contains(":") ? "[\(host)]" : host
        return port == (usesTLS ? 443 : 80) ? h : "\(h):\(port)"
    }

    public var description: String { "\(usesTLS ? "https" : "http")://\(hostHeader)\(pathPrefix)" }
}
