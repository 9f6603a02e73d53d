import Yams

/// Reads the YAML config file into a `SwitchyardConfig`. Every problem is reported with the
/// dotted path of the field (`backends[1].url: ...`); unknown keys are errors, so a typo never
/// silently leaves a default in force.
public enum ConfigLoader {
    /// `environment` resolves the `*_env` keys (secrets kept out of the file).
    public static func load(yaml: String, environment: [String: String] = [:]) throws(ConfigError)
        -> SwitchyardConfig
    {
        let root: Node?
        do {
            root = try Yams.compose(yaml: yaml)
        } catch {
            throw ConfigError("the file is not valid YAML: \(error)")
        }
        var config = SwitchyardConfig()
        guard let root, !root.isNull else { return config }  // an empty file means all defaults
        let top = try Fields(root, path: "")
        try top.allow([
            "listen", "backends", "limits", "upstream", "discovery", "shutdown", "admission", "routing", "queue",
            "telemetry", "log_level", "outlier", "retries", "admin", "auth",
        ])

        if let listen = try top.mapping("listen") {
            try listen.allow(["host", "port", "tls"])
            config.listen.host = try listen.string("host") ?? config.listen.host
            config.listen.port = try listen.int("port", in: 0...65535) ?? config.listen.port
            if let tls = try listen.mapping("tls") {
                try tls.allow(["certificate", "key", "client_ca"])
                config.listen.tls = try tls.tlsFiles()
                config.listen.tlsClientCA = try tls.string("client_ca")
            }
        }
        if let list = try top.sequence("backends") {
            for (index, node) in list.enumerated() {
                let backend = try Fields(node, path: "backends[\(index)]")
                try backend.allow([
                    "name", "url", "max_concurrent", "max_inflight_tokens", "priority_scheduling", "api_key",
                    "api_key_env",
                ])
                guard let urlText = try backend.string("url") else {
                    throw ConfigError("backends[\(index)].url: is required")
                }
                let url: BackendURL
                do { url = try BackendURL(parsing: urlText) } catch {
                    throw ConfigError("backends[\(index)].url: \(error.message)")
                }
                let name = try backend.string("name") ?? "\(url.host):\(url.port)"
                var entry = BackendConfig(name: name, url: url)
                entry.maxConcurrent = try backend.int("max_concurrent", in: 1...1_000_000) ?? entry.maxConcurrent
                entry.maxInFlightTokens = try backend.int("max_inflight_tokens", in: 1...1_000_000_000)
                entry.priorityScheduling = try backend.bool("priority_scheduling") ?? false
                entry.apiKey = try backend.secret("api_key", environment: environment)
                config.backends.append(entry)
            }
        }
        if let limits = try top.mapping("limits") {
            try limits.allow([
                "max_header_bytes", "max_body_bytes", "header_timeout", "body_timeout", "idle_timeout",
                "max_connections_per_ip",
            ])
            config.limits.maxConnectionsPerIP =
                try limits.int("max_connections_per_ip", in: 0...10_000_000) ?? config.limits.maxConnectionsPerIP
            config.limits.maxHeaderBytes = try limits.size("max_header_bytes") ?? config.limits.maxHeaderBytes
            config.limits.maxBodyBytes = try limits.size("max_body_bytes") ?? config.limits.maxBodyBytes
            config.limits.headerTimeout = try limits.duration("header_timeout") ?? config.limits.headerTimeout
            config.limits.bodyTimeout = try limits.duration("body_timeout") ?? config.limits.bodyTimeout
            config.limits.idleTimeout = try limits.duration("idle_timeout") ?? config.limits.idleTimeout
        }
        if let upstream = try top.mapping("upstream") {
            try upstream.allow([
                "connect_timeout", "pool_idle_timeout", "max_idle_per_backend", "stream_idle_timeout",
                "first_token_timeout", "tls",
            ])
            config.upstream.firstTokenTimeout =
                try upstream.duration("first_token_timeout") ?? config.upstream.firstTokenTimeout
            if let tls = try upstream.mapping("tls") {
                try tls.allow(["ca_file", "certificate", "key", "verify"])
                config.upstream.tls.caFile = try tls.string("ca_file")
                let certificate = try tls.string("certificate")
                let key = try tls.string("key")
                if certificate != nil || key != nil {
                    config.upstream.tls.clientCertificate = try tls.tlsFiles()
                }
                config.upstream.tls.verify = try tls.bool("verify") ?? true
            }
            config.upstream.connectTimeout = try upstream.duration("connect_timeout") ?? config.upstream.connectTimeout
            config.upstream.poolIdleTimeout =
                try upstream.duration("pool_idle_timeout") ?? config.upstream.poolIdleTimeout
            config.upstream.maxIdlePerBackend =
                try upstream.int("max_idle_per_backend", in: 0...100_000) ?? config.upstream.maxIdlePerBackend
            config.upstream.streamIdleTimeout =
                try upstream.duration("stream_idle_timeout") ?? config.upstream.streamIdleTimeout
        }
        if let discovery = try top.mapping("discovery") {
            try discovery.allow([
                "health_check_interval", "models_refresh_interval", "probe_timeout", "unhealthy_threshold",
                "healthy_threshold", "dns", "dns_interval", "dns_max_concurrent",
            ])
            try loadDiscoveryExtras(discovery, into: &config)
            config.discovery.healthCheckInterval =
                try discovery.duration("health_check_interval") ?? config.discovery.healthCheckInterval
            config.discovery.modelsRefreshInterval =
                try discovery.duration("models_refresh_interval") ?? config.discovery.modelsRefreshInterval
            config.discovery.probeTimeout = try discovery.duration("probe_timeout") ?? config.discovery.probeTimeout
        }
        if let shutdown = try top.mapping("shutdown") {
            try shutdown.allow(["grace_period"])
            config.shutdown.gracePeriod = try shutdown.duration("grace_period") ?? config.shutdown.gracePeriod
        }
        if let admission = try top.mapping("admission") {
            try admission.allow([
                "bytes_per_token", "remote_image_tokens", "video_tokens", "margin", "allow_file_media", "mode",
                "default_output_reservation", "exact_check", "media_domains",
            ])
            config.admission.mediaDomains = try admission.strings("media_domains") ?? []
            config.admission.bytesPerToken = try admission.number("bytes_per_token") ?? config.admission.bytesPerToken
            config.admission.remoteImageTokens =
                try admission.int("remote_image_tokens", in: 1...1_000_000) ?? config.admission.remoteImageTokens
            config.admission.videoTokens =
                try admission.int("video_tokens", in: 1...10_000_000) ?? config.admission.videoTokens
            config.admission.margin = try admission.number("margin") ?? config.admission.margin
            config.admission.allowFileMedia = try admission.bool("allow_file_media") ?? config.admission.allowFileMedia
            config.admission.mode = try admission.choice("mode", of: AdmissionMode.self) ?? config.admission.mode
            config.admission.defaultOutputReservation =
                try admission.int("default_output_reservation", in: 1...10_000_000)
                ?? config.admission.defaultOutputReservation
            config.admission.exactCheck = try admission.bool("exact_check") ?? config.admission.exactCheck
        }
        if let routing = try top.mapping("routing") {
            try routing.allow([
                "policy", "models", "session_header", "affinity_load_factor", "kv_aware", "metrics_scrape_interval",
                "kv_high_watermark",
            ])
            config.routing.policy = try routing.choice("policy", of: RoutingPolicy.self) ?? config.routing.policy
            if let models = try routing.mapping("models") {
                for key in models.keys {
                    config.routing.modelPolicies[key] = try models.choice(key, of: RoutingPolicy.self)
                }
            }
            config.routing.sessionHeader = try routing.string("session_header") ?? config.routing.sessionHeader
            config.routing.affinityLoadFactor =
                try routing.number("affinity_load_factor") ?? config.routing.affinityLoadFactor
            config.routing.kvAware = try routing.bool("kv_aware") ?? config.routing.kvAware
            config.routing.metricsScrapeInterval =
                try routing.duration("metrics_scrape_interval") ?? config.routing.metricsScrapeInterval
            config.routing.kvHighWatermark = try routing.number("kv_high_watermark") ?? config.routing.kvHighWatermark
        }
        if let queue = try top.mapping("queue") {
            try queue.allow([
                "max_requests", "max_tokens", "timeout", "max_timeout", "timeout_header", "aging_interval",
                "tenant_header", "tenant_weights", "quantum",
            ])
            config.queue.maxRequests = try queue.int("max_requests", in: 0...10_000_000) ?? config.queue.maxRequests
            config.queue.maxTokens = try queue.int("max_tokens", in: 1...Int(Int32.max)) ?? config.queue.maxTokens
            config.queue.timeout = try queue.duration("timeout") ?? config.queue.timeout
            config.queue.maxTimeout = try queue.duration("max_timeout") ?? config.queue.maxTimeout
            config.queue.timeoutHeader = try queue.string("timeout_header") ?? config.queue.timeoutHeader
            config.queue.agingInterval = try queue.duration("aging_interval") ?? config.queue.agingInterval
            config.queue.tenantHeader = try queue.string("tenant_header") ?? config.queue.tenantHeader
            if let weights = try queue.mapping("tenant_weights") {
                for key in weights.keys {
                    config.queue.tenantWeights[key] = try weights.number(key)
                }
            }
            config.queue.quantum = try queue.int("quantum", in: 1...100_000_000) ?? config.queue.quantum
        }
        if let telemetry = try top.mapping("telemetry") {
            try telemetry.allow([
                "enabled", "metrics_path", "stats_path", "usage_rewrite", "access_log", "stats_slot", "stats_retention",
                "goodput",
            ])
            config.telemetry.enabled = try telemetry.bool("enabled") ?? config.telemetry.enabled
            config.telemetry.metricsPath = try telemetry.path("metrics_path") ?? config.telemetry.metricsPath
            config.telemetry.statsPath = try telemetry.path("stats_path") ?? config.telemetry.statsPath
            config.telemetry.usageRewrite = try telemetry.bool("usage_rewrite") ?? config.telemetry.usageRewrite
            if let target = try telemetry.string("access_log") {
                config.telemetry.accessLog = AccessLogTarget(parsing: target)
            }
            config.telemetry.statsSlot = try telemetry.duration("stats_slot") ?? config.telemetry.statsSlot
            config.telemetry.statsRetention =
                try telemetry.duration("stats_retention") ?? config.telemetry.statsRetention
            if let goodput = try telemetry.mapping("goodput") {
                try goodput.allow(["ttft_ms", "tpot_ms", "e2el_ms"])
                let slo = GoodputSLO(
                    ttftMs: try goodput.number("ttft_ms"), tpotMs: try goodput.number("tpot_ms"),
                    e2elMs: try goodput.number("e2el_ms"))
                config.telemetry.goodput = slo.isEmpty ? nil : slo
            }
        }
        try loadReliability(top, into: &config, environment: environment)
        if let level = try top.string("log_level") {
            guard let parsed = LogLevel(rawValue: level) else {
                let names = LogLevel.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigError("log_level: must be one of \(names), got \"\(level)\"")
            }
            config.logLevel = parsed
        }
        return config
    }
}

/// One YAML mapping being read, with the path used in error messages.
struct Fields {
    let path: String
    let entries: [(key: String, value: Node)]

    init(_ node: Node, path: String) throws(ConfigError) {
        guard case .mapping(let mapping) = node else {
            throw ConfigError("\(path.isEmpty ? "the file" : path): must be a mapping of keys to values")
        }
        self.path = path
        var entries: [(String, Node)] = []
        for (key, value) in mapping {
            entries.append((key.string ?? "\(key)", value))
        }
        self.entries = entries
    }

    func name(_ key: String) -> String { path.isEmpty ? key : "\(path).\(key)" }

    func allow(_ keys: Set<String>) throws(ConfigError) {
        for (key, _) in entries where !keys.contains(key) {
            let known = keys.sorted().joined(separator: ", ")
            throw ConfigError("\(name(key)): unknown key (known keys here: \(known))")
        }
    }

    private func node(_ key: String) -> Node? {
        guard let value = entries.first(where: { $0.key == key })?.value, !value.isNull else { return nil }
        return value
    }

    private func scalar(_ key: String) throws(ConfigError) -> String? {
        guard let value = node(key) else { return nil }
        guard case .scalar(let s) = value else { throw ConfigError("\(name(key)): must be a single value") }
        return s.string
    }

    func string(_ key: String) throws(ConfigError) -> String? {
        guard let text = try scalar(key) else { return nil }
        guard !text.isEmpty else { throw ConfigError("\(name(key)): must not be empty") }
        return text
    }

    func int(_ key: String, in range: ClosedRange<Int>) throws(ConfigError) -> Int? {
        guard let text = try scalar(key) else { return nil }
        guard let value = Int(text) else { throw ConfigError("\(name(key)): must be a whole number, got \"\(text)\"") }
        guard range.contains(value) else {
            throw ConfigError("\(name(key)): must be between \(range.lowerBound) and \(range.upperBound), got \(value)")
        }
        return value
    }

    func number(_ key: String) throws(ConfigError) -> Double? {
        guard let text = try scalar(key) else { return nil }
        guard let value = Double(text), value.isFinite else {
            throw ConfigError("\(name(key)): must be a number, got \"\(text)\"")
        }
        return value
    }

    func bool(_ key: String) throws(ConfigError) -> Bool? {
        guard let text = try scalar(key) else { return nil }
        switch text.lowercased() {
        case "true", "yes", "on": return true
        case "false", "no", "off": return false
        default: throw ConfigError("\(name(key)): must be true or false, got \"\(text)\"")
        }
    }

    var keys: [String] { entries.map(\.key) }

    func choice<Choice: RawRepresentable & CaseIterable>(_ key: String, of type: Choice.Type) throws(ConfigError)
        -> Choice? where Choice.RawValue == String
    {
        guard let text = try scalar(key) else { return nil }
        guard let value = Choice(rawValue: text) else {
            let names = Choice.allCases.map(\.rawValue).joined(separator: ", ")
            throw ConfigError("\(name(key)): must be one of \(names), got \"\(text)\"")
        }
        return value
    }

    /// A URL path: starts with `/`, no query.
    func path(_ key: String) throws(ConfigError) -> String? {
        guard let text = try string(key) else { return nil }
        guard text.hasPrefix("/"), !text.contains("?"), !text.contains(" ") else {
            throw ConfigError("\(name(key)): must be a path starting with / (no query), got \"\(text)\"")
        }
        return text
    }

    func duration(_ key: String) throws(ConfigError) -> Duration? {
        guard let text = try scalar(key) else { return nil }
        guard let value = ConfigUnits.parseDuration(text) else {
            throw ConfigError("\(name(key)): must be a duration such as 500ms, 2s or 1m, got \"\(text)\"")
        }
        return value
    }

    func size(_ key: String) throws(ConfigError) -> Int? {
        guard let text = try scalar(key) else { return nil }
        guard let value = ConfigUnits.parseSize(text) else {
            throw ConfigError("\(name(key)): must be a size such as 65536, 64KiB or 64MiB, got \"\(text)\"")
        }
        return value
    }

    func mapping(_ key: String) throws(ConfigError) -> Fields? {
        guard let value = node(key) else { return nil }
        return try Fields(value, path: name(key))
    }

    func sequence(_ key: String) throws(ConfigError) -> [Node]? {
        guard let value = node(key) else { return nil }
        guard case .sequence(let seq) = value else { throw ConfigError("\(name(key)): must be a list") }
        return Array(seq)
    }
}

extension Node {
    /// `~`, `null` or nothing at all: YAML's null, which the config treats as "not set".
    var isNull: Bool {
        guard case .scalar = self else { return false }
        return tag.rawValue == "tag:yaml.org,2002:null"
    }
}
