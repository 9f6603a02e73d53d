@testable import SwitchyardCore

/// A finished request as the proxy would hand it to `LiveStats.finished`: its record and gaps,
/// built by driving a `RequestTimeline` with synthetic events.
struct LiveRequest {
    var record: RequestRecord
    var gaps: [Double]
    /// When the request was dispatched (nil: never).
    var dispatchedAt: Double?
}

/// A streamed request: content events at `arrival + ttft` and then after each of `gaps`, a
/// usage chunk (when `completion` is given) just after the last one, the end just after that.
func liveRequest(
    model: String = "m", backend: String? = "b1", arrival: Double, queue: Double = 0, ttft: Double,
    gaps: [Double] = [], prompt: Int = 10, completion: Int?, estimatedPrompt: Int? = nil, tail: Double = 0.0625
) -> LiveRequest {
    var timeline = RequestTimeline(arrival: arrival)
    timeline.bodyComplete = arrival
    timeline.admitted = arrival
    let dispatched = backend == nil ? nil : arrival + queue
    timeline.dispatched = dispatched
    timeline.queued = queue > 0
    var observed: [Double] = []
    var contentEvent = ObservedEvent()
    contentEvent.hasChoices = true
    var time = arrival + ttft
    timeline.observe(contentEvent, at: time, gaps: &observed)
    for gap in gaps {
        time += gap
        timeline.observe(contentEvent, at: time, gaps: &observed)
    }
    if let completion {
        var usage = ObservedEvent()
        usage.hasUsage = true
        usage.promptTokens = prompt
        usage.completionTokens = completion
        timeline.observe(usage, at: time + tail / 2, gaps: &observed)
    }
    let record = RequestRecord(
        timeline: timeline, model: model, backend: backend, streamed: true,
        ending: RequestEnding(status: 200, completed: true), end: time + tail, estimatedPromptTokens: estimatedPrompt)
    return LiveRequest(record: record, gaps: observed, dispatchedAt: dispatched)
}

/// A request refused or failed with `status` and `reason`, without any content event.
func liveFailure(
    model: String = "m", backend: String? = nil, arrival: Double, end: Double, status: Int?, reason: String?,
    clientDisconnected: Bool = false
) -> LiveRequest {
    var timeline = RequestTimeline(arrival: arrival)
    timeline.admitted = backend == nil ? nil : arrival
    timeline.dispatched = backend == nil ? nil : arrival
    let ending = RequestEnding(
        status: status, reason: reason, completed: !clientDisconnected, clientDisconnected: clientDisconnected)
    let record = RequestRecord(
        timeline: timeline, model: model, backend: backend, streamed: true, ending: ending, end: end,
        estimatedPromptTokens: 10)
    return LiveRequest(record: record, gaps: [], dispatchedAt: backend == nil ? nil : arrival)
}

extension LiveStats {
    /// The whole life of `request`: began, dispatched (when it was), finished.
    mutating func replay(_ request: LiveRequest) {
        began(model: request.record.model, at: request.record.arrival)
        if let backend = request.record.backend, let at = request.dispatchedAt {
            dispatched(backend: backend, model: request.record.model, at: at)
        }
        finished(request.record, gaps: request.gaps)
    }

    /// `finished` only (the in-flight counts are not exercised).
    mutating func finish(_ request: LiveRequest) {
        finished(request.record, gaps: request.gaps)
    }
}
