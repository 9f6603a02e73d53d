import Foundation
import SwitchyardCore
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// Context-length admission: requests go only to backends whose context fits them; requests
/// that fit nowhere, and bad media, are refused before any backend sees them.
@Suite struct AdmissionTests {
    /// Two replicas of one model: a 2 048-token context and an 8 192-token one.
    static func mixedPool(
        configure: @escaping (inout SwitchyardConfig) -> Void = { _ in }, _ body: (ProxyHarness) async throws -> Void
    ) async throws {
        try await withProxy(
            replicas: 2,
            customizeSim: { index, sim in
                sim.maxModelLen = index == 0 ? 2048 : 8192
                sim.interTokenInterval = .microseconds(5)  // thousands of tokens in milliseconds
            },
            configure: {
                quietProbes(&$0)
                configure(&$0)
            }, body)
    }

    static func chat(text: String = "Describe this.", image: String? = nil, maxTokens: Int) -> String {
        var parts = #"{"type":"text","text":"\#(text)"}"#
        if let image { parts += #",{"type":"image_url","image_url":{"url":"\#(image)"}}"# }
        return
            #"{"model":"glm-4.5v","messages":[{"role":"user","content":[\#(parts)]}],"max_completion_tokens":\#(maxTokens)}"#
    }

    @Test func longRequestsGoOnlyToTheLongContextReplica() async throws {
        // least-requests spreads sequential requests; the default (least-ttft) would send every
        // short one to whichever replica answers first fastest.
        try await Self.mixedPool(configure: { $0.routing.policy = .leastRequests }) { proxy in
            for _ in 0..<4 {
                let response = try await proxy.post("/v1/chat/completions", Self.chat(maxTokens: 4000))
                #expect(response.status == 200)
                #expect(response.header("x-switchyard-backend") == "sim-1")
            }
            // Short requests still use both.
            var used = Set<String>()
            for _ in 0..<4 {
                used.insert(
                    try await proxy.post("/v1/chat/completions", Self.chat(maxTokens: 8)).header("x-switchyard-backend")
                        ?? "")
            }
            #expect(used == ["sim-0", "sim-1"])
        }
    }

    @Test func requestsThatFitNowhereGetVLLMsContext400WithTheCounts() async throws {
        try await Self.mixedPool { proxy in
            let before = proxy.sims.map(\.stats.requestsReceived)
            let response = try await proxy.post(
                "/v1/chat/completions", Self.chat(image: testImageDataURL, maxTokens: 9000))
            #expect(response.status == 400)
            #expect(response.header("x-switchyard-reason") == "context_length_exceeded")
            let message = try #require((try response.json()["error"] as? [String: Any])?["message"] as? String)
            #expect(message.hasPrefix("This model's maximum context length is 8192 tokens. However, you requested "))
            #expect(message.contains("9000 in the completion"))
            // The image costs what GLM's formula gives for its real dimensions, as the backend counts it.
            #expect(message.contains("and \(testImageTokens) image tokens"))
            #expect(proxy.sims.map(\.stats.requestsReceived) == before)
        }
    }

    @Test func withoutExactChecksBorderlineRequestsAreLeftToTheBackend() async throws {
        try await Self.mixedPool(configure: { $0.admission.exactCheck = false }) { proxy in
            // 8 192 < need ≤ 8 192 × 1.05: forwarded, and the sim (the authority) answers.
            let response = try await proxy.post("/v1/chat/completions", Self.chat(maxTokens: 8300))
            #expect(response.status == 400)
            #expect(response.header("x-switchyard-reason") == nil)
            #expect(response.header("x-switchyard-backend") == "sim-1")
        }
    }

    @Test func borderlineRequestsAreCountedExactlyWithTokenize() async throws {
        try await Self.mixedPool { proxy in
            let before = proxy.sims.map(\.stats.requestsReceived)
            // Over the limit by the estimate and by the exact count: refused by the proxy, with
            // the backend's exact prompt count (4 tokens in the sim), no generation started.
            let over = try await proxy.post("/v1/chat/completions", Self.chat(maxTokens: 8300))
            #expect(over.status == 400)
            #expect(over.header("x-switchyard-reason") == "context_length_exceeded")
            let message = try #require((try over.json()["error"] as? [String: Any])?["message"] as? String)
            #expect(message.contains("you requested 8304 tokens (4 in the messages, 8300 in the completion)"))
            // Within the margin below the limit: the exact count says it fits; it runs.
            let fits = try await proxy.post("/v1/chat/completions", Self.chat(maxTokens: 8100))
            #expect(fits.status == 200)
            #expect(fits.header("x-switchyard-backend") == "sim-1")
            let status = try await proxy.request("GET", "/switchyard/status").json()
            let counters = try #require(status["counters"] as? [String: Any])
            #expect(counters["exact_checks"] as? Int == 2)
            // Two /tokenize calls and one generation reached sim-1; sim-0 (2 048) none.
            #expect(proxy.sims[0].stats.requestsReceived == before[0])
            #expect(proxy.sims[1].stats.requestsReceived == before[1] + 3)
        }
    }

    @Test func clampModeLowersTheBudgetToFitAndSaysSo() async throws {
        try await Self.mixedPool(configure: { $0.admission.mode = .clamp }) { proxy in
            let response = try await proxy.post("/v1/chat/completions", Self.chat(maxTokens: 20000))
            #expect(response.status == 200)
            #expect(response.header("x-switchyard-backend") == "sim-1")
            // The estimate for this prompt is 12 tokens (46 bytes / 4 + 8 for the template).
            let granted = try #require(response.header("x-switchyard-clamped"))
            #expect(granted.hasSuffix("; requested=20000"))
            let budget = try #require(Int(granted.dropFirst("max_tokens=".count).prefix { $0 != ";" }))
            #expect(budget <= 8192 - 4 && budget > 8000)
            let usage = try #require(try response.json()["usage"] as? [String: Int])
            #expect(usage["completion_tokens"] == budget)
        }
    }

    @Test(arguments: [
        ("data:image/jpeg;base64,AAAA", "invalid_image"),
        ("data:image/png;base64,iVBORw0K", "invalid_image"),
        ("file:///etc/shadow", "file_media_refused"),
    ])
    func badMediaIsRefusedBeforeAnyBackend(url: String, reason: String) async throws {
        try await withProxy(configure: quietProbes) { proxy in
            let before = proxy.sims[0].stats.requestsReceived
            let response = try await proxy.post("/v1/chat/completions", Self.chat(image: url, maxTokens: 8))
            #expect(response.status == 400)
            #expect(response.header("x-switchyard-reason") == reason)
            #expect(proxy.sims[0].stats.requestsReceived == before)
        }
    }

    @Test func imageRequestsPassWithTheirRealCost() async throws {
        try await withProxy(configure: quietProbes) { proxy in
            let response = try await proxy.post(
                "/v1/chat/completions", Self.chat(image: testImageDataURL, maxTokens: 3))
            #expect(response.status == 200)
            let usage = try #require(try response.json()["usage"] as? [String: Int])
            #expect(usage["prompt_tokens"] == 4 + testImageTokens)  // the sim counts the image as the proxy does
        }
    }
}
