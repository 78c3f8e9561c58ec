//! Anthropic's Messages API through the real stack (messages edge → messages layer → the
//! Gemini chat stack → HTTP) against the wiremock stand-in: the exact Gemini bodies, whole
//! and streamed replies from recordings, tools with thought signatures over two turns,
//! `cache_control` reaching `cachedContents`, `count_tokens`, errors in Anthropic's
//! envelope, and the proxy's routes and door.

#[path = "common/cache.rs"]
mod cache;
mod common;
#[cfg(feature = "proxy")]
#[path = "common/proxy.rs"]
mod proxy_app;

use std::time::Duration;

use bytes::Bytes;
use common::{
    StandIn, TEST_KEY, exchange, fixture_file, ok_reply, post_json, recorded_body as recorded,
    recorded_sse,
};
use llm_tower::edge::MessagesEdge;
use llm_tower::layers::messages::Messages;
use llm_tower::layers::messages::ThoughtState;
use llm_tower::providers::openai_compatible::OpenAiCompatible;
use llm_tower::{ChatService, Secret};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

const FLASH: &str = "gemini-2.5-flash";

fn edge(stand_in: &StandIn) -> MessagesEdge<Messages<ChatService>> {
    MessagesEdge::new(Messages::new(stand_in.gemini.chat_service()))
}

/// A POST through the messages edge: status, content type and body.
async fn post(stand_in: &StandIn, uri: &str, body: &Value) -> (u16, String, Bytes) {
    let (status, headers, bytes) = post_json(edge(stand_in), uri, body).await;
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, bytes)
}

/// A POST that must succeed with JSON.
async fn create(stand_in: &StandIn, body: &Value) -> Value {
    let (status, content_type, bytes) = post(stand_in, "/v1/messages", body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type, "application/json");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// An Anthropic SSE body as `(event name, data)` pairs, checking the framing exactly:
/// each event is `event: <type>` then `data: <json>` whose `type` is the same name.
fn events(body: &[u8]) -> Vec<(String, Value)> {
    let text = std::str::from_utf8(body).expect("UTF-8");
    assert!(text.ends_with("\n\n"), "{text:?}");
    text.split_terminator("\n\n")
        .map(|event| {
            let (name, data) = event.split_once('\n').expect("two lines");
            let name = name.strip_prefix("event: ").expect("event line").to_owned();
            let data: Value = serde_json::from_str(data.strip_prefix("data: ").expect("data line"))
                .expect("JSON data");
            assert_eq!(data["type"], name.as_str());
            (name, data)
        })
        .collect()
}

fn names(events: &[(String, Value)]) -> Vec<&str> {
    events.iter().map(|(name, _)| name.as_str()).collect()
}

#[tokio::test]
async fn a_whole_reply_and_the_exact_gemini_body() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let reply = create(
        &stand_in,
        &json!({
            "model": FLASH, "max_tokens": 256, "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hi"}],
            "temperature": 0.3, "top_k": 20, "stop_sequences": ["END"],
            "metadata": {"user_id": "u-1"}
        }),
    )
    .await;
    assert_eq!(
        stand_in.received_body().await,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "Hi"}]}],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "generationConfig": {"temperature": 0.3, "topK": 20, "maxOutputTokens": 256, "stopSequences": ["END"]}
        })
    );
    let id = reply["id"].as_str().expect("id");
    assert!(id.starts_with("msg_") && id.len() == 28, "{id}");
    assert_eq!(
        reply,
        json!({
            "id": id, "type": "message", "role": "assistant", "model": FLASH,
            "content": [{"type": "text", "text": "ok"}],
            "stop_reason": "end_turn", "stop_sequence": null,
            "usage": {"input_tokens": 1, "output_tokens": 1,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}
        })
    );
}

/// The parts of candidate 0 over every event of a recorded Gemini stream, in order.
fn streamed_parts(sse: &str) -> Vec<Value> {
    sse.split("\r\n\r\n")
        .filter_map(|event| event.trim().strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .flat_map(|event| {
            event["candidates"][0]["content"]["parts"]
                .as_array()
                .cloned()
                .unwrap_or_default()
        })
        .collect()
}

/// The content an SDK assembles from the events: blocks by index, deltas appended.
fn assemble(events: &[(String, Value)]) -> Vec<Value> {
    let mut blocks: Vec<Value> = Vec::new();
    for (name, data) in events {
        match name.as_str() {
            "content_block_start" => {
                assert_eq!(data["index"], blocks.len());
                blocks.push(data["content_block"].clone());
            }
            "content_block_delta" => {
                let block = &mut blocks[data["index"].as_u64().expect("index") as usize];
                let delta = &data["delta"];
                let (field, piece) = match delta["type"].as_str().expect("type") {
                    "text_delta" => ("text", &delta["text"]),
                    "thinking_delta" => ("thinking", &delta["thinking"]),
                    "signature_delta" => ("signature", &delta["signature"]),
                    "input_json_delta" => ("partial_json", &delta["partial_json"]),
                    other => panic!("unknown delta {other}"),
                };
                let text = format!(
                    "{}{}",
                    block[field].as_str().unwrap_or_default(),
                    piece.as_str().expect("text")
                );
                block[field] = json!(text);
            }
            _ => {}
        }
    }
    for block in &mut blocks {
        if let Some(json) = block
            .as_object_mut()
            .and_then(|block| block.remove("partial_json"))
        {
            block["input"] =
                serde_json::from_str(json.as_str().expect("text")).expect("JSON input");
        }
    }
    blocks
}

#[tokio::test]
async fn a_streamed_reply_comes_in_anthropic_event_order_and_ends_with_its_text() {
    let stand_in = StandIn::start().await;
    let sse = recorded_sse("18", 0);
    stand_in.reply_sse(FLASH, &sse).await;
    let (status, content_type, body) = post(
        &stand_in,
        "/v1/messages",
        &json!({"model": FLASH, "max_tokens": 512, "stream": true,
                "messages": [{"role": "user", "content": "What is a solar eclipse?"}]}),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type, "text/event-stream");
    let events = events(&body);
    let names = names(&events);
    assert_eq!(
        &names[..3],
        ["message_start", "content_block_start", "ping"],
        "{names:?}"
    );
    assert_eq!(&names[names.len() - 2..], ["message_delta", "message_stop"]);
    // The recording's thought and text, in order; the text is the last block (its
    // signature, on the recording's last and empty part, is not carried by a stream).
    let parts = streamed_parts(&sse);
    let text_of = |thought: bool| -> String {
        parts
            .iter()
            .filter(|part| (part["thought"] == true) == thought)
            .filter_map(|part| part["text"].as_str())
            .collect()
    };
    let content = assemble(&events);
    assert_eq!(
        content,
        [
            json!({"type": "thinking", "thinking": text_of(true), "signature": ""}),
            json!({"type": "text", "text": text_of(false)}),
        ]
    );
    let (_, delta) = &events[events.len() - 2];
    assert_eq!(delta["delta"]["stop_reason"], "end_turn");
    assert_eq!(
        delta["usage"],
        json!({"input_tokens": 26, "output_tokens": 378,
               "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0})
    );

    // The assembled turn is accepted back as it is.
    stand_in.server.reset().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    create(
        &stand_in,
        &json!({"model": FLASH, "max_tokens": 512, "messages": [
            {"role": "user", "content": "What is a solar eclipse?"},
            {"role": "assistant", "content": content},
            {"role": "user", "content": "And a lunar one?"}
        ]}),
    )
    .await;
    assert_eq!(
        stand_in.received_body().await["contents"][1],
        json!({"role": "model", "parts": [
            {"text": text_of(true), "thought": true},
            {"text": text_of(false)}
        ]})
    );
}

#[tokio::test]
async fn tools_and_thinking_round_trip_their_signatures_over_two_turns() {
    let stand_in = StandIn::start().await;
    let call_reply = recorded("29", 0);
    let answer = recorded("29", 1);
    let tools = json!([{"name": "get_weather", "description": "Get the weather.",
        "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}}]);
    stand_in.reply_json(FLASH, 200, &call_reply).await;
    let first = create(
        &stand_in,
        &json!({
            "model": FLASH, "max_tokens": 8192, "tools": tools,
            "thinking": {"type": "enabled", "budget_tokens": 4096},
            "tool_choice": {"type": "auto"},
            "messages": [{"role": "user", "content": "Weather in Tokyo?"}]
        }),
    )
    .await;
    let sent = stand_in.received_body().await;
    assert_eq!(
        sent["tools"],
        json!([{"functionDeclarations": [{"name": "get_weather", "description": "Get the weather.",
            "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}, "required": ["city"]}}]}])
    );
    assert_eq!(
        sent["generationConfig"]["thinkingConfig"],
        json!({"includeThoughts": true, "thinkingBudget": 4096})
    );
    assert_eq!(first["stop_reason"], "tool_use");
    let content = first["content"].as_array().expect("content");
    let types: Vec<&str> = content
        .iter()
        .map(|block| block["type"].as_str().expect("type"))
        .collect();
    assert_eq!(types, ["thinking", "thinking", "tool_use"]);
    let thought = call_reply["candidates"][0]["content"]["parts"][0]["text"].clone();
    assert_eq!(content[0]["thinking"], thought);
    assert_eq!(content[1]["thinking"], "");
    let carried = content[1]["signature"].as_str().expect("signature");
    assert!(carried.starts_with("llm-tower.1."), "{carried}");
    let call_id = content[2]["id"].as_str().expect("id");
    assert!(!call_id.contains("__thought__"), "{call_id}");
    assert_eq!(content[2]["input"], json!({"city": "Tokyo"}));

    // The client sends the assistant turn back as it got it, with the tool's result.
    stand_in.server.reset().await;
    stand_in.reply_json(FLASH, 200, &answer).await;
    let second = create(
        &stand_in,
        &json!({
            "model": FLASH, "max_tokens": 8192, "tools": tools,
            "thinking": {"type": "enabled", "budget_tokens": 4096},
            "messages": [
                {"role": "user", "content": "Weather in Tokyo?"},
                {"role": "assistant", "content": content},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": call_id, "content": "72F, sunny"}]}
            ]
        }),
    )
    .await;
    assert_eq!(
        stand_in.received_body().await["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Weather in Tokyo?"}]},
            {"role": "model", "parts": [
                {"text": thought, "thought": true},
                {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}},
                 "thoughtSignature": "signature_REDACTED_1"}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"content": "72F, sunny"}}}
            ]}
        ])
    );
    assert_eq!(second["stop_reason"], "end_turn");
    assert_eq!(
        second["content"][0]["text"],
        answer["candidates"][0]["content"]["parts"][0]["text"]
    );
}

#[tokio::test]
async fn a_streamed_tool_call_with_thinking_carries_its_signature() {
    let stand_in = StandIn::start().await;
    let (model, sse) = common::recorded("30", 0);
    stand_in.reply_sse(&model, &sse).await;
    let (status, _, body) = post(
        &stand_in,
        "/v1/messages",
        &json!({
            "model": model, "max_tokens": 8192, "stream": true,
            "thinking": {"type": "enabled", "budget_tokens": 4096},
            "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "messages": [{"role": "user", "content": "Weather in Tokyo?"}]
        }),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let events = events(&body);
    let started: Vec<&str> = events
        .iter()
        .filter(|(name, _)| name == "content_block_start")
        .map(|(_, data)| data["content_block"]["type"].as_str().expect("type"))
        .collect();
    assert!(started.contains(&"tool_use"), "{started:?}");
    // The call's signature rides in the thinking block just before it.
    let content = assemble(&events);
    let call = content
        .iter()
        .position(|block| block["type"] == "tool_use")
        .expect("a call");
    assert_eq!(content[call - 1]["type"], "thinking");
    assert_eq!(content[call - 1]["thinking"], "");
    let carried = content[call - 1]["signature"].as_str().expect("signature");
    let state = ThoughtState::decode(carried).expect("carried state");
    assert_eq!(
        state.calls.keys().collect::<Vec<_>>(),
        [content[call]["id"].as_str().expect("id")]
    );
    let recorded_signature = streamed_parts(&sse)
        .into_iter()
        .find(|part| part.get("functionCall").is_some())
        .and_then(|part| part["thoughtSignature"].as_str().map(str::to_owned))
        .expect("the recorded call has a signature");

    // The next turn puts it back on the call.
    stand_in.server.reset().await;
    stand_in.reply_json(&model, 200, &ok_reply()).await;
    let id = content[call]["id"].clone();
    create(
        &stand_in,
        &json!({
            "model": model, "max_tokens": 8192,
            "tools": [{"name": "get_weather", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
            "messages": [
                {"role": "user", "content": "Weather in Tokyo?"},
                {"role": "assistant", "content": content},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": id, "content": "sunny"}]}
            ]
        }),
    )
    .await;
    let sent = stand_in.received_body().await;
    let model_parts = sent["contents"][1]["parts"].as_array().expect("parts");
    let sent_call = model_parts
        .iter()
        .find(|part| part.get("functionCall").is_some())
        .expect("the call");
    assert_eq!(sent_call["thoughtSignature"], recorded_signature.as_str());
    assert_eq!(
        events[events.len() - 2].1["delta"]["stop_reason"],
        "tool_use"
    );
    // Every block that starts stops, in order.
    let mut open = None;
    for (name, data) in &events {
        match name.as_str() {
            "content_block_start" => {
                assert_eq!(open, None);
                open = data["index"].as_u64();
            }
            "content_block_delta" => assert_eq!(open, data["index"].as_u64()),
            "content_block_stop" => {
                assert_eq!(open, data["index"].as_u64());
                open = None;
            }
            _ => {}
        }
    }
}

#[tokio::test]
async fn cache_control_marks_the_head_that_goes_into_cached_contents() {
    let stand_in = StandIn::start().await;
    let contract = cache::long_contract();
    cache::expect_empty_list(&stand_in.server, 1).await;
    cache::expect_create(&stand_in.server, cache::RECORDED_CACHE, Duration::ZERO, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .and(body_json(json!({
            "contents": [{"role": "user", "parts": [{"text": "Summarise clause 2"}]}],
            "cachedContent": cache::RECORDED_CACHE,
            "generationConfig": {"maxOutputTokens": 100}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
            "usageMetadata": {"promptTokenCount": 2600, "cachedContentTokenCount": 2590,
                              "candidatesTokenCount": 1, "totalTokenCount": 2601}
        })))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    let reply = create(
        &stand_in,
        &json!({
            "model": FLASH, "max_tokens": 100,
            "system": [{"type": "text", "text": "You are a contracts lawyer."}],
            "messages": [{"role": "user", "content": [
                {"type": "text", "text": contract, "cache_control": {"type": "ephemeral", "ttl": "3600s"}},
                {"type": "text", "text": "Summarise clause 2"}
            ]}]
        }),
    )
    .await;
    let usage = &reply["usage"];
    let created = usage["cache_creation_input_tokens"]
        .as_u64()
        .expect("created");
    assert!(created > 0, "{usage}");
    assert_eq!(
        usage["input_tokens"].as_u64().expect("input")
            + created
            + usage["cache_read_input_tokens"].as_u64().expect("read"),
        2600,
        "every prompt token counted once: {usage}"
    );
}

/// Answers `countTokens` for `model` with 7 tokens, once, for exactly
/// `generate_content_request`.
async fn count_answers(stand_in: &StandIn, model: &str, generate_content_request: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{model}:countTokens")))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(body_json(
            json!({"generateContentRequest": generate_content_request}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(recorded("78", 0)))
        .expect(1)
        .mount(&stand_in.server)
        .await;
}

/// Posts `request` to `count_tokens`, which must answer 7 tokens.
async fn assert_counted_seven(stand_in: &StandIn, request: &Value) {
    let (status, _, body) = post(stand_in, "/v1/messages/count_tokens", request).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        serde_json::from_slice::<Value>(&body).expect("JSON"),
        json!({"input_tokens": 7})
    );
}

#[tokio::test]
async fn count_tokens_asks_gemini_count_tokens() {
    let stand_in = StandIn::start().await;
    count_answers(
        &stand_in,
        FLASH,
        json!({
            "model": format!("models/{FLASH}"),
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "How many tokens is this?"}]}],
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}}}]}]
        }),
    )
    .await;
    assert_counted_seven(
        &stand_in,
        &json!({
            "model": FLASH, "system": "Be brief.",
            "tools": [{"name": "f", "input_schema": {"type": "object", "properties": {"q": {"type": "string"}}}}],
            "messages": [{"role": "user", "content": "How many tokens is this?"}]
        }),
    )
    .await;
}

#[tokio::test]
async fn count_tokens_ignores_the_generation_settings() {
    // Gemini 2.5 Pro cannot turn thinking off: carried, `thinking: disabled` would fail
    // the count.
    const PRO: &str = "gemini-2.5-pro";
    let stand_in = StandIn::start().await;
    count_answers(
        &stand_in,
        PRO,
        json!({
            "model": format!("models/{PRO}"),
            "contents": [{"role": "user", "parts": [{"text": "How many tokens is this?"}]}],
            "tools": [{"functionDeclarations": [{"name": "f"}]}]
        }),
    )
    .await;
    assert_counted_seven(
        &stand_in,
        &json!({
            "model": PRO, "max_tokens": 1024, "stream": true, "temperature": 0.2,
            "top_p": 0.9, "top_k": 5, "stop_sequences": ["END"], "metadata": {"user_id": "u1"},
            "thinking": {"type": "disabled"}, "output_config": {"effort": "max"},
            "tool_choice": {"type": "tool", "name": "f"},
            "tools": [{"name": "f", "input_schema": {"type": "object"}}],
            "messages": [{"role": "user", "content": "How many tokens is this?"}]
        }),
    )
    .await;
}

#[tokio::test]
async fn consecutive_messages_of_one_role_are_one_turn() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let reply = create(
        &stand_in,
        &json!({"model": FLASH, "max_tokens": 8, "messages": [
            {"role": "user", "content": "Hi."},
            {"role": "user", "content": [{"type": "text", "text": "Are you there?"}]},
            {"role": "assistant", "content": "Yes."},
            {"role": "assistant", "content": [{"type": "text", "text": " Still here."}]},
            {"role": "user", "content": "Good."}
        ]}),
    )
    .await;
    assert_eq!(reply["type"], "message");
    assert_eq!(
        stand_in.received_body().await["contents"],
        json!([
            {"role": "user", "parts": [{"text": "Hi."}, {"text": "Are you there?"}]},
            {"role": "model", "parts": [{"text": "Yes. Still here."}]},
            {"role": "user", "parts": [{"text": "Good."}]}
        ])
    );
}

#[tokio::test]
async fn errors_use_anthropic_envelope_and_statuses() {
    let stand_in = StandIn::start().await;
    let overloaded = exchange(&fixture_file("67"), 0).1;
    stand_in.reply_json(FLASH, 503, &overloaded["body"]).await;
    let (status, _, body) = post(
        &stand_in,
        "/v1/messages",
        &json!({"model": FLASH, "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 529, "{}", String::from_utf8_lossy(&body));
    let error: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "overloaded_error");
    assert!(
        error["error"]["message"]
            .as_str()
            .expect("message")
            .contains("overloaded"),
        "{error}"
    );

    let requests_before = stand_in.received_bodies().await.len();
    for (body, field) in [
        (
            json!({"model": FLASH, "messages": [{"role": "user", "content": "hi"}]}),
            "max_tokens",
        ),
        (
            json!({"model": FLASH, "max_tokens": 8, "messages": []}),
            "messages",
        ),
        (
            json!({"model": FLASH, "max_tokens": 8, "messages": [{"role": "user", "content": 7}]}),
            "messages[0].content",
        ),
    ] {
        let (status, content_type, bytes) = post(&stand_in, "/v1/messages", &body).await;
        assert_eq!(status, 400, "{body}");
        assert_eq!(content_type, "application/json");
        let error: Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(error["type"], "error");
        assert_eq!(error["error"]["type"], "invalid_request_error");
        assert!(
            error["error"]["message"]
                .as_str()
                .expect("message")
                .contains(field),
            "{error}"
        );
    }
    assert_eq!(
        stand_in.received_bodies().await.len(),
        requests_before,
        "nothing sent"
    );
}

#[tokio::test]
async fn a_get_is_405_with_allow_post_in_anthropic_envelope() {
    use tower::ServiceExt;
    let stand_in = StandIn::start().await;
    for uri in ["/v1/messages", "/v1/messages/count_tokens"] {
        let request = http::Request::get(uri)
            .body(http_body_util::Full::new(Bytes::new()))
            .expect("request");
        let response = edge(&stand_in)
            .oneshot(request)
            .await
            .unwrap_or_else(|never| match never {});
        assert_eq!(response.status(), 405, "{uri}");
        assert_eq!(response.headers()["allow"], "POST", "{uri}");
        let error: Value =
            serde_json::from_slice(&common::body_bytes(response).await).expect("JSON");
        assert_eq!(error["type"], "error");
        assert_eq!(error["error"]["type"], "invalid_request_error");
    }
    assert!(stand_in.received_bodies().await.is_empty(), "nothing sent");
}

#[tokio::test]
async fn a_reply_names_the_built_in_tools_its_model_dropped() {
    // Gemini 2.5 takes no built-in tool beside functions: `web_search` is dropped, and the
    // answer says so, as on the chat edge; a request that dropped nothing has no header.
    let weather = json!({"name": "weather", "input_schema": {"type": "object"}});
    for (tools, dropped) in [
        (
            json!([{"type": "web_search_20250305", "name": "web_search"}, weather]),
            Some("googleSearch"),
        ),
        (json!([weather]), None),
    ] {
        let stand_in = StandIn::start().await;
        stand_in.reply_json(FLASH, 200, &ok_reply()).await;
        let (status, headers, body) = post_json(
            edge(&stand_in),
            "/v1/messages",
            &json!({"model": FLASH, "max_tokens": 8, "tools": tools,
                    "messages": [{"role": "user", "content": "hi"}]}),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
        assert_eq!(
            headers
                .get("x-llm-tower-dropped-tools")
                .map(|value| value.to_str().expect("ASCII")),
            dropped
        );
        assert_eq!(
            stand_in.received_body().await["tools"],
            json!([{"functionDeclarations": [{"name": "weather"}]}])
        );
    }
}

#[tokio::test]
async fn a_stream_that_fails_after_its_start_ends_with_an_error_event() {
    let stand_in = StandIn::start().await;
    stand_in.reply_sse(FLASH, &recorded_sse("73", 0)).await;
    let (status, _, body) = post(
        &stand_in,
        "/v1/messages",
        &json!({"model": FLASH, "max_tokens": 64, "stream": true,
                "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 200);
    let events = events(&body);
    assert_eq!(
        names(&events),
        [
            "message_start",
            "content_block_start",
            "ping",
            "content_block_delta",
            "error"
        ]
    );
    assert_eq!(events[4].1["error"]["type"], "overloaded_error");
}

#[tokio::test]
async fn an_upstream_stream_with_no_event_is_a_502_in_anthropic_envelope() {
    // An OpenAI-compatible upstream that answers a stream with `[DONE]` alone.
    let server = wiremock::MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(b"data: [DONE]\n\n".to_vec(), "text/event-stream"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let openai = OpenAiCompatible::builder()
        .api_base(format!("{}/v1", server.uri()))
        .api_key(Secret::new("sk-test-not-real"))
        .build()
        .expect("provider builds");
    let (status, headers, body) = post_json(
        MessagesEdge::new(Messages::new(openai.chat_service())),
        "/v1/messages",
        &json!({"model": "gpt-4o-mini", "max_tokens": 64, "stream": true,
                "messages": [{"role": "user", "content": "hi"}]}),
    )
    .await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    assert_eq!(headers["content-type"], "application/json");
    let error: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(error["type"], "error");
    assert_eq!(
        error["error"],
        json!({"type": "api_error", "message": "the upstream stream ended before its first event"})
    );
}

#[cfg(feature = "proxy")]
#[tokio::test]
async fn the_proxy_serves_messages_behind_the_master_key() {
    use tower::ServiceExt;

    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let proxy = proxy_app::gemini_proxy(&stand_in, "sk-master", "");
    let request = |key_header: (&str, &str), body: Value| {
        http::Request::post("/v1/messages")
            .header(key_header.0, key_header.1)
            .header("anthropic-version", "2023-06-01")
            .header("anthropic-beta", "interleaved-thinking-2025-05-14")
            .header("content-type", "application/json")
            .body(http_body_util::Full::new(Bytes::from(body.to_string())))
            .expect("request")
    };
    let body = json!({"model": "gemini-flash", "max_tokens": 16,
                      "messages": [{"role": "user", "content": "hi"}]});
    for key in [
        ("x-api-key", "sk-master"),
        ("authorization", "Bearer sk-master"),
    ] {
        let response = proxy
            .clone()
            .oneshot(request(key, body.clone()))
            .await
            .unwrap_or_else(|never| match never {});
        assert_eq!(response.status(), 200, "{key:?}");
        let reply: Value =
            serde_json::from_slice(&common::body_bytes(response).await).expect("JSON");
        assert_eq!(reply["content"], json!([{"type": "text", "text": "ok"}]));
        assert_eq!(reply["model"], "gemini-flash");
    }
    let response = proxy
        .clone()
        .oneshot(request(("x-api-key", "sk-wrong"), body))
        .await
        .unwrap_or_else(|never| match never {});
    assert_eq!(response.status(), 401);
    let error: Value = serde_json::from_slice(&common::body_bytes(response).await).expect("JSON");
    assert_eq!(error["type"], "error");
    assert_eq!(error["error"]["type"], "authentication_error");
}

#[tokio::test]
async fn the_request_limits_of_the_other_endpoints_apply() {
    use llm_tower::edge::{MessagesEdgeLayer, RequestLimits};
    use tower::Layer;

    let stand_in = StandIn::start().await;
    let mut limits = RequestLimits::default();
    limits.max_messages = 2;
    limits.max_content_parts = 3;
    let edge = MessagesEdgeLayer::new()
        .limits(limits)
        .layer(Messages::new(stand_in.gemini.chat_service()));
    let turns = json!([
        {"role": "user", "content": "a"},
        {"role": "assistant", "content": "b"},
        {"role": "user", "content": "c"}
    ]);
    let blocks = json!([{"role": "user", "content": [
        {"type": "text", "text": "1"}, {"type": "text", "text": "2"},
        {"type": "text", "text": "3"}, {"type": "text", "text": "4"}
    ]}]);
    for (messages, field) in [(turns, "messages"), (blocks, "content")] {
        let body = json!({"model": FLASH, "max_tokens": 8, "messages": messages});
        let (status, _, bytes) = post_json(edge.clone(), "/v1/messages", &body).await;
        assert_eq!(status, 400);
        let error: Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(error["error"]["type"], "invalid_request_error");
        assert!(
            error["error"]["message"]
                .as_str()
                .expect("message")
                .contains(field),
            "{error}"
        );
    }
    assert!(stand_in.received_bodies().await.is_empty(), "nothing sent");
}
