#!/usr/bin/env python3
"""Resident memory per configured deployment: the proxy started with a config of one and of
2,001 `gemini/` deployments (each its own model group and key), `VmRSS` read 8 s after
start; prints (rss(2001) - rss(1)) / 2000.

    benches/deployment_memory.py [path/to/llm-tower]   # default: target/release/llm-tower
"""

import os
import subprocess
import sys
import tempfile
import time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = sys.argv[1] if len(sys.argv) > 1 else os.path.join(ROOT, "target/release/llm-tower")


def config(count):
    lines = ["model_list:"]
    for index in range(count):
        lines += [
            f"  - model_name: model-{index}",
            "    litellm_params:",
            f"      model: gemini/gemini-2.5-flash-{index}",
            f"      api_key: key-{index}",
        ]
    return "\n".join(lines) + "\n"


def rss(count):
    with tempfile.NamedTemporaryFile("w", suffix=".yaml", delete=False) as file:
        file.write(config(count))
    try:
        proxy = subprocess.Popen(
            [BINARY, "--config", file.name, "--host", "127.0.0.1", "--port", "0"],
            env=dict(os.environ, RUST_LOG="error"),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        time.sleep(8)
        with open(f"/proc/{proxy.pid}/status") as status:
            kib = next(int(line.split()[1]) for line in status if line.startswith("VmRSS:"))
        proxy.terminate()
        proxy.wait()
        return kib * 1024
    finally:
        os.unlink(file.name)


def main():
    one, many = rss(1), rss(2001)
    print(f"1 deployment: {one / 1e6:.1f} MB; 2,001: {many / 1e6:.1f} MB;"
          f" {(many - one) / 2000 / 1e3:.1f} KB per deployment")


if __name__ == "__main__":
    main()
