import Testing

@testable import SwitchyardCore

/// Feeds `parts` to one observer and returns every event found, in order.
private func observe(_ parts: [ArraySlice<UInt8>]) -> [ObservedEvent] {
    var observer = SSEObserver()
    var found: [ObservedEvent] = []
    for part in parts {
        part.withUnsafeBytes { bytes in
            var offset = 0
            while let end = observer.nextEvent(in: bytes, from: offset) {
                found.append(observer.lastEvent)
                offset = end
            }
        }
    }
    #expect(observer.events == found.count)
    return found
}

private func observe(_ text: String) -> [ObservedEvent] { observe([Array(text.utf8)[...]]) }

private func watch(_ json: String) -> ObservedEvent {
    var watcher = JSONMemberWatcher()
    Array(json.utf8).withUnsafeBytes { watcher.consume($0) }
    watcher.finish()
    return watcher.result
}

private func event(
    choices: Bool = false, done: Bool = false, error: Bool = false, usage: (Int?, Int?)? = nil
) -> ObservedEvent {
    var event = ObservedEvent()
    event.hasChoices = choices
    event.isDone = done
    event.isError = error
    if let usage {
        event.hasUsage = true
        event.promptTokens = usage.0
        event.completionTokens = usage.1
    }
    return event
}

/// vLLM's stream with `include_usage` (vllm-contract.md §3), plus a keep-alive comment.
private let vllmStream = Array(
    ("data: {\"id\":\"chatcmpl-1\",\"object\":\"chat.completion.chunk\",\"created\":1,\"model\":\"m\","
        + "\"choices\":[{\"index\":0,\"delta\":{\"role\":\"assistant\",\"content\":\"\"},\"logprobs\":null,"
        + "\"finish_reason\":null}]}\n\n"
        + ": keep-alive\n\n"
        + "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\\\"usage\\\": "
        + "{\\\"choices\\\":[]}\"},\"finish_reason\":null}]}\n\n"
        + "data: {\"id\":\"chatcmpl-1\",\"choices\":[{\"index\":0,\"delta\":{\"content\":\"\"},"
        + "\"finish_reason\":\"stop\",\"stop_reason\":null}]}\n\n"
        + "data: {\"id\":\"chatcmpl-1\",\"choices\":[],\"usage\":{\"prompt_tokens\":1234,\"total_tokens\":1362,"
        + "\"completion_tokens\":128}}\n\n"
        + "data: [DONE]\n\n").utf8)

private let vllmEvents = [
    event(choices: true), event(choices: true), event(choices: true), event(usage: (1234, 128)),
    event(done: true),
]

@Suite("SSEObserver: events found and classified as they pass")
struct SSEObserverTests {
    @Test("vLLM's stream in one buffer")
    func whole() {
        #expect(observe([vllmStream[...]]) == vllmEvents)
    }

    @Test("split in two at every byte position, and in three at every pair")
    func splits() {
        for i in 0...vllmStream.count {
            #expect(observe([vllmStream[..<i], vllmStream[i...]]) == vllmEvents, "split at \(i)")
            for j in stride(from: i, through: vllmStream.count, by: 7)
            where observe([vllmStream[..<i], vllmStream[i..<j], vllmStream[j...]]) != vllmEvents {
                Issue.record("split at \(i) and \(j)")
            }
        }
    }

    @Test("the offset returned is just past each event's blank line")
    func offsets() {
        let text = Array("data: {\"choices\":[1]}\n\ndata: [DONE]\n\n".utf8)
        var observer = SSEObserver()
        text.withUnsafeBytes { bytes in
            #expect(observer.nextEvent(in: bytes, from: 0) == 23)
            #expect(observer.nextEvent(in: bytes, from: 23) == text.count)
            #expect(observer.nextEvent(in: bytes, from: text.count) == nil)
        }
    }

    @Test(
        "what is and is not an event",
        arguments: [
            ("data: a\n", 0),  // not ended yet
            ("data: a\n\n", 1), ("data: a\r\n\r\n", 1), ("data: a\n\n\n\n\n", 1), ("\n\n\n", 0), ("", 0),
            ("data: a\ndata: b\n\ndata: c\n\n", 2), ("data: a\n\r\n", 1), ("data:\n\n", 1),
            // Comment-only blocks are keep-alives, not events; a comment beside data is.
            (": ping\n\n", 0), (": ping\ndata: a\n\n", 1), ("event: x\n\n", 0), ("dat: x\n\n", 0),
        ])
    func cases(text: String, events: Int) {
        #expect(observe(text).count == events)
    }

    @Test("CRLF line ends and a data field without a space")
    func crlf() {
        #expect(
            observe("data:{\"choices\":[{}]}\r\n\r\ndata:[DONE]\r\n\r\n") == [event(choices: true), event(done: true)])
    }

    @Test("a mid-stream error event, new and old shapes")
    func errors() {
        let text =
            "data: {\"error\":{\"message\":\"boom\",\"type\":\"InternalServerError\",\"code\":500}}\n\n"
            + "data: {\"object\":\"error\",\"message\":\"old\",\"code\":500}\n\n" + "data: {\"error\":null}\n\n"
        #expect(observe(text) == [event(error: true), event(error: true), event()])
    }
}

@Suite("JSONMemberWatcher: top-level members only")
struct JSONMemberWatcherTests {
    @Test("choices: empty, non-empty, whitespace, absent")
    func choices() {
        #expect(watch("{\"choices\":[]}") == event())
        #expect(watch("{\"choices\" : [ ] }") == event())
        #expect(watch("{\"choices\":[{\"index\":0}]}") == event(choices: true))
        #expect(watch("{\"choices\": [\n {}]}") == event(choices: true))
        #expect(watch("{\"id\":\"x\"}") == event())
    }

    @Test("usage of a non-streamed response, after nested choices")
    func nonStreamed() {
        let body =
            "{\"id\":\"c\",\"object\":\"chat.completion\",\"choices\":[{\"index\":0,\"message\":{\"role\":"
            + "\"assistant\",\"content\":\"{\\\"usage\\\":{\\\"completion_tokens\\\":9}}\"}}],"
            + "\"usage\":{\"prompt_tokens\":17,\"total_tokens\":29,\"completion_tokens\":12,"
            + "\"prompt_tokens_details\":null}}"
        #expect(watch(body) == event(choices: true, usage: (17, 12)))
    }

    @Test("keys that only look like members: nested, inside strings, escaped, prefixes")
    func lookalikes() {
        #expect(watch("{\"a\":{\"usage\":{\"prompt_tokens\":1},\"choices\":[1]}}") == event())
        #expect(watch("{\"a\":\"\\\"choices\\\":[1]\"}") == event())
        #expect(watch("{\"choice\":[1],\"usages\":{},\"c\\u0068oices\":[1]}") == event())
        #expect(watch("{\"usage\":{\"x\":{\"prompt_tokens\":5},\"completion_tokens\":3}}") == event(usage: (nil, 3)))
        #expect(watch("{\"usage\":null}") == event())
        #expect(watch("{\"object\":\"chat.completion.chunk\",\"x\":\"error\"}") == event())
    }

    @Test("a member key after a longer string: the bytes left over from that string do not count")
    func keyAfterLongerString() {
        // vLLM's chunks put `"object":"chat.completion.chunk"` before `choices`.
        #expect(watch("{\"object\":\"chat.completion.chunk\",\"choices\":[{}]}") == event(choices: true))
        // The old flat error: the key `object` (6 bytes) is longer than the value `error` (5).
        #expect(watch("{\"object\":\"error\",\"message\":\"m\"}") == event(error: true))
        // `usage` (5 bytes) right after `choices` (7).
        #expect(
            watch("{\"choices\":[],\"usage\":{\"prompt_tokens\":3,\"completion_tokens\":4}}") == event(usage: (3, 4)))
        // `prompt_tokens` (13 bytes) after `completion_tokens` (17).
        #expect(watch("{\"usage\":{\"completion_tokens\":4,\"prompt_tokens\":3}}") == event(usage: (3, 4)))
    }

    @Test("a number that runs to the end of the input is taken at finish")
    func trailingNumber() {
        var watcher = JSONMemberWatcher()
        Array("{\"usage\":{\"completion_tokens\":42".utf8).withUnsafeBytes { watcher.consume($0) }
        #expect(watcher.result.completionTokens == nil)
        watcher.finish()
        #expect(watcher.result.completionTokens == 42)
    }

    @Test(
        "malformed input never traps",
        arguments: ["}}}}{", "]]][[", "\"\\", "{\"usage\":{\"prompt_tokens\":-1}", "{:::,,,}"])
    func malformed(text: String) {
        _ = watch(text)
        _ = observe("data: " + text + "\n\n")
    }
}
