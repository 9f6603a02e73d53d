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

# wait_http URL SECONDS: until the URL answers 200.
wait_http() {
  local url=$1 limit=${2:-60} start=$SECONDS
  until curl -fsS -o /dev/null "$url" 2>/dev/null; do
    if (( SECONDS - start > limit )); then echo "timeout waiting for $url" >&2; return 1; fi
    sleep 0.5
  done
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
