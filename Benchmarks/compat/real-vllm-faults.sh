#!/usr/bin/env bash
# Reliability against real, unmodified vLLM (0.32 CPU build, tiny model): two vLLM servers
# behind Switchyard, one started with `--api-key`, and Switchyard's admin API on. Checks:
#   1. the client's own Authorization never reaches vLLM: the keyed replica answers because
#      Switchyard sends its configured key, the other one gets no key at all;
#   2. a replica killed in the middle of a stream: the client's stream ends with an OpenAI
#      error event and [DONE] within 1 s of the kill;
#   3. after the kill, every request is answered 200 by the survivor (retried where it met the
#      dead one), and the dead replica leaves rotation;
#   4. slots are exact afterwards (nothing in flight).
# Usage: Benchmarks/compat/real-vllm-faults.sh      Output also saved in Benchmarks/out/.
source "$(dirname "$0")/../lib/common.sh"
OUT="$REPO/Benchmarks/out"; mkdir -p "$OUT"
LOG="$OUT/real-vllm-faults-$(date -u +%Y%m%dT%H%M%SZ).log"
exec > >(tee "$LOG") 2>&1

ensure_real_vllm
BIN=$(switchyard_bin)
PY="$REAL_VLLM_DIR/venv/bin/python"
A=$(free_port); B=$(free_port); P=$(free_port); ADMIN=$(free_port)
KEY="vllm-backend-key-$(date +%s)"
TOKEN="admin-token-$(date +%s)-0123456789"

echo "== $(date -u +%FT%TZ) on $(machine_line)"
TTL=1500 bash "$SHARED/tools/real-vllm/serve.sh" "$A" 0 --enforce-eager --api-key "$KEY" > "$OUT/vllm-fa.log" 2>&1 &
VLLM_A=$!; PIDS+=($VLLM_A)
# Its own process group, so that the kill below takes vLLM and its engine process, not just the
# wrapper.
TTL=1500 setsid bash "$SHARED/tools/real-vllm/serve.sh" "$B" 1 --enforce-eager > "$OUT/vllm-fb.log" 2>&1 &
VLLM_B=$!; PIDS+=($VLLM_B)
wait_http "http://127.0.0.1:$A/health" 300 "$VLLM_A"
wait_http "http://127.0.0.1:$B/health" 300 "$VLLM_B"

CONFIG="$OUT/faults-switchyard.yaml"
cat > "$CONFIG" <<YAML
listen: {host: 127.0.0.1, port: $P}
backends:
  - {name: vllm-a, url: "http://127.0.0.1:$A", api_key_env: FAULTS_VLLM_KEY}
  - {name: vllm-b, url: "http://127.0.0.1:$B"}
discovery: {health_check_interval: 500ms, probe_timeout: 2s}
routing: {policy: round-robin}
admin: {host: 127.0.0.1, port: $ADMIN, token_env: FAULTS_ADMIN_TOKEN}
telemetry: {access_log: off}
YAML
FAULTS_VLLM_KEY=$KEY FAULTS_ADMIN_TOKEN=$TOKEN "$BIN" serve --config "$CONFIG" --log-level notice \
  > "$OUT/switchyard-faults.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$P/health" 30

failures=0
check() {  # check NAME COMMAND...: a failure is counted, never fatal
  local name=$1; shift
  if "$@"; then echo "PASS $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}
chat() {  # chat MAX_TOKENS STREAM: one request with the client's own (wrong) key
  curl -sS -o "$OUT/faults-body.txt" -D "$OUT/faults-head.txt" -w "%{http_code}" \
    -H 'content-type: application/json' -H 'authorization: Bearer client-key-must-not-leak' \
    -d "{\"model\":\"tiny-llama\",\"messages\":[{\"role\":\"user\",\"content\":\"Count.\"}],\"max_tokens\":$1,\"stream\":$2,\"ignore_eos\":true}" \
    "http://127.0.0.1:$P/v1/chat/completions"
}
admin() { curl -sS -H "authorization: Bearer $TOKEN" "$@"; }

echo "== 1. keys: vllm-a demands its key; the client's key is replaced (a) or dropped (b)"
direct=$(curl -sS -o /dev/null -w "%{http_code}" -H 'content-type: application/json' \
  -H 'authorization: Bearer client-key-must-not-leak' \
  -d '{"model":"tiny-llama","messages":[{"role":"user","content":"x"}],"max_tokens":2}' \
  "http://127.0.0.1:$A/v1/chat/completions")
check "vllm-a refuses the client's key directly (401)" test "$direct" = 401
served=""
for i in 1 2 3 4; do
  status=$(chat 4 false)
  backend=$(awk 'tolower($1)=="x-switchyard-backend:" {print $2}' "$OUT/faults-head.txt" | tr -d '\r')
  echo "request $i: $status from $backend"
  [ "$status" = 200 ] || served="failed"
  served="$served $backend"
done
check "both replicas answered 200 through Switchyard" bash -c "[[ '$served' == *vllm-a* && '$served' == *vllm-b* && '$served' != *failed* ]]"

echo "== 2. kill vllm-b in the middle of a stream"
admin -X POST "http://127.0.0.1:$ADMIN/admin/backends/vllm-a/drain" > /dev/null
MARK="$OUT/faults-streaming.mark"; rm -f "$MARK"
"$PY" - "$P" "$OUT/faults-stream.json" "$MARK" <<'PYEOF' &
import json, socket, sys, time
port, out, mark = int(sys.argv[1]), sys.argv[2], sys.argv[3]
body = json.dumps({"model": "tiny-llama", "messages": [{"role": "user", "content": "Count."}],
                   "max_tokens": 1900, "stream": True, "ignore_eos": True})
s = socket.create_connection(("127.0.0.1", port))
s.sendall((f"POST /v1/chat/completions HTTP/1.1\r\nhost: x\r\ncontent-type: application/json\r\n"
           f"content-length: {len(body)}\r\nconnection: close\r\n\r\n{body}").encode())
chunks, seen, marked = [], 0, False
while True:
    chunk = s.recv(65536)
    if not chunk:
        break
    chunks.append(chunk)
    seen += chunk.count(b"data: ")
    if seen >= 5 and not marked:  # streaming: the shell kills the replica now
        open(mark, "w").close()
        marked = True
data = b"".join(chunks)
text = data.decode(errors="replace")
events = [line[6:] for line in text.split("\n") if line.startswith("data: ")]
json.dump({"end": time.time(), "events": len(events), "last": events[-2:],
           "head": text.split("\r\n\r\n")[0]}, open(out, "w"))
PYEOF
CLIENT=$!
for _ in $(seq 1 3000); do [ -e "$MARK" ] && break; sleep 0.01; done
KILLED_AT=$(date +%s.%N)
kill -9 -- "-$VLLM_B"
wait "$CLIENT" || true
cat "$OUT/faults-stream.json"; echo
check "the cut stream ended with an error event and [DONE] within 1 s" "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1])); killed = float(sys.argv[2])
error = json.loads(r["last"][0])["error"]
print("events", r["events"], "ended", round(r["end"] - killed, 3), "s after the kill:", error["message"][:100])
assert r["last"][1].strip() == "[DONE]" and error["type"] == "BadGatewayError" and r["end"] - killed < 1.0
' "$OUT/faults-stream.json" "$KILLED_AT"

echo "== 3. after the kill: the survivor answers everything"
admin -X POST "http://127.0.0.1:$ADMIN/admin/backends/vllm-a/undrain" > /dev/null
statuses=""
for i in $(seq 1 8); do statuses="$statuses $(chat 4 false)"; done
echo "statuses:$statuses"
check "8 requests after the kill all answered 200" bash -c "[[ '$(echo $statuses | tr ' ' '\n' | sort -u | tr '\n' ' ')' == '200 ' ]]"
admin "http://127.0.0.1:$ADMIN/admin/backends" | tee "$OUT/faults-backends-after.json"; echo
check "vllm-b is out of rotation, nothing in flight anywhere" "$PY" -c '
import json, sys
b = {x["name"]: x for x in json.load(open(sys.argv[1]))["backends"]}
assert b["vllm-b"]["status"] in ("unhealthy", "ejected"), b["vllm-b"]
assert all(x["in_flight"] == 0 for x in b.values()), b' "$OUT/faults-backends-after.json"
curl -sS "http://127.0.0.1:$P/metrics" | grep -E '^switchyard_(retries_total|upstream_errors_total)' || true

echo "== $failures failed checks"
exit $(( failures > 0 ))
