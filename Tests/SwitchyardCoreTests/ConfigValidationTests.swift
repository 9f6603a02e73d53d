import Testing

@testable import SwitchyardCore

/// A config that passes validation, to break one rule at a time.
private func validConfig() -> SwitchyardConfig {
    var config = SwitchyardConfig()
    config.backends = [
        BackendConfig(name: "a", url: BackendURL(host: "10.0.0.1", port: 8000)),
        BackendConfig(name: "b", url: BackendURL(host: "10.0.0.2", port: 8000)),
    ]
    return config
}

struct ValidationCase: Sendable, CustomTestStringConvertible {
    var label: String
    var change: @Sendable (inout SwitchyardConfig) -> Void
    var message: String?  // nil: valid
    var testDescription: String { label }
}

@Suite("SwitchyardConfig.validate and renderYAML")
struct ConfigValidationTests {
    static let cases: [ValidationCase] = [
        ValidationCase(label: "baseline is valid", change: { _ in }, message: nil),
        ValidationCase(
            label: "no backends", change: { $0.backends = [] },
            message:
                "backends: at least one backend is required (in the file, with --backend URL, or from discovery.dns)"),
        ValidationCase(
            label: "duplicate names",
            change: { $0.backends.append(BackendConfig(name: "a", url: BackendURL(host: "10.0.0.3", port: 8000))) },
            message: "backends[2].name: \"a\" is used by another backend"),
        ValidationCase(
            label: "duplicate URLs",
            change: { $0.backends.append(BackendConfig(name: "c", url: BackendURL(host: "10.0.0.1", port: 8000))) },
            message: "backends[2].url: http://10.0.0.1:8000 is listed twice"),
        ValidationCase(
            label: "same host, different port is fine",
            change: { $0.backends.append(BackendConfig(name: "c", url: BackendURL(host: "10.0.0.1", port: 8001))) },
            message: nil),
        ValidationCase(
            label: "same host and port, different prefix is fine",
            change: {
                $0.backends.append(
                    BackendConfig(name: "c", url: BackendURL(host: "10.0.0.1", port: 8000, pathPrefix: "/r2")))
            }, message: nil),
        ValidationCase(label: "max_header_bytes 1KiB", change: { $0.limits.maxHeaderBytes = 1024 }, message: nil),
        ValidationCase(label: "max_header_bytes 80KiB", change: { $0.limits.maxHeaderBytes = 80 * 1024 }, message: nil),
        ValidationCase(
            label: "max_header_bytes below 1KiB", change: { $0.limits.maxHeaderBytes = 1023 },
            message: "limits.max_header_bytes: must be between 1KiB and 80KiB (the HTTP parser's ceiling), got 1023"),
        ValidationCase(
            label: "max_header_bytes above 80KiB", change: { $0.limits.maxHeaderBytes = 80 * 1024 + 1 },
            message: "limits.max_header_bytes: must be between 1KiB and 80KiB (the HTTP parser's ceiling), got 81921"),
        ValidationCase(
            label: "max_header_bytes zero", change: { $0.limits.maxHeaderBytes = 0 },
            message: "limits.max_header_bytes: must be between 1KiB and 80KiB (the HTTP parser's ceiling), got 0"),
        ValidationCase(label: "max_body_bytes 1", change: { $0.limits.maxBodyBytes = 1 }, message: nil),
        ValidationCase(
            label: "max_body_bytes 0", change: { $0.limits.maxBodyBytes = 0 },
            message: "limits.max_body_bytes: must be at least 1 byte"),
        ValidationCase(
            label: "zero header_timeout", change: { $0.limits.headerTimeout = .zero },
            message: "limits.header_timeout: must be greater than zero"),
        ValidationCase(
            label: "zero body_timeout", change: { $0.limits.bodyTimeout = .zero },
            message: "limits.body_timeout: must be greater than zero"),
        ValidationCase(
            label: "zero idle_timeout", change: { $0.limits.idleTimeout = .zero },
            message: "limits.idle_timeout: must be greater than zero"),
        ValidationCase(
            label: "negative idle_timeout", change: { $0.limits.idleTimeout = .milliseconds(-1) },
            message: "limits.idle_timeout: must be greater than zero"),
        ValidationCase(
            label: "zero connect_timeout", change: { $0.upstream.connectTimeout = .zero },
            message: "upstream.connect_timeout: must be greater than zero"),
        ValidationCase(
            label: "zero pool_idle_timeout", change: { $0.upstream.poolIdleTimeout = .zero },
            message: "upstream.pool_idle_timeout: must be greater than zero"),
        ValidationCase(
            label: "zero health_check_interval", change: { $0.discovery.healthCheckInterval = .zero },
            message: "discovery.health_check_interval: must be greater than zero"),
        ValidationCase(
            label: "zero models_refresh_interval", change: { $0.discovery.modelsRefreshInterval = .zero },
            message: "discovery.models_refresh_interval: must be greater than zero"),
        ValidationCase(
            label: "zero probe_timeout", change: { $0.discovery.probeTimeout = .zero },
            message: "discovery.probe_timeout: must be greater than zero"),
        ValidationCase(
            label: "zero grace_period is allowed", change: { $0.shutdown.gracePeriod = .zero }, message: nil),
        ValidationCase(
            label: "pool_idle_timeout 4999ms", change: { $0.upstream.poolIdleTimeout = .milliseconds(4999) },
            message: nil),
        ValidationCase(
            label: "pool_idle_timeout 5s", change: { $0.upstream.poolIdleTimeout = .seconds(5) },
            message:
                "upstream.pool_idle_timeout: must be below 5s, vLLM's keep-alive timeout, or pooled connections race the backend's close (got 5s)"
        ),
        ValidationCase(
            label: "pool_idle_timeout 7500ms", change: { $0.upstream.poolIdleTimeout = .milliseconds(7500) },
            message:
                "upstream.pool_idle_timeout: must be below 5s, vLLM's keep-alive timeout, or pooled connections race the backend's close (got 7500ms)"
        ),
        ValidationCase(label: "listen port 0 (ephemeral)", change: { $0.listen.port = 0 }, message: nil),
        ValidationCase(label: "max_idle_per_backend 0", change: { $0.upstream.maxIdlePerBackend = 0 }, message: nil),
    ]

    @Test(arguments: cases)
    func validate(_ c: ValidationCase) {
        var config = validConfig()
        c.change(&config)
        if let message = c.message {
            #expect(throws: ConfigError(message)) { try config.validate() }
        } else {
            #expect(throws: Never.self) { try config.validate() }
        }
    }

    @Test("duplicate URLs are found across spellings that parse equal")
    func duplicateURLSpellings() throws {
        let config = try ConfigLoader.load(
            yaml: "backends:\n  - name: a\n    url: http://h:80/\n  - name: b\n    url: http://h\n")
        #expect(throws: ConfigError("backends[1].url: http://h is listed twice")) { try config.validate() }
    }

    @Test("host names are case-insensitive when finding duplicate URLs")
    func duplicateURLCase() throws {
        let config = try ConfigLoader.load(
            yaml: "backends:\n  - name: a\n    url: http://vllm-0:8000\n  - name: b\n    url: http://VLLM-0:8000\n")
        #expect(throws: ConfigError.self) { try config.validate() }
    }

    @Test("the first broken rule is reported")
    func firstRuleWins() {
        var config = validConfig()
        config.backends.append(config.backends[0])  // duplicate name and URL
        config.limits.maxHeaderBytes = 1
        #expect(throws: ConfigError("backends[2].name: \"a\" is used by another backend")) { try config.validate() }
    }

    // MARK: renderYAML

    static func nonDefaultConfig() -> SwitchyardConfig {
        var config = SwitchyardConfig()
        config.listen.host = "0.0.0.0"
        config.listen.port = 9001
        config.backends = [
            BackendConfig(name: "replica-a", url: BackendURL(host: "10.0.0.5", port: 8000, pathPrefix: "/replica-a")),
            BackendConfig(name: "v6 \"box\": #2 \\ ok", url: BackendURL(host: "::1", port: 8002)),
            BackendConfig(name: "h:80", url: BackendURL(host: "h", port: 80)),
            BackendConfig(name: "123", url: BackendURL(host: "vllm.local", port: 1, pathPrefix: "/a/b")),
            BackendConfig(name: "null", url: BackendURL(host: "x", port: 2)),
            BackendConfig(name: "tab\tnew\nline ctl\u{1} 模型 😀", url: BackendURL(host: "y", port: 3)),
            BackendConfig(name: "- true", url: BackendURL(host: "z", port: 4)),
        ]
        config.limits.maxHeaderBytes = 12345
        config.limits.maxBodyBytes = 3 << 30
        config.limits.headerTimeout = .milliseconds(2500)
        config.limits.bodyTimeout = .milliseconds(1)
        config.limits.idleTimeout = .seconds(3600)
        config.upstream.connectTimeout = .milliseconds(750)
        config.upstream.poolIdleTimeout = .milliseconds(4999)
        config.upstream.maxIdlePerBackend = 0
        config.discovery.healthCheckInterval = .milliseconds(1500)
        config.discovery.modelsRefreshInterval = .seconds(90)
        config.discovery.probeTimeout = .milliseconds(100)
        config.shutdown.gracePeriod = .zero
        config.logLevel = .warning
        return config
    }

    @Test("renderYAML re-loads to an equal config")
    func roundTrip() throws {
        let config = Self.nonDefaultConfig()
        try config.validate()
        let yaml = config.renderYAML()
        #expect(try ConfigLoader.load(yaml: yaml) == config)
        // Rendering is stable.
        #expect(try ConfigLoader.load(yaml: yaml).renderYAML() == yaml)
    }

    @Test("renderYAML of the defaults (plus one backend), exactly")
    func defaultRendering() throws {
        var config = SwitchyardConfig()
        config.backends = [BackendConfig(name: "a", url: BackendURL(host: "h", port: 8000))]
        let expected = """
            listen:
              host: "127.0.0.1"
              port: 8000
            backends:
              - name: "a"
                url: "http://h:8000"
                max_concurrent: 256
                priority_scheduling: false
            limits:
              max_header_bytes: 64KiB
              max_body_bytes: 64MiB
              header_timeout: 10s
              body_timeout: 60s
              idle_timeout: 60s
              max_connections_per_ip: 0
            upstream:
              connect_timeout: 2s
              pool_idle_timeout: 4s
              max_idle_per_backend: 64
              stream_idle_timeout: 60s
              first_token_timeout: 0s
            discovery:
              health_check_interval: 2s
              models_refresh_interval: 30s
              probe_timeout: 2s
              unhealthy_threshold: 3
              healthy_threshold: 1
            shutdown:
              grace_period: 30s
            admission:
              bytes_per_token: 4.0
              remote_image_tokens: 6146
              video_tokens: 16384
              margin: 0.05
              allow_file_media: false
              mode: reject
              default_output_reservation: 1024
              exact_check: true
            routing:
              policy: least-ttft
              session_header: "x-session-id"
              affinity_load_factor: 1.25
              kv_aware: true
              metrics_scrape_interval: 2s
              kv_high_watermark: 0.95
            queue:
              max_requests: 1024
              max_tokens: 16000000
              timeout: 30s
              max_timeout: 300s
              timeout_header: "x-switchyard-queue-timeout"
              aging_interval: 5s
              quantum: 4096
            telemetry:
              enabled: true
              metrics_path: "/metrics"
              stats_path: "/stats"
              usage_rewrite: true
              access_log: "stdout"
              stats_slot: 10s
              stats_retention: 3600s
            outlier:
              enabled: true
              consecutive_failures: 5
              base_ejection: 5s
              max_ejection: 300s
              max_ejected_percent: 50
            retries:
              max_attempts: 3
              budget: 10s
              statuses: [429, 503]
            admin:
              host: "127.0.0.1"
              port: 9000
            log_level: info

            """
        #expect(config.renderYAML() == expected)
        #expect(try ConfigLoader.load(yaml: expected) == config)
    }

    @Test("renderYAML with no backends still re-loads")
    func roundTripNoBackends() throws {
        let config = SwitchyardConfig()
        #expect(try ConfigLoader.load(yaml: config.renderYAML()) == config)
    }

    @Test("every log level round-trips", arguments: LogLevel.allCases)
    func logLevelRoundTrip(level: LogLevel) throws {
        var config = SwitchyardConfig()
        config.logLevel = level
        #expect(try ConfigLoader.load(yaml: config.renderYAML()).logLevel == level)
    }

    struct RenderCase: Sendable, CustomTestStringConvertible {
        var label: String
        var change: @Sendable (inout SwitchyardConfig) -> Void
        var testDescription: String { label }
    }

    // Values that a config can hold (the host from --host, a name from the file) but that
    // renderYAML prints without the quoting/escaping YAML needs.
    static let unquotedValues: [RenderCase] = [
        RenderCase(label: "listen.host \"::\" (IPv6 wildcard)", change: { $0.listen.host = "::" }),
        RenderCase(
            label: "backend name with DEL (U+007F)",
            change: { $0.backends = [BackendConfig(name: "a\u{7F}b", url: BackendURL(host: "h", port: 1))] }),
        RenderCase(
            label: "backend name with NEL (U+0085)",
            change: { $0.backends = [BackendConfig(name: "a\u{85}b", url: BackendURL(host: "h", port: 1))] }),
    ]

    @Test("renderYAML quotes whatever YAML would misread", arguments: unquotedValues)
    func renderQuoting(_ c: RenderCase) throws {
        var config = validConfig()
        c.change(&config)
        #expect(try ConfigLoader.load(yaml: config.renderYAML()) == config)
    }

    @Test("IPv6 listen hosts other than :: and bracketed backend URLs round-trip")
    func ipv6RoundTrip() throws {
        var config = validConfig()
        config.listen.host = "::1"
        config.backends.append(
            BackendConfig(name: "v6", url: BackendURL(host: "fe80::1", port: 8000, pathPrefix: "/p")))
        #expect(try ConfigLoader.load(yaml: config.renderYAML()) == config)
    }
}
