#!/usr/bin/env python3
"""What a hostile body costs the proxy to parse: peak resident memory per byte of body.

For each shape, a fresh proxy (one `gemini/` deployment whose upstream refuses connections)
is started, warmed with one small request, sent one body of about 4 MB, and its peak
resident memory (`VmHWM` in /proc) read before and after. The table printed is what README's
Reliability section shows.

    benches/parse_cost.py [path/to/llm-tower]   # default: target/release/llm-tower
"""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/llm-tower")
SIZE = 4_000_000
CONFIG = """model_list:
  - model_name: m
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: x
      api_base: http://127.0.0.1:9
"""


def zeros(count):
    return "[" + ",".join(["0"] * count) + "]"


def chat(extra):
    head = '{"model":"m","messages":[{"role":"user","content":"hi"}]'
    return head + extra + "}"


def shapes():
    count = (SIZE - 100) // 2
    yield "chat: zeros in `metadata`", "/v1/chat/completions", chat(
        ',"metadata":{"z":' + zeros(count) + "}"
    )
    yield "chat: zeros in an unknown field", "/v1/chat/completions", chat(
        ',"x":' + zeros(count)
    )
    message = '{"role":"user","content":""}'
    messages = (SIZE - 100) // (len(message) + 1)
    yield f"chat: {messages // 1000}k tiny messages", "/v1/chat/completions", (
        '{"model":"m","messages":[' + ",".join([message] * messages) + "]}"
    )
    part = '{"type":"text","text":""}'
    parts = (SIZE - 100) // (len(part) + 1)
    yield f"chat: {parts // 1000}k tiny content parts", "/v1/chat/completions", (
        '{"model":"m","messages":[{"role":"user","content":['
        + ",".join([part] * parts)
        + "]}]}"
    )
    depth = (SIZE - 100) // 2
    yield "chat: arrays nested 2M deep in `metadata`", "/v1/chat/completions", chat(
        ',"metadata":{"z":' + "[" * depth + "]" * depth + "}"
    )
    yield "embeddings: zeros in an unknown field", "/v1/embeddings", (
        '{"model":"m","input":"hi","x":' + zeros(count) + "}"
    )
    yield "responses: zeros in `metadata`", "/v1/responses", (
        '{"model":"m","input":"hi","metadata":{"z":' + zeros(count) + "}}"
    )
    yield "messages: zeros in an unknown field", "/v1/messages", (
        '{"model":"m","max_tokens":1,"messages":[{"role":"user","content":"hi"}],"x":'
        + zeros(count)
        + "}"
    )


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def hwm(pid):
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) * 1024
    raise RuntimeError("no VmHWM")


def cpu_seconds(pid):
    with open(f"/proc/{pid}/stat") as stat:
        fields = stat.read().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def post(port, path, body):
    request = urllib.request.Request(
        f"http://127.0.0.1:{port}{path}",
        data=body.encode(),
        headers={"content-type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=60) as reply:
            return reply.status
    except urllib.error.HTTPError as error:
        return error.code


def measure(config, name, path, body):
    port = free_port()
    env = dict(os.environ, RUST_LOG="error")
    proxy = subprocess.Popen(
        [BINARY, "--config", config, "--host", "127.0.0.1", "--port", str(port)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        for _ in range(100):
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        post(port, "/v1/chat/completions", chat(""))
        before, cpu = hwm(proxy.pid), cpu_seconds(proxy.pid)
        status = post(port, path, body)
        peak, cpu = hwm(proxy.pid) - before, cpu_seconds(proxy.pid) - cpu
    finally:
        proxy.terminate()
        proxy.wait()
    print(
        f"| {name} | {len(body) / 1e6:.1f} MB | {status} | {peak / 1e6:.1f} MB"
        f" | {peak / len(body):.1f} | {cpu:.2f} s |",
        flush=True,
    )


def main():
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as config:
        config.write(CONFIG)
    try:
        print("| body | size | status | peak resident memory added | per byte of body | CPU |")
        print("|---|---|---|---|---|---|")
        for name, path, body in shapes():
            measure(config.name, name, path, body)
    finally:
        os.unlink(config.name)


if __name__ == "__main__":
    main()
