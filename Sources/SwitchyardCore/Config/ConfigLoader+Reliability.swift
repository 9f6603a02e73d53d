/// The reliability and security sections: outlier detection, retries, the admin API, API keys,
/// health thresholds and DNS discovery.
extension ConfigLoader {
    static func loadReliability(
        _ top: Fields, into config: inout SwitchyardConfig, environment: [String: String]
    ) throws(ConfigError) {
        if let outlier = try top.mapping("outlier") {
            try outlier.allow([
                "enabled", "consecutive_failures", "base_ejection", "max_ejection", "max_ejected_percent",
            ])
            config.outlier.enabled = try outlier.bool("enabled") ?? config.outlier.enabled
            config.outlier.consecutiveFailures =
                try outlier.int("consecutive_failures", in: 1...1_000_000) ?? config.outlier.consecutiveFailures
            config.outlier.baseEjection = try outlier.duration("base_ejection") ?? config.outlier.baseEjection
            config.outlier.maxEjection = try outlier.duration("max_ejection") ?? config.outlier.maxEjection
            config.outlier.maxEjectedPercent =
                try outlier.int("max_ejected_percent", in: 0...100) ?? config.outlier.maxEjectedPercent
        }
        if let retries = try top.mapping("retries") {
            try retries.allow(["max_attempts", "budget", "statuses"])
            config.retries.maxAttempts = try retries.int("max_attempts", in: 1...10) ?? config.retries.maxAttempts
            config.retries.budget = try retries.duration("budget") ?? config.retries.budget
            if let statuses = try retries.strings("statuses") {
                var parsed = Set<Int>()
                for text in statuses {
                    guard let status = Int(text), (500...599).contains(status) || status == 429 else {
                        throw ConfigError("retries.statuses: must be 429 or 5xx codes, got \"\(text)\"")
                    }
                    parsed.insert(status)
                }
                config.retries.statuses = parsed
            }
        }
        if let admin = try top.mapping("admin") {
            try admin.allow(["host", "port", "token", "token_env"])
            config.admin.host = try admin.string("host") ?? config.admin.host
            config.admin.port = try admin.int("port", in: 0...65535) ?? config.admin.port
            config.admin.token = try admin.secret("token", environment: environment)
            if let token = config.admin.token, token.count < 16 {
                throw ConfigError("admin.token: must be at least 16 characters")
            }
        }
        if let auth = try top.mapping("auth") {
            try auth.allow(["keys"])
            for (index, node) in (try auth.sequence("keys") ?? []).enumerated() {
                let entry = try Fields(node, path: "auth.keys[\(index)]")
                try entry.allow([
                    "key", "key_env", "key_sha256", "tenant", "max_concurrent", "requests_per_minute",
                    "tokens_per_minute",
                ])
                guard let tenant = try entry.string("tenant") else {
                    throw ConfigError("auth.keys[\(index)].tenant: is required")
                }
                let limits = TenantLimits(
                    maxConcurrent: try entry.int("max_concurrent", in: 1...1_000_000),
                    requestsPerMinute: try entry.int("requests_per_minute", in: 1...100_000_000),
                    tokensPerMinute: try entry.int("tokens_per_minute", in: 1...Int(Int32.max)))
                let inline = try entry.string("key")
                let fromEnvironment = try entry.string("key_env")
                if try entry.string("key_sha256") != nil, inline != nil || fromEnvironment != nil {
                    throw ConfigError("auth.keys[\(index)]: give key, key_env or key_sha256, only one")
                }
                if let hex = try entry.string("key_sha256") {
                    guard let hash = APIKey.parseHex(hex) else {
                        throw ConfigError("auth.keys[\(index)].key_sha256: must be 64 hex digits (sha256sum's output)")
                    }
                    config.auth.keys.append(APIKey(sha256: hash, tenant: tenant, limits: limits))
                } else if let key = try entry.secret("key", environment: environment) {
                    guard key.count >= 8 else {
                        throw ConfigError("auth.keys[\(index)].key: must be at least 8 characters")
                    }
                    config.auth.keys.append(APIKey(key: key, tenant: tenant, limits: limits))
                } else {
                    throw ConfigError("auth.keys[\(index)]: needs key, key_env or key_sha256")
                }
            }
        }
    }

    static func loadDiscoveryExtras(_ discovery: Fields, into config: inout SwitchyardConfig) throws(ConfigError) {
        config.discovery.thresholds.unhealthy =
            try discovery.int("unhealthy_threshold", in: 1...1000) ?? config.discovery.thresholds.unhealthy
        config.discovery.thresholds.healthy =
            try discovery.int("healthy_threshold", in: 1...1000) ?? config.discovery.thresholds.healthy
        // Read (and checked) even without `dns`, so a bad value is never silently ignored.
        let interval = try discovery.duration("dns_interval")
        let maxConcurrent = try discovery.int("dns_max_concurrent", in: 1...1_000_000)
        guard let target = try discovery.string("dns") else { return }
        guard let colon = target.lastIndex(of: ":"), let port = Int(target[target.index(after: colon)...]),
            (1...65535).contains(port), colon != target.startIndex
        else {
            throw ConfigError("discovery.dns: must look like name:port, got \"\(target)\"")
        }
        var dns = DNSDiscoveryConfig(name: String(target[..<colon]), port: port)
        dns.interval = interval ?? dns.interval
        dns.template.maxConcurrent = maxConcurrent ?? dns.template.maxConcurrent
        config.discovery.dns = dns
    }
}

extension Fields {
    /// A secret given inline (`key`) or through an environment variable (`key_env`).
    func secret(_ key: String, environment: [String: String]) throws(ConfigError) -> String? {
        if try string(key) != nil, try string(key + "_env") != nil {
            throw ConfigError("\(name(key)): give \(key) or \(key)_env, not both")
        }
        if let variable = try string(key + "_env") {
            guard let value = environment[variable], !value.isEmpty else {
                throw ConfigError("\(name(key + "_env")): the environment variable \(variable) is not set")
            }
            return value
        }
        return try string(key)
    }

    /// `certificate` and `key`, both required.
    func tlsFiles() throws(ConfigError) -> TLSFiles {
        guard let certificate = try string("certificate") else {
            throw ConfigError("\(name("certificate")): is required")
        }
        guard let key = try string("key") else { throw ConfigError("\(name("key")): is required") }
        return TLSFiles(certificate: certificate, key: key)
    }

    /// A list of scalars as text.
    func strings(_ key: String) throws(ConfigError) -> [String]? {
        guard let list = try sequence(key) else { return nil }
        var values: [String] = []
        for (index, node) in list.enumerated() {
            guard let text = node.scalar?.string, !text.isEmpty else {
                throw ConfigError("\(name(key))[\(index)]: must be a single value")
            }
            values.append(text)
        }
        return values
    }
}
