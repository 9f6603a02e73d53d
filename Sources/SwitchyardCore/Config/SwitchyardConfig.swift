/// The effective configuration of one Switchyard process: built from defaults, then the YAML
/// file, then command-line overrides, then validated. Field names mirror the YAML keys.
public struct SwitchyardConfig: Sendable, Equatable {
    public var listen = ListenConfig()
    public var backends: [BackendConfig] = []
    public var limits = LimitsConfig()
    public var upstream = UpstreamConfig()
    public var discovery = DiscoveryConfig()
    public var shutdown = ShutdownConfig()
    public var admission = AdmissionConfig()
    public var routing = RoutingConfig()
    public var queue = QueueConfig()
    public var telemetry = TelemetryConfig()
    public var outlier = OutlierConfig()
    public var retries = RetryConfig()
    public var admin = AdminConfig()
    public var auth = AuthConfig()
    public var logLevel: LogLevel = .info

    public init() {}
}

public struct ListenConfig: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 8000
    /// Serve HTTPS (TLS 1.2 and 1.3, ALPN http/1.1) with these files.
    public var tls: TLSFiles?
    /// With `tls`: clients must present a certificate signed by a CA in this PEM bundle (mTLS).
    public var tlsClientCA: String?
    public init() {}
}

public struct BackendConfig: Sendable, Equatable {
    public var name: String
    public var url: BackendURL
    /// Most requests in flight at once; more wait in Switchyard's queue. vLLM's default
    /// `--max-num-seqs` is 256: beyond it requests would only wait inside vLLM, bound early.
    public var maxConcurrent = 256
    /// Most tokens (prompt + output budget) in flight at once; nil: no token limit. A single
    /// request larger than this still runs when the backend is otherwise idle.
    public var maxInFlightTokens: Int?
    /// The backend runs vLLM with `--scheduling-policy priority`: a request's `priority` is
    /// forwarded. Otherwise it is removed (vLLM releases that enforce it answer 400 to it).
    public var priorityScheduling = false
    /// Sent to the backend as `Authorization: Bearer …` (vLLM's `--api-key`). The client's own
    /// `Authorization` is never forwarded.
    public var apiKey: String?

    public init(name: String, url: BackendURL, maxConcurrent: Int = 256, maxInFlightTokens: Int? = nil) {
        self.name = name
        self.url = url
        self.maxConcurrent = maxConcurrent
        self.maxInFlightTokens = maxInFlightTokens
    }
}

/// Limits on what a client may send, and how long it may take to send it.
public struct LimitsConfig: Sendable, Equatable {
    /// Request line + headers, in bytes (431 above). NIO's parser caps this at 80 KiB.
    public var maxHeaderBytes = 64 * 1024
    /// Request body, in bytes (413 above). Base64 images make bodies large: 64 MiB by default.
    public var maxBodyBytes = 64 * 1024 * 1024
    /// From a request's first byte to the end of its head (408 after).
    public var headerTimeout: Duration = .seconds(10)
    /// Longest silence while a request body is arriving (408 after).
    public var bodyTimeout: Duration = .seconds(60)
    /// A keep-alive client connection with no request in progress is closed after this.
    public var idleTimeout: Duration = .seconds(60)
    /// Open client connections per IP address (0: no cap). Above it, 429 and close.
    public var maxConnectionsPerIP = 0
    public init() {}
}

/// How Switchyard talks to backends.
public struct UpstreamConfig: Sendable, Equatable {
    public var connectTimeout: Duration = .seconds(2)
    /// Idle pooled connections are closed after this; keep it below vLLM's 5 s keep-alive.
    public var poolIdleTimeout: Duration = .seconds(4)
    /// Idle connections kept per backend on each event loop.
    public var maxIdlePerBackend = 64
    /// A stream from which nothing has arrived for this long (its first token included) is
    /// treated as a failed backend: the client gets an error event and [DONE]. Zero disables.
    public var streamIdleTimeout: Duration = .seconds(60)
    /// A request with no response byte this long after dispatch is cancelled there and sent
    /// once to another backend (zero disables). Its response head is held back until then.
    public var firstTokenTimeout: Duration = .zero
    /// Trust for `https://` backends.
    public var tls = UpstreamTLSConfig()
    public init() {}
}

/// Active checks of the backends: `/health` probes and `/v1/models` discovery.
public struct DiscoveryConfig: Sendable, Equatable {
    public var healthCheckInterval: Duration = .seconds(2)
    public var modelsRefreshInterval: Duration = .seconds(30)
    /// Timeout of one probe or model-list request.
    public var probeTimeout: Duration = .seconds(2)
    /// Probe results in a row that change a backend's health.
    public var thresholds = HealthThresholds()
    /// Backends from DNS records, besides (or instead of) `backends`.
    public var dns: DNSDiscoveryConfig?
    public init() {}
}

/// How requests are costed and checked against the backends' context windows.
public struct AdmissionConfig: Sendable, Equatable {
    /// Text estimate: UTF-8 bytes per token (4 suits English; see the README for its error).
    public var bytesPerToken = 4.0
    /// Tokens assumed for an `http(s)` image (default: the most a GLM image can cost).
    public var remoteImageTokens = GLMImageCost().maxTokensPerImage
    /// Tokens assumed for a video part.
    public var videoTokens = 16_384
    /// A request whose estimate exceeds every backend's `max_model_len` by more than this
    /// fraction is refused; closer ones are forwarded and vLLM's exact count decides.
    public var margin = 0.05
    /// Accept `file://` media from clients (vLLM reads them from the GPU host's disk).
    public var allowFileMedia = false
    /// `reject` (400) or `clamp` (lower the output budget to fit) when the budget does not fit.
    public var mode = AdmissionMode.reject
    /// Output tokens reserved, for accounting, by a request that sets no budget.
    public var defaultOutputReservation = 1024
    /// Borderline requests (estimate within `margin` of the limit) are counted exactly with the
    /// backend's `/tokenize` before they are admitted.
    public var exactCheck = true
    /// Hosts `http(s)://` media may come from (`*.example.com` covers subdomains); empty: any.
    public var mediaDomains: [String] = []
    public init() {}

    public var profileCosts: ProfileCosts {
        ProfileCosts(
            remoteImageTokens: remoteImageTokens, videoTokens: videoTokens, utf8BytesPerToken: bytesPerToken,
            allowFileMedia: allowFileMedia, mediaDomains: mediaDomains)
    }
}

/// Per-request measurement and where it goes: Prometheus, `/stats`, the access log.
public struct TelemetryConfig: Sendable, Equatable {
    /// Off: no timelines, no usage rewrite, no access log; `/metrics` keeps only the gauges.
    public var enabled = true
    public var metricsPath = "/metrics"
    public var statsPath = "/stats"
    /// Ask for usage on streams that did not (`stream_options.include_usage`) and strip the usage
    /// event from what the client receives, so token counts are exact.
    public var usageRewrite = true
    public var accessLog = AccessLogTarget.stdout
    /// `/stats?window=` granularity and reach.
    public var statsSlot: Duration = .seconds(10)
    public var statsRetention: Duration = .seconds(3600)
    /// The SLOs `/stats` counts goodput against (vLLM's `--goodput ttft:MS tpot:MS e2el:MS`).
    public var goodput: GoodputSLO?
    public init() {}
}

public enum AccessLogTarget: Sendable, Equatable {
    case off
    case stdout
    case file(String)

    /// `off`, `stdout`, or a file path.
    public init(parsing text: String) {
        switch text {
        case "off": self = .off
        case "stdout", "-": self = .stdout
        default: self = .file(text)
        }
    }

    public var description: String {
        switch self {
        case .off: "off"
        case .stdout: "stdout"
        case .file(let path): path
        }
    }
}

public struct ShutdownConfig: Sendable, Equatable {
    /// After SIGTERM/SIGINT: how long in-flight requests may take to finish before they are cut.
    public var gracePeriod: Duration = .seconds(30)
    public init() {}
}

public enum LogLevel: String, Sendable, Equatable, CaseIterable {
    case trace, debug, info, notice, warning, error, critical
}
