/// One request's measurement as its response passes: the timeline, the inter-token gaps, and
/// the observers that find events in the bytes. The relay calls `observe` once per part it
/// forwards (one clock read per part); nothing is copied and nothing allocated but the gaps'
/// storage, which the caller hands from one request to the next.
public struct ResponseMeter: Sendable {
    public var timeline: RequestTimeline
    /// Gaps between consecutive content events.
    public private(set) var gaps: [Double]
    /// Response body bytes relayed.
    public private(set) var bytesOut = 0
    /// The response is an SSE stream (else one JSON body, watched for its usage).
    public private(set) var eventStream = false
    private var observer = SSEObserver()
    private var body = JSONMemberWatcher()
    /// The previous part ended inside an event.
    private var endedMidEvent = false

    /// What `observe` found in one part, for the usage rewrite.
    public struct Part: Sendable, Equatable {
        /// The bytes of the usage-only event (`choices: []` with usage) within this part.
        public var usageEvent: Range<Int>?
        /// That event began in an earlier part (whose unfinished tail belongs to it too).
        public var usageEventBeganEarlier = false
        /// Where the part's last, unfinished event begins (the part's length when none is).
        public var unfinishedFrom: Int
        /// Events that ended in this part; 0 means an unfinished event from before goes on.
        public var eventsEnded = 0
    }

    public init(arrival: Double, gaps: [Double] = []) {
        self.timeline = RequestTimeline(arrival: arrival)
        self.gaps = gaps
    }

    /// A new exchange begins (the request was dispatched): fresh observers.
    public mutating func responseBegins(eventStream: Bool) {
        self.eventStream = eventStream
        observer = SSEObserver()
        body = JSONMemberWatcher()
        endedMidEvent = false
    }

    /// Observes one relayed part that arrived at `time`.
    @discardableResult
    public mutating func observe(_ bytes: UnsafeRawBufferPointer, at time: Double) -> Part {
        bytesOut += bytes.count
        guard eventStream else {
            body.consume(bytes)
            timeline.end = time
            return Part(unfinishedFrom: bytes.count)
        }
        var part = Part(unfinishedFrom: 0)
        var offset = 0
        while let end = observer.nextEvent(in: bytes, from: offset) {
            let event = observer.lastEvent
            timeline.observe(event, at: time, gaps: &gaps)
            if event.isUsageOnly && part.usageEvent == nil {
                part.usageEvent = offset..<end
                part.usageEventBeganEarlier = offset == 0 && endedMidEvent
            }
            part.eventsEnded += 1
            offset = end
        }
        part.unfinishedFrom = offset
        endedMidEvent = offset < bytes.count || (part.eventsEnded == 0 && endedMidEvent)
        return part
    }

    /// The response ended: a non-streamed body's usage is taken (it has no first token to time).
    public mutating func responseEnded(at time: Double) {
        guard !eventStream else { return }
        body.finish()
        var result = body.result
        result.hasChoices = false
        timeline.observe(result, at: timeline.end ?? time, gaps: &gaps)
    }

    /// The gaps' storage, emptied, for the next request.
    public mutating func takeGapStorage() -> [Double] {
        var storage = gaps
        gaps = []
        storage.removeAll(keepingCapacity: true)
        return storage
    }
}
