import Foundation
import Testing

@testable import SwitchyardCore

// MARK: - StatsQuery.parse

private let backends = ["b1", "b2"]

private func parsed(_ query: String, sourceLocation: SourceLocation = #_sourceLocation) -> StatsQuery? {
    switch StatsQuery.parse(query[...], backends: backends) {
    case .success(let query): return query
    case .failure(let error):
        Issue.record("expected '\(query)' to parse, got \(error.message)", sourceLocation: sourceLocation)
        return nil
    }
}

private func rejected(_ query: String, sourceLocation: SourceLocation = #_sourceLocation) -> OpenAIError? {
    switch StatsQuery.parse(query[...], backends: backends) {
    case .success(let result):
        Issue.record("expected '\(query)' to be refused, got \(result)", sourceLocation: sourceLocation)
        return nil
    case .failure(let error):
        #expect(error.status == 400, sourceLocation: sourceLocation)
        #expect(error.reason == "invalid_stats_query", sourceLocation: sourceLocation)
        return error
    }
}

@Suite("StatsQuery.parse: GET /stats parameters")
struct StatsQueryTests {
    @Test("no parameters: since start, everything, P99, text")
    func defaults() {
        #expect(parsed("") == StatsQuery())
        #expect(parsed("&&") == StatsQuery())
        let query = parsed("")
        #expect(query?.window == nil)
        #expect(query?.filter == StatsFilter())
        #expect(query?.percentiles == [99])
        #expect(query?.json == false)
    }

    @Test("every parameter at once, the model percent-encoded")
    func everything() {
        let query = parsed("window=60s&backend=b1&model=zai-org%2FGLM-4.5V&percentiles=50,90,99&format=json")
        #expect(
            query
                == StatsQuery(
                    window: 60, filter: StatsFilter(backend: "b1", model: "zai-org/GLM-4.5V"),
                    percentiles: [50, 90, 99],
                    json: true))
    }

    @Test(
        "window durations",
        arguments: [("60s", 60.0), ("5m", 300), ("1h", 3600), ("500ms", 0.5), ("90", 90), ("1.5m", 90)])
    func windows(text: String, seconds: Double) {
        #expect(parsed("window=\(text)")?.window == seconds)
    }

    @Test("decoding: %XX, lowercase hex, + as space, UTF-8")
    func decoding() {
        #expect(parsed("model=zai-org%2fGLM-4.5V")?.filter.model == "zai-org/GLM-4.5V")
        #expect(parsed("model=a+b")?.filter.model == "a b")
        #expect(parsed("model=a%2Bb")?.filter.model == "a+b")
        #expect(parsed("model=caf%C3%A9")?.filter.model == "café")
        #expect(parsed("backend=b%32")?.filter.backend == "b2")
        #expect(parsed("percentiles=50%2C99.9")?.percentiles == [50, 99.9])
    }

    @Test("format json or text; the last occurrence of a parameter wins")
    func format() {
        #expect(parsed("format=json")?.json == true)
        #expect(parsed("format=text")?.json == false)
        #expect(parsed("format=json&format=text")?.json == false)
        #expect(parsed("backend=b1&backend=b2")?.filter.backend == "b2")
    }

    @Test("percentiles: a list of numbers in [0, 100], in the order given")
    func percentiles() {
        #expect(parsed("percentiles=99")?.percentiles == [99])
        #expect(parsed("percentiles=0,100")?.percentiles == [0, 100])
        #expect(parsed("percentiles=99.9,50, 25")?.percentiles == [99.9, 50, 25])
    }

    @Test("an unknown backend is a 400 naming it and the backends there are")
    func unknownBackend() {
        let error = rejected("backend=nope")
        #expect(error?.message.contains("'nope'") == true)
        #expect(error?.message.contains("b1, b2") == true)
        #expect(error?.jsonBody.contains("\"code\":400") == true)
        // Names are matched exactly.
        _ = rejected("backend=B1")
    }

    @Test(
        "a window that is not a positive duration is a 400",
        arguments: ["soon", "0s", "0", "-5s", "5x", "1e400s", "60 s s", "nan"])
    func badWindow(text: String) {
        let error = rejected("window=\(text)")
        #expect(error?.message.contains("window") == true)
    }

    @Test(
        "a percentile outside [0, 100] or not a number is a 400",
        arguments: ["101", "-1", "abc", "nan", "inf", "50;90", ",", "99,,x"])
    func badPercentile(text: String) {
        let error = rejected("percentiles=\(text)")
        #expect(error?.message.contains("ercentile") == true)
    }

    @Test("unknown parameters, missing values, bad escapes and formats are 400s")
    func malformed() {
        let unknown = rejected("windows=60s")
        #expect(unknown?.message.contains("'windows'") == true)
        #expect(unknown?.message.contains("window, backend, model, percentiles, format") == true)
        #expect(rejected("window=60s&foo=1")?.message.contains("'foo'") == true)
        #expect(rejected("window")?.message.contains("'window'") == true)
        #expect(rejected("window=")?.message.contains("'window'") == true)
        _ = rejected("model=%zz")
        _ = rejected("model=%2")
        _ = rejected("model=%FF")  // not UTF-8
        #expect(rejected("format=xml")?.message.contains("xml") == true)
    }
}

// MARK: - StatsReport.render

/// R1–R3 succeed on b1 (model m); one refusal (queue_full) and one upstream failure on b1.
///
/// | request | arrival | queue  | TTFT  | from dispatch | gaps              | E2EL  | tokens  | end    |
/// | R1      | 0       | 0.0625 | 0.25  | 0.1875        | .125, .125, .25   | 0.75  | 10 → 4  | 0.8125 |
/// | R2      | 1       | 0.125  | 0.5   | 0.375         | .25               | 0.75  | 20 → 2  | 1.8125 |
/// | R3      | 2       | 0      | 0.125 | 0.125         |                   | 0.125 | 30 → 1  | 2.1875 |
/// | refusal | 3       |        |       |               |                   |       |         | 3      |
/// | failure | 3.5     | 0      |       |               |                   |       |         | 4      |
private func sampleStats(goodput: GoodputSLO? = nil) -> LiveStats {
    var stats = LiveStats(config: LiveStatsConfig(goodput: goodput))
    let requests = [
        liveRequest(arrival: 0, queue: 0.0625, ttft: 0.25, gaps: [0.125, 0.125, 0.25], prompt: 10, completion: 4),
        liveRequest(arrival: 1, queue: 0.125, ttft: 0.5, gaps: [0.25], prompt: 20, completion: 2),
        liveRequest(arrival: 2, queue: 0, ttft: 0.125, prompt: 30, completion: 1),
        liveFailure(arrival: 3, end: 3, status: 429, reason: "queue_full"),
        liveFailure(backend: "b1", arrival: 3.5, end: 4, status: 502, reason: "upstream_error"),
    ]
    for request in requests { stats.replay(request) }
    return stats
}

/// Hand-computed figures of `sampleStats`, in milliseconds.
private enum Sample {
    static let ttft = [250.0, 500, 125]
    static let tpot = [500.0 / 3, 250]
    static let itl = [125.0, 125, 250, 250]
    static let e2el = [750.0, 750, 125]
    static let queue = [62.5, 125, 0, 0]
    static let fromDispatch = [187.5, 375, 125]
}

/// The report's rows as label → value (both trimmed).
private func reportRows(_ text: String) -> [String: String] {
    var rows: [String: String] = [:]
    for line in text.split(separator: "\n") where line.count > 41 && line.contains(":") {
        let label = line.prefix(40).trimmingCharacters(in: .whitespaces)
        let value = line.dropFirst(41).trimmingCharacters(in: .whitespaces)
        rows[label] = value
    }
    return rows
}

/// The row `label` is an exact figure: `value` printed with two decimals (0.005 for rounding).
private func expectExact(
    _ rows: [String: String], _ label: String, _ value: Double, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let text = rows[label], let printed = Double(text) else {
        Issue.record("no row '\(label)'", sourceLocation: sourceLocation)
        return
    }
    #expect(abs(printed - value) <= 0.005 + 1e-9, "\(label) \(printed) vs \(value)", sourceLocation: sourceLocation)
}

/// The row `label` is a sketch percentile: within the relative error of `value`, plus rounding.
private func expectEstimate(
    _ rows: [String: String], _ label: String, _ value: Double, sourceLocation: SourceLocation = #_sourceLocation
) {
    guard let text = rows[label], let printed = Double(text) else {
        Issue.record("no row '\(label)'", sourceLocation: sourceLocation)
        return
    }
    #expect(
        abs(printed - value) <= LatencySketch.relativeError * value + 0.005 + 1e-9, "\(label) \(printed) vs \(value)",
        sourceLocation: sourceLocation)
}

private func json(_ text: String, sourceLocation: SourceLocation = #_sourceLocation) -> [String: Any] {
    guard let object = try? JSONSerialization.jsonObject(with: Data(text.utf8)) as? [String: Any] else {
        Issue.record("not a JSON object: \(text.prefix(300))", sourceLocation: sourceLocation)
        return [:]
    }
    return object
}

private func number(_ object: [String: Any], _ key: String) -> Double? {
    (object[key] as? NSNumber)?.doubleValue
}

@Suite("StatsReport: the live report in vllm bench serve's layout")
struct StatsReportTests {
    @Test("text: preamble, vLLM's block, sections and hand-computed numbers")
    func text() {
        let query = StatsQuery(percentiles: [50, 90, 99])
        let text = StatsReport.render(sampleStats(), query: query, now: 10, date: "20250102-030405")
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
        #expect(
            lines.first
                == "Switchyard live statistics (window: since start; backend: all; model: all). "
                + "Percentiles within 0.50 %; means and counts exact.")
        #expect(lines.count > 1 && lines[1] == "============ Serving Benchmark Result ============")
        #expect(text.hasSuffix("\n" + String(repeating: "=", count: 50) + "\n"))

        let rows = reportRows(text)
        #expect(rows["Successful requests:"] == "3")
        #expect(rows["Failed requests:"] == "2")
        #expect(rows["Benchmark duration (s):"] == "4.00")
        #expect(rows["Total input tokens:"] == "60")
        #expect(rows["Total generated tokens:"] == "7")
        #expect(rows["Request throughput (req/s):"] == "0.75")
        #expect(rows["Output token throughput (tok/s):"] == "1.75")
        #expect(rows["Total token throughput (tok/s):"] == "16.75")
        // Four content events in second 0 (R1); one request at a time.
        #expect(rows["Peak output token throughput (tok/s):"] == "4.00")
        #expect(rows["Peak concurrent requests:"] == "1.00")
        #expect(rows["Request goodput (req/s):"] == nil)
        #expect(rows["Maximum request concurrency:"] == nil)

        let sections: [(String, [Double])] = [
            ("TTFT", Sample.ttft), ("TPOT", Sample.tpot), ("ITL", Sample.itl), ("E2EL", Sample.e2el),
            ("queue time", Sample.queue), ("TTFT from dispatch", Sample.fromDispatch),
        ]
        for (name, values) in sections {
            expectExact(rows, "Mean \(name) (ms):", Statistics.mean(values))
            expectEstimate(rows, "Median \(name) (ms):", Statistics.median(values))
            for p in [50.0, 90, 99] {
                expectEstimate(rows, "P\(Int(p)) \(name) (ms):", Statistics.percentile(values, p))
            }
            #expect(rows["P99.9 \(name) (ms):"] == nil)
            #expect(rows["P95 \(name) (ms):"] == nil)
        }
        // A few by hand, to pin the hand computation itself.
        expectExact(rows, "Mean TTFT (ms):", 291.67)
        expectEstimate(rows, "P90 TTFT (ms):", 450)
        expectEstimate(rows, "P99 TTFT (ms):", 495)
        expectExact(rows, "Mean E2EL (ms):", 541.67)
        expectEstimate(rows, "Median E2EL (ms):", 750)
        expectExact(rows, "Mean queue time (ms):", 46.875)
        expectEstimate(rows, "Median queue time (ms):", 31.25)
        expectExact(rows, "Mean TTFT from dispatch (ms):", 229.17)

        // Sections in order, then the reasons, sorted.
        let headers = [
            "Time to First Token", "Time per Output Token (excl. 1st token)", "Inter-token Latency",
            "End-to-end Latency", "Queue Time", "TTFT from Dispatch (backend's view)",
            "Refusals and Failures by Reason",
        ]
        let headerLines = headers.map { header in lines.firstIndex { $0.hasPrefix("-") && $0.contains(header) } }
        #expect(headerLines.allSatisfy { $0 != nil }, "\(headerLines)")
        let found = headerLines.compactMap { $0 }
        #expect(found == found.sorted())
        for index in found { #expect(lines[index].count == 50) }
        guard let reasons = found.last else { return }
        #expect(lines[reasons + 1] == "queue_full:" + String(repeating: " ", count: 29) + " 1")
        #expect(lines[reasons + 2] == "upstream_error:" + String(repeating: " ", count: 25) + " 1")
        #expect(lines[reasons + 3] == String(repeating: "=", count: 50))
    }

    @Test("text: default percentiles show P99 lines only")
    func defaultPercentiles() {
        let text = StatsReport.render(sampleStats(), query: StatsQuery(), now: 10, date: "d")
        let rows = reportRows(text)
        for name in ["TTFT", "TPOT", "ITL", "E2EL", "queue time", "TTFT from dispatch"] {
            #expect(rows["P99 \(name) (ms):"] != nil, "\(name)")
            #expect(rows["P50 \(name) (ms):"] == nil, "\(name)")
        }
        #expect(text.components(separatedBy: "\nP99 ").count - 1 == 6)
        #expect(text.components(separatedBy: "\nMedian ").count - 1 == 6)
        let fractional = StatsReport.render(sampleStats(), query: StatsQuery(percentiles: [99.9]), now: 10, date: "d")
        expectEstimate(reportRows(fractional), "P99.9 TTFT (ms):", Statistics.percentile(Sample.ttft, 99.9))
    }

    @Test("text: a window and filters are named in the preamble and select the requests")
    func filtered() {
        let query = StatsQuery(window: 60, filter: StatsFilter(backend: "b1", model: "m"), percentiles: [50])
        let text = StatsReport.render(sampleStats(), query: query, now: 10, date: "d")
        #expect(
            text.hasPrefix(
                "Switchyard live statistics (window: last 60.00 s; backend: b1; model: m). Percentiles within 0.50 %"))
        let rows = reportRows(text)
        #expect(rows["Successful requests:"] == "3")
        // The refusal never reached a backend: only the upstream failure counts here.
        #expect(rows["Failed requests:"] == "1")
        #expect(rows["upstream_error:"] == "1")
        #expect(rows["queue_full:"] == nil)
        // A window that ended before everything: nothing, and no reasons.
        let empty = StatsReport.render(sampleStats(), query: StatsQuery(window: 1), now: 100, date: "d")
        #expect(reportRows(empty)["Successful requests:"] == "0")
        #expect(reportRows(empty)["Mean TTFT (ms):"] == "0.00")
        #expect(empty.contains("\n(none)\n"))
    }

    @Test("text: goodput appears with an SLO")
    func goodputText() {
        // TTFT ≤ 300 ms: R1 (250) and R3 (125) are good, over 4 s.
        let text = StatsReport.render(
            sampleStats(goodput: GoodputSLO(ttftMs: 300)), query: StatsQuery(), now: 10, date: "d")
        #expect(reportRows(text)["Request goodput (req/s):"] == "0.50")
    }

    @Test("JSON: vLLM's keys, exact counts and means, no per-request lists")
    func jsonReport() {
        let query = StatsQuery(json: true)
        let object = json(StatsReport.render(sampleStats(), query: query, now: 10, date: "20250102-030405"))
        #expect(object["completed"] as? Int == 3)
        #expect(object["failed"] as? Int == 2)
        #expect(object["num_prompts"] as? Int == 5)
        #expect(object["total_input_tokens"] as? Int == 60)
        #expect(object["total_output_tokens"] as? Int == 7)
        #expect(number(object, "duration") == 4)
        #expect(number(object, "request_throughput") == 0.75)
        #expect(object["date"] as? String == "20250102-030405")
        #expect(object["request_goodput"] is NSNull)
        #expect(object["window_seconds"] is NSNull)
        #expect(object["backend_filter"] is NSNull)
        #expect(number(object, "percentile_relative_error") == LatencySketch.relativeError)
        #expect(object["reasons"] as? [String: Int] == ["queue_full": 1, "upstream_error": 1])
        #expect(object["in_flight"] as? Int == 0)
        #expect(number(object, "max_output_tokens_per_s") == 4)

        func close(_ key: String, _ value: Double, relative: Double) {
            guard let actual = number(object, key) else {
                Issue.record("no number at \(key)")
                return
            }
            #expect(abs(actual - value) <= relative * abs(value) + 1e-9, "\(key): \(actual) vs \(value)")
        }
        close("mean_ttft_ms", Statistics.mean(Sample.ttft), relative: 1e-12)
        close("median_ttft_ms", Statistics.median(Sample.ttft), relative: LatencySketch.relativeError)
        close("p99_ttft_ms", Statistics.percentile(Sample.ttft, 99), relative: LatencySketch.relativeError)
        close("std_ttft_ms", Statistics.populationStd(Sample.ttft), relative: 1e-9)
        close("mean_tpot_ms", Statistics.mean(Sample.tpot), relative: 1e-12)
        close("mean_itl_ms", Statistics.mean(Sample.itl), relative: 1e-12)
        close("mean_e2el_ms", Statistics.mean(Sample.e2el), relative: 1e-12)
        close("p99_e2el_ms", Statistics.percentile(Sample.e2el, 99), relative: LatencySketch.relativeError)
        close("mean_queue_time_ms", Statistics.mean(Sample.queue), relative: 1e-12)
        close("p99_queue_time_ms", Statistics.percentile(Sample.queue, 99), relative: LatencySketch.relativeError)
        close("mean_ttft_from_dispatch_ms", Statistics.mean(Sample.fromDispatch), relative: 1e-12)
        // Only the percentiles asked for.
        #expect(object["p50_ttft_ms"] == nil)
        for key in [
            "input_lens", "output_lens", "ttfts", "itls", "latencies", "start_times", "generated_texts", "errors",
        ] {
            #expect(object[key] == nil, "\(key) should be absent")
        }
    }

    @Test("JSON: window, filters, percentiles and goodput")
    func jsonOptions() {
        let query = StatsQuery(
            window: 60, filter: StatsFilter(backend: "b1"), percentiles: [50, 99.9], json: true)
        let object = json(
            StatsReport.render(sampleStats(goodput: GoodputSLO(ttftMs: 300)), query: query, now: 10, date: "d"))
        #expect(number(object, "window_seconds") == 60)
        #expect(object["backend_filter"] as? String == "b1")
        #expect(object["model_filter"] is NSNull)
        #expect(number(object, "request_goodput") == 0.5)
        #expect(object["failed"] as? Int == 1)
        for key in ["p50_ttft_ms", "p99.9_ttft_ms", "p50_e2el_ms", "p99.9_itl_ms", "p50_queue_time_ms"] {
            #expect(number(object, key) != nil, "\(key)")
        }
        #expect(object["p99_ttft_ms"] == nil)
    }

    @Test("JSON and text of an empty LiveStats: zeros, valid JSON")
    func empty() {
        let stats = LiveStats()
        let object = json(StatsReport.render(stats, query: StatsQuery(json: true), now: 0, date: "d"))
        #expect(object["completed"] as? Int == 0)
        #expect(number(object, "mean_ttft_ms") == 0)
        #expect(number(object, "p99_e2el_ms") == 0)
        #expect(object["reasons"] as? [String: Int] == [:])
        let text = StatsReport.render(stats, query: StatsQuery(), now: 0, date: "d")
        #expect(reportRows(text)["Benchmark duration (s):"] == "0.00")
        #expect(reportRows(text)["Request throughput (req/s):"] == "0.00")
    }
}
