import Testing

@testable import SwitchyardCore

/// vLLM's stream with the usage event the rewrite asked for, and the same stream as the client
/// must receive it.
private let content = [
    #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":""},"finish_reason":null}]}"#,
    #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":"length"}]}"#,
]
private let usage =
    #"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":7,"total_tokens":9,"completion_tokens":2}}"#
private let withUsage = Array((content + [usage, "data: [DONE]"]).map { $0 + "\n\n" }.joined().utf8)
private let withoutUsage = Array((content + ["data: [DONE]"]).map { $0 + "\n\n" }.joined().utf8)

/// What the relay writes for `parts`, following `relayStrippingUsage`: the held-back tail of the
/// previous part unless the usage event began in it (or, when no event ended in the part, the
/// two joined and still held), the part without the usage event, and the unfinished tail held
/// back; at the end whatever is still held.
private func relayed(_ parts: [ArraySlice<UInt8>], meter: inout ResponseMeter) -> [UInt8] {
    var out: [UInt8] = []
    var held: ArraySlice<UInt8>?
    for (index, part) in parts.enumerated() {
        let found = part.withUnsafeBytes { meter.observe($0, at: Double(index)) }
        if let previous = held {
            guard found.eventsEnded > 0 else {
                held = previous + part
                continue
            }
            if !found.usageEventBeganEarlier { out += previous }
        }
        held = nil
        let base = part.startIndex
        let cut = found.usageEvent ?? found.unfinishedFrom..<found.unfinishedFrom
        out += part[base..<base + cut.lowerBound]
        out += part[base + cut.upperBound..<base + found.unfinishedFrom]
        if found.unfinishedFrom < part.count { held = part[(base + found.unfinishedFrom)...] }
    }
    if let held { out += held }
    return out
}

@Suite("ResponseMeter: the usage event stripped at any split, the timeline fed")
struct ResponseMeterTests {
    @Test("split in two and three parts at every position: the client gets vLLM's stream without usage")
    func splits() {
        for i in 0...withUsage.count {
            for j in stride(from: i, through: withUsage.count, by: 5) {
                var meter = ResponseMeter(arrival: 0)
                meter.responseBegins(eventStream: true)
                let parts = [withUsage[..<i], withUsage[i..<j], withUsage[j...]]
                let out = relayed(parts, meter: &meter)
                if out != withoutUsage {
                    Issue.record("split at \(i), \(j): \(String(decoding: out, as: UTF8.self))")
                    return
                }
                #expect(meter.timeline.contentEvents == 2)
                #expect(meter.timeline.completionTokens == 2 && meter.timeline.promptTokens == 7)
                #expect(meter.bytesOut == withUsage.count)
            }
        }
    }

    @Test("the usage event split four ways, one part empty")
    func fourWays() {
        let start = withUsage.count - usage.utf8.count - "\n\ndata: [DONE]\n\n".utf8.count
        var meter = ResponseMeter(arrival: 0)
        meter.responseBegins(eventStream: true)
        let parts = [
            withUsage[..<(start + 10)], withUsage[(start + 10)..<(start + 10)],
            withUsage[(start + 10)..<(start + 60)], withUsage[(start + 60)...],
        ]
        #expect(relayed(parts, meter: &meter) == withoutUsage)
    }

    @Test("gaps and times come from the parts' arrival times")
    func timeline() {
        var meter = ResponseMeter(arrival: 0)
        meter.responseBegins(eventStream: true)
        let events = (content + [usage, "data: [DONE]"]).map { Array(($0 + "\n\n").utf8) }
        for (index, event) in events.enumerated() {
            _ = event.withUnsafeBytes { meter.observe($0, at: 1 + Double(index) * 0.5) }
        }
        #expect(meter.timeline.firstContent == 1)
        #expect(meter.timeline.lastContent == 1.5)
        #expect(meter.gaps == [0.5])
        #expect(meter.timeline.usageAt == 2)
        var storage = meter.takeGapStorage()
        #expect(storage.isEmpty && storage.capacity >= 1 && meter.gaps.isEmpty)
        storage.append(1)
    }

    @Test("a non-streamed body gives usage and an end, but no first token")
    func nonStreamed() {
        var meter = ResponseMeter(arrival: 0)
        meter.responseBegins(eventStream: false)
        let body = Array(
            #"{"id":"c","object":"chat.completion","choices":[{"message":{"content":"Hi"}}],"usage":{"prompt_tokens":3,"completion_tokens":2}}"#
                .utf8)
        _ = body[..<40].withUnsafeBytes { meter.observe($0, at: 1) }
        _ = body[40...].withUnsafeBytes { meter.observe($0, at: 2) }
        meter.responseEnded(at: 3)
        #expect(meter.timeline.firstContent == nil && meter.timeline.contentEvents == 0)
        #expect(meter.timeline.completionTokens == 2 && meter.timeline.promptTokens == 3)
        #expect(meter.timeline.end == 2)
    }
}
