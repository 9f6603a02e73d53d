#!/usr/bin/env bash
# Cross-check `switchyard bench serve` against the real `vllm bench serve`: same backend, same
# dataset shape (random, input 128, output 64 tokens, --ignore-eos), same rate and seed, the two
# clients alternated ROUNDS times. Prints the means of TTFT, TPOT, ITL and E2EL side by side;
# they should agree within 5 %.
#   backends: the simulator (`switchyard sim`, TTFT 30 ms, ITL 5 ms) and one real vLLM CPU server.
# Usage: Benchmarks/compat/bench-crosscheck.sh [ROUNDS] [sim|vllm|both]
source "$(dirname "$0")/../lib/common.sh"
ROUNDS=${1:-2}
WHICH=${2:-both}
# The server on one core, the client under test on the other: neither client slows the server
# down for the other by competing for its core.
SERVER_CORE=${SERVER_CORE:-0}
CLIENT_CORE=${CLIENT_CORE:-1}
OUT="$REPO/Benchmarks/out/crosscheck-$(date -u +%Y%m%dT%H%M%SZ)"; mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
ensure_real_vllm
BIN=$(switchyard_bin)
VLLM="$REAL_VLLM_DIR/venv/bin/vllm"
echo "== $(date -u +%FT%TZ) on $(machine_line)"

compare() {  # compare NAME PORT MODEL NUM_PROMPTS RATE CONCURRENCY [SWITCHYARD_INPUT_LEN]
  local name=$1 port=$2 model=$3 prompts=$4 rate=$5 conc=$6 sy_input=${7:-128}
  for round in $(seq 1 "$ROUNDS"); do
    taskset -c "$CLIENT_CORE" "$VLLM" bench serve --backend openai-chat --base-url "http://127.0.0.1:$port" \
      --endpoint /v1/chat/completions --model "$model" --tokenizer "$REAL_VLLM_DIR/tiny-llama" \
      --dataset-name random --random-input-len 128 --random-output-len 64 --ignore-eos \
      --num-prompts "$prompts" --request-rate "$rate" --max-concurrency "$conc" --seed "$round" --disable-tqdm \
      --percentile-metrics ttft,tpot,itl,e2el --save-result --result-dir "$OUT" \
      --result-filename "$name-vllm-r$round.json" > "$OUT/$name-vllm-r$round.txt" 2>&1
    taskset -c "$CLIENT_CORE" "$BIN" bench serve --backend openai-chat --base-url "http://127.0.0.1:$port" --model "$model" \
      --dataset-name random --random-input-len "$sy_input" --random-output-len 64 --ignore-eos \
      --num-prompts "$prompts" --request-rate "$rate" --max-concurrency "$conc" --seed "$round" --disable-tqdm \
      --percentile-metrics ttft,tpot,itl,e2el --save-result --result-dir "$OUT" \
      --result-filename "$name-switchyard-r$round.json" > "$OUT/$name-switchyard-r$round.txt" 2>&1
    echo "  $name round $round done"
  done
  python3 - "$OUT" "$name" <<'PY'
import glob, json, sys, statistics
out, name = sys.argv[1], sys.argv[2]
def load(tool):
    return [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{name}-{tool}-r*.json"))]
v, s = load("vllm"), load("switchyard")
print(f"\n### {name}\n")
print("| metric | vllm bench serve | switchyard bench serve | switchyard ÷ vllm |")
print("|---|---|---|---|")
for key in ("mean_ttft_ms", "mean_tpot_ms", "mean_itl_ms", "mean_e2el_ms", "request_throughput", "output_throughput"):
    a = statistics.mean(r[key] for r in v); b = statistics.mean(r[key] for r in s)
    print(f"| {key} | {a:.2f} | {b:.2f} | {b / a:.3f} |")
for key in ("completed", "failed", "total_input_tokens", "total_output_tokens"):
    print(f"| {key} | {sum(r[key] for r in v)} | {sum(r[key] for r in s)} | |")
PY
}

if [ "$WHICH" = sim ] || [ "$WHICH" = both ]; then
  S=$(free_port)
  taskset -c "$SERVER_CORE" "$BIN" sim --timing fixed --port "$S" --ttft-ms 30 --itl-ms 5 > "$OUT/sim.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$S/health" 30
  compare sim "$S" glm-4.5v 200 20 16
fi
if [ "$WHICH" = vllm ] || [ "$WHICH" = both ]; then
  V=$(free_port)
  TTL=1500 REAL_VLLM_DIR=$REAL_VLLM_DIR bash "$SHARED/tools/real-vllm/serve.sh" "$V" "$SERVER_CORE" --enforce-eager > "$OUT/vllm.log" 2>&1 &
  PIDS+=($!)
  wait_http "http://127.0.0.1:$V/health" 300
  # Switchyard's word-list prompts tokenize to ~2.24 tokens a word on the tiny test tokenizer
  # (a 4 096-entry BPE trained locally), so 57 words ≈ the 128 tokens vLLM's random prompts have:
  # equal prefill work, so the comparison is of measurement, not of workload. VLLM_SY_INPUT_LEN=128
  # shows the unmatched case.
  compare vllm "$V" tiny-llama 100 8 4 "${VLLM_SY_INPUT_LEN:-57}"
fi
