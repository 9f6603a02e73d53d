import Testing

@testable import SwitchyardCore

// Times are chosen to be exact in binary (multiples of 1/64 s) so that every derived figure
// can be compared with `==`.

/// An SSE event with a non-empty `choices` array, optionally carrying usage (continuous usage).
private func content(usage: (Int?, Int?)? = nil) -> ObservedEvent {
    var event = ObservedEvent()
    event.hasChoices = true
    if let usage {
        event.hasUsage = true
        event.promptTokens = usage.0
        event.completionTokens = usage.1
    }
    return event
}

/// The trailing `include_usage` chunk: usage and an empty `choices`.
private func usageOnly(prompt: Int?, completion: Int?) -> ObservedEvent {
    var event = ObservedEvent()
    event.hasUsage = true
    event.promptTokens = prompt
    event.completionTokens = completion
    return event
}

private func errorEvent() -> ObservedEvent {
    var event = ObservedEvent()
    event.isError = true
    return event
}

private func doneEvent() -> ObservedEvent {
    var event = ObservedEvent()
    event.isDone = true
    return event
}

/// Feeds `events` to `timeline` in order and returns the gaps it appended.
private func drive(_ timeline: inout RequestTimeline, _ events: [(Double, ObservedEvent)]) -> [Double] {
    var gaps: [Double] = []
    for (time, event) in events { timeline.observe(event, at: time, gaps: &gaps) }
    return gaps
}

private let ok = RequestEnding(status: 200, completed: true)

@Suite("RequestTimeline → RequestRecord: vLLM's per-request figures")
struct TelemetryTimelineTests {
    @Test("a normal stream with include_usage: TTFT, ITL gaps, E2EL, TPOT, queue time")
    func normalStream() {
        var timeline = RequestTimeline(arrival: 10)
        timeline.bodyComplete = 10.015625
        timeline.admitted = 10.0625
        timeline.dispatched = 10.125
        let gaps = drive(
            &timeline,
            [
                (10.25, content()), (10.5, content()), (10.625, content()), (11.0, content()),
                (11.125, usageOnly(prompt: 50, completion: 4)), (11.1875, doneEvent()),
            ])
        #expect(gaps == [0.25, 0.125, 0.375])
        #expect(timeline.contentEvents == 4)
        #expect(timeline.firstContent == 10.25)
        #expect(timeline.lastContent == 11.0)
        #expect(timeline.maxGap == 0.375)
        #expect(timeline.usageAt == 11.125)

        let record = RequestRecord(
            timeline: timeline, model: "m", backend: "b1", streamed: true, ending: ok, end: 11.25,
            estimatedPromptTokens: 999)
        #expect(record.success)
        #expect(record.ttft == 0.25)
        #expect(record.ttftFromDispatch == 0.125)
        // The usage chunk (11.125) and [DONE] do not extend E2EL: the last content event does.
        #expect(record.e2el == 1.0)
        #expect(record.tpot == (1.0 - 0.25) / 3)
        #expect(record.queueTime == 0.0625)
        // The usage wins over the estimate.
        #expect(record.promptTokens == 50)
        #expect(record.completionTokens == 4)
        #expect(!record.completionEstimated)
        #expect(record.contentEvents == 4)
        #expect(record.maxGap == 0.375)
        #expect(record.arrival == 10)
        #expect(record.end == 11.25)
        #expect(!record.sawErrorEvent)
    }

    @Test("the gaps array is appended to, so its storage can be reused across requests")
    func gapsAppend() {
        var gaps: [Double] = [7]
        var timeline = RequestTimeline(arrival: 0)
        timeline.observe(content(), at: 0.5, gaps: &gaps)
        timeline.observe(content(), at: 0.75, gaps: &gaps)
        #expect(gaps == [7, 0.25])
        gaps.removeAll(keepingCapacity: true)
        var next = RequestTimeline(arrival: 1)
        next.observe(content(), at: 1.5, gaps: &gaps)
        next.observe(content(), at: 2, gaps: &gaps)
        #expect(gaps == [0.5])
    }

    @Test("usage missing: output counted from content events, prompt from the estimate")
    func usageMissing() {
        var timeline = RequestTimeline(arrival: 0)
        timeline.admitted = 0
        timeline.dispatched = 0
        let gaps = drive(
            &timeline,
            [
                (0.5, content()), (0.75, content()), (1.0, content()), (1.5, content()), (1.75, content()),
                (2, doneEvent()),
            ])
        #expect(gaps.count == 4)
        let record = RequestRecord(
            timeline: timeline, model: "m", backend: "b", streamed: true, ending: ok, end: 2,
            estimatedPromptTokens: 77)
        #expect(record.success)
        #expect(record.completionTokens == 5)
        #expect(record.completionEstimated)
        #expect(record.promptTokens == 77)
        #expect(record.e2el == 1.75)
        #expect(record.tpot == (1.75 - 0.5) / 4)
    }

    @Test("usage missing and no estimate: prompt tokens unknown")
    func usageMissingNoEstimate() {
        var timeline = RequestTimeline(arrival: 0)
        _ = drive(&timeline, [(0.5, content())])
        let record = RequestRecord(timeline: timeline, model: "m", backend: "b", streamed: true, ending: ok, end: 1)
        #expect(record.promptTokens == nil)
        #expect(record.completionTokens == 1)
        #expect(record.completionEstimated)
    }

    @Test("a one-token output has TTFT and E2EL but no TPOT and no gaps")
    func oneToken() {
        var timeline = RequestTimeline(arrival: 4)
        let gaps = drive(&timeline, [(4.5, content()), (4.5625, usageOnly(prompt: 9, completion: 1))])
        #expect(gaps.isEmpty)
        let record = RequestRecord(timeline: timeline, model: "m", backend: "b", streamed: true, ending: ok, end: 4.625)
        #expect(record.success)
        #expect(record.ttft == 0.5)
        #expect(record.e2el == 0.5)
        #expect(record.tpot == nil)
        #expect(record.maxGap == nil)
        #expect(record.completionTokens == 1)
        // Never admitted through the scheduler: no queue time, and no dispatch-relative TTFT.
        #expect(record.queueTime == nil)
        #expect(record.ttftFromDispatch == nil)
    }

    @Test(
        "reasoning-only and tool-call bursts: few content events, TPOT from usage",
        arguments: [(3, 200), (2, 57), (1, 64)])
    func bursts(events: Int, completion: Int) {
        var timeline = RequestTimeline(arrival: 0)
        var sequence: [(Double, ObservedEvent)] = []
        for index in 0..<events { sequence.append((2 + Double(index) * 0.5, content())) }
        let last = 2 + Double(events - 1) * 0.5
        sequence.append((last + 0.25, usageOnly(prompt: 1000, completion: completion)))
        let gaps = drive(&timeline, sequence)
        #expect(gaps.count == events - 1)
        #expect(gaps.allSatisfy { $0 == 0.5 })
        let record = RequestRecord(
            timeline: timeline, model: "m", backend: "b", streamed: true, ending: ok, end: last + 0.5)
        #expect(record.success)
        #expect(record.completionTokens == completion)
        #expect(!record.completionEstimated)
        #expect(record.contentEvents == events)
        #expect(record.ttft == 2)
        #expect(record.e2el == last)
        #expect(record.tpot == (last - 2) / Double(completion - 1))
    }

    @Test("an error event after content: noted, and still a success as vLLM counts it")
    func errorAfterContent() {
        var timeline = RequestTimeline(arrival: 0)
        let gaps = drive(&timeline, [(0.25, content()), (0.5, content()), (0.75, errorEvent()), (0.8125, doneEvent())])
        #expect(gaps == [0.25])
        #expect(timeline.sawErrorEvent)
        let record = RequestRecord(timeline: timeline, model: "m", backend: "b", streamed: true, ending: ok, end: 0.875)
        #expect(record.sawErrorEvent)
        #expect(record.success)
        // The error event is not a content event: E2EL ends at the last content.
        #expect(record.e2el == 0.5)
        #expect(record.completionTokens == 2)
        #expect(record.completionEstimated)
    }

    @Test("an error event before any content: not a success, no latencies")
    func errorBeforeContent() {
        var timeline = RequestTimeline(arrival: 0)
        timeline.admitted = 0
        timeline.dispatched = 0.25
        _ = drive(&timeline, [(0.5, errorEvent()), (0.5625, doneEvent())])
        let record = RequestRecord(
            timeline: timeline, model: "m", backend: "b", streamed: true, ending: ok, end: 0.625,
            estimatedPromptTokens: 12)
        #expect(record.sawErrorEvent)
        #expect(!record.success)
        #expect(record.ttft == nil)
        #expect(record.ttftFromDispatch == nil)
        #expect(record.e2el == nil)
        #expect(record.tpot == nil)
        #expect(record.completionTokens == nil)
        #expect(record.promptTokens == nil)
        #expect(record.queueTime == 0.25)
    }

    @Test("a 200 stream that ends without any content event is not a success")
    func emptyStream() {
        var timeline = RequestTimeline(arrival: 0)
        _ = drive(&timeline, [(0.5, usageOnly(prompt: 3, completion: 0)), (0.5, doneEvent())])
        let record = RequestRecord(timeline: timeline, model: "m", backend: "b", streamed: true, ending: ok, end: 0.5)
        #expect(!record.success)
        #expect(record.e2el == nil)
    }

    @Test(
        "the client left, or the response never completed: not a success",
        arguments: [
            RequestEnding(status: 200, completed: false, clientDisconnected: true),
            RequestEnding(status: nil, completed: false, clientDisconnected: true),
            RequestEnding(status: 200, completed: true, clientDisconnected: true),
            RequestEnding(status: 200, completed: false),
        ])
    func disconnected(ending: RequestEnding) {
        var timeline = RequestTimeline(arrival: 0)
        _ = drive(&timeline, [(0.25, content()), (0.5, content()), (0.75, content())])
        let record = RequestRecord(timeline: timeline, model: "m", backend: "b", streamed: true, ending: ending, end: 1)
        #expect(!record.success)
        #expect(record.tpot == nil)
        #expect(record.completionTokens == nil)
    }

    @Test(
        "a refusal or an upstream error status is not a success; its reason is kept",
        arguments: [(429, "queue_full"), (400, "context_length_exceeded"), (502, "upstream_error"), (503, nil)])
    func refusals(status: Int, reason: String?) {
        let timeline = RequestTimeline(arrival: 3)
        let ending = RequestEnding(status: status, reason: reason, completed: true)
        for streamed in [true, false] {
            let record = RequestRecord(
                timeline: timeline, model: "m", backend: nil, streamed: streamed, ending: ending, end: 3.25,
                estimatedPromptTokens: 5)
            #expect(!record.success)
            #expect(record.ending.reason == reason)
            #expect(record.e2el == nil)
            #expect(record.promptTokens == nil)
        }
    }

    @Test("non-streamed: E2EL is arrival to the response's end, and there is no TTFT or TPOT")
    func nonStreamed() {
        var timeline = RequestTimeline(arrival: 1)
        timeline.admitted = 1
        timeline.dispatched = 1.0625
        // The whole JSON body is observed once at its end, as the proxy does it: its usage,
        // with `hasChoices` cleared (a non-streamed body has no first token to time).
        let body = usageOnly(prompt: 40, completion: 25)
        let gaps = drive(&timeline, [(2.5, body)])
        #expect(gaps.isEmpty)
        #expect(timeline.contentEvents == 0)
        let record = RequestRecord(timeline: timeline, model: "m", backend: "b", streamed: false, ending: ok, end: 2.75)
        // vLLM's success needs a content event only for streams.
        #expect(record.success)
        #expect(record.e2el == 1.75)
        #expect(record.promptTokens == 40)
        #expect(record.completionTokens == 25)
        #expect(!record.completionEstimated)
        #expect(record.queueTime == 0.0625)
        #expect(record.ttft == nil)
        #expect(record.ttftFromDispatch == nil)
        #expect(record.tpot == nil)
    }

    @Test("non-streamed without usage: output tokens unknown, not counted from events")
    func nonStreamedNoUsage() {
        var timeline = RequestTimeline(arrival: 0)
        _ = drive(&timeline, [(1, ObservedEvent())])
        let record = RequestRecord(
            timeline: timeline, model: "m", backend: "b", streamed: false, ending: ok, end: 1.25,
            estimatedPromptTokens: 8)
        #expect(record.success)
        #expect(record.e2el == 1.25)
        #expect(record.completionTokens == nil)
        #expect(!record.completionEstimated)
        #expect(record.promptTokens == 8)
        #expect(record.tpot == nil)
    }

    @Test("non-streamed failure: no E2EL")
    func nonStreamedFailure() {
        let timeline = RequestTimeline(arrival: 0)
        let ending = RequestEnding(status: 500, reason: "upstream_error", completed: true)
        let record = RequestRecord(
            timeline: timeline, model: "m", backend: "b", streamed: false, ending: ending, end: 1)
        #expect(!record.success)
        #expect(record.e2el == nil)
    }

    @Test("queue time is dispatch minus admission, never negative, nil without both")
    func queueTime() {
        func record(admitted: Double?, dispatched: Double?) -> RequestRecord {
            var timeline = RequestTimeline(arrival: 0)
            timeline.admitted = admitted
            timeline.dispatched = dispatched
            timeline.queued = true
            var gaps: [Double] = []
            timeline.observe(content(), at: 5, gaps: &gaps)
            return RequestRecord(timeline: timeline, model: "m", backend: "b", streamed: true, ending: ok, end: 5)
        }
        #expect(record(admitted: 0.5, dispatched: 2.75).queueTime == 2.25)
        #expect(record(admitted: 0.5, dispatched: 0.5).queueTime == 0)
        #expect(record(admitted: 1, dispatched: 0.5).queueTime == 0)
        #expect(record(admitted: nil, dispatched: 0.5).queueTime == nil)
        #expect(record(admitted: 0.5, dispatched: nil).queueTime == nil)
        // TTFT from dispatch is measured from the dispatch, TTFT from the arrival.
        let queued = record(admitted: 0.5, dispatched: 2.75)
        #expect(queued.ttft == 5)
        #expect(queued.ttftFromDispatch == 2.25)
    }

    @Test("continuous usage (usage on every chunk): the last values win")
    func continuousUsage() {
        var timeline = RequestTimeline(arrival: 0)
        let gaps = drive(
            &timeline,
            [
                (0.25, content(usage: (30, 1))), (0.5, content(usage: (30, 2))), (0.75, content(usage: (30, 3))),
                (1.0, content(usage: (30, 5))),
                // A usage member without counts leaves the last ones in place.
                (1.0625, usageOnly(prompt: nil, completion: nil)),
                (1.125, usageOnly(prompt: 31, completion: 6)),
            ])
        #expect(gaps == [0.25, 0.25, 0.25])
        #expect(timeline.usageAt == 1.125)
        let record = RequestRecord(timeline: timeline, model: "m", backend: "b", streamed: true, ending: ok, end: 1.25)
        #expect(record.promptTokens == 31)
        #expect(record.completionTokens == 6)
        #expect(!record.completionEstimated)
        #expect(record.e2el == 1.0)
        #expect(record.tpot == (1.0 - 0.25) / 5)

        var partial = RequestTimeline(arrival: 0)
        _ = drive(&partial, [(0.25, content(usage: (30, 1))), (0.5, usageOnly(prompt: nil, completion: nil))])
        #expect(partial.promptTokens == 30)
        #expect(partial.completionTokens == 1)
    }

    @Test("events delivered together: zero gaps are kept")
    func zeroGaps() {
        var timeline = RequestTimeline(arrival: 0)
        let gaps = drive(&timeline, [(0.5, content()), (0.5, content()), (0.5, content()), (0.75, content())])
        #expect(gaps == [0, 0, 0.25])
        #expect(timeline.maxGap == 0.25)
    }
}
