import Testing

@testable import SwitchyardCore

private func load(_ yaml: String) throws(ConfigError) -> SwitchyardConfig {
    try ConfigLoader.load(yaml: yaml)
}

private func backend(_ name: String, _ url: String) throws -> BackendConfig {
    BackendConfig(name: name, url: try BackendURL(parsing: url))
}

struct ConfigErrorCase: Sendable, CustomTestStringConvertible {
    var label: String
    var yaml: String
    var message: String
    var testDescription: String { label }
}

@Suite("ConfigLoader")
struct ConfigLoaderTests {
    @Test(
        "empty and comment-only files mean all defaults",
        arguments: ["", "\n\n", "# nothing here\n", "listen:\nbackends:\nlimits:\n", "listen:\n  port:\nlog_level:\n"])
    func emptyFile(yaml: String) throws {
        #expect(try load(yaml) == SwitchyardConfig())
    }

    @Test("the defaults")
    func defaults() {
        let config = SwitchyardConfig()
        #expect(config.listen.host == "127.0.0.1")
        #expect(config.listen.port == 8000)
        #expect(config.backends.isEmpty)
        #expect(config.limits.maxHeaderBytes == 65536)
        #expect(config.limits.maxBodyBytes == 64 << 20)
        #expect(config.limits.headerTimeout == .seconds(10))
        #expect(config.limits.bodyTimeout == .seconds(60))
        #expect(config.limits.idleTimeout == .seconds(60))
        #expect(config.upstream.connectTimeout == .seconds(2))
        #expect(config.upstream.poolIdleTimeout == .seconds(4))
        #expect(config.upstream.maxIdlePerBackend == 64)
        #expect(config.discovery.healthCheckInterval == .seconds(2))
        #expect(config.discovery.modelsRefreshInterval == .seconds(30))
        #expect(config.discovery.probeTimeout == .seconds(2))
        #expect(config.shutdown.gracePeriod == .seconds(30))
        #expect(config.logLevel == .info)
    }

    @Test("a full file sets every key")
    func fullExample() throws {
        let yaml = """
            # Switchyard in front of three vLLM replicas.
            listen:
              host: 0.0.0.0
              port: 9000
            backends:
              - name: replica-a
                url: http://10.0.0.5:8000/replica-a/
              - url: http://10.0.0.6:8001
              - name: "v6 box"
                url: "http://[::1]:8002"
            limits:
              max_header_bytes: 32KiB
              max_body_bytes: 128MiB
              header_timeout: 5s
              body_timeout: 1m
              idle_timeout: 90
            upstream:
              connect_timeout: 500ms
              pool_idle_timeout: 3.5s
              max_idle_per_backend: 16
            discovery:
              health_check_interval: 1s
              models_refresh_interval: 10s
              probe_timeout: 1500ms
            shutdown:
              grace_period: 45s
            log_level: debug
            """
        var expected = SwitchyardConfig()
        expected.listen.host = "0.0.0.0"
        expected.listen.port = 9000
        expected.backends = [
            try backend("replica-a", "http://10.0.0.5:8000/replica-a"),
            try backend("10.0.0.6:8001", "http://10.0.0.6:8001"),  // default name: host:port
            try backend("v6 box", "http://[::1]:8002"),
        ]
        expected.limits.maxHeaderBytes = 32 * 1024
        expected.limits.maxBodyBytes = 128 << 20
        expected.limits.headerTimeout = .seconds(5)
        expected.limits.bodyTimeout = .seconds(60)
        expected.limits.idleTimeout = .seconds(90)
        expected.upstream.connectTimeout = .milliseconds(500)
        expected.upstream.poolIdleTimeout = .milliseconds(3500)
        expected.upstream.maxIdlePerBackend = 16
        expected.discovery.healthCheckInterval = .seconds(1)
        expected.discovery.modelsRefreshInterval = .seconds(10)
        expected.discovery.probeTimeout = .milliseconds(1500)
        expected.shutdown.gracePeriod = .seconds(45)
        expected.logLevel = .debug

        let config = try load(yaml)
        #expect(config == expected)
        try config.validate()
    }

    @Test("a partial file keeps the other defaults")
    func partial() throws {
        let config = try load("limits:\n  idle_timeout: 5s\nbackends:\n  - url: http://h\n")
        var expected = SwitchyardConfig()
        expected.limits.idleTimeout = .seconds(5)
        expected.backends = [try backend("h:80", "http://h")]
        #expect(config == expected)
    }

    @Test("flow-style YAML and quoted scalars are accepted")
    func flowStyle() throws {
        let config = try load(#"{listen: {port: "8080"}, backends: [{url: "http://a:1"}, {name: b, url: http://b:2}]}"#)
        #expect(config.listen.port == 8080)
        #expect(config.backends.map(\.name) == ["a:1", "b"])
    }

    @Test("every log level", arguments: LogLevel.allCases)
    func logLevels(level: LogLevel) throws {
        #expect(try load("log_level: \(level.rawValue)").logLevel == level)
    }

    static let errors: [ConfigErrorCase] = [
        // Shape of the file
        ConfigErrorCase(
            label: "top-level list", yaml: "- a\n- b\n", message: "the file: must be a mapping of keys to values"),
        ConfigErrorCase(
            label: "top-level scalar", yaml: "hello\n", message: "the file: must be a mapping of keys to values"),
        // Unknown keys
        ConfigErrorCase(
            label: "unknown top-level key", yaml: "lisen:\n  port: 1\n",
            message:
                "lisen: unknown key (known keys here: admin, admission, auth, backends, discovery, limits, listen, log_level, outlier, queue, retries, routing, shutdown, telemetry, upstream)"
        ),
        ConfigErrorCase(
            label: "unknown key in listen", yaml: "listen:\n  hots: 0.0.0.0\n",
            message: "listen.hots: unknown key (known keys here: host, port, tls)"),
        ConfigErrorCase(
            label: "unknown key in a backend", yaml: "backends:\n  - url: http://a\n  - url: http://b\n    weight: 2\n",
            message:
                "backends[1].weight: unknown key (known keys here: api_key, api_key_env, max_concurrent, max_inflight_tokens, name, priority_scheduling, url)"
        ),
        ConfigErrorCase(
            label: "unknown key in limits", yaml: "limits:\n  max_body: 1MiB\n",
            message:
                "limits.max_body: unknown key (known keys here: body_timeout, header_timeout, idle_timeout, max_body_bytes, max_connections_per_ip, max_header_bytes)"
        ),
        ConfigErrorCase(
            label: "unknown key in upstream", yaml: "upstream:\n  pool_idle: 1s\n",
            message:
                "upstream.pool_idle: unknown key (known keys here: connect_timeout, first_token_timeout, max_idle_per_backend, pool_idle_timeout, stream_idle_timeout, tls)"
        ),
        ConfigErrorCase(
            label: "unknown key in discovery", yaml: "discovery:\n  interval: 1s\n",
            message:
                "discovery.interval: unknown key (known keys here: dns, dns_interval, dns_max_concurrent, health_check_interval, healthy_threshold, models_refresh_interval, probe_timeout, unhealthy_threshold)"
        ),
        ConfigErrorCase(
            label: "unknown key in shutdown", yaml: "shutdown:\n  grace: 1s\n",
            message: "shutdown.grace: unknown key (known keys here: grace_period)"),
        ConfigErrorCase(
            label: "unknown key reported even next to a bad value", yaml: "listen:\n  port: 99999\n  hots: x\n",
            message: "listen.hots: unknown key (known keys here: host, port, tls)"),
        ConfigErrorCase(
            label: "non-string key", yaml: "1: x\n",
            message:
                "1: unknown key (known keys here: admin, admission, auth, backends, discovery, limits, listen, log_level, outlier, queue, retries, routing, shutdown, telemetry, upstream)"
        ),
        // Wrong shapes
        ConfigErrorCase(
            label: "scalar where a mapping is expected", yaml: "listen: 8000\n",
            message: "listen: must be a mapping of keys to values"),
        ConfigErrorCase(
            label: "list where a mapping is expected", yaml: "limits:\n  - 1\n",
            message: "limits: must be a mapping of keys to values"),
        ConfigErrorCase(
            label: "mapping where a scalar is expected", yaml: "listen:\n  port:\n    value: 1\n",
            message: "listen.port: must be a single value"),
        ConfigErrorCase(
            label: "list where a scalar is expected", yaml: "log_level: [debug]\n",
            message: "log_level: must be a single value"),
        ConfigErrorCase(
            label: "mapping as a url", yaml: "backends:\n  - url: {host: a}\n",
            message: "backends[0].url: must be a single value"),
        ConfigErrorCase(
            label: "scalar where a list is expected", yaml: "backends: http://a:1\n",
            message: "backends: must be a list"),
        ConfigErrorCase(
            label: "mapping where a list is expected", yaml: "backends:\n  url: http://a:1\n",
            message: "backends: must be a list"),
        ConfigErrorCase(
            label: "scalar list entry", yaml: "backends:\n  - http://a:1\n",
            message: "backends[0]: must be a mapping of keys to values"),
        ConfigErrorCase(
            label: "second list entry is a scalar", yaml: "backends:\n  - url: http://a:1\n  - http://b:1\n",
            message: "backends[1]: must be a mapping of keys to values"),
        // Backends
        ConfigErrorCase(
            label: "missing url", yaml: "backends:\n  - name: a\n", message: "backends[0].url: is required"),
        ConfigErrorCase(
            label: "empty backend entry", yaml: "backends:\n  - {}\n", message: "backends[0].url: is required"),
        ConfigErrorCase(
            label: "ftp url", yaml: "backends:\n  - url: http://a:1\n  - url: ftp://b:443\n",
            message: "backends[1].url: must look like http://host:port[/prefix] or https://…, got \"ftp://b:443\""),
        ConfigErrorCase(
            label: "bad port in url", yaml: "backends:\n  - url: http://a:0\n",
            message: "backends[0].url: port must be 1-65535, got 0"),
        ConfigErrorCase(
            label: "not a url", yaml: "backends:\n  - url: localhost:8000\n",
            message: "backends[0].url: must look like http://host:port[/prefix] or https://…, got \"localhost:8000\""),
        ConfigErrorCase(
            label: "query in url", yaml: "backends:\n  - url: \"http://a:1/?x=1\"\n",
            message: "backends[0].url: must not have a query or fragment, got \"http://a:1/?x=1\""),
        ConfigErrorCase(
            label: "empty quoted name", yaml: "backends:\n  - name: \"\"\n    url: http://a\n",
            message: "backends[0].name: must not be empty"),
        ConfigErrorCase(
            label: "empty quoted url", yaml: "backends:\n  - url: ''\n", message: "backends[0].url: must not be empty"),
        // Listen
        ConfigErrorCase(
            label: "port too large", yaml: "listen:\n  port: 70000\n",
            message: "listen.port: must be between 0 and 65535, got 70000"),
        ConfigErrorCase(
            label: "negative port", yaml: "listen:\n  port: -1\n",
            message: "listen.port: must be between 0 and 65535, got -1"),
        ConfigErrorCase(
            label: "non-numeric port", yaml: "listen:\n  port: http\n",
            message: "listen.port: must be a whole number, got \"http\""),
        ConfigErrorCase(
            label: "fractional port", yaml: "listen:\n  port: 80.5\n",
            message: "listen.port: must be a whole number, got \"80.5\""),
        ConfigErrorCase(
            label: "empty host", yaml: "listen:\n  host: \"\"\n", message: "listen.host: must not be empty"),
        // Limits / durations / sizes
        ConfigErrorCase(
            label: "bad duration", yaml: "limits:\n  idle_timeout: forever\n",
            message: "limits.idle_timeout: must be a duration such as 500ms, 2s or 1m, got \"forever\""),
        ConfigErrorCase(
            label: "negative duration", yaml: "limits:\n  header_timeout: -1s\n",
            message: "limits.header_timeout: must be a duration such as 500ms, 2s or 1m, got \"-1s\""),
        ConfigErrorCase(
            label: "duration with unknown unit", yaml: "discovery:\n  probe_timeout: 2d\n",
            message: "discovery.probe_timeout: must be a duration such as 500ms, 2s or 1m, got \"2d\""),
        ConfigErrorCase(
            label: "bad upstream duration", yaml: "upstream:\n  connect_timeout: soon\n",
            message: "upstream.connect_timeout: must be a duration such as 500ms, 2s or 1m, got \"soon\""),
        ConfigErrorCase(
            label: "bad grace period", yaml: "shutdown:\n  grace_period: 1 minute\n",
            message: "shutdown.grace_period: must be a duration such as 500ms, 2s or 1m, got \"1 minute\""),
        ConfigErrorCase(
            label: "bad size", yaml: "limits:\n  max_body_bytes: lots\n",
            message: "limits.max_body_bytes: must be a size such as 65536, 64KiB or 64MiB, got \"lots\""),
        ConfigErrorCase(
            label: "negative size", yaml: "limits:\n  max_header_bytes: -1\n",
            message: "limits.max_header_bytes: must be a size such as 65536, 64KiB or 64MiB, got \"-1\""),
        ConfigErrorCase(
            label: "lowercase size unit", yaml: "limits:\n  max_body_bytes: 64mb\n",
            message: "limits.max_body_bytes: must be a size such as 65536, 64KiB or 64MiB, got \"64mb\""),
        ConfigErrorCase(
            label: "max_idle_per_backend out of range", yaml: "upstream:\n  max_idle_per_backend: 100001\n",
            message: "upstream.max_idle_per_backend: must be between 0 and 100000, got 100001"),
        // log_level
        ConfigErrorCase(
            label: "unknown log level", yaml: "log_level: loud\n",
            message: "log_level: must be one of trace, debug, info, notice, warning, error, critical, got \"loud\""),
        ConfigErrorCase(
            label: "log level is case-sensitive", yaml: "log_level: DEBUG\n",
            message: "log_level: must be one of trace, debug, info, notice, warning, error, critical, got \"DEBUG\""),
    ]

    @Test(arguments: errors)
    func rejects(_ c: ConfigErrorCase) {
        #expect(throws: ConfigError(c.message)) { _ = try load(c.yaml) }
    }

    @Test(
        "invalid YAML is reported as such",
        arguments: [
            "listen: [unclosed\n", "listen:\n  port: 1\n   host: x\n", "a: b: c\n", "key: \"unterminated\n",
            "listen:\n\t- tab\n", "*alias\n", "a: 1\n--- \nb: 2\n- c\n",
        ])
    func invalidYAML(yaml: String) {
        #expect {
            _ = try load(yaml)
        } throws: { error in
            (error as? ConfigError)?.message.hasPrefix("the file is not valid YAML: ") == true
        }
    }

    @Test("a repeated key is an error, not silently resolved")
    func duplicateKeys() {
        #expect {
            _ = try load("listen:\n  port: 1\n  port: 2\n")
        } throws: { error in
            (error as? ConfigError)?.message.hasPrefix("the file is not valid YAML: ") == true
        }
    }

    @Test("a sign on a port is accepted; other integer spellings are not")
    func portSpellings() throws {
        #expect(try load("listen:\n  port: +80\n").listen.port == 80)
        #expect(try load("listen:\n  port: \"8080\"\n").listen.port == 8080)
        #expect(throws: ConfigError("listen.port: must be a whole number, got \"0x1F\"")) {
            _ = try load("listen:\n  port: 0x1F\n")
        }
        #expect(throws: ConfigError("listen.port: must be a whole number, got \"8_000\"")) {
            _ = try load("listen:\n  port: 8_000\n")
        }
    }

    // ConfigLoader's Fields.node(_:) means to treat YAML null as "absent" (it compares the
    // scalar's tag with Tag(.null)), but that comparison never matches for `~` or `null`:
    // only an empty plain value is treated as absent. Likewise a file holding only `---`,
    // `~` or `null` is an empty document but is rejected as "the file: must be a mapping".
    @Test(
        "YAML null means absent, like an empty value",
        arguments: [
            "---\n", "~\n", "null\n", "listen: ~\n", "listen: null\n", "log_level: null\n", "log_level: ~\n",
            "listen:\n  port: null\n", "limits:\n  idle_timeout: ~\n", "backends: ~\n",
        ])
    func yamlNullIsAbsent(yaml: String) throws {
        #expect(try load(yaml) == SwitchyardConfig())
    }

    @Test("a huge duration in the file is a config error, not a crash")
    func hugeDurationInFile() {
        #expect(throws: ConfigError.self) {
            _ = try ConfigLoader.load(yaml: "limits:\n  idle_timeout: 99999999999999999s\n")
        }
    }
}

@Suite("ConfigLoader: admission")
struct AdmissionConfigTests {
    @Test func everyAdmissionKeyIsRead() throws {
        let config = try ConfigLoader.load(
            yaml: "admission:\n  bytes_per_token: 3.5\n  remote_image_tokens: 1000\n  video_tokens: 9000\n"
                + "  margin: 0.1\n  allow_file_media: true\n")
        #expect(config.admission.bytesPerToken == 3.5)
        #expect(config.admission.remoteImageTokens == 1000)
        #expect(config.admission.videoTokens == 9000)
        #expect(config.admission.margin == 0.1)
        #expect(config.admission.allowFileMedia)
    }

    @Test(arguments: [
        ("admission:\n  margin: lots\n", "admission.margin: must be a number, got \"lots\""),
        ("admission:\n  allow_file_media: maybe\n", "admission.allow_file_media: must be true or false, got \"maybe\""),
        ("admission:\n  margins: 1\n", "admission.margins: unknown key"),
    ])
    func badValuesNameTheField(yaml: String, message: String) {
        #expect {
            _ = try ConfigLoader.load(yaml: yaml)
        } throws: { error in
            (error as? ConfigError)?.message.hasPrefix(message) == true
        }
    }
}

@Suite("ConfigLoader: the telemetry section")
struct TelemetryConfigTests {
    @Test("every key is read")
    func reads() throws {
        let config = try ConfigLoader.load(
            yaml: """
                telemetry:
                  enabled: false
                  metrics_path: /prom
                  stats_path: /live
                  usage_rewrite: false
                  access_log: /var/log/switchyard.jsonl
                  stats_slot: 5s
                  stats_retention: 30m
                  goodput: {ttft_ms: 2000, tpot_ms: 50}
                """)
        let telemetry = config.telemetry
        #expect(!telemetry.enabled && !telemetry.usageRewrite)
        #expect(telemetry.metricsPath == "/prom" && telemetry.statsPath == "/live")
        #expect(telemetry.accessLog == .file("/var/log/switchyard.jsonl"))
        #expect(telemetry.statsSlot == .seconds(5) && telemetry.statsRetention == .seconds(1800))
        #expect(telemetry.goodput == GoodputSLO(ttftMs: 2000, tpotMs: 50))
        #expect(try ConfigLoader.load(yaml: "telemetry: {access_log: off}").telemetry.accessLog == .off)
    }

    @Test(
        "mistakes are named",
        arguments: [
            ("telemetry: {metrics_path: metrics}", "telemetry.metrics_path: must be a path starting with /"),
            ("telemetry: {goodput: {ttft: 1}}", "telemetry.goodput.ttft: unknown key"),
            ("telemetry: {stats_window: 1s}", "telemetry.stats_window: unknown key"),
        ])
    func mistakes(yaml: String, message: String) {
        #expect {
            _ = try ConfigLoader.load(yaml: yaml)
        } throws: { error in
            (error as? ConfigError)?.message.hasPrefix(message) == true
        }
    }

    @Test(
        "validation",
        arguments: [
            ("telemetry: {stats_slot: 0s}", "telemetry.stats_slot"),
            ("telemetry: {stats_slot: 2h}", "telemetry.stats_slot"),
            ("telemetry: {stats_retention: 200h}", "telemetry.stats_retention"),
            ("telemetry: {metrics_path: /health}", "telemetry.metrics_path: /health is already an endpoint"),
            ("telemetry: {stats_path: /metrics}", "telemetry.stats_path: must differ"),
        ])
    func validation(yaml: String, message: String) throws {
        var config = try ConfigLoader.load(yaml: yaml)
        config.backends = [BackendConfig(name: "a", url: BackendURL(host: "127.0.0.1", port: 1))]
        #expect {
            try config.validate()
        } throws: { error in
            (error as? ConfigError)?.message.hasPrefix(message) == true
        }
    }
}
