import Testing

@testable import SwitchyardCore

/// A `/metrics` page as vLLM (V1 engine, data parallel 2) serves it, trimmed.
private let dataParallelPage = """
    # HELP python_gc_objects_collected_total Objects collected during gc
    # TYPE python_gc_objects_collected_total counter
    python_gc_objects_collected_total{generation="0"} 12345.0
    process_resident_memory_bytes 1.2e+09
    # HELP vllm:num_requests_running Number of requests in model execution batches.
    # TYPE vllm:num_requests_running gauge
    vllm:num_requests_running{engine="0",model_name="Qwen/Qwen2.5-VL-7B-Instruct"} 3.0
    vllm:num_requests_running{engine="1",model_name="Qwen/Qwen2.5-VL-7B-Instruct"} 2.0
    # HELP vllm:num_requests_waiting Number of requests waiting to be processed.
    # TYPE vllm:num_requests_waiting gauge
    vllm:num_requests_waiting{engine="0",model_name="Qwen/Qwen2.5-VL-7B-Instruct"} 1.0
    vllm:num_requests_waiting{engine="1",model_name="Qwen/Qwen2.5-VL-7B-Instruct"} 4.0
    # HELP vllm:num_requests_waiting_by_reason Requests waiting, by reason.
    # TYPE vllm:num_requests_waiting_by_reason gauge
    vllm:num_requests_waiting_by_reason{engine="0",model_name="Qwen/Qwen2.5-VL-7B-Instruct",reason="capacity"} 9.0
    # HELP vllm:kv_cache_usage_perc KV-cache usage. 1 means 100 percent usage.
    # TYPE vllm:kv_cache_usage_perc gauge
    vllm:kv_cache_usage_perc{engine="0",model_name="Qwen/Qwen2.5-VL-7B-Instruct"} 0.4213
    vllm:kv_cache_usage_perc{engine="1",model_name="Qwen/Qwen2.5-VL-7B-Instruct"} 0.8125
    # HELP vllm:prompt_tokens_total Number of prefill tokens processed.
    # TYPE vllm:prompt_tokens_total counter
    vllm:prompt_tokens_total{engine="0",model_name="Qwen/Qwen2.5-VL-7B-Instruct"} 123456.0
    vllm:time_to_first_token_seconds_bucket{engine="0",le="0.001",model_name="Qwen/Qwen2.5-VL-7B-Instruct"} 0.0
    vllm:time_to_first_token_seconds_count{engine="0",model_name="Qwen/Qwen2.5-VL-7B-Instruct"} 42.0

    """

/// An older vLLM (V0 engine): `gpu_cache_usage_perc`, one series, no engine label.
private let olderPage = """
    # HELP vllm:num_requests_running Number of requests currently running on GPU.
    # TYPE vllm:num_requests_running gauge
    vllm:num_requests_running{model_name="meta-llama/Llama-3.1-8B-Instruct"} 7.0
    # HELP vllm:num_requests_swapped Number of requests swapped to CPU.
    vllm:num_requests_swapped{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
    vllm:num_requests_waiting{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.0
    vllm:gpu_cache_usage_perc{model_name="meta-llama/Llama-3.1-8B-Instruct"} 0.35
    """

@Suite("BackendMetrics: vLLM's /metrics page")
struct BackendMetricsTests {
    @Test("data-parallel engines: counts summed, KV usage the highest; other series ignored")
    func dataParallel() {
        #expect(BackendMetrics.parse(dataParallelPage) == BackendMetrics(running: 5, waiting: 5, kvCacheUsage: 0.8125))
    }

    @Test("older releases: gpu_cache_usage_perc stands in for kv_cache_usage_perc")
    func olderRelease() {
        #expect(BackendMetrics.parse(olderPage) == BackendMetrics(running: 7, waiting: 0, kvCacheUsage: 0.35))
    }

    @Test(
        "details of the text format",
        arguments: [
            // No labels; a label value with spaces; no KV series (0).
            ("vllm:num_requests_running 2\nvllm:num_requests_waiting{model_name=\"a b\"} 3", 2, 3, 0.0),
            // One of the two counts is enough.
            ("vllm:num_requests_waiting 6", 0, 6, 0.0),
            // An optional timestamp follows the value.
            (
                "vllm:num_requests_running{engine=\"0\"} 4 1712345678000\nvllm:kv_cache_usage_perc 0.5 1712345678000",
                4, 0,
                0.5
            ),
            // CRLF line ends.
            (
                "vllm:num_requests_running 1\r\nvllm:num_requests_waiting 2\r\nvllm:kv_cache_usage_perc 0.25\r\n", 1, 2,
                0.25
            ),
            // Non-finite values are skipped.
            ("vllm:num_requests_running 3\nvllm:num_requests_running NaN\nvllm:num_requests_waiting +Inf", 3, 0, 0.0),
            // A label value with a brace.
            ("vllm:num_requests_running{model_name=\"x}y\"} 8", 8, 0, 0.0),
        ] as [(String, Int, Int, Double)])
    func textFormat(page: String, running: Int, waiting: Int, kv: Double) {
        #expect(BackendMetrics.parse(page) == BackendMetrics(running: running, waiting: waiting, kvCacheUsage: kv))
    }

    @Test(
        "a page without the request counts is nil",
        arguments: [
            "", "not metrics at all", "<html><body>404</body></html>",
            "# HELP vllm:num_requests_running x\n# TYPE vllm:num_requests_running gauge\n",
            "vllm:kv_cache_usage_perc 0.9\nvllm:prompt_tokens_total 5",
            "vllm:num_requests_running_total 3\nnum_requests_running 3", "vllm:num_requests_running abc",
        ])
    func garbage(page: String) {
        #expect(BackendMetrics.parse(page) == nil)
    }
}
