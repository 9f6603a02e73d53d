import Foundation
import NIOCore
import SwitchyardCore

/// One request's measurement, exactly as vLLM's `async_request_openai_chat_completions` /
/// `async_request_openai_completions` take it: every SSE event is timestamped when its bytes
/// arrive; events with non-empty `choices` drive TTFT, ITL and E2EL; the usage event only
/// supplies token counts.
struct StreamMeasurement {
    let backend: BenchBackend
    let start: UInt64  // uptime nanoseconds when the request was begun (before connecting)
    var outcome: RequestOutcome

    private var status = 0
    private var pending: [UInt8] = []
    private var mostRecent: UInt64
    private var receivedChoices = false
    private var errorBody: [UInt8] = []

    init(backend: BenchBackend, start: UInt64, startTime: Double, promptTokens: Int) {
        self.backend = backend
        self.start = start
        self.mostRecent = start
        self.outcome = RequestOutcome(success: false, startTime: startTime, promptTokens: promptTokens)
    }

    mutating func head(status: Int) { self.status = status }

    /// Bytes of the response body, all stamped with `now` (the moment they were read).
    mutating func body(_ buffer: ByteBuffer, now: UInt64) {
        guard status == 200 else {
            if errorBody.count < 2048 { errorBody += buffer.readableBytesView.prefix(2048 - errorBody.count) }
            return
        }
        pending += buffer.readableBytesView
        while let end = Self.eventEnd(in: pending) {
            let message = pending[..<end.start]
            handle(message: message, now: now)
            pending.removeSubrange(..<end.next)
        }
    }

    /// The response ended (`complete`) or the connection failed (`error`).
    mutating func finish(now: UInt64, error: String?) -> RequestOutcome {
        if status == 200 && !pending.isEmpty && error == nil {
            handle(message: pending[...], now: now)  // a last event without its blank line
            pending = []
        }
        if let error {
            outcome.success = false
            outcome.error = error
        } else if status != 200 {
            outcome.success = false
            let text = String(decoding: errorBody, as: UTF8.self)
            outcome.error = "HTTP \(status)" + (text.isEmpty ? "" : ": \(text)")
        } else if receivedChoices {
            outcome.success = true
        } else {
            outcome.success = false
            outcome.error = "Never received a valid chunk to calculate TTFT.This response will be marked as failed!"
        }
        outcome.latency = Double(mostRecent - start) / 1e9
        return outcome
    }

    private mutating func handle(message raw: ArraySlice<UInt8>, now: UInt64) {
        var message = raw.drop { $0 == 0x20 || $0 == 0x0A || $0 == 0x0D }
        while let last = message.last, last == 0x20 || last == 0x0A || last == 0x0D { message = message.dropLast() }
        guard !message.isEmpty, message.first != UInt8(ascii: ":") else { return }  // SSE comment (ping)
        let dataPrefix = Array("data: ".utf8)
        if message.starts(with: dataPrefix) { message = message.dropFirst(dataPrefix.count) }
        if message.elementsEqual("[DONE]".utf8) { return }
        guard let object = try? JSONSerialization.jsonObject(with: Data(message)) as? [String: Any] else {
            return  // vLLM would raise here and fail the request; a proxy never sends such bytes
        }
        if let choices = object["choices"] as? [[String: Any]], let first = choices.first {
            if !receivedChoices {
                receivedChoices = true
                outcome.ttft = Double(now - start) / 1e9
            } else {
                outcome.itl.append(Double(now - mostRecent) / 1e9)
            }
            mostRecent = now
            outcome.contentEvents += 1
            let text: String? =
                switch backend {
                case .openaiChat: (first["delta"] as? [String: Any])?["content"] as? String
                case .openai: first["text"] as? String
                }
            outcome.generatedText += text ?? ""
        } else if let usage = object["usage"] as? [String: Any] {
            outcome.outputTokens = (usage["completion_tokens"] as? NSNumber)?.intValue
            if let prompt = (usage["prompt_tokens"] as? NSNumber)?.intValue { outcome.promptTokens = prompt }
        }
    }

    /// The end of the first complete SSE message (`\n\n`) in `bytes`.
    private static func eventEnd(in bytes: [UInt8]) -> (start: Int, next: Int)? {
        guard bytes.count >= 2 else { return nil }
        for i in 0..<(bytes.count - 1) where bytes[i] == 0x0A && bytes[i + 1] == 0x0A {
            return (i, i + 2)
        }
        return nil
    }
}
