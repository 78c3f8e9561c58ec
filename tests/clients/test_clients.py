"""Real SDKs against the proxy, which talks to the Gemini stand-in (examples/stand_in.rs):
the official `openai` SDK (chat, completions, embeddings, the Responses API), the OpenAI
Agents SDK (`openai-agents`) and `google-genai`.

Run through tests/clients/run.sh, which builds and starts both servers and sets PROXY_URL.
Expected values come from the same recorded fixtures the stand-in serves.
"""

import json
import os
import pathlib

import agents
import openai
import pydantic
import pytest
from google import genai
from google.genai import types

PROXY_URL = os.environ.get("PROXY_URL", "http://127.0.0.1:4000")
MASTER_KEY = "sk-test-1234"
MODEL = "gemini-flash"
FIXTURES = pathlib.Path(__file__).resolve().parents[1] / "fixtures" / "gemini"


def fixture_response(number: str, exchange: int = 0) -> dict:
    (path,) = FIXTURES.glob(f"{number}-*.json")
    return json.loads(path.read_text())["exchanges"][exchange]["response"]


def visible_text(candidate: dict) -> str:
    return "".join(
        part.get("text", "") for part in candidate["content"]["parts"] if not part.get("thought")
    )


TEXT_REPLY = fixture_response("01")["body"]
TEXT = visible_text(TEXT_REPLY["candidates"][0])
USAGE = TEXT_REPLY["usageMetadata"]
JSON_TEXT = visible_text(fixture_response("04")["body"]["candidates"][0])
TOOL_CALL = next(
    part["functionCall"]
    for part in fixture_response("29", 0)["body"]["candidates"][0]["content"]["parts"]
    if "functionCall" in part
)
AFTER_TOOL_TEXT = visible_text(fixture_response("29", 1)["body"]["candidates"][0])


def stream_text() -> str:
    text = []
    for event in fixture_response("18")["sse"].split("\r\n\r\n"):
        if event.startswith("data: "):
            for candidate in json.loads(event[len("data: ") :]).get("candidates", []):
                text.append(visible_text(candidate))
    return "".join(text)


STREAM_TEXT = stream_text()

WEATHER_TOOL = {
    "type": "function",
    "function": {
        "name": TOOL_CALL["name"],
        "description": "Get the current weather for a city.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name"}},
            "required": ["city"],
        },
    },
}


@pytest.fixture(scope="module")
def client() -> openai.OpenAI:
    return openai.OpenAI(base_url=f"{PROXY_URL}/v1", api_key=MASTER_KEY, max_retries=0, timeout=30)


def ask(content: str = "hi") -> list:
    return [{"role": "user", "content": content}]


def test_plain_chat(client):
    reply = client.chat.completions.create(model=MODEL, messages=ask())
    assert reply.object == "chat.completion"
    assert len(reply.choices) == 1
    choice = reply.choices[0]
    assert choice.message.role == "assistant"
    assert choice.message.content == TEXT
    assert choice.finish_reason == "stop"
    assert reply.usage.prompt_tokens == USAGE["promptTokenCount"]
    assert reply.usage.completion_tokens == USAGE["candidatesTokenCount"] + USAGE["thoughtsTokenCount"]
    assert reply.usage.total_tokens == USAGE["totalTokenCount"]
    assert reply.usage.completion_tokens_details.reasoning_tokens == USAGE["thoughtsTokenCount"]


def test_wildcard_model(client):
    reply = client.chat.completions.create(model="gemini/gemini-2.5-pro", messages=ask())
    assert reply.choices[0].message.content == TEXT


def test_stream(client):
    stream = client.chat.completions.create(
        model=MODEL, messages=ask(), stream=True, stream_options={"include_usage": True}
    )
    deltas, finish_reasons, usage = [], [], None
    for chunk in stream:
        assert chunk.object == "chat.completion.chunk"
        for choice in chunk.choices:
            if choice.delta.content:
                deltas.append(choice.delta.content)
            if choice.finish_reason:
                finish_reasons.append(choice.finish_reason)
        if chunk.usage is not None:
            usage = chunk.usage
    assert "".join(deltas) == STREAM_TEXT
    assert finish_reasons == ["stop"]
    assert usage is not None and usage.total_tokens > 0


def test_tool_call_round_trip(client):
    messages = ask("What is the weather in Tokyo? Use the tool.")
    first = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    choice = first.choices[0]
    assert choice.finish_reason == "tool_calls"
    (call,) = choice.message.tool_calls
    assert call.type == "function"
    assert isinstance(call.id, str) and call.id
    assert call.function.name == TOOL_CALL["name"]
    assert json.loads(call.function.arguments) == TOOL_CALL["args"]

    messages.append(choice.message.model_dump(exclude_none=True))
    messages.append({"role": "tool", "tool_call_id": call.id, "content": "72F (22C), sunny"})
    second = client.chat.completions.create(model=MODEL, messages=messages, tools=[WEATHER_TOOL])
    assert second.choices[0].finish_reason == "stop"
    assert second.choices[0].message.content == AFTER_TOOL_TEXT
    assert not second.choices[0].message.tool_calls


def test_tool_call_unrecorded_function(client):
    tool = {
        "type": "function",
        "function": {"name": "lookup_order", "parameters": {"type": "object", "properties": {}}},
    }
    reply = client.chat.completions.create(model=MODEL, messages=ask("look it up"), tools=[tool])
    (call,) = reply.choices[0].message.tool_calls
    assert call.function.name == "lookup_order"
    assert json.loads(call.function.arguments) == {}


def test_json_mode(client):
    reply = client.chat.completions.create(
        model=MODEL, messages=ask("an event as JSON"), response_format={"type": "json_object"}
    )
    content = reply.choices[0].message.content
    assert content == JSON_TEXT
    assert isinstance(json.loads(content), dict)


def test_legacy_completion(client):
    reply = client.completions.create(model=MODEL, prompt="hi")
    assert reply.object == "text_completion"
    assert reply.choices[0].text == TEXT
    assert reply.choices[0].finish_reason == "stop"
    assert reply.usage.prompt_tokens == USAGE["promptTokenCount"]
    stream = client.completions.create(model=MODEL, prompt="hi", stream=True)
    assert "".join(chunk.choices[0].text for chunk in stream if chunk.choices) == STREAM_TEXT


EMBEDDINGS = [item["values"] for item in fixture_response("77")["body"]["embeddings"]]


def test_embeddings(client):
    # The SDK asks for base64 unless told otherwise and decodes the little-endian floats.
    reply = client.embeddings.create(
        model="gemini/gemini-embedding-001", input=["hello", "world"], dimensions=4
    )
    assert [item.index for item in reply.data] == [0, 1]
    for item, expected in zip(reply.data, EMBEDDINGS):
        assert item.embedding == pytest.approx(expected, rel=1e-6)
    floats = client.embeddings.create(
        model="gemini/gemini-embedding-001", input="hello", encoding_format="float"
    )
    assert floats.data[0].embedding == pytest.approx(EMBEDDINGS[0], rel=1e-6)


def test_wrong_key():
    bad = openai.OpenAI(base_url=f"{PROXY_URL}/v1", api_key="sk-wrong", max_retries=0, timeout=30)
    with pytest.raises(openai.AuthenticationError):
        bad.chat.completions.create(model=MODEL, messages=ask())


def test_unknown_param(client):
    with pytest.raises(openai.BadRequestError) as caught:
        client.chat.completions.create(model=MODEL, messages=ask(), extra_body={"frobnicate_level": 3})
    assert "frobnicate_level" in str(caught.value)


def test_models_list(client):
    ids = [model.id for model in client.models.list()]
    assert MODEL in ids
    assert "gemini/gemini-2.5-pro" in ids  # served by the gemini/* wildcard
    assert client.models.retrieve(MODEL).id == MODEL
    with pytest.raises(openai.NotFoundError):
        client.models.retrieve("no-such-model")


def test_token_id_embeddings_and_their_estimated_usage(client):
    # LangChain's OpenAIEmbeddings sends cl100k_base token ids: "hello world", "hello".
    reply = client.embeddings.create(
        model="gemini/gemini-embedding-001", input=[[15339, 1917], [15339]], dimensions=4
    )
    assert [item.index for item in reply.data] == [0, 1]
    assert reply.usage.prompt_tokens == 3


def test_usage_details_and_cost(client):
    raw = client.chat.completions.with_raw_response.create(model=MODEL, messages=ask())
    reply = raw.parse()
    assert reply.usage.completion_tokens_details.text_tokens == USAGE["candidatesTokenCount"]
    assert getattr(reply.choices[0], "provider_specific_fields")["native_finish_reason"] == "STOP"
    cost = float(raw.headers["x-litellm-response-cost"])
    assert cost > 0 and cost == getattr(reply.usage, "cost")


@pytest.fixture(scope="module")
def google_client() -> genai.Client:
    return genai.Client(
        api_key=MASTER_KEY,
        http_options=types.HttpOptions(base_url=f"{PROXY_URL}/gemini", api_version="v1beta"),
    )


def test_google_genai_generate(google_client):
    reply = google_client.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert reply.text == TEXT
    assert reply.usage_metadata.total_token_count == USAGE["totalTokenCount"]


def test_google_genai_stream(google_client):
    chunks = google_client.models.generate_content_stream(model="gemini-2.5-flash", contents="hi")
    text = "".join(
        part.text
        for chunk in chunks
        for candidate in chunk.candidates or []
        for part in (candidate.content.parts if candidate.content else None) or []
        if part.text and not part.thought
    )
    assert text == STREAM_TEXT


def test_google_genai_wrong_key():
    bad = genai.Client(
        api_key="sk-wrong",
        http_options=types.HttpOptions(base_url=f"{PROXY_URL}/gemini", api_version="v1beta"),
    )
    with pytest.raises(genai.errors.ClientError) as caught:
        bad.models.generate_content(model="gemini-2.5-flash", contents="hi")
    assert caught.value.code == 401
    assert caught.value.status == "UNAUTHENTICATED"


# ---- the Responses API ----


def test_responses_create(client):
    response = client.responses.create(model=MODEL, instructions="Be brief.", input="hi")
    assert response.object == "response"
    assert response.status == "completed"
    assert response.id.startswith("resp_")
    assert response.output_text == TEXT
    assert response.usage.input_tokens == USAGE["promptTokenCount"]
    assert response.usage.output_tokens_details.reasoning_tokens == USAGE["thoughtsTokenCount"]

    again = client.responses.retrieve(response.id)
    assert again.output_text == TEXT
    follow_up = client.responses.create(model=MODEL, previous_response_id=response.id, input="more")
    assert follow_up.previous_response_id == response.id
    items = client.responses.input_items.list(follow_up.id)
    assert [item.content[0].text for item in items.data] == ["more"]
    client.responses.delete(response.id)
    with pytest.raises(openai.NotFoundError):
        client.responses.retrieve(response.id)


def test_responses_stream(client):
    deltas = []
    with client.responses.stream(model=MODEL, input="hi") as stream:
        for event in stream:
            if event.type == "response.output_text.delta":
                deltas.append(event.delta)
        final = stream.get_final_response()
    assert "".join(deltas) == STREAM_TEXT
    assert final.status == "completed"
    assert final.output_text == STREAM_TEXT
    assert [item.type for item in final.output] == ["reasoning", "message"]


class Event(pydantic.BaseModel):
    title: str
    category: str
    summary: str


def test_responses_parse(client):
    response = client.responses.parse(model=MODEL, input="an event as JSON", text_format=Event)
    event = response.output_parsed
    assert isinstance(event, Event)
    assert event == Event.model_validate_json(JSON_TEXT)


def test_agents_sdk_runs_an_agent_with_a_function_tool():
    calls = []

    @agents.function_tool
    def get_weather(city: str) -> str:
        """Get the current weather for a city."""
        calls.append(city)
        return "72F (22C), sunny"

    agents.set_tracing_disabled(True)
    model = agents.OpenAIResponsesModel(
        model=MODEL,
        openai_client=openai.AsyncOpenAI(
            base_url=f"{PROXY_URL}/v1", api_key=MASTER_KEY, max_retries=0, timeout=30
        ),
    )
    agent = agents.Agent(
        name="weather", instructions="Use the tool.", tools=[get_weather], model=model
    )
    result = agents.Runner.run_sync(agent, "What is the weather in Tokyo?")
    assert calls == [TOOL_CALL["args"]["city"]]
    assert result.final_output == AFTER_TOOL_TEXT
