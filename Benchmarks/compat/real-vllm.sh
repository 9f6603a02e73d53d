#!/usr/bin/env bash
# Compatibility with real, unmodified vLLM: two vLLM 0.32 CPU servers (tiny random Llama)
# behind Switchyard, then
#   1. unmodified `vllm bench serve --backend openai-chat` through Switchyard (random dataset,
#      64 prompts, concurrency 8) — must report 0 failed requests;
#   2. a streaming chat completion with the `openai` Python client through Switchyard;
#   3. vLLM's own error bodies (unknown model, context overflow) and /tokenize, direct vs
#      through Switchyard;
#   4. both replicas received traffic (their own vllm:request_success_total).
# Self-contained: installs vLLM's CPU build on first use (shared/tools/real-vllm/setup.sh).
# Usage: Benchmarks/compat/real-vllm.sh [NUM_PROMPTS]   Output also saved in Benchmarks/out/.
source "$(dirname "$0")/../lib/common.sh"
NUM_PROMPTS=${1:-64}
OUT="$REPO/Benchmarks/out"; mkdir -p "$OUT"
LOG="$OUT/real-vllm-$(date -u +%Y%m%dT%H%M%SZ).log"
exec > >(tee "$LOG") 2>&1

ensure_real_vllm
BIN=$(switchyard_bin)
VLLM="$REAL_VLLM_DIR/venv/bin/vllm"
PY="$REAL_VLLM_DIR/venv/bin/python"
A=$(free_port); B=$(free_port); P=$(free_port)

echo "== $(date -u +%FT%TZ) on $(machine_line)"
echo "== starting vLLM on :$A (core 0) and :$B (core 1)"
TTL=1500 REAL_VLLM_DIR=$REAL_VLLM_DIR bash "$SHARED/tools/real-vllm/serve.sh" "$A" 0 --enforce-eager > "$OUT/vllm-a.log" 2>&1 &
PIDS+=($!)
TTL=1500 REAL_VLLM_DIR=$REAL_VLLM_DIR bash "$SHARED/tools/real-vllm/serve.sh" "$B" 1 --enforce-eager > "$OUT/vllm-b.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$A/health" 300
wait_http "http://127.0.0.1:$B/health" 300

echo "== starting Switchyard on :$P"
"$BIN" serve --port "$P" --backend "http://127.0.0.1:$A" --backend-name vllm-a \
  --backend "http://127.0.0.1:$B" --backend-name vllm-b --log-level notice > "$OUT/switchyard-compat.log" 2>&1 &
PIDS+=($!)
wait_http "http://127.0.0.1:$P/health" 30

failures=0
check() {  # check NAME COMMAND...: runs COMMAND; a failure is counted, never fatal
  local name=$1; shift
  if "$@"; then echo "PASS $name"; else echo "FAIL $name"; failures=$((failures + 1)); fi
}

echo "== /v1/models through Switchyard"
curl -fsS "http://127.0.0.1:$P/v1/models" | tee "$OUT/models.json"; echo
check "models union keeps id, root, max_model_len" "$PY" -c '
import json, sys
card = json.load(open(sys.argv[1]))["data"][0]
assert card["id"] == "tiny-llama" and card["root"] and card["max_model_len"] == 2048, card' "$OUT/models.json"

echo "== vllm bench serve through Switchyard ($NUM_PROMPTS prompts, concurrency 8)"
"$VLLM" bench serve --backend openai-chat --base-url "http://127.0.0.1:$P" \
  --endpoint /v1/chat/completions --model tiny-llama --tokenizer "$REAL_VLLM_DIR/tiny-llama" \
  --dataset-name random --random-input-len 128 --random-output-len 128 \
  --num-prompts "$NUM_PROMPTS" --max-concurrency 8 --ignore-eos --seed 1 \
  --save-result --result-dir "$OUT" --result-filename bench-through-switchyard.json 2>&1 \
  | grep -vE "it/s\]|Triton"
check "vllm bench serve: every request succeeded" "$PY" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("completed=%d failed=%d" % (r["completed"], r["failed"]))
assert r["failed"] == 0 and r["completed"] == int(sys.argv[2]), r' "$OUT/bench-through-switchyard.json" "$NUM_PROMPTS"

echo "== openai client, streaming, through Switchyard"
cat > "$OUT/openai_stream.py" <<'PY'
import sys
from openai import OpenAI
client = OpenAI(base_url=f"http://127.0.0.1:{sys.argv[1]}/v1", api_key="unused")
stream = client.chat.completions.create(
    model="tiny-llama", messages=[{"role": "user", "content": "Say hello"}],
    max_tokens=16, stream=True, stream_options={"include_usage": True}, extra_body={"ignore_eos": True})
chunks, usage = 0, None
for event in stream:
    if event.choices:
        chunks += 1
    if event.usage:
        usage = event.usage
print(f"content chunks={chunks} usage={usage}")
assert chunks >= 2 and usage is not None and usage.completion_tokens == 16
PY
check "openai client streams through Switchyard with usage" "$PY" "$OUT/openai_stream.py" "$P"

echo "== vLLM's own errors: direct vs through Switchyard"
body_unknown='{"model":"no-such-model","messages":[{"role":"user","content":"hi"}]}'
direct=$(curl -sS "http://127.0.0.1:$A/v1/chat/completions" -H 'content-type: application/json' -d "$body_unknown")
proxied=$(curl -sS "http://127.0.0.1:$P/v1/chat/completions" -H 'content-type: application/json' -d "$body_unknown")
echo "direct:  $direct"; echo "proxied: $proxied"
check "unknown model: Switchyard's own 404 equals vLLM's body" \
  "$PY" -c "import json,sys; a=json.loads(sys.argv[1]); b=json.loads(sys.argv[2]); assert a == b, (a, b)" "$direct" "$proxied"

body_long='{"model":"tiny-llama","messages":[{"role":"user","content":"hi"}],"max_tokens":4000}'
status=$(curl -sS -o "$OUT/overflow.json" -w '%{http_code}' "http://127.0.0.1:$P/v1/chat/completions" -H 'content-type: application/json' -d "$body_long")
echo "context overflow through Switchyard: HTTP $status $(cat "$OUT/overflow.json")"
# Switchyard's admission answers this itself (it knows max_model_len 2048 from /v1/models), in
# vLLM's wording; either way the client gets a 400 that vLLM's clients recognise.
check "context overflow: 400 in vLLM's wording, before any backend" \
  bash -c '[ "$1" = 400 ] && grep -qiE "context length|maximum model length|max_model_len" "$2"' _ "$status" "$OUT/overflow.json"
body_long_ok='{"model":"tiny-llama","messages":[{"role":"user","content":"hi"}],"max_tokens":2000}'
status=$(curl -sS -o "$OUT/borderline.json" -w '%{http_code}' "http://127.0.0.1:$P/v1/chat/completions" -H 'content-type: application/json' -d "$body_long_ok")
echo "near the limit through Switchyard: HTTP $status $(head -c 200 "$OUT/borderline.json")"
check "a request that fits is forwarded, not refused by the estimate" test "$status" = 200
# That request was borderline (within 5 % of 2 048): Switchyard asked a replica's /tokenize with
# the chat body as sent (generation fields included), and real vLLM must have answered.
sy_status=$(curl -sS "http://127.0.0.1:$P/switchyard/status")
echo "switchyard status counters: $("$PY" -c "import json,sys; print(json.loads(sys.argv[1])['counters'])" "$sy_status")"
check "borderline request counted exactly by real vLLM's /tokenize" \
  "$PY" -c "import json,sys; c=json.loads(sys.argv[1])['counters']; assert c['exact_checks']>=1 and c['exact_check_failures']==0, c" "$sy_status"
# The contract says vLLM without --scheduling-policy priority answers 400 to a non-zero
# priority (vLLM 0.32 was measured to accept and ignore it); Switchyard removes the field for
# such backends either way (it honours priority in its own queue).
body_priority='{"model":"tiny-llama","messages":[{"role":"user","content":"hi"}],"max_tokens":4,"priority":3}'
direct_status=$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$A/v1/chat/completions" -H 'content-type: application/json' -d "$body_priority")
status=$(curl -sS -o "$OUT/priority.json" -w '%{http_code}' "http://127.0.0.1:$P/v1/chat/completions" -H 'content-type: application/json' -d "$body_priority")
echo "priority 3: direct HTTP $direct_status, through Switchyard HTTP $status"
check "priority without priority scheduling: removed, and the request runs" test "$status" = 200

tok=$(curl -sS "http://127.0.0.1:$P/tokenize" -H 'content-type: application/json' -d '{"model":"tiny-llama","prompt":"hello world"}')
echo "tokenize through Switchyard: $tok"
check "/tokenize passes through" \
  "$PY" -c "import json,sys; r=json.loads(sys.argv[1]); assert r['count']>0 and r['max_model_len']==2048" "$tok"

echo "== usage rewrite: a stream without stream_options, direct vs through Switchyard"
# Switchyard asks for include_usage on the client's behalf and strips the usage event again:
# the client must receive vLLM's own stream (greedy decoding, so the tokens match too).
body_stream='{"model":"tiny-llama","messages":[{"role":"user","content":"Count to five"}],"max_tokens":8,"temperature":0,"ignore_eos":true,"stream":true}'
curl -sSN "http://127.0.0.1:$A/v1/chat/completions" -H 'content-type: application/json' -d "$body_stream" > "$OUT/stream-direct.txt"
curl -sSN "http://127.0.0.1:$P/v1/chat/completions" -H 'content-type: application/json' -d "$body_stream" > "$OUT/stream-proxied.txt"
check "the client sees vLLM's stream (but system_fingerprint), no usage event" "$PY" -c '
import re, sys
def events(path):
    text = open(path).read()
    text = re.sub(r"\"id\":\"[^\"]*\"", "\"id\":\"x\"", text)
    text = re.sub(r"\"created\":\d+", "\"created\":0", text)
    return [e for e in text.split("\n\n") if e]
direct, proxied = events(sys.argv[1]), events(sys.argv[2])
print(f"direct {len(direct)} events, proxied {len(proxied)} events")
assert not any("\"usage\"" in e for e in proxied), "usage leaked to the client"
# Known difference (README, Telemetry): vLLM 0.32 stamps system_fingerprint on the terminal
# chunk only without include_usage (with it, on the usage chunk the rewrite removes).
fingerprint = re.compile(r",\"system_fingerprint\":\"[^\"]*\"")
differing = [i for i, (a, b) in enumerate(zip(direct, proxied)) if a != b]
only = all(fingerprint.sub("", direct[i]) == proxied[i] for i in differing)
print(f"events differing: {differing}; only by system_fingerprint: {only}")
assert [fingerprint.sub("", e) for e in direct] == proxied, (direct, proxied)' "$OUT/stream-direct.txt" "$OUT/stream-proxied.txt"
stats=$(curl -sS "http://127.0.0.1:$P/stats?format=json")
check "Switchyard counted that stream's tokens from usage it asked for" "$PY" -c '
import json, sys
s = json.loads(sys.argv[1])
print({k: s[k] for k in ("completed", "failed", "total_output_tokens", "output_tokens_estimated_requests")})
assert s["completed"] >= 1 and s["output_tokens_estimated_requests"] == 0, s' "$stats"

echo "== traffic per replica (their own vllm:request_success_total)"
for port in "$A" "$B"; do
  n=$(curl -sS "http://127.0.0.1:$port/metrics" | awk '/^vllm:request_success_total/ {s += $NF} END {print s + 0}')
  echo "replica :$port served $n requests"
  check "replica :$port received traffic" test "${n%.*}" -gt 0
done

echo "== $failures failed checks"
exit $(( failures > 0 ))
