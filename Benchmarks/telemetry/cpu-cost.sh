#!/usr/bin/env bash
# CPU cost of Switchyard's per-request telemetry: proxy CPU per relayed SSE event with telemetry
# on (the default) vs `--no-telemetry`, both with `--access-log off`, plus the telemetry with the
# access log written to a file (the log's own cost).
#
# A "stack" is two fresh simulated GLM-4.5V replicas (`switchyard sim --timing engine`, fast
# --time-scale so tokens flow quickly), a fresh `switchyard serve` in front of them, and
# `switchyard bench serve` (random dataset, --ignore-eos, long outputs) through it. The proxy's
# CPU seconds (user+system, /proc/PID/stat) are read just before and just after the client runs;
# events = output tokens relayed = the client's total_output_tokens + the client's untimed test
# request (OUTPUT_LEN tokens; it goes through the proxy too). With --ignore-eos the sims stream
# one token per SSE event, so this is µs per content event (each stream also carries a role
# chunk, a usage chunk and [DONE]: +3 events per request, ~1 %).
#
# MODE=side-by-side (the default): each round runs TWO stacks at once, one with telemetry on and
# one with --no-telemetry, each with its own sims and its own client (same seed and settings),
# and reads both proxies' CPU over the same interval (before both clients start, after both
# end), so both see the same machine noise (other jobs, host steal). Which stack starts first
# (sims, proxy, client) alternates between rounds. One discarded warm-up round first;
# afterwards one round with the access log to a file vs off, and AA_ROUNDS rounds with
# telemetry off on both sides (the method's own noise floor: their ratio should be ~1).
# Result: each round's ratio (user+sys, and user and sys alone), the median ratio and a
# bootstrap 95 % CI of it (target <= 1.05).
# Lockstep. With fixed lengths (RANGE_RATIO=0) and --ignore-eos the closed loop can lock into
# lockstep: a replica's whole batch starts and ends together and every engine step emits a token
# on every stream at once, so one proxy wakeup handles ~4.5 events; or it does not, ~2.5 events
# per wakeup. Which of the two a run falls into is chance (it moved identical --no-telemetry
# proxies side by side by up to ±18 %, and pair ratios 0.87-1.30). Lengths that vary (default
# RANGE_RATIO=0.5 here) keep every run out of lockstep: control rounds then agree within ±3 %
# and on/off rounds within ±1.5 %. Each side also records its read/write syscalls
# (/proc/PID/io) and its threads' context switches (events/switch in the table), and the
# summary adds a least-squares check, µs/event = b0 + b1 * switches/event + b2 * [telemetry on]
# over every side of the on/off and control rounds: on/off at the mean switches/event, with a
# 95 % CI by resampling rounds (it assumes the telemetry does not itself change the batching).
# MODE=sequential: one stack at a time, on/off/on/off... (PAIRS pairs) after a discarded warm-up
# run, then one on + access-log run; each pair's on/off ratio and the median ratio. With the
# default fixed lengths pair ratios spread widely (0.95-1.20 seen): see Lockstep above.
# The clients and the sims run on the same cores as the proxies; the machine's busy share is
# printed per run (keep it well below 100 %: a saturated machine measures scheduling).
#
# Everything binds 127.0.0.1 on free ports and is stopped by PID. The binary is copied first.
# Outputs: Benchmarks/out/telemetry-<timestamp>/cpu-cost/ (or $OUT/cpu-cost/): per run/side
# NAME.client.json/.txt, NAME.proxy.log, NAME.sim.log; per run/round NAME.meta.json; run.log;
# params.*.txt; summary.md; with PERF=1 NAME.perf.txt (self time per symbol) and
# NAME.perf-share.json.
#
# Environment (defaults in brackets; "a | b" = side-by-side | sequential):
#   MODE             side-by-side | sequential [side-by-side]
#   SWITCHYARD_BIN   binary to test [.build/release/switchyard via switchyard_bin]
#   OUT              output folder [Benchmarks/out/telemetry-<UTC timestamp>]
#   ROUNDS [10]      side-by-side rounds      PAIRS [6]   sequential on/off pairs
#   AA_ROUNDS [2]    side-by-side: extra rounds with --no-telemetry on both sides (not in the median)
#   B_MODE [off]     side b: off (--no-telemetry) | base (telemetry on, BASELINE_BIN: an earlier build)
#   LOG_RUN [1]      1: one more run (sequential) or round (vs off, side-by-side) with the access log to a file
#   PROMPTS [240 | 640]  CONCURRENCY [16 | 32]  INPUT_LEN [128]  OUTPUT_LEN [256]
#   RANGE_RATIO      --random-range-ratio: lengths vary within ±RANGE_RATIO [0.5 | 0]; 0 risks
#                    lockstep (see above)
#   SIM_TIME_SCALE   [0.3 | 0.2: side-by-side ~2 700 tok/s per client, ~24 s per round, machine ~25 % busy;
#                    sequential ~6 500 tok/s, ~25 s per run, machine ~20 % busy; 0.1 saturates 2 cores]
#   SEED [1]
#   PERF             1: afterwards profile the proxy with `perf record -g` for PERF_SECONDS [12] s
#                    (not counted above; perf's sampling adds CPU): side-by-side one more round,
#                    both proxies recorded; sequential one more on and one more off run. Prints
#                    the share of the proxy's CPU (self %) in symbols matching PERF_SYMBOLS
#                    [SwitchyardCore|Telemetry|ResponseMeter|SSEObserver|JSONMemberWatcher|
#                    LiveStats|ProxyTelemetry|StatsCell|LatencySketch] [0]; PERF_KEEP=1 keeps the
#                    NAME.perf.data files (e.g. for `perf diff perf-b.perf.data perf-a.perf.data`)
#   PIN [0]          1: every proxy thread on PROXY_CPUS [the last CPU], sims and clients on
#                    LOAD_CPUS [the others] (taskset; on 2 cores it did not narrow the spread)
#   QUIET_BUSY_PCT [25]  QUIET_MAX_WAIT [900]   wait for a quiet machine before each run/round
#   SUMMARY_ONLY=1   no runs: rebuild summary.md from OUT's existing cpu-cost/*.meta.json
#
# Usage: Benchmarks/telemetry/cpu-cost.sh      (side-by-side ~8 minutes; sequential ~7; PERF=1 adds ~1)
#   e.g. MODE=sequential PAIRS=6 OUT=Benchmarks/out/x Benchmarks/telemetry/cpu-cost.sh
source "$(dirname "$0")/../lib/common.sh"

MODE=${MODE:-side-by-side}
case $MODE in
  side-by-side) PROMPTS=${PROMPTS:-240}; CONCURRENCY=${CONCURRENCY:-16}; SIM_TIME_SCALE=${SIM_TIME_SCALE:-0.3}; RANGE_RATIO=${RANGE_RATIO:-0.5} ;;
  sequential) PROMPTS=${PROMPTS:-640}; CONCURRENCY=${CONCURRENCY:-32}; SIM_TIME_SCALE=${SIM_TIME_SCALE:-0.2}; RANGE_RATIO=${RANGE_RATIO:-0} ;;
  *) echo "MODE must be side-by-side or sequential" >&2; exit 2 ;;
esac
ROUNDS=${ROUNDS:-10}
AA_ROUNDS=${AA_ROUNDS:-2}
PAIRS=${PAIRS:-6}
LOG_RUN=${LOG_RUN:-1}
INPUT_LEN=${INPUT_LEN:-128}
OUTPUT_LEN=${OUTPUT_LEN:-256}
SEED=${SEED:-1}
PERF=${PERF:-0}
PERF_SECONDS=${PERF_SECONDS:-12}
PERF_SYMBOLS=${PERF_SYMBOLS:-SwitchyardCore|Telemetry|ResponseMeter|SSEObserver|JSONMemberWatcher|LiveStats|ProxyTelemetry|StatsCell|LatencySketch}
PERF_RUN=""
PIN=${PIN:-0}
PROXY_CPUS=${PROXY_CPUS:-$(( $(nproc) - 1 ))}
LOAD_CPUS=${LOAD_CPUS:-0-$(( $(nproc) > 2 ? $(nproc) - 2 : 0 ))}

OUT=${OUT:-$REPO/Benchmarks/out/telemetry-$(date -u +%Y%m%dT%H%M%SZ)}
DIR="$OUT/cpu-cost"; mkdir -p "$DIR"
exec > >(tee -a "$DIR/run.log") 2>&1

REQUIRE_FLAG=--no-telemetry copy_bin   # sets SRC_BIN, BIN
# B_MODE=base with BASELINE_BIN=<an earlier release build>: side b runs that build with telemetry
# on, so the ratio is this build's CPU per event ÷ the earlier one's (before/after a change).
B_MODE=${B_MODE:-off}
if [ "$B_MODE" = base ]; then
  BASELINE_COPY="$(dirname "$BIN")/switchyard-baseline"
  cp "${BASELINE_BIN:?B_MODE=base needs BASELINE_BIN}" "$BASELINE_COPY"
  echo "== baseline (side b): $BASELINE_BIN (sha256 $(sha256sum "$BASELINE_COPY" | cut -c1-16))"
fi

echo "== $(date -u +%FT%TZ) on $(machine_line)"
if [ "$MODE" = side-by-side ]; then
  echo "== binary $SRC_BIN (sha256 $(sha256sum "$BIN" | cut -c1-16)); side-by-side, $ROUNDS rounds (+$AA_ROUNDS off/off); per client $PROMPTS prompts × $OUTPUT_LEN tokens, concurrency $CONCURRENCY, sim time scale $SIM_TIME_SCALE"
else
  echo "== binary $SRC_BIN (sha256 $(sha256sum "$BIN" | cut -c1-16)); sequential, $PAIRS pairs; $PROMPTS prompts × $OUTPUT_LEN tokens, concurrency $CONCURRENCY, sim time scale $SIM_TIME_SCALE"
fi
write_params "$DIR/params.$MODE.$( [ "${SUMMARY_ONLY:-0}" = 1 ] && echo summary-only || echo run).txt" \
  MODE ROUNDS AA_ROUNDS PAIRS PROMPTS CONCURRENCY INPUT_LEN OUTPUT_LEN RANGE_RATIO SIM_TIME_SCALE SEED PIN PROXY_CPUS LOAD_CPUS

# start_stack NAME MODE: fresh sims and a fresh proxy in front of them; MODE is on | off |
# on-log (telemetry on, access log to NAME.access.jsonl). Sets SIM_PID, PROXY_PID, STACK_PORT.
start_stack() {
  local name=$1 mode=$2 flags=()
  SIM_PID=""; PROXY_PID=""
  case $mode in
    on) flags=(--access-log off) ;;
    off) flags=(--access-log off --no-telemetry) ;;
    on-log) rm -f "$DIR/$name.access.jsonl"; flags=(--access-log "$DIR/$name.access.jsonl") ;;
    base) flags=(--access-log off) ;;
  esac
  start_sim "$DIR/$name.sim.log" 2 --timing engine --time-scale "$SIM_TIME_SCALE" --seed "$SEED" || return 1
  pin "$SIM_PID" "$LOAD_CPUS"
  STACK_PORT=$(free_port)
  # `base`: telemetry on too, but the proxy is BASELINE_BIN (an earlier build), for before/after.
  local tested=$BIN
  [ "$mode" = base ] && BIN=$BASELINE_COPY
  start_proxy "$DIR/$name.proxy.log" "$STACK_PORT" --backend "${SIM_URLS[0]}" --backend-name b1 \
    --backend "${SIM_URLS[1]}" --backend-name b2 --log-level warning "${flags[@]}" || { BIN=$tested; return 1; }
  BIN=$tested
  pin "$PROXY_PID" "$PROXY_CPUS"
}

# user_sys PID: "USER SYS" CPU seconds a process has used so far (cpu_seconds is their sum).
user_sys() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f %.3f\n", $14 / hz, $15 / hz }' "/proc/$1/stat"
}

# counters PID: "READS WRITES SWITCHES": read and write syscalls (/proc/PID/io) and context
# switches of all its threads (voluntary + involuntary): how batched the relaying was.
counters() {
  local r w
  r=$(awk '/^syscr/ {print $2}' "/proc/$1/io"); w=$(awk '/^syscw/ {print $2}' "/proc/$1/io")
  echo "$r $w $(cat /proc/"$1"/task/*/status 2>/dev/null | awk '/ctxt_switches/ {n += $2} END {print n + 0}')"
}

# pin PID CPUS: with PIN=1, every thread of PID onto CPUS (taskset -a).
pin() {
  [ "$PIN" = 1 ] || return 0
  taskset -a -p -c "$2" "$1" > /dev/null
}

# bench_client PORT NAME [PROMPTS]: the load, results in NAME.client.json/.txt.
bench_client() {
  local prefix=()
  [ "$PIN" = 1 ] && prefix=(taskset -c "$LOAD_CPUS")
  "${prefix[@]}" "$BIN" bench serve --base-url "http://127.0.0.1:$1" --model glm-4.5v --dataset-name random \
    --random-input-len "$INPUT_LEN" --random-output-len "$OUTPUT_LEN" --random-range-ratio "$RANGE_RATIO" \
    --ignore-eos --seed "$SEED" --num-prompts "${3:-$PROMPTS}" --max-concurrency "$CONCURRENCY" --disable-tqdm \
    --save-result --result-dir "$DIR" --result-filename "$2.client.json" > "$DIR/$2.client.txt" 2>&1
}

# start_perf NAME PID: `perf record -g` of PID from 2 s into the run for PERF_SECONDS; sets PERF_PID.
start_perf() {
  (sleep 2; exec perf record -F 1999 -g -p "$2" -o "$DIR/$1.perf.data" -- sleep "$PERF_SECONDS") > /dev/null 2>&1 &
  PERF_PID=$!; PIDS+=("$PERF_PID")
}

# perf_summary NAME: self time per symbol of NAME.perf.data into NAME.perf.txt (every symbol),
# the share matching PERF_SYMBOLS into NAME.perf-share.json; prints the share and the top matches.
perf_summary() {
  local name=$1
  [ -s "$DIR/$name.perf.data" ] || { echo "    $name: no perf data"; return 0; }
  perf report -i "$DIR/$name.perf.data" --no-children --sort symbol --stdio -g none 2>/dev/null \
    | grep -v '^#' | grep '%' > "$DIR/$name.perf.txt" || true
  [ "${PERF_KEEP:-0}" = 1 ] || rm -f "$DIR/$name.perf.data"
  python3 - "$DIR/$name.perf.txt" "$PERF_SYMBOLS" "$DIR/$name.perf-share.json" "$name" <<'PY'
import json, re, sys
path, pattern, out, name = sys.argv[1:]
rx, rows = re.compile(pattern), []
for line in open(path):
    m = re.match(r"\s*([0-9.]+)%\s+\[(.)\]\s+(.*\S)", line)
    if m: rows.append((float(m.group(1)), m.group(2), m.group(3)))
hits = [r for r in rows if rx.search(r[2])]
share = sum(r[0] for r in hits)
json.dump({"name": name, "pattern": pattern, "share_pct": round(share, 2), "total_pct": round(sum(r[0] for r in rows), 2),
           "symbols": len(hits), "top": [[r[0], r[2][:160]] for r in sorted(hits, reverse=True)[:20]]}, open(out, "w"), indent=1)
print(f"    {name}: {share:.2f} % of the proxy's CPU (self) in {len(hits)} symbols matching the telemetry/Core pattern; top:")
for p, _, s in sorted(hits, reverse=True)[:8]:
    print(f"      {p:5.2f} %  {s[:110]}")
PY
}

# run_one NAME MODE [PROMPTS]: sequential mode: one stack, one client.
run_one() {
  local name=$1 mode=$2 prompts=${3:-$PROMPTS} proxy sim cpu0 cpu1 sim0 sim1 cl0 cl1 m0 m1 rc=0 t0 perf_pid="" io0 io1
  wait_quiet
  if ! start_stack "$name" "$mode"; then
    echo "  $name: the stack did not start; see $DIR/$name.*.log"; stop_pid "$PROXY_PID"; stop_pid "$SIM_PID"; return 0
  fi
  proxy=$PROXY_PID; sim=$SIM_PID
  io0=$(counters "$proxy"); cpu0=$(user_sys "$proxy"); sim0=$(cpu_seconds "$sim"); cl0=$(children_cpu); m0=$(machine_jiffies); t0=$(date +%s.%N)
  if [ -n "$PERF_RUN" ]; then start_perf "$name" "$proxy"; perf_pid=$PERF_PID; fi
  bench_client "$STACK_PORT" "$name" "$prompts" || rc=$?
  cpu1=$(user_sys "$proxy"); sim1=$(cpu_seconds "$sim"); cl1=$(children_cpu); m1=$(machine_jiffies); io1=$(counters "$proxy")
  [ -z "$perf_pid" ] || wait "$perf_pid" || true
  stop_pid "$proxy"; stop_pid "$sim"
  [ $rc = 0 ] || { echo "  $name: bench serve exited $rc; see $DIR/$name.client.txt"; return 0; }
  python3 - "$DIR" "$name" "$mode" "$cpu0" "$cpu1" "$sim0" "$sim1" "$cl0" "$cl1" "$m0" "$m1" "$t0" "$OUTPUT_LEN" "$io0" "$io1" <<'PY'
import json, sys, time
d, name, mode, cpu0, cpu1, sim0, sim1, cl0, cl1, m0, m1, t0, out_len, io0, io1 = sys.argv[1:]
(r0, w0, x0), (r1, w1, x1) = map(int, io0.split()), map(int, io1.split())
r = json.load(open(f"{d}/{name}.client.json"))
(b0, a0), (b1, a1) = map(int, m0.split()), map(int, m1.split())
events = r["total_output_tokens"] + int(out_len)       # + the untimed test request
(u0, k0), (u1, k1) = map(float, cpu0.split()), map(float, cpu1.split())
proxy_s = (u1 - u0) + (k1 - k0)
meta = {"name": name, "mode": mode, "completed": r["completed"], "failed": r["failed"], "events": events,
        "proxy_cpu_s": round(proxy_s, 3), "us_per_event": round(1e6 * proxy_s / events, 3),
        "proxy_user_s": round(u1 - u0, 3), "proxy_sys_s": round(k1 - k0, 3),
        "user_us_per_event": round(1e6 * (u1 - u0) / events, 3), "sys_us_per_event": round(1e6 * (k1 - k0) / events, 3),
        "sim_cpu_s": round(float(sim1) - float(sim0), 3), "client_cpu_s": round(float(cl1) - float(cl0), 3),
        "wall_s": round(time.time() - float(t0), 2), "machine_busy": round((b1 - b0) / max(1, a1 - a0), 3),
        "output_tok_s": round(r["output_throughput"], 1), "mean_tpot_ms": round(r["mean_tpot_ms"], 3),
        "reads": r1 - r0, "writes": w1 - w0, "switches": x1 - x0}
json.dump(meta, open(f"{d}/{name}.meta.json", "w"))
print(f"  {name:<12} {mode:<7} proxy {meta['proxy_cpu_s']:6.2f} s CPU / {events} events = {meta['us_per_event']:6.2f} µs/event"
      f" (user {meta['user_us_per_event']:.2f} + sys {meta['sys_us_per_event']:.2f}; {events / max(1, x1 - x0):.2f} events/switch)"
      f"  (sim {meta['sim_cpu_s']:.2f} s, client {meta['client_cpu_s']:.2f} s, {meta['wall_s']:.1f} s wall, "
      f"machine {100 * meta['machine_busy']:.0f} % busy, {meta['output_tok_s']:.0f} tok/s, failed {r['failed']})")
PY
  sleep 1
}

# run_side NAME FIRST MODE_A MODE_B [PROMPTS]: side-by-side mode: stacks NAME-a (MODE_A) and
# NAME-b (MODE_B) at once, FIRST (a | b) started first; both proxies' CPU over the same interval.
run_side() {
  local name=$1 first=$2 prompts=${5:-$PROMPTS} side order cl0 cl1 m0 m1 t0 failed=0
  local -A mode=([a]=$3 [b]=$4) sim=() proxy=() port=() cpu0=() cpu1=() sim0=() sim1=() client=() rc=([a]=0 [b]=0) perf=() io0=() io1=()
  if [ "$first" = a ]; then order=(a b); else order=(b a); fi
  wait_quiet
  for side in "${order[@]}"; do
    if ! start_stack "$name-$side" "${mode[$side]}"; then
      echo "  $name: stack $side did not start; see $DIR/$name-$side.*.log"; failed=1
      stop_pid "$PROXY_PID"; stop_pid "$SIM_PID"; break
    fi
    sim[$side]=$SIM_PID; proxy[$side]=$PROXY_PID; port[$side]=$STACK_PORT
  done
  if [ $failed = 1 ]; then
    for side in a b; do stop_pid "${proxy[$side]:-}"; stop_pid "${sim[$side]:-}"; done
    return 0
  fi
  for side in a b; do cpu0[$side]=$(user_sys "${proxy[$side]}"); sim0[$side]=$(cpu_seconds "${sim[$side]}"); io0[$side]=$(counters "${proxy[$side]}"); done
  cl0=$(children_cpu); m0=$(machine_jiffies); t0=$(date +%s.%N)
  for side in "${order[@]}"; do
    bench_client "${port[$side]}" "$name-$side" "$prompts" &
    client[$side]=$!; PIDS+=("${client[$side]}")
  done
  if [ -n "$PERF_RUN" ]; then for side in "${order[@]}"; do start_perf "$name-$side" "${proxy[$side]}"; perf[$side]=$PERF_PID; done; fi
  for side in "${order[@]}"; do wait "${client[$side]}" || rc[$side]=$?; done
  for side in a b; do cpu1[$side]=$(user_sys "${proxy[$side]}"); sim1[$side]=$(cpu_seconds "${sim[$side]}"); io1[$side]=$(counters "${proxy[$side]}"); done
  cl1=$(children_cpu); m1=$(machine_jiffies)
  for side in a b; do [ -z "${perf[$side]:-}" ] || wait "${perf[$side]}" || true; done
  for side in "${order[@]}"; do stop_pid "${proxy[$side]}"; stop_pid "${sim[$side]}"; done
  for side in a b; do
    [ "${rc[$side]}" = 0 ] || { echo "  $name: bench serve $side exited ${rc[$side]}; see $DIR/$name-$side.client.txt"; failed=1; }
  done
  [ $failed = 0 ] || return 0
  python3 - "$DIR" "$name" "$first" "${mode[a]}" "${mode[b]}" "${cpu0[a]}" "${cpu1[a]}" "${cpu0[b]}" "${cpu1[b]}" \
    "${sim0[a]}" "${sim1[a]}" "${sim0[b]}" "${sim1[b]}" "$cl0" "$cl1" "$m0" "$m1" "$t0" "$OUTPUT_LEN" \
    "${io0[a]}" "${io1[a]}" "${io0[b]}" "${io1[b]}" <<'PY'
import json, sys, time
(d, name, first, mode_a, mode_b, pa0, pa1, pb0, pb1, sa0, sa1, sb0, sb1, cl0, cl1, m0, m1, t0, out_len,
 ia0, ia1, ib0, ib1) = sys.argv[1:]
(b0, a0), (b1, a1) = map(int, m0.split()), map(int, m1.split())
def side(s, mode, p0, p1, s0, s1, i0, i1):
    r = json.load(open(f"{d}/{name}-{s}.client.json"))
    events = r["total_output_tokens"] + int(out_len)   # + the untimed test request
    (u0, k0), (u1, k1) = map(float, p0.split()), map(float, p1.split())
    proxy_s = (u1 - u0) + (k1 - k0)
    return {"mode": mode, "completed": r["completed"], "failed": r["failed"], "events": events,
            "proxy_cpu_s": round(proxy_s, 3), "us_per_event": round(1e6 * proxy_s / events, 3),
            "proxy_user_s": round(u1 - u0, 3), "proxy_sys_s": round(k1 - k0, 3),
            "user_us_per_event": round(1e6 * (u1 - u0) / events, 3), "sys_us_per_event": round(1e6 * (k1 - k0) / events, 3),
            "sim_cpu_s": round(float(s1) - float(s0), 3), "output_tok_s": round(r["output_throughput"], 1),
            "mean_tpot_ms": round(r["mean_tpot_ms"], 3), "duration_s": round(r["duration"], 2),
            "reads": int(i1.split()[0]) - int(i0.split()[0]), "writes": int(i1.split()[1]) - int(i0.split()[1]),
            "switches": int(i1.split()[2]) - int(i0.split()[2])}
a, b = side("a", mode_a, pa0, pa1, sa0, sa1, ia0, ia1), side("b", mode_b, pb0, pb1, sb0, sb1, ib0, ib1)
meta = {"name": name, "first": first, "a": a, "b": b, "ratio": round(a["us_per_event"] / b["us_per_event"], 4),
        "ratio_user": round(a["user_us_per_event"] / b["user_us_per_event"], 4),
        "ratio_sys": round(a["sys_us_per_event"] / b["sys_us_per_event"], 4),
        "clients_cpu_s": round(float(cl1) - float(cl0), 3), "wall_s": round(time.time() - float(t0), 2),
        "machine_busy": round((b1 - b0) / max(1, a1 - a0), 3)}
json.dump(meta, open(f"{d}/{name}.meta.json", "w"))
f = lambda x: (f"{x['mode']} {x['us_per_event']:6.2f} µs/event (user {x['user_us_per_event']:.2f} + sys {x['sys_us_per_event']:.2f};"
               f" {x['proxy_cpu_s']:.2f} s / {x['events']}, {x['events'] / max(1, x['reads']):.2f} events/read,"
               f" {x['events'] / max(1, x['switches']):.2f} events/switch, {x['output_tok_s']:.0f} tok/s, failed {x['failed']})")
print(f"  {name:<7} first {first}: {f(a)} | {f(b)} | {mode_a}/{mode_b} {meta['ratio']:.3f} (user {meta['ratio_user']:.3f}, sys {meta['ratio_sys']:.3f})"
      f"  (sims {a['sim_cpu_s'] + b['sim_cpu_s']:.2f} s, clients {meta['clients_cpu_s']:.2f} s, {meta['wall_s']:.1f} s wall,"
      f" machine {100 * meta['machine_busy']:.0f} % busy)")
PY
  sleep 1
}

T0=$SECONDS
if [ "${SUMMARY_ONLY:-0}" != 1 ] && [ "$MODE" = sequential ]; then
  echo "== warm-up (discarded)"
  run_one warmup on $((PROMPTS / 4))
  echo "== $PAIRS pairs, on/off alternating"
  for i in $(seq 1 "$PAIRS"); do
    run_one "on-$i" on
    run_one "off-$i" off
  done
  if [ "$LOG_RUN" = 1 ]; then echo "== telemetry on + access log to a file"; run_one on-log-1 on-log; fi
  if [ "$PERF" = 1 ] && command -v perf > /dev/null; then
    echo "== perf profiles of the proxy (not counted above; perf's own sampling adds CPU)"
    PERF_RUN=1
    for mode in on off; do run_one "perf-$mode" "$mode"; perf_summary "perf-$mode"; done
    PERF_RUN=""
PIN=${PIN:-0}
PROXY_CPUS=${PROXY_CPUS:-$(( $(nproc) - 1 ))}
LOAD_CPUS=${LOAD_CPUS:-0-$(( $(nproc) > 2 ? $(nproc) - 2 : 0 ))}
  fi
elif [ "${SUMMARY_ONLY:-0}" != 1 ]; then
  echo "== warm-up round (discarded)"
  run_side warmup a on off $((PROMPTS / 4))
  echo "== $ROUNDS rounds, a = telemetry on, b = $B_MODE, side by side; first started alternates"
  for i in $(seq 1 "$ROUNDS"); do
    run_side "r$i" "$( ((i % 2)) && echo a || echo b)" on "$B_MODE"
  done
  if [ "$LOG_RUN" = 1 ]; then echo "== a = telemetry on + access log to a file, b = --no-telemetry"; run_side log a on-log off; fi
  if [ "$AA_ROUNDS" -gt 0 ]; then
    echo "== $AA_ROUNDS control rounds: --no-telemetry on both sides"
    for i in $(seq 1 "$AA_ROUNDS"); do run_side "aa$i" "$( ((i % 2)) && echo a || echo b)" off off; done
  fi
  if [ "$PERF" = 1 ] && command -v perf > /dev/null; then
    echo "== perf profiles of both proxies in one more round (not counted above; perf's own sampling adds CPU)"
    PERF_RUN=1; run_side perf a on off; PERF_RUN=""
PIN=${PIN:-0}
PROXY_CPUS=${PROXY_CPUS:-$(( $(nproc) - 1 ))}
LOAD_CPUS=${LOAD_CPUS:-0-$(( $(nproc) > 2 ? $(nproc) - 2 : 0 ))}
    perf_summary perf-a; perf_summary perf-b
  fi
fi
echo "== took $((SECONDS - T0)) s"

python3 - "$DIR" "$PAIRS" "$ROUNDS" <<'PY' | tee "$DIR/summary.md"
import json, os, random, statistics, sys
d, pairs, rounds = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
load = lambda n: json.load(open(f"{d}/{n}.meta.json")) if os.path.exists(f"{d}/{n}.meta.json") else None
def boot_ci(xs, stat=statistics.median, n=10000, seed=1):
    rng = random.Random(seed)
    v = sorted(stat(rng.choices(xs, k=len(xs))) for _ in range(n))
    return v[int(0.025 * n)], v[int(0.975 * n) - 1]
def stats_line(label, xs):
    if not xs: return
    med, (lo, hi) = statistics.median(xs), boot_ci(xs)
    mlo, mhi = boot_ci(xs, statistics.fmean)
    print(f"- {label}: median **{med:.3f}** (bootstrap 95 % CI {lo:.3f}-{hi:.3f}); mean {statistics.fmean(xs):.3f} "
          f"(95 % CI {mlo:.3f}-{mhi:.3f}); min {min(xs):.3f}, max {max(xs):.3f}, sd {statistics.pstdev(xs):.3f}, n {len(xs)}")
share = lambda n: json.load(open(f"{d}/{n}.perf-share.json")) if os.path.exists(f"{d}/{n}.perf-share.json") else None
def perf_lines(names):
    for n, label in names:
        s = share(n)
        if s: print(f"- perf {label}: {s['share_pct']:.2f} % of the proxy's CPU (self) in {s['symbols']} symbols matching `{s['pattern']}`")
g = lambda r, k: r.get(k, float("nan"))   # older meta files have no user/sys split

# Batching: a proxy's CPU per event rises with its wakeups (context switches) per event, which
# differ between identical proxies (how the sims' tokens happen to meet the event loops). A
# least-squares fit over every proxy, µs/event = b0 + b1 * switches/event + b2 * [telemetry on],
# gives on/off at the mean switches/event; its 95 % CI by resampling the groups (rounds).
def fit(pts):
    n = len(pts); xs = [[1.0, p[1], p[2]] for p in pts]; ys = [p[0] for p in pts]
    A = [[sum(x[i] * x[j] for x in xs) for j in range(3)] for i in range(3)]
    v = [sum(x[i] * y for x, y in zip(xs, ys)) for i in range(3)]
    for i in range(3):                      # Gauss-Jordan on the 3x3 normal equations
        piv = A[i][i]
        if abs(piv) < 1e-12: return None
        A[i] = [e / piv for e in A[i]]; v[i] /= piv
        for k in range(3):
            if k != i:
                f = A[k][i]; A[k] = [e - f * h for e, h in zip(A[k], A[i])]; v[k] -= f * v[i]
    base = v[0] + v[1] * sum(p[1] for p in pts) / n
    pred = [v[0] + v[1] * p[1] + v[2] * p[2] for p in pts]
    ss = sum((y - q) ** 2 for y, q in zip(ys, pred)); my = sum(ys) / n; st = sum((y - my) ** 2 for y in ys)
    return (base + v[2]) / base, 1 - ss / st if st else float("nan")
def adjusted(groups):   # groups: lists of per-proxy dicts (mode, events, switches, µs/event)
    for key, label in (("us_per_event", "user+sys"), ("user_us_per_event", "user only")):
        pts = lambda gs: [(x[key], x["switches"] / x["events"], 1.0 if x["mode"] == "on" else 0.0) for grp in gs for x in grp]
        est = fit(pts(groups))
        if not est: continue
        rng, boots = random.Random(1), []
        for _ in range(2000):
            b_ = fit(pts(rng.choices(groups, k=len(groups))))
            if b_: boots.append(b_[0])
        boots.sort()
        print(f"- batching-adjusted on/off, {label} (fit over {sum(map(len, groups))} proxies, R² {est[1]:.2f}): **{est[0]:.3f}**"
              f" (95 % CI {boots[int(0.025 * len(boots))]:.3f}-{boots[int(0.975 * len(boots)) - 1]:.3f})")

# ---- side by side
while os.path.exists(f"{d}/r{rounds + 1}.meta.json"): rounds += 1
side = [r for r in (load(f"r{i}") for i in range(1, rounds + 1)) if r]
extra = [load(n) for n in ["log"] + [f"aa{i}" for i in range(1, 100)] + ["perf"] if os.path.exists(f"{d}/{n}.meta.json")]
if side or extra:
    print("# Proxy CPU per relayed SSE event: telemetry on vs off, side by side\n")
    print("Each round: two stacks at once (own sims, own proxy, own client, same seed); ratio = a/b of proxy CPU µs per event"
          " (user+sys; also user and sys alone).\n")
    print("| round | first | a | a µs/event (user + sys) | b | b µs/event (user + sys) | a/b | a/b user | a/b sys | a, b events/switch | a, b tok/s | sims CPU s | clients CPU s | wall s | machine busy |")
    print("|---|---|---|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    eps = lambda x: f"{x['events'] / x['switches']:.2f}" if x.get("switches") else "n/a"
    for r in side + extra:
        a, b = r["a"], r["b"]
        print(f"| {r['name']} | {r['first']} | {a['mode']} | {a['us_per_event']:.2f} ({g(a, 'user_us_per_event'):.2f} + {g(a, 'sys_us_per_event'):.2f}) | "
              f"{b['mode']} | {b['us_per_event']:.2f} ({g(b, 'user_us_per_event'):.2f} + {g(b, 'sys_us_per_event'):.2f}) | "
              f"{r['ratio']:.3f} | {g(r, 'ratio_user'):.3f} | {g(r, 'ratio_sys'):.3f} | {eps(a)}, {eps(b)} | {a['output_tok_s']:.0f}, {b['output_tok_s']:.0f} | "
              f"{a['sim_cpu_s'] + b['sim_cpu_s']:.2f} | {r['clients_cpu_s']:.2f} | {r['wall_s']:.1f} | {100 * r['machine_busy']:.0f} % |")
    print()
    if side:
        ratios = [r["ratio"] for r in side]
        stats_line("on/off, user+sys", ratios)
        stats_line("on/off, user only", [r["ratio_user"] for r in side if "ratio_user" in r])
        stats_line("on/off, sys only", [r["ratio_sys"] for r in side if "ratio_sys" in r])
        on = [r["a"]["us_per_event"] for r in side]; off = [r["b"]["us_per_event"] for r in side]
        med, (lo, hi) = statistics.median(ratios), boot_ci(ratios)
        print(f"- median on {statistics.median(on):.2f} µs/event, median off {statistics.median(off):.2f} µs/event; "
              f"target median on/off <= 1.05: {'PASS' if med <= 1.05 else 'FAIL'}{' (CI upper bound too)' if hi <= 1.05 else ''}")
        for first in ("a", "b"):
            rs = [r["ratio"] for r in side if r["first"] == first]
            if rs: print(f"- rounds with {first} started first: median {statistics.median(rs):.3f} ({len(rs)} rounds)")
    # Batching: a proxy's CPU per event rises with its wakeups (context switches) per event, which
    # differ between identical proxies run side by side (how the sims' tokens happen to meet the
    # event loops). A least-squares fit over every side of the on/off and control rounds,
    # µs/event = b0 + b1 * switches/event + b2 * [telemetry on], gives on/off at the mean
    # switches/event; its 95 % CI by resampling rounds.
    fitted = [r for r in side + extra if r["name"][:1] == "r" or r["name"].startswith("aa")]
    if side and all("switches" in r["a"] for r in fitted):
        adjusted([[r[s_] for s_ in "ab"] for r in fitted])
    busy = [r for r in side + extra if r["machine_busy"] > 0.5]
    if busy: print("- WARNING: machine over 50 % busy in " + ", ".join(f"{r['name']} ({100 * r['machine_busy']:.0f} %)" for r in busy)
                   + ": another job was running; those rounds measure contention")
    lg = load("log")
    if lg: print(f"- access log to a file (on-log vs off, one round): {lg['ratio']:.3f}; "
                 f"{lg['a']['us_per_event'] - lg['b']['us_per_event']:+.2f} µs/event, "
                 f"{(lg['a']['proxy_cpu_s'] - lg['b']['proxy_cpu_s']) / (lg['a']['completed'] + 1) * 1e6:+.0f} µs per request over off")
    aa = [r for r in extra if r["name"].startswith("aa")]
    if aa:
        print("- control rounds, --no-telemetry on both sides (a/b): " + ", ".join(f"{r['ratio']:.3f}" for r in aa)
              + "; user only " + ", ".join(f"{g(r, 'ratio_user'):.3f}" for r in aa))
        if len(aa) >= 3:
            stats_line("control a/b, user+sys", [r["ratio"] for r in aa])
            stats_line("control a/b, user only", [r["ratio_user"] for r in aa if "ratio_user" in r])
    perf_lines([("perf-a", "telemetry on"), ("perf-b", "--no-telemetry")])
    print()

# ---- sequential
while os.path.exists(f"{d}/on-{pairs + 1}.meta.json") or os.path.exists(f"{d}/off-{pairs + 1}.meta.json"): pairs += 1
if load("on-1") or load("off-1"):
    print("# Proxy CPU per relayed SSE event: telemetry on vs off, sequential runs\n")
    print("| run | telemetry | access log | proxy CPU s | events | µs/event (user + sys) | sim CPU s | client CPU s | wall s | machine busy |")
    print("|---|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    rows = [load(f"{m}-{i}") for i in range(1, pairs + 1) for m in ("on", "off")] + [load("on-log-1")]
    for r in rows:
        if r is None: continue
        tel = "off" if r["mode"] == "off" else "on"
        log = "file" if r["mode"] == "on-log" else "off"
        print(f"| {r['name']} | {tel} | {log} | {r['proxy_cpu_s']:.2f} | {r['events']} | {r['us_per_event']:.2f} "
              f"({g(r, 'user_us_per_event'):.2f} + {g(r, 'sys_us_per_event'):.2f}) | "
              f"{r['sim_cpu_s']:.2f} | {r['client_cpu_s']:.2f} | {r['wall_s']:.1f} | {100 * r['machine_busy']:.0f} % |")
    ratios, uratios, on, off = [], [], [], []
    print("\n| pair | on µs/event | off µs/event | on/off | on/off user |")
    print("|---|---:|---:|---:|---:|")
    for i in range(1, pairs + 1):
        a, b = load(f"on-{i}"), load(f"off-{i}")
        if not a or not b: continue
        on.append(a["us_per_event"]); off.append(b["us_per_event"]); ratios.append(a["us_per_event"] / b["us_per_event"])
        if "user_us_per_event" in a and "user_us_per_event" in b: uratios.append(a["user_us_per_event"] / b["user_us_per_event"])
        print(f"| {i} | {a['us_per_event']:.2f} | {b['us_per_event']:.2f} | {ratios[-1]:.3f} | "
              f"{g(a, 'user_us_per_event') / g(b, 'user_us_per_event'):.3f} |")
    if ratios:
        print()
        stats_line("on/off pair ratios, user+sys", ratios)
        stats_line("on/off pair ratios, user only", uratios)
        med = statistics.median(ratios)
        print(f"- median on {statistics.median(on):.2f} µs/event, median off {statistics.median(off):.2f} µs/event; "
              f"ratio of medians = {statistics.median(on) / statistics.median(off):.3f}; target median on/off <= 1.05: "
              f"{'PASS' if med <= 1.05 else 'FAIL'}")
        prs = [[load(f"on-{i}"), load(f"off-{i}")] for i in range(1, pairs + 1)]
        prs = [p for p in prs if p[0] and p[1] and "switches" in p[0] and "switches" in p[1]]
        if prs: adjusted(prs)
        lg = load("on-log-1")
        if lg:
            print(f"- telemetry on + access log to a file: {lg['us_per_event']:.2f} µs/event = "
                  f"{lg['us_per_event'] / statistics.median(on):.3f} × median on, "
                  f"{lg['us_per_event'] / statistics.median(off):.3f} × median off "
                  f"({lg['completed'] + lg['failed'] + 1} lines; per request that is "
                  f"{(lg['us_per_event'] - statistics.median(on)) * lg['events'] / (lg['completed'] + 1):.1f} µs more than 'on')")
    perf_lines([("perf-on", "telemetry on"), ("perf-off", "--no-telemetry")])
PY
echo "== results in $DIR"
