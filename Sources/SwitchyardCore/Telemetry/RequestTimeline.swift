/// The moments of one request as it passes the proxy, in seconds on the proxy's monotonic clock
/// (the caller reads the clock; this type only records). Content events are the SSE events with a
/// non-empty `choices` array, the ones `vllm bench serve` times.
public struct RequestTimeline: Sendable, Equatable {
    /// The request head arrived.
    public var arrival: Double
    public var bodyComplete: Double?
    /// Admission passed and the scheduler took the request.
    public var admitted: Double?
    /// The request waited in the queue (dispatched later, or never).
    public var queued = false
    /// A slot was bound and the request sent to a backend.
    public var dispatched: Double?
    public var upstreamHead: Double?
    public var firstContent: Double?
    public var lastContent: Double?
    public var contentEvents = 0
    /// The largest gap between consecutive content events.
    public var maxGap = 0.0
    public var usageAt: Double?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// The stream carried an error event (after its 200 head).
    public var sawErrorEvent = false
    /// The last byte of the response reached the client, or the exchange ended otherwise.
    public var end: Double?

    public init(arrival: Double) {
        self.arrival = arrival
    }

    /// Records one SSE event (or a whole non-streamed body) observed at `time`. Each gap
    /// between content events is appended to `gaps` (the caller keeps that array and reuses
    /// its storage from one request to the next).
    public mutating func observe(_ event: ObservedEvent, at time: Double, gaps: inout [Double]) {
        if event.hasChoices {
            if let lastContent {
                let gap = time - lastContent
                gaps.append(gap)
                maxGap = max(maxGap, gap)
            } else {
                firstContent = time
            }
            lastContent = time
            contentEvents += 1
        }
        if event.hasUsage {
            usageAt = time
            // With continuous usage stats every chunk carries usage; the last one is the total.
            if let prompt = event.promptTokens { promptTokens = prompt }
            if let completion = event.completionTokens { completionTokens = completion }
        }
        if event.isError { sawErrorEvent = true }
    }
}

/// How a request ended, from the proxy's side.
public struct RequestEnding: Sendable, Equatable {
    /// The status sent to the client; nil when the client left before any was sent.
    public var status: Int?
    /// `x-switchyard-reason` of a refusal or failure made by Switchyard.
    public var reason: String?
    /// The response reached its end (upstream end relayed, or a local answer written).
    public var completed: Bool
    public var clientDisconnected: Bool

    public init(status: Int?, reason: String? = nil, completed: Bool, clientDisconnected: Bool = false) {
        self.status = status
        self.reason = reason
        self.completed = completed
        self.clientDisconnected = clientDisconnected
    }
}

/// One finished inference request with vLLM's per-request figures (vllm-contract.md §6),
/// derived from its timeline. Times in seconds.
public struct RequestRecord: Sendable, Equatable {
    public var model: String
    /// The backend it was dispatched to; nil when refused or abandoned before dispatch.
    public var backend: String?
    public var streamed: Bool
    public var ending: RequestEnding
    public var arrival: Double
    public var end: Double
    /// vLLM's success: HTTP 200, the response complete, and (streams) at least one content event.
    public var success: Bool
    /// From arrival to the first content event: what the client measures.
    public var ttft: Double?
    /// From dispatch to the first content event: what the backend delivers.
    public var ttftFromDispatch: Double?
    /// From arrival to the last content event (streams) or the response's end (non-streamed).
    public var e2el: Double?
    /// `(e2el - ttft) / (completionTokens - 1)` when completionTokens > 1.
    public var tpot: Double?
    /// Time waiting for a slot (admission to dispatch); nil when never dispatched.
    public var queueTime: Double?
    public var promptTokens: Int?
    public var completionTokens: Int?
    /// `completionTokens` counts content events: the response carried no usage.
    public var completionEstimated: Bool
    public var contentEvents: Int
    public var maxGap: Double?
    public var sawErrorEvent: Bool

    /// Derives the figures. `estimatedPromptTokens` stands in when the response had no usage.
    public init(
        timeline: RequestTimeline, model: String, backend: String?, streamed: Bool, ending: RequestEnding,
        end: Double, estimatedPromptTokens: Int? = nil
    ) {
        self.model = model
        self.backend = backend
        self.streamed = streamed
        self.ending = ending
        self.arrival = timeline.arrival
        self.end = end
        self.contentEvents = timeline.contentEvents
        self.sawErrorEvent = timeline.sawErrorEvent
        self.maxGap = timeline.contentEvents > 1 ? timeline.maxGap : nil
        let ok = ending.status == 200 && ending.completed && !ending.clientDisconnected
        success = ok && (!streamed || timeline.contentEvents > 0)
        if let dispatched = timeline.dispatched, let admitted = timeline.admitted {
            queueTime = max(0, dispatched - admitted)
        }
        // A non-streamed response has no first token to time, whatever its body holds.
        if streamed, let first = timeline.firstContent {
            ttft = first - timeline.arrival
            ttftFromDispatch = timeline.dispatched.map { first - $0 }
        }
        if streamed {
            e2el = timeline.lastContent.map { $0 - timeline.arrival }
        } else if ok {
            e2el = end - timeline.arrival
        }
        promptTokens = timeline.promptTokens ?? (success ? estimatedPromptTokens : nil)
        if let completion = timeline.completionTokens {
            completionTokens = completion
            completionEstimated = false
        } else if success && streamed {
            completionTokens = timeline.contentEvents
            completionEstimated = true
        } else {
            completionEstimated = false
        }
        if success, let e2el, let ttft, let output = completionTokens, output > 1 {
            tpot = (e2el - ttft) / Double(output - 1)
        }
    }
}
