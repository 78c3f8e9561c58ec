#!/usr/bin/env bash
# Many concurrent paced SSE streams, direct to the stand-in, through nginx forwarding them
# (the floor for any gateway) and through the release proxy, with examples/stream_load.rs as
# the client. The three paths run one after another, so each has the descriptors to itself.
# See benches/README.md for the table.
#
#   benches/streams.sh                               # 1,000 streams of 100 events 20 ms apart
#   STREAMS="1000 5000 10000" benches/streams.sh
#   STREAMS=200 FIRST_EVENT_MS=300 EVENTS=100 GAP_MS=20 JITTER_MS=5 benches/streams.sh
#
# Needs: cargo, python3, nginx (NO_NGINX=1 leaves its rows out). Everything listens on 127.0.0.1; each run ends when its streams do
# or after TIMEOUT seconds (default: the stream's length plus 60 s), whichever is first.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

STREAMS="${STREAMS:-1000}"            # concurrent streams per run; a list runs each size
FIRST_EVENT_MS="${FIRST_EVENT_MS:-300}"   # the stand-in's pacing (examples/stand_in.rs)
EVENTS="${EVENTS:-100}"
GAP_MS="${GAP_MS:-20}"
JITTER_MS="${JITTER_MS:-0}"
STAND_IN_THREADS="${STAND_IN_THREADS:-1}"
LOAD_THREADS="${LOAD_THREADS:-1}"     # the client's runtime threads
PROXY_WORKERS="${PROXY_WORKERS:-}"    # empty: the proxy's default
TIMEOUT="${TIMEOUT:-$(( (FIRST_EVENT_MS + EVENTS * (GAP_MS + JITTER_MS)) / 1000 + 60 ))}"

build

# Each stream holds a socket in the client and the stand-in and two in the proxy.
largest=0
for n in $STREAMS; do (( n > largest )) && largest=$n; done
need=$(( 2 * largest + 1024 ))
if [[ "$(ulimit -n)" != unlimited ]] && (( $(ulimit -n) < need )); then
    ulimit -n "$need" 2>/dev/null || {
        echo "$BENCH: $largest streams need $need file descriptors; the hard limit is $(ulimit -Hn)" >&2
        exit 1
    }
fi

BUSY_PCT="$(busy_pct)"
if (( BUSY_PCT > 10 )); then
    echo "$BENCH: warning: the machine was ${BUSY_PCT}% busy before the run; the numbers will be noisy" >&2
fi

start_stand_in -- --threads "$STAND_IN_THREADS" --first-event-ms "$FIRST_EVENT_MS" --events "$EVENTS" \
    --gap-ms "$GAP_MS" --jitter-ms "$JITTER_MS"
start_proxy -- ${PROXY_WORKERS:+--num_workers "$PROXY_WORKERS"}
if [[ -z "${NO_NGINX:-}" ]]; then
    # Each stream holds two of nginx's connections (client and upstream).
    FORWARDER_CONNECTIONS="$need" start_forwarder
fi

# run NAME PID URL BODY HEADER COUNT: the client's JSON plus PID's RSS, fds and CPU, sampled
# from /proc every 20 ms while the client runs, in $WORK/NAME.json.
run() {
    local name="$1" pid="$2" url="$3" body="$4" header="$5" count="$6"
    python3 - "$pid" "$WORK/$name.json" "$LOAD_BIN" streams --url "$url" --body "$body" \
        --header "$header" --count "$count" --timeout "$TIMEOUT" --threads "$LOAD_THREADS" <<'PY'
import json, os, subprocess, sys, time
pid, out, command = sys.argv[1], sys.argv[2], sys.argv[3:]
def rss_kb():
    return next(int(l.split()[1]) for l in open(f"/proc/{pid}/status") if l.startswith("VmRSS:"))
def fds():
    return len(os.listdir(f"/proc/{pid}/fd"))
def cpu_s():
    fields = open(f"/proc/{pid}/stat").read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")  # utime + stime
idle_rss, idle_fds, cpu0 = rss_kb(), fds(), cpu_s()
peak_rss, peak_fds = idle_rss, idle_fds
client = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
while client.poll() is None:
    peak_rss, peak_fds = max(peak_rss, rss_kb()), max(peak_fds, fds())
    time.sleep(0.02)
output = client.stdout.read()
if client.returncode != 0:
    sys.exit(f"the client failed ({client.returncode})")
report = json.loads(output)
report.update(rss_idle_kb=idle_rss, rss_peak_kb=peak_rss, fds_idle=idle_fds, fds_peak=peak_fds,
              cpu_s=cpu_s() - cpu0)
json.dump(report, open(out, "w"))
PY
}

for n in $STREAMS; do
    echo "$n streams direct to the stand-in ..." >&2
    run "direct-$n" "$STAND_IN_PID" "$(direct_stream_url)" "$DIRECT_BODY" "$DIRECT_HEADER" "$n"
    if [[ -z "${NO_NGINX:-}" ]]; then
        echo "$n streams through nginx ..." >&2
        run "nginx-$n" "$FORWARDER_PID" "$FORWARDER_URL${DIRECT_STREAM_PATH}" "$DIRECT_BODY" "$DIRECT_HEADER" "$n"
    fi
    echo "$n streams through the proxy ..." >&2
    run "proxy-$n" "$PROXY_PID" "$(chat_url)" "$STREAM_BODY" "$CHAT_HEADER" "$n"
done

python3 - "$WORK" "$STREAMS" "${NO_NGINX:-}" <<PY
import json, os, sys
work, sizes, nginx = sys.argv[1], [int(n) for n in sys.argv[2].split()], not sys.argv[3]
events = ${EVENTS}
cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
print(f"stream_load streams; stand-in: ${FIRST_EVENT_MS} ms to the first event, ${EVENTS} events ${GAP_MS} ± ${JITTER_MS} ms "
      f"apart, ${STAND_IN_THREADS} thread(s); client ${LOAD_THREADS} thread(s); proxy --num_workers "
      f"${PROXY_WORKERS:-default}; nothing pinned; {cpu}, $(nproc) CPUs, ${BUSY_PCT} % busy before the run")
print()
print("| streams | path | ok | errors | most open | first event p50 | p99 | worst gap p99 | all gaps p99 | events per stream |")
print("|---|---|---|---|---|---|---|---|---|---|")
rows = []
for n in sizes:
    d, p = (json.load(open(f"{work}/{path}-{n}.json")) for path in ("direct", "proxy"))
    g = json.load(open(f"{work}/nginx-{n}.json")) if nginx else None
    for name, r in (("direct", d), ("nginx", g), ("llm-tower", p)):
        if r is None:
            continue
        kinds = ", ".join(f"{k} {v}" for k, v in r["error_kinds"].items())
        print(f"| {n:,} | {name} | {r['ok']:,} | {r['errors']}{' (' + kinds + ')' if kinds else ''} | "
              f"{r['peak_open']:,} | {r['first_event_ms']['p50']:.1f} ms | {r['first_event_ms']['p99']:.1f} ms | "
              f"{r['worst_gap_ms']['p99']:.1f} ms | {r['gap_ms']['p99']:.1f} ms | "
              f"{r['events_min']}–{r['events_max']} |")
    rows.append((n, d, g, p))
print()
print("What each gateway adds to the direct streams; CPU per event is the gateway process's CPU")
print("over the run divided by the events it forwarded.")
print()
print("| streams | gateway | added first event p50 | added p99 | added worst gap p99 | RSS idle → peak | per stream | CPU | per event | fds idle → peak |")
print("|---|---|---|---|---|---|---|---|---|---|")
for n, d, g, p in rows:
    for name, r in (("nginx", g), ("llm-tower", p)):
        if r is None:
            continue
        added = lambda key, q: r[key][q] - d[key][q]
        per_stream_kib = (r["rss_peak_kb"] - r["rss_idle_kb"]) / n
        per_event_us = r["cpu_s"] / max(1, r["ok"] * events) * 1e6
        print(f"| {n:,} | {name} | {added('first_event_ms', 'p50'):+.2f} ms | {added('first_event_ms', 'p99'):+.2f} ms | "
              f"{added('worst_gap_ms', 'p99'):+.2f} ms | {r['rss_idle_kb'] / 1024:.1f} → {r['rss_peak_kb'] / 1024:.1f} MiB | "
              f"{per_stream_kib:.1f} KiB | {r['cpu_s']:.2f} s | {per_event_us:.1f} µs | "
              f"{r['fds_idle']} → {r['fds_peak']:,} |")
    if g is not None:
        ratio = (p["cpu_s"] / max(1, p["ok"])) / max(1e-9, g["cpu_s"] / max(1, g["ok"]))
        print(f"| {n:,} | llm-tower ÷ nginx | | | | | | | {ratio:.2f}× CPU per event | |")
failed = sum(r["errors"] for _, d, g, p in rows for r in (d, g, p) if r is not None)
sys.exit(f"{failed} streams failed" if failed else 0)
PY
