#!/usr/bin/env bash
# Reruns the simulator's calibration in real time, over HTTP: one `switchyard sim` replica with
# the default GLM-4.5V-FP8 (TP4, 4×H100) engine profile, driven by `switchyard bench serve
# --dataset-name visionarena-synthetic` (real JPEG payloads, natural output lengths, as the
# seed ran it), in the seed's three scenarios. Prints seed vs sim with the bands of issue 4.
# Fewer prompts than the seed's 1 000 where the statistic is stable (see PROMPTS below).
# The same comparison in virtual time, with all 1 000 prompts: `switchyard sim calibrate`.
# Usage: Benchmarks/sim-calibration/run.sh [SCALE]   (SCALE multiplies the prompt counts)
source "$(dirname "$0")/../lib/common.sh"
SCALE=${1:-1}
OUT="$REPO/Benchmarks/out/sim-calibration-$(date -u +%Y%m%dT%H%M%SZ)"; mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1
BIN=$(switchyard_bin)
S=$(free_port)
echo "== $(date -u +%FT%TZ) on $(machine_line)"
"$BIN" sim --port "$S" > "$OUT/sim.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$S/health" 30

run() {  # run NAME PROMPTS FLAGS...
  local name=$1 prompts=$2; shift 2
  "$BIN" bench serve --base-url "http://127.0.0.1:$S" --dataset-name visionarena-synthetic \
    --num-prompts "$prompts" --seed 0 --disable-tqdm --percentile-metrics ttft,tpot,itl,e2el \
    --save-result --result-dir "$OUT" --result-filename "$name.json" "$@" > "$OUT/$name.txt" 2>&1
  echo "  $name: $(grep -E 'Successful requests' "$OUT/$name.txt" | tr -s ' ')"
}
run conc1 $((60 * SCALE)) --max-concurrency 1
run rate10 $((600 * SCALE)) --request-rate 10
run rate20 $((600 * SCALE)) --request-rate 20

python3 - "$OUT" <<'PY'
import json, sys
out = sys.argv[1]
r = {n: json.load(open(f"{out}/{n}.json")) for n in ("conc1", "rate10", "rate20")}
rows = [
    ("max-concurrency 1", "conc1", "mean_tpot_ms", 8.51, 0.10),
    ("max-concurrency 1", "conc1", "mean_ttft_ms", 487.21, 0.15),
    ("request-rate 10", "rate10", "mean_ttft_ms", 562.74, 0.20),
    ("request-rate 10", "rate10", "mean_tpot_ms", 46.19, 0.15),
    ("request-rate 10", "rate10", "p99_itl_ms", 177.84, 0.30),
    ("request-rate 10", "rate10", "max_concurrent_requests_per_second_bucket", 108, 0.25),
    ("request-rate 20", "rate20", "request_throughput", 18.30, 0.10),
    ("request-rate 20", "rate20", "mean_tpot_ms", 72.62, 0.20),
]
print("\n| scenario | metric | seed | sim | sim ÷ seed | band | in band |")
print("|---|---|---|---|---|---|---|")
for scenario, run, key, seed, band in rows:
    value = r[run][key]
    ok = abs(value - seed) <= band * seed
    print(f"| {scenario} | {key} | {seed:.2f} | {value:.2f} | {value / seed:.3f} | ±{int(band * 100)} % | {'yes' if ok else '**no**'} |")
print(f"| request-rate 10 | max_concurrent_requests (sweep, for reference) | | {r['rate10']['max_concurrent_requests']} | | | |")
print(f"\nfailed requests: " + ", ".join(f"{n} {r[n]['failed']}" for n in r))
PY
