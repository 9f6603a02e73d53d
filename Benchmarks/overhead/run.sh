#!/usr/bin/env bash
# Added latency and CPU cost of the proxy, side by side in one run on one simulated backend:
#   direct → sim,   nginx (proxy_buffering off, upstream keepalive) → sim,   Switchyard → sim.
# Client: unmodified `vllm bench serve --backend openai-chat` (random dataset, --ignore-eos),
# at concurrency 1 and 64, ROUNDS rounds with the three targets interleaved.
# Reports TTFT p50/p99 through each proxy ÷ direct, and CPU seconds per 1 000 relayed SSE events
# (from /proc/PID/stat of the proxy processes over the concurrency-64 runs).
# Usage: Benchmarks/overhead/run.sh [ROUNDS]
source "$(dirname "$0")/../lib/common.sh"
ROUNDS=${1:-2}
OUTPUT_LEN=${OUTPUT_LEN:-32}
SIM_TTFT_MS=${SIM_TTFT_MS:-20}
SIM_ITL_MS=${SIM_ITL_MS:-2}
OUT="$REPO/Benchmarks/out/overhead-$(date -u +%Y%m%dT%H%M%SZ)"; mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1

ensure_real_vllm
BIN=$(switchyard_bin)
VLLM="$REAL_VLLM_DIR/venv/bin/vllm"
S=$(free_port); N=$(free_port); P=$(free_port)
echo "== $(date -u +%FT%TZ) on $(machine_line)"
echo "== sim :$S (TTFT ${SIM_TTFT_MS} ms, ITL ${SIM_ITL_MS} ms), nginx :$N, switchyard :$P; output $OUTPUT_LEN tokens"

"$BIN" sim --timing fixed --port "$S" --ttft-ms "$SIM_TTFT_MS" --itl-ms "$SIM_ITL_MS" --max-model-len 65536 > "$OUT/sim.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$S/health" 30

cat > "$OUT/nginx.conf" <<NGINX
worker_processes auto;
pid $OUT/nginx.pid;
error_log $OUT/nginx-error.log warn;
daemon off;
events { worker_connections 4096; }
http {
  access_log off;
  client_body_temp_path $OUT/nginx-body;
  proxy_temp_path $OUT/nginx-proxy;
  client_max_body_size 64m;
  upstream sim { server 127.0.0.1:$S; keepalive 128; }
  server {
    listen 127.0.0.1:$N;
    tcp_nodelay on;
    location / {
      proxy_pass http://sim;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering off;
      proxy_request_buffering on;
    }
  }
}
NGINX
nginx -c "$OUT/nginx.conf" &
PIDS+=($!)
NGINX_MASTER=$!
"$BIN" serve --port "$P" --backend "http://127.0.0.1:$S" --backend-name sim --log-level warning > "$OUT/switchyard.log" 2>&1 &
PIDS+=($!)
SWITCHYARD=$!
wait_http "http://127.0.0.1:$N/health" 30
wait_http "http://127.0.0.1:$P/health" 30

nginx_cpu() {  # master + workers
  local total=0 pid
  for pid in $NGINX_MASTER $(pgrep -P "$NGINX_MASTER"); do
    total=$(echo "$total + $(cpu_seconds "$pid")" | bc)
  done
  echo "$total"
}

run_bench() {  # run_bench TARGET PORT CONCURRENCY ROUND
  local target=$1 port=$2 conc=$3 round=$4 prompts
  prompts=$(( conc == 1 ? 100 : 640 ))
  local before="" after=""
  case $target in
    switchyard) before=$(cpu_seconds "$SWITCHYARD") ;;
    nginx) before=$(nginx_cpu) ;;
  esac
  "$VLLM" bench serve --backend openai-chat --base-url "http://127.0.0.1:$port" \
    --endpoint /v1/chat/completions --model glm-4.5v --tokenizer "$REAL_VLLM_DIR/tiny-llama" \
    --dataset-name random --random-input-len 128 --random-output-len "$OUTPUT_LEN" \
    --num-prompts "$prompts" --max-concurrency "$conc" --ignore-eos --seed "$round" --disable-tqdm \
    --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,99 \
    --save-result --result-dir "$OUT" --result-filename "$target-c$conc-r$round.json" > "$OUT/$target-c$conc-r$round.txt" 2>&1
  case $target in
    switchyard) after=$(cpu_seconds "$SWITCHYARD") ;;
    nginx) after=$(nginx_cpu) ;;
  esac
  [ -n "$before" ] && echo "$target c$conc r$round cpu $(echo "$after - $before" | bc)" >> "$OUT/cpu.txt"
  grep -E "Successful|Failed|Median TTFT|P99 TTFT" "$OUT/$target-c$conc-r$round.txt" | sed "s/^/  $target c=$conc r$round: /"
}

for round in $(seq 1 "$ROUNDS"); do
  for conc in 1 64; do
    for target in direct nginx switchyard; do
      case $target in direct) port=$S ;; nginx) port=$N ;; switchyard) port=$P ;; esac
      run_bench "$target" "$port" "$conc" "$round"
    done
  done
done

python3 - "$OUT" "$OUTPUT_LEN" <<'PY' | tee "$OUT/summary.md"
import json, sys, glob, os, statistics
out, output_len = sys.argv[1], int(sys.argv[2])
def load(target, conc):
    return [json.load(open(f)) for f in sorted(glob.glob(f"{out}/{target}-c{conc}-r*.json"))]
cpu = {}
for line in open(f"{out}/cpu.txt"):
    target, conc, _, _, seconds = line.split()
    cpu.setdefault((target, conc), []).append(float(seconds))
print("| concurrency | metric | direct (ms) | nginx ÷ direct | switchyard ÷ direct |")
print("|---|---|---|---|---|")
for conc in (1, 64):
    runs = {t: load(t, conc) for t in ("direct", "nginx", "switchyard")}
    for key, label in (("p50_ttft_ms", "TTFT p50"), ("p99_ttft_ms", "TTFT p99"), ("p50_itl_ms", "ITL p50"), ("p50_e2el_ms", "E2EL p50")):
        value = {t: statistics.mean(r[key] for r in rs) for t, rs in runs.items()}
        print(f"| {conc} | {label} | {value['direct']:.2f} | {value['nginx']/value['direct']:.3f} | {value['switchyard']/value['direct']:.3f} |")
    failed = {t: sum(r["failed"] for r in rs) for t, rs in runs.items()}
    print(f"| {conc} | failed requests | {failed['direct']} | {failed['nginx']} | {failed['switchyard']} |")
print()
print("| proxy | concurrency | relayed SSE events | CPU s | CPU s per 1 000 events |")
print("|---|---|---|---|---|")
for target in ("nginx", "switchyard"):
    for conc in ("c1", "c64"):
        runs = load(target, conc[1:])
        events = sum(r["completed"] * (output_len + 3) for r in runs)  # role + tokens + usage + [DONE]
        seconds = sum(cpu.get((target, conc), [0]))
        print(f"| {target} | {conc[1:]} | {events} | {seconds:.2f} | {1000 * seconds / events:.4f} |")
PY
