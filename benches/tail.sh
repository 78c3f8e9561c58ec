#!/usr/bin/env bash
# Tail latency at one request at a time: REQUESTS sequential requests on one kept-alive
# connection, direct to the stand-in and through the release proxy, chat and streamed chat,
# with examples/stream_load.rs as the client (no oha needed). See benches/README.md.
#
#   benches/tail.sh                       # 20,000 requests per row after 1,000 of warm-up
#   REQUESTS=5000 benches/tail.sh
#   NO_PIN=1 benches/tail.sh              # no taskset
#
# Needs: cargo, python3, taskset. Everything listens on 127.0.0.1.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REQUESTS="${REQUESTS:-20000}"           # recorded requests per row
WARMUP_REQUESTS="${WARMUP_REQUESTS:-1000}"
LOADGEN_CPU="${LOADGEN_CPU:-0}"         # the client's core
PROXY_CPU="${PROXY_CPU:-1}"             # the proxy's core
STAND_IN_CPU="${STAND_IN_CPU:-$PROXY_CPU}"

if [[ -n "${NO_PIN:-}" ]]; then
    LOADGEN=(); STAND_IN=(); PROXY=()
    PIN_NOTE="nothing pinned"
else
    command -v taskset >/dev/null || { echo "$BENCH: taskset not found (or NO_PIN=1)" >&2; exit 1; }
    LOADGEN=(taskset -c "$LOADGEN_CPU"); STAND_IN=(taskset -c "$STAND_IN_CPU"); PROXY=(taskset -c "$PROXY_CPU")
    PIN_NOTE="client on CPU $LOADGEN_CPU, proxy on CPU $PROXY_CPU, stand-in on CPU $STAND_IN_CPU"
fi

build
BUSY_PCT="$(busy_pct)"
if (( BUSY_PCT > 10 )); then
    echo "$BENCH: warning: the machine was ${BUSY_PCT}% busy before the run; the numbers will be noisy" >&2
fi

start_stand_in "${STAND_IN[@]}" -- --threads 1
start_proxy "${PROXY[@]}" -- --num_workers 1

# run NAME URL BODY HEADER: the client's JSON in $WORK/NAME.json
run() {
    echo "$1: $WARMUP_REQUESTS + $REQUESTS requests, one at a time ..." >&2
    "${LOADGEN[@]}" "$LOAD_BIN" sequential --url "$2" --body "$3" --header "$4" \
        --count "$REQUESTS" --warmup "$WARMUP_REQUESTS" >"$WORK/$1.json"
}
run direct-chat "$(direct_url)" "$DIRECT_BODY" "$DIRECT_HEADER"
run proxy-chat "$(chat_url)" "$CHAT_BODY" "$CHAT_HEADER"
run direct-stream "$(direct_stream_url)" "$DIRECT_BODY" "$DIRECT_HEADER"
run proxy-stream "$(chat_url)" "$STREAM_BODY" "$CHAT_HEADER"

python3 - "$WORK" <<PY
import json, sys
work = sys.argv[1]
r = {name: json.load(open(f"{work}/{name}.json"))
     for name in ("direct-chat", "proxy-chat", "direct-stream", "proxy-stream")}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"stream_load sequential; $REQUESTS requests per row after $WARMUP_REQUESTS of warm-up, one connection; "
      f"$PIN_NOTE; proxy --num_workers 1, stand-in 1 thread; {cpu}, $(nproc) CPUs, "
      f"$BUSY_PCT % busy before the run")
print()
print("| row | measured to | direct p50 / p99 / p99.9 | llm-tower p50 / p99 / p99.9 | added p50 | added p99 | errors |")
print("|---|---|---|---|---|---|---|")
for label, kind, key, what in (("chat", "chat", "total_us", "end of reply"),
                               ("chat stream", "stream", "first_byte_us", "first byte"),
                               ("chat stream", "stream", "total_us", "end of stream")):
    d, p = r[f"direct-{kind}"], r[f"proxy-{kind}"]
    cell = lambda x: " / ".join(f"{x[key][q] / 1000:.3f}" for q in ("p50", "p99", "p999")) + " ms"
    added = lambda q: (p[key][q] - d[key][q]) / 1000
    print(f"| {label} | {what} | {cell(d)} | {cell(p)} | {added('p50'):+.3f} ms | {added('p99'):+.3f} ms | "
          f"{d['errors'] + p['errors']} |")
failed = sum(x["errors"] for x in r.values())
sys.exit(f"{failed} requests failed" if failed else 0)
PY
