import Foundation
import Testing

@testable import SwitchyardCore

// MARK: - Valid bodies: what is extracted

struct SummaryCase: Sendable, CustomTestStringConvertible {
    var label: String
    var body: String
    var expected: RequestSummary
    var testDescription: String { label }
}

@Suite("RequestInspector: extraction from valid bodies")
struct RequestInspectorExtractionTests {
    static let cases: [SummaryCase] = [
        SummaryCase(label: "minimal object", body: "{}", expected: RequestSummary()),
        SummaryCase(
            label: "whitespace everywhere", body: " \t\r\n{ \"model\" : \"m\" , \"stream\" : true } \n",
            expected: RequestSummary(model: "m", stream: true)),
        SummaryCase(
            label: "chat with nested messages",
            body: """
                {"model":"meta-llama/Llama-3.1-8B-Instruct","messages":[
                  {"role":"system","content":"You are helpful."},
                  {"role":"user","content":"Hello"},
                  {"role":"assistant","content":null,"tool_calls":[{"id":"c1","type":"function",
                    "function":{"name":"f","arguments":"{\\"x\\":1}"}}]},
                  {"role":"tool","tool_call_id":"c1","content":"42"}
                ],"temperature":0.7,"top_p":1,"n":1,"stop":["\\n\\n"],"seed":-3,"logit_bias":{"50256":-100}}
                """,
            expected: RequestSummary(model: "meta-llama/Llama-3.1-8B-Instruct")),
        SummaryCase(
            label: "content array with image_url parts",
            body: """
                {"messages":[{"role":"user","content":[
                  {"type":"text","text":"What is in this image?"},
                  {"type":"image_url","image_url":{"url":"data:image/png;base64,iVBORw0KGgo=","detail":"high"}}
                ]}],"model":"llava","stream":true,"stream_options":{"include_usage":true},"max_tokens":300}
                """,
            expected: RequestSummary(model: "llava", stream: true, includeUsage: true, outputBudget: 300)),
        SummaryCase(
            label: "completions with a prompt list",
            body: #"{"model":"m","prompt":["a","b"],"max_tokens":16,"echo":false}"#,
            expected: RequestSummary(model: "m", outputBudget: 16)),
        SummaryCase(
            label: "escaped quotes and backslashes in model", body: #"{"model":"a\"b\\c\/d"}"#,
            expected: RequestSummary(model: #"a"b\c/d"#)),
        SummaryCase(
            label: "control escapes in model", body: #"{"model":"\b\f\n\r\t"}"#,
            expected: RequestSummary(model: "\u{08}\u{0C}\n\r\t")),
        SummaryCase(
            label: "BMP unicode escape in model", body: #"{"model":"caf\u00e9-\u00E9"}"#,
            expected: RequestSummary(model: "café-é")),
        SummaryCase(
            label: "surrogate pair in model", body: #"{"model":"emoji-\ud83d\ude00!"}"#,
            expected: RequestSummary(model: "emoji-😀!")),
        SummaryCase(
            label: "raw UTF-8 in model", body: #"{"model":"模型-😀"}"#, expected: RequestSummary(model: "模型-😀")),
        SummaryCase(
            label: "lone high surrogate becomes U+FFFD", body: #"{"model":"a\ud800b"}"#,
            expected: RequestSummary(model: "a\u{FFFD}b")),
        SummaryCase(
            label: "lone low surrogate becomes U+FFFD", body: #"{"model":"a\udc00b"}"#,
            expected: RequestSummary(model: "a\u{FFFD}b")),
        SummaryCase(
            label: "high surrogate at end becomes U+FFFD", body: #"{"model":"a\ud83d"}"#,
            expected: RequestSummary(model: "a\u{FFFD}")),
        SummaryCase(
            label: "two highs then a low", body: #"{"model":"\ud800\ud83d\ude00"}"#,
            expected: RequestSummary(model: "\u{FFFD}😀")),
        SummaryCase(
            label: "escaped member name is the same member", body: #"{"mod\u0065l":"m","str\u0065am":true}"#,
            expected: RequestSummary(model: "m", stream: true)),
        SummaryCase(
            label: "duplicate model: last wins (as in Python's json)", body: #"{"model":"a","model":"b"}"#,
            expected: RequestSummary(model: "b")),
        SummaryCase(label: "model null", body: #"{"model":null}"#, expected: RequestSummary()),
        SummaryCase(label: "model number", body: #"{"model":5}"#, expected: RequestSummary()),
        SummaryCase(label: "model object", body: #"{"model":{"model":"x"}}"#, expected: RequestSummary()),
        SummaryCase(label: "empty model string", body: #"{"model":""}"#, expected: RequestSummary(model: "")),
        SummaryCase(label: "stream false", body: #"{"stream":false}"#, expected: RequestSummary(stream: false)),
        SummaryCase(label: "stream as string is ignored", body: #"{"stream":"true"}"#, expected: RequestSummary()),
        SummaryCase(label: "stream null", body: #"{"stream":null}"#, expected: RequestSummary()),
        // stream_options
        SummaryCase(
            label: "include_usage false", body: #"{"stream":true,"stream_options":{"include_usage":false}}"#,
            expected: RequestSummary(stream: true, includeUsage: false)),
        SummaryCase(
            label: "empty stream_options means include_usage true (vLLM's default)", body: #"{"stream_options":{}}"#,
            expected: RequestSummary(includeUsage: true)),
        SummaryCase(
            label: "include_usage null means false", body: #"{"stream_options":{"include_usage":null}}"#,
            expected: RequestSummary(includeUsage: false)),
        SummaryCase(
            label: "stream_options with other members only",
            body: #"{"stream_options":{"continuous_usage_stats":true}}"#, expected: RequestSummary(includeUsage: true)),
        SummaryCase(
            label: "stream_options null means absent", body: #"{"stream_options":null}"#, expected: RequestSummary()),
        SummaryCase(
            label: "include_usage not a bool: stream_options is present, so vLLM's default (true)",
            body: #"{"stream_options":{"include_usage":"yes"}}"#, expected: RequestSummary(includeUsage: true)),
        SummaryCase(
            label: "include_usage deeper than stream_options is ignored",
            body: #"{"stream_options":{"x":{"include_usage":false}}}"#, expected: RequestSummary(includeUsage: true)),
        SummaryCase(
            label: "stream_options below another member is ignored",
            body: #"{"extra_body":{"stream_options":{"include_usage":true}}}"#, expected: RequestSummary()),
        // output budget
        SummaryCase(
            label: "max_tokens only", body: #"{"max_tokens":100}"#, expected: RequestSummary(outputBudget: 100)),
        SummaryCase(
            label: "max_completion_tokens only", body: #"{"max_completion_tokens":7}"#,
            expected: RequestSummary(outputBudget: 7)),
        SummaryCase(
            label: "max_completion_tokens wins (first)", body: #"{"max_completion_tokens":50,"max_tokens":100}"#,
            expected: RequestSummary(outputBudget: 50)),
        SummaryCase(
            label: "max_completion_tokens wins (second)", body: #"{"max_tokens":100,"max_completion_tokens":50}"#,
            expected: RequestSummary(outputBudget: 50)),
        SummaryCase(
            label: "null max_completion_tokens falls back to max_tokens",
            body: #"{"max_completion_tokens":null,"max_tokens":100}"#, expected: RequestSummary(outputBudget: 100)),
        SummaryCase(label: "fractional max_tokens ignored", body: #"{"max_tokens":1.5}"#, expected: RequestSummary()),
        SummaryCase(
            label: "integral float max_tokens counts, as in pydantic's lax mode", body: #"{"max_tokens":100.0}"#,
            expected: RequestSummary(outputBudget: 100)),
        SummaryCase(
            label: "exponent max_completion_tokens counts", body: #"{"max_completion_tokens":1e3}"#,
            expected: RequestSummary(outputBudget: 1000)),
        SummaryCase(
            label: "a UTF-8 byte order mark is tolerated", body: "\u{FEFF}{\"model\":\"m\"}",
            expected: RequestSummary(model: "m")),
        SummaryCase(
            label: "4-byte UTF-8 in a skipped string", body: "{\"prompt\":\"😀 𝄞 ü 模型\",\"model\":\"m\"}",
            expected: RequestSummary(model: "m")),
        SummaryCase(label: "string max_tokens ignored", body: #"{"max_tokens":"100"}"#, expected: RequestSummary()),
        SummaryCase(label: "zero max_tokens", body: #"{"max_tokens":0}"#, expected: RequestSummary(outputBudget: 0)),
        SummaryCase(
            label: "max_tokens beyond Int is ignored, not a crash",
            body: #"{"max_tokens":123456789012345678901234567890}"#,
            expected: RequestSummary()),
        SummaryCase(
            label: "numbers: -0, exponents", body: #"{"a":-0,"b":1E+2,"c":-1.5e-3,"d":0.0}"#, expected: RequestSummary()
        ),
        SummaryCase(
            label: "all literals and empty containers",
            body: #"{"a":true,"b":false,"c":null,"d":[],"e":{},"f":[[],{}]}"#,
            expected: RequestSummary()),
        SummaryCase(
            label: "DEL and non-ASCII bytes are legal in strings", body: "{\"x\":\"\u{7F}é\"}",
            expected: RequestSummary()),
    ]

    @Test(arguments: cases)
    func extracts(_ c: SummaryCase) {
        #expect(inspect(c.body) == .success(c.expected))
    }

    // Same-named members below the top level must never be taken for the request's own.
    static let nestedDecoys: [SummaryCase] = [
        SummaryCase(
            label: "model and stream inside a message, top-level model after",
            body:
                #"{"messages":[{"role":"user","content":"hi","model":"evil","stream":true,"max_tokens":9}],"model":"good"}"#,
            expected: RequestSummary(model: "good")),
        SummaryCase(
            label: "model inside a message, top-level model before",
            body: #"{"model":"good","messages":[{"role":"user","model":"evil","stream":true}]}"#,
            expected: RequestSummary(model: "good")),
        SummaryCase(
            label: "no top-level model, one in a message",
            body: #"{"messages":[{"role":"user","content":"x","model":"evil"}]}"#, expected: RequestSummary()),
        SummaryCase(
            label: "depth-2 members of another object",
            body:
                #"{"metadata":{"model":"evil","stream":true,"max_tokens":5,"max_completion_tokens":6,"stream_options":{"include_usage":true}}}"#,
            expected: RequestSummary()),
        SummaryCase(
            label: "member names inside string values",
            body:
                #"{"messages":[{"role":"user","content":"\"model\":\"evil\",\"stream\":true"}],"prompt":"{\"model\":\"x\"}"}"#,
            expected: RequestSummary()),
        SummaryCase(
            label: "tool schema with model/stream properties",
            body:
                #"{"model":"m","tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"model":{"type":"string"},"stream":{"type":"boolean"}}}}}]}"#,
            expected: RequestSummary(model: "m")),
        SummaryCase(
            label: "top-level array elements are not members",
            body: #"{"n":[{"model":"evil"},"model",["stream",true]]}"#, expected: RequestSummary()),
        SummaryCase(
            label: "content part objects deep inside",
            body:
                #"{"messages":[{"content":[{"type":"text","text":"t","model":"evil","stream_options":{"include_usage":true}}]}]}"#,
            expected: RequestSummary()),
    ]

    @Test(arguments: nestedDecoys)
    func ignoresNestedMembers(_ c: SummaryCase) {
        #expect(inspect(c.body) == .success(c.expected))
    }

    @Test("a multi-megabyte base64 image is skipped and members after it are still read")
    func hugeBase64Value() throws {
        let alphabet = Array("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/".utf8)
        var image = [UInt8]()
        image.reserveCapacity(6 << 20)
        for i in 0..<(6 << 20) { image.append(alphabet[(i &* 2_654_435_761) >> 7 & 63]) }
        let head = Array(
            #"{"messages":[{"role":"user","content":[{"type":"text","text":"describe"},{"type":"image_url","image_url":{"url":"data:image/jpeg;base64,"#
                .utf8)
        let tail = Array(#""}}]}],"model":"vision\u002dmodel","stream":true,"max_completion_tokens":64}"#.utf8)
        let body = head + image + tail
        #expect(body.count > 6_000_000)
        #expect(
            inspect(bytes: body) == .success(RequestSummary(model: "vision-model", stream: true, outputBudget: 64)))

        // The same document cut inside the image: an unterminated string.
        let truncated = head + image
        let error = try #require(failure(bytes: truncated))
        #expect(error.status == 400)
        #expect(error.reason == "invalid_json")
        #expect(error.message.contains("at byte \(truncated.count)"))
    }

    @Test("model(in:) returns the top-level model or nil")
    func modelIn() {
        #expect(modelName(in: #"{"model":"m","messages":[]}"#) == "m")
        #expect(modelName(in: #"{"messages":[{"model":"evil"}]}"#) == nil)
        #expect(modelName(in: "") == nil)
        #expect(modelName(in: "   ") == nil)
        #expect(modelName(in: #"{"model":"m""#) == nil)
        #expect(modelName(in: #"{"model":"m"} x"#) == nil)
        #expect(modelName(in: #"["model","m"]"#) == nil)
        #expect(modelName(in: #""model""#) == nil)
        #expect(modelName(in: "null") == nil)
        #expect(modelName(in: #"{"model":7}"#) == nil)
    }
}

// MARK: - Invalid documents: vLLM's 400

struct InvalidCase: Sendable, CustomTestStringConvertible {
    var label: String
    var bytes: [UInt8]
    init(_ label: String, _ text: String) {
        self.label = label
        self.bytes = Array(text.utf8)
    }
    init(_ label: String, bytes: [UInt8]) {
        self.label = label
        self.bytes = bytes
    }
    var testDescription: String { label }
}

@Suite("RequestInspector: invalid bodies are 400 invalid_json")
struct RequestInspectorInvalidTests {
    static let cases: [InvalidCase] = [
        InvalidCase("empty body", ""),
        InvalidCase("whitespace only", " \n\t "),
        InvalidCase("truncated object", #"{"model":"m","stream":tr"#),
        InvalidCase("truncated after colon", #"{"model":"#),
        InvalidCase("truncated after comma", #"{"model":"m","#),
        InvalidCase("only an opening brace", "{"),
        InvalidCase("unterminated string", #"{"model":"m"#),
        InvalidCase("unterminated member name", #"{"mod"#),
        InvalidCase("trailing garbage", #"{"model":"m"}x"#),
        InvalidCase("two objects", #"{"a":1}{"b":2}"#),
        InvalidCase("trailing comma in object", #"{"model":"m",}"#),
        InvalidCase("trailing comma in array", #"{"stop":["a",]}"#),
        InvalidCase("leading comma in array", #"{"stop":[,"a"]}"#),
        InvalidCase("missing comma", #"{"a":1 "b":2}"#),
        InvalidCase("missing colon", #"{"a" 1}"#),
        InvalidCase("missing value", #"{"a":}"#),
        InvalidCase("unquoted member name", #"{model:"m"}"#),
        InvalidCase("single-quoted member name", "{'model':'m'}"),
        InvalidCase("single-quoted value", #"{"model":'m'}"#),
        InvalidCase("raw newline inside a string", "{\"model\":\"a\nb\"}"),
        InvalidCase("raw tab inside a string", "{\"model\":\"a\tb\"}"),
        InvalidCase("raw NUL inside a skipped string", "{\"prompt\":\"a\u{0}b\"}"),
        InvalidCase("raw control char inside a member name", "{\"mo\u{1F}del\":1}"),
        InvalidCase("bad escape \\x", #"{"model":"\x41"}"#),
        InvalidCase("bad escape \\x in a skipped string", #"{"prompt":"\x41"}"#),
        InvalidCase("bad escape \\a", #"{"prompt":"\a"}"#),
        InvalidCase("short unicode escape \\u12", #"{"model":"\u12"}"#),
        InvalidCase("short unicode escape at the end", #"{"model":"\u12"#),
        InvalidCase("non-hex unicode escape", #"{"prompt":"\u12G4"}"#),
        InvalidCase("backslash at the end", #"{"model":"\"#),
        InvalidCase("leading zero", #"{"max_tokens":01}"#),
        InvalidCase("negative leading zero", #"{"max_tokens":-01}"#),
        InvalidCase("lone minus", #"{"max_tokens":-}"#),
        InvalidCase("plus sign", #"{"max_tokens":+1}"#),
        InvalidCase("dot without fraction", #"{"max_tokens":1.}"#),
        InvalidCase("dot without integer part", #"{"max_tokens":.5}"#),
        InvalidCase("exponent without digits", #"{"max_tokens":1e}"#),
        InvalidCase("exponent sign without digits", #"{"max_tokens":1e+}"#),
        InvalidCase("NaN", #"{"temperature":NaN}"#),
        InvalidCase("Infinity", #"{"temperature":Infinity}"#),
        InvalidCase("hex number", #"{"max_tokens":0x10}"#),
        InvalidCase("capitalised literal", #"{"stream":True}"#),
        InvalidCase("truncated literal", #"{"stream":tru}"#),
        InvalidCase("literal cut by end", #"{"stream":nul"#),
        InvalidCase("top-level array", #"[{"model":"m"}]"#),
        InvalidCase("top-level string", #""model""#),
        InvalidCase("top-level number", "42"),
        InvalidCase("top-level null", "null"),
        InvalidCase("byte order mark before an array", "\u{FEFF}[]"),
        InvalidCase(
            "invalid UTF-8: lone continuation byte", bytes: Array(#"{"prompt":""#.utf8) + [0x80] + Array(#""}"#.utf8)),
        InvalidCase(
            "invalid UTF-8: overlong '/'", bytes: Array(#"{"prompt":""#.utf8) + [0xC0, 0xAF] + Array(#""}"#.utf8)),
        InvalidCase(
            "invalid UTF-8: surrogate", bytes: Array(#"{"prompt":""#.utf8) + [0xED, 0xA0, 0x80] + Array(#""}"#.utf8)),
        InvalidCase(
            "invalid UTF-8: past U+10FFFF",
            bytes: Array(#"{"prompt":""#.utf8) + [0xF4, 0x90, 0x80, 0x80] + Array(#""}"#.utf8)),
        InvalidCase(
            "invalid UTF-8: truncated sequence", bytes: Array(#"{"prompt":""#.utf8) + [0xE6, 0xA8] + Array(#""}"#.utf8)),
        InvalidCase("invalid UTF-8: 0xFF", bytes: Array(#"{"prompt":""#.utf8) + [0xFF] + Array(#""}"#.utf8)),
        InvalidCase("comment", "{} // c"),
        InvalidCase("non-breaking space as whitespace", "{\u{A0}}"),
        InvalidCase("unclosed array", #"{"stop":["a""#),
        InvalidCase("mismatched brackets", #"{"stop":["a"}]"#),
    ]

    @Test(arguments: cases)
    func rejects(_ c: InvalidCase) throws {
        let error = try #require(failure(bytes: c.bytes))
        #expect(error.status == 400)
        #expect(error.reason == "invalid_json")
        #expect(error.type == "BadRequestError")
        #expect(error.param == nil)
        #expect(c.bytes.withUnsafeBytes { RequestInspector.model(in: $0) } == nil)
    }

    @Test("messages say what was expected and where")
    func messages() throws {
        #expect(
            try #require(failure(bytes: [])).message == "The request body is empty; expected a JSON object.")
        #expect(
            try #require(failure(bytes: Array(#"{"a":1,}"#.utf8))).message
                == "The request body is not valid JSON: expected a member name in double quotes at byte 7.")
        #expect(
            try #require(failure(bytes: Array("  [1]".utf8))).message
                == "The request body is not valid JSON: expected a JSON object at byte 2.")
        #expect(
            try #require(failure(bytes: Array(#"{"a":1} x"#.utf8))).message
                == "The request body is not valid JSON: expected the end of the document at byte 8.")
        let body = try #require(failure(bytes: [])).jsonBody
        #expect(
            body
                == #"{"error":{"message":"The request body is empty; expected a JSON object.","type":"BadRequestError","param":null,"code":400}}"#
        )
    }
}

// MARK: - Nesting limit

@Suite("JSONScanner: nesting limit (top-level object is depth 1, limit 128)")
struct JSONScannerDepthTests {
    @Test(arguments: [1, 2, 3, 64, 127, 128])
    func atOrBelowLimitIsAccepted(depth: Int) {
        for arrays in [false, true] {
            #expect(inspect(bytes: nestedDocument(depth: depth, arrays: arrays)) == .success(RequestSummary()))
        }
    }

    @Test(arguments: [129, 130, 1000, 100_000])
    func overLimitIsRejected(depth: Int) throws {
        for arrays in [false, true] {
            let error = try #require(failure(bytes: nestedDocument(depth: depth, arrays: arrays)))
            #expect(error.status == 400)
            #expect(error.reason == "invalid_json")
            #expect(error.message.contains("at most 128 levels of nesting"))
        }
    }

    @Test("a million unclosed brackets fail fast without exhausting the stack")
    func unclosedBrackets() throws {
        let body = Array("{\"a\":".utf8) + [UInt8](repeating: UInt8(ascii: "["), count: 1_000_000)
        let error = try #require(failure(bytes: body))
        #expect(error.message.contains("at most 128 levels of nesting"))
    }

    @Test("maxDepth is configurable")
    func customMaxDepth() {
        func scan(_ text: String, maxDepth: Int) -> Bool {
            Array(text.utf8).withUnsafeBytes { buffer in
                var scanner = JSONScanner(buffer, maxDepth: maxDepth)
                do {
                    try scanner.scanObject(decodedStrings: []) { _, _ in }
                    return true
                } catch {
                    return false
                }
            }
        }
        #expect(scan(#"{"a":{}}"#, maxDepth: 2))
        #expect(scan(#"{"a":[]}"#, maxDepth: 2))
        #expect(!scan(#"{"a":{"b":{}}}"#, maxDepth: 2))
        #expect(!scan(#"{"a":[[]]}"#, maxDepth: 2))
        #expect(scan("{}", maxDepth: 1))
        #expect(!scan(#"{"a":[]}"#, maxDepth: 1))
    }
}

// MARK: - The scanner's visitor contract

struct Visit: Equatable, CustomStringConvertible {
    var path: [String]
    var value: JSONScanner.Scalar
    var description: String { "\(path.joined(separator: ".")) = \(value)" }
}

@Suite("JSONScanner: visitor")
struct JSONScannerVisitorTests {
    func visits(_ text: String, decoded: Set<String>) throws -> [Visit] {
        try Array(text.utf8).withUnsafeBytes { buffer throws(JSONScanner.SyntaxError) -> [Visit] in
            var scanner = JSONScanner(buffer)
            var seen: [Visit] = []
            try scanner.scanObject(decodedStrings: decoded) { path, value in
                seen.append(Visit(path: path, value: value))
            }
            return seen
        }
    }

    @Test("reports depth-1 and depth-2 members through objects, innermost first, in document order")
    func reportsTwoLevels() throws {
        let doc = #"{"a":1,"b":{"c":true,"d":{"e":null},"s":"x"},"f":[{"g":1}],"h":"text","i":-2.5,"j":null}"#
        let seen = try visits(doc, decoded: ["h", "s"])
        #expect(
            seen == [
                Visit(path: ["a"], value: .number(1, isInteger: true)),
                Visit(path: ["b", "c"], value: .bool(true)),
                Visit(path: ["b", "d"], value: .object),
                Visit(path: ["b", "s"], value: .string("x")),
                Visit(path: ["b"], value: .object),
                Visit(path: ["f"], value: .array),
                Visit(path: ["h"], value: .string("text")),
                Visit(path: ["i"], value: .number(-2.5, isInteger: false)),
                Visit(path: ["j"], value: .null),
            ])
    }

    @Test("strings not named in decodedStrings are validated but not decoded")
    func undecodedStrings() throws {
        let seen = try visits(#"{"prompt":"long \n text","model":"m"}"#, decoded: ["model"])
        #expect(seen == [Visit(path: ["prompt"], value: .string("")), Visit(path: ["model"], value: .string("m"))])
    }

    @Test(
        "numbers: integer flag and value",
        arguments: [
            ("0", 0.0, true), ("-0", 0.0, true), ("42", 42.0, true), ("-17", -17.0, true),
            ("1.0", 1.0, false), ("1e2", 100.0, false), ("1E-2", 0.01, false), ("2.5e+1", 25.0, false),
        ])
    func numbers(_ c: (text: String, value: Double, isInteger: Bool)) throws {
        let seen = try visits("{\"n\":\(c.text)}", decoded: [])
        #expect(seen == [Visit(path: ["n"], value: .number(c.value, isInteger: c.isInteger))])
    }

    @Test("syntax errors carry the byte offset")
    func syntaxErrorOffset() {
        #expect(throws: JSONScanner.SyntaxError(offset: 5, expected: "a JSON value")) {
            _ = try visits(#"{"a":}"#, decoded: [])
        }
        #expect(throws: JSONScanner.SyntaxError(offset: 0, expected: "a JSON object")) {
            _ = try visits("", decoded: [])
        }
    }
}
