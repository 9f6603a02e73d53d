import SwitchyardCore

/// JSON bodies and SSE events, byte for byte in vLLM's key order.
enum SimResponses {
    // MARK: Plain endpoints

    static func models(_ configuration: SimReplicaConfiguration, created: Int, permissionID: String) -> String {
        let permission =
            "{\"id\":\(JSONString.quoted("modelperm-" + permissionID)),\"object\":\"model_permission\","
            + "\"created\":\(created),\"allow_create_engine\":false,\"allow_sampling\":true,"
            + "\"allow_logprobs\":true,\"allow_search_indices\":false,\"allow_view\":true,"
            + "\"allow_fine_tuning\":false,\"organization\":\"*\",\"group\":null,\"is_blocking\":false}"
        return "{\"object\":\"list\",\"data\":[{\"id\":\(JSONString.quoted(configuration.servedModelName)),"
            + "\"object\":\"model\",\"created\":\(created),\"owned_by\":\"vllm\","
            + "\"root\":\(JSONString.quoted(configuration.modelRoot)),\"parent\":null,"
            + "\"max_model_len\":\(configuration.maxModelLen),\"permission\":[\(permission)]}]}"
    }

    static let version = "{\"version\":\"0.0.0-switchyard-sim\"}"
    static let notFound = "{\"detail\":\"Not Found\"}"
    static let methodNotAllowed = "{\"detail\":\"Method Not Allowed\"}"

    /// `/tokenize`; the ids are placeholders (deterministic, not a real vocabulary).
    static func tokenize(count: Int, maxModelLen: Int) -> String {
        let tokens = (0..<count).map { String(SimText.tokenID($0)) }.joined(separator: ",")
        return "{\"count\":\(count),\"max_model_len\":\(maxModelLen),\"tokens\":[\(tokens)],\"token_strs\":null}"
    }

    // MARK: Generations

    static func usage(prompt: Int, completion: Int) -> String {
        "{\"prompt_tokens\":\(prompt),\"total_tokens\":\(prompt + completion),\"completion_tokens\":\(completion)}"
    }

    /// One `data: ...\n\n` event.
    static func event(_ json: String) -> String {
        "data: \(json)\n\n"
    }

    static let done = "data: [DONE]\n\n"

    /// `GET /sim/state`: queue, batch, KV use and counters.
    static func state(_ stats: SimReplicaStats, faults: SimFaults) -> String {
        "{\"waiting\":\(stats.engineWaiting),\"running\":\(stats.engineRunning),\"kv_cache_usage\":\(stats.kvCacheUsage),"
            + "\"preemptions\":\(stats.preemptions),\"generations_running\":\(stats.running),"
            + "\"generations_started\":\(stats.generationsStarted),\"generations_completed\":\(stats.generationsCompleted),"
            + "\"generations_aborted\":\(stats.generationsAborted),\"requests_received\":\(stats.requestsReceived),"
            + "\"connections_accepted\":\(stats.connectionsAccepted),"
            + "\"completion_tokens_generated\":\(stats.completionTokensGenerated),\"faults\":\(faults.json)}"
    }

    /// The chat role chunk that opens a chat stream.
    static func chatRoleChunk(_ stream: SimStreamIdentity) -> String {
        stream.chunkPrefix
            + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},"
            + "\"logprobs\":null,\"finish_reason\":null}]}"
    }

    /// One content chunk; the last one carries the finish reason (`length` at the budget,
    /// `stop` when the model ended on its own).
    static func contentChunk(
        _ stream: SimStreamIdentity, text: String, last: Bool, finishReason: String = "length"
    ) -> String {
        let finish = last ? "\"finish_reason\":\"\(finishReason)\",\"stop_reason\":null" : "\"finish_reason\":null"
        switch stream.endpoint {
        case .chatCompletions:
            return stream.chunkPrefix
                + "\"choices\":[{\"index\":0,\"delta\":{\"content\":\(JSONString.quoted(text))},"
                + "\"logprobs\":null,\(finish)}]}"
        case .completions:
            let stop = last ? "" : ",\"stop_reason\":null"
            return stream.chunkPrefix
                + "\"choices\":[{\"index\":0,\"text\":\(JSONString.quoted(text)),\"logprobs\":null,\(finish)\(stop)}]}"
        }
    }

    /// A reasoning token as the glm45 reasoning parser streams it (both field names).
    static func reasoningChunk(_ stream: SimStreamIdentity, text: String) -> String {
        let quoted = JSONString.quoted(text)
        return stream.chunkPrefix
            + "\"choices\":[{\"index\":0,\"delta\":{\"reasoning\":\(quoted),\"reasoning_content\":\(quoted)},"
            + "\"logprobs\":null,\"finish_reason\":null}]}"
    }

    /// The glm45 tool parser's single burst: the whole call, and the request's end.
    static func toolCallChunk(_ stream: SimStreamIdentity, name: String, arguments: String, callID: String) -> String {
        stream.chunkPrefix
            + "\"choices\":[{\"index\":0,\"delta\":{\"tool_calls\":[{\"index\":0,\"id\":\(JSONString.quoted(callID)),"
            + "\"type\":\"function\",\"function\":{\"name\":\(JSONString.quoted(name)),"
            + "\"arguments\":\(JSONString.quoted(arguments))}}]},\"logprobs\":null,\"finish_reason\":\"tool_calls\","
            + "\"stop_reason\":null}]}"
    }

    /// The final usage chunk (`choices: []`).
    static func usageChunk(_ stream: SimStreamIdentity, prompt: Int, completion: Int) -> String {
        stream.chunkPrefix + "\"choices\":[],\"usage\":\(usage(prompt: prompt, completion: completion))}"
    }

    /// The whole answer of a non-streaming request.
    static func completeBody(
        _ stream: SimStreamIdentity, text: String, prompt: Int, completion: Int, finishReason: String = "length",
        reasoning: String? = nil, toolCall: (name: String, arguments: String, id: String)? = nil
    ) -> String {
        let reasoningJSON = reasoning.map(JSONString.quoted) ?? "null"
        let toolCalls =
            toolCall.map {
                "[{\"id\":\(JSONString.quoted($0.id)),\"type\":\"function\",\"function\":{\"name\":\(JSONString.quoted($0.name)),"
                    + "\"arguments\":\(JSONString.quoted($0.arguments))}}]"
            } ?? "[]"
        let head =
            "{\"id\":\(JSONString.quoted(stream.id)),\"object\":\"\(stream.endpoint.completeObject)\","
            + "\"created\":\(stream.created),\"model\":\(JSONString.quoted(stream.model)),"
        switch stream.endpoint {
        case .chatCompletions:
            return head
                + "\"choices\":[{\"index\":0,\"message\":{\"role\":\"assistant\",\"content\":\(JSONString.quoted(text)),"
                + "\"reasoning_content\":\(reasoningJSON),\"tool_calls\":\(toolCalls)},\"logprobs\":null,\"finish_reason\":\"\(finishReason)\","
                + "\"stop_reason\":null}],\"usage\":\(usage(prompt: prompt, completion: completion)),"
                + "\"prompt_logprobs\":null}"
        case .completions:
            return head
                + "\"choices\":[{\"index\":0,\"text\":\(JSONString.quoted(text)),\"logprobs\":null,"
                + "\"finish_reason\":\"\(finishReason)\",\"stop_reason\":null,\"prompt_logprobs\":null}],"
                + "\"usage\":\(usage(prompt: prompt, completion: completion))}"
        }
    }
}

/// The fields every chunk of one response repeats.
struct SimStreamIdentity: Sendable {
    var endpoint: SimEndpoint
    var id: String
    var created: Int
    var model: String

    /// `{"id":..,"object":..,"created":..,"model":..,` (the choices follow).
    var chunkPrefix: String {
        "{\"id\":\(JSONString.quoted(id)),\"object\":\"\(endpoint.chunkObject)\",\"created\":\(created),"
            + "\"model\":\(JSONString.quoted(model)),"
    }
}

extension SimEndpoint {
    /// vLLM's id prefix (`chatcmpl-` / `cmpl-`).
    var idPrefix: String {
        switch self {
        case .chatCompletions: "chatcmpl-"
        case .completions: "cmpl-"
        }
    }

    var chunkObject: String {
        switch self {
        case .chatCompletions: "chat.completion.chunk"
        case .completions: "text_completion"
        }
    }

    var completeObject: String {
        switch self {
        case .chatCompletions: "chat.completion"
        case .completions: "text_completion"
        }
    }
}

/// The deterministic text the sim "generates": token k is `words[k % words.count]`.
enum SimText {
    static let words = [
        "Hello", " world", ",", " this", " is", " a", " simulated", " vLLM", " replica", " answering",
        " with", " deterministic", " tokens", ".",
    ]

    static func token(_ index: Int) -> String {
        words[index % words.count]
    }

    static func text(tokens: Int) -> String {
        (0..<tokens).map(token).joined()
    }

    /// Placeholder token id for `/tokenize`.
    static func tokenID(_ index: Int) -> Int {
        1000 + index % 150_000
    }
}
