import Foundation
import NIOCore
import SwitchyardCore
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// Hostile and broken input: each gets its documented status and reason, the process keeps
/// serving, and no backend ever sees it.
@Suite struct BadInputTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var label: String
        var body: String
        var path = "/v1/chat/completions"
        var status: Int
        var reason: String
        var testDescription: String { label }
    }

    static let png1x1 =
        "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mNk+M9QDwADhgGAWjR9awAAAABJRU5ErkJggg=="

    static func image(_ url: String) -> String {
        #"{"model":"glm-4.5v","max_tokens":4,"messages":[{"role":"user","content":[{"type":"image_url","image_url":{"url":"\#(url)"}}]}]}"#
    }

    static let cases: [Case] = [
        Case(label: "truncated JSON", body: #"{"model":"glm-4.5v","messages":"#, status: 400, reason: "invalid_json"),
        Case(label: "two documents", body: #"{"model":"glm-4.5v"} {}"#, status: 400, reason: "invalid_json"),
        Case(label: "an array, not an object", body: "[1,2]", status: 400, reason: "invalid_json"),
        Case(label: "empty body", body: "", status: 400, reason: "invalid_json"),
        Case(label: "NUL bytes", body: "{\"model\":\"glm-4.5v\"\u{0}}", status: 400, reason: "invalid_json"),
        Case(
            label: "raw control character in a string", body: "{\"model\":\"a\u{1}b\",\"messages\":[]}", status: 400,
            reason: "invalid_json"),
        Case(
            label: "deeply nested arrays",
            body: "{\"a\":" + String(repeating: "[", count: 100_000) + String(repeating: "]", count: 100_000) + "}",
            status: 400, reason: "invalid_json"),
        Case(
            label: "unterminated nesting", body: String(repeating: "{\"a\":", count: 50_000), status: 400,
            reason: "invalid_json"),
        Case(
            label: "model of the wrong type", body: #"{"model":5,"messages":[]}"#, status: 400, reason: "invalid_field"),
        Case(
            label: "messages not an array", body: #"{"model":"glm-4.5v","messages":"hi"}"#, status: 400,
            reason: "invalid_field"),
        Case(label: "messages missing", body: #"{"model":"glm-4.5v"}"#, status: 400, reason: "invalid_field"),
        Case(
            label: "prompt missing on completions", body: #"{"model":"glm-4.5v","messages":[]}"#,
            path: "/v1/completions", status: 400, reason: "invalid_field"),
        Case(
            label: "huge max_tokens",
            body: #"{"model":"glm-4.5v","messages":[],"max_tokens":99999999999999999999999999}"#, status: 400,
            reason: "invalid_field"),
        Case(
            label: "max_tokens 1e308", body: #"{"model":"glm-4.5v","messages":[],"max_tokens":1e308}"#, status: 400,
            reason: "invalid_field"),
        Case(
            label: "negative max_tokens", body: #"{"model":"glm-4.5v","messages":[],"max_completion_tokens":-5}"#,
            status: 400, reason: "invalid_field"),
        Case(
            label: "priority beyond 32 bits", body: #"{"model":"glm-4.5v","messages":[],"priority":1e400}"#,
            status: 400, reason: "invalid_field"),
        Case(
            label: "stream as an object", body: #"{"model":"glm-4.5v","messages":[],"stream":{}}"#, status: 400,
            reason: "invalid_field"),
        Case(
            label: "broken base64", body: image("data:image/png;base64,!!!notbase64"), status: 400,
            reason: "invalid_image"),
        Case(
            label: "truncated JPEG header", body: image("data:image/jpeg;base64,/9j/4AAQSkZJRg=="), status: 400,
            reason: "invalid_image"),
        Case(
            label: "not an image at all", body: image("data:image/png;base64,SGVsbG8gd29ybGQsIG5vdCBhbiBpbWFnZQ=="),
            status: 400, reason: "invalid_image"),
        Case(label: "unknown URL scheme", body: image("gopher://x/y.png"), status: 400, reason: "invalid_image"),
        Case(label: "file media", body: image("file:///etc/passwd"), status: 400, reason: "file_media_refused"),
        Case(label: "unknown model", body: #"{"model":"nope","messages":[]}"#, status: 404, reason: "unknown_model"),
        Case(
            label: "a context no backend has", body: #"{"model":"glm-4.5v","messages":[],"max_tokens":2000000000}"#,
            status: 400, reason: "context_length_exceeded"),
    ]

    @Test(arguments: cases)
    func refusedBeforeAnyBackend(_ c: Case) async throws {
        try await withProxy { proxy in
            let response = try await proxy.post(c.path, c.body)
            #expect(response.status == c.status, "\(response.bodyString.prefix(300))")
            #expect(response.header("x-switchyard-reason") == c.reason, "\(response.bodyString.prefix(300))")
            let error = try response.json()["error"] as? [String: Any]
            #expect(error?["code"] as? Int == c.status)
            #expect((error?["message"] as? String)?.isEmpty == false)
            #expect(proxy.sims[0].stats.generationsStarted == 0)
            // Still serving.
            let good = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            #expect(good.status == 200)
        }
    }

    @Test func oversizedHeadsBodiesAndRawGarbageAreRefusedAndTheProxyStaysUp() async throws {
        try await withProxy(configure: { $0.limits.maxBodyBytes = 64 * 1024 }) { proxy in
            let bigHead = try await proxy.request(
                "GET", "/v1/models", headers: [("x-filler", String(repeating: "a", count: 70 * 1024))])
            #expect(bigHead.status == 431)
            let bigBody = try await proxy.post(
                "/v1/chat/completions",
                #"{"model":"glm-4.5v","messages":[],"x":""#
                    + String(repeating: "a", count: 70 * 1024) + #""}"#)
            #expect(bigBody.status == 413)
            #expect(bigBody.header("x-switchyard-reason") == "body_too_large")
            for garbage in ["\u{0}\u{1}\u{2}\r\n\r\n", "GET / HTTP/9.9\r\n\r\n", "HELLO\r\n\r\n"] {
                let bytes = try await RawHTTPClient.exchange(port: proxy.port, requests: [garbage], group: proxy.group)
                let text = String(decoding: bytes, as: UTF8.self)
                #expect(text.isEmpty || text.hasPrefix("HTTP/1.1 400"), "\(text.prefix(80))")
            }
            #expect(proxy.sims[0].stats.generationsStarted == 0)
            let good = try await proxy.post("/v1/chat/completions", chatRequest(stream: false))
            #expect(good.status == 200)
        }
    }

    @Test func aSlowClientMeetsTheDeadlinesAndNoBackendWaitsForIt() async throws {
        try await withProxy(configure: { $0.limits.bodyTimeout = .milliseconds(200) }) { proxy in
            let partial =
                "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
                + "content-length: 1000\r\n\r\n{\"model\":"
            let bytes = try await RawHTTPClient.exchange(port: proxy.port, requests: [partial], group: proxy.group)
            let response = try #require(try RawHTTPClient.parseResponses(bytes).first)
            #expect(response.status == 408)
            #expect(response.header("x-switchyard-reason") == "client_timeout")
            #expect(proxy.sims[0].stats.generationsStarted == 0)
        }
    }
}
