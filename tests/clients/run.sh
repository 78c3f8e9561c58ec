#!/usr/bin/env bash
# Runs tests/clients/test_clients.py and test_anthropic.py: the official `openai`,
# `openai-agents`, `google-genai` and `anthropic` SDKs against the release proxy, which talks
# to the Gemini stand-in (examples/stand_in.rs).
#
#   PYTHON=/path/to/venv/bin/python tests/clients/run.sh [extra pytest args]
#
# PYTHON must have openai, openai-agents, google-genai, anthropic and pytest (default: python3). Exits
# with pytest's status. Both servers listen on 127.0.0.1 only and are stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
WORK="$(mktemp -d)"
STAND_IN_PID=""
PROXY_PID=""

cleanup() {
    local pid
    for pid in "$PROXY_PID" "$STAND_IN_PID"; do
        if [[ -n "$pid" ]] && kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

fail() {
    echo "run.sh: $*" >&2
    for log in "$WORK"/*.log; do
        [[ -s "$log" ]] && { echo "--- $log" >&2; tail -n 30 "$log" >&2; }
    done
    exit 1
}

(cd "$ROOT" && cargo build --release --bin llm-tower --example stand_in)

export STAND_IN_KEY=stand-in-key
export GEMINI_API_KEY=stand-in-key

# The stand-in picks its own port and prints it first.
"$TARGET_DIR/release/examples/stand_in" --port 0 >"$WORK/stand_in.out" 2>"$WORK/stand_in.log" &
STAND_IN_PID=$!
for _ in $(seq 1 100); do
    grep -q '^listening on ' "$WORK/stand_in.out" 2>/dev/null && break
    kill -0 "$STAND_IN_PID" 2>/dev/null || fail "the stand-in exited"
    sleep 0.05
done
STAND_IN_URL="$(sed -n 's/^listening on //p' "$WORK/stand_in.out" | head -n 1)"
[[ -n "$STAND_IN_URL" ]] || fail "the stand-in did not report its port"

cat >"$WORK/config.yaml" <<YAML
model_list:
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: os.environ/GEMINI_API_KEY
      api_base: $STAND_IN_URL/v1beta
  - model_name: "gemini/*"
    litellm_params:
      model: "gemini/*"
      api_key: os.environ/GEMINI_API_KEY
      api_base: $STAND_IN_URL/v1beta
general_settings:
  master_key: sk-test-1234
YAML

PROXY_PORT="$("$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')"
"$TARGET_DIR/release/llm-tower" --config "$WORK/config.yaml" --host 127.0.0.1 --port "$PROXY_PORT" \
    >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
export PROXY_URL="http://127.0.0.1:$PROXY_PORT"

"$PYTHON" - "$PROXY_URL/health/liveliness" <<'PY' || fail "the proxy did not answer /health/liveliness"
import sys, time, urllib.request
deadline = time.monotonic() + 10
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1).read()
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit(1)
        time.sleep(0.05)
PY

status=0
(cd "$ROOT" && "$PYTHON" -m pytest -q tests/clients/test_clients.py tests/clients/test_anthropic.py "$@") || status=$?
if [[ $status -ne 0 ]]; then
    echo "--- proxy log (last 30 lines)" >&2
    tail -n 30 "$WORK/proxy.log" >&2 || true
fi
exit $status
