import Foundation

/// `GET /stats`: what to report (parsed from the query string).
public struct StatsQuery: Sendable, Equatable {
    /// Seconds back from now; nil: since start.
    public var window: Double?
    public var filter = StatsFilter()
    /// Percentiles shown for every metric (vLLM's default: 99).
    public var percentiles: [Double] = [99]
    public var json = false

    public init(
        window: Double? = nil, filter: StatsFilter = StatsFilter(), percentiles: [Double] = [99], json: Bool = false
    ) {
        self.window = window
        self.filter = filter
        self.percentiles = percentiles
        self.json = json
    }

    /// Parses `window=60s&backend=NAME&model=M&percentiles=50,90,99&format=json`. A backend
    /// must be one of `backends`; anything unknown or malformed is a 400 naming it.
    public static func parse(_ query: Substring, backends: [String]) -> Result<StatsQuery, OpenAIError> {
        var result = StatsQuery()
        for pair in query.split(separator: "&") where !pair.isEmpty {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = String(parts[0])
            guard let value = parts.count == 2 ? percentDecoded(parts[1]) : nil, !value.isEmpty else {
                return .failure(invalid("the parameter '\(name)' needs a value"))
            }
            switch name {
            case "window":
                guard let duration = ConfigUnits.parseDuration(value), duration > .zero else {
                    return .failure(invalid("window '\(value)' is not a duration such as 60s, 5m or 1h"))
                }
                result.window = duration.inSeconds
            case "backend":
                guard backends.contains(value) else {
                    return .failure(
                        invalid("no backend is named '\(value)' (backends: \(backends.joined(separator: ", ")))"))
                }
                result.filter.backend = value
            case "model":
                result.filter.model = value
            case "percentiles":
                var percentiles: [Double] = []
                for item in value.split(separator: ",") {
                    guard let p = Double(item.trimmingCharacters(in: .whitespaces)), p >= 0, p <= 100 else {
                        return .failure(invalid("percentile '\(item)' is not a number between 0 and 100"))
                    }
                    percentiles.append(p)
                }
                guard !percentiles.isEmpty else { return .failure(invalid("percentiles is empty")) }
                result.percentiles = percentiles
            case "format":
                guard value == "json" || value == "text" else {
                    return .failure(invalid("format '\(value)' is neither json nor text"))
                }
                result.json = value == "json"
            default:
                return .failure(
                    invalid("unknown parameter '\(name)' (known: window, backend, model, percentiles, format)"))
            }
        }
        return .success(result)
    }

    private static func invalid(_ detail: String) -> OpenAIError {
        OpenAIError(status: 400, message: "Invalid /stats query: \(detail).", reason: "invalid_stats_query")
    }

    /// `%XX` and `+` decoded; nil when an escape is malformed or not UTF-8.
    static func percentDecoded(_ text: Substring) -> String? {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding
    }
}

/// The live report in `vllm bench serve`'s layout, and its `--save-result` JSON.
public enum StatsReport {
    /// vLLM's aggregate figures from a merged cell. Throughputs divide by the cell's duration
    /// (first arrival to last end), as vLLM divides by first dispatch to last completion.
    public static func metrics(
        _ cell: StatsCell, peaks: (eventsPerSecond: Int, inFlight: Int), percentiles: [Double], hasGoodput: Bool
    ) -> BenchmarkMetrics {
        let duration = cell.duration
        func rate(_ value: Int) -> Double { duration > 0 ? Double(value) / duration : 0 }
        return BenchmarkMetrics(
            completed: cell.completed, failed: cell.failed, totalInput: cell.totalInput, totalOutput: cell.totalOutput,
            requestThroughput: rate(cell.completed), requestGoodput: hasGoodput ? rate(cell.good) : nil,
            outputThroughput: rate(cell.totalOutput), totalTokenThroughput: rate(cell.totalInput + cell.totalOutput),
            maxOutputTokensPerSecond: Double(peaks.eventsPerSecond), maxConcurrentRequests: peaks.inFlight,
            maxConcurrentRequestsPerSecondBucket: peaks.inFlight,
            outputTokensEstimatedRequests: cell.estimatedOutputRequests,
            ttft: LatencySummary(sketch: cell.ttft, percentiles: percentiles),
            tpot: LatencySummary(sketch: cell.tpot, percentiles: percentiles),
            itl: LatencySummary(sketch: cell.itl, percentiles: percentiles),
            e2el: LatencySummary(sketch: cell.e2el, percentiles: percentiles), actualOutputLens: [])
    }

    static let metricsShown = ["ttft", "tpot", "itl", "e2el"]

    /// The report of `query` over `stats` at `now`; `date` is the local time as vLLM writes it.
    public static func render(_ stats: LiveStats, query: StatsQuery, now: Double, date: String) -> String {
        let cell = stats.cell(filter: query.filter, window: query.window, now: now)
        let peaks = stats.peaks(filter: query.filter, window: query.window, now: now)
        let metrics = metrics(
            cell, peaks: peaks, percentiles: query.percentiles, hasGoodput: stats.config.goodput != nil)
        let info = BenchmarkRunInfo(
            backend: "openai-chat", label: "switchyard-live", modelID: query.filter.model ?? "all",
            numPrompts: cell.completed + cell.failed, date: date, duration: cell.duration)
        let queue = LatencySummary(sketch: cell.queueTime, percentiles: query.percentiles)
        let dispatchTTFT = LatencySummary(sketch: cell.ttftFromDispatch, percentiles: query.percentiles)
        let reasons = cell.reasons.sorted { $0.key < $1.key }
        if query.json {
            var extra: [(String, OrderedJSON)] = [
                ("window_seconds", query.window.map { .double($0) } ?? .null),
                ("backend_filter", .optional(query.filter.backend)),
                ("model_filter", .optional(query.filter.model)),
                ("percentile_relative_error", .double(LatencySketch.relativeError)),
            ]
            for (key, summary) in [("queue_time", queue), ("ttft_from_dispatch", dispatchTTFT)] {
                extra += summaryMembers(key, summary)
            }
            extra.append(("reasons", .object(reasons.map { ($0.key, .int($0.value)) })))
            extra.append(("in_flight", .int(stats.inFlight(filter: query.filter))))
            return BenchmarkReport.json(
                metrics: metrics, info: info, outcomes: nil, percentileMetrics: metricsShown,
                percentiles: query.percentiles, extraMembers: extra)
        }
        var extraLines: [String] = []
        func section(_ header: String, _ name: String, _ summary: LatencySummary) {
            extraLines.append(PythonFormat.centered(header, width: 50, fill: "-"))
            extraLines.append(row("Mean \(name) (ms):", summary.mean))
            extraLines.append(row("Median \(name) (ms):", summary.median))
            for entry in summary.percentiles {
                extraLines.append(row("P\(PythonFormat.percentileWord(entry.percentile)) \(name) (ms):", entry.value))
            }
        }
        section("Queue Time", "queue time", queue)
        section("TTFT from Dispatch (backend's view)", "TTFT from dispatch", dispatchTTFT)
        extraLines.append(PythonFormat.centered("Refusals and Failures by Reason", width: 50, fill: "-"))
        if reasons.isEmpty { extraLines.append("(none)") }
        for (reason, count) in reasons {
            extraLines.append(PythonFormat.leftAligned(reason + ":", 40) + " " + String(count))
        }
        let scope =
            "window: " + (query.window.map { "last \(PythonFormat.fixed2($0)) s" } ?? "since start")
            + "; backend: \(query.filter.backend ?? "all"); model: \(query.filter.model ?? "all")"
        let preamble =
            "Switchyard live statistics (\(scope)). Percentiles within \(PythonFormat.fixed2(LatencySketch.relativeError * 100)) %; "
            + "means and counts exact.\n"
        return preamble
            + BenchmarkReport.text(
                metrics: metrics, info: info, percentileMetrics: metricsShown, percentiles: query.percentiles,
                extraLines: extraLines)
    }

    private static func row(_ label: String, _ value: Double) -> String {
        PythonFormat.leftAligned(label, 40) + " " + PythonFormat.leftAligned(PythonFormat.fixed2(value), 10)
    }

    private static func summaryMembers(_ key: String, _ summary: LatencySummary) -> [(String, OrderedJSON)] {
        var members: [(String, OrderedJSON)] = [
            ("mean_\(key)_ms", .double(summary.mean)), ("median_\(key)_ms", .double(summary.median)),
            ("std_\(key)_ms", .double(summary.std)),
        ]
        for entry in summary.percentiles {
            members.append(("p\(PythonFormat.percentileWord(entry.percentile))_\(key)_ms", .double(entry.value)))
        }
        return members
    }
}
