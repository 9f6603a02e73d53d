/// Passive outlier detection: a backend whose exchanges keep failing is ejected for a while.
/// Failures are connection failures, resets, stalls, first-token timeouts and 5xx answers;
/// **4xx answers never count** (a client's bad requests say nothing of the backend).
public struct OutlierConfig: Sendable, Equatable {
    public var enabled = true
    /// Failures in a row that eject a backend.
    public var consecutiveFailures = 5
    /// The first ejection's length; each further one in a row doubles it, up to `maxEjection`.
    public var baseEjection: Duration = .seconds(5)
    public var maxEjection: Duration = .seconds(300)
    /// At most this share of the present backends is ejected at once (at least one may be), so
    /// a fleet-wide problem does not empty the fleet.
    public var maxEjectedPercent = 50
    public init() {}

    /// The length of ejection number `count` in a row (1-based).
    public func ejectionLength(_ count: Int) -> Duration {
        let doublings = min(max(count - 1, 0), 30)
        let length = baseEjection * (1 << doublings)
        return min(length, maxEjection)
    }
}

/// Retries before the client has received any byte of the response.
public struct RetryConfig: Sendable, Equatable {
    /// Attempts in all, the first included (1 turns retries off).
    public var maxAttempts = 3
    /// No retry starts later than this after the first dispatch.
    public var budget: Duration = .seconds(10)
    /// Backend answers that are retried elsewhere: 503 (vLLM's engine overloaded or its queue
    /// full) and 429 (vLLM's bounded waiting queue).
    public var statuses: Set<Int> = [429, 503]
    public init() {}
}

/// The operator API on its own listener.
public struct AdminConfig: Sendable, Equatable {
    public var host = "127.0.0.1"
    public var port = 9000
    /// The bearer token the API demands; the API does not start without one.
    public var token: String?
    public init() {}
}

/// Backends from DNS: every A/AAAA record of `name` is a replica at `port`.
public struct DNSDiscoveryConfig: Sendable, Equatable {
    public var name: String
    public var port: Int
    public var interval: Duration = .seconds(10)
    /// Settings every discovered backend gets (its name and URL come from the record).
    public var template: BackendConfig
    public init(name: String, port: Int) {
        self.name = name
        self.port = port
        self.template = BackendConfig(name: name, url: BackendURL(host: name, port: port))
    }
}

/// TLS material: a certificate chain and its private key, PEM files.
public struct TLSFiles: Sendable, Equatable {
    public var certificate: String
    public var key: String
    public init(certificate: String, key: String) {
        self.certificate = certificate
        self.key = key
    }
}

/// How Switchyard verifies `https://` backends.
public struct UpstreamTLSConfig: Sendable, Equatable {
    /// PEM bundle of trusted CAs; nil: the system's trust store.
    public var caFile: String?
    /// A client certificate for backends that demand one (mutual TLS).
    public var clientCertificate: TLSFiles?
    /// Off only for testing: the backend's certificate is not checked.
    public var verify = true
    public init() {}
}
