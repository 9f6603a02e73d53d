import Foundation
import SwitchyardCore
import SwitchyardTestSupport
import Testing

/// The data path: what comes out of the proxy is what the backend sent, event by event.
@Suite struct RelayTests {
    @Test func streamedChatIsIdenticalToDirectEventByEvent() async throws {
        try await withProxy { proxy in
            let body = chatRequest(maxTokens: 12)
            let id = [("x-request-id", "relay-test-1")]
            let direct = try await RawHTTPClient.request(
                port: proxy.sims[0].port, method: "POST", path: "/v1/chat/completions", headers: id, body: body,
                group: proxy.group)
            let relayed = try await proxy.post("/v1/chat/completions", body, headers: id)
            #expect(relayed.status == 200)
            #expect(relayed.header("content-type") == direct.header("content-type"))
            // Same events, same order, same bytes, each relayed as it arrived: never two events
            // in one chunk. (A loaded machine may deliver one event in two TCP reads, and the
            // proxy forwards each read at once, so chunk boundaries may be finer than direct.)
            let events = { (response: RawResponse) in
                RawHTTPClient.events(normalizingCreated(response.chunks.joined()))
            }
            #expect(events(relayed) == events(direct))
            #expect(events(relayed).count == 12 + 3)  // role, 12 tokens, usage, [DONE]
            #expect(relayed.chunks.allSatisfy { $0.components(separatedBy: "\n\n").count <= 2 })
            #expect(relayed.chunks.last == "data: [DONE]\n\n")
            #expect(relayed.header("x-switchyard-backend") == "sim-0")
            #expect(relayed.header("x-request-id") == "relay-test-1")
        }
    }

    @Test func nonStreamingChatAndCompletionsPassThroughWhole() async throws {
        try await withProxy { proxy in
            let chat = chatRequest(maxTokens: 5, stream: false)
            let id = [("x-request-id", "relay-test-2")]
            let direct = try await RawHTTPClient.request(
                port: proxy.sims[0].port, method: "POST", path: "/v1/chat/completions", headers: id, body: chat,
                group: proxy.group)
            let relayed = try await proxy.post("/v1/chat/completions", chat, headers: id)
            #expect(relayed.status == 200)
            #expect(normalizingCreated(relayed.bodyString) == normalizingCreated(direct.bodyString))
            #expect(relayed.header("content-length") == direct.header("content-length"))

            let completion = "{\"model\":\"glm-4.5v\",\"prompt\":\"Once upon\",\"max_tokens\":3}"
            let answer = try await proxy.post("/v1/completions", completion)
            #expect(answer.status == 200)
            let json = try answer.json()
            #expect(json["object"] as? String == "text_completion")
            #expect((json["usage"] as? [String: Any])?["completion_tokens"] as? Int == 3)

            let streamed = try await proxy.post(
                "/v1/completions", "{\"model\":\"glm-4.5v\",\"prompt\":\"Once\",\"max_tokens\":3,\"stream\":true}")
            #expect(streamed.chunks.count == 3 + 1)  // 3 tokens, [DONE]
        }
    }

    @Test func backendErrorsPassThroughWithStatusAndBody() async throws {
        try await withProxy(configure: { $0.backends[0].priorityScheduling = true }) { proxy in
            // Configured as running priority scheduling, the backend gets `priority`; the sim does
            // not run it and answers vLLM's 400.
            let response = try await proxy.post(
                "/v1/chat/completions",
                "{\"model\":\"glm-4.5v\",\"messages\":[{\"role\":\"user\",\"content\":\"x\"}],\"priority\":5}")
            #expect(response.status == 400)
            #expect(response.bodyString.contains("Priority scheduling is not enabled"))
            #expect(response.header("x-switchyard-backend") == "sim-0")
            #expect(response.header("x-switchyard-reason") == nil)  // the backend refused, not the proxy
        }
    }

    @Test func priorityIsRemovedForBackendsWithoutPriorityScheduling() async throws {
        try await withProxy { proxy in
            for body in [
                #"{"model":"glm-4.5v","priority":5,"messages":[{"role":"user","content":"x"}],"max_tokens":2}"#,
                #"{"model":"glm-4.5v","messages":[{"role":"user","content":"x"}],"max_tokens":2,"priority":-3}"#,
                #"{"priority":1}"#.replacingOccurrences(
                    of: "}", with: #","model":"glm-4.5v","prompt":"x","max_tokens":2}"#),
            ] {
                let path = body.contains("prompt") ? "/v1/completions" : "/v1/chat/completions"
                let response = try await proxy.post(path, body)
                #expect(response.status == 200, "\(body): \(response.bodyString)")
            }
        }
    }

    @Test func requestIDIsGeneratedWhenAbsentAndReachesTheBackend() async throws {
        try await withProxy { proxy in
            let response = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            let id = try #require(response.header("x-request-id"))
            #expect(id.count == 32)
            // The sim names its completion after the x-request-id it received.
            #expect(try response.json()["id"] as? String == "chatcmpl-\(id)")
        }
    }

    @Test func otherPathsArePassedThroughToABackendServingTheModel() async throws {
        try await withProxy(
            replicas: 2,
            customizeSim: { index, sim in
                sim.servedModelName = index == 0 ? "glm-4.5v" : "glm-4.6v"
            }
        ) { proxy in
            for _ in 0..<4 {
                let tokenize = try await proxy.post("/tokenize", "{\"model\":\"glm-4.6v\",\"prompt\":\"hello there\"}")
                #expect(tokenize.status == 200)
                #expect(tokenize.header("x-switchyard-backend") == "sim-1")
                #expect(try tokenize.json()["count"] as? Int != nil)
            }
            let version = try await proxy.request("GET", "/version")
            #expect(version.status == 200)
            let missing = try await proxy.request("GET", "/no/such/path")
            #expect(missing.status == 404)  // the backend's own 404, relayed
            #expect(missing.header("x-switchyard-backend") != nil)
        }
    }

    @Test func chunkedRequestBodiesAndExpectContinueWork() async throws {
        try await withProxy { proxy in
            let body = chatRequest(stream: false)
            let half = body.utf8.count / 2
            let first = String(body.prefix(half))
            let second = String(body.dropFirst(half))
            func chunk(_ s: String) -> String { String(s.utf8.count, radix: 16) + "\r\n" + s + "\r\n" }
            let raw =
                "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                + "transfer-encoding: chunked\r\nexpect: 100-continue\r\nconnection: close\r\n\r\n"
                + chunk(first) + chunk(second) + "0\r\n\r\n"
            let bytes = try await RawHTTPClient.exchange(port: proxy.port, requests: [raw], group: proxy.group)
            let responses = try RawHTTPClient.parseResponses(bytes)
            #expect(responses.map(\.status) == [100, 200])
            #expect(try responses.last?.json()["object"] as? String == "chat.completion")
        }
    }
}
