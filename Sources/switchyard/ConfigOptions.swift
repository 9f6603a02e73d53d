import ArgumentParser
import Foundation
import SwitchyardCore

/// The flags shared by `serve` and `check-config`: a YAML file, then flags over it.
struct ConfigOptions: ParsableArguments {
    @Option(name: .long, help: "YAML configuration file (see config/switchyard.yaml).")
    var config: String?

    @Option(name: .long, help: "Listen address (default 127.0.0.1).")
    var host: String?

    @Option(name: .long, help: "Listen port (default 8000; 0 picks a free port).")
    var port: Int?

    @Option(
        name: .customLong("backend"),
        help: "Backend base URL, http://host:port[/prefix]. Repeatable; replaces the file's backends.")
    var backends: [String] = []

    @Option(
        name: .customLong("backend-name"),
        help: "Name of the backend at the same position in the --backend list (default host:port).")
    var backendNames: [String] = []

    @Option(name: .long, help: "Log level: trace, debug, info, notice, warning, error, critical.")
    var logLevel: String?

    @Option(
        name: .customLong("routing-policy"),
        help:
            "Routing policy: least-ttft (default), least-time, least-tokens, least-requests, p2c, round-robin, session-affinity."
    )
    var routingPolicy: String?

    @Option(
        name: .customLong("max-concurrent"),
        help: "Most requests in flight per backend (default 256); more wait in the queue.")
    var maxConcurrent: Int?

    @Option(
        name: .customLong("access-log"),
        help: "Access log: stdout (default), off, or a file path (one JSON line per request).")
    var accessLog: String?

    @Flag(
        name: .customLong("no-telemetry"),
        help: "Turn per-request telemetry off (no timelines, usage rewrite or access log; /metrics keeps gauges).")
    var noTelemetry = false

    /// Loads, overrides and validates. Throws a `ConfigurationFailure` naming the field.
    func effectiveConfig(configPath: String? = nil) throws -> SwitchyardConfig {
        var config = SwitchyardConfig()
        if let path = configPath ?? self.config {
            guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
                throw ConfigurationFailure("config file \(path): cannot be read")
            }
            do { config = try ConfigLoader.load(yaml: text, environment: ProcessInfo.processInfo.environment) } catch {
                throw ConfigurationFailure("config file \(path): \(error.message)")
            }
        }
        if let host { config.listen.host = host }
        if let port {
            guard (0...65535).contains(port) else { throw ConfigurationFailure("--port: must be 0-65535, got \(port)") }
            config.listen.port = port
        }
        if backendNames.count > backends.count {
            throw ConfigurationFailure(
                "--backend-name: given \(backendNames.count) times but --backend only \(backends.count)")
        }
        if !backends.isEmpty {
            config.backends = try backends.enumerated().map { index, text in
                let url: BackendURL
                do { url = try BackendURL(parsing: text) } catch {
                    throw ConfigurationFailure("--backend \(text): \((error as? ConfigError)?.message ?? "\(error)")")
                }
                let name = index < backendNames.count ? backendNames[index] : "\(url.host):\(url.port)"
                return BackendConfig(name: name, url: url)
            }
        }
        if let routingPolicy {
            guard let policy = RoutingPolicy(rawValue: routingPolicy) else {
                let names = RoutingPolicy.allCases.map(\.rawValue).joined(separator: ", ")
                throw ConfigurationFailure("--routing-policy: must be one of \(names), got \"\(routingPolicy)\"")
            }
            config.routing.policy = policy
        }
        if let maxConcurrent {
            guard maxConcurrent >= 1 else { throw ConfigurationFailure("--max-concurrent: must be at least 1") }
            for index in config.backends.indices { config.backends[index].maxConcurrent = maxConcurrent }
        }
        if let accessLog { config.telemetry.accessLog = AccessLogTarget(parsing: accessLog) }
        if let keys = ProcessInfo.processInfo.environment["SWITCHYARD_API_KEYS"], !keys.isEmpty {
            do { config.auth.keys += try AuthConfig.parseEnvironment(keys) } catch {
                throw ConfigurationFailure(error.message)
            }
        }
        if config.admin.token == nil, let token = ProcessInfo.processInfo.environment["SWITCHYARD_ADMIN_TOKEN"],
            !token.isEmpty
        {
            guard token.count >= 16 else {
                throw ConfigurationFailure("SWITCHYARD_ADMIN_TOKEN: must be at least 16 characters")
            }
            config.admin.token = token
        }
        if noTelemetry { config.telemetry.enabled = false }
        if let logLevel {
            guard let level = LogLevel(rawValue: logLevel) else {
                throw ConfigurationFailure("--log-level: unknown level \"\(logLevel)\"")
            }
            config.logLevel = level
        }
        do { try config.validate() } catch { throw ConfigurationFailure(error.message) }
        return config
    }
}

/// A configuration problem: printed as `Error: field: what is wrong`, exit status 1, before any
/// socket is bound.
struct ConfigurationFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
