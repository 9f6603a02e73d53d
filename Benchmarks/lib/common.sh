# Shared helpers for the benchmark scripts. Source it; it sets `set -euo pipefail`.
# Every server started here binds 127.0.0.1, is recorded in PIDS and killed by PID on exit.
set -euo pipefail
REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)
SHARED=${SHARED:-$(cd "$REPO/../shared" 2>/dev/null && pwd || true)}
REAL_VLLM_DIR=${REAL_VLLM_DIR:-$HOME/.cache/real-vllm}
PIDS=()

cleanup() {
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill "$pid" 2>/dev/null || true
  done
  sleep 0.5
  for pid in "${PIDS[@]:-}"; do
    [ -n "$pid" ] && kill -9 "$pid" 2>/dev/null || true
  done
}
trap cleanup EXIT INT TERM

# A TCP port that was free a moment ago.
free_port() {
  python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

# wait_http URL SECONDS [PID]: until the URL answers 200 (with PID: fails at once if PID exits).
wait_http() {
  local url=$1 limit=${2:-60} pid=${3:-} start=$SECONDS
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then echo "process $pid exited while waiting for $url" >&2; return 1; fi
    if (( SECONDS - start > limit )); then echo "timeout waiting for $url" >&2; return 1; fi
    sleep 0.5
  done
}

# stop_pid PID: SIGTERM, then SIGKILL after 10 s; reaps it.
stop_pid() {
  local pid=$1 i
  [ -n "$pid" ] || return 0
  kill "$pid" 2>/dev/null || return 0
  for i in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
  kill -9 "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
}

# The release binary, built if missing or older than the sources.
switchyard_bin() {
  local bin="$REPO/.build/release/switchyard"
  if [ ! -x "$bin" ] || [ -n "$(find "$REPO/Sources" "$REPO/Package.swift" -newer "$bin" -print -quit)" ]; then
    (cd "$REPO" && swift build -c release --product switchyard >&2)
  fi
  echo "$bin"
}

# CPU seconds (user+system) a process has used so far.
cpu_seconds() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($14 + $15) / hz }' "/proc/$1/stat"
}

# CPU seconds of this shell's reaped children; across `wait PID` of a child that is the child's.
children_cpu() {
  awk -v hz="$(getconf CLK_TCK)" '{ printf "%.3f\n", ($16 + $17) / hz }' "/proc/$$/stat"
}

# "busy total" jiffies of the whole machine (all cores), to tell how loaded a run was.
machine_jiffies() {
  awk '/^cpu / { busy = $2 + $3 + $4 + $7 + $8 + $9; print busy, busy + $5 + $6 }' /proc/stat
}

# busy_pct "BUSY0 TOTAL0" "BUSY1 TOTAL1": the machine's busy % between two machine_jiffies.
busy_pct() {
  # shellcheck disable=SC2086  # each argument is two numbers on purpose
  python3 -c 'import sys; b0,t0,b1,t1=map(int,sys.argv[1:]); print(round(100*(b1-b0)/max(1,t1-t0)))' $1 $2
}

# wait_quiet: before a run, wait (up to QUIET_MAX_WAIT [900] s) until the machine, without our
# runs, is less than QUIET_BUSY_PCT [25] % busy over 3 s (someone else's build or test run on
# the cores would skew timings and CPU figures); proceeds with a warning after that.
wait_quiet() {
  local start=$SECONDS m0 m1 busy warned=0
  while :; do
    m0=$(machine_jiffies); sleep 3; m1=$(machine_jiffies)
    busy=$(busy_pct "$m0" "$m1")
    (( busy < ${QUIET_BUSY_PCT:-25} )) && return 0
    if (( SECONDS - start > ${QUIET_MAX_WAIT:-900} )); then echo "  WARNING: machine still ${busy} % busy; running anyway"; return 0; fi
    [ $warned = 1 ] || { echo "  machine ${busy} % busy (another job?); waiting for it to settle"; warned=1; }
  done
}

# start_sim LOG N ARGS...: `$BIN sim --port 0 --replicas N ARGS...` in the background, output to
# LOG; waits for its N replica URLs and their /health. Sets SIM_PID and SIM_URLS.
start_sim() {
  local log=$1 n=$2 i u; shift 2
  "$BIN" sim --port 0 --replicas "$n" "$@" > "$log" 2>&1 &
  SIM_PID=$!; PIDS+=("$SIM_PID")
  for i in $(seq 1 100); do
    [ "$(grep -c '^sim replica: http' "$log" 2>/dev/null || true)" -ge "$n" ] 2>/dev/null && break
    kill -0 "$SIM_PID" 2>/dev/null || { echo "sim exited: $(cat "$log")" >&2; return 1; }
    sleep 0.1
  done
  mapfile -t SIM_URLS < <(grep -o '^sim replica: http://[0-9.:]*' "$log" | awk '{print $3}')
  [ "${#SIM_URLS[@]}" -eq "$n" ] || { echo "expected $n replicas in $log: $(cat "$log")" >&2; return 1; }
  for u in "${SIM_URLS[@]}"; do wait_http "$u/health" 30 "$SIM_PID" || return 1; done
}

# start_proxy LOG PORT ARGS...: `$BIN serve --port PORT ARGS...` in the background, the command
# line and then its output in LOG; waits for /health and /v1/models, then 1 s more (Switchyard's
# /health is 200 once one backend passes its probe: the others' first probes). Sets PROXY_PID.
start_proxy() {
  local log=$1 port=$2; shift 2
  echo "\$ switchyard serve --port $port $*" > "$log"
  "$BIN" serve --port "$port" "$@" >> "$log" 2>&1 &
  PROXY_PID=$!; PIDS+=("$PROXY_PID")
  wait_http "http://127.0.0.1:$port/health" 30 "$PROXY_PID" || return 1
  wait_http "http://127.0.0.1:$port/v1/models" 30 "$PROXY_PID" || return 1
  sleep 1
}

# copy_bin: the binary under test, copied into a temporary folder (removed on exit) so that a
# concurrent rebuild of .build/release cannot swap it mid-run. Sets SRC_BIN and BIN. With
# SUMMARY_ONLY=1 nothing runs: BIN is just the name. REQUIRE_FLAG: a `serve --help` word the
# binary must know.
copy_bin() {
  if [ "${SUMMARY_ONLY:-0}" = 1 ]; then
    SRC_BIN=${SWITCHYARD_BIN:-$REPO/.build/release/switchyard}; BIN=$SRC_BIN
    return 0
  fi
  SRC_BIN=${SWITCHYARD_BIN:-$(switchyard_bin)}
  if [ -n "${REQUIRE_FLAG:-}" ] && ! grep -q -- "$REQUIRE_FLAG" <<<"$("$SRC_BIN" serve --help 2>&1)"; then
    echo "$SRC_BIN has no serve $REQUIRE_FLAG; rebuild it" >&2; exit 1
  fi
  BINDIR=$(mktemp -d); BIN="$BINDIR/switchyard"; cp "$SRC_BIN" "$BIN"
  trap 'cleanup; rm -rf "$BINDIR"' EXIT INT TERM
}

# write_params FILE VAR...: machine, binary and the named variables, one KEY=VALUE a line.
write_params() {
  local f=$1 v; shift
  {
    echo "machine=$(machine_line)"
    echo "binary=$SRC_BIN sha256=$(sha256sum "$BIN" | cut -d' ' -f1)"
    for v in "$@"; do echo "$v=${!v}"; done
  } > "$f"
}

# The real vLLM CPU build and `vllm bench serve` (installs once, ~3 minutes, ~3.5 GB).
ensure_real_vllm() {
  if [ ! -x "$REAL_VLLM_DIR/venv/bin/vllm" ] || [ ! -f "$REAL_VLLM_DIR/tiny-llama/model.safetensors" ]; then
    [ -n "$SHARED" ] || { echo "shared/tools/real-vllm not found beside the repository" >&2; return 1; }
    bash "$SHARED/tools/real-vllm/setup.sh" "$REAL_VLLM_DIR" >&2
  fi
}

machine_line() {
  echo "$(nproc) cores, $(awk '/MemTotal/ {printf "%.0f GiB", $2/1048576}' /proc/meminfo), $(uname -sr), $(swift --version 2>/dev/null | head -1)"
}
