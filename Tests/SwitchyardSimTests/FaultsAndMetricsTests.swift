import Foundation
import NIOCore
import NIOPosix
import SwitchyardSim
import SwitchyardTestSupport
import Testing

/// `/metrics` in vLLM's exposition, `/sim/state`, and fault injection through `POST /sim/faults`.
@Suite struct FaultsAndMetricsTests {
    static func post(_ port: Int, _ path: String, _ body: String, group: any EventLoopGroup) async throws -> RawResponse
    {
        try await RawHTTPClient.request(port: port, method: "POST", path: path, body: body, group: group)
    }

    static func chat(_ port: Int, tokens: Int = 5, group: any EventLoopGroup) async throws -> RawResponse {
        try await post(port, "/v1/chat/completions", chatBody(maxTokens: tokens, stream: true), group: group)
    }

    @Test func metricsUseVLLMsNamesLabelsAndRealValues() async throws {
        try await withReplica(EngineModeTests.engineConfiguration()) { replica, group in
            for _ in 0..<3 {
                _ = try await Self.post(
                    replica.port, "/v1/chat/completions",
                    chatBody(maxTokens: 6, stream: true, extra: ",\"ignore_eos\":true"), group: group)
            }
            let metrics = try await RawHTTPClient.request(port: replica.port, path: "/metrics", group: group)
            #expect(metrics.status == 200)
            #expect(metrics.header("content-type")?.hasPrefix("text/plain") == true)
            let text = metrics.bodyString
            let labels = #"model_name="glm-4.5v",engine="0""#
            #expect(text.contains("# TYPE vllm:num_requests_running gauge\nvllm:num_requests_running{\(labels)} 0.0\n"))
            #expect(text.contains("vllm:num_requests_waiting{\(labels)} 0.0"))
            #expect(text.contains("vllm:kv_cache_usage_perc{\(labels)} 0.0"))
            #expect(text.contains(#"vllm:request_success_total{\#(labels),finished_reason="length"} 3.0"#))
            #expect(text.contains("vllm:generation_tokens_total{\(labels)} 18.0"))
            #expect(text.contains("vllm:time_to_first_token_seconds_count{\(labels)} 3.0"))
            #expect(text.contains(#"vllm:time_to_first_token_seconds_bucket{\#(labels),le="+Inf"} 3.0"#))
            #expect(text.contains("vllm:inter_token_latency_seconds_count{\(labels)} 15.0"))  // 5 gaps × 3
            #expect(text.contains("vllm:e2e_request_latency_seconds_count{\(labels)} 3.0"))
            #expect(text.contains("vllm:request_queue_time_seconds_count{\(labels)} 3.0"))
            // Every sample line is valid exposition syntax.
            let sample = /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{[^}]*\})? -?[0-9.eE+-]+$/
            for line in text.split(separator: "\n") where !line.hasPrefix("#") {
                #expect(line.wholeMatch(of: sample) != nil, "bad line: \(line)")
            }
        }
    }

    @Test func simStateReportsQueueBatchKVAndCounters() async throws {
        try await withReplica(EngineModeTests.engineConfiguration()) { replica, group in
            _ = try await Self.chat(replica.port, group: group)
            let state = try await RawHTTPClient.request(port: replica.port, path: "/sim/state", group: group)
            let json = try state.json()
            #expect(json["waiting"] as? Int == 0)
            #expect(json["running"] as? Int == 0)
            #expect(json["generations_completed"] as? Int == 1)
            #expect((json["faults"] as? [String: Any])?["slow_factor"] as? Double == 1)
        }
    }

    @Test func healthAndErrorFaultsAnswerTheConfiguredStatus() async throws {
        try await withReplica { replica, group in
            let set = try await Self.post(
                replica.port, "/sim/faults", #"{"health_status":503,"error_status":500}"#, group: group)
            #expect(set.status == 200)
            #expect(try await RawHTTPClient.request(port: replica.port, path: "/health", group: group).status == 503)
            let failed = try await Self.chat(replica.port, group: group)
            #expect(failed.status == 500)
            #expect(try (failed.json()["error"] as? [String: Any])?["code"] as? Int == 500)
            _ = try await Self.post(replica.port, "/sim/faults", "{}", group: group)  // clears every fault
            #expect(try await RawHTTPClient.request(port: replica.port, path: "/health", group: group).status == 200)
            #expect(try await Self.chat(replica.port, group: group).status == 200)
        }
    }

    @Test func closeAfterEventsCutsTheStreamMidway() async throws {
        try await withReplica { replica, group in
            replica.faults.closeAfterEvents = 3
            let bytes = try await RawHTTPClient.exchange(
                port: replica.port,
                requests: [
                    RawHTTPClient.requestBytes(
                        method: "POST", path: "/v1/chat/completions", body: chatBody(maxTokens: 20, stream: true))
                ], group: group)
            let text = String(decoding: bytes, as: UTF8.self)
            #expect(text.contains("HTTP/1.1 200"))
            #expect(!text.contains("[DONE]"))
            #expect(text.components(separatedBy: "\"content\":").count - 1 == 1 + 3)  // role chunk + 3 tokens
            #expect(await eventually { replica.stats.generationsAborted == 1 })
        }
    }

    @Test func stallAndSlowFactorDelayTokens() async throws {
        try await withReplica { replica, group in  // fixed timing: TTFT 5 ms, interval 2 ms
            replica.faults.stallFirstTokenMs = 200
            let clock = ContinuousClock()
            let stalled = try await clock.measure { _ = try await Self.chat(replica.port, tokens: 2, group: group) }
            #expect(stalled >= .milliseconds(200))
            replica.faults = SimFaults()
            replica.faults.slowFactor = 40
            let slow = try await clock.measure { _ = try await Self.chat(replica.port, tokens: 3, group: group) }
            #expect(slow >= .milliseconds(300))  // (5 + 2·2) ms × 40
        }
    }

    @Test func refusedConnectionsGetNoAnswerAndInvalidFaultsAre400() async throws {
        try await withReplica { replica, group in
            let invalid = try await Self.post(replica.port, "/sim/faults", #"{"explode":true}"#, group: group)
            #expect(invalid.status == 400)
            #expect(invalid.bodyString.contains("explode"))
            replica.faults.refuseConnections = true
            // The connection is closed at once: the client reads nothing, or cannot even write.
            let bytes = try? await RawHTTPClient.exchange(
                port: replica.port, requests: [RawHTTPClient.requestBytes(method: "GET", path: "/health")], group: group
            )
            #expect(bytes?.isEmpty ?? true)
            #expect(replica.stats.requestsReceived == 1)  // only the /sim/faults request got through
        }
    }
}
