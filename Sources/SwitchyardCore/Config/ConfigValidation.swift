extension SwitchyardConfig {
    /// Rules that involve more than one field, or that only make sense once flags have been
    /// merged over the file. Called before anything binds a socket.
    public func validate() throws(ConfigError) {
        if backends.isEmpty && discovery.dns == nil {
            throw ConfigError(
                "backends: at least one backend is required (in the file, with --backend URL, or from discovery.dns)")
        }
        try validateReliability()
        var names = Set<String>()
        var urls = Set<BackendURL>()
        for (index, backend) in backends.enumerated() {
            guard names.insert(backend.name).inserted else {
                throw ConfigError("backends[\(index)].name: \"\(backend.name)\" is used by another backend")
            }
            guard urls.insert(backend.url).inserted else {
                throw ConfigError("backends[\(index)].url: \(backend.url) is listed twice")
            }
        }
        if limits.maxHeaderBytes < 1024 || limits.maxHeaderBytes > 80 * 1024 {
            throw ConfigError(
                "limits.max_header_bytes: must be between 1KiB and 80KiB (the HTTP parser's ceiling), got \(limits.maxHeaderBytes)"
            )
        }
        if limits.maxBodyBytes < 1 {
            throw ConfigError("limits.max_body_bytes: must be at least 1 byte")
        }
        for (field, value) in [
            ("limits.header_timeout", limits.headerTimeout), ("limits.body_timeout", limits.bodyTimeout),
            ("limits.idle_timeout", limits.idleTimeout), ("upstream.connect_timeout", upstream.connectTimeout),
            ("upstream.pool_idle_timeout", upstream.poolIdleTimeout),
            ("discovery.health_check_interval", discovery.healthCheckInterval),
            ("discovery.models_refresh_interval", discovery.modelsRefreshInterval),
            ("discovery.probe_timeout", discovery.probeTimeout), ("queue.timeout", queue.timeout),
            ("queue.max_timeout", queue.maxTimeout),
        ] where value <= .zero {
            throw ConfigError("\(field): must be greater than zero")
        }
        if !(admission.bytesPerToken > 0) {
            throw ConfigError("admission.bytes_per_token: must be greater than zero")
        }
        if !(0...1).contains(admission.margin) {
            throw ConfigError("admission.margin: must be between 0 and 1 (a fraction of max_model_len)")
        }
        if queue.timeout > queue.maxTimeout {
            throw ConfigError(
                "queue.timeout: must not exceed queue.max_timeout (\(ConfigUnits.format(queue.maxTimeout)))")
        }
        if upstream.streamIdleTimeout < .zero {
            throw ConfigError("upstream.stream_idle_timeout: must not be negative (0 turns it off)")
        }
        if queue.agingInterval < .zero || routing.metricsScrapeInterval < .zero {
            throw ConfigError(
                "\(queue.agingInterval < .zero ? "queue.aging_interval" : "routing.metrics_scrape_interval"): "
                    + "must not be negative (0 turns it off)")
        }
        for (tenant, weight) in queue.tenantWeights where !(weight > 0) {
            throw ConfigError("queue.tenant_weights.\(tenant): must be greater than zero")
        }
        if !(routing.affinityLoadFactor >= 1) {
            throw ConfigError("routing.affinity_load_factor: must be at least 1 (1 means perfectly even load)")
        }
        if !(0...1).contains(routing.kvHighWatermark) {
            throw ConfigError("routing.kv_high_watermark: must be between 0 and 1")
        }
        if telemetry.statsSlot <= .zero || telemetry.statsRetention < telemetry.statsSlot {
            throw ConfigError(
                "telemetry.stats_slot: must be greater than zero and at most telemetry.stats_retention")
        }
        if telemetry.statsRetention > .seconds(7 * 86_400) {
            throw ConfigError("telemetry.stats_retention: must be at most 168h (7 days; memory grows with it)")
        }
        let reserved = ["/health", "/v1/models", "/switchyard/status", "/v1/chat/completions", "/v1/completions"]
        for (field, path) in [
            ("telemetry.metrics_path", telemetry.metricsPath), ("telemetry.stats_path", telemetry.statsPath),
        ]
        where reserved.contains(path) {
            throw ConfigError("\(field): \(path) is already an endpoint of Switchyard's")
        }
        if telemetry.metricsPath == telemetry.statsPath {
            throw ConfigError("telemetry.stats_path: must differ from telemetry.metrics_path")
        }
        if upstream.poolIdleTimeout >= .seconds(5) {
            throw ConfigError(
                "upstream.pool_idle_timeout: must be below 5s, vLLM's keep-alive timeout, or pooled connections race the backend's close (got \(ConfigUnits.format(upstream.poolIdleTimeout)))"
            )
        }
    }

    /// The effective configuration as YAML, in the file's own format (for `check-config`).
    public func renderYAML() -> String {
        var lines = [
            "listen:",
            "  host: \(YAMLString.quoted(listen.host))",
            "  port: \(listen.port)",
        ]
        if let tls = listen.tls {
            lines += [
                "  tls:", "    certificate: \(YAMLString.quoted(tls.certificate))",
                "    key: \(YAMLString.quoted(tls.key))",
            ]
            if let ca = listen.tlsClientCA { lines.append("    client_ca: \(YAMLString.quoted(ca))") }
        }
        lines.append("backends:")
        for backend in backends {
            lines.append("  - name: \(YAMLString.quoted(backend.name))")
            lines.append("    url: \(YAMLString.quoted(backend.url.description))")
            lines.append("    max_concurrent: \(backend.maxConcurrent)")
            if let tokens = backend.maxInFlightTokens { lines.append("    max_inflight_tokens: \(tokens)") }
            lines.append("    priority_scheduling: \(backend.priorityScheduling)")
            // Secrets are not printed.
            if backend.apiKey != nil { lines.append("    # api_key: set (not shown)") }
        }
        lines += [
            "limits:",
            "  max_header_bytes: \(ConfigUnits.formatSize(limits.maxHeaderBytes))",
            "  max_body_bytes: \(ConfigUnits.formatSize(limits.maxBodyBytes))",
            "  header_timeout: \(ConfigUnits.format(limits.headerTimeout))",
            "  body_timeout: \(ConfigUnits.format(limits.bodyTimeout))",
            "  idle_timeout: \(ConfigUnits.format(limits.idleTimeout))",
            "  max_connections_per_ip: \(limits.maxConnectionsPerIP)",
            "upstream:",
            "  connect_timeout: \(ConfigUnits.format(upstream.connectTimeout))",
            "  pool_idle_timeout: \(ConfigUnits.format(upstream.poolIdleTimeout))",
            "  max_idle_per_backend: \(upstream.maxIdlePerBackend)",
            "  stream_idle_timeout: \(ConfigUnits.format(upstream.streamIdleTimeout))",
            "  first_token_timeout: \(ConfigUnits.format(upstream.firstTokenTimeout))",
        ]
        lines += renderUpstreamTLS()
        lines += [
            "discovery:",
            "  health_check_interval: \(ConfigUnits.format(discovery.healthCheckInterval))",
            "  models_refresh_interval: \(ConfigUnits.format(discovery.modelsRefreshInterval))",
            "  probe_timeout: \(ConfigUnits.format(discovery.probeTimeout))",
            "  unhealthy_threshold: \(discovery.thresholds.unhealthy)",
            "  healthy_threshold: \(discovery.thresholds.healthy)",
        ]
        if let dns = discovery.dns {
            lines += [
                "  dns: \(YAMLString.quoted("\(dns.name):\(dns.port)"))",
                "  dns_interval: \(ConfigUnits.format(dns.interval))",
                "  dns_max_concurrent: \(dns.template.maxConcurrent)",
            ]
        }
        lines += [
            "shutdown:",
            "  grace_period: \(ConfigUnits.format(shutdown.gracePeriod))",
            "admission:",
            "  bytes_per_token: \(admission.bytesPerToken)",
            "  remote_image_tokens: \(admission.remoteImageTokens)",
            "  video_tokens: \(admission.videoTokens)",
            "  margin: \(admission.margin)",
            "  allow_file_media: \(admission.allowFileMedia)",
            "  mode: \(admission.mode.rawValue)",
            "  default_output_reservation: \(admission.defaultOutputReservation)",
            "  exact_check: \(admission.exactCheck)",
        ]
        if !admission.mediaDomains.isEmpty {
            lines.append("  media_domains:")
            lines += admission.mediaDomains.map { "    - \(YAMLString.quoted($0))" }
        }
        lines += [
            "routing:",
            "  policy: \(routing.policy.rawValue)",
        ]
        lines += Self.nestedMapping("models", routing.modelPolicies.mapValues(\.rawValue))
        lines += [
            "  session_header: \(YAMLString.quoted(routing.sessionHeader))",
            "  affinity_load_factor: \(routing.affinityLoadFactor)",
            "  kv_aware: \(routing.kvAware)",
            "  metrics_scrape_interval: \(ConfigUnits.format(routing.metricsScrapeInterval))",
            "  kv_high_watermark: \(routing.kvHighWatermark)",
            "queue:",
            "  max_requests: \(queue.maxRequests)",
            "  max_tokens: \(queue.maxTokens)",
            "  timeout: \(ConfigUnits.format(queue.timeout))",
            "  max_timeout: \(ConfigUnits.format(queue.maxTimeout))",
            "  timeout_header: \(YAMLString.quoted(queue.timeoutHeader))",
            "  aging_interval: \(ConfigUnits.format(queue.agingInterval))",
        ]
        if let header = queue.tenantHeader { lines.append("  tenant_header: \(YAMLString.quoted(header))") }
        lines += Self.nestedMapping("tenant_weights", queue.tenantWeights.mapValues { "\($0)" })
        lines += [
            "  quantum: \(queue.quantum)",
            "telemetry:",
            "  enabled: \(telemetry.enabled)",
            "  metrics_path: \(YAMLString.quoted(telemetry.metricsPath))",
            "  stats_path: \(YAMLString.quoted(telemetry.statsPath))",
            "  usage_rewrite: \(telemetry.usageRewrite)",
            "  access_log: \(YAMLString.quoted(telemetry.accessLog.description))",
            "  stats_slot: \(ConfigUnits.format(telemetry.statsSlot))",
            "  stats_retention: \(ConfigUnits.format(telemetry.statsRetention))",
        ]
        if let goodput = telemetry.goodput {
            lines.append("  goodput:")
            if let value = goodput.ttftMs { lines.append("    ttft_ms: \(value)") }
            if let value = goodput.tpotMs { lines.append("    tpot_ms: \(value)") }
            if let value = goodput.e2elMs { lines.append("    e2el_ms: \(value)") }
        }
        lines += renderReliability()
        lines += [
            "log_level: \(logLevel.rawValue)"
        ]
        return lines.joined(separator: "\n") + "\n"
    }

    private func renderUpstreamTLS() -> [String] {
        guard upstream.tls != UpstreamTLSConfig() else { return [] }
        var lines = ["  tls:"]
        if let ca = upstream.tls.caFile { lines.append("    ca_file: \(YAMLString.quoted(ca))") }
        if let client = upstream.tls.clientCertificate {
            lines.append("    certificate: \(YAMLString.quoted(client.certificate))")
            lines.append("    key: \(YAMLString.quoted(client.key))")
        }
        lines.append("    verify: \(upstream.tls.verify)")
        return lines
    }

    /// Outlier detection, retries, the admin API and API keys (as their SHA-256: keys and
    /// tokens are never printed).
    private func renderReliability() -> [String] {
        var lines = [
            "outlier:",
            "  enabled: \(outlier.enabled)",
            "  consecutive_failures: \(outlier.consecutiveFailures)",
            "  base_ejection: \(ConfigUnits.format(outlier.baseEjection))",
            "  max_ejection: \(ConfigUnits.format(outlier.maxEjection))",
            "  max_ejected_percent: \(outlier.maxEjectedPercent)",
            "retries:",
            "  max_attempts: \(retries.maxAttempts)",
            "  budget: \(ConfigUnits.format(retries.budget))",
            "  statuses: [\(retries.statuses.sorted().map(String.init).joined(separator: ", "))]",
            "admin:",
            "  host: \(YAMLString.quoted(admin.host))",
            "  port: \(admin.port)",
        ]
        if admin.token != nil { lines.append("  # token: set (not shown)") }
        guard !auth.keys.isEmpty else { return lines }
        lines += ["auth:", "  keys:"]
        for key in auth.keys {
            lines.append("    - key_sha256: \"\(key.sha256.hexString)\"")
            lines.append("      tenant: \(YAMLString.quoted(key.tenant))")
            if let value = key.limits.maxConcurrent { lines.append("      max_concurrent: \(value)") }
            if let value = key.limits.requestsPerMinute { lines.append("      requests_per_minute: \(value)") }
            if let value = key.limits.tokensPerMinute { lines.append("      tokens_per_minute: \(value)") }
        }
        return lines
    }

    /// A second-level mapping in key order (nothing when empty, so defaults stay implicit).
    private static func nestedMapping(_ name: String, _ entries: [String: String]) -> [String] {
        guard !entries.isEmpty else { return [] }
        return ["  \(name):"]
            + entries.sorted { $0.key < $1.key }.map { "    \(YAMLString.quoted($0.key)): \($0.value)" }
    }
}

/// YAML double-quoted scalars: everything but printable characters is escaped, so any string
/// reads back unchanged (YAML forbids raw C0/C1 controls and folds some line breaks).
enum YAMLString {
    static func quoted(_ string: String) -> String {
        var out = "\""
        for scalar in string.unicodeScalars {
            switch scalar {
            case "\"": out += "\\\""
            case "\\": out += "\\\\"
            case let s
            where s.value < 0x20 || (0x7F...0x9F).contains(s.value) || [0x2028, 0x2029, 0xFEFF].contains(s.value):
                let hex = String(s.value, radix: 16)
                out += "\\u" + String(repeating: "0", count: 4 - hex.count) + hex
            default: out.unicodeScalars.append(scalar)
            }
        }
        return out + "\""
    }
}

extension SwitchyardConfig {
    func validateReliability() throws(ConfigError) {
        for (field, value) in [
            ("outlier.base_ejection", outlier.baseEjection), ("outlier.max_ejection", outlier.maxEjection),
            ("retries.budget", retries.budget),
        ] where value <= .zero {
            throw ConfigError("\(field): must be greater than zero")
        }
        if outlier.maxEjection < outlier.baseEjection {
            throw ConfigError("outlier.max_ejection: must be at least outlier.base_ejection")
        }
        if upstream.firstTokenTimeout < .zero {
            throw ConfigError("upstream.first_token_timeout: must not be negative (0 turns it off)")
        }
        if let dns = discovery.dns {
            if dns.interval <= .zero { throw ConfigError("discovery.dns_interval: must be greater than zero") }
            guard dns.name.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-._".contains($0)) }) else {
                throw ConfigError("discovery.dns: \"\(dns.name)\" is not a host name")
            }
        }
        let wildcards: Set<String> = ["0.0.0.0", "::", "[::]"]
        let sameHost =
            admin.host == listen.host || wildcards.contains(admin.host) || wildcards.contains(listen.host)
        if admin.token != nil, sameHost, admin.port == listen.port, admin.port != 0 {
            throw ConfigError("admin.port: \(admin.port) is the client listener's port; the admin API needs its own")
        }
        for (index, domain) in admission.mediaDomains.enumerated() {
            let bare = domain.hasPrefix("*.") ? String(domain.dropFirst(2)) : domain
            guard !bare.isEmpty, bare.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || "-.".contains($0)) })
            else {
                throw ConfigError(
                    "admission.media_domains[\(index)]: must be a host name or *.domain, got \"\(domain)\"")
            }
        }
        var tenants: [String: TenantLimits] = [:]
        for (index, key) in auth.keys.enumerated() {
            if let limits = tenants[key.tenant], limits != key.limits {
                throw ConfigError(
                    "auth.keys[\(index)]: tenant `\(key.tenant)` has other limits on an earlier key; "
                        + "a tenant's limits are shared by its keys, so give them once")
            }
            tenants[key.tenant] = key.limits
        }
    }
}
