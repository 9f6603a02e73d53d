import Testing

@testable import SwitchyardCore

/// Inputs found by the libFuzzer targets in Fuzz/ (Benchmarks/fuzz/run.sh), kept as tests.
@Suite("Fuzz regressions")
struct FuzzRegressionTests {
    private static func events(_ text: String) -> [ObservedEvent] {
        var observer = SSEObserver()
        var found: [ObservedEvent] = []
        Array(text.utf8).withUnsafeBytes { bytes in
            var offset = 0
            while let end = observer.nextEvent(in: bytes, from: offset) {
                found.append(observer.lastEvent)
                offset = end
            }
        }
        return found
    }

    private static func usage(_ completionTokens: String) -> ObservedEvent? {
        events("data: {\"choices\":[],\"usage\":{\"prompt_tokens\":7,\"completion_tokens\":\(completionTokens)}}\n\n")
            .first
    }

    /// FuzzSSEObserver: a 41-digit `completion_tokens` wrapped around to a negative count
    /// (-7434775642314608185), which then flowed into the request's record and the stats totals.
    @Test("a token count too long for an Int is ignored, not wrapped")
    func overlongTokenCount() {
        let event = Self.usage(String(repeating: "1", count: 41))
        #expect(event?.hasUsage == true)
        #expect(event?.promptTokens == 7)
        #expect(event?.completionTokens == nil)
    }

    @Test(
        "counts up to 2^32 - 1 are taken, larger ones ignored",
        arguments: [
            ("4294967295", 4_294_967_295), ("4294967296", nil), ("9223372036854775807", nil),
            ("9223372036854775808", nil), ("000000000000000000000000042", 42), ("0", 0),
        ] as [(String, Int?)])
    func bounds(text: String, expected: Int?) {
        #expect(Self.usage(text)?.completionTokens == expected)
        var watcher = JSONMemberWatcher()
        Array("{\"usage\":{\"prompt_tokens\":\(text)".utf8).withUnsafeBytes { watcher.consume($0) }
        watcher.finish()  // a number running to the end of the input is taken (or ignored) too
        #expect(watcher.result.promptTokens == expected)
    }

    @Test("an overlong count is ignored however the stream is split")
    func overlongSplit() {
        let text = Array(
            "data: {\"choices\":[],\"usage\":{\"completion_tokens\":99999999999999999999999,\"prompt_tokens\":3}}\n\n"
                .utf8)
        for cut in 0...text.count {
            var observer = SSEObserver()
            var found: [ObservedEvent] = []
            for part in [text[..<cut], text[cut...]] {
                part.withUnsafeBytes { bytes in
                    var offset = 0
                    while let end = observer.nextEvent(in: bytes, from: offset) {
                        found.append(observer.lastEvent)
                        offset = end
                    }
                }
            }
            #expect(found.count == 1, "cut at \(cut)")
            #expect(found.first?.completionTokens == nil && found.first?.promptTokens == 3, "cut at \(cut)")
        }
    }

    /// FuzzSSEObserver: digits between a key and its colon (`"usage"66:{`, not JSON) were
    /// skipped in bulk without clearing the key, but cleared it when they began a buffer, so the
    /// event had usage whole and none when split after the first digit.
    @Test("digits after a key classify the same however the stream is split")
    func digitsAfterKey() {
        let text = Array(
            "data: {\"id\":\"x\",\"usage\"66666:{\"prompt_tokens\":1234},\"choices\":[]}\n\n".utf8)
        let whole = Self.events(String(decoding: text, as: UTF8.self))
        #expect(whole.count == 1)
        #expect(whole.first?.hasUsage == false)
        for cut in 0...text.count {
            var observer = SSEObserver()
            var found: [ObservedEvent] = []
            for part in [text[..<cut], text[cut...]] {
                part.withUnsafeBytes { bytes in
                    var offset = 0
                    while let end = observer.nextEvent(in: bytes, from: offset) {
                        found.append(observer.lastEvent)
                        offset = end
                    }
                }
            }
            #expect(found == whole, "cut at \(cut)")
        }
        // The watcher alone, whole and one byte at a time.
        let body = Array("{\"usage\"12:{\"prompt_tokens\":5}}".utf8)
        var bulk = JSONMemberWatcher()
        body.withUnsafeBytes { bulk.consume($0) }
        var single = JSONMemberWatcher()
        for byte in body { [byte].withUnsafeBytes { single.consume($0) } }
        #expect(bulk.result == single.result)
        #expect(bulk.result.hasUsage == false)
    }

    /// The harm the wrap did: `StatsCell` sums counts with trapping `+=`, so two responses
    /// reporting Int.max (or a wrapped count that landed near it) crashed the proxy.
    @Test("absurd usage from a backend cannot overflow the stats totals")
    func statsTotals() {
        let stream =
            "data: {\"choices\":[{\"delta\":{\"content\":\"x\"}}]}\n\n"
            + "data: {\"choices\":[],\"usage\":{\"prompt_tokens\":9223372036854775807,"
            + "\"completion_tokens\":9223372036854775807}}\n\ndata: [DONE]\n\n"
        var cell = StatsCell()
        for request in 0..<3 {
            var meter = ResponseMeter(arrival: Double(request))
            meter.responseBegins(eventStream: true)
            Array(stream.utf8).withUnsafeBytes { _ = meter.observe($0, at: Double(request) + 0.5) }
            let record = RequestRecord(
                timeline: meter.timeline, model: "m", backend: "b", streamed: true,
                ending: RequestEnding(status: 200, completed: true), end: Double(request) + 1,
                estimatedPromptTokens: 11)
            #expect(record.promptTokens == 11)
            #expect(record.completionTokens == 1)
            #expect(record.completionEstimated)
            cell.add(record, gaps: meter.gaps, slo: nil)
        }
        #expect(cell.completed == 3)
        #expect(cell.totalInput == 33)
        #expect(cell.totalOutput == 3)
        #expect(cell.estimatedOutputRequests == 3)
    }
}
