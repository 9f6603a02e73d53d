import Foundation
import Testing

@testable import SwitchyardCore

@Suite("OpenAIError and JSONString")
struct OpenAIErrorTests {
    @Test("unknownModel is vLLM's 404 body, byte for byte")
    func unknownModelBytes() {
        let error = OpenAIError.unknownModel("X", validNames: ["a", "b"])
        #expect(
            error.jsonBody
                == #"{"error":{"message":"The model `X` does not exist. Valid aliases: a, b.","type":"NotFoundError","param":"model","code":404}}"#
        )
        #expect(OpenAIError.unknownModel("X", validNames: []).message == "The model `X` does not exist.")
        #expect(error.status == 404)
        #expect(error.reason == "unknown_model")
        #expect(error.retryAfterSeconds == nil)
    }

    @Test("a nil param is JSON null; the code is the status")
    func nullParam() {
        let error = OpenAIError(status: 503, message: "busy", reason: "r", retryAfterSeconds: 2)
        #expect(
            error.jsonBody
                == #"{"error":{"message":"busy","type":"ServiceUnavailableError","param":null,"code":503}}"#)
    }

    @Test(
        "default type per status",
        arguments: [
            (400, "BadRequestError"), (401, "AuthenticationError"), (403, "PermissionDeniedError"),
            (404, "NotFoundError"), (408, "RequestTimeoutError"), (413, "RequestEntityTooLargeError"),
            (429, "RateLimitError"), (431, "RequestHeaderFieldsTooLargeError"), (501, "NotImplementedError"),
            (502, "BadGatewayError"), (503, "ServiceUnavailableError"), (504, "GatewayTimeoutError"),
            (500, "InternalServerError"), (507, "InternalServerError"), (418, "BadRequestError"),
        ])
    func defaultType(status: Int, type: String) {
        #expect(OpenAIError.defaultType(forStatus: status) == type)
        #expect(OpenAIError(status: status, message: "m", reason: "r").type == type)
    }

    @Test("an explicit type overrides the default")
    func explicitType() {
        #expect(OpenAIError(status: 400, message: "m", type: "Custom", reason: "r").type == "Custom")
    }

    @Test(
        "JSONString.quoted escapes exactly what JSON needs",
        arguments: [
            ("", #""""#),
            ("plain", #""plain""#),
            (#"a"b"#, #""a\"b""#),
            (#"a\b"#, #""a\\b""#),
            ("a\nb", #""a\nb""#),
            ("a\rb", #""a\rb""#),
            ("a\tb", #""a\tb""#),
            ("\u{0}", #""\u0000""#),
            ("\u{1}", #""\u0001""#),
            ("\u{8}", #""\u0008""#),
            ("\u{C}", #""\u000c""#),
            ("\u{1B}[0m", #""\u001b[0m""#),
            ("\u{1F}", #""\u001f""#),
            (" ~\u{7F}", "\" ~\u{7F}\""),
            ("a/b", #""a/b""#),
            ("`x` é 😀", "\"`x` é 😀\""),
            ("\u{2028}", "\"\u{2028}\""),
        ])
    func quoted(input: String, expected: String) {
        #expect(JSONString.quoted(input) == expected)
    }

    static let nastyMessages: [String] = [
        "The model `a\"b` does not exist.",
        #"C:\path\to\model"#,
        "line1\nline2\r\nline3\ttabbed",
        "nul\u{0} bell\u{7} esc\u{1B} us\u{1F} del\u{7F}",
        "unicode: 模型 😀 \u{2028}\u{2029} \u{FEFF}",
        String(repeating: "\"\\", count: 1000),
        "",
    ]

    @Test("error bodies round-trip through JSONSerialization", arguments: nastyMessages)
    func roundTrip(message: String) throws {
        let error = OpenAIError(status: 400, message: message, param: "p\"\n", reason: "r")
        let parsed = try JSONSerialization.jsonObject(with: Data(error.jsonBody.utf8)) as? [String: Any]
        let inner = try #require(parsed?["error"] as? [String: Any])
        #expect(inner["message"] as? String == message)
        #expect(inner["type"] as? String == "BadRequestError")
        #expect(inner["param"] as? String == "p\"\n")
        #expect((inner["code"] as? NSNumber)?.intValue == 400)
        #expect(Set(inner.keys) == ["message", "type", "param", "code"])

        let quoted = JSONString.quoted(message)
        let decoded = try JSONSerialization.jsonObject(with: Data(quoted.utf8), options: [.fragmentsAllowed])
        #expect(decoded as? String == message)
    }

    @Test("unknownModel with a hostile model name still yields valid JSON carrying the name")
    func hostileModelName() throws {
        let name = "x\"}],\"evil\":{\"a\":\"\\\n"
        let body = OpenAIError.unknownModel(name, validNames: []).jsonBody
        let parsed = try #require(jsonObject(body))
        let inner = try #require(parsed["error"] as? [String: Any])
        #expect(inner["message"] as? String == "The model `\(name)` does not exist.")
        #expect(parsed.count == 1)
    }
}
