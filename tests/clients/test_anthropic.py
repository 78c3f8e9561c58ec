"""The official `anthropic` SDK against the proxy's Messages API (/v1/messages), which
serves it over the Gemini stand-in (examples/stand_in.rs): messages.create, streaming with
the SDK's helper, tools over two turns with thinking, count_tokens and errors.

Run through tests/clients/run.sh, which builds and starts both servers and sets PROXY_URL.
Expected values come from the same recorded fixtures the stand-in serves.
"""

import json
import os
import pathlib

import anthropic
import pytest

PROXY_URL = os.environ.get("PROXY_URL", "http://127.0.0.1:4000")
MASTER_KEY = "sk-test-1234"
MODEL = "gemini-flash"
FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "gemini"


def fixture(number: str) -> dict:
    (path,) = FIXTURES.glob(f"{number}-*.json")
    return json.loads(path.read_text())


def reply_body(number: str, exchange: int = 0) -> dict:
    return fixture(number)["exchanges"][exchange]["response"]["body"]


def text_of(parts: list, thought: bool = False) -> str:
    return "".join(part.get("text", "") for part in parts if bool(part.get("thought")) == thought)


TEXT_REPLY = reply_body("01")
TEXT = text_of(TEXT_REPLY["candidates"][0]["content"]["parts"])
USAGE = TEXT_REPLY["usageMetadata"]
CALL_PARTS = reply_body("29", 0)["candidates"][0]["content"]["parts"]
TOOL_CALL = next(part["functionCall"] for part in CALL_PARTS if "functionCall" in part)
AFTER_TOOL_TEXT = text_of(reply_body("29", 1)["candidates"][0]["content"]["parts"])
COUNT = reply_body("78")["totalTokens"]


def stream_parts() -> list:
    parts = []
    for event in fixture("18")["exchanges"][0]["response"]["sse"].split("\r\n\r\n"):
        if event.startswith("data: "):
            for candidate in json.loads(event[len("data: ") :]).get("candidates", []):
                parts.extend(candidate["content"]["parts"])
    return parts


STREAM_TEXT = text_of(stream_parts())
STREAM_THOUGHT = text_of(stream_parts(), thought=True)

WEATHER_TOOL = {
    "name": TOOL_CALL["name"],
    "description": "Get the current weather for a city.",
    "input_schema": {
        "type": "object",
        "properties": {"city": {"type": "string", "description": "City name"}},
        "required": ["city"],
    },
}


@pytest.fixture(scope="module")
def client() -> anthropic.Anthropic:
    return anthropic.Anthropic(base_url=PROXY_URL, api_key=MASTER_KEY, max_retries=0, timeout=30)


def ask(content: str = "hi") -> list:
    return [{"role": "user", "content": content}]


def texts(message) -> str:
    return "".join(block.text for block in message.content if block.type == "text")


def test_messages_create(client):
    message = client.messages.create(model=MODEL, max_tokens=1024, system="Be brief.", messages=ask())
    assert message.type == "message"
    assert message.role == "assistant"
    assert message.model == MODEL
    assert message.id.startswith("msg_")
    assert texts(message) == TEXT
    assert message.stop_reason == "end_turn"
    assert message.stop_sequence is None
    assert message.usage.input_tokens == USAGE["promptTokenCount"]
    assert message.usage.output_tokens == USAGE["candidatesTokenCount"] + USAGE["thoughtsTokenCount"]
    assert message.usage.cache_read_input_tokens == 0
    assert message.usage.cache_creation_input_tokens == 0


def test_bearer_auth_works_too():
    bearer = anthropic.Anthropic(
        base_url=PROXY_URL, auth_token=MASTER_KEY, api_key=None, max_retries=0, timeout=30
    )
    message = bearer.messages.create(model=MODEL, max_tokens=64, messages=ask())
    assert texts(message) == TEXT


def test_stream_with_the_helper(client):
    seen = []
    with client.messages.stream(model=MODEL, max_tokens=1024, messages=ask("What is a solar eclipse?")) as stream:
        for text in stream.text_stream:
            seen.append(text)
        final = stream.get_final_message()
    assert "".join(seen) == STREAM_TEXT
    assert texts(final) == STREAM_TEXT
    assert [block.type for block in final.content] == ["thinking", "text"]
    assert final.content[0].thinking == STREAM_THOUGHT
    assert final.stop_reason == "end_turn"
    assert final.usage.output_tokens > 0

    # What the helper assembled is accepted back as the next turn.
    follow_up = client.messages.create(
        model=MODEL,
        max_tokens=64,
        messages=ask("What is a solar eclipse?")
        + [{"role": "assistant", "content": final.content}, {"role": "user", "content": "Thanks"}],
    )
    assert texts(follow_up) == TEXT


def test_tools_over_two_turns_with_thinking(client):
    first = client.messages.create(
        model=MODEL,
        max_tokens=8192,
        thinking={"type": "enabled", "budget_tokens": 4096},
        tools=[WEATHER_TOOL],
        tool_choice={"type": "auto"},
        messages=ask("Weather in Tokyo?"),
    )
    assert first.stop_reason == "tool_use"
    (call,) = [block for block in first.content if block.type == "tool_use"]
    assert call.name == TOOL_CALL["name"]
    assert call.input == TOOL_CALL["args"]
    thinking = [block for block in first.content if block.type == "thinking"]
    assert thinking[0].thinking == text_of(CALL_PARTS, thought=True)
    assert any(block.signature.startswith("llm-tower.1.") for block in thinking)

    second = client.messages.create(
        model=MODEL,
        max_tokens=8192,
        thinking={"type": "enabled", "budget_tokens": 4096},
        tools=[WEATHER_TOOL],
        messages=ask("Weather in Tokyo?")
        + [
            {"role": "assistant", "content": first.content},
            {
                "role": "user",
                "content": [{"type": "tool_result", "tool_use_id": call.id, "content": "72F, sunny"}],
            },
        ],
    )
    assert second.stop_reason == "end_turn"
    assert texts(second) == AFTER_TOOL_TEXT


def test_streamed_tool_call_with_the_helper(client):
    with client.messages.stream(
        model=MODEL, max_tokens=1024, tools=[WEATHER_TOOL], messages=ask("Weather in Tokyo?")
    ) as stream:
        final = stream.get_final_message()
    # The stand-in streams fixture 18 whatever the request: the helper assembles it.
    assert texts(final) == STREAM_TEXT


def test_count_tokens(client):
    count = client.messages.count_tokens(
        model=MODEL, system="Be brief.", tools=[WEATHER_TOOL], messages=ask("How many tokens is this?")
    )
    assert count.input_tokens == COUNT


def test_bad_input_is_a_400_naming_the_field(client):
    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(model=MODEL, max_tokens=0, messages=ask())
    assert raised.value.status_code == 400
    assert raised.value.body["type"] == "error"
    assert raised.value.body["error"]["type"] == "invalid_request_error"
    assert "max_tokens" in raised.value.body["error"]["message"]

    with pytest.raises(anthropic.BadRequestError) as raised:
        client.messages.create(
            model=MODEL,
            max_tokens=64,
            messages=[
                {"role": "user", "content": "a"},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "toolu_x", "content": "1"}]},
            ],
        )
    assert "messages[1]" in raised.value.body["error"]["message"]


def test_a_wrong_key_is_an_authentication_error():
    wrong = anthropic.Anthropic(base_url=PROXY_URL, api_key="sk-wrong", max_retries=0, timeout=30)
    with pytest.raises(anthropic.AuthenticationError) as raised:
        wrong.messages.create(model=MODEL, max_tokens=64, messages=ask())
    assert raised.value.body["error"]["type"] == "authentication_error"
