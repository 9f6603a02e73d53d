#!/usr/bin/env bash
# How often context admission asks a backend's /tokenize for an exact count (borderline
# requests: estimate within admission.margin of max_model_len), and what it decides.
# Two workloads through `switchyard serve` in front of two fixed-timing sim replicas:
#   1. near the limit: `random` prompts of 3 400-5 600 words (the proxy's estimate: about 1.3
#      tokens a word) plus 750-1 250 output tokens against max_model_len 8 192: about a third
#      of the requests land within 5 % of the limit or beyond it;
#   2. the vision mix (`visionarena-synthetic`, up to ~6k tokens) against 65 536.
# Reads the proxy's /switchyard/status counters after each run.
# Usage: Benchmarks/admission/exact-check.sh [PROMPTS]   (default 300)
source "$(dirname "$0")/../lib/common.sh"
PROMPTS=${1:-300}
BIN=$(switchyard_bin)
OUT="$REPO/Benchmarks/out/exact-check-$(date -u +%Y%m%dT%H%M%SZ)"
mkdir -p "$OUT"

run() {  # run NAME MAX_MODEL_LEN BENCH_ARGS...
  local name=$1 limit=$2; shift 2
  local sim_port proxy_port
  sim_port=$(free_port)
  proxy_port=$(free_port)
  "$BIN" sim --port "$sim_port" --replicas 2 --max-model-len "$limit" --timing fixed --ttft-ms 5 --itl-ms 1 \
    --served-model-name glm-4.5v > "$OUT/$name.sim.log" 2>&1 &
  local sim=$!
  PIDS+=("$sim")
  wait_http "http://127.0.0.1:$sim_port/health" 30
  wait_http "http://127.0.0.1:$((sim_port + 1))/health" 30
  "$BIN" serve --port "$proxy_port" --backend "http://127.0.0.1:$sim_port" \
    --backend "http://127.0.0.1:$((sim_port + 1))" --log-level warning > "$OUT/$name.proxy.log" 2>&1 &
  local proxy=$!
  PIDS+=("$proxy")
  wait_http "http://127.0.0.1:$proxy_port/health" 30
  "$BIN" bench serve --base-url "http://127.0.0.1:$proxy_port" --model glm-4.5v --num-prompts "$PROMPTS" \
    --request-rate 50 --seed 1 --disable-tqdm "$@" > "$OUT/$name.bench.txt" 2>&1 || true
  curl -fsS "http://127.0.0.1:$proxy_port/switchyard/status" > "$OUT/$name.status.json"
  kill "$proxy" "$sim" 2>/dev/null || true
  wait "$proxy" "$sim" 2>/dev/null || true
  python3 - "$name" "$OUT/$name.status.json" "$OUT/$name.bench.txt" "$PROMPTS" <<'PY'
import json, re, sys
name, status, bench, prompts = sys.argv[1], json.load(open(sys.argv[2])), open(sys.argv[3]).read(), int(sys.argv[4])
c = status["counters"]
checks = c["exact_checks"] + c["exact_check_failures"]
refused = c["refused"].get("context_length_exceeded", 0)
ok = re.search(r"Successful requests:\s+(\d+)", bench)
print(f"| {name} | {prompts} | {checks} ({100 * checks / prompts:.1f} %) | {c['exact_check_failures']} | "
      f"{refused} | {ok.group(1) if ok else '?'} |")
PY
}

{
  echo "| workload | requests | exact checks (share) | check failures | refused 400 | completed |"
  echo "|---|---|---|---|---|---|"
  run near-limit 8192 --dataset-name random --random-input-len 4500 --random-output-len 1000 --random-range-ratio 0.25
  run vision-mix 65536 --dataset-name visionarena-synthetic
} | tee "$OUT/summary.md"
