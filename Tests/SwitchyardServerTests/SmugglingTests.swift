import Foundation
import NIOCore
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// Request-smuggling attempts (issue 7): each is refused with 400 `invalid_http` and the
/// connection closed; no backend ever sees a request, and the proxy keeps serving.
@Suite struct SmugglingTests {
    static let body = #"{"model":"glm-4.5v","messages":[{"role":"user","content":"Hi"}],"max_tokens":2}"#

    static let attempts: [(String, String)] = [
        (
            "Content-Length and Transfer-Encoding together",
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: \(body.utf8.count)\r\n"
                + "transfer-encoding: chunked\r\n\r\n\(String(body.utf8.count, radix: 16))\r\n\(body)\r\n0\r\n\r\n"
        ),
        (
            "two different Content-Lengths",
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-length: \(body.utf8.count)\r\n"
                + "content-length: 5\r\n\r\n\(body)"
        ),
        (
            "obsolete line folding",
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\nx-note: a\r\n folded\r\ncontent-length: "
                + "\(body.utf8.count)\r\n\r\n\(body)"
        ),
        (
            "a header name with a space",
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent length: \(body.utf8.count)\r\n\r\n\(body)"
        ),
        (
            "a chunked encoding that is not last",
            "POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ntransfer-encoding: chunked, identity\r\n\r\n"
                + "\(String(body.utf8.count, radix: 16))\r\n\(body)\r\n0\r\n\r\n"
        ),
    ]

    @Test(arguments: 0..<attempts.count)
    func smugglingAttemptsAreRefused(index: Int) async throws {
        let (name, request) = Self.attempts[index]
        try await withProxy(configure: { quietProbes(&$0) }) { proxy in
            let before = proxy.sims[0].stats.requestsReceived
            let bytes = try await RawHTTPClient.exchange(port: proxy.port, requests: [request], group: proxy.group)
            let responses = try RawHTTPClient.parseResponses(bytes)
            #expect(responses.count == 1, "\(name): \(String(decoding: bytes, as: UTF8.self))")
            #expect(responses.first?.status == 400, "\(name)")
            #expect(responses.first?.header("x-switchyard-reason") == "invalid_http", "\(name)")
            #expect(proxy.sims[0].stats.requestsReceived == before, "\(name) reached the backend")
            // Still serving.
            let next = try await proxy.post("/v1/chat/completions", Self.body)
            #expect(next.status == 200, "\(name): the proxy stopped serving")
        }
    }
}
