import SwitchyardCore

/// What the glm45 reasoning and tool-call parsers make of a generation, decided when the request
/// is accepted:
/// - reasoning (`--reasoning-parser glm45`, unless `chat_template_kwargs.enable_thinking` is
///   false): the first `reasoningShare` of the output tokens are the model's thinking, streamed
///   as `delta.reasoning` and `delta.reasoning_content` (new and old vLLM names, both sent);
/// - a tool call (`--tool-call-parser glm45`, a request with `tools`, and a `tool_choice` other
///   than `"none"`): the parser buffers the tokens until `</tool_call>`, then sends one delta
///   with the whole call, and the request ends with `finish_reason: "tool_calls"`.
struct SimOutputShape: Sendable, Equatable {
    static let reasoningShare = 0.5

    var reasoningTokens = 0
    /// The function to call, with its JSON arguments.
    var toolCall: (name: String, arguments: String)? = nil

    static func == (a: SimOutputShape, b: SimOutputShape) -> Bool {
        a.reasoningTokens == b.reasoningTokens && a.toolCall?.name == b.toolCall?.name
            && a.toolCall?.arguments == b.toolCall?.arguments
    }

    /// From the parsed chat request body.
    static func of(
        _ object: [String: Any], endpoint: SimEndpoint, outputTokens: Int, configuration: SimReplicaConfiguration
    ) -> SimOutputShape {
        var shape = SimOutputShape()
        guard endpoint == .chatCompletions else { return shape }
        if configuration.toolCallParser, let tools = object["tools"] as? [[String: Any]], !tools.isEmpty {
            let choice = object["tool_choice"]
            if (choice as? String) != "none" {
                let named = ((choice as? [String: Any])?["function"] as? [String: Any])?["name"] as? String
                let function =
                    tools.compactMap { $0["function"] as? [String: Any] }.first {
                        named == nil || $0["name"] as? String == named
                    }
                if let function, let name = function["name"] as? String {
                    shape.toolCall = (name, arguments(for: function))
                    return shape
                }
            }
        }
        let kwargs = object["chat_template_kwargs"] as? [String: Any]
        if configuration.reasoningParser, (kwargs?["enable_thinking"] as? Bool) != false {
            shape.reasoningTokens = Int(Double(outputTokens) * reasoningShare)
        }
        return shape
    }

    /// Arguments that satisfy the function's required parameters: a placeholder per type.
    static func arguments(for function: [String: Any]) -> String {
        let parameters = function["parameters"] as? [String: Any]
        let properties = parameters?["properties"] as? [String: [String: Any]] ?? [:]
        let required = parameters?["required"] as? [String] ?? Array(properties.keys)
        let fields = required.sorted().map { name -> String in
            let value: String
            switch properties[name]?["type"] as? String {
            case "integer", "number": value = "1"
            case "boolean": value = "true"
            case "array": value = "[]"
            case "object": value = "{}"
            default: value = JSONString.quoted("example")
            }
            return "\(JSONString.quoted(name)): \(value)"
        }
        return "{" + fields.joined(separator: ", ") + "}"
    }
}
