/// One access-log line: a JSON object per request, keys always present (null when unknown),
/// times in milliseconds. API keys are never written: a tenant taken from one is logged as a hash.
public struct AccessLogEntry: Sendable, Equatable {
    /// Wall-clock time the request ended, Unix seconds.
    public var time: Double
    public var requestID: String
    public var tenant: String?
    public var method: String
    public var path: String
    public var model: String?
    public var backend: String?
    /// Dispatches: 1, or more when the request was retried on other backends (0: never sent).
    public var attempts = 0
    public var status: Int?
    public var reason: String?
    public var stream = false
    public var promptTokens: Int?
    public var completionTokens: Int?
    public var completionEstimated = false
    public var images = 0
    public var imageTokens = 0
    public var queueMs: Double?
    public var ttftMs: Double?
    public var tpotMs: Double?
    public var e2elMs: Double?
    public var itlMaxMs: Double?
    /// From the head's arrival to the end of the exchange.
    public var durationMs: Double
    public var bytesIn = 0
    public var bytesOut = 0
    public var clientDisconnected = false

    public init(time: Double, requestID: String, method: String, path: String, durationMs: Double) {
        self.time = time
        self.requestID = requestID
        self.method = method
        self.path = path
        self.durationMs = durationMs
    }

    /// Fills the measured fields from a finished inference request.
    public mutating func take(_ record: RequestRecord) {
        model = record.model
        backend = record.backend
        stream = record.streamed
        promptTokens = record.promptTokens
        completionTokens = record.completionTokens
        completionEstimated = record.completionEstimated
        queueMs = record.queueTime.map { $0 * 1000 }
        ttftMs = record.ttft.map { $0 * 1000 }
        tpotMs = record.tpot.map { $0 * 1000 }
        e2elMs = record.e2el.map { $0 * 1000 }
        itlMaxMs = record.maxGap.map { $0 * 1000 }
    }

    /// The line, without its newline.
    public var json: String {
        func number(_ value: Double?) -> OrderedJSON {
            guard let value, value.isFinite else { return .null }
            return .double((value * 1000).rounded() / 1000)
        }
        let members: [(String, OrderedJSON)] = [
            ("time", .string(Self.iso8601(time))), ("request_id", .string(requestID)), ("tenant", .optional(tenant)),
            ("method", .string(method)), ("path", .string(path)), ("model", .optional(model)),
            ("backend", .optional(backend)), ("attempts", .int(attempts)), ("status", .optional(status)),
            ("reason", .optional(reason)),
            ("stream", .bool(stream)), ("prompt_tokens", .optional(promptTokens)),
            ("completion_tokens", .optional(completionTokens)), ("completion_estimated", .bool(completionEstimated)),
            ("images", .int(images)), ("image_tokens", .int(imageTokens)), ("queue_ms", number(queueMs)),
            ("ttft_ms", number(ttftMs)), ("tpot_ms", number(tpotMs)), ("e2el_ms", number(e2elMs)),
            ("itl_max_ms", number(itlMaxMs)), ("duration_ms", number(durationMs)), ("bytes_in", .int(bytesIn)),
            ("bytes_out", .int(bytesOut)), ("client_disconnected", .bool(clientDisconnected)),
        ]
        return OrderedJSON.object(members).compactSerialized
    }

    /// `2026-11-29T14:02:48.123Z` (UTC, milliseconds).
    static func iso8601(_ unixSeconds: Double) -> String {
        let totalMs = Int64((unixSeconds * 1000).rounded(.down))
        let ms = Int(((totalMs % 1000) + 1000) % 1000)
        let seconds = (totalMs - Int64(ms)) / 1000
        var days = seconds / 86_400
        var secondOfDay = seconds % 86_400
        if secondOfDay < 0 {
            secondOfDay += 86_400
            days -= 1
        }
        // Howard Hinnant's civil_from_days.
        let z = days + 719_468
        let era = (z >= 0 ? z : z - 146_096) / 146_097
        let dayOfEra = z - era * 146_097
        let yearOfEra = (dayOfEra - dayOfEra / 1460 + dayOfEra / 36_524 - dayOfEra / 146_096) / 365
        let dayOfYear = dayOfEra - (365 * yearOfEra + yearOfEra / 4 - yearOfEra / 100)
        let mp = (5 * dayOfYear + 2) / 153
        let day = dayOfYear - (153 * mp + 2) / 5 + 1
        let month = mp < 10 ? mp + 3 : mp - 9
        let year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0)
        func pad(_ value: Int64, _ width: Int) -> String {
            let text = String(value)
            return String(repeating: "0", count: max(0, width - text.count)) + text
        }
        return "\(pad(year, 4))-\(pad(month, 2))-\(pad(day, 2))T\(pad(secondOfDay / 3600, 2)):"
            + "\(pad(secondOfDay / 60 % 60, 2)):\(pad(secondOfDay % 60, 2)).\(pad(Int64(ms), 3))Z"
    }
}
