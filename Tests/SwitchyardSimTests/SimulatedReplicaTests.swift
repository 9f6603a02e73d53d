import Foundation
import NIOCore
import NIOPosix
import SwitchyardSim
import SwitchyardTestSupport
import Testing

@Suite struct PlainEndpointTests {
    @Test func modelsListHasVLLMShape() async throws {
        try await withReplica { replica, group in
            let response = try await RawHTTPClient.request(port: replica.port, path: "/v1/models", group: group)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            let json = try response.json()
            #expect(json["object"] as? String == "list")
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.count == 1)
            #expect(data[0]["id"] as? String == "glm-4.5v")
            #expect(data[0]["object"] as? String == "model")
            #expect(data[0]["owned_by"] as? String == "vllm")
            #expect(data[0]["root"] as? String == "zai-org/GLM-4.5V-FP8")
            #expect(data[0]["max_model_len"] as? Int == 65536)
            #expect(data[0]["parent"] is NSNull)
            let permission = try #require((data[0]["permission"] as? [[String: Any]])?.first)
            #expect((permission["id"] as? String)?.hasPrefix("modelperm-") == true)
            #expect(permission["object"] as? String == "model_permission")
        }
    }

    @Test func healthVersionAndFastAPIErrors() async throws {
        try await withReplica { replica, group in
            let health = try await RawHTTPClient.request(port: replica.port, path: "/health", group: group)
            #expect(health.status == 200)
            #expect(health.body.isEmpty)
            #expect(health.header("content-length") == "0")

            let version = try await RawHTTPClient.request(port: replica.port, path: "/version", group: group)
            #expect(version.bodyString == #"{"version":"0.0.0-switchyard-sim"}"#)

            let missing = try await RawHTTPClient.request(port: replica.port, path: "/v1/nothing", group: group)
            #expect(missing.status == 404)
            #expect(missing.bodyString == #"{"detail":"Not Found"}"#)

            let wrongMethod = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/models", body: "{}", group: group)
            #expect(wrongMethod.status == 405)
            #expect(wrongMethod.bodyString == #"{"detail":"Method Not Allowed"}"#)

            let getChat = try await RawHTTPClient.request(
                port: replica.port, path: "/v1/chat/completions", group: group)
            #expect(getChat.status == 405)
            #expect(replica.stats.requestsReceived == 5)
            #expect(replica.stats.generationsStarted == 0)
        }
    }

    @Test func tokenizeCountsTextAndImages() async throws {
        try await withReplica { replica, group in
            // 12 bytes → 3 tokens.
            let text = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/tokenize",
                body: #"{"model":"glm-4.5v","prompt":"Hello world!"}"#, group: group)
            #expect(text.status == 200)
            #expect(
                text.bodyString == #"{"count":3,"max_model_len":65536,"tokens":[1000,1001,1002],"token_strs":null}"#)

            // "Describe this." is 14 bytes → 4 tokens, plus the image's 258 by GLM's formula.
            let chat = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/tokenize", body: chatBody(images: 1), group: group)
            let json = try chat.json()
            #expect(json["count"] as? Int == 4 + testImageTokens)
            #expect((json["tokens"] as? [Any])?.count == 4 + testImageTokens)
        }
    }

    @Test func keepAliveServesSeveralRequestsOnOneConnection() async throws {
        try await withReplica { replica, group in
            let bytes = try await RawHTTPClient.exchange(
                port: replica.port,
                requests: [
                    RawHTTPClient.requestBytes(method: "GET", path: "/health", keepAlive: true),
                    RawHTTPClient.requestBytes(
                        method: "POST", path: "/v1/chat/completions", body: chatBody(stream: true), keepAlive: true),
                    RawHTTPClient.requestBytes(method: "GET", path: "/version"),
                ], group: group)
            let responses = try RawHTTPClient.parseResponses(bytes)
            #expect(responses.map(\.status) == [200, 200, 200])
            #expect(responses[1].chunks.last == "data: [DONE]\n\n")
            #expect(responses[2].bodyString == #"{"version":"0.0.0-switchyard-sim"}"#)
            #expect(replica.stats.connectionsAccepted == 1)
            #expect(replica.stats.requestsReceived == 3)
        }
    }
}

@Suite struct GenerationTests {
    @Test func streamingChatSendsOneChunkPerEventInOrder() async throws {
        try await withReplica { replica, group in
            let n = 5
            let started = ContinuousClock.now
            let response = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                headers: [("x-request-id", "bench-1234-0")],
                body: chatBody(maxTokens: n, stream: true, extra: #","stream_options":{"include_usage":true}"#),
                group: group)
            let elapsed = ContinuousClock.now - started
            #expect(response.status == 200)
            #expect(response.header("content-type")?.hasPrefix("text/event-stream") == true)
            #expect(response.header("transfer-encoding") == "chunked")
            #expect(response.header("x-request-id") == "bench-1234-0")
            // role + n content + usage + [DONE], each its own HTTP chunk.
            #expect(response.chunks.count == n + 3)
            #expect(response.chunks.allSatisfy { $0.hasPrefix("data: ") && $0.hasSuffix("\n\n") })
            #expect(elapsed >= .milliseconds(5 + 2 * (n - 1)))

            let events = RawHTTPClient.events(response.bodyString)
            #expect(events.count == n + 3)
            #expect(events.last == "[DONE]")
            let chunks = try events.dropLast().map { event in
                try #require(try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any])
            }
            for chunk in chunks {
                #expect(chunk["id"] as? String == "chatcmpl-bench-1234-0")
                #expect(chunk["object"] as? String == "chat.completion.chunk")
                #expect(chunk["model"] as? String == "glm-4.5v")
            }
            #expect(events[0].contains(#""delta":{"role":"assistant","content":""}"#))
            var text = ""
            for (offset, chunk) in chunks[1...n].enumerated() {
                let choice = try #require((chunk["choices"] as? [[String: Any]])?.first)
                let delta = try #require(choice["delta"] as? [String: Any])
                text += delta["content"] as? String ?? ""
                if offset == n - 1 {
                    #expect(choice["finish_reason"] as? String == "length")
                    #expect(choice["stop_reason"] is NSNull)
                } else {
                    #expect(choice["finish_reason"] is NSNull)
                }
            }
            #expect(text == "Hello world, this is")
            let usageChunk = chunks[n + 1]
            #expect((usageChunk["choices"] as? [Any])?.isEmpty == true)
            let usage = try #require(usageChunk["usage"] as? [String: Int])
            #expect(usage == ["prompt_tokens": 4, "completion_tokens": n, "total_tokens": 4 + n])

            #expect(await eventually { replica.stats.generationsCompleted == 1 })
            #expect(replica.stats.running == 0)
            #expect(replica.stats.generationsStarted == 1)
        }
    }

    @Test(arguments: [
        ("", false), (#","stream_options":{"include_usage":false}"#, false),
        (#","stream_options":{}"#, true), (#","stream_options":{"include_usage":true}"#, true),
    ])
    func usageChunkFollowsStreamOptions(extra: String, expectUsage: Bool) async throws {
        try await withReplica { replica, group in
            let response = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: chatBody(maxTokens: 2, stream: true, extra: extra), group: group)
            let events = RawHTTPClient.events(response.bodyString)
            #expect(events.count == (expectUsage ? 5 : 4))
            #expect(events.contains { $0.contains(#""usage":"#) } == expectUsage)
        }
    }

    @Test func streamingCompletionsHasNoRoleChunk() async throws {
        try await withReplica { replica, group in
            let response = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/completions",
                body:
                    #"{"model":"glm-4.5v","prompt":"Once upon","max_tokens":3,"stream":true,"stream_options":{"include_usage":true}}"#,
                group: group)
            #expect(response.status == 200)
            #expect(response.chunks.count == 3 + 2)
            let events = RawHTTPClient.events(response.bodyString)
            #expect(events[0].hasPrefix(#"{"id":"cmpl-"#))
            #expect(events[0].contains(#""object":"text_completion""#))
            #expect(
                events[0].contains(
                    #""choices":[{"index":0,"text":"Hello","logprobs":null,"finish_reason":null,"stop_reason":null}]"#))
            #expect(events[2].contains(#""finish_reason":"length","stop_reason":null}]"#))
            #expect(
                events[3].contains(#""choices":[],"usage":{"prompt_tokens":3,"total_tokens":6,"completion_tokens":3}"#))
            #expect(events[4] == "[DONE]")
        }
    }

    @Test func nonStreamingChatBody() async throws {
        try await withReplica { replica, group in
            let response = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: chatBody(images: 1, maxTokens: 3), group: group)
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            let json = try response.json()
            #expect(json["object"] as? String == "chat.completion")
            #expect((json["id"] as? String)?.hasPrefix("chatcmpl-") == true)
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            let message = try #require(choice["message"] as? [String: Any])
            #expect(message["role"] as? String == "assistant")
            #expect(message["content"] as? String == "Hello world,")
            #expect(choice["finish_reason"] as? String == "length")
            let usage = try #require(json["usage"] as? [String: Int])
            #expect(usage == ["prompt_tokens": 262, "completion_tokens": 3, "total_tokens": 265])
            #expect(json["prompt_logprobs"] is NSNull)
            #expect(replica.stats.generationsCompleted == 1)
        }
    }

    @Test func nonStreamingCompletionsBodyAndDefaultBudget() async throws {
        try await withReplica { replica, group in
            let response = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/completions",
                body: #"{"model":"glm-4.5v","prompt":"Once upon a time"}"#, group: group)
            #expect(response.status == 200)
            let json = try response.json()
            #expect(json["object"] as? String == "text_completion")
            #expect((json["id"] as? String)?.hasPrefix("cmpl-") == true)
            let choice = try #require((json["choices"] as? [[String: Any]])?.first)
            #expect((choice["text"] as? String)?.hasPrefix("Hello world") == true)
            #expect(choice["finish_reason"] as? String == "length")
            let usage = try #require(json["usage"] as? [String: Int])
            #expect(usage["completion_tokens"] == 16)
            #expect(usage["prompt_tokens"] == 4)
        }
    }
}

@Suite struct ErrorTests {
    private func post(
        _ body: String, path: String = "/v1/chat/completions",
        configuration: SimReplicaConfiguration = fastConfiguration()
    ) async throws -> RawResponse {
        try await withReplica(configuration) { replica, group in
            let response = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: path, headers: [("x-request-id", "r-1")], body: body,
                group: group)
            #expect(replica.stats.generationsStarted == 0)
            return response
        }
    }

    @Test func unknownModelIsVLLMs404() async throws {
        let response = try await post(chatBody(model: "gpt-4"))
        #expect(response.status == 404)
        #expect(response.header("x-request-id") == "r-1")
        #expect(
            response.bodyString
                == #"{"error":{"message":"The model `gpt-4` does not exist. Valid aliases: glm-4.5v.","type":"NotFoundError","param":"model","code":404}}"#
        )
    }

    @Test func invalidJSONIs400() async throws {
        let response = try await post("{not json", path: "/v1/completions")
        #expect(response.status == 400)
        let error = try #require(try response.json()["error"] as? [String: Any])
        #expect(error["type"] as? String == "BadRequestError")
        #expect(error["code"] as? Int == 400)
    }

    @Test func contextOverflowIs400WithVLLMWording() async throws {
        var configuration = fastConfiguration()
        configuration.maxModelLen = 2048
        let response = try await post(chatBody(images: 1, maxTokens: 1787), configuration: configuration)
        #expect(response.status == 400)
        #expect(
            response.bodyString
                == #"{"error":{"message":"This model's maximum context length is 2048 tokens. However, you requested 2049 tokens (262 in the messages, 1787 in the completion). Please reduce the length of the messages or completion.","type":"BadRequestError","param":null,"code":400}}"#
        )
    }

    @Test func priorityIsRefused() async throws {
        let response = try await post(chatBody(extra: #","priority":5"#))
        #expect(response.status == 400)
        let error = try #require(try response.json()["error"] as? [String: Any])
        #expect(error["message"] as? String == "Got priority 5 but Priority scheduling is not enabled.")
    }

    @Test func tooManyImagesIsRefused() async throws {
        let response = try await post(chatBody(images: 2))
        #expect(response.status == 400)
        let error = try #require(try response.json()["error"] as? [String: Any])
        #expect(error["message"] as? String == "At most 1 image(s) may be provided in one prompt.")
    }
}

@Suite struct LifecycleTests {
    @Test func clientDisconnectAbortsTheGeneration() async throws {
        var configuration = fastConfiguration()
        configuration.interTokenInterval = .seconds(10)
        try await withReplica(configuration) { replica, group in
            let request = RawHTTPClient.requestBytes(
                method: "POST", path: "/v1/chat/completions", body: chatBody(maxTokens: 100, stream: true))
            let received = try await RawHTTPClient.sendAndHangUp(
                port: replica.port, request: request, after: "\n\n", group: group)
            #expect(String(decoding: received, as: UTF8.self).contains("data: {"))
            #expect(await eventually { replica.stats.generationsAborted == 1 && replica.stats.running == 0 })
            #expect(replica.stats.generationsCompleted == 0)
        }
    }

    @Test func shutdownClosesOpenConnections() async throws {
        var configuration = fastConfiguration()
        configuration.timeToFirstToken = .seconds(30)
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let replica = try await SimulatedReplica.start(configuration, group: group)
        let request = RawHTTPClient.requestBytes(
            method: "POST", path: "/v1/chat/completions", body: chatBody(stream: true))
        async let received = RawHTTPClient.exchange(port: replica.port, requests: [request], group: group)
        #expect(await eventually { replica.stats.running == 1 })
        try await replica.shutdown()
        _ = try await received  // the connection was closed by the replica
        #expect(replica.stats.generationsAborted == 1)
        try await replica.shutdown()  // idempotent
        try await group.shutdownGracefully()
    }

    @Test func fleetUsesConsecutivePorts() async throws {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let fleet = try await SimulatedFleet.start(fastConfiguration(), replicas: 3, group: group)
        #expect(fleet.count == 3)
        #expect(fleet[1].port == fleet[0].port + 1)
        #expect(fleet[2].port == fleet[0].port + 2)
        for replica in fleet {
            let response = try await RawHTTPClient.request(port: replica.port, path: "/health", group: group)
            #expect(response.status == 200)
            #expect(replica.stats.requestsReceived == 1)
        }
        for replica in fleet { try await replica.shutdown() }
        try await group.shutdownGracefully()
    }
}
