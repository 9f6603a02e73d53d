#!/usr/bin/env bash
# How much load can `switchyard bench serve` itself measure before it becomes the bottleneck?
# 1 000 concurrent streams against one `switchyard sim` replica (TTFT 100 ms), with the sim's
# token interval tightened step by step. While the client keeps up, the measured mean TPOT equals
# the configured interval; the ceiling is where it starts to drift (> 5 %) or the client's CPU
# saturates. Reports events/s offered, measured TPOT ÷ configured, and client CPU per 1 000 events.
# Usage: Benchmarks/client-ceiling/run.sh [CONCURRENCY] [ITL_MS...]
source "$(dirname "$0")/../lib/common.sh"
CONC=${1:-1000}; shift || true
ITLS=${*:-40 20 10 5}
OUTPUT=50
OUT="$REPO/Benchmarks/out/client-ceiling-$(date -u +%Y%m%dT%H%M%SZ)"; mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
BIN=$(switchyard_bin)
ulimit -n 65536 2>/dev/null || ulimit -n 4096  # a socket per stream on each side
echo "== $(date -u +%FT%TZ) on $(machine_line); $CONC concurrent streams, $OUTPUT tokens each"
echo "| sim ITL (ms) | offered events/s | measured mean TPOT (ms) | TPOT ÷ ITL | mean TTFT (ms) | failed | client CPU s | client CPU µs/event |"
echo "|---|---|---|---|---|---|---|---|"
for itl in $ITLS; do
  S=$(free_port)
  "$BIN" sim --timing fixed --port "$S" --ttft-ms 100 --itl-ms "$itl" > "$OUT/sim-$itl.log" 2>&1 &
  SIM=$!; PIDS+=($SIM)
  wait_http "http://127.0.0.1:$S/health" 30
  prompts=$(( CONC * 3 ))
  /usr/bin/time -f "%U %S" -o "$OUT/time-$itl.txt" "$BIN" bench serve --base-url "http://127.0.0.1:$S" --model glm-4.5v \
    --dataset-name random --random-input-len 64 --random-output-len "$OUTPUT" --ignore-eos \
    --num-prompts "$prompts" --max-concurrency "$CONC" --disable-tqdm --save-result --result-dir "$OUT" \
    --result-filename "itl-$itl.json" > "$OUT/bench-$itl.txt" 2>&1
  kill "$SIM"; wait "$SIM" 2>/dev/null || true
  python3 - "$OUT/itl-$itl.json" "$OUT/time-$itl.txt" "$itl" "$CONC" "$OUTPUT" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); user, sys_ = map(float, open(sys.argv[2]).read().split()[-2:])
itl, conc, out = float(sys.argv[3]), int(sys.argv[4]), int(sys.argv[5])
events = r["completed"] * (out + 2)  # content events + the usage event (+ [DONE] is not parsed)
offered = conc * 1000 / itl
cpu = user + sys_
print(f"| {itl:g} | {offered:,.0f} | {r['mean_tpot_ms']:.2f} | {r['mean_tpot_ms'] / itl:.3f} | {r['mean_ttft_ms']:.1f} | {r['failed']} | {cpu:.2f} | {1e6 * cpu / events:.1f} |")
PY
done
