import NIOCore
import NIOPosix
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// `--scheduling-policy priority` and `--allowed-local-media-path`, as vLLM applies them.
@Suite struct MediaAndPolicyTests {
    static func imageRequest(_ url: String) -> String {
        #"{"model":"glm-4.5v","messages":[{"role":"user","content":[{"type":"text","text":"hi"},"#
            + #"{"type":"image_url","image_url":{"url":"\#(url)"}}]}],"max_completion_tokens":2}"#
    }

    @Test func priorityIsAcceptedOnlyUnderThePriorityPolicy() async throws {
        var configuration = EngineModeTests.engineConfiguration()
        configuration.schedulingPolicy = .priority
        try await withReplica(configuration) { replica, group in
            let response = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: chatBody(maxTokens: 3, extra: ",\"priority\":-5"), group: group)
            #expect(response.status == 200)
        }
    }

    @Test func fileURLsNeedAnAllowedPathAndMustStayInsideIt() async throws {
        try await withReplica { replica, group in
            let refused = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: Self.imageRequest("file:///etc/passwd"), group: group)
            #expect(refused.status == 400)
            #expect(refused.bodyString.contains("Cannot load local files without `--allowed-local-media-path`."))
        }
        var configuration = SimReplicaConfiguration()
        configuration.timeToFirstToken = .milliseconds(2)
        configuration.interTokenInterval = .milliseconds(1)
        configuration.allowedLocalMediaPath = "/data/images"
        try await withReplica(configuration) { replica, group in
            for (url, status) in [
                ("file:///data/images/cat.jpg", 200), ("file:///etc/passwd", 400),
                ("file:///data/images/../../etc/passwd", 400), ("file:///data/imagesX/a.jpg", 400),
            ] {
                let response = try await RawHTTPClient.request(
                    port: replica.port, method: "POST", path: "/v1/chat/completions", body: Self.imageRequest(url),
                    group: group)
                #expect(response.status == status, "\(url)")
            }
            let outside = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: Self.imageRequest("file:///etc/passwd"), group: group)
            #expect(
                outside.bodyString.contains(
                    "The file path /etc/passwd must be a subpath of `--allowed-local-media-path /data/images`."))
        }
    }

    @Test func corruptAndUnknownImagesAre400NamingThePart() async throws {
        try await withReplica { replica, group in
            for url in ["data:image/jpeg;base64,AAAA", "data:image/png;base64,!!!!", "ftp://x/y.jpg"] {
                let response = try await RawHTTPClient.request(
                    port: replica.port, method: "POST", path: "/v1/chat/completions", body: Self.imageRequest(url),
                    group: group)
                #expect(response.status == 400, "\(url)")
            }
        }
    }
}
