import ArgumentParser
import Logging
import NIOCore
import NIOPosix
import ServiceLifecycle
import SwitchyardCore
import SwitchyardServer

struct Serve: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run the proxy in front of vLLM backends.")

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.effectiveConfig()
        let logger = LogSetup.bootstrapped(level: config.logLevel, label: "switchyard")
        let group = MultiThreadedEventLoopGroup(numberOfThreads: System.coreCount)
        // SIGHUP and the admin API's reload read the file again, with the same flags over it.
        let options = SendableOptions(options: self.options)
        var reloader: (@Sendable () throws(ConfigError) -> SwitchyardConfig)?
        if self.options.config != nil {
            reloader = { () throws(ConfigError) -> SwitchyardConfig in
                do { return try options.options.effectiveConfig() } catch { throw ConfigError("\(error)") }
            }
        }
        let server = ProxyServer(config: config, group: group, logger: logger, reloader: reloader)
        let services = ServiceGroup(
            configuration: .init(
                services: [ProxyService(server: server)], gracefulShutdownSignals: [.sigterm, .sigint],
                logger: logger))
        try await services.run()
        try await group.shutdownGracefully()
    }
}

/// The parsed flags are plain values; the reload closure reads them from another thread.
private struct SendableOptions: @unchecked Sendable {
    let options: ConfigOptions
}

struct CheckConfig: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "check-config",
        abstract: "Validate a configuration file and print the effective configuration.")

    @Argument(help: "YAML configuration file.")
    var file: String

    @OptionGroup var options: ConfigOptions

    func run() async throws {
        let config = try options.effectiveConfig(configPath: file)
        print(config.renderYAML(), terminator: "")
    }
}

enum LogSetup {
    /// Logs to stderr at `level`; returns the root logger.
    static func bootstrapped(level: LogLevel, label: String) -> Logger {
        LoggingSystem.bootstrap { label in
            var handler = StreamLogHandler.standardError(label: label)
            handler.logLevel = Logger.Level(rawValue: level.rawValue) ?? .info
            return handler
        }
        return Logger(label: label)
    }
}
