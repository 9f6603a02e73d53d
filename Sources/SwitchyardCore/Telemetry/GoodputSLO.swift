/// The `--goodput` service level objectives, in milliseconds (vLLM's `parse_goodput` plus
/// `check_goodput_args`): items `KEY:VALUE` with KEY one of `ttft`, `tpot`, `e2el` and VALUE a
/// non-negative number. A later item for the same metric replaces an earlier one, as in
/// vLLM's dict.
public struct GoodputSLO: Sendable, Equatable {
    public var ttftMs: Double?
    public var tpotMs: Double?
    public var e2elMs: Double?

    public init(ttftMs: Double? = nil, tpotMs: Double? = nil, e2elMs: Double? = nil) {
        self.ttftMs = ttftMs
        self.tpotMs = tpotMs
        self.e2elMs = e2elMs
    }

    /// Parses the `--goodput` items, e.g. `["ttft:500", "tpot:50"]`.
    public init(parsing arguments: [String]) throws(GoodputSLOError) {
        self.init()
        for item in arguments {
            let parts = item.split(separator: ":", omittingEmptySubsequences: false)
            guard parts.count == 2 else { throw .malformed(item: item) }
            let text = parts[1].trimmingWhitespace()
            // Python's float() accepts "inf" but never a NaN we would want; reject NaN.
            guard !text.isEmpty, let value = Double(text), !value.isNaN else {
                throw .notANumber(item: item)
            }
            switch parts[0] {
            case "ttft": ttftMs = value
            case "tpot": tpotMs = value
            case "e2el": e2elMs = value
            default: throw .unknownMetric(item: item)
            }
            guard value >= 0 else { throw .negative(item: item) }
        }
    }

    /// True when no objective is set (vLLM's empty `goodput_config_dict`: no goodput).
    public var isEmpty: Bool { ttftMs == nil && tpotMs == nil && e2elMs == nil }
}

/// A `--goodput` item vLLM would reject; the message names the item.
public enum GoodputSLOError: Error, Equatable, CustomStringConvertible {
    /// Not exactly one `:`.
    case malformed(item: String)
    /// The key is not `ttft`, `tpot` or `e2el`.
    case unknownMetric(item: String)
    /// The value is not a number.
    case notANumber(item: String)
    /// The value is below 0.
    case negative(item: String)

    public var item: String {
        switch self {
        case .malformed(let item), .unknownMetric(let item), .notANumber(let item), .negative(let item): item
        }
    }

    public var description: String {
        switch self {
        case .malformed(let item):
            "Invalid goodput item '\(item)': specify service level objectives as KEY:VALUE pairs, "
                + "where the key is a metric name and the value a number in milliseconds."
        case .unknownMetric(let item):
            "Invalid goodput item '\(item)': the metric name should be one of ttft, tpot, e2el."
        case .notANumber(let item):
            "Invalid goodput item '\(item)': the value should be a number of milliseconds."
        case .negative(let item):
            "Invalid goodput item '\(item)': the value should be non-negative."
        }
    }
}

extension Substring {
    fileprivate func trimmingWhitespace() -> Substring {
        var result = self
        while let first = result.first, first.isWhitespace { result.removeFirst() }
        while let last = result.last, last.isWhitespace { result.removeLast() }
        return result
    }
}
