#!/usr/bin/env bash
# Load benchmark of the proxy against the Gemini stand-in (examples/stand_in.rs), with oha,
# beside nginx forwarding the same requests to the same stand-in (the floor for a gateway).
# See benches/README.md for what it measures, the CPU layout and how to read the table.
#
#   benches/load.sh                          # 5000 requests at c=1, 5 s at c=32
#   REQUESTS=20000 DURATION=10 benches/load.sh
#   NO_PIN=1 benches/load.sh                 # no taskset
#
# Needs: cargo, oha (cargo install oha --locked), nginx (apt-get install nginx-light),
# python3, taskset. Everything listens on
# 127.0.0.1, and every run is bounded in count or time.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

REQUESTS="${REQUESTS:-5000}"        # requests of the concurrency-1 latency runs
DURATION="${DURATION:-5}"           # seconds of the throughput runs
CONNECTIONS="${CONNECTIONS:-32}"    # concurrency of the throughput runs
WARMUP="${WARMUP:-1}"               # seconds of warm-up before each measured run
COLD_STARTS="${COLD_STARTS:-5}"     # cold start: best of this many
GROUP_ROUNDS="${GROUP_ROUNDS:-4}"   # more alternating one-deployment / group runs for their ratio
LOADGEN_CPU="${LOADGEN_CPU:-0}"     # oha's core (and the stand-in's in the throughput runs)
PROXY_CPU="${PROXY_CPU:-1}"         # the proxy's core (and the stand-in's in the latency runs)

for tool in oha python3 taskset nginx; do
    command -v "$tool" >/dev/null || { echo "load.sh: $tool not found (oha: cargo install oha --locked; nginx: apt-get install nginx-light)" >&2; exit 1; }
done

if [[ -n "${NO_PIN:-}" ]]; then
    LOADGEN=()
    STAND_IN=()
    PROXY=()
    PIN_NOTE="not pinned"
    PROXY_WORKERS="$(nproc)"
else
    LOADGEN=(taskset -c "$LOADGEN_CPU")
    STAND_IN=(taskset -c "$PROXY_CPU")
    PROXY=(taskset -c "$PROXY_CPU")
    PIN_NOTE="oha on CPU $LOADGEN_CPU, proxy on CPU $PROXY_CPU, stand-in on CPU $PROXY_CPU at c=1 and on CPU $LOADGEN_CPU at c=$CONNECTIONS"
    PROXY_WORKERS=1
fi

build

# Other processes skew every number here: report how busy the machine is before starting.
BUSY_PCT="$(busy_pct)"
if (( BUSY_PCT > 10 )); then
    echo "load.sh: warning: the machine was ${BUSY_PCT}% busy before the run; the numbers will be noisy" >&2
fi

cpu_ticks() { # PID -> utime+stime of all its threads, in clock ticks
    local stat fields
    stat="$(<"/proc/$1/stat")"
    stat="${stat##*) }" # the fields after "(comm)": state is field 3, utime 14, stime 15
    read -r -a fields <<<"$stat"
    echo $((fields[11] + fields[12]))
}

# --- the stand-in and the proxy --------------------------------------------------------
start_stand_in "${STAND_IN[@]}" -- --threads 1
start_proxy "${PROXY[@]}" -- --num_workers "$PROXY_WORKERS"
start_forwarder "${PROXY[@]}"

# --- the two requests -------------------------------------------------------------------
DIRECT_URL="$(direct_url)"
CHAT_URL="$(chat_url)"
# The pass-through: the direct request, forwarded as is (the master key swapped for the
# stand-in's): the proxy's cost without the translation.
PASS_URL="$PROXY_URL/gemini/v1beta/models/gemini-2.5-flash:generateContent"
PASS_HEADER="x-goog-api-key: $MASTER_KEY"
# nginx forwarding the direct request: what any gateway costs at least.
FORWARD_URL="$FORWARDER_URL/v1beta/models/gemini-2.5-flash:generateContent"
FORWARD_STREAM_URL="$FORWARDER_URL/v1beta/models/gemini-2.5-flash:streamGenerateContent?alt=sse"

# Sanity: both answer 200, and the proxy's reply carries the stand-in's text.
python3 - "$DIRECT_URL" "$DIRECT_BODY" "$DIRECT_HEADER" "$CHAT_URL" "$CHAT_BODY" "$CHAT_HEADER" <<'PY'
import json, sys, urllib.request
def post(url, body, header):
    name, value = header.split(": ", 1)
    request = urllib.request.Request(url, data=body.encode(), headers={name: value, "content-type": "application/json"})
    return json.load(urllib.request.urlopen(request))
text = post(*sys.argv[1:4])["candidates"][0]["content"]["parts"][0]["text"]
assert post(*sys.argv[4:7])["choices"][0]["message"]["content"] == text, "the proxy's reply differs"
PY

# oha URL BODY HEADER ARGS... (pinned to the load generator's core)
oha_post() {
    local url="$1" body="$2" header="$3"
    shift 3
    "${LOADGEN[@]}" oha --no-tui "$@" -m POST -H "$header" -H 'content-type: application/json' -d "$body" "$url"
}

warm() { # URL BODY HEADER CONCURRENCY
    oha_post "$1" "$2" "$3" --output-format quiet -c "$4" -z "${WARMUP}s" -w >/dev/null
}

# measure NAME URL BODY HEADER OHA-ARGS... -> R_<NAME>_{REQ,RPS,P50,P99} (latencies in µs)
measure() {
    local name="$1" line ok bad rps p50 p99
    shift
    oha_post "$1" "$2" "$3" --output-format json "${@:4}" >"$WORK/$name.json"
    line="$(python3 - "$WORK/$name.json" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
codes = d.get("statusCodeDistribution") or {}
ok = codes.get("200", 0)
bad = sum(codes.values()) - ok + sum((d.get("errorDistribution") or {}).values())
p = d["latencyPercentiles"]
print(ok, bad, d["summary"]["requestsPerSec"], p["p50"] * 1e6, p["p99"] * 1e6)
PY
)"
    read -r ok bad rps p50 p99 <<<"$line"
    if [[ "$bad" != 0 ]]; then
        echo "load.sh: $name: $bad errors or non-200 replies (200: $ok); oha's report:" >&2
        cat "$WORK/$name.json" >&2
        exit 1
    fi
    printf -v "R_${name}_REQ" %s "$ok"
    printf -v "R_${name}_RPS" %s "$rps"
    printf -v "R_${name}_P50" %s "$p50"
    printf -v "R_${name}_P99" %s "$p99"
}

echo "direct, concurrency 1, $REQUESTS requests ..." >&2
warm "$DIRECT_URL" "$DIRECT_BODY" "$DIRECT_HEADER" 1
measure D1 "$DIRECT_URL" "$DIRECT_BODY" "$DIRECT_HEADER" -c 1 -n "$REQUESTS"
echo "proxy, concurrency 1, $REQUESTS requests ..." >&2
warm "$CHAT_URL" "$CHAT_BODY" "$CHAT_HEADER" 1
measure P1 "$CHAT_URL" "$CHAT_BODY" "$CHAT_HEADER" -c 1 -n "$REQUESTS"
echo "forwarder, concurrency 1, $REQUESTS requests ..." >&2
warm "$FORWARD_URL" "$DIRECT_BODY" "$DIRECT_HEADER" 1
measure F1 "$FORWARD_URL" "$DIRECT_BODY" "$DIRECT_HEADER" -c 1 -n "$REQUESTS"
# The throughput runs give the proxy a core of its own (see benches/README.md).
if [[ -z "${NO_PIN:-}" ]]; then
    taskset -a -p -c "$LOADGEN_CPU" "$STAND_IN_PID" >/dev/null
fi
echo "direct, concurrency $CONNECTIONS, $DURATION s ..." >&2
warm "$DIRECT_URL" "$DIRECT_BODY" "$DIRECT_HEADER" "$CONNECTIONS"
measure DN "$DIRECT_URL" "$DIRECT_BODY" "$DIRECT_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
echo "proxy, concurrency $CONNECTIONS, $DURATION s ..." >&2
warm "$CHAT_URL" "$CHAT_BODY" "$CHAT_HEADER" "$CONNECTIONS"
proxy_before="$(cpu_ticks "$PROXY_PID")"
stand_in_before="$(cpu_ticks "$STAND_IN_PID")"
measure PN "$CHAT_URL" "$CHAT_BODY" "$CHAT_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
proxy_after="$(cpu_ticks "$PROXY_PID")"
stand_in_after="$(cpu_ticks "$STAND_IN_PID")"
echo "proxy, a group of three deployments, concurrency $CONNECTIONS, $DURATION s ..." >&2
warm "$CHAT_URL" "$GROUP_BODY" "$CHAT_HEADER" "$CONNECTIONS"
group_before="$(cpu_ticks "$PROXY_PID")"
measure GN "$CHAT_URL" "$GROUP_BODY" "$CHAT_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
group_after="$(cpu_ticks "$PROXY_PID")"
# The group's ratio to one deployment is a few percent: one pair of runs moves more than
# that with the machine, so more pairs alternate and the report takes the median ratio.
GROUP_PAIRS="$R_GN_RPS / $R_PN_RPS"
for round in $(seq "$GROUP_ROUNDS"); do
    echo "proxy, one deployment and a group of three again ($round of $GROUP_ROUNDS), $DURATION s each ..." >&2
    measure "PN$round" "$CHAT_URL" "$CHAT_BODY" "$CHAT_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
    measure "GN$round" "$CHAT_URL" "$GROUP_BODY" "$CHAT_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
    pn_var="R_PN${round}_RPS"
    gn_var="R_GN${round}_RPS"
    GROUP_PAIRS+=", ${!gn_var} / ${!pn_var}"
done
echo "pass-through, concurrency $CONNECTIONS, $DURATION s ..." >&2
warm "$PASS_URL" "$DIRECT_BODY" "$PASS_HEADER" "$CONNECTIONS"
pass_before="$(cpu_ticks "$PROXY_PID")"
measure TN "$PASS_URL" "$DIRECT_BODY" "$PASS_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
pass_after="$(cpu_ticks "$PROXY_PID")"
echo "forwarder, concurrency $CONNECTIONS, $DURATION s ..." >&2
warm "$FORWARD_URL" "$DIRECT_BODY" "$DIRECT_HEADER" "$CONNECTIONS"
forwarder_before="$(cpu_ticks "$FORWARDER_PID")"
measure FN "$FORWARD_URL" "$DIRECT_BODY" "$DIRECT_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
forwarder_after="$(cpu_ticks "$FORWARDER_PID")"
echo "proxy, streamed chat, concurrency $CONNECTIONS, $DURATION s ..." >&2
warm "$CHAT_URL" "$STREAM_BODY" "$CHAT_HEADER" "$CONNECTIONS"
stream_before="$(cpu_ticks "$PROXY_PID")"
measure SN "$CHAT_URL" "$STREAM_BODY" "$CHAT_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
stream_after="$(cpu_ticks "$PROXY_PID")"
echo "forwarder, streamed, concurrency $CONNECTIONS, $DURATION s ..." >&2
warm "$FORWARD_STREAM_URL" "$DIRECT_BODY" "$DIRECT_HEADER" "$CONNECTIONS"
measure FS "$FORWARD_STREAM_URL" "$DIRECT_BODY" "$DIRECT_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
CLK_TCK="$(getconf CLK_TCK)"
PEAK_RSS_KB="$(awk '/^VmHWM:/ {print $2}' "/proc/$PROXY_PID/status")"

kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
PROXY_PID=""

# --- the same proxy with JSON logs: an access-log line per request at info --------------
# (Metrics are always on; this adds the log line a log aggregator reads.)
OBS_PORT="$(free_port)"
RUST_LOG=info "${PROXY[@]}" "$PROXY_BIN" --config "$WORK/config.yaml" --host 127.0.0.1 --port "$OBS_PORT" \
    --num_workers "$PROXY_WORKERS" --log-format json >"$WORK/proxy-json.log" 2>&1 &
PROXY_PID=$!
PIDS+=("$PROXY_PID")
wait_http "http://127.0.0.1:$OBS_PORT/health/liveliness"
OBS_URL="http://127.0.0.1:$OBS_PORT/v1/chat/completions"
echo "proxy with JSON access logs, concurrency $CONNECTIONS, $DURATION s ..." >&2
warm "$OBS_URL" "$CHAT_BODY" "$CHAT_HEADER" "$CONNECTIONS"
measure ON "$OBS_URL" "$CHAT_BODY" "$CHAT_HEADER" -c "$CONNECTIONS" -z "${DURATION}s" -w
grep -q '"target":"llm_tower::access"' "$WORK/proxy-json.log" \
    || { echo "load.sh: no access-log lines in the JSON log" >&2; exit 1; }
kill "$PROXY_PID"
wait "$PROXY_PID" 2>/dev/null || true
PROXY_PID=""

# --- cold start: spawn -> first 200 from /health/liveliness, best of N ------------------
echo "cold start, best of $COLD_STARTS ..." >&2
COLD_MS="$(python3 - "$PROXY_BIN" "$WORK/config.yaml" "$COLD_STARTS" "${NO_PIN:-}" "$LOADGEN_CPU" "$PROXY_CPU" <<'PY'
import os, socket, subprocess, sys, time
binary, config, tries, no_pin, loadgen_cpu, proxy_cpu = sys.argv[1:]
if not no_pin:
    os.sched_setaffinity(0, {int(loadgen_cpu)})
pin = None if no_pin else (lambda: os.sched_setaffinity(0, {int(proxy_cpu)}))
request = b"GET /health/liveliness HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n"
best = None
for _ in range(int(tries)):
    s = socket.socket(); s.bind(("127.0.0.1", 0)); port = s.getsockname()[1]; s.close()
    env = dict(os.environ, RUST_LOG="warn")
    start = time.perf_counter()
    child = subprocess.Popen([binary, "--config", config, "--host", "127.0.0.1", "--port", str(port)],
                             stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, env=env, preexec_fn=pin)
    try:
        while True:  # poll as fast as connect() fails
            if time.perf_counter() - start > 10:
                sys.exit("cold start: no answer within 10 s")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1) as conn:
                    conn.sendall(request)
                    if conn.recv(64).startswith(b"HTTP/1.1 200"):
                        break
            except OSError:
                continue
        elapsed = time.perf_counter() - start
    finally:
        child.terminate()
        child.wait()
    best = elapsed if best is None else min(best, elapsed)
print(f"{best * 1000:.1f}")
PY
)"

# --- report -----------------------------------------------------------------------------
python3 - <<PY
d1_p50, d1_p99, p1_p50, p1_p99 = $R_D1_P50, $R_D1_P99, $R_P1_P50, $R_P1_P99
f1_p50, f1_p99 = $R_F1_P50, $R_F1_P99
dn_rps, pn_rps, pn_req, tn_rps, tn_req, on_rps = $R_DN_RPS, $R_PN_RPS, $R_PN_REQ, $R_TN_RPS, $R_TN_REQ, $R_ON_RPS
fn_rps, fn_req, sn_rps, sn_req, fs_rps = $R_FN_RPS, $R_FN_REQ, $R_SN_RPS, $R_SN_REQ, $R_FS_RPS
gn_rps, gn_req = $R_GN_RPS, $R_GN_REQ
group_cpu_us = ($group_after - $group_before) / $CLK_TCK / gn_req * 1e6
group_ratios = sorted([$GROUP_PAIRS])
group_ratio = group_ratios[len(group_ratios) // 2]
ratio = pn_rps / dn_rps
fwd_cpu_us = ($forwarder_after - $forwarder_before) / $CLK_TCK / fn_req * 1e6
stream_cpu_us = ($stream_after - $stream_before) / $CLK_TCK / sn_req * 1e6
fwd_added = (f1_p50 - d1_p50) / 1000
cpu_us = ($proxy_after - $proxy_before) / $CLK_TCK / pn_req * 1e6
pass_cpu_us = ($pass_after - $pass_before) / $CLK_TCK / tn_req * 1e6
up_cpu_us = ($stand_in_after - $stand_in_before) / $CLK_TCK / pn_req * 1e6
rss_mib = $PEAK_RSS_KB / 1024
cold = $COLD_MS
added = (p1_p50 - d1_p50) / 1000
ok = lambda good: "yes" if good else "**no**"
rows = [
    ("latency p50, c=1", f"{d1_p50/1000:.3f} ms", f"{p1_p50/1000:.3f} ms", "", ""),
    ("latency p99, c=1", f"{d1_p99/1000:.3f} ms", f"{p1_p99/1000:.3f} ms", "", ""),
    ("added latency p50 (proxy − direct)", "", f"{added:.4f} ms", "< 0.05 ms", ok(added < 0.05)),
    ("added latency p99 (proxy − direct)", "", f"{(p1_p99 - d1_p99)/1000:.4f} ms", "< 0.1 ms", ok(p1_p99 - d1_p99 < 100)),
    ("forwarder (nginx) added latency p50 / p99", "", f"{fwd_added:.4f} / {(f1_p99 - d1_p99)/1000:.4f} ms", "", ""),
    ("added latency p50 ÷ the forwarder's", "", f"{added / fwd_added:.2f}×" if fwd_added > 0 else "n/a", "≤ 1.5×", ok(fwd_added > 0 and added / fwd_added <= 1.5)),
    ("throughput, c=$CONNECTIONS", f"{dn_rps:,.0f} req/s", f"{pn_rps:,.0f} req/s", "", ""),
    ("throughput ratio (proxy ÷ direct)", "", f"{ratio:.2f}×", "", ""),
    ("three-deployment group, c=$CONNECTIONS", "", f"{gn_rps:,.0f} req/s, {group_cpu_us:.1f} µs CPU", "", ""),
    (f"three-deployment group ÷ one deployment (median of {len(group_ratios)} alternating pairs: {', '.join(f'{r:.3f}' for r in group_ratios)})", "", f"{group_ratio:.2f}×", "≥ 0.95×", ok(group_ratio >= 0.95)),
    ("throughput with JSON access logs, c=$CONNECTIONS (÷ without)", "", f"{on_rps:,.0f} req/s ({on_rps / pn_rps:.2f}×)", "≥ 0.9×", ok(on_rps / pn_rps >= 0.9)),
    ("pass-through throughput, c=$CONNECTIONS (no translation)", "", f"{tn_rps:,.0f} req/s ({tn_rps / dn_rps:.2f}×)", "", ""),
    ("forwarder (nginx) throughput, c=$CONNECTIONS", "", f"{fn_rps:,.0f} req/s ({fn_rps / dn_rps:.2f}×)", "", ""),
    ("chat throughput ÷ the forwarder's", "", f"{pn_rps / fn_rps:.2f}×", "≥ 0.9×", ok(pn_rps / fn_rps >= 0.9)),
    ("streamed chat throughput, c=$CONNECTIONS (÷ the forwarder streaming)", "", f"{sn_rps:,.0f} req/s ({sn_rps / fs_rps:.2f}×)", "≥ 0.8×", ok(sn_rps / fs_rps >= 0.8)),
    ("CPU per request, c=$CONNECTIONS (utime+stime)", f"{up_cpu_us:.1f} µs (stand-in)", f"{cpu_us:.1f} µs (proxy only)", "", ""),
    ("CPU per pass-through request", "", f"{pass_cpu_us:.1f} µs (proxy only)", "", ""),
    ("CPU per forwarded request (nginx worker)", "", f"{fwd_cpu_us:.1f} µs", "", ""),
    ("CPU per chat request ÷ the forwarder's", "", f"{cpu_us / fwd_cpu_us:.2f}×", "≤ 1.2×", ok(cpu_us / fwd_cpu_us <= 1.2)),
    ("CPU per streamed chat request", "", f"{stream_cpu_us:.1f} µs (proxy only)", "", ""),
    ("proxy peak RSS (VmHWM)", "", f"{rss_mib:.1f} MiB", "< 30 MiB", ok(rss_mib < 30)),
    ("proxy cold start, best of $COLD_STARTS", "", f"{cold:.1f} ms", "< 50 ms", ok(cold < 50)),
]
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"oha; c=1: $REQUESTS requests; c=$CONNECTIONS: $DURATION s; $WARMUP s warm-up before each; "
      f"$PIN_NOTE; proxy --num_workers $PROXY_WORKERS, stand-in 1 thread; {cpu}, $(nproc) CPUs, "
      f"$BUSY_PCT % busy before the run")
print()
print("| metric | direct (stand-in) | through proxy | target | met |")
print("|---|---|---|---|---|")
for row in rows:
    print("| " + " | ".join(row) + " |")
PY
