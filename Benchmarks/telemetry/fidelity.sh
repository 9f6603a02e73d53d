#!/usr/bin/env bash
# Fidelity of Switchyard's own request measurement (GET /stats, the access log) against the
# benchmark client that drove the traffic.
#
# For each client   {switchyard bench serve,  unmodified `vllm bench serve --backend openai-chat`}
# and each backend  {2 simulated GLM-4.5V replicas (`switchyard sim`, engine timing),
#                    2 real vLLM 0.32 CPU servers (tiny random Llama, shared/tools/real-vllm)}
# plus one sim run with `switchyard bench serve --dataset-name visionarena-synthetic`:
#   1. a FRESH `switchyard serve` in front of the two backends, with --access-log to a file,
#      so its /stats covers exactly that run (sims are restarted per run as well; the real vLLM
#      servers are started once and shared by their runs);
#   2. the client through it with --save-result (vLLM: also --save-detailed, for per-request
#      matching), percentile metrics ttft,tpot,itl,e2el at 50,99;
#   3. GET /stats?format=json&percentiles=50,99, then the proxy is stopped (access log flushed);
#   4. compare.py: completed/failed/token totals equal; mean and median of ttft, tpot, itl, e2el
#      within max(2 %, 0.5 ms); access-log generation lines == completed + failed; the /stats
#      sketch's medians against the access log's exact per-request values; the systematic
#      offset proxy - client of TTFT and E2EL (per request, matched by request id).
#      `switchyard bench serve` sends one untimed test request first; compare.py takes it out
#      of the proxy's figures (see its header).
#   5. (CLIENT_BASELINE) each client directly against a fixed-timing sim, no proxy: the
#      client's own share of the offset (client TTFT - the sim's fixed 50 ms).
# Finally summary.md: one line per run and metric, the offsets, the client baseline.
#
# Everything binds 127.0.0.1 on free ports and is stopped by PID. The binary is copied before
# the runs, so a concurrent rebuild of .build/release cannot change it mid-way.
# Outputs: Benchmarks/out/telemetry-<timestamp>/fidelity/ (or $OUT/fidelity/): per run
# NAME.client.json/.txt (the client's result and output), NAME.stats.json/.txt (/stats),
# NAME.access.jsonl, NAME.compare.txt, NAME.summary.json; run.log; summary.md.
#
# Environment (defaults in brackets):
#   SWITCHYARD_BIN     binary to test [.build/release/switchyard via switchyard_bin]
#   OUT                output folder [Benchmarks/out/telemetry-<UTC timestamp>]
#   SIM_TIME_SCALE     engine time / real time of the sims [1.0: real-time GLM-4.5V engine
#                      model; at 0.5 a run takes half as long but TTFT is ~30 ms, and the fixed
#                      ~0.5-1 ms client/proxy offset then exceeds 2 % of it]
#   SIM_PROMPTS [160]  SIM_CONCURRENCY [8]  SIM_INPUT_LEN [256]  SIM_OUTPUT_LEN [128]
#   VISION_PROMPTS     prompts of the visionarena-synthetic run [48]; 0 skips it
#   REAL_VLLM          1: also run against two real vLLM servers [1]; 0: sims only
#   REAL_PROMPTS [48]  REAL_CONCURRENCY [4]  REAL_INPUT_LEN [128]  REAL_OUTPUT_LEN [128]
#   SEED [1]
#   CLIENTS            which clients [switchyard vllm]
#   SIMS               1: the sim runs [1]
#   CLIENT_BASELINE    1: also time each client DIRECTLY against a fixed-timing sim (no proxy;
#                      TTFT 50 ms, ITL 10 ms, 16 tokens) at concurrency 1 and 8: how much each
#                      client's own clock adds to TTFT, independent of Switchyard [1]
#   QUIET_BUSY_PCT [25]  QUIET_MAX_WAIT [900]   wait for a quiet machine before each run
#   SUMMARY_ONLY=1     no runs: compare.py again on OUT's saved runs, and summary.md
#
# Usage: Benchmarks/telemetry/fidelity.sh
#   e.g. REAL_VLLM=0 Benchmarks/telemetry/fidelity.sh          (sims only, ~3 minutes)
source "$(dirname "$0")/../lib/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

SIM_TIME_SCALE=${SIM_TIME_SCALE:-1.0}
SIM_PROMPTS=${SIM_PROMPTS:-160}
SIM_CONCURRENCY=${SIM_CONCURRENCY:-8}
SIM_INPUT_LEN=${SIM_INPUT_LEN:-256}
SIM_OUTPUT_LEN=${SIM_OUTPUT_LEN:-128}
VISION_PROMPTS=${VISION_PROMPTS:-48}
REAL_VLLM=${REAL_VLLM:-1}
REAL_PROMPTS=${REAL_PROMPTS:-48}
REAL_CONCURRENCY=${REAL_CONCURRENCY:-4}
REAL_INPUT_LEN=${REAL_INPUT_LEN:-128}
REAL_OUTPUT_LEN=${REAL_OUTPUT_LEN:-128}
SEED=${SEED:-1}
CLIENTS=${CLIENTS:-switchyard vllm}
SIMS=${SIMS:-1}
CLIENT_BASELINE=${CLIENT_BASELINE:-1}

OUT=${OUT:-$REPO/Benchmarks/out/telemetry-$(date -u +%Y%m%dT%H%M%SZ)}
DIR="$OUT/fidelity"; mkdir -p "$DIR"
exec > >(tee -a "$DIR/run.log") 2>&1

# The binary under test, copied so that someone else's rebuild cannot swap it mid-run.
REQUIRE_FLAG=--no-telemetry copy_bin   # sets SRC_BIN, BIN

VLLM="$REAL_VLLM_DIR/venv/bin/vllm"
export HF_HUB_OFFLINE=1 TRANSFORMERS_OFFLINE=1 VLLM_NO_USAGE_STATS=1 DO_NOT_TRACK=1

echo "== $(date -u +%FT%TZ) on $(machine_line)"
echo "== binary $SRC_BIN (sha256 $(sha256sum "$BIN" | cut -c1-16), built $(date -u -r "$SRC_BIN" +%FT%TZ))"
write_params "$DIR/params.$( [ "${SUMMARY_ONLY:-0}" = 1 ] && echo summary-only || echo run).txt" \
  SIM_TIME_SCALE SIM_PROMPTS SIM_CONCURRENCY SIM_INPUT_LEN SIM_OUTPUT_LEN VISION_PROMPTS REAL_VLLM \
  REAL_PROMPTS REAL_CONCURRENCY REAL_INPUT_LEN REAL_OUTPUT_LEN SEED CLIENTS

# (machine_jiffies, busy_pct, wait_quiet, stop_pid, start_sim, start_proxy: Benchmarks/lib/common.sh)
SIM_PID=""; BACKENDS=()
start_sims() {  # start_sims LOG: after a quiet machine, two fresh sim replicas on free ports; fills BACKENDS
  wait_quiet
  start_sim "$1" 2 --timing engine --time-scale "$SIM_TIME_SCALE" --seed "$SEED"
  BACKENDS=("${SIM_URLS[@]}")
}

# run_case NAME CLIENT MODEL DATASET PROMPTS CONCURRENCY INPUT_LEN OUTPUT_LEN
run_case() {
  local name=$1 client=$2 model=$3 dataset=$4 prompts=$5 conc=$6 in_len=$7 out_len=$8
  local port args=() i=0 u proxy rc=0 m0 m1 t0
  port=$(free_port)
  for u in "${BACKENDS[@]}"; do i=$((i + 1)); args+=(--backend "$u" --backend-name "b$i"); done
  rm -f "$DIR/$name.access.jsonl"
  start_proxy "$DIR/$name.proxy.log" "$port" "${args[@]}" --access-log "$DIR/$name.access.jsonl" --log-level warning
  proxy=$PROXY_PID
  local common=(--base-url "http://127.0.0.1:$port" --model "$model" --num-prompts "$prompts"
                --max-concurrency "$conc" --ignore-eos --seed "$SEED"
                --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,99 --disable-tqdm
                --save-result --result-dir "$DIR" --result-filename "$name.client.json")
  local cmd
  case $client in
    switchyard)
      cmd=("$BIN" bench serve "${common[@]}" --dataset-name "$dataset")
      [ "$dataset" = random ] && cmd+=(--random-input-len "$in_len" --random-output-len "$out_len") ;;
    vllm)
      cmd=("$VLLM" bench serve --backend openai-chat --endpoint /v1/chat/completions
           --tokenizer "$REAL_VLLM_DIR/tiny-llama" "${common[@]}" --save-detailed
           --dataset-name random --random-input-len "$in_len" --random-output-len "$out_len") ;;
  esac
  echo "== $name: ${cmd[*]/#$BIN/switchyard}"
  echo "\$ ${cmd[*]}" > "$DIR/$name.client.txt"
  m0=$(machine_jiffies); t0=$SECONDS
  "${cmd[@]}" >> "$DIR/$name.client.txt" 2>&1 || rc=$?
  m1=$(machine_jiffies)
  sleep 0.5
  curl -fsS "http://127.0.0.1:$port/stats?format=json&percentiles=50,99" > "$DIR/$name.stats.json" || true
  curl -fsS "http://127.0.0.1:$port/stats?percentiles=50,99" > "$DIR/$name.stats.txt" || true
  stop_pid "$proxy"   # flushes the access log
  echo "   client exit $rc, $((SECONDS - t0)) s, machine $(busy_pct "$m0" "$m1") % busy"
  if [ $rc != 0 ] || [ ! -s "$DIR/$name.client.json" ]; then
    echo "   FAIL $name: the client did not finish; tail of $DIR/$name.client.txt:"; tail -5 "$DIR/$name.client.txt" | sed 's/^/     /'
    echo "{\"label\": \"$name\", \"client\": \"$client\", \"all_pass\": false, \"error\": \"client failed\"}" > "$DIR/$name.summary.json"
    return 0
  fi
  python3 "$HERE/compare.py" --client-result "$DIR/$name.client.json" --stats "$DIR/$name.stats.json" \
    --access-log "$DIR/$name.access.jsonl" --label "$name" --summary-json "$DIR/$name.summary.json" \
    --client "$( [ "$client" = vllm ] && echo "vllm bench serve" || echo "switchyard bench serve")" \
    > "$DIR/$name.compare.txt" || true
  cat "$DIR/$name.compare.txt"
}

# client_baseline: each client straight at one fixed-timing sim (TTFT 50 ms, ITL 10 ms).
client_baseline() {
  local port sim conc client cmd name
  wait_quiet
  port=$(free_port)
  "$BIN" sim --port "$port" --timing fixed --ttft-ms 50 --itl-ms 10 > "$DIR/baseline.sim.log" 2>&1 &
  sim=$!; PIDS+=("$sim")
  wait_http "http://127.0.0.1:$port/health" 30
  for conc in 1 8; do
    for client in $CLIENTS; do
      name="baseline-$client-c$conc"
      local common=(--base-url "http://127.0.0.1:$port" --model glm-4.5v --num-prompts 40 --max-concurrency "$conc"
                    --ignore-eos --seed "$SEED" --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,99
                    --disable-tqdm --save-result --result-dir "$DIR" --result-filename "$name.client.json"
                    --dataset-name random --random-input-len 256 --random-output-len 16)
      case $client in
        switchyard) cmd=("$BIN" bench serve "${common[@]}") ;;
        vllm) cmd=("$VLLM" bench serve --backend openai-chat --endpoint /v1/chat/completions
                   --tokenizer "$REAL_VLLM_DIR/tiny-llama" "${common[@]}") ;;
      esac
      echo "\$ ${cmd[*]}" > "$DIR/$name.client.txt"
      "${cmd[@]}" >> "$DIR/$name.client.txt" 2>&1 || echo "  $name failed; see $DIR/$name.client.txt"
    done
  done
  stop_pid "$sim"
  python3 - "$DIR" "$CLIENTS" <<'PY' | tee "$DIR/client-baseline.md"
import json, os, sys
d, clients = sys.argv[1], sys.argv[2].split()
print("## Client baseline: each client directly against a fixed-timing sim (TTFT 50 ms, ITL 10 ms), no proxy\n")
print("| client | concurrency | mean TTFT ms | median TTFT ms | TTFT - 50 ms (mean) | mean ITL ms | mean E2EL ms | E2EL - 200 ms (mean) |")
print("|---|---:|---:|---:|---:|---:|---:|---:|")
for conc in (1, 8):
    for c in clients:
        p = f"{d}/baseline-{c}-c{conc}.client.json"
        if not os.path.exists(p): continue
        r = json.load(open(p))
        name = "vllm bench serve" if c == "vllm" else "switchyard bench serve"
        print(f"| {name} | {conc} | {r['mean_ttft_ms']:.3f} | {r['median_ttft_ms']:.3f} | {r['mean_ttft_ms'] - 50:+.3f} | "
              f"{r['mean_itl_ms']:.3f} | {r['mean_e2el_ms']:.3f} | {r['mean_e2el_ms'] - 200:+.3f} |")
print("\nThe sim's own timer starts when it has the request; what is above 50 ms is the client's side"
      " (sending, and receiving/parsing the first event) plus the sim's HTTP handling, the same for both clients.")
PY
}

T0=$SECONDS
if [ "${SUMMARY_ONLY:-0}" = 1 ]; then
  # No runs: compare every saved run again (after a change to compare.py), then the summary.
  SIMS=0; REAL_VLLM=0; CLIENT_BASELINE=0
  for stats in "$DIR"/*.stats.json; do
    name=$(basename "$stats" .stats.json)
    client=switchyard; grep -q "vllm bench serve\|bin/vllm " "$DIR/$name.client.txt" && client=vllm
    python3 "$HERE/compare.py" --client-result "$DIR/$name.client.json" --stats "$stats" \
      --access-log "$DIR/$name.access.jsonl" --label "$name" --summary-json "$DIR/$name.summary.json" \
      --client "$( [ "$client" = vllm ] && echo "vllm bench serve" || echo "switchyard bench serve")" \
      > "$DIR/$name.compare.txt" || true
  done
fi
if [ "$CLIENT_BASELINE" = 1 ]; then
  if [[ " $CLIENTS " == *" vllm "* ]] && [ ! -x "$VLLM" ]; then ensure_real_vllm || true; fi
  client_baseline
fi
# ---- simulated replicas (fresh per run)
for client in $CLIENTS; do
  [ "$SIMS" = 1 ] || break
  if [ "$client" = vllm ] && [ ! -x "$VLLM" ]; then
    ensure_real_vllm || { echo "== real vLLM not installable: skipping vllm bench serve"; continue; }
  fi
  start_sims "$DIR/sim-$client-random.sim.log"
  run_case "sim-$client-random" "$client" glm-4.5v random "$SIM_PROMPTS" "$SIM_CONCURRENCY" "$SIM_INPUT_LEN" "$SIM_OUTPUT_LEN"
  stop_pid "$SIM_PID"
done
if [ "$SIMS" = 1 ] && [ "$VISION_PROMPTS" -gt 0 ] && [[ " $CLIENTS " == *" switchyard "* ]]; then
  start_sims "$DIR/sim-switchyard-vision.sim.log"
  run_case "sim-switchyard-vision" switchyard glm-4.5v visionarena-synthetic "$VISION_PROMPTS" "$SIM_CONCURRENCY" 0 "$SIM_OUTPUT_LEN"
  stop_pid "$SIM_PID"
fi

# ---- two real vLLM CPU servers, one per core, shared by their runs
if [ "$REAL_VLLM" = 1 ]; then
  if ensure_real_vllm; then
    wait_quiet
    A=$(free_port); B=$(free_port)
    echo "== starting real vLLM on :$A (core 0) and :$B (core 1)"
    TTL=3600 REAL_VLLM_DIR=$REAL_VLLM_DIR bash "$SHARED/tools/real-vllm/serve.sh" "$A" 0 --enforce-eager > "$DIR/vllm-a.log" 2>&1 &
    VA=$!; PIDS+=("$VA")
    TTL=3600 REAL_VLLM_DIR=$REAL_VLLM_DIR bash "$SHARED/tools/real-vllm/serve.sh" "$B" 1 --enforce-eager > "$DIR/vllm-b.log" 2>&1 &
    VB=$!; PIDS+=("$VB")
    if wait_http "http://127.0.0.1:$A/health" 300 && wait_http "http://127.0.0.1:$B/health" 300; then
      BACKENDS=("http://127.0.0.1:$A" "http://127.0.0.1:$B")
      for client in $CLIENTS; do
        run_case "vllm-$client-random" "$client" tiny-llama random "$REAL_PROMPTS" "$REAL_CONCURRENCY" "$REAL_INPUT_LEN" "$REAL_OUTPUT_LEN"
      done
    else
      echo "== real vLLM did not come up; see $DIR/vllm-a.log, $DIR/vllm-b.log"
    fi
    stop_pid "$VA"; stop_pid "$VB"
  else
    echo "== real vLLM could not be installed; sims only"
  fi
fi
echo "== took $((SECONDS - T0)) s"

# ---- summary: one row per run and metric
python3 - "$DIR" <<'PY' | tee "$DIR/summary.md"
import glob, json, os, sys
d = sys.argv[1]
runs = [json.load(open(p)) for p in sorted(glob.glob(os.path.join(d, "*.summary.json")))]
print("# Telemetry fidelity: client vs Switchyard /stats\n")
print("| run | metric | client | proxy | diff ms | diff % | result |")
print("|---|---|---:|---:|---:|---:|---|")
for r in runs:
    if "checks" not in r:
        print(f"| {r['label']} | (client failed) | | | | | FAIL |"); continue
    for c in r["checks"]:
        f = lambda x: "" if x is None else (f"{x:.3f}" if isinstance(x, float) else str(x))
        pct = "" if c["diff_pct"] is None else f"{c['diff_pct']:+.2f}"
        dms = "" if c["diff_ms"] is None else (f"{c['diff_ms']:+.3f}" if isinstance(c["diff_ms"], float) else f"{c['diff_ms']:+d}")
        print(f"| {r['label']} | {c['name']} | {f(c['client'])} | {f(c['proxy'])} | {dms} | {pct} | {'PASS' if c['pass'] else 'FAIL'} |")
print("\n## Systematic offset proxy - client (ms)\n")
print("| run | TTFT mean diff | TTFT per-request median [min, max] | E2EL mean diff | E2EL per-request median [min, max] |")
print("|---|---:|---:|---:|---:|")
for r in runs:
    if "checks" not in r: continue
    o, p = r["offset_mean_ms"], r["offset_per_request_ms"]
    cell = lambda m: "n/a" if m not in p else f"{p[m]['median']:+.3f} [{p[m]['min']:+.3f}, {p[m]['max']:+.3f}]"
    g = lambda x: "n/a" if x is None else f"{x:+.3f}"
    print(f"| {r['label']} | {g(o.get('mean_ttft'))} | {cell('ttft')} | {g(o.get('mean_e2el'))} | {cell('e2el')} |")
print()
for r in runs:
    fails = [c["name"] for c in r.get("checks", []) if not c["pass"]]
    print(f"- {r['label']}: {'ALL PASS' if r.get('all_pass') else 'FAIL ' + ', '.join(fails or ['client failed'])}")
if os.path.exists(os.path.join(d, "client-baseline.md")):
    print()
    print(open(os.path.join(d, "client-baseline.md")).read())
PY
echo "== results in $DIR"
