#!/usr/bin/env bash
# Runs the real clients against the release proxy, which talks to the Gemini stand-in
# (examples/stand_in.rs): tests/clients/test_clients.py and test_anthropic.py (the official
# `openai`, `openai-agents`, `google-genai` and `anthropic` Python SDKs; test_keys.py, the
# `openai` SDK with a virtual key; test_batches.py, its files and batches calls), then
# tests/clients/vercel/ (the Vercel AI SDK, `ai` + `@ai-sdk/openai`, under `node --test`).
#
#   PYTHON=/path/to/venv/bin/python tests/clients/run.sh [extra pytest args]
#
# PYTHON must have openai, openai-agents, google-genai, anthropic and pytest (default: python3).
# Node 20 or newer and npm must be on PATH: the pinned packages of tests/clients/vercel/
# (package-lock.json) are installed with `npm ci` into CI_NODE_MODULES (default
# target/ci-node), again only when the lock file changed. CLIENT_TESTS (default
# "python node") picks the suites; CLIENTS_PROFILE=debug uses debug builds. Exits non-zero if
# a suite fails or the Node suite ran no test. Both servers listen on 127.0.0.1 only and are
# stopped on exit.
set -euo pipefail

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
PYTHON="${PYTHON:-python3}"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PROFILE="${CLIENTS_PROFILE:-release}"
CLIENT_TESTS="${CLIENT_TESTS:-python node}"
NODE_DIR="${CI_NODE_MODULES:-$TARGET_DIR/ci-node}"
WORK="$(mktemp -d)"
STAND_IN_PID=""
PROXY_PID=""
DEMO_PID=""

cleanup() {
    local pid
    for pid in "$DEMO_PID" "$PROXY_PID" "$STAND_IN_PID"; do
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

case "$PROFILE" in
release) (cd "$ROOT" && cargo build --release --bin llm-tower --example stand_in) ;;
debug) (cd "$ROOT" && cargo build --bin llm-tower --example stand_in) ;;
*) fail "CLIENTS_PROFILE must be release or debug, not $PROFILE" ;;
esac

export STAND_IN_KEY=stand-in-key
export GEMINI_API_KEY=stand-in-key

# The stand-in picks its own port and prints it first.
"$TARGET_DIR/$PROFILE/examples/stand_in" --port 0 >"$WORK/stand_in.out" 2>"$WORK/stand_in.log" &
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
  database_path: $WORK/keys.db
YAML

free_port() {
    "$PYTHON" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

# Waits until $1 answers, or fails naming $2.
wait_for() {
    "$PYTHON" - "$1" <<'PY' || fail "$2 did not answer $1"
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
}

PROXY_PORT="$(free_port)"
"$TARGET_DIR/$PROFILE/llm-tower" --config "$WORK/config.yaml" --host 127.0.0.1 --port "$PROXY_PORT" \
    >"$WORK/proxy.log" 2>&1 &
PROXY_PID=$!
export PROXY_URL="http://127.0.0.1:$PROXY_PORT"
wait_for "$PROXY_URL/health/liveliness" "the proxy"

status=0
if [[ " $CLIENT_TESTS " == *" python "* ]]; then
    (cd "$ROOT" && "$PYTHON" -m pytest -q tests/clients/test_clients.py tests/clients/test_anthropic.py \
        tests/clients/test_keys.py tests/clients/test_batches.py "$@") ||
        status=$?
fi

if [[ " $CLIENT_TESTS " == *" node "* ]]; then
    command -v node >/dev/null && command -v npm >/dev/null || fail "node and npm are needed for tests/clients/vercel/"
    mkdir -p "$NODE_DIR"
    # `npm ci` again only when the pinned versions changed.
    if ! cmp -s "$ROOT/tests/clients/vercel/package-lock.json" "$NODE_DIR/package-lock.json" ||
        [[ ! -d "$NODE_DIR/node_modules" ]]; then
        cp "$ROOT/tests/clients/vercel/package.json" "$ROOT/tests/clients/vercel/package-lock.json" "$NODE_DIR/"
        (cd "$NODE_DIR" && npm ci --no-audit --no-fund --loglevel=error) || fail "npm ci failed"
    fi
    # The demo proxy: its stand-in answers from the request (the key variable is unset).
    cat >"$WORK/demo.yaml" <<YAML
model_list:
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-3-flash-preview
      api_key: os.environ/GEMINI_API_KEY_OF_NOBODY
general_settings:
  master_key: sk-test-1234
YAML
    DEMO_PORT="$(free_port)"
    "$TARGET_DIR/$PROFILE/llm-tower" --demo --config "$WORK/demo.yaml" --port "$DEMO_PORT" \
        >"$WORK/demo.log" 2>&1 &
    DEMO_PID=$!
    export DEMO_PROXY_URL="http://127.0.0.1:$DEMO_PORT"
    wait_for "$DEMO_PROXY_URL/health/liveliness" "the demo proxy"
    # The test runs beside its node_modules, so that its imports resolve there.
    cp "$ROOT/tests/clients/vercel/vercel_ai.test.mjs" "$NODE_DIR/"
    node_status=0
    FIXTURES_DIR="$ROOT/tests/fixtures/gemini" node --test --test-reporter=tap \
        "$NODE_DIR/vercel_ai.test.mjs" >"$WORK/node.tap" 2>&1 || node_status=$?
    grep -E '^ *(not )?ok|^# (pass|fail)' "$WORK/node.tap" || true
    passed="$(sed -n 's/^# pass \([0-9]*\)$/\1/p' "$WORK/node.tap")"
    if [[ $node_status -ne 0 ]]; then
        cat "$WORK/node.tap" >&2
        status=$node_status
    elif [[ -z "$passed" || "$passed" -eq 0 ]]; then
        cat "$WORK/node.tap" >&2
        echo "run.sh: the Vercel AI SDK tests did not run" >&2
        status=1
    else
        echo "vercel ai sdk: $passed passed"
    fi
fi

if [[ $status -ne 0 ]]; then
    for log in "$WORK/proxy.log" "$WORK/demo.log"; do
        [[ -s "$log" ]] && { echo "--- $log (last 30 lines)" >&2; tail -n 30 "$log" >&2; }
    done
fi
exit $status
