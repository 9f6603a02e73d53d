import Foundation
import SwitchyardCore
import SwitchyardTestSupport
import Testing

/// What the proxy answers itself: the model union, health, and refusals.
@Suite struct LocalEndpointTests {
    @Test func modelsAreTheUnionOfTheBackendsCards() async throws {
        try await withProxy(
            replicas: 3,
            customizeSim: { index, sim in
                sim.servedModelName = index == 2 ? "glm-4.6v" : "glm-4.5v"
                sim.modelRoot = index == 2 ? "zai-org/GLM-4.6V-FP8" : "zai-org/GLM-4.5V-FP8"
                sim.maxModelLen = index == 2 ? 131072 : 65536
            }
        ) { proxy in
            let response = try await proxy.request("GET", "/v1/models")
            #expect(response.status == 200)
            #expect(response.header("content-type") == "application/json")
            let json = try response.json()
            #expect(json["object"] as? String == "list")
            let data = try #require(json["data"] as? [[String: Any]])
            #expect(data.map { $0["id"] as? String } == ["glm-4.5v", "glm-4.6v"])
            #expect(data.map { $0["root"] as? String } == ["zai-org/GLM-4.5V-FP8", "zai-org/GLM-4.6V-FP8"])
            #expect(data.map { $0["max_model_len"] as? Int } == [65536, 131072])
            #expect(data.allSatisfy { $0["owned_by"] as? String == "vllm" && $0["permission"] != nil })
        }
    }

    @Test func healthTurns503WhenEveryBackendIsGone() async throws {
        try await withProxy(replicas: 2) { proxy in
            #expect(try await proxy.request("GET", "/health").status == 200)
            try await proxy.sims[0].shutdown()
            #expect(await eventually { !proxy.server.backends[0].healthy })
            #expect(try await proxy.request("GET", "/health").status == 200)  // one left
            try await proxy.sims[1].shutdown()
            #expect(try await eventually { try await proxy.request("GET", "/health").status == 503 })
            let health = try await proxy.request("GET", "/health")
            #expect(health.header("x-switchyard-reason") == "no_healthy_backend")
            #expect(health.header("retry-after") == "2")
            // Generation requests now get a 503 too, not a hang and not a 404: the model is known.
            let chat = try await proxy.post("/v1/chat/completions", chatRequest())
            #expect(chat.status == 503)
            #expect(chat.header("x-switchyard-reason") == "no_healthy_backend")
        }
    }

    @Test func unknownModelIsVLLMs404() async throws {
        try await withProxy(configure: quietProbes) { proxy in
            let before = proxy.sims[0].stats.requestsReceived
            let response = try await proxy.post("/v1/chat/completions", chatRequest(model: "gpt-4o"))
            #expect(response.status == 404)
            #expect(response.header("x-switchyard-reason") == "unknown_model")
            #expect(
                response.bodyString
                    == #"{"error":{"message":"The model `gpt-4o` does not exist. Valid aliases: glm-4.5v.","type":"NotFoundError","param":"model","code":404}}"#
            )
            #expect(proxy.sims[0].stats.requestsReceived == before)
        }
    }

    @Test(arguments: [
        "{\"model\":\"glm-4.5v\",", "", "[1,2]", "{\"model\":\"glm-4.5v\"} trailing", "{'model':'x'}",
    ])
    func invalidJSONIs400AndNeverReachesABackend(body: String) async throws {
        try await withProxy(configure: quietProbes) { proxy in
            let before = proxy.sims[0].stats.requestsReceived
            let response = try await proxy.post("/v1/chat/completions", body)
            #expect(response.status == 400)
            #expect(response.header("x-switchyard-reason") == "invalid_json")
            let error = try #require(try response.json()["error"] as? [String: Any])
            #expect(error["type"] as? String == "BadRequestError")
            #expect(error["code"] as? Int == 400)
            #expect(proxy.sims[0].stats.requestsReceived == before)
        }
    }

    @Test func oversizedBodiesGet413() async throws {
        try await withProxy(configure: {
            quietProbes(&$0)
            $0.limits.maxBodyBytes = 1024
        }) { proxy in
            let before = proxy.sims[0].stats.requestsReceived
            let big = chatRequest(text: String(repeating: "a", count: 2000))
            let declared = try await proxy.post("/v1/chat/completions", big)
            #expect(declared.status == 413)
            #expect(declared.header("x-switchyard-reason") == "body_too_large")
            #expect(declared.header("connection") == "close")

            // Chunked: the limit is enforced as bytes arrive.
            let chunk = String(repeating: "b", count: 800)
            let raw =
                "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked\r\n\r\n"
                + "320\r\n\(chunk)\r\n320\r\n\(chunk)\r\n0\r\n\r\n"
            let bytes = try await RawHTTPClient.exchange(port: proxy.port, requests: [raw], group: proxy.group)
            #expect(try RawHTTPClient.parseResponses(bytes).first?.status == 413)
            #expect(proxy.sims[0].stats.requestsReceived == before)
        }
    }

    @Test func oversizedHeadersGet431() async throws {
        try await withProxy(configure: { $0.limits.maxHeaderBytes = 4096 }) { proxy in
            let response = try await proxy.request(
                "GET", "/v1/models", headers: [("x-big", String(repeating: "h", count: 5000))])
            #expect(response.status == 431)
            #expect(response.header("x-switchyard-reason") == "headers_too_large")
            #expect(try await proxy.request("GET", "/v1/models", headers: [("x-ok", "fine")]).status == 200)
        }
    }

    @Test func malformedHTTPIs400() async throws {
        try await withProxy { proxy in
            let bytes = try await RawHTTPClient.exchange(
                port: proxy.port, requests: ["GARBAGE\r\n\r\n"], group: proxy.group)
            let response = try #require(try RawHTTPClient.parseResponses(bytes).first)
            #expect(response.status == 400)
            #expect(response.header("x-switchyard-reason") == "invalid_http")
        }
    }
}
