import Foundation
import Testing

@testable import SwitchyardCore

private func summary(_ mean: Double, _ median: Double, _ p99: Double) -> LatencySummary {
    LatencySummary(mean: mean, median: median, std: 0, percentiles: [PercentileValue(percentile: 99, value: p99)])
}

/// The figures of the sample report in vllm-contract.md §6 (a real `vllm bench serve` run).
private let sampleMetrics = BenchmarkMetrics(
    completed: 1000, failed: 0, totalInput: 90524, totalOutput: 127105, requestThroughput: 9.72,
    requestGoodput: nil, outputThroughput: 1235.27, totalTokenThroughput: 2115.04, maxOutputTokensPerSecond: 2355,
    maxConcurrentRequests: 108, maxConcurrentRequestsPerSecondBucket: 120, outputTokensEstimatedRequests: 0,
    ttft: summary(562.74, 609.92, 1241.51), tpot: summary(46.19, 46.29, 62.54), itl: summary(52.63, 37.15, 177.84),
    e2el: summary(1, 1, 1), actualOutputLens: [])

private let sampleInfo = BenchmarkRunInfo(
    backend: "openai-chat", modelID: "org/model", numPrompts: 1000, requestRate: 10, date: "20250102-030405",
    duration: 102.9)

@Suite("Telemetry report (vLLM layout)")
struct TelemetryReportTests {
    @Test("the vLLM sample report, byte for byte (trailing spaces included)")
    func sampleReport() {
        let expected = [
            "============ Serving Benchmark Result ============",
            "Successful requests:                     1000      ",
            "Failed requests:                         0         ",
            "Request rate configured (RPS):           10.00     ",
            "Benchmark duration (s):                  102.90    ",
            "Total input tokens:                      90524     ",
            "Total generated tokens:                  127105    ",
            "Request throughput (req/s):              9.72      ",
            "Output token throughput (tok/s):         1235.27   ",
            "Peak output token throughput (tok/s):    2355.00   ",
            "Peak concurrent requests:                108.00    ",
            "Total token throughput (tok/s):          2115.04   ",
            "---------------Time to First Token----------------",
            "Mean TTFT (ms):                          562.74    ",
            "Median TTFT (ms):                        609.92    ",
            "P99 TTFT (ms):                           1241.51   ",
            "-----Time per Output Token (excl. 1st token)------",
            "Mean TPOT (ms):                          46.19     ",
            "Median TPOT (ms):                        46.29     ",
            "P99 TPOT (ms):                           62.54     ",
            "---------------Inter-token Latency----------------",
            "Mean ITL (ms):                           52.63     ",
            "Median ITL (ms):                         37.15     ",
            "P99 ITL (ms):                            177.84    ",
            "==================================================",
        ]
        let text = BenchmarkReport.text(metrics: sampleMetrics, info: sampleInfo)
        #expect(text == expected.map { $0 + "\n" }.joined())
        #expect(text.split(separator: "\n").allSatisfy { $0.count == 50 || $0.count == 51 })
    }

    /// Printed by vLLM's own format calls over vLLM's `calculate_metrics` on the same run,
    /// except the peak concurrency (vLLM's bucket method says 2; the sweep says 1).
    @Test("every optional line and section: concurrency cap, goodput, all metrics, P99.9")
    func fullReport() {
        let metrics = BenchmarkMetrics.compute(
            outcomes: mixedRun, duration: 2, percentiles: [50, 99.9], goodput: GoodputSLO(ttftMs: 150, e2elMs: 500))
        let info = BenchmarkRunInfo(
            backend: "openai-chat", modelID: "org/model", numPrompts: 4, requestRate: .infinity, maxConcurrency: 64,
            date: "20250102-030405", duration: 2)
        let expected = [
            "============ Serving Benchmark Result ============",
            "Successful requests:                     3         ",
            "Failed requests:                         1         ",
            "Maximum request concurrency:             64        ",
            "Benchmark duration (s):                  2.00      ",
            "Total input tokens:                      60        ",
            "Total generated tokens:                  8         ",
            "Request throughput (req/s):              1.50      ",
            "Request goodput (req/s):                 0.50      ",
            "Output token throughput (tok/s):         4.00      ",
            "Peak output token throughput (tok/s):    5.00      ",
            "Peak concurrent requests:                1.00      ",
            "Total token throughput (tok/s):          34.00     ",
            "---------------Time to First Token----------------",
            "Mean TTFT (ms):                          200.00    ",
            "Median TTFT (ms):                        200.00    ",
            "P50 TTFT (ms):                           200.00    ",
            "P99.9 TTFT (ms):                         299.80    ",
            "-----Time per Output Token (excl. 1st token)------",
            "Mean TPOT (ms):                          108.33    ",
            "Median TPOT (ms):                        108.33    ",
            "P50 TPOT (ms):                           108.33    ",
            "P99.9 TPOT (ms):                         149.92    ",
            "---------------Inter-token Latency----------------",
            "Mean ITL (ms):                           100.00    ",
            "Median ITL (ms):                         100.00    ",
            "P50 ITL (ms):                            100.00    ",
            "P99.9 ITL (ms):                          199.60    ",
            "----------------End-to-end Latency----------------",
            "Mean E2EL (ms):                          366.67    ",
            "Median E2EL (ms):                        300.00    ",
            "P50 E2EL (ms):                           300.00    ",
            "P99.9 E2EL (ms):                         599.40    ",
            "==================================================",
        ]
        // Sections come in vLLM's order whatever the order asked for; unknown names are ignored.
        let text = BenchmarkReport.text(
            metrics: metrics, info: info, percentileMetrics: ["e2el", "itl", "bogus", "tpot", "ttft"])
        #expect(text == expected.map { $0 + "\n" }.joined())
    }

    @Test("only the selected metrics and percentiles are shown")
    func selection() {
        let metrics = BenchmarkMetrics.compute(outcomes: mixedRun, duration: 2, percentiles: [50, 99.9], goodput: nil)
        let text = BenchmarkReport.text(
            metrics: metrics, info: sampleInfo, percentileMetrics: ["e2el"], percentiles: [99.9])
        let lines = text.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(!text.contains("TTFT") && !text.contains("Request goodput") && !text.contains("Maximum request"))
        #expect(
            Array(lines.suffix(6)) == [
                "----------------End-to-end Latency----------------",
                "Mean E2EL (ms):                          366.67    ",
                "Median E2EL (ms):                        300.00    ",
                "P99.9 E2EL (ms):                         599.40    ",
                "==================================================",
                "",
            ])
    }

    @Test(
        "percentile labels: integral as int, otherwise Python's str(float)",
        arguments: [
            (99, "99"), (99.0, "99"), (99.9, "99.9"), (50, "50"), (0, "0"), (100, "100"), (0.5, "0.5"),
            (99.99, "99.99"), (12.125, "12.125"),
        ] as [(Double, String)])
    func percentileLabel(p: Double, word: String) {
        #expect(PythonFormat.percentileWord(p) == word)
    }

    @Test(
        "Python float repr",
        arguments: [
            (0.1, "0.1"), (2.0, "2.0"), (-0.0, "-0.0"), (0.0, "0.0"), (102.9, "102.9"), (1e15, "1000000000000000.0"),
            (1e16, "1e+16"), (1.5e300, "1.5e+300"), (0.0001, "0.0001"), (0.00001, "1e-05"), (1.25e-7, "1.25e-07"),
            (.leastNonzeroMagnitude, "5e-324"), (123456.789, "123456.789"), (200.00000000000003, "200.00000000000003"),
            (-42.5, "-42.5"), (1234567890123456.7, "1234567890123456.8"), (0.30000000000000004, "0.30000000000000004"),
        ] as [(Double, String)])
    func pythonRepr(value: Double, text: String) {
        #expect(PythonFormat.repr(value) == text)
    }

    @Test("Python .2f and alignment helpers")
    func pythonFormatting() {
        #expect(PythonFormat.fixed2(0.125) == "0.12")  // exact tie rounds to even, as in Python
        #expect(PythonFormat.fixed2(0.375) == "0.38")
        #expect(PythonFormat.fixed2(2.675) == "2.67")  // 2.675 is 2.67499999... in binary
        #expect(PythonFormat.fixed2(.infinity) == "inf")
        #expect(PythonFormat.fixed2(.nan) == "nan")
        #expect(PythonFormat.fixed2(12_345_678.9) == "12345678.90")
        #expect(PythonFormat.leftAligned("12345678901", 10) == "12345678901")
        #expect(PythonFormat.centered("ab", width: 5, fill: "*") == "*ab**")
        #expect(PythonFormat.centered(String(repeating: "x", count: 60), width: 50, fill: "-").count == 60)
    }

    /// vLLM's key order with `json.dump` layout; the expected text was written by Python's
    /// `json.dumps` over the values vLLM computed for the same run.
    @Test("the result JSON: vLLM's keys, order and layout")
    func resultJSON() throws {
        var outcomes = mixedRun
        outcomes[1].generatedText = "caf\u{E9} \"q\"\n"
        let metrics = BenchmarkMetrics.compute(
            outcomes: outcomes, duration: 2, percentiles: [50, 99.9], goodput: GoodputSLO(ttftMs: 150, e2elMs: 500))
        let info = BenchmarkRunInfo(
            backend: "openai-chat", modelID: "org/model", tokenizerID: "org/model", numPrompts: 4,
            requestRate: .infinity, maxConcurrency: 64, date: "20250102-030405", duration: 2)
        let json = BenchmarkReport.json(
            metrics: metrics, info: info, outcomes: outcomes, percentileMetrics: ["ttft", "tpot", "itl", "e2el"])
        let expected =
            #"{"date": "20250102-030405", "endpoint_type": "openai-chat", "backend": "openai-chat", "label": null, "#
            + #""model_id": "org/model", "tokenizer_id": "org/model", "num_prompts": 4, "request_rate": "inf", "#
            + #""burstiness": 1.0, "max_concurrency": 64, "duration": 2.0, "completed": 3, "failed": 1, "#
            + #""total_input_tokens": 60, "total_output_tokens": 8, "request_throughput": 1.5, "request_goodput": 0.5, "#
            + #""output_throughput": 4.0, "total_token_throughput": 34.0, "input_lens": [10, 20, 5, 30], "#
            + #""output_lens": [4, 1, 0, 3], "ttfts": [0.1, 0.2, 0.0, 0.3], "#
            + #""itls": [[0.05, 0.05, 0.1], [], [], [0.1, 0.2]], "latencies": [0.3, 0.2, 0.0, 0.6], "#
            + #""start_times": [0.0, 0.5, 0.2, 1.0], "generated_texts": ["abcd", "caf\u00e9 \"q\"\n", "", "xyz"], "#
            + #""errors": ["", "", "boom", ""], "max_output_tokens_per_s": 5.0, "max_concurrent_requests": 1, "#
            + #""mean_ttft_ms": 200.00000000000003, "median_ttft_ms": 200.0, "std_ttft_ms": 81.6496580927726, "#
            + #""p50_ttft_ms": 200.0, "p99.9_ttft_ms": 299.8, "mean_tpot_ms": 108.33333333333334, "#
            + #""median_tpot_ms": 108.33333333333334, "std_tpot_ms": 41.666666666666664, "#
            + #""p50_tpot_ms": 108.33333333333334, "p99.9_tpot_ms": 149.91666666666666, "mean_itl_ms": 100.0, "#
            + #""median_itl_ms": 100.0, "std_itl_ms": 54.772255750516614, "p50_itl_ms": 100.0, "#
            + #""p99.9_itl_ms": 199.60000000000005, "mean_e2el_ms": 366.6666666666667, "median_e2el_ms": 300.0, "#
            + #""std_e2el_ms": 169.96731711975949, "p50_e2el_ms": 300.0, "p99.9_e2el_ms": 599.4000000000001, "#
            + #""max_concurrent_requests_per_second_bucket": 2, "output_tokens_estimated_requests": 1}"#
        #expect(json == expected)

        let parsed = try #require(
            try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        let keys = [
            "date", "endpoint_type", "backend", "label", "model_id", "tokenizer_id", "num_prompts", "request_rate",
            "burstiness", "max_concurrency", "duration", "completed", "failed", "total_input_tokens",
            "total_output_tokens", "request_throughput", "request_goodput", "output_throughput",
            "total_token_throughput", "input_lens", "output_lens", "ttfts", "itls", "latencies", "start_times",
            "generated_texts", "errors", "max_output_tokens_per_s", "max_concurrent_requests",
            "max_concurrent_requests_per_second_bucket", "output_tokens_estimated_requests",
        ]
        for key in keys { #expect(parsed[key] != nil, "missing \(key)") }
        for metric in ["ttft", "tpot", "itl", "e2el"] {
            for stat in ["mean", "median", "std", "p50", "p99.9"] {
                #expect(parsed["\(stat)_\(metric)_ms"] is Double, "missing \(stat)_\(metric)_ms")
            }
        }
        #expect((parsed["generated_texts"] as? [String])?[1] == "caf\u{E9} \"q\"\n")
    }

    @Test("JSON: default metrics, a finite rate, no SLO, and non-finite numbers as null")
    func resultJSONEdgeCases() throws {
        var info = sampleInfo
        info.burstiness = .infinity
        info.duration = .nan
        let outcomes = [RequestOutcome(success: true, ttft: 0.25, latency: .infinity, outputTokens: 1)]
        let metrics = BenchmarkMetrics.compute(outcomes: outcomes, duration: 0, percentiles: [99], goodput: nil)
        let json = BenchmarkReport.json(metrics: metrics, info: info, outcomes: outcomes)
        #expect(!json.contains("inf,") && !json.contains("Infinity") && !json.contains("NaN"))
        let parsed = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [String: Any])
        #expect(parsed["request_rate"] as? Double == 10)
        #expect(parsed["burstiness"] is NSNull)
        #expect(parsed["duration"] is NSNull)
        #expect(parsed["request_goodput"] is NSNull)
        #expect(parsed["max_concurrency"] is NSNull)
        #expect(parsed["label"] is NSNull)
        #expect(parsed["tokenizer_id"] is NSNull)
        #expect(parsed["request_throughput"] is NSNull)  // 1 / 0
        #expect(parsed["p99_ttft_ms"] as? Double == 250)
        #expect(parsed["mean_e2el_ms"] == nil)  // e2el not selected by default
        #expect(json.contains(#""p99_itl_ms": 0.0, "max_concurrent_requests_per_second_bucket""#))
    }
}
