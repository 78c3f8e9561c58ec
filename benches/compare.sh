#!/usr/bin/env bash
# Two builds of the proxy side by side in one run, so that a regression shows before it
# lands: BASE_BIN (the previous release) and PROXY_BIN (this tree), with default settings,
# against the same stand-in. Rounds are interleaved (base, head, base, head, ...) so that
# the machine's drift touches both alike; each round is oha at CONNECTIONS connections for
# DURATION seconds, for chat to one deployment, chat to a model group of three deployments,
# and streamed chat. Reports the median requests/s and proxy CPU per request of each, and
# head ÷ base.
#
#   BASE_BIN=/path/to/old/llm-tower benches/compare.sh
#   ROUNDS=5 DURATION=5 BASE_BIN=… NO_BUILD=1 benches/compare.sh
#
# Needs: oha, python3, taskset. Everything listens on 127.0.0.1 and every run is bounded.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

ROUNDS="${ROUNDS:-3}"
DURATION="${DURATION:-4}"
CONNECTIONS="${CONNECTIONS:-32}"
LOADGEN_CPU="${LOADGEN_CPU:-0}"
PROXY_CPU="${PROXY_CPU:-1}"
[[ -n "${BASE_BIN:-}" && -x "$BASE_BIN" ]] || { echo "compare.sh: set BASE_BIN to the previous release's llm-tower" >&2; exit 1; }
for tool in oha python3 taskset; do
    command -v "$tool" >/dev/null || { echo "compare.sh: $tool not found" >&2; exit 1; }
done

build
start_stand_in taskset -c "$LOADGEN_CPU" -- --threads 1
# The base first (start_proxy writes the config both read), then this tree.
HEAD_BIN="$PROXY_BIN"
PROXY_BIN="$BASE_BIN" start_proxy taskset -c "$PROXY_CPU" -- --num_workers 1
BASE_PID="$PROXY_PID" BASE_URL="$PROXY_URL/v1/chat/completions"
PROXY_BIN="$HEAD_BIN" start_proxy taskset -c "$PROXY_CPU" -- --num_workers 1
HEAD_PID="$PROXY_PID" HEAD_URL="$PROXY_URL/v1/chat/completions"

ticks() { # PID -> utime+stime in clock ticks
    local stat fields
    stat="$(<"/proc/$1/stat")"
    stat="${stat##*) }"
    read -r -a fields <<<"$stat"
    echo $((fields[11] + fields[12]))
}

# round NAME URL PID BODY: appends "rps cpu_us" to $WORK/NAME
round() {
    local name="$1" url="$2" pid="$3" body="$4" before after
    taskset -c "$LOADGEN_CPU" oha --no-tui --output-format quiet -m POST -H "$CHAT_HEADER" \
        -H 'content-type: application/json' -d "$body" -c "$CONNECTIONS" -z 1s -w "$url" >/dev/null
    before="$(ticks "$pid")"
    taskset -c "$LOADGEN_CPU" oha --no-tui --output-format json -m POST -H "$CHAT_HEADER" \
        -H 'content-type: application/json' -d "$body" -c "$CONNECTIONS" -z "${DURATION}s" -w \
        "$url" >"$WORK/$name.json"
    after="$(ticks "$pid")"
    python3 - "$WORK/$name.json" "$before" "$after" "$(getconf CLK_TCK)" >>"$WORK/$name" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution") or {}
ok = codes.get("200", 0)
bad = sum(codes.values()) - ok + sum((d.get("errorDistribution") or {}).values())
if bad:
    sys.exit(f"{sys.argv[1]}: {bad} errors or non-200 replies")
cpu_us = (int(sys.argv[3]) - int(sys.argv[2])) / int(sys.argv[4]) / max(ok, 1) * 1e6
print(d["summary"]["requestsPerSec"], cpu_us)
PY
}

for i in $(seq 1 "$ROUNDS"); do
    echo "round $i of $ROUNDS ..." >&2
    for target in one:CHAT_BODY group:GROUP_BODY stream:STREAM_BODY; do
        name="${target%%:*}"
        varname="${target#*:}"
        body="${!varname}"
        round "base-$name" "$BASE_URL" "$BASE_PID" "$body"
        round "head-$name" "$HEAD_URL" "$HEAD_PID" "$body"
    done
done

python3 - "$WORK" "$ROUNDS" "$CONNECTIONS" "$DURATION" <<'PY'
import statistics, sys
work, rounds, connections, duration = sys.argv[1:]
def median(name):
    rows = [tuple(map(float, line.split())) for line in open(f"{work}/{name}")]
    return statistics.median(r for r, _ in rows), statistics.median(c for _, c in rows)
print(f"{rounds} interleaved rounds of {duration} s at c={connections}, medians; "
      "proxy --num_workers 1 on its own core\n")
print("| requests | base req/s | head req/s | head ÷ base | base CPU/req | head CPU/req | head ÷ base |")
print("|---|---|---|---|---|---|---|")
for name, label in [("one", "chat, one deployment"), ("group", "chat, a group of three"), ("stream", "streamed chat")]:
    (br, bc), (hr, hc) = median(f"base-{name}"), median(f"head-{name}")
    print(f"| {label} | {br:,.0f} | {hr:,.0f} | {hr / br:.2f}× | {bc:.1f} µs | {hc:.1f} µs | {hc / bc:.2f}× |")
PY
