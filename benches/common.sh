# Shared by benches/streams.sh and benches/tail.sh (sourced, not run): building the release
# binaries, starting the stand-in and the proxy on 127.0.0.1, reading /proc, cleaning up.
#
# Environment: CARGO_TARGET_DIR; NO_BUILD=1 uses the binaries as they are; PROXY_BIN,
# STAND_IN_BIN and LOAD_BIN point at other builds (default: the release ones).

ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
TARGET_DIR="${CARGO_TARGET_DIR:-$ROOT/target}"
PROXY_BIN="${PROXY_BIN:-$TARGET_DIR/release/llm-tower}"
STAND_IN_BIN="${STAND_IN_BIN:-$TARGET_DIR/release/examples/stand_in}"
LOAD_BIN="${LOAD_BIN:-$TARGET_DIR/release/examples/stream_load}"
MASTER_KEY="sk-bench-1234"
STAND_IN_KEY="stand-in-key"
BENCH="$(basename "$0")"

command -v python3 >/dev/null || { echo "$BENCH: python3 not found" >&2; exit 1; }

WORK="$(mktemp -d)"
PIDS=()
cleanup() {
    local pid
    for pid in "${PIDS[@]}"; do
        if kill -0 "$pid" 2>/dev/null; then
            kill "$pid" 2>/dev/null || true
            wait "$pid" 2>/dev/null || true
        fi
    done
    rm -rf "$WORK"
}
trap cleanup EXIT

build() {
    [[ -n "${NO_BUILD:-}" ]] && return
    (cd "$ROOT" && cargo build --release --bin llm-tower --example stand_in --example stream_load) >&2
}

# How busy the machine was over one second, in percent (other processes skew every number).
busy_pct() {
    python3 - <<'PY'
import time
def sample():
    fields = [int(x) for x in open("/proc/stat").readline().split()[1:]]
    return sum(fields), fields[3] + fields[4]  # total, idle + iowait
t0, i0 = sample(); time.sleep(1); t1, i1 = sample()
print(round(100 * (1 - (i1 - i0) / max(t1 - t0, 1))))
PY
}

free_port() {
    python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'
}

wait_http() { # URL: waits up to WAIT_S (default 10) seconds for any HTTP answer
    python3 - "$1" "${WAIT_S:-10}" <<'PY'
import sys, time, urllib.error, urllib.request
deadline = time.monotonic() + float(sys.argv[2])
while True:
    try:
        urllib.request.urlopen(sys.argv[1], timeout=1).read()
        break
    except urllib.error.HTTPError:
        break
    except OSError:
        if time.monotonic() > deadline:
            sys.exit("no answer from " + sys.argv[1])
        time.sleep(0.02)
PY
}

# start_stand_in [PREFIX...] -- [STAND-IN ARGS...]: sets STAND_IN_PID and STAND_IN_URL.
# PREFIX is a command such as `taskset -c 1`.
start_stand_in() {
    local prefix=()
    while [[ $# -gt 0 && "$1" != "--" ]]; do prefix+=("$1"); shift; done
    shift
    STAND_IN_KEY="$STAND_IN_KEY" "${prefix[@]}" "$STAND_IN_BIN" --port 0 "$@" >"$WORK/stand_in.out" 2>&1 &
    STAND_IN_PID=$!
    PIDS+=("$STAND_IN_PID")
    for _ in $(seq 1 100); do
        grep -q '^listening on ' "$WORK/stand_in.out" 2>/dev/null && break
        sleep 0.05
    done
    STAND_IN_URL="$(sed -n 's/^listening on //p' "$WORK/stand_in.out" | head -n 1)"
    [[ -n "$STAND_IN_URL" ]] || { echo "$BENCH: the stand-in did not start" >&2; cat "$WORK/stand_in.out" >&2; exit 1; }
}

# write_config: $WORK/config.yaml, `gemini-flash` (one deployment) and `gemini-trio` (a
# group of three) -> the stand-in.
write_config() {
    cat >"$WORK/config.yaml" <<YAML
model_list:
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: $STAND_IN_KEY
      api_base: $STAND_IN_URL/v1beta
      max_parallel_requests: 100000   # the benches measure the proxy, not this bound
$(for region in eu us asia; do cat <<ENTRY
  - model_name: gemini-trio       # a model group of three deployments: the router's cost
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: $STAND_IN_KEY
      api_base: $STAND_IN_URL/v1beta
      max_parallel_requests: 100000
    model_info: {id: flash-$region}
ENTRY
done)
general_settings:
  master_key: $MASTER_KEY
YAML
}

# start_proxy [PREFIX...] -- [PROXY ARGS...]: the proxy with write_config's models; sets
# PROXY_PID and PROXY_URL. WAIT_S (default 10) bounds the wait for its first answer.
start_proxy() {
    local prefix=() port
    while [[ $# -gt 0 && "$1" != "--" ]]; do prefix+=("$1"); shift; done
    shift
    write_config
    port="$(free_port)"
    PROXY_URL="http://127.0.0.1:$port"
    RUST_LOG=warn "${prefix[@]}" "$PROXY_BIN" --config "$WORK/config.yaml" --host 127.0.0.1 --port "$port" \
        "$@" >"$WORK/proxy.log" 2>&1 &
    PROXY_PID=$!
    PIDS+=("$PROXY_PID")
    wait_http "$PROXY_URL/health/liveliness"
}

# start_forwarder [PREFIX...]: nginx as a bare reverse proxy of the stand-in (one worker,
# HTTP/1.1 with upstream keep-alive, no buffering, no logs): the floor for any gateway.
# FORWARDER_CONNECTIONS (default 16,384) bounds its connections and descriptors.
# Sets FORWARDER_PID (the worker's) and FORWARDER_URL.
start_forwarder() {
    local port dir="$WORK/nginx"
    command -v nginx >/dev/null || { echo "$BENCH: nginx not found (apt-get install nginx-light)" >&2; exit 1; }
    port="$(free_port)"
    mkdir -p "$dir"
    cat >"$dir/nginx.conf" <<NGINX
worker_processes 1;
worker_rlimit_nofile ${FORWARDER_CONNECTIONS:-16384};
daemon off;
pid $dir/nginx.pid;
error_log $dir/error.log warn;
events { worker_connections ${FORWARDER_CONNECTIONS:-16384}; }
http {
    access_log off;
    client_body_temp_path $dir/body;
    proxy_temp_path $dir/proxy;
    fastcgi_temp_path $dir/fastcgi;
    uwsgi_temp_path $dir/uwsgi;
    scgi_temp_path $dir/scgi;
    upstream stand_in {
        server ${STAND_IN_URL#http://};
        keepalive 64;
    }
    server {
        listen 127.0.0.1:$port;
        location / {
            proxy_pass http://stand_in;
            proxy_http_version 1.1;
            proxy_set_header Connection "";
            proxy_buffering off;
        }
    }
}
NGINX
    "$@" nginx -p "$dir" -c "$dir/nginx.conf" >"$dir/stdout.log" 2>&1 &
    PIDS+=("$!")
    FORWARDER_URL="http://127.0.0.1:$port"
    wait_http "$FORWARDER_URL/"
    FORWARDER_PID="$(pgrep -P "$(cat "$dir/nginx.pid")" | head -n 1)"
}

# The same chat two ways: to the stand-in in Gemini's protocol, and to the proxy in OpenAI's.
DIRECT_BODY='{"contents":[{"role":"user","parts":[{"text":"hi"}]}]}'
DIRECT_HEADER="x-goog-api-key: $STAND_IN_KEY"
CHAT_BODY='{"model":"gemini-flash","messages":[{"role":"user","content":"hi"}]}'
STREAM_BODY='{"model":"gemini-flash","messages":[{"role":"user","content":"hi"}],"stream":true}'
GROUP_BODY='{"model":"gemini-trio","messages":[{"role":"user","content":"hi"}]}'
CHAT_HEADER="Authorization: Bearer $MASTER_KEY"
direct_url() { echo "$STAND_IN_URL/v1beta/models/gemini-2.5-flash:generateContent"; }
DIRECT_STREAM_PATH='/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse'
direct_stream_url() { echo "$STAND_IN_URL$DIRECT_STREAM_PATH"; }
chat_url() { echo "$PROXY_URL/v1/chat/completions"; }
