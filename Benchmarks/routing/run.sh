#!/usr/bin/env bash
# Routing policies side by side in one run: Switchyard's policies and vllm-router's, each a fresh
# front in front of the same four simulated GLM-4.5V replicas (`switchyard sim --timing engine`,
# the fourth at half speed), driven by `switchyard bench serve --dataset-name
# visionarena-synthetic` with Poisson arrivals and one seed, so every front sees the same
# requests at the same times.
#
#   1. Capacity, unless CAPACITY is given: an open-loop run well above capacity
#      (CAPACITY_RATE) through Switchyard's least-loaded routing. Once every replica has a
#      waiting queue and has since completed as many requests as it was then running (its first,
#      synchronised batch has turned over), the replicas' completion counters are read
#      CAPACITY_WINDOW seconds apart: capacity = completed requests/s in that window. The load
#      generator is then stopped. (Completed ÷ duration of a whole saturation run is biased low
#      by the ramp and by the half-speed replica's drain, by how much depends on the run's shape.)
#   2. For each load in LOADS (fractions of capacity) and each front: fresh replicas, a fresh
#      front, one bench run with RUN_SECONDS of arrivals. The replicas are restarted for every
#      run, so no run inherits another's queues or KV. Switchyard and vllm-router runs alternate.
#   3. summarise.py prints one markdown table per load: TTFT mean/P99, TPOT mean, goodput,
#      completed, failed, throughput, the share of requests the half-speed replica served, and
#      each Switchyard policy ÷ the best vllm-router policy (P99 TTFT, goodput); then CPU use.
#
# Time scale. The client, the front and the four replicas share the machine's cores, and each
# request carries about 1.15 MB of base64 image: about 23 ms of CPU per request in all. At the
# fleet's real-time capacity (~70 req/s) that is more than 2 cores can give: in a real-time
# saturation run on 2 cores (with another 1-core job running), completions fell to ~28/s while
# requests arrived and rose to 70-100/s once arrivals stopped, and the replicas' /health answers
# took over 2 s (Switchyard then marked every backend unhealthy: 4 × 503). Such a run measures
# CPU, not routing. So the replicas run SIM_TIME_SCALE times slower than real time (default 2;
# the engine model is unchanged, only its clock), offered rates are divided by it and the SLOs
# multiplied by it, and the summary converts every figure back to engine time (latencies
# ÷ scale, rates × scale).
# At scale 2 the busiest run keeps the machine about 25 % busy. Use SIM_TIME_SCALE=1 on a
# machine with 8+ free cores, 3-4 on a busy one; "machine busy" in the summary tells.
#
# Everything binds 127.0.0.1 on free ports and is stopped by PID. Outputs go to
# Benchmarks/out/routing-<timestamp>/: per run NAME.json (the bench result, wall clock),
# NAME.txt, NAME.meta.json, NAME.replicas.json (/sim/state of each replica), logs; summary.md.
#
# Environment (defaults in brackets):
#   SWITCHYARD_BIN       binary for replicas, load generator and the Switchyard front
#                        [.build/release/switchyard, built with `swift build -c release` if missing]
#   SWITCHYARD_POLICIES  [round-robin least-requests least-tokens p2c session-affinity]; each is
#                        passed as `--routing-policy NAME`; NAME:N also passes `--max-concurrent N`
#                        (per backend; more requests wait in Switchyard's queue, bound late).
#                        "default" runs `serve` without the
#                        flag (the binary's built-in routing). Empty: no Switchyard fronts.
#   ROUTER_POLICIES      vllm-router --policy values [round_robin power_of_two cache_aware];
#                        empty: no vllm-router fronts.
#   LOADS                fractions of capacity [0.6 0.9 1.1]
#   CAPACITY             engine req/s; skips the capacity run when set
#   CAPACITY_POLICY      Switchyard policy of the capacity run [least-requests; default (no flag)
#                        when the binary has no --routing-policy]
#   CAPACITY_RATE        offered rate of the capacity run, engine req/s [100; must exceed capacity]
#   CAPACITY_WINDOW      wall seconds between the two counter reads [30]
#   CAPACITY_MAX_WAIT    wall seconds to wait for saturation and turnover [240]
#   RUN_SECONDS          wall seconds of arrivals per run; prompts = wall rate × RUN_SECONDS [45]
#   NUM_PROMPTS          fixed prompt count per run (overrides RUN_SECONDS)
#   MIN_PROMPTS          floor on the prompt count [50]
#   SIM_TIME_SCALE       replicas run this many times slower than real time [2]
#   SEED [0]  BURSTINESS [1.0]  SLO_TTFT_MS [2000]  SLO_TPOT_MS [100]   (engine time)
#   REPLICA_SPEEDS [1,1,1,0.5]  SIM_SEED [0]
#   VLLM_ROUTER_VENV [$HOME/.cache/vllm-router/venv]  VLLM_ROUTER_VERSION [0.1.17]
#   PAUSE_SECONDS        idle time between runs, after the previous run's processes exit [2]
#
# Usage: Benchmarks/routing/run.sh
#   e.g. LOADS="0.9" ROUTER_POLICIES="power_of_two" SWITCHYARD_POLICIES="p2c" Benchmarks/routing/run.sh
source "$(dirname "$0")/../lib/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

SWITCHYARD_POLICIES=${SWITCHYARD_POLICIES-round-robin least-requests least-tokens p2c session-affinity}
ROUTER_POLICIES=${ROUTER_POLICIES-round_robin power_of_two cache_aware}
LOADS=${LOADS-0.6 0.9 1.1}
CAPACITY=${CAPACITY:-}
CAPACITY_RATE=${CAPACITY_RATE:-100}
CAPACITY_WINDOW=${CAPACITY_WINDOW:-30}
CAPACITY_MAX_WAIT=${CAPACITY_MAX_WAIT:-240}
RUN_SECONDS=${RUN_SECONDS:-45}
NUM_PROMPTS=${NUM_PROMPTS:-}
MIN_PROMPTS=${MIN_PROMPTS:-50}
SIM_TIME_SCALE=${SIM_TIME_SCALE:-2}
SEED=${SEED:-0}
BURSTINESS=${BURSTINESS:-1.0}
SLO_TTFT_MS=${SLO_TTFT_MS:-2000}
SLO_TPOT_MS=${SLO_TPOT_MS:-100}
REPLICA_SPEEDS=${REPLICA_SPEEDS:-1,1,1,0.5}
SIM_SEED=${SIM_SEED:-0}
VLLM_ROUTER_VENV=${VLLM_ROUTER_VENV:-$HOME/.cache/vllm-router/venv}
VLLM_ROUTER_VERSION=${VLLM_ROUTER_VERSION:-0.1.17}
PAUSE_SECONDS=${PAUSE_SECONDS:-2}
MODEL=glm-4.5v
REPLICAS=$(awk -F, '{print NF}' <<<"$REPLICA_SPEEDS")
calc() { python3 -c "import math; print($1)"; }
# The SLOs in wall-clock ms, as bench serve measures them.
GOODPUT_WALL="ttft:$(calc "round($SLO_TTFT_MS * $SIM_TIME_SCALE, 3)") tpot:$(calc "round($SLO_TPOT_MS * $SIM_TIME_SCALE, 3)")"

OUT="$REPO/Benchmarks/out/routing-$(date -u +%Y%m%dT%H%M%SZ)"; mkdir -p "$OUT"
exec > >(tee "$OUT/run.log") 2>&1

# The binary: SWITCHYARD_BIN, built only when missing (a newer build is the caller's business).
BIN=${SWITCHYARD_BIN:-$REPO/.build/release/switchyard}
if [ ! -x "$BIN" ]; then
  (cd "$REPO" && swift build -c release --product switchyard >&2)
  BIN="$REPO/.build/release/switchyard"
fi
BIN=$(cd "$(dirname "$BIN")" && pwd)/$(basename "$BIN")

# vllm-router from PyPI, in its own venv.
ensure_vllm_router() {
  if [ ! -x "$VLLM_ROUTER_VENV/bin/vllm-router" ]; then
    echo "== installing vllm-router==$VLLM_ROUTER_VERSION into $VLLM_ROUTER_VENV"
    python3 -m venv "$VLLM_ROUTER_VENV"
    "$VLLM_ROUTER_VENV/bin/pip" install -q "vllm-router==$VLLM_ROUTER_VERSION"
  fi
}
if [ -n "$ROUTER_POLICIES" ]; then ensure_vllm_router; fi
# A binary without --routing-policy would fail every Switchyard run: say so at once.
HAS_POLICY_FLAG=0
case $("$BIN" serve --help 2>&1 || true) in *--routing-policy*) HAS_POLICY_FLAG=1 ;; esac
if [ $HAS_POLICY_FLAG = 0 ] && [ -n "$SWITCHYARD_POLICIES" ] && [ "$SWITCHYARD_POLICIES" != default ]; then
  echo "$BIN has no \`serve --routing-policy\`; use a newer build, or SWITCHYARD_POLICIES=default for its built-in routing" >&2
  exit 2
fi
if [ $HAS_POLICY_FLAG = 1 ]; then CAPACITY_POLICY=${CAPACITY_POLICY:-least-requests}; else CAPACITY_POLICY=${CAPACITY_POLICY:-default}; fi
ulimit -n 65536 2>/dev/null || ulimit -n 4096

echo "== $(date -u +%FT%TZ) on $(machine_line)"
echo "== binary $BIN ($(stat -c %y "$BIN" | cut -d. -f1))"
[ -z "$ROUTER_POLICIES" ] || echo "== vllm-router $("$VLLM_ROUTER_VENV/bin/pip" show vllm-router 2>/dev/null | awk '/^Version/ {print $2}')"
echo "== $REPLICAS replicas, speeds $REPLICA_SPEEDS, engine timing, time scale $SIM_TIME_SCALE (rates and latencies below are engine time)"
echo "== visionarena-synthetic, Poisson (burstiness $BURSTINESS), seed $SEED, SLO TTFT $SLO_TTFT_MS ms, TPOT $SLO_TPOT_MS ms (bench: --goodput $GOODPUT_WALL)"
echo "== switchyard policies: ${SWITCHYARD_POLICIES:-none}; vllm-router policies: ${ROUTER_POLICIES:-none}; loads: ${LOADS:-none}"
{
  echo "binary=$BIN"; echo "replica_speeds=$REPLICA_SPEEDS"; echo "sim_time_scale=$SIM_TIME_SCALE"
  echo "seed=$SEED"; echo "burstiness=$BURSTINESS"; echo "slo=TTFT $SLO_TTFT_MS ms, TPOT $SLO_TPOT_MS ms"
  echo "machine=$(machine_line)"
} > "$OUT/params.txt"

SIM_PID=""; FRONT_PID=""; BENCH_PID=""; SIM_URLS=()

# (children_cpu, machine_jiffies, stop_pid, start_sim: Benchmarks/lib/common.sh)

start_sims() {  # start_sims NAME: fresh replicas on free ports; fills SIM_URLS
  start_sim "$OUT/$1.sim.log" "$REPLICAS" --replica-speed "$REPLICA_SPEEDS" --timing engine \
    --time-scale "$SIM_TIME_SCALE" --seed "$SIM_SEED" --served-model-name "$MODEL"
}

start_front() {  # start_front KIND POLICY NAME PORT
  local kind=$1 policy=$2 name=$3 port=$4 args=() u i
  case $kind in
    switchyard)
      i=0
      for u in "${SIM_URLS[@]}"; do i=$((i + 1)); args+=(--backend "$u" --backend-name "r$i"); done
      # POLICY[:N] runs the policy with --max-concurrent N per backend (late binding beyond N).
      case $policy in
        *:*) args+=(--routing-policy "${policy%%:*}" --max-concurrent "${policy##*:}") ;;
        default) ;;
        *) args+=(--routing-policy "$policy") ;;
      esac
      echo "\$ switchyard serve --host 127.0.0.1 --port $port ${args[*]} --log-level warning" > "$OUT/$name.front.log"
      "$BIN" serve --host 127.0.0.1 --port "$port" "${args[@]}" --log-level warning >> "$OUT/$name.front.log" 2>&1 &
      ;;
    vllm-router)
      args=(--host 127.0.0.1 --port "$port" --worker-urls "${SIM_URLS[@]}" --policy "$policy"
            --prometheus-host 127.0.0.1 --prometheus-port "$(free_port)" --log-level warning)
      echo "\$ vllm-router ${args[*]}" > "$OUT/$name.front.log"
      "$VLLM_ROUTER_VENV/bin/vllm-router" "${args[@]}" >> "$OUT/$name.front.log" 2>&1 &
      ;;
  esac
  FRONT_PID=$!; PIDS+=("$FRONT_PID")
  wait_front "http://127.0.0.1:$port/health" 60 || return 1
  wait_front "http://127.0.0.1:$port/v1/models" 30 || return 1
  # Switchyard's /health is 200 once one backend passes its probe: give the others' first
  # probes a moment, so no run starts with part of the fleet unknown.
  sleep 1
}

wait_front() {  # wait_front URL SECONDS: until the URL answers 200, while the front is alive
  local url=$1 limit=$2 start=$SECONDS
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    kill -0 "$FRONT_PID" 2>/dev/null || { echo "front exited" >&2; return 1; }
    if (( SECONDS - start > limit )); then echo "timeout waiting for $url" >&2; return 1; fi
    sleep 0.3
  done
}

replica_state() {  # each replica's /sim/state, as one JSON object
  local u first=1
  printf '{"replicas": ['
  for u in "${SIM_URLS[@]}"; do
    [ $first = 1 ] || printf ','; first=0
    printf '{"url": "%s", "state": %s}' "$u" "$(curl -fsS -m 5 "$u/sim/state" 2>/dev/null || echo null)"
  done
  printf '], "speeds": "%s", "t": %s}\n' "$REPLICA_SPEEDS" "$(date +%s.%N)"
}

bench() {  # bench PORT WALL_RATE PROMPTS NAME [extra flags]: bench serve in the background; BENCH_PID
  local port=$1 rate=$2 prompts=$3 name=$4; shift 4
  # shellcheck disable=SC2086  # GOODPUT_WALL is two words on purpose
  "$BIN" bench serve --base-url "http://127.0.0.1:$port" --model "$MODEL" \
    --dataset-name visionarena-synthetic --num-prompts "$prompts" --request-rate "$rate" \
    --burstiness "$BURSTINESS" --seed "$SEED" --goodput $GOODPUT_WALL \
    --percentile-metrics ttft,tpot,itl,e2el --metric-percentiles 50,99 --disable-tqdm \
    --save-result --result-dir "$OUT" --result-filename "$name.json" "$@" > "$OUT/$name.txt" 2>&1 &
  BENCH_PID=$!; PIDS+=("$BENCH_PID")
}

teardown() {
  stop_pid "$BENCH_PID"; BENCH_PID=""
  stop_pid "$FRONT_PID"; FRONT_PID=""
  stop_pid "$SIM_PID"; SIM_PID=""
}

prompts_for() {  # prompts_for WALL_RATE
  if [ -n "$NUM_PROMPTS" ]; then echo "$NUM_PROMPTS"; return; fi
  calc "max($MIN_PROMPTS, math.ceil($1 * $RUN_SECONDS))"
}

# run_one NAME KIND POLICY ENGINE_RATE PROMPTS: fresh replicas + fresh front, one bench run, teardown.
run_one() {
  local name=$1 kind=$2 policy=$3 rate=$4 prompts=$5 wall_rate port start cpu0 cpu1 sim0 sim1 mach0 mach1 client0 client1 ok=1 rc=0
  wall_rate=$(calc "round($rate / $SIM_TIME_SCALE, 4)")
  start=$SECONDS
  start_sims "$name" || ok=0
  port=$(free_port)
  if [ $ok = 1 ] && ! start_front "$kind" "$policy" "$name" "$port"; then
    echo "  $name: front did not come up; see $OUT/$name.front.log:"; tail -3 "$OUT/$name.front.log" | sed 's/^/    /'; ok=0
    python3 -c 'import json, sys; json.dump({"name": sys.argv[2], "front": sys.argv[3], "policy": sys.argv[4], "rate": float(sys.argv[5]), "prompts": int(sys.argv[6]), "time_scale": float(sys.argv[7]), "error": "front did not come up"}, open(sys.argv[1], "w"))' \
      "$OUT/$name.meta.json" "$name" "$kind" "$policy" "$rate" "$prompts" "$SIM_TIME_SCALE"
  fi
  if [ $ok = 1 ]; then
    cpu0=$(cpu_seconds "$FRONT_PID"); sim0=$(cpu_seconds "$SIM_PID"); mach0=$(machine_jiffies)
    bench "$port" "$wall_rate" "$prompts" "$name"
    client0=$(children_cpu)
    wait "$BENCH_PID" || rc=$?
    client1=$(children_cpu)
    BENCH_PID=""
    [ $rc = 0 ] || { echo "  $name: bench serve exited with status $rc; see $OUT/$name.txt"; ok=0; }
    cpu1=$(cpu_seconds "$FRONT_PID" 2>/dev/null || echo "$cpu0"); sim1=$(cpu_seconds "$SIM_PID" 2>/dev/null || echo "$sim0")
    mach1=$(machine_jiffies)
    replica_state > "$OUT/$name.replicas.json"
    python3 - "$OUT/$name.meta.json" "$name" "$kind" "$policy" "$rate" "$wall_rate" "$prompts" "$cpu0" "$cpu1" \
      "$sim0" "$sim1" "$mach0" "$mach1" "$client0" "$client1" "$SIM_TIME_SCALE" <<'PY'
import json, sys
path, name, kind, policy, rate, wall_rate, prompts, cpu0, cpu1, sim0, sim1, mach0, mach1, client0, client1, scale = sys.argv[1:]
(b0, t0), (b1, t1) = map(int, mach0.split()), map(int, mach1.split())
client = round(float(client1) - float(client0), 3)
json.dump({"name": name, "front": kind, "policy": policy, "rate": float(rate), "wall_rate": float(wall_rate),
           "prompts": int(prompts), "time_scale": float(scale),
           "front_cpu_s": round(float(cpu1) - float(cpu0), 3), "sim_cpu_s": round(float(sim1) - float(sim0), 3),
           "client_cpu_s": client, "machine_busy": round((b1 - b0) / max(1, t1 - t0), 3)}, open(path, "w"))
PY
  fi
  teardown
  if [ $ok = 1 ] && [ -f "$OUT/$name.json" ]; then
    python3 - "$OUT/$name.json" "$name" $((SECONDS - start)) "$SIM_TIME_SCALE" <<'PY'
import json, sys
r = json.load(open(sys.argv[1])); s = float(sys.argv[4])
lat = lambda k: "n/a" if r.get(k) is None else f"{r[k] / s:.1f}"
rate = lambda k: "n/a" if r.get(k) is None else f"{r[k] * s:.2f}"
print(f"  {sys.argv[2]}: completed {r['completed']}, failed {r['failed']}, {rate('request_throughput')} req/s, "
      f"goodput {rate('request_goodput')} req/s, TTFT mean {lat('mean_ttft_ms')} / p99 {lat('p99_ttft_ms')} ms, "
      f"TPOT mean {lat('mean_tpot_ms')} ms  [{sys.argv[3]} s]")
PY
  fi
  sleep "$PAUSE_SECONDS"
}

# measure_capacity: saturate the fleet through the least-loaded front and read the replicas'
# completion counters. The window starts once every replica has had a waiting queue and has
# since completed as many requests as it was running then (its first, synchronised batch has
# turned over; the half-speed replica takes longest), and lasts CAPACITY_WINDOW seconds.
measure_capacity() {
  local name=capacity port wall_rate prompts t0 phase=wait sat=0 queued turned running mach0 mach1
  wall_rate=$(calc "round($CAPACITY_RATE / $SIM_TIME_SCALE, 4)")
  prompts=$(calc "math.ceil($wall_rate * ($CAPACITY_MAX_WAIT + $CAPACITY_WINDOW + 30))")
  echo "== capacity: offered $CAPACITY_RATE req/s through switchyard ($CAPACITY_POLICY)"
  start_sims "$name"
  port=$(free_port)
  start_front switchyard "$CAPACITY_POLICY" "$name" "$port" || { echo "capacity front did not come up" >&2; return 1; }
  bench "$port" "$wall_rate" "$prompts" "$name"
  t0=$SECONDS
  while (( SECONDS - t0 < CAPACITY_MAX_WAIT )) && [ $phase != measured ]; do
    kill -0 "$BENCH_PID" 2>/dev/null || break
    sleep 1
    replica_state > "$OUT/$name.poll.json"
    # prints: all_queued turned_over running_sum, with the first saturated poll in capacity.sat.json
    read -r queued turned running < <(python3 -c '
import json, os, sys
d = json.load(open(sys.argv[1])); st = [r["state"] or {} for r in d["replicas"]]
turned = 0
if os.path.exists(sys.argv[2]):
    s0 = [r["state"] for r in json.load(open(sys.argv[2]))["replicas"]]
    turned = int(all(s.get("generations_completed", 0) - a["generations_completed"] >= a["running"] for s, a in zip(st, s0)))
print(int(all(s.get("waiting", 0) > 0 for s in st)), turned, sum(s.get("running", 0) for s in st))' \
      "$OUT/$name.poll.json" "$OUT/$name.sat.json") || true
    case $phase in
      wait)
        if [ "$queued" = 1 ]; then sat=$((sat + 1)); else sat=0; fi
        if [ $sat -ge 3 ]; then
          phase=turnover; cp "$OUT/$name.poll.json" "$OUT/$name.sat.json"
          echo "  every replica queued after $((SECONDS - t0)) s ($running running); waiting until each has completed as many"
        fi ;;
      turnover)
        if [ "$turned" = 1 ]; then
          phase=measured
          echo "  turned over after $((SECONDS - t0)) s; measuring for $CAPACITY_WINDOW s"
          cp "$OUT/$name.poll.json" "$OUT/$name.start.json"; mach0=$(machine_jiffies)
          sleep "$CAPACITY_WINDOW"
          replica_state > "$OUT/$name.end.json"; mach1=$(machine_jiffies)
        fi ;;
    esac
  done
  teardown
  [ $phase = measured ] || { echo "no steady saturation within $CAPACITY_MAX_WAIT s at $CAPACITY_RATE req/s (phase $phase); raise CAPACITY_RATE or CAPACITY_MAX_WAIT, or give CAPACITY" >&2; return 1; }
  python3 - "$OUT" "$SIM_TIME_SCALE" "$CAPACITY_RATE" "$CAPACITY_POLICY" "$mach0" "$mach1" <<'PY'
import json, sys
out, scale, offered, policy = sys.argv[1], float(sys.argv[2]), float(sys.argv[3]), sys.argv[4]
(b0, t0), (b1, t1) = map(int, sys.argv[5].split()), map(int, sys.argv[6].split())
busy = (b1 - b0) / max(1, t1 - t0)
a, b = (json.load(open(f"{out}/capacity.{k}.json")) for k in ("start", "end"))
dt = b["t"] - a["t"]
per = [(rb["state"]["generations_completed"] - ra["state"]["generations_completed"]) / dt * scale
       for ra, rb in zip(a["replicas"], b["replicas"])]
total = sum(per)
json.dump({"capacity": round(total, 2), "per_replica": [round(x, 2) for x in per], "window_s": round(dt, 2),
           "offered": offered, "policy": policy, "time_scale": scale, "machine_busy": round(busy, 3),
           "waiting_at_end": [r["state"]["waiting"] for r in b["replicas"]],
           "running_at_end": [r["state"]["running"] for r in b["replicas"]]},
          open(f"{out}/capacity.result.json", "w"), indent=1)
print(f"  completed {total:.2f} req/s (per replica {', '.join(f'{x:.2f}' for x in per)}); at the end running "
      f"{[r['state']['running'] for r in b['replicas']]}, waiting {[r['state']['waiting'] for r in b['replicas']]}; "
      f"machine {100 * busy:.0f} % busy")
if busy > 0.85:
    print("  WARNING: the machine was CPU-bound during the capacity window; raise SIM_TIME_SCALE or give CAPACITY")
PY
  CAPACITY=$(python3 -c "import json,sys; print(json.load(open(sys.argv[1]))['capacity'])" "$OUT/capacity.result.json")
  sleep "$PAUSE_SECONDS"
}

T0=$SECONDS
if [ -z "$CAPACITY" ]; then measure_capacity; fi
echo "== capacity $CAPACITY req/s"
echo "capacity=$CAPACITY" >> "$OUT/params.txt"

# The matrix. Within a load level the fronts alternate Switchyard / vllm-router, so slow drift
# of a shared machine does not land on one side only.
for load in $LOADS; do
  rate=$(calc "round($load * $CAPACITY, 2)")
  prompts=$(prompts_for "$(calc "$rate / $SIM_TIME_SCALE")")
  echo "== load $load × capacity = $rate req/s, $prompts prompts"
  read -r -a sy <<<"$SWITCHYARD_POLICIES"; read -r -a vr <<<"$ROUTER_POLICIES"
  n=$(( ${#sy[@]} > ${#vr[@]} ? ${#sy[@]} : ${#vr[@]} ))
  for i in $(seq 0 $((n - 1))); do
    if [ "$i" -lt "${#sy[@]}" ]; then run_one "load$load-switchyard-${sy[$i]}" switchyard "${sy[$i]}" "$rate" "$prompts"; fi
    if [ "$i" -lt "${#vr[@]}" ]; then run_one "load$load-vllm-router-${vr[$i]}" vllm-router "${vr[$i]}" "$rate" "$prompts"; fi
  done
done
echo "== took $((SECONDS - T0)) s"

python3 "$HERE/summarise.py" "$OUT" | tee "$OUT/summary.md"
echo "== results in $OUT"
