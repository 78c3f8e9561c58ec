#!/usr/bin/env bash
# Instructions per request, counted by valgrind's callgrind: the same count for the same
# binary and requests whatever else the machine is doing, so two builds compare exactly
# where requests/s (benches/compare.sh) move with the machine's load. For chat to one
# deployment, chat to a group of three and streamed chat: N requests one at a time over a
# kept-alive connection after a warm-up, the proxy (default settings, --num_workers 1)
# counted between the two; BASE_BIN, if set, is counted the same way and compared.
#
#   benches/instructions.sh
#   N=2000 BASE_BIN=/path/to/old/llm-tower NO_BUILD=1 benches/instructions.sh
#
# Needs: valgrind (callgrind_control), python3. The counts include hyper, tokio and the
# allocator; they do not include the kernel's share of each system call.
set -euo pipefail
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

N="${N:-1000}"
command -v callgrind_control >/dev/null || { echo "$BENCH: valgrind not found (apt-get install valgrind)" >&2; exit 1; }

build
start_stand_in -- --threads 1

# The client: N requests one at a time on one connection, every answer read and checked.
cat >"$WORK/send.py" <<'PY'
import http.client, sys
url, header, body, count = sys.argv[1], sys.argv[2], sys.argv[3].encode(), int(sys.argv[4])
host, port = url.removeprefix("http://").split(":")
connection = http.client.HTTPConnection(host, int(port), timeout=60)
name, value = header.split(": ", 1)
for _ in range(count):
    connection.request("POST", "/v1/chat/completions", body, {name: value, "content-type": "application/json"})
    response = connection.getresponse()
    answer = response.read()
    if response.status != 200:
        sys.exit(f"{response.status}: {answer[:300]!r}")
PY

# count NAME BIN: instructions per request of each kind, into $WORK/NAME.counts
count() {
    local name="$1" bin="$2" pid
    # valgrind takes a while to start a release binary.
    PROXY_BIN="$bin" WAIT_S=120 start_proxy valgrind --tool=callgrind --dump-instr=no \
        --callgrind-out-file="$WORK/$name.%p.out" -- --num_workers 1
    pid="$PROXY_PID"
    : >"$WORK/$name.counts"
    for kind in one group stream; do
        case "$kind" in
            one) body="$CHAT_BODY" ;;
            group) body="$GROUP_BODY" ;;
            stream) body="$STREAM_BODY" ;;
        esac
        python3 "$WORK/send.py" "$PROXY_URL" "$CHAT_HEADER" "$body" 200
        callgrind_control -z "$pid" >/dev/null 2>&1
        python3 "$WORK/send.py" "$PROXY_URL" "$CHAT_HEADER" "$body" "$N"
        callgrind_control -d "$kind" "$pid" >/dev/null 2>&1
        sleep 0.5
        local dump total
        dump="$(ls -t "$WORK/$name.$pid.out."* | head -n 1)"
        total="$(sed -n 's/^summary: //p' "$dump")"
        echo "$kind $((total / N))" >>"$WORK/$name.counts"
    done
    kill "$pid" 2>/dev/null || true
    wait "$pid" 2>/dev/null || true
}

HEAD_BIN="$PROXY_BIN"
count head "$HEAD_BIN"
[[ -n "${BASE_BIN:-}" ]] && count base "$BASE_BIN"

python3 - "$WORK" "$N" "${BASE_BIN:+base}" <<'PY'
import sys
work, n, base = sys.argv[1], sys.argv[2], sys.argv[3]
read = lambda name: dict(line.split() for line in open(f"{work}/{name}.counts"))
head = read("head")
labels = {"one": "chat, one deployment", "group": "chat, a group of three", "stream": "streamed chat"}
print(f"instructions per request (callgrind, {n} requests one at a time after 200 of warm-up, --num_workers 1)")
print()
if base:
    old = read("base")
    print("| requests | base | head | head ÷ base |")
    print("|---|---|---|---|")
    for kind, label in labels.items():
        print(f"| {label} | {int(old[kind]):,} | {int(head[kind]):,} | {int(head[kind]) / int(old[kind]):.3f}× |")
else:
    print("| requests | instructions |")
    print("|---|---|")
    for kind, label in labels.items():
        print(f"| {label} | {int(head[kind]):,} |")
print()
print(f"a group of three ÷ one deployment: {int(head['group']) / int(head['one']):.3f}× the instructions")
PY
