import Testing

@testable import SwitchyardCore

private let environment = [
    "BACKEND_B_KEY": "sk-b-from-env",
    "ADMIN_TOKEN": "0123456789abcdef0123",
    "BETA_KEY": "sk-beta-from-env",
    "EMPTY": "",
    "SHORT": "short",
]

private func load(_ yaml: String) throws(ConfigError) -> SwitchyardConfig {
    try ConfigLoader.load(yaml: yaml, environment: environment)
}

/// A file that sets one thing, and the message it must be refused with.
private struct LoadErrorCase: Sendable, CustomTestStringConvertible {
    var yaml: String
    var message: String
    var testDescription: String { message }
    init(_ yaml: String, _ message: String) {
        self.yaml = yaml
        self.message = message
    }
}

/// A change to a valid config, and the message `validate` must refuse it with (nil: valid).
private struct RuleCase: Sendable, CustomTestStringConvertible {
    var label: String
    var change: @Sendable (inout SwitchyardConfig) -> Void
    var message: String?
    var testDescription: String { label }
}

/// A config that passes validation, to break one rule at a time.
private func validConfig() -> SwitchyardConfig {
    var config = SwitchyardConfig()
    config.backends = [BackendConfig(name: "a", url: BackendURL(host: "10.0.0.1", port: 8000))]
    return config
}

@Suite("ConfigLoader: reliability and security keys")
struct ConfigReliabilityTests {
    @Test("the defaults of the new sections")
    func defaults() {
        let config = SwitchyardConfig()
        #expect(config.listen.tls == nil)
        #expect(config.limits.maxConnectionsPerIP == 0)
        #expect(config.upstream.firstTokenTimeout == .zero)
        #expect(config.upstream.tls == UpstreamTLSConfig())
        #expect(config.upstream.tls.verify && config.upstream.tls.caFile == nil)
        #expect(config.upstream.tls.clientCertificate == nil)
        #expect(config.discovery.thresholds == HealthThresholds(unhealthy: 3, healthy: 1))
        #expect(config.discovery.dns == nil)
        #expect(config.admission.mediaDomains.isEmpty)
        #expect(config.outlier == OutlierConfig())
        #expect(config.retries.maxAttempts == 3 && config.retries.budget == .seconds(10))
        #expect(config.retries.statuses == [429, 503])
        #expect(config.admin.host == "127.0.0.1" && config.admin.port == 9000 && config.admin.token == nil)
        #expect(config.auth.keys.isEmpty && !config.auth.enabled)
        #expect(SwitchyardConfig().admission.profileCosts.mediaDomains.isEmpty)
    }

    @Test("every new key is read")
    func fullFile() throws {
        let yaml = """
            listen:
              tls: {certificate: /etc/sy/cert.pem, key: /etc/sy/key.pem}
            backends:
              - name: a
                url: https://vllm-a.example:8443
                api_key: sk-backend-a
              - name: b
                url: http://10.0.0.2:8000
                api_key_env: BACKEND_B_KEY
            limits:
              max_connections_per_ip: 64
            upstream:
              first_token_timeout: 20s
              tls:
                ca_file: /etc/sy/ca.pem
                certificate: /etc/sy/client.pem
                key: /etc/sy/client.key
                verify: false
            discovery:
              unhealthy_threshold: 5
              healthy_threshold: 2
              dns: vllm.default.svc.cluster.local:8000
              dns_interval: 15s
              dns_max_concurrent: 128
            admission:
              media_domains: [images.example.com, "*.cdn.example.net"]
            outlier:
              enabled: false
              consecutive_failures: 7
              base_ejection: 2s
              max_ejection: 1m
              max_ejected_percent: 30
            retries:
              max_attempts: 2
              budget: 5s
              statuses: [502, 503, 429, 503]
            admin:
              host: 0.0.0.0
              port: 9100
              token_env: ADMIN_TOKEN
            auth:
              keys:
                - key: sk-alpha-000001
                  tenant: alpha
                  max_concurrent: 4
                  requests_per_minute: 600
                  tokens_per_minute: 200000
                - key_env: BETA_KEY
                  tenant: beta
                - key_sha256: BA7816BF8F01CFEA414140DE5DAE2223B00361A396177A9CB410FF61F20015AD
                  tenant: gamma
            """
        var expected = SwitchyardConfig()
        expected.listen.tls = TLSFiles(certificate: "/etc/sy/cert.pem", key: "/etc/sy/key.pem")
        var a = BackendConfig(name: "a", url: try BackendURL(parsing: "https://vllm-a.example:8443"))
        a.apiKey = "sk-backend-a"
        var b = BackendConfig(name: "b", url: BackendURL(host: "10.0.0.2", port: 8000))
        b.apiKey = "sk-b-from-env"
        expected.backends = [a, b]
        expected.limits.maxConnectionsPerIP = 64
        expected.upstream.firstTokenTimeout = .seconds(20)
        expected.upstream.tls.caFile = "/etc/sy/ca.pem"
        expected.upstream.tls.clientCertificate = TLSFiles(certificate: "/etc/sy/client.pem", key: "/etc/sy/client.key")
        expected.upstream.tls.verify = false
        expected.discovery.thresholds = HealthThresholds(unhealthy: 5, healthy: 2)
        var dns = DNSDiscoveryConfig(name: "vllm.default.svc.cluster.local", port: 8000)
        dns.interval = .seconds(15)
        dns.template.maxConcurrent = 128
        expected.discovery.dns = dns
        expected.admission.mediaDomains = ["images.example.com", "*.cdn.example.net"]
        expected.outlier.enabled = false
        expected.outlier.consecutiveFailures = 7
        expected.outlier.baseEjection = .seconds(2)
        expected.outlier.maxEjection = .seconds(60)
        expected.outlier.maxEjectedPercent = 30
        expected.retries.maxAttempts = 2
        expected.retries.budget = .seconds(5)
        expected.retries.statuses = [429, 502, 503]
        expected.admin.host = "0.0.0.0"
        expected.admin.port = 9100
        expected.admin.token = "0123456789abcdef0123"
        expected.auth.keys = [
            APIKey(
                key: "sk-alpha-000001", tenant: "alpha",
                limits: TenantLimits(maxConcurrent: 4, requestsPerMinute: 600, tokensPerMinute: 200_000)),
            APIKey(key: "sk-beta-from-env", tenant: "beta"),
            APIKey(sha256: APIKey.hash("abc"), tenant: "gamma"),
        ]

        let config = try load(yaml)
        #expect(config == expected)
        try config.validate()
        // What the keys mean downstream.
        #expect(config.backends[0].url.usesTLS && config.backends[0].url.port == 8443)
        #expect(config.auth.tenant(presenting: "sk-beta-from-env")?.tenant == "beta")
        #expect(config.auth.tenant(presenting: "abc")?.tenant == "gamma")
        #expect(config.auth.tenant(presenting: "BETA_KEY") == nil)
        #expect(config.admission.profileCosts.mediaDomains == MediaDomains(config.admission.mediaDomains))
        #expect(Scheduler(config: config).table.thresholds == HealthThresholds(unhealthy: 5, healthy: 2))
    }

    @Test("upstream.tls: verify defaults to true; a CA alone needs no client certificate")
    func upstreamTLSPartial() throws {
        let config = try load("upstream:\n  tls:\n    ca_file: /ca.pem\n")
        #expect(config.upstream.tls.caFile == "/ca.pem")
        #expect(config.upstream.tls.verify && config.upstream.tls.clientCertificate == nil)
        #expect(try load("upstream:\n  tls: {}\n").upstream.tls == UpstreamTLSConfig())
    }

    @Test("discovery.dns: the last colon splits the port; the other DNS keys keep their defaults")
    func dnsTarget() throws {
        let dns = try #require(try load("discovery:\n  dns: vllm-headless:8001\n").discovery.dns)
        #expect(dns.name == "vllm-headless" && dns.port == 8001)
        #expect(dns.interval == .seconds(10) && dns.template.maxConcurrent == 256)
        #expect(dns.template.url == BackendURL(host: "vllm-headless", port: 8001))
        // With no backends listed, DNS alone is enough.
        var config = try load("discovery:\n  dns: vllm-headless:8001\n")
        try config.validate()
        config.discovery.dns = nil
        #expect(throws: ConfigError.self) { try config.validate() }
    }

    @Test("retries.statuses accepts 429 and every 5xx, each once")
    func retryStatuses() throws {
        let config = try load("retries:\n  statuses: [500, 599, 429, \"504\", 599]\n")
        #expect(config.retries.statuses == [429, 500, 504, 599])
        #expect(try load("retries:\n  statuses: []\n").retries.statuses.isEmpty)
    }

    @Test("the integer ranges' edges are accepted")
    func rangeEdges() throws {
        let config = try load(
            """
            outlier: {consecutive_failures: 1, max_ejected_percent: 0}
            retries: {max_attempts: 10}
            discovery: {unhealthy_threshold: 1000, healthy_threshold: 1}
            limits: {max_connections_per_ip: 10000000}
            admin: {port: 0}
            auth:
              keys:
                - {key: "12345678", tenant: t, max_concurrent: 1000000, requests_per_minute: 100000000,
                   tokens_per_minute: 2147483647}
            """)
        #expect(config.outlier.consecutiveFailures == 1 && config.outlier.maxEjectedPercent == 0)
        #expect(config.retries.maxAttempts == 10)
        #expect(config.discovery.thresholds == HealthThresholds(unhealthy: 1000, healthy: 1))
        #expect(config.limits.maxConnectionsPerIP == 10_000_000)
        #expect(config.admin.port == 0)
        #expect(
            config.auth.keys.first?.limits
                == TenantLimits(
                    maxConcurrent: 1_000_000, requestsPerMinute: 100_000_000, tokensPerMinute: 2_147_483_647))
    }

    @Test("secrets from the environment: the value is used, the variable's name never is")
    func environmentSecrets() throws {
        let config = try load(
            "backends:\n  - url: http://a:1\n    api_key_env: BACKEND_B_KEY\nadmin:\n  token_env: ADMIN_TOKEN\n")
        #expect(config.backends[0].apiKey == "sk-b-from-env")
        #expect(config.admin.token == "0123456789abcdef0123")
        // Without an environment, the variables are not set.
        #expect(throws: ConfigError("admin.token_env: the environment variable ADMIN_TOKEN is not set")) {
            _ = try ConfigLoader.load(yaml: "admin:\n  token_env: ADMIN_TOKEN\n")
        }
    }

    @Test("without an admin section there is no token; an admin section without one has none either")
    func adminWithoutToken() throws {
        #expect(try load("").admin.token == nil)
        let config = try load("admin:\n  port: 9001\n")
        #expect(config.admin.token == nil && config.admin.port == 9001)
    }

    fileprivate static let errors: [LoadErrorCase] = [
        // listen.tls
        LoadErrorCase("listen:\n  tls:\n    certificate: /c.pem\n", "listen.tls.key: is required"),
        LoadErrorCase("listen:\n  tls:\n    key: /k.pem\n", "listen.tls.certificate: is required"),
        LoadErrorCase("listen:\n  tls: {}\n", "listen.tls.certificate: is required"),
        LoadErrorCase(
            "listen:\n  tls:\n    cert: /c.pem\n", "listen.tls.cert: unknown key (known keys here: certificate, client_ca, key)"),
        LoadErrorCase("listen:\n  tls: /c.pem\n", "listen.tls: must be a mapping of keys to values"),
        LoadErrorCase(
            "listen:\n  tls:\n    certificate: \"\"\n    key: /k\n", "listen.tls.certificate: must not be empty"),
        // backends[].api_key
        LoadErrorCase(
            "backends:\n  - url: http://a\n    api_key_env: NOPE\n",
            "backends[0].api_key_env: the environment variable NOPE is not set"),
        LoadErrorCase(
            "backends:\n  - url: http://a\n  - url: http://b\n    api_key_env: EMPTY\n",
            "backends[1].api_key_env: the environment variable EMPTY is not set"),
        LoadErrorCase("backends:\n  - url: http://a\n    api_key: \"\"\n", "backends[0].api_key: must not be empty"),
        LoadErrorCase(
            "backends:\n  - url: http://a\n    api_key: [a, b]\n", "backends[0].api_key: must be a single value"),
        // limits and upstream
        LoadErrorCase(
            "limits:\n  max_connections_per_ip: -1\n",
            "limits.max_connections_per_ip: must be between 0 and 10000000, got -1"),
        LoadErrorCase(
            "limits:\n  max_connections_per_ip: lots\n",
            "limits.max_connections_per_ip: must be a whole number, got \"lots\""),
        LoadErrorCase(
            "upstream:\n  first_token_timeout: soon\n",
            "upstream.first_token_timeout: must be a duration such as 500ms, 2s or 1m, got \"soon\""),
        LoadErrorCase(
            "upstream:\n  first_token_timeout: -5s\n",
            "upstream.first_token_timeout: must be a duration such as 500ms, 2s or 1m, got \"-5s\""),
        LoadErrorCase("upstream:\n  tls:\n    certificate: /c.pem\n", "upstream.tls.key: is required"),
        LoadErrorCase("upstream:\n  tls:\n    key: /k.pem\n", "upstream.tls.certificate: is required"),
        LoadErrorCase(
            "upstream:\n  tls:\n    verify: sometimes\n",
            "upstream.tls.verify: must be true or false, got \"sometimes\""),
        LoadErrorCase(
            "upstream:\n  tls:\n    insecure: true\n",
            "upstream.tls.insecure: unknown key (known keys here: ca_file, certificate, key, verify)"),
        LoadErrorCase("upstream:\n  tls: [a]\n", "upstream.tls: must be a mapping of keys to values"),
        // discovery
        LoadErrorCase(
            "discovery:\n  unhealthy_threshold: 0\n", "discovery.unhealthy_threshold: must be between 1 and 1000, got 0"
        ),
        LoadErrorCase(
            "discovery:\n  healthy_threshold: 1001\n",
            "discovery.healthy_threshold: must be between 1 and 1000, got 1001"),
        LoadErrorCase(
            "discovery:\n  healthy_threshold: 1.5\n", "discovery.healthy_threshold: must be a whole number, got \"1.5\""
        ),
        LoadErrorCase("discovery:\n  dns: vllm\n", "discovery.dns: must look like name:port, got \"vllm\""),
        LoadErrorCase("discovery:\n  dns: \":8000\"\n", "discovery.dns: must look like name:port, got \":8000\""),
        LoadErrorCase("discovery:\n  dns: \"vllm:\"\n", "discovery.dns: must look like name:port, got \"vllm:\""),
        LoadErrorCase("discovery:\n  dns: vllm:0\n", "discovery.dns: must look like name:port, got \"vllm:0\""),
        LoadErrorCase("discovery:\n  dns: vllm:65536\n", "discovery.dns: must look like name:port, got \"vllm:65536\""),
        LoadErrorCase("discovery:\n  dns: vllm:http\n", "discovery.dns: must look like name:port, got \"vllm:http\""),
        LoadErrorCase(
            "discovery:\n  dns: vllm:80\n  dns_interval: often\n",
            "discovery.dns_interval: must be a duration such as 500ms, 2s or 1m, got \"often\""),
        LoadErrorCase(
            "discovery:\n  dns: vllm:80\n  dns_max_concurrent: 0\n",
            "discovery.dns_max_concurrent: must be between 1 and 1000000, got 0"),
        // A bad value is reported even when it would not be used (no `dns`).
        LoadErrorCase(
            "discovery:\n  dns_interval: often\n",
            "discovery.dns_interval: must be a duration such as 500ms, 2s or 1m, got \"often\""),
        LoadErrorCase(
            "discovery:\n  dns_max_concurrent: 0\n",
            "discovery.dns_max_concurrent: must be between 1 and 1000000, got 0"),
        // admission.media_domains
        LoadErrorCase("admission:\n  media_domains: images.example.com\n", "admission.media_domains: must be a list"),
        LoadErrorCase("admission:\n  media_domains: [\"\"]\n", "admission.media_domains[0]: must be a single value"),
        LoadErrorCase(
            "admission:\n  media_domains: [a.com, [b.com]]\n", "admission.media_domains[1]: must be a single value"),
        LoadErrorCase(
            "admission:\n  media_domains: [a.com, {host: b.com}]\n",
            "admission.media_domains[1]: must be a single value"),
        // outlier
        LoadErrorCase(
            "outlier:\n  failures: 3\n",
            "outlier.failures: unknown key (known keys here: base_ejection, consecutive_failures, enabled, max_ejected_percent, max_ejection)"
        ),
        LoadErrorCase(
            "outlier:\n  consecutive_failures: 0\n",
            "outlier.consecutive_failures: must be between 1 and 1000000, got 0"),
        LoadErrorCase(
            "outlier:\n  max_ejected_percent: 101\n", "outlier.max_ejected_percent: must be between 0 and 100, got 101"),
        LoadErrorCase(
            "outlier:\n  max_ejected_percent: -1\n", "outlier.max_ejected_percent: must be between 0 and 100, got -1"),
        LoadErrorCase(
            "outlier:\n  base_ejection: a while\n",
            "outlier.base_ejection: must be a duration such as 500ms, 2s or 1m, got \"a while\""),
        LoadErrorCase(
            "outlier:\n  max_ejection: 2d\n",
            "outlier.max_ejection: must be a duration such as 500ms, 2s or 1m, got \"2d\""),
        LoadErrorCase("outlier:\n  enabled: maybe\n", "outlier.enabled: must be true or false, got \"maybe\""),
        LoadErrorCase("outlier: true\n", "outlier: must be a mapping of keys to values"),
        // retries
        LoadErrorCase("retries:\n  max_attempts: 0\n", "retries.max_attempts: must be between 1 and 10, got 0"),
        LoadErrorCase("retries:\n  max_attempts: 11\n", "retries.max_attempts: must be between 1 and 10, got 11"),
        LoadErrorCase(
            "retries:\n  budget: -1s\n", "retries.budget: must be a duration such as 500ms, 2s or 1m, got \"-1s\""),
        LoadErrorCase("retries:\n  statuses: [404]\n", "retries.statuses: must be 429 or 5xx codes, got \"404\""),
        LoadErrorCase("retries:\n  statuses: [503, 600]\n", "retries.statuses: must be 429 or 5xx codes, got \"600\""),
        LoadErrorCase("retries:\n  statuses: [5xx]\n", "retries.statuses: must be 429 or 5xx codes, got \"5xx\""),
        LoadErrorCase("retries:\n  statuses: 503\n", "retries.statuses: must be a list"),
        LoadErrorCase(
            "retries:\n  attempts: 2\n",
            "retries.attempts: unknown key (known keys here: budget, max_attempts, statuses)"),
        // admin
        LoadErrorCase("admin:\n  token: short\n", "admin.token: must be at least 16 characters"),
        LoadErrorCase("admin:\n  token: \"123456789012345\"\n", "admin.token: must be at least 16 characters"),
        LoadErrorCase("admin:\n  token_env: SHORT\n", "admin.token: must be at least 16 characters"),
        LoadErrorCase("admin:\n  token_env: NOPE\n", "admin.token_env: the environment variable NOPE is not set"),
        LoadErrorCase("admin:\n  token_env: EMPTY\n", "admin.token_env: the environment variable EMPTY is not set"),
        LoadErrorCase("admin:\n  port: 65536\n", "admin.port: must be between 0 and 65535, got 65536"),
        LoadErrorCase("admin:\n  host: \"\"\n", "admin.host: must not be empty"),
        LoadErrorCase(
            "admin:\n  bearer: x\n", "admin.bearer: unknown key (known keys here: host, port, token, token_env)"),
        // auth
        LoadErrorCase("auth:\n  key: x\n", "auth.key: unknown key (known keys here: keys)"),
        LoadErrorCase("auth:\n  keys: sk-12345678\n", "auth.keys: must be a list"),
        LoadErrorCase("auth:\n  keys:\n    - sk-12345678\n", "auth.keys[0]: must be a mapping of keys to values"),
        LoadErrorCase("auth:\n  keys:\n    - key: sk-12345678\n", "auth.keys[0].tenant: is required"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key: sk-12345678, tenant: a}\n    - tenant: b\n",
            "auth.keys[1]: needs key, key_env or key_sha256"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key: sk-1234, tenant: a}\n", "auth.keys[0].key: must be at least 8 characters"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key_env: SHORT, tenant: a}\n", "auth.keys[0].key: must be at least 8 characters"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key_env: NOPE, tenant: a}\n",
            "auth.keys[0].key_env: the environment variable NOPE is not set"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key_sha256: abc, tenant: a}\n",
            "auth.keys[0].key_sha256: must be 64 hex digits (sha256sum's output)"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key_sha256: \"\(String(repeating: "z", count: 64))\", tenant: a}\n",
            "auth.keys[0].key_sha256: must be 64 hex digits (sha256sum's output)"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key: sk-12345678, tenant: a, max_concurrent: 0}\n",
            "auth.keys[0].max_concurrent: must be between 1 and 1000000, got 0"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key: sk-12345678, tenant: a, requests_per_minute: 0}\n",
            "auth.keys[0].requests_per_minute: must be between 1 and 100000000, got 0"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key: sk-12345678, tenant: a, tokens_per_minute: 2147483648}\n",
            "auth.keys[0].tokens_per_minute: must be between 1 and 2147483647, got 2147483648"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key: sk-12345678, tenant: \"\"}\n", "auth.keys[0].tenant: must not be empty"),
        LoadErrorCase(
            "auth:\n  keys:\n    - {key: sk-12345678, tenant: a, limit: 1}\n",
            "auth.keys[0].limit: unknown key (known keys here: key, key_env, key_sha256, max_concurrent, requests_per_minute, tenant, tokens_per_minute)"
        ),
    ]

    @Test(arguments: errors)
    private func rejects(_ c: LoadErrorCase) {
        #expect(throws: ConfigError(c.message)) { _ = try load(c.yaml) }
    }
}

@Suite("SwitchyardConfig.validate: reliability rules")
struct ReliabilityValidationTests {
    fileprivate static let rules: [RuleCase] = [
        RuleCase(label: "baseline", change: { _ in }, message: nil),
        RuleCase(
            label: "zero base ejection", change: { $0.outlier.baseEjection = .zero },
            message: "outlier.base_ejection: must be greater than zero"),
        RuleCase(
            label: "zero max ejection", change: { $0.outlier.maxEjection = .zero },
            message: "outlier.max_ejection: must be greater than zero"),
        RuleCase(
            label: "max below base",
            change: {
                $0.outlier.baseEjection = .seconds(10)
                $0.outlier.maxEjection = .seconds(9)
            }, message: "outlier.max_ejection: must be at least outlier.base_ejection"),
        RuleCase(
            label: "max equal to base",
            change: {
                $0.outlier.baseEjection = .seconds(10)
                $0.outlier.maxEjection = .seconds(10)
            }, message: nil),
        RuleCase(
            label: "zero retry budget", change: { $0.retries.budget = .zero },
            message: "retries.budget: must be greater than zero"),
        RuleCase(
            label: "negative first-token timeout", change: { $0.upstream.firstTokenTimeout = .milliseconds(-1) },
            message: "upstream.first_token_timeout: must not be negative (0 turns it off)"),
        RuleCase(label: "first-token timeout off", change: { $0.upstream.firstTokenTimeout = .zero }, message: nil),
        RuleCase(
            label: "zero DNS interval",
            change: {
                var dns = DNSDiscoveryConfig(name: "vllm", port: 80)
                dns.interval = .zero
                $0.discovery.dns = dns
            }, message: "discovery.dns_interval: must be greater than zero"),
        RuleCase(
            label: "DNS name with a space",
            change: { $0.discovery.dns = DNSDiscoveryConfig(name: "bad name", port: 80) },
            message: "discovery.dns: \"bad name\" is not a host name"),
        RuleCase(
            label: "DNS name with a scheme",
            change: { $0.discovery.dns = DNSDiscoveryConfig(name: "http://vllm", port: 80) },
            message: "discovery.dns: \"http://vllm\" is not a host name"),
        RuleCase(
            label: "DNS only, no backends",
            change: {
                $0.backends = []
                $0.discovery.dns = DNSDiscoveryConfig(name: "vllm-headless.default.svc", port: 8000)
            }, message: nil),
        RuleCase(
            label: "admin on the client port",
            change: {
                $0.admin.token = String(repeating: "t", count: 16)
                $0.admin.port = 8000
            }, message: "admin.port: 8000 is the client listener's port; the admin API needs its own"),
        RuleCase(
            label: "admin on the client port without a token (the API does not start)",
            change: { $0.admin.port = 8000 }, message: nil),
        RuleCase(
            label: "admin on the client port number but another host",
            change: {
                $0.admin.token = String(repeating: "t", count: 16)
                $0.admin.port = 8000
                $0.admin.host = "10.0.0.9"
            }, message: nil),
        RuleCase(
            label: "admin and client both on ephemeral ports",
            change: {
                $0.admin.token = String(repeating: "t", count: 16)
                $0.admin.port = 0
                $0.listen.port = 0
            }, message: nil),
        RuleCase(
            label: "valid media domains",
            change: { $0.admission.mediaDomains = ["example.com", "*.example.com", "10.0.0.7", "A-b.Example.COM"] },
            message: nil),
        RuleCase(
            label: "media domain wildcard alone", change: { $0.admission.mediaDomains = ["example.com", "*"] },
            message: "admission.media_domains[1]: must be a host name or *.domain, got \"*\""),
        RuleCase(
            label: "media domain empty wildcard", change: { $0.admission.mediaDomains = ["*."] },
            message: "admission.media_domains[0]: must be a host name or *.domain, got \"*.\""),
        RuleCase(
            label: "media domain empty", change: { $0.admission.mediaDomains = [""] },
            message: "admission.media_domains[0]: must be a host name or *.domain, got \"\""),
        RuleCase(
            label: "media domain with a scheme", change: { $0.admission.mediaDomains = ["https://example.com"] },
            message: "admission.media_domains[0]: must be a host name or *.domain, got \"https://example.com\""),
        RuleCase(
            label: "media domain with a path", change: { $0.admission.mediaDomains = ["example.com/images"] },
            message: "admission.media_domains[0]: must be a host name or *.domain, got \"example.com/images\""),
        RuleCase(
            label: "media domain with a port", change: { $0.admission.mediaDomains = ["example.com:443"] },
            message: "admission.media_domains[0]: must be a host name or *.domain, got \"example.com:443\""),
        RuleCase(
            label: "media domain double wildcard", change: { $0.admission.mediaDomains = ["*.*.example.com"] },
            message: "admission.media_domains[0]: must be a host name or *.domain, got \"*.*.example.com\""),
        RuleCase(
            label: "media domain inner wildcard", change: { $0.admission.mediaDomains = ["img.*.example.com"] },
            message: "admission.media_domains[0]: must be a host name or *.domain, got \"img.*.example.com\""),
        RuleCase(
            label: "media domain non-ASCII", change: { $0.admission.mediaDomains = ["exämple.com"] },
            message: "admission.media_domains[0]: must be a host name or *.domain, got \"exämple.com\""),
        RuleCase(
            label: "media domain with user info", change: { $0.admission.mediaDomains = ["user@example.com"] },
            message: "admission.media_domains[0]: must be a host name or *.domain, got \"user@example.com\""),
        RuleCase(
            label: "a tenant's limits given twice, the same",
            change: {
                let limits = TenantLimits(maxConcurrent: 2)
                $0.auth.keys = [
                    APIKey(key: "sk-12345678", tenant: "a", limits: limits),
                    APIKey(key: "sk-87654321", tenant: "a", limits: limits),
                ]
            }, message: nil),
        RuleCase(
            label: "a tenant's limits given twice, differently",
            change: {
                $0.auth.keys = [
                    APIKey(key: "sk-00000000", tenant: "b"),
                    APIKey(key: "sk-12345678", tenant: "a", limits: TenantLimits(maxConcurrent: 2)),
                    APIKey(key: "sk-87654321", tenant: "a", limits: TenantLimits(maxConcurrent: 3)),
                ]
            },
            message:
                "auth.keys[2]: tenant `a` has other limits on an earlier key; a tenant's limits are shared by its "
                + "keys, so give them once"),
        RuleCase(
            label: "a tenant with limits, then without",
            change: {
                $0.auth.keys = [
                    APIKey(key: "sk-12345678", tenant: "a", limits: TenantLimits(requestsPerMinute: 60)),
                    APIKey(key: "sk-87654321", tenant: "a"),
                ]
            },
            message:
                "auth.keys[1]: tenant `a` has other limits on an earlier key; a tenant's limits are shared by its "
                + "keys, so give them once"),
    ]

    @Test(arguments: rules)
    private func rule(_ c: RuleCase) {
        var config = validConfig()
        c.change(&config)
        if let message = c.message {
            #expect(throws: ConfigError(message)) { try config.validate() }
        } else {
            #expect(throws: Never.self) { try config.validate() }
        }
    }

    @Test("the rules apply to a loaded file")
    func fromFile() throws {
        let base = "backends:\n  - url: http://a:1\n"
        #expect(throws: ConfigError("outlier.base_ejection: must be greater than zero")) {
            try ConfigLoader.load(yaml: base + "outlier:\n  base_ejection: 0s\n").validate()
        }
        #expect(throws: ConfigError("outlier.max_ejection: must be at least outlier.base_ejection")) {
            try ConfigLoader.load(yaml: base + "outlier:\n  base_ejection: 10m\n").validate()
        }
        #expect(throws: ConfigError("discovery.dns: \"bad_host!\" is not a host name")) {
            try ConfigLoader.load(yaml: base + "discovery:\n  dns: \"bad_host!:80\"\n").validate()
        }
        #expect(throws: ConfigError("admission.media_domains[0]: must be a host name or *.domain, got \"*\"")) {
            try ConfigLoader.load(yaml: base + "admission:\n  media_domains: [\"*\"]\n").validate()
        }
        #expect(
            throws: ConfigError(
                "auth.keys[1]: tenant `a` has other limits on an earlier key; a tenant's limits are shared by its "
                    + "keys, so give them once")
        ) {
            try ConfigLoader.load(
                yaml: base
                    + "auth:\n  keys:\n    - {key: sk-12345678, tenant: a, max_concurrent: 1}\n"
                    + "    - {key: sk-87654321, tenant: a}\n"
            ).validate()
        }
    }
}
