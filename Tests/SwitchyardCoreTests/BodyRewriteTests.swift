import Foundation
import Testing

@testable import SwitchyardCore

private func rewrite(_ body: String, removing: Set<String> = [], setting: [String: Int] = [:]) -> String {
    let bytes = Array(body.utf8).withUnsafeBytes {
        BodyRewrite.rewrite($0, removing: removing, settingIntegers: setting)
    }
    return String(decoding: bytes, as: UTF8.self)
}

/// Each top-level member's name and its exact text (name through value).
private func memberTexts(_ body: String) -> [(name: String, text: String)] {
    let bytes = Array(body.utf8)
    return bytes.withUnsafeBytes { BodyRewrite.members($0) }.map {
        ($0.name, String(decoding: bytes[$0.member], as: UTF8.self))
    }
}

/// Rewrites `body` and checks what must hold whatever the body: the result is a JSON object
/// without the removed members, the set values are the integers, the other members are
/// byte-identical and in order. Returns the result.
@discardableResult
private func checkedRewrite(
    _ body: String, removing: Set<String> = [], setting: [String: Int] = [:],
    sourceLocation: SourceLocation = #_sourceLocation
) -> String {
    let out = rewrite(body, removing: removing, setting: setting)
    guard let original = jsonObject(body, sourceLocation: sourceLocation),
        let rewritten = jsonObject(out, sourceLocation: sourceLocation)
    else { return out }
    #expect(Set(rewritten.keys) == Set(original.keys).subtracting(removing), "\(out)", sourceLocation: sourceLocation)
    for (name, value) in setting where original[name] != nil && !removing.contains(name) {
        #expect(rewritten[name] as? Int == value, "\(out)", sourceLocation: sourceLocation)
    }
    let untouched = { (members: [(name: String, text: String)]) in
        members.filter { !removing.contains($0.name) && setting[$0.name] == nil }.map(\.text)
    }
    #expect(untouched(memberTexts(out)) == untouched(memberTexts(body)), "\(out)", sourceLocation: sourceLocation)
    return out
}

/// Strings with braces, brackets, commas, colons and escaped quotes, nested containers and
/// whitespace everywhere JSON allows it.
private let tricky = """
    {
      "model" : "m",
      "priority":  -3 ,
      "messages": [ {"role": "user", "content": "a, b } { [ \\"quoted\\", \\\\\\" : x"} ],
      "nested" : {"priority": 1, "list": [1, {"y": "}],"}], "e": "\\u007d"},
      "max_tokens"	:
        100
    }

    """

@Suite("BodyRewrite: removing priority and setting max_tokens")
struct BodyRewriteTests {
    @Test("members: top-level names and exact spans, nested ones ignored")
    func members() {
        let members = memberTexts(tricky)
        #expect(members.map(\.name) == ["model", "priority", "messages", "nested", "max_tokens"])
        #expect(members[0].text == "\"model\" : \"m\"")
        #expect(members[1].text == "\"priority\":  -3")
        #expect(members[4].text.hasPrefix("\"max_tokens\"") && members[4].text.hasSuffix("100"))
        #expect(memberTexts("{}").isEmpty && memberTexts("[1]").isEmpty && memberTexts("").isEmpty)
        #expect(memberTexts("\u{FEFF}{\"a\":1}").map(\.name) == ["a"])
        #expect(memberTexts(#"{"a\"b":1,"\u0063":2}"#).map(\.name) == ["a\"b", "c"])
    }

    @Test(
        "removing one member, wherever it is",
        arguments: [
            (#"{"priority":1,"model":"m","n":2}"#, #"{"model":"m","n":2}"#),  // first
            (#"{"model":"m","priority":1,"n":2}"#, #"{"model":"m","n":2}"#),  // middle
            (#"{"model":"m","n":2,"priority":1}"#, #"{"model":"m","n":2}"#),  // last
            (#"{"priority":1}"#, #"{}"#),  // only
            (#"{ "priority" : 1 }"#, #"{  }"#),
            (#"{"model":"m" , "priority" : {"a":"},"} }"#, #"{"model":"m" }"#),
            ("{\n  \"priority\": 0,\n  \"model\": \"m\"\n}", "{\n  \"model\": \"m\"\n}"),
            (#"{"model":"m","messages":[{"priority":1}]}"#, #"{"model":"m","messages":[{"priority":1}]}"#),
        ])
    func removeOne(body: String, expected: String) {
        #expect(checkedRewrite(body, removing: ["priority"]) == expected)
    }

    @Test("removing from a body with strings full of JSON punctuation and nested objects")
    func removeFromTricky() {
        for name in ["model", "priority", "messages", "nested", "max_tokens"] {
            checkedRewrite(tricky, removing: [name])
        }
        checkedRewrite(tricky, removing: ["priority", "max_tokens"])
        checkedRewrite(tricky, removing: ["model", "priority", "messages", "nested", "max_tokens"])
    }

    @Test(
        "removing several members, adjacent ones and the last ones included",
        arguments: [
            [#"{"a":1,"b":2,"c":3}"#, "b", "c"], [#"{"a":1,"b":2,"c":3}"#, "a", "b"],
            [#"{"a":1,"b":2,"c":3}"#, "a", "c"], [#"{"a":1,"b":2,"c":3}"#, "a", "b", "c"],
            [#"{ "a" : 1 , "b" : 2 , "c" : 3 , "d" : 4 }"#, "c", "d"],
        ])
    func removeSeveral(_ arguments: [String]) {
        let body = arguments[0]
        checkedRewrite(body, removing: Set(arguments.dropFirst()))
    }

    @Test("a repeated member is removed every time it appears")
    func duplicateMembers() {
        #expect(
            checkedRewrite(#"{"model":"m","priority":1,"priority":2}"#, removing: ["priority"]) == #"{"model":"m"}"#)
        #expect(
            checkedRewrite(#"{"priority":1,"model":"m","priority":2}"#, removing: ["priority"]) == #"{"model":"m"}"#)
        #expect(rewrite(#"{"priority":1,"priority":2}"#, removing: ["priority"]) == "{}")
    }

    @Test("setting integers replaces the value whatever it was, and adds nothing")
    func setIntegers() {
        let body = #"{"model":"m","max_tokens":  4096 ,"max_completion_tokens":null,"stream":true}"#
        let out = checkedRewrite(body, setting: ["max_tokens": 100, "max_completion_tokens": 100, "n": 3])
        #expect(out == #"{"model":"m","max_tokens":  100 ,"max_completion_tokens":100,"stream":true}"#)
        #expect(checkedRewrite(tricky, setting: ["max_tokens": 7]).contains("\"max_tokens\"\t:\n    7\n}"))
        #expect(rewrite(#"{"max_tokens":"lots"}"#, setting: ["max_tokens": -1]) == #"{"max_tokens":-1}"#)
        #expect(rewrite(#"{"model":"m"}"#, setting: ["max_tokens": 5]) == #"{"model":"m"}"#)
    }

    @Test("removing and setting together")
    func removeAndSet() {
        let cases = [
            #"{"priority":2,"max_tokens":900}"#, #"{"max_tokens":900,"priority":2}"#,
            #"{"model":"m","max_tokens":900,"priority":2,"max_completion_tokens":900}"#,
        ]
        for body in cases {
            let out = checkedRewrite(
                body, removing: ["priority"], setting: ["max_tokens": 50, "max_completion_tokens": 50])
            #expect(!out.contains("priority") && !out.contains("900"))
        }
        checkedRewrite(tricky, removing: ["priority"], setting: ["max_tokens": 1])
    }

    @Test("nothing to do: the same bytes; a byte-order mark is kept")
    func untouched() {
        #expect(rewrite(tricky) == tricky)
        #expect(rewrite(tricky, removing: ["absent"]) == tricky)
        #expect(rewrite("\u{FEFF}{\"priority\":1,\"a\":2}", removing: ["priority"]) == "\u{FEFF}{\"a\":2}")
    }
}

@Suite("BodyRewrite: appended members (the include_usage rewrite)")
struct BodyRewriteAppendTests {
    private func appended(_ body: String, removing: Set<String> = []) -> String {
        let bytes = Array(body.utf8).withUnsafeBytes {
            BodyRewrite.rewrite(
                $0, removing: removing, settingIntegers: [:],
                appending: [("stream_options", #"{"include_usage":true}"#)])
        }
        return String(decoding: bytes, as: UTF8.self)
    }

    @Test("added at the end of the object, with a comma only when members remain")
    func placement() {
        #expect(
            appended(#"{"model":"m","stream":true}"#)
                == #"{"model":"m","stream":true,"stream_options":{"include_usage":true}}"#)
        #expect(appended("{ }") == #"{ "stream_options":{"include_usage":true}}"#)
        #expect(appended(#"{"priority":1}"#, removing: ["priority"]) == #"{"stream_options":{"include_usage":true}}"#)
        #expect(appended("{\"a\":{\"b\":1}}\n") == "{\"a\":{\"b\":1},\"stream_options\":{\"include_usage\":true}}\n")
    }

    @Test("the result parses and keeps every original member")
    func parses() throws {
        let body = #"{"model":"m","messages":[{"role":"user","content":"}"}],"stream":true,"priority":-1}"#
        let out = appended(body, removing: ["priority"])
        let object = try #require(try JSONSerialization.jsonObject(with: Data(out.utf8)) as? [String: Any])
        #expect(object["priority"] == nil)
        #expect((object["stream_options"] as? [String: Any])?["include_usage"] as? Bool == true)
        #expect(object["model"] as? String == "m")
        #expect((object["messages"] as? [[String: Any]])?.first?["content"] as? String == "}")
    }
}
