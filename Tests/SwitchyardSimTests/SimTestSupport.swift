import NIOCore
import NIOPosix
import SwitchyardSim
import SwitchyardTestSupport

/// Fast timings so tests run in milliseconds.
func fastConfiguration() -> SimReplicaConfiguration {
    var configuration = SimReplicaConfiguration()
    configuration.timeToFirstToken = .milliseconds(5)
    configuration.interTokenInterval = .milliseconds(2)
    return configuration
}

/// Runs `body` against a fresh replica, then shuts the replica and its event loop group down.
func withReplica<T>(
    _ configuration: SimReplicaConfiguration = fastConfiguration(),
    _ body: (SimulatedReplica, MultiThreadedEventLoopGroup) async throws -> T
) async throws -> T {
    let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
    do {
        let replica = try await SimulatedReplica.start(configuration, group: group)
        do {
            let result = try await body(replica, group)
            try await replica.shutdown()
            try await group.shutdownGracefully()
            return result
        } catch {
            try? await replica.shutdown()
            throw error
        }
    } catch {
        try? await group.shutdownGracefully()
        throw error
    }
}

func chatBody(
    model: String = "glm-4.5v", text: String = "Describe this.", images: Int = 0, maxTokens: Int? = 4,
    stream: Bool = false, extra: String = ""
) -> String {
    var parts = ["{\"type\":\"text\",\"text\":\"\(text)\"}"]
    for _ in 0..<images {
        parts.append("{\"type\":\"image_url\",\"image_url\":{\"url\":\"\(testImageDataURL)\"}}")
    }
    var body =
        "{\"model\":\"\(model)\",\"messages\":[{\"role\":\"user\",\"content\":[\(parts.joined(separator: ","))]}]"
    if let maxTokens { body += ",\"max_completion_tokens\":\(maxTokens)" }
    body += ",\"stream\":\(stream)"
    return body + extra + "}"
}
