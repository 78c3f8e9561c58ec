"""The official OpenAI Python SDK with a LiteLLM virtual key: the master key makes the key
(`/key/generate`, called over plain HTTP as LiteLLM's docs show it with curl), the SDK calls its
model, is refused another (403, `PermissionDeniedError`), spend shows in `/key/info`, and
after `/key/delete` the key is an `AuthenticationError`. Run by tests/clients/run.sh against
the proxy and the Gemini stand-in."""

import json
import os
import time
import urllib.parse
import urllib.request

import openai
import pytest

PROXY_URL = os.environ.get("PROXY_URL", "http://127.0.0.1:4000")
MASTER_KEY = "sk-test-1234"
MODEL = "gemini-flash"


def admin(method: str, path: str, body: dict | None = None, query: dict | None = None) -> dict:
    url = f"{PROXY_URL}{path}" + (f"?{urllib.parse.urlencode(query)}" if query else "")
    request = urllib.request.Request(
        url,
        method=method,
        data=None if body is None else json.dumps(body).encode(),
        headers={"Authorization": f"Bearer {MASTER_KEY}", "Content-Type": "application/json"},
    )
    with urllib.request.urlopen(request, timeout=30) as reply:
        assert reply.status == 200
        return json.load(reply)


def sdk(key: str) -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{PROXY_URL}/v1", api_key=key, max_retries=0, timeout=30)


def test_a_virtual_key_through_the_openai_sdk():
    made = admin("POST", "/key/generate", {"key_alias": "sdk-test", "models": [MODEL], "max_budget": 10})
    key = made["key"]
    assert key.startswith("sk-") and made["key_alias"] == "sdk-test"

    client = sdk(key)
    reply = client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
    assert reply.choices[0].message.content

    with pytest.raises(openai.PermissionDeniedError):
        client.chat.completions.create(model="gemini/gemini-2.5-pro", messages=[{"role": "user", "content": "hi"}])

    # Spend is written within about a second.
    deadline = time.monotonic() + 5
    while True:
        info = admin("GET", "/key/info", query={"key": key})["info"]
        if info["spend"] > 0 or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert info["spend"] > 0, info

    assert admin("POST", "/key/delete", {"keys": [key]})["deleted_keys"] == [key]
    with pytest.raises(openai.AuthenticationError):
        client.chat.completions.create(model=MODEL, messages=[{"role": "user", "content": "hi"}])
