import NIOCore
import SwitchyardCore

/// The two request shapes `vllm bench serve` sends, field for field.
public enum BenchBackend: String, Sendable, CaseIterable {
    /// `/v1/chat/completions`: one user message, a text part then the image parts.
    case openaiChat = "openai-chat"
    /// `/v1/completions`: a plain prompt.
    case openai

    public var defaultEndpoint: String {
        switch self {
        case .openaiChat: "/v1/chat/completions"
        case .openai: "/v1/completions"
        }
    }
}

enum RequestBody {
    /// Writes the JSON body of `request` into a buffer. Data URLs (base64, JSON-safe) are copied
    /// once, straight from the dataset's shared strings; bodies are built at send time so a
    /// thousand multi-megabyte image requests never sit in memory together.
    static func make(
        _ request: BenchRequest, backend: BenchBackend, model: String, ignoreEOS: Bool, allocator: ByteBufferAllocator
    ) -> ByteBuffer {
        var buffer = allocator.buffer(capacity: request.prompt.utf8.count + request.imageBytes + 512)
        buffer.writeString("{\"model\":")
        buffer.writeString(JSONString.quoted(model))
        switch backend {
        case .openaiChat:
            buffer.writeString(",\"messages\":[{\"role\":\"user\",\"content\":[{\"type\":\"text\",\"text\":")
            writeQuoted(request.prompt, into: &buffer)
            buffer.writeString("}")
            for url in request.imageURLs {
                buffer.writeString(",{\"type\":\"image_url\",\"image_url\":{\"url\":")
                writeQuoted(url, into: &buffer)
                buffer.writeString("}}")
            }
            buffer.writeString("]}],\"max_completion_tokens\":\(request.outputTokens)")
        case .openai:
            buffer.writeString(",\"prompt\":")
            writeQuoted(request.prompt, into: &buffer)
            buffer.writeString(",\"repetition_penalty\":1.0,\"max_tokens\":\(request.outputTokens),\"logprobs\":null")
        }
        buffer.writeString(",\"stream\":true,\"stream_options\":{\"include_usage\":true}")
        if ignoreEOS { buffer.writeString(",\"ignore_eos\":true") }
        buffer.writeString("}")
        return buffer
    }

    /// Base64 data URLs need no escaping: they are copied as they are (the common, large case).
    private static func writeQuoted(_ string: String, into buffer: inout ByteBuffer) {
        if string.utf8.allSatisfy({ $0 >= 0x20 && $0 != UInt8(ascii: "\"") && $0 != UInt8(ascii: "\\") }) {
            buffer.writeInteger(UInt8(ascii: "\""))
            buffer.writeString(string)
            buffer.writeInteger(UInt8(ascii: "\""))
        } else {
            buffer.writeString(JSONString.quoted(string))
        }
    }
}
