import Foundation
import NIOCore
import NIOPosix
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// Reasoning and tool calls as vLLM's glm45 parsers emit them.
@Suite struct ParserOutputTests {
    static func configuration() -> SimReplicaConfiguration {
        var configuration = SimReplicaConfiguration()
        configuration.timeToFirstToken = .milliseconds(2)
        configuration.interTokenInterval = .milliseconds(1)
        configuration.reasoningParser = true
        configuration.toolCallParser = true
        return configuration
    }

    static func objects(_ response: RawResponse) throws -> [[String: Any]] {
        try RawHTTPClient.events(response.bodyString).filter { $0 != "[DONE]" }.map { event in
            try #require(try JSONSerialization.jsonObject(with: Data(event.utf8)) as? [String: Any])
        }
    }

    static func delta(_ object: [String: Any]) -> [String: Any]? {
        ((object["choices"] as? [[String: Any]])?.first)?["delta"] as? [String: Any]
    }

    @Test func reasoningStreamsFirstUnlessThinkingIsDisabled() async throws {
        try await withReplica(Self.configuration()) { replica, group in
            let thinking = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: chatBody(maxTokens: 10, stream: true), group: group)
            let deltas = try Self.objects(thinking).compactMap(Self.delta)
            let reasoning = deltas.filter { $0["reasoning"] != nil }
            #expect(reasoning.count == 5)
            #expect(reasoning.allSatisfy { ($0["reasoning"] as? String) == ($0["reasoning_content"] as? String) })
            #expect(deltas.filter { ($0["content"] as? String).map { !$0.isEmpty } ?? false }.count == 5)

            let plain = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: chatBody(
                    maxTokens: 10, stream: true, extra: #","chat_template_kwargs":{"enable_thinking":false}"#),
                group: group)
            #expect(try Self.objects(plain).compactMap(Self.delta).allSatisfy { $0["reasoning"] == nil })
        }
    }

    @Test func aToolCallArrivesAsOneBurstWithTheWholeArguments() async throws {
        let tools =
            #","tools":[{"type":"function","function":{"name":"get_weather","parameters":{"type":"object","#
            + #""properties":{"city":{"type":"string"},"days":{"type":"integer"}},"required":["city","days"]}}}]"#
        try await withReplica(Self.configuration()) { replica, group in
            let streamed = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: chatBody(maxTokens: 12, stream: true, extra: tools + #","tool_choice":"auto""#), group: group)
            let choices = try Self.objects(streamed).compactMap { ($0["choices"] as? [[String: Any]])?.first }
            #expect(choices.count == 2)  // the role chunk, then the single tool-call burst
            let call = try #require((Self.delta(["choices": [choices[1]]])?["tool_calls"] as? [[String: Any]])?.first)
            let function = try #require(call["function"] as? [String: Any])
            #expect(function["name"] as? String == "get_weather")
            let arguments = try #require((function["arguments"] as? String)?.data(using: .utf8))
            let parsed = try #require(try JSONSerialization.jsonObject(with: arguments) as? [String: Any])
            #expect(parsed["city"] as? String == "example" && parsed["days"] as? Int == 1)
            #expect(choices[1]["finish_reason"] as? String == "tool_calls")
            #expect((call["id"] as? String)?.hasPrefix("call_") == true)

            let whole = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: chatBody(maxTokens: 12, stream: false, extra: tools), group: group)
            let choice = try #require((try whole.json()["choices"] as? [[String: Any]])?.first)
            #expect(choice["finish_reason"] as? String == "tool_calls")
            let message = try #require(choice["message"] as? [String: Any])
            #expect((message["tool_calls"] as? [[String: Any]])?.count == 1)

            let none = try await RawHTTPClient.request(
                port: replica.port, method: "POST", path: "/v1/chat/completions",
                body: chatBody(maxTokens: 12, stream: false, extra: tools + #","tool_choice":"none""#), group: group)
            #expect(
                (try none.json()["choices"] as? [[String: Any]])?.first?["finish_reason"] as? String != "tool_calls")
        }
    }
}
