import Foundation
import NIOCore
import SwitchyardCore
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// Telemetry end to end: the usage rewrite as the client sees it, `/stats`, `/metrics` and the
/// access log after real traffic through the proxy.
@Suite struct TelemetryTests {
    static func stats(_ proxy: ProxyHarness, _ query: String = "") async throws -> [String: Any] {
        let response = try await proxy.request("GET", "/stats?format=json" + query)
        #expect(response.status == 200, "\(response.bodyString)")
        return try response.json()
    }

    static func metrics(_ proxy: ProxyHarness) async throws -> String {
        let response = try await proxy.request("GET", "/metrics")
        #expect(response.status == 200)
        #expect(response.header("content-type")?.hasPrefix("text/plain; version=0.0.4") == true)
        return response.bodyString
    }

    /// The value of one exposition sample, e.g. `switchyard_requests_total{backend="sim-0",...}`.
    static func sample(_ exposition: String, _ series: String) -> Double? {
        for line in exposition.split(separator: "\n") where line.hasPrefix(series + " ") {
            return Double(line.dropFirst(series.count + 1))
        }
        return nil
    }

    /// The stream's events with ids and timestamps normalised, for comparing two streams.
    static func normalisedEvents(_ response: RawResponse) -> [String] {
        RawHTTPClient.events(normalizingCreated(response.bodyString)).map {
            $0.replacing(/"id":"chatcmpl-[0-9a-f]+"/, with: "\"id\":\"x\"")
        }
    }

    @Test func aStreamWithoutStreamOptionsLooksExactlyAsVLLMWouldSendItAndItsUsageIsCounted() async throws {
        try await withProxy { proxy in
            let body = chatRequest(maxTokens: 6, includeUsage: false)
            let direct = try await RawHTTPClient.request(
                port: proxy.sims[0].port, method: "POST", path: "/v1/chat/completions", body: body, group: proxy.group)
            let relayed = try await proxy.post("/v1/chat/completions", body)
            #expect(relayed.status == 200)
            #expect(Self.normalisedEvents(relayed) == Self.normalisedEvents(direct))
            #expect(!relayed.bodyString.contains("\"usage\""))
            #expect(relayed.bodyString.hasSuffix("data: [DONE]\n\n"))
            let stats = try await Self.stats(proxy)
            #expect(stats["completed"] as? Int == 1)
            #expect(stats["total_output_tokens"] as? Int == 6)
            #expect(stats["output_tokens_estimated_requests"] as? Int == 0)
            #expect((stats["total_input_tokens"] as? Int ?? 0) > 0)
        }
    }

    @Test func aClientThatAskedForUsageGetsItAndOneThatRefusedItIsCountedFromEvents() async throws {
        try await withProxy { proxy in
            let asked = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 5, includeUsage: true))
            #expect(asked.bodyString.contains("\"usage\":{"))
            let refused = try await proxy.post(
                "/v1/chat/completions",
                #"{"model":"glm-4.5v","messages":[{"role":"user","content":"Hi"}],"max_tokens":5,"stream":true,"stream_options":{"include_usage":false}}"#
            )
            #expect(refused.status == 200)
            #expect(!refused.bodyString.contains("\"usage\""))
            let stats = try await Self.stats(proxy)
            #expect(stats["completed"] as? Int == 2)
            #expect(stats["output_tokens_estimated_requests"] as? Int == 1)
            // The sim sends one role event then one event per token: 5 + 1 content events.
            #expect(stats["total_output_tokens"] as? Int == 5 + 6)
            let exposition = try await Self.metrics(proxy)
            #expect(exposition.contains("switchyard_generation_tokens_estimated_total{"))
        }
    }

    @Test func statsAgreeWithTheStreamsTheClientReceived() async throws {
        try await withProxy(replicas: 2) { proxy in
            for _ in 0..<6 {
                let response = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 8))
                #expect(response.status == 200)
            }
            let stats = try await Self.stats(proxy, "&percentiles=50,90,99")
            #expect(stats["completed"] as? Int == 6)
            #expect(stats["failed"] as? Int == 0)
            #expect(stats["total_output_tokens"] as? Int == 48)
            // The fast sim: first token after ~5 ms, then a token every ~2 ms.
            let ttft = try #require(stats["mean_ttft_ms"] as? Double)
            let tpot = try #require(stats["mean_tpot_ms"] as? Double)
            let e2el = try #require(stats["mean_e2el_ms"] as? Double)
            #expect(ttft >= 4 && ttft < 500, "\(ttft)")
            #expect(tpot >= 1 && tpot < 100, "\(tpot)")
            #expect(e2el > ttft)
            for key in ["p50_ttft_ms", "p90_ttft_ms", "p99_ttft_ms", "p99_itl_ms", "p99_e2el_ms", "mean_queue_time_ms"]
            {
                #expect(stats[key] is Double, "\(key) missing")
            }
            #expect(stats["input_lens"] == nil)
            // The two backends' shares add up to the whole.
            let first = try await Self.stats(proxy, "&backend=sim-0")["completed"] as? Int ?? -1
            let second = try await Self.stats(proxy, "&backend=sim-1")["completed"] as? Int ?? -1
            #expect(first + second == 6)
            #expect(try await Self.stats(proxy, "&model=glm-4.5v")["completed"] as? Int == 6)
            #expect(try await Self.stats(proxy, "&model=other")["completed"] as? Int == 0)

            let text = try await proxy.request("GET", "/stats?percentiles=50,99")
            #expect(text.header("content-type")?.hasPrefix("text/plain") == true)
            let lines = text.bodyString.split(separator: "\n").map(String.init)
            #expect(lines.contains("============ Serving Benchmark Result ============"))
            #expect(lines.contains { $0.hasPrefix("Successful requests:") && $0.contains(" 6") })
            #expect(lines.contains { $0.hasPrefix("P50 TTFT (ms):") })
            #expect(lines.contains { $0.hasPrefix("P99 E2EL (ms):") })
            #expect(lines.contains { $0.hasPrefix("Mean queue time (ms):") })
        }
    }

    @Test func aWindowCoversOnlyRecentRequests() async throws {
        try await withProxy(configure: { $0.telemetry.statsSlot = .seconds(1) }) { proxy in
            _ = try await proxy.post("/v1/chat/completions", chatRequest())
            #expect(try await Self.stats(proxy, "&window=60s")["completed"] as? Int == 1)
            try await Task.sleep(for: .milliseconds(2200))
            _ = try await proxy.post("/v1/chat/completions", chatRequest())
            #expect(try await Self.stats(proxy, "&window=1s")["completed"] as? Int == 1)
            #expect(try await Self.stats(proxy)["completed"] as? Int == 2)
        }
    }

    @Test func badStatsQueriesAreRefusedByName() async throws {
        try await withProxy { proxy in
            for (query, fragment) in [
                ("window=soon", "window 'soon'"), ("backend=nope", "no backend is named 'nope' (backends: sim-0)"),
                ("percentiles=101", "percentile '101'"), ("format=xml", "format 'xml'"),
                ("limit=3", "unknown parameter"),
            ] {
                let response = try await proxy.request("GET", "/stats?" + query)
                #expect(response.status == 400, "\(query)")
                #expect(response.header("x-switchyard-reason") == "invalid_stats_query")
                let message = (try response.json()["error"] as? [String: Any])?["message"] as? String ?? ""
                #expect(message.contains(fragment), "\(query): \(message)")
            }
        }
    }

    @Test func prometheusExportsLatencyHistogramsCountersAndGauges() async throws {
        try await withProxy { proxy in
            for _ in 0..<3 { _ = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 4)) }
            _ = try await proxy.post("/v1/chat/completions", chatRequest(model: "no-such-model"))
            let exposition = try await Self.metrics(proxy)
            let labels = #"{backend="sim-0",model="glm-4.5v"}"#
            #expect(Self.sample(exposition, "switchyard_time_to_first_token_seconds_count" + labels) == 3)
            #expect(Self.sample(exposition, "switchyard_time_to_first_token_from_dispatch_seconds_count" + labels) == 3)
            #expect(Self.sample(exposition, "switchyard_e2e_request_latency_seconds_count" + labels) == 3)
            #expect(Self.sample(exposition, "switchyard_request_time_per_output_token_seconds_count" + labels) == 3)
            // Four tokens after the role event: 4 gaps per request.
            #expect(Self.sample(exposition, "switchyard_inter_token_latency_seconds_count" + labels) == 12)
            #expect(Self.sample(exposition, "switchyard_generation_tokens_total" + labels) == 12)
            #expect(
                Self.sample(exposition, #"switchyard_requests_total{backend="sim-0",model="glm-4.5v",code="200"}"#) == 3
            )
            #expect(
                Self.sample(exposition, #"switchyard_requests_total{backend="none",model="unknown",code="404"}"#) == 1)
            #expect(Self.sample(exposition, #"switchyard_rejections_total{reason="unknown_model"}"#) == 1)
            #expect(Self.sample(exposition, #"switchyard_backend_healthy{backend="sim-0"}"#) == 1)
            #expect(Self.sample(exposition, #"switchyard_backend_in_flight_requests{backend="sim-0"}"#) == 0)
            #expect(Self.sample(exposition, #"switchyard_queue_depth{band="normal"}"#) == 0)
            // vLLM's bucket boundaries.
            #expect(
                exposition.contains(
                    #"switchyard_time_to_first_token_seconds_bucket{backend="sim-0",model="glm-4.5v",le="0.04"}"#))
            // Every series name is one the catalog documents.
            for line in exposition.split(separator: "\n") where !line.hasPrefix("#") {
                let name = String(line.prefix { $0 != "{" && $0 != " " })
                #expect(MetricCatalog.seriesNames.contains(name), "\(name) is not in MetricCatalog")
            }
            try Self.promtoolCheck(exposition)
        }
    }

    /// `promtool check metrics` when promtool is installed (CI installs it and sets
    /// SWITCHYARD_REQUIRE_PROMTOOL=1 so that a missing promtool fails instead of skipping).
    static func promtoolCheck(_ exposition: String) throws {
        let candidates = ["/usr/bin/promtool", "/usr/local/bin/promtool"]
        guard let promtool = candidates.first(where: { FileManager.default.isExecutableFile(atPath: $0) }) else {
            #expect(ProcessInfo.processInfo.environment["SWITCHYARD_REQUIRE_PROMTOOL"] != "1", "promtool missing")
            return
        }
        let process = Process()
        process.executableURL = URL(fileURLWithPath: promtool)
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(exposition.utf8))
        try input.fileHandleForWriting.close()
        process.waitUntilExit()
        let report = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        // Exit 1 is an invalid exposition; 3 would be lint warnings only.
        #expect(process.terminationStatus == 0, "promtool: \(report)")
    }

    @Test func queueTimeIsMeasuredForRequestsThatWaited() async throws {
        try await withProxy(
            customizeSim: { _, sim in sim.interTokenInterval = .milliseconds(20) },
            configure: { $0.backends[0].maxConcurrent = 1 }
        ) { proxy in
            // The first holds the one slot for about 600 ms; the second arrives while it does.
            async let first = proxy.post("/v1/chat/completions", chatRequest(maxTokens: 30))
            #expect(await eventually { proxy.server.backends[0].inFlight == 1 })
            let second = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 2))
            #expect(try await first.status == 200)
            #expect(second.status == 200)
            let stats = try await Self.stats(proxy, "&percentiles=100")
            let waited = try #require(stats["p100_queue_time_ms"] as? Double)
            #expect(waited > 50, "\(waited)")
            // TTFT from arrival includes the wait; from dispatch it does not. (The maxima may come
            // from different requests, so only their order is certain on a busy machine.)
            let fromArrival = try #require(stats["p100_ttft_ms"] as? Double)
            let fromDispatch = try #require(stats["p100_ttft_from_dispatch_ms"] as? Double)
            #expect(fromArrival >= waited && fromArrival > fromDispatch, "\(fromArrival) \(fromDispatch)")
        }
    }

    @Test func aBackendThatDiesMidStreamIsAFailureAndAnUpstreamError() async throws {
        try await withProxy { proxy in
            var faults = SimFaults()
            faults.closeAfterEvents = 2
            proxy.sims[0].faults = faults
            let started = ContinuousClock.now
            let response = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 8))
            // The client's stream ends well-formed: the events relayed, an OpenAI error event
            // naming the failure, then [DONE] (and the chunked body's proper end).
            #expect(response.status == 200)
            let events = RawHTTPClient.events(response.bodyString)
            #expect(events.count >= 3, "\(events)")
            #expect(events.dropLast(2).allSatisfy { $0.contains("\"choices\":[{") }, "\(events)")
            #expect(events.last == "[DONE]")
            let error = try #require(
                try JSONSerialization.jsonObject(with: Data(events[events.count - 2].utf8)) as? [String: Any])
            let detail = try #require(error["error"] as? [String: Any])
            #expect(detail["code"] as? Int == 502)
            #expect((detail["message"] as? String)?.hasPrefix("Backend sim-0 failed mid-stream") == true)
            #expect(ContinuousClock.now - started < .seconds(1))
            let stats = try await Self.stats(proxy)
            #expect(stats["completed"] as? Int == 0)
            #expect(stats["failed"] as? Int == 1)
            #expect((stats["reasons"] as? [String: Int])?["backend_failed"] == 1)
            let exposition = try await Self.metrics(proxy)
            #expect(Self.sample(exposition, #"switchyard_upstream_errors_total{backend="sim-0",kind="reset"}"#) == 1)
        }
    }

    @Test func aClientThatLeavesMidStreamIsCountedAs499AndAsAFailure() async throws {
        try await withProxy(customizeSim: { _, sim in sim.interTokenInterval = .milliseconds(30) }) { proxy in
            let request = RawHTTPClient.requestBytes(
                method: "POST", path: "/v1/chat/completions", body: chatRequest(maxTokens: 40))
            _ = try await RawHTTPClient.sendAndHangUp(
                port: proxy.port, request: request, after: "\"content\":\"", group: proxy.group)
            #expect(try await eventually { try await Self.stats(proxy)["failed"] as? Int == 1 })
            let exposition = try await Self.metrics(proxy)
            #expect(
                Self.sample(exposition, #"switchyard_requests_total{backend="sim-0",model="glm-4.5v",code="499"}"#) == 1
            )
            #expect(Self.sample(exposition, #"switchyard_client_disconnects_total{backend="sim-0"}"#) == 1)
            // In flight again 0 everywhere: the stats' and the scheduler's counts.
            #expect(try await Self.stats(proxy)["in_flight"] as? Int == 0)
            #expect(Self.sample(exposition, #"switchyard_backend_in_flight_requests{backend="sim-0"}"#) == 0)
        }
    }

    @Test func theAccessLogHasOneLinePerRequestWithItsFigures() async throws {
        let path = FileManager.default.temporaryDirectory.appendingPathComponent("switchyard-access-\(UUID()).jsonl")
            .path
        defer { try? FileManager.default.removeItem(atPath: path) }
        try await withProxy(configure: { $0.telemetry.accessLog = .file(path) }) { proxy in
            _ = try await proxy.post(
                "/v1/chat/completions", chatRequest(maxTokens: 3),
                headers: [("x-request-id", "req-42"), ("authorization", "Bearer sk-secret-key")])
            _ = try await proxy.post("/v1/chat/completions", "{not json")
            _ = try await proxy.request("GET", "/health")
            _ = try await proxy.request("GET", "/metrics")
            _ = try await proxy.request("GET", "/v1/models")
        }
        let text = try String(contentsOfFile: path, encoding: .utf8)
        #expect(!text.contains("sk-secret-key"))
        let lines = try text.split(separator: "\n").map {
            try #require(try JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any])
        }
        // Local endpoints (health, metrics) are not logged; /v1/models is.
        #expect(lines.count == 3, "\(text)")
        let chat = try #require(lines.first { $0["request_id"] as? String == "req-42" })
        #expect(chat["status"] as? Int == 200)
        #expect(chat["backend"] as? String == "sim-0")
        #expect(chat["model"] as? String == "glm-4.5v")
        #expect(chat["completion_tokens"] as? Int == 3)
        #expect(chat["stream"] as? Bool == true)
        #expect(chat["client_disconnected"] as? Bool == false)
        #expect((chat["tenant"] as? String)?.hasPrefix("key-") == true)
        for key in ["ttft_ms", "tpot_ms", "e2el_ms", "queue_ms", "itl_max_ms", "duration_ms"] {
            #expect(chat[key] is Double, "\(key)")
        }
        #expect((chat["bytes_in"] as? Int ?? 0) > 0)
        #expect((chat["bytes_out"] as? Int ?? 0) > 0)
        #expect((chat["time"] as? String)?.hasSuffix("Z") == true)
        let invalid = try #require(lines.first { $0["status"] as? Int == 400 })
        #expect(invalid["reason"] as? String == "invalid_json")
        #expect(invalid["backend"] is NSNull)
    }

    @Test func withTelemetryOffNothingIsRewrittenOrMeasured() async throws {
        try await withProxy(configure: { $0.telemetry.enabled = false }) { proxy in
            let response = try await proxy.post("/v1/chat/completions", chatRequest(maxTokens: 3, includeUsage: false))
            #expect(response.status == 200)
            let stats = try await Self.stats(proxy)
            #expect(stats["completed"] as? Int == 0)
            let exposition = try await Self.metrics(proxy)
            #expect(exposition.contains("switchyard_backend_healthy"))
            #expect(!exposition.contains("switchyard_requests_total"))
        }
    }
}
