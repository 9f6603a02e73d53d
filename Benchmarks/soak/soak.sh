#!/usr/bin/env bash
# Soak: one `switchyard serve` in front of 4 `switchyard sim` replicas (separate processes,
# fixed timing: TTFT 50 ms, ITL 10 ms) for SOAK_MINUTES, while
#   - SOAK_IDLE idle client connections are held open the whole time (no byte sent; any that
#     closes is reopened and counted);
#   - SOAK_WORKERS (32) workers keep 50 % of the fleet's 64 slots busy (4 backends ×
#     max_concurrent 16) with streamed chat completions (include_usage, max_tokens 8..128),
#     10 % of them cancelled by the client mid-stream;
#   - every 20-40 s a random sim gets a random fault for 10-20 s (refuse_connections,
#     error_status 503/500, stall_first_token_ms 4000, close_after_events 5, health_status 503,
#     slow_factor 3), never more than 2 sims at once;
#   - every 10 s: the proxy's RSS and open fds, idle connections open, requests by class,
#     /switchyard/status (queue, per-backend status and in_flight).
# At the end the load and faults stop, faults are cleared, and after up to 30 s of quiet
# /switchyard/status must show no slot, reserved token or queue entry left (leak check).
# The driver is soak.py (Python stdlib, asyncio); its header defines the request classes.
#
# Proxy config (generated, checked with `switchyard check-config`): limits.idle_timeout 45m (idle
# connections are not reaped during the run), upstream.first_token_timeout 2s,
# upstream.stream_idle_timeout 5s, discovery.health_check_interval 1s, telemetry.access_log off;
# retries and outlier detection at their defaults.
#
# Open files: RLIMIT_NOFILE is per process. The proxy holds one fd per idle client connection
# (+ listeners, upstream pool, probes) and soak.py one per idle connection (+ workers), so each
# needs about SOAK_IDLE + 2 048; the machine as a whole more than 2 × SOAK_IDLE (> 20 000 at the
# default). The script raises `ulimit -n` as far as the hard limit allows and stops with an error
# if that is below what one process needs.
#
# Everything binds 127.0.0.1 on free ports and is stopped by PID. The binary is copied first, so a
# concurrent rebuild of .build/release cannot swap it mid-run.
# Outputs in Benchmarks/out/soak-<UTC timestamp>/ (git-ignored) or $OUT: run.log (everything
# printed), samples.csv, faults.jsonl, broken.jsonl, summary.json, summary.txt, status-final.json,
# metrics-final.txt, sims-final.json, proxy.yaml, proxy.log (its stderr/stdout), sim-N.log.
# Exit status: 0 pass; 1 a broken request or a leaked slot; 2 setup failure.
#
# Environment (defaults in brackets):
#   SOAK_MINUTES [30]   SOAK_IDLE [10000]   SOAK_WORKERS [32]   SOAK_CANCEL_PROB [0.10]
#   SOAK_FAULT_EVERY [20,40] and SOAK_FAULT_HOLD [10,20] (seconds, LO,HI)   SOAK_MAX_FAULTED [2]
#   SOAK_FAULT_KINDS [all]: comma-separated fault keys to draw from, e.g. refuse_connections,close_after_events
#   SOAK_SIM_ARGS ["--timing fixed --ttft-ms 50 --itl-ms 10"]   SOAK_SEED [1]
#   SOAK_LOG_LEVEL [info]   SWITCHYARD_BIN [.build/release/switchyard via switchyard_bin]   OUT
#   SOAK_STATS_RETENTION [unset: the default 1h]: telemetry.stats_retention, e.g. 1m for a control
#     run. /stats keeps one cell per backend per 10 s slot for the retention period, so with the
#     default the proxy's RSS is expected to grow during the first hour of any run.
#
# Usage: Benchmarks/soak/soak.sh
#   trial:  SOAK_MINUTES=2 SOAK_IDLE=1000 Benchmarks/soak/soak.sh
#   full:   nohup Benchmarks/soak/soak.sh > /tmp/soak.out 2>&1 &     (30 min + ~1 min setup)
source "$(dirname "$0")/../lib/common.sh"
HERE=$(cd "$(dirname "$0")" && pwd)

SOAK_MINUTES=${SOAK_MINUTES:-30}
SOAK_IDLE=${SOAK_IDLE:-10000}
SOAK_WORKERS=${SOAK_WORKERS:-32}
SOAK_CANCEL_PROB=${SOAK_CANCEL_PROB:-0.10}
SOAK_FAULT_EVERY=${SOAK_FAULT_EVERY:-20,40}
SOAK_FAULT_HOLD=${SOAK_FAULT_HOLD:-10,20}
SOAK_MAX_FAULTED=${SOAK_MAX_FAULTED:-2}
SOAK_FAULT_KINDS=${SOAK_FAULT_KINDS:-}
SOAK_SIM_ARGS=${SOAK_SIM_ARGS:---timing fixed --ttft-ms 50 --itl-ms 10}
SOAK_SEED=${SOAK_SEED:-1}
SOAK_LOG_LEVEL=${SOAK_LOG_LEVEL:-info}
SOAK_STATS_RETENTION=${SOAK_STATS_RETENTION:-}
SIMS=4
MAX_CONCURRENT=16

OUT=${OUT:-$REPO/Benchmarks/out/soak-$(date -u +%Y%m%dT%H%M%SZ)}
mkdir -p "$OUT"
exec > >(tee -a "$OUT/run.log") 2>&1

# ---- open files: each of the proxy and soak.py holds SOAK_IDLE sockets
NEED=$((SOAK_IDLE + 2048))
ulimit -n 65536 2>/dev/null || ulimit -n "$(ulimit -Hn)" 2>/dev/null || true
LIMIT=$(ulimit -n)
FILE_MAX=$(cat /proc/sys/fs/file-max)
echo "== open-file limit per process: $LIMIT (hard $(ulimit -Hn)); needed per process: $NEED;" \
     "machine-wide: > $((2 * SOAK_IDLE)) of fs.file-max $FILE_MAX"
if [ "$LIMIT" != unlimited ] && [ "$LIMIT" -lt "$NEED" ]; then
  echo "ERROR: cannot raise the open-file limit to $NEED (hard limit $(ulimit -Hn)); lower SOAK_IDLE or raise the hard limit" >&2
  exit 2
fi
if [ "$FILE_MAX" -lt $((2 * SOAK_IDLE + 10000)) ]; then
  echo "ERROR: fs.file-max $FILE_MAX is too small for 2 × $SOAK_IDLE sockets" >&2; exit 2
fi

copy_bin   # sets SRC_BIN, BIN (a private copy)
echo "== $(date -u +%FT%TZ) on $(machine_line)"
echo "== binary $SRC_BIN (sha256 $(sha256sum "$BIN" | cut -c1-16), built $(date -u -r "$SRC_BIN" +%FT%TZ))"
write_params "$OUT/params.txt" SOAK_MINUTES SOAK_IDLE SOAK_WORKERS SOAK_CANCEL_PROB SOAK_FAULT_EVERY \
  SOAK_FAULT_HOLD SOAK_MAX_FAULTED SOAK_FAULT_KINDS SOAK_SIM_ARGS SOAK_SEED SOAK_LOG_LEVEL SOAK_STATS_RETENTION

# ---- 4 sims, one process each
SIM_ARGS=()
read -r -a SIM_EXTRA <<<"$SOAK_SIM_ARGS"
for i in $(seq 0 $((SIMS - 1))); do
  p=$(free_port)
  "$BIN" sim --port "$p" "${SIM_EXTRA[@]}" > "$OUT/sim-$i.log" 2>&1 &
  pid=$!; PIDS+=("$pid")
  wait_http "http://127.0.0.1:$p/health" 30 "$pid" || { cat "$OUT/sim-$i.log"; exit 2; }
  SIM_PORTS[i]=$p; SIM_PIDS[i]=$pid
  SIM_ARGS+=(--sim "sim$i=http://127.0.0.1:$p")
  echo "== sim$i on 127.0.0.1:$p (pid $pid): sim --port $p $SOAK_SIM_ARGS"
done

# ---- the proxy's config
PORT=$(free_port)
CONFIG="$OUT/proxy.yaml"
{
  echo "listen:"
  echo "  host: 127.0.0.1"
  echo "  port: $PORT"
  echo "backends:"
  for i in $(seq 0 $((SIMS - 1))); do
    echo "  - name: sim$i"
    echo "    url: http://127.0.0.1:${SIM_PORTS[i]}"
    echo "    max_concurrent: $MAX_CONCURRENT"
  done
  echo "limits:"
  echo "  idle_timeout: 45m"
  echo "upstream:"
  echo "  first_token_timeout: 2s"
  echo "  stream_idle_timeout: 5s"
  echo "discovery:"
  echo "  health_check_interval: 1s"
  echo "telemetry:"
  echo "  access_log: \"off\""
  [ -z "$SOAK_STATS_RETENTION" ] || echo "  stats_retention: $SOAK_STATS_RETENTION"
  echo "log_level: $SOAK_LOG_LEVEL"
} > "$CONFIG"
echo "== config $CONFIG:"; sed 's/^/   /' "$CONFIG"
if ! "$BIN" check-config "$CONFIG" > "$OUT/check-config.txt" 2>&1; then
  echo "ERROR: check-config rejected $CONFIG:"; cat "$OUT/check-config.txt"; exit 2
fi
echo "== check-config OK (effective config in $OUT/check-config.txt)"

"$BIN" serve --config "$CONFIG" > "$OUT/proxy.log" 2>&1 &
PROXY_PID=$!; PIDS+=("$PROXY_PID")
wait_http "http://127.0.0.1:$PORT/health" 30 "$PROXY_PID" || { cat "$OUT/proxy.log"; exit 2; }
wait_http "http://127.0.0.1:$PORT/v1/models" 30 "$PROXY_PID" || { cat "$OUT/proxy.log"; exit 2; }
for _ in $(seq 1 30); do   # every backend in rotation before the run starts
  healthy=$(curl -fsS "http://127.0.0.1:$PORT/switchyard/status" | python3 -c \
    'import json,sys; print(sum(b["status"]=="healthy" for b in json.load(sys.stdin)["backends"]))' || echo 0)
  [ "$healthy" = "$SIMS" ] && break
  sleep 1
done
[ "$healthy" = "$SIMS" ] || { echo "ERROR: only $healthy of $SIMS backends healthy"; exit 2; }
echo "== proxy on 127.0.0.1:$PORT (pid $PROXY_PID), limit $(awk '/Max open files/ {print $4}' /proc/$PROXY_PID/limits) fds;" \
     "$SIMS backends healthy"

# ---- the soak
M0=$(machine_jiffies); T0=$SECONDS
rc=0
python3 "$HERE/soak.py" --proxy "http://127.0.0.1:$PORT" --proxy-pid "$PROXY_PID" "${SIM_ARGS[@]}" \
  --out "$OUT" --minutes "$SOAK_MINUTES" --idle "$SOAK_IDLE" --workers "$SOAK_WORKERS" \
  --cancel-prob "$SOAK_CANCEL_PROB" --fault-every "$SOAK_FAULT_EVERY" --fault-hold "$SOAK_FAULT_HOLD" \
  --max-faulted "$SOAK_MAX_FAULTED" --fault-kinds "$SOAK_FAULT_KINDS" --seed "$SOAK_SEED" || rc=$?
M1=$(machine_jiffies)
echo "== soak.py exit $rc after $((SECONDS - T0)) s; machine $(busy_pct "$M0" "$M1") % busy over the run (all processes)"

# ---- the proxy's own log, and a graceful stop
if kill -0 "$PROXY_PID" 2>/dev/null; then
  t=$SECONDS; stop_pid "$PROXY_PID"; echo "== proxy stopped (SIGTERM) in $((SECONDS - t)) s"
else
  echo "== PROXY DIED during the run; tail of $OUT/proxy.log:"; tail -30 "$OUT/proxy.log"; rc=1
fi
echo "== proxy.log: $(wc -l < "$OUT/proxy.log") lines; by level: $(awk '{print $2}' "$OUT/proxy.log" | sort | uniq -c | awk '{printf "%s %s; ", $2, $1}')"
echo "== proxy.log warning/error/critical messages (ids and times removed), most frequent first:"
awk '$2 == "warning" || $2 == "error" || $2 == "critical"' "$OUT/proxy.log" | cut -d' ' -f2- \
  | sed -E 's/request=[0-9a-f]+/request=<id>/g' | sort | uniq -c | sort -rn | head -20 | cut -c1-220 | sed 's/^/   /' || true
for i in $(seq 0 $((SIMS - 1))); do stop_pid "${SIM_PIDS[i]}"; done
echo "== results in $OUT"
exit $rc
