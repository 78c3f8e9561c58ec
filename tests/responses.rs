//! The Responses API through the real stack (responses edge → responses layer → the Gemini
//! chat stack → HTTP) against the wiremock stand-in: the exact Gemini bodies, whole and
//! streamed replies from recordings, conversation state, thought signatures, structured
//! output, grounding, images, errors and the stored-response routes of the proxy.

mod common;
#[cfg(feature = "proxy")]
#[path = "common/proxy.rs"]
mod proxy_app;

use std::sync::Arc;

use bytes::Bytes;
use common::{
    StandIn, exchange, fixture_file, ok_reply, post_json, recorded_body as recorded, recorded_sse,
};
use llm_tower::edge::RequestLimits;
use llm_tower::edge::ResponsesEdge;
use llm_tower::layers::responses::{ItemsQuery, namespace};
use llm_tower::layers::responses::{Responses, ResponsesLayer};
use llm_tower::store::{MemoryResponseStore, ResponseStore};
use llm_tower::{ChatService, ErrorKind};
use serde_json::{Value, json};
use tower::Layer;

const FLASH: &str = "gemini-2.5-flash";

/// A responses service over the stand-in's chat stack, with its own store.
fn service(stand_in: &StandIn) -> Responses<ChatService> {
    Responses::new(stand_in.gemini.chat_service())
}

/// A POST through the responses edge: status, content type and body.
async fn post(service: &Responses<ChatService>, body: &Value) -> (u16, String, Bytes) {
    let edge = ResponsesEdge::new(service.clone());
    let (status, headers, bytes) = post_json(edge, "/v1/responses", body).await;
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, bytes)
}

/// A POST that must succeed with JSON: the response object.
async fn create(service: &Responses<ChatService>, body: &Value) -> Value {
    let (status, content_type, bytes) = post(service, body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type, "application/json");
    serde_json::from_slice(&bytes).expect("JSON")
}

/// The visible text of candidate 0 of a recorded reply.
fn text_of(reply: &Value) -> String {
    parts_of(reply)
        .iter()
        .filter(|part| part["thought"] != true)
        .filter_map(|part| part["text"].as_str())
        .collect()
}

/// The thought text of candidate 0 of a recorded reply.
fn thoughts_of(reply: &Value) -> String {
    parts_of(reply)
        .iter()
        .filter(|part| part["thought"] == true)
        .filter_map(|part| part["text"].as_str())
        .collect()
}

fn parts_of(reply: &Value) -> Vec<Value> {
    reply["candidates"][0]["content"]["parts"]
        .as_array()
        .expect("parts")
        .clone()
}

/// The `type`s of a response's output items.
fn item_types(response: &Value) -> Vec<String> {
    response["output"]
        .as_array()
        .expect("output")
        .iter()
        .map(|item| item["type"].as_str().expect("type").to_owned())
        .collect()
}

fn assert_response_id(id: &str) {
    let hex = id.strip_prefix("resp_").expect("resp_ prefix");
    assert_eq!(hex.len(), 32, "{id}");
    assert!(hex.bytes().all(|byte| byte.is_ascii_hexdigit()), "{id}");
}

#[tokio::test]
async fn text_input_is_one_user_turn_and_the_reply_a_message_item() {
    let stand_in = StandIn::start().await;
    let reply = recorded("01", 0);
    stand_in.reply_json(FLASH, 200, &reply).await;
    let responses = service(&stand_in);
    let response = create(
        &responses,
        &json!({
            "model": FLASH, "instructions": "Be brief.", "input": "What is Rust?",
            "max_output_tokens": 64, "temperature": 0.5, "metadata": {"run": "7"}
        }),
    )
    .await;
    assert_eq!(
        stand_in.received_body().await,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "What is Rust?"}]}],
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "generationConfig": {"temperature": 0.5, "maxOutputTokens": 64}
        })
    );
    assert_response_id(response["id"].as_str().expect("id"));
    assert_eq!(response["object"], "response");
    assert_eq!(response["status"], "completed");
    assert_eq!(response["model"], FLASH);
    assert_eq!(response["instructions"], "Be brief.");
    assert_eq!(response["max_output_tokens"], 64);
    assert_eq!(response["metadata"], json!({"run": "7"}));
    assert_eq!(response["store"], true);
    assert_eq!(response["error"], Value::Null);
    assert_eq!(response["incomplete_details"], Value::Null);
    assert_eq!(item_types(&response), ["message"]);
    let message = &response["output"][0];
    assert_eq!(message["role"], "assistant");
    assert_eq!(message["status"], "completed");
    assert_eq!(
        message["content"],
        json!([{"type": "output_text", "text": text_of(&reply), "annotations": [], "logprobs": []}])
    );
    // `output_text` is the SDKs' convenience; OpenAI's own JSON has no such field.
    assert!(response.get("output_text").is_none());
    let usage = &reply["usageMetadata"];
    let thoughts = usage["thoughtsTokenCount"].as_u64().expect("thoughts");
    assert_eq!(
        response["usage"],
        json!({
            "input_tokens": usage["promptTokenCount"],
            "input_tokens_details": {"cached_tokens": 0},
            "output_tokens": usage["candidatesTokenCount"].as_u64().unwrap() + thoughts,
            "output_tokens_details": {"reasoning_tokens": thoughts},
            "total_tokens": usage["totalTokenCount"]
        })
    );
}

#[tokio::test]
async fn previous_response_id_continues_the_stored_conversation() {
    let stand_in = StandIn::start().await;
    let reply = recorded("01", 0);
    stand_in.reply_json(FLASH, 200, &reply).await;
    let responses = service(&stand_in);
    let first = create(
        &responses,
        &json!({"model": FLASH, "instructions": "Be brief.", "input": "What is Rust?"}),
    )
    .await;
    let second = create(
        &responses,
        &json!({
            "model": FLASH, "previous_response_id": first["id"],
            "input": [{"role": "user", "content": [{"type": "input_text", "text": "And Go?"}]}]
        }),
    )
    .await;
    assert_eq!(second["previous_response_id"], first["id"]);
    let bodies = stand_in.received_bodies().await;
    assert_eq!(
        bodies[1],
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "What is Rust?"}]},
                {"role": "model", "parts": [{"text": text_of(&reply)}]},
                {"role": "user", "parts": [{"text": "And Go?"}]}
            ]
        }),
        "the earlier turns, without the earlier instructions"
    );
    // A third turn continues from the second, so it carries all four turns.
    create(
        &responses,
        &json!({"model": FLASH, "previous_response_id": second["id"], "input": "Thanks"}),
    )
    .await;
    let bodies = stand_in.received_bodies().await;
    assert_eq!(bodies[2]["contents"].as_array().expect("contents").len(), 5);

    // An unknown id, or one made under another key, is not found and nothing is sent.
    let (status, _, bytes) = post(
        &responses,
        &json!({"model": FLASH, "previous_response_id": "resp_0123456789abcdef0123456789abcdef", "input": "x"}),
    )
    .await;
    assert_eq!(status, 400);
    let error: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(error["error"]["code"], "previous_response_not_found");
    assert_eq!(error["error"]["param"], "previous_response_id");
    assert_eq!(stand_in.received_bodies().await.len(), 3);
}

#[tokio::test]
async fn stored_responses_belong_to_the_key_that_made_them() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let store: Arc<dyn ResponseStore> = Arc::new(MemoryResponseStore::default());
    let chat = stand_in.gemini.chat_service();
    let mine = ResponsesLayer::new()
        .store(store.clone())
        .owner("sk-one")
        .layer(chat.clone());
    let theirs = ResponsesLayer::new()
        .store(store)
        .owner("sk-two")
        .layer(chat);
    let response = create(&mine, &json!({"model": FLASH, "input": "hi"})).await;
    let id = response["id"].as_str().expect("id");

    let kept = mine.retrieve(id).await.expect("stored");
    assert_eq!(serde_json::to_value(&kept).expect("JSON"), response);
    let error = theirs.retrieve(id).await.expect_err("another key");
    assert_eq!(error.kind(), ErrorKind::NotFound);
    let (status, _, _) = post(
        &theirs,
        &json!({"model": FLASH, "previous_response_id": id, "input": "x"}),
    )
    .await;
    assert_eq!(status, 400);
    assert!(
        theirs.delete(id).await.is_err(),
        "another key cannot delete it"
    );

    let items = mine
        .input_items(id, &ItemsQuery::default())
        .await
        .expect("items");
    assert_eq!(
        serde_json::to_value(&items).expect("JSON")["data"][0]["content"],
        json!([{"type": "input_text", "text": "hi"}])
    );
    let deleted = mine.delete(id).await.expect("deleted");
    assert!(deleted.deleted);
    assert_eq!(
        mine.retrieve(id).await.expect_err("gone").kind(),
        ErrorKind::NotFound
    );
}

#[tokio::test]
async fn store_false_keeps_nothing() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let responses = service(&stand_in);
    let response = create(
        &responses,
        &json!({"model": FLASH, "input": "hi", "store": false}),
    )
    .await;
    assert_eq!(response["store"], false);
    assert_eq!(response["output"][0]["content"][0]["text"], "ok");
    let id = response["id"].as_str().expect("id");
    assert_eq!(
        responses.retrieve(id).await.expect_err("not kept").kind(),
        ErrorKind::NotFound
    );
    let (status, _, _) = post(
        &responses,
        &json!({"model": FLASH, "previous_response_id": id, "input": "x"}),
    )
    .await;
    assert_eq!(status, 400);

    // Streamed, too.
    stand_in.reply_sse(FLASH, &recorded_sse("19", 0)).await;
    let (status, _, bytes) = post(
        &responses,
        &json!({"model": FLASH, "input": "hi", "store": false, "stream": true}),
    )
    .await;
    assert_eq!(status, 200);
    let events = events_of(&bytes);
    let last = events.last().expect("events");
    let id = last["response"]["id"].as_str().expect("id");
    assert!(responses.retrieve(id).await.is_err());
}

#[tokio::test]
async fn a_record_over_the_size_limit_is_answered_but_not_kept() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let responses = ResponsesLayer::new()
        .max_record_bytes(12_000)
        .layer(stand_in.gemini.chat_service());
    let small = create(&responses, &json!({"model": FLASH, "input": "hi"})).await;
    let small_id = small["id"].as_str().expect("id");
    assert!(
        responses.retrieve(small_id).await.is_ok(),
        "under the limit"
    );

    // Each continuation carries the conversation so far: the chain outgrows the limit.
    let long = "x".repeat(4000);
    let second = create(
        &responses,
        &json!({"model": FLASH, "previous_response_id": small_id, "input": long}),
    )
    .await;
    let second_id = second["id"].as_str().expect("id");
    assert!(
        responses.retrieve(second_id).await.is_ok(),
        "still under it"
    );
    let third = create(
        &responses,
        &json!({"model": FLASH, "previous_response_id": second_id, "input": long}),
    )
    .await;
    assert_eq!(third["status"], "completed", "answered all the same");
    let third_id = third["id"].as_str().expect("id");
    assert_eq!(
        responses
            .retrieve(third_id)
            .await
            .expect_err("over the limit")
            .kind(),
        ErrorKind::NotFound
    );
    let (status, _, _) = post(
        &responses,
        &json!({"model": FLASH, "previous_response_id": third_id, "input": "x"}),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        stand_in.received_bodies().await.len(),
        3,
        "nothing sent for it"
    );
}

/// The Gemini contents of fixture 29's conversation sent back with the call's output:
/// the question, the thought and the call with its signature, the function's answer.
fn weather_round_trip(call_reply: &Value) -> Value {
    json!([
        {"role": "user", "parts": [{"text": "Weather in Tokyo?"}]},
        {"role": "model", "parts": [
            {"text": thoughts_of(call_reply), "thought": true},
            {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}},
             "thoughtSignature": "signature_REDACTED_1"}
        ]},
        {"role": "user", "parts": [{"functionResponse": {"name": "get_weather",
            "response": {"content": "72F, sunny"}}}]}
    ])
}

#[tokio::test]
async fn a_chain_that_outgrows_the_message_limit_is_refused_by_previous_response_id() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let mut limits = RequestLimits::default();
    limits.max_messages = 100;
    let responses = ResponsesLayer::new()
        .limits(limits)
        .layer(stand_in.gemini.chat_service());
    // Each turn is one message, each within the limit; the conversation grows by two (the
    // turn and the reply) per turn, so turn 51 continues 100 stored messages.
    let mut previous: Option<String> = None;
    for turn in 1..=100 {
        let mut body = json!({"model": FLASH, "input": format!("turn {turn}")});
        if let Some(id) = &previous {
            body["previous_response_id"] = json!(id);
        }
        let (status, _, bytes) = post(&responses, &body).await;
        if status == 200 {
            let reply: Value = serde_json::from_slice(&bytes).expect("JSON");
            previous = Some(reply["id"].as_str().expect("id").to_owned());
            continue;
        }
        assert_eq!(turn, 51, "refused at the first turn past the limit");
        assert_eq!(status, 400);
        let error: Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(error["error"]["param"], "previous_response_id");
        assert_eq!(error["error"]["type"], "invalid_request_error");
        let message = error["error"]["message"].as_str().expect("message");
        assert!(message.contains("101 entries"), "{message}");
        assert_eq!(
            stand_in.received_bodies().await.len(),
            50,
            "nothing sent for the refused turn"
        );
        return;
    }
    panic!("a 100-turn chain was never refused");
}

#[tokio::test]
async fn a_stored_conversation_over_the_byte_limit_is_refused_before_it_is_read() {
    let stand_in = StandIn::start().await;
    let store = Arc::new(MemoryResponseStore::default());
    let responses = ResponsesLayer::new()
        .store(store.clone())
        .max_record_bytes(1_000)
        .layer(stand_in.gemini.chat_service());
    // A record another replica (with a larger limit) wrote: not even valid JSON, so only a
    // refusal before parsing answers with the size.
    let id = "resp_0123456789abcdef0123456789abcdef";
    let key = format!("{}:{id}", namespace(""));
    store.put(&key, "[".repeat(5_000)).await;
    let (status, _, bytes) = post(
        &responses,
        &json!({"model": FLASH, "previous_response_id": id, "input": "x"}),
    )
    .await;
    assert_eq!(status, 400);
    let error: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(error["error"]["param"], "previous_response_id");
    let message = error["error"]["message"].as_str().expect("message");
    assert!(message.contains("5000 bytes"), "{message}");
    assert!(stand_in.received_bodies().await.is_empty());
}

#[tokio::test]
async fn a_function_call_round_trips_with_its_thought_signature_without_stored_state() {
    let stand_in = StandIn::start().await;
    let call_reply = recorded("29", 0);
    let answer = recorded("29", 1);
    let responses = service(&stand_in);
    let tool = json!({
        "type": "function", "name": "get_weather", "description": "Get the weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": true
    });
    stand_in.reply_json(FLASH, 200, &call_reply).await;
    let first = create(
        &responses,
        &json!({
            "model": FLASH, "input": "Weather in Tokyo?", "tools": [tool],
            "reasoning": {"effort": "high", "summary": "auto"}, "store": false
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
    assert_eq!(item_types(&first), ["reasoning", "function_call"]);
    let reasoning = &first["output"][0];
    assert_eq!(
        reasoning["summary"],
        json!([{"type": "summary_text", "text": thoughts_of(&call_reply)}])
    );
    assert!(reasoning["encrypted_content"].is_string());
    let call = &first["output"][1];
    assert_eq!(call["name"], "get_weather");
    assert_eq!(
        serde_json::from_str::<Value>(call["arguments"].as_str().expect("arguments"))
            .expect("JSON arguments"),
        json!({"city": "Tokyo"})
    );
    assert_eq!(call["status"], "completed");
    let call_id = call["call_id"].as_str().expect("call_id");
    assert!(
        call_id.ends_with("__thought__signature_REDACTED_1"),
        "{call_id}"
    );

    // The client sends the whole conversation back, as the Agents SDK does with
    // `store: false`, with the call's output.
    stand_in.server.reset().await;
    stand_in.reply_json(FLASH, 200, &answer).await;
    let mut input = vec![json!({"role": "user", "content": "Weather in Tokyo?"})];
    input.extend(first["output"].as_array().expect("output").iter().cloned());
    input.push(json!({"type": "function_call_output", "call_id": call_id, "output": "72F, sunny"}));
    let second = create(
        &responses,
        &json!({"model": FLASH, "input": input, "tools": [tool], "store": false}),
    )
    .await;
    let sent = stand_in.received_body().await;
    assert_eq!(sent["contents"], weather_round_trip(&call_reply));
    assert_eq!(item_types(&second), ["message"]);
    assert_eq!(second["output"][0]["content"][0]["text"], text_of(&answer));
}

#[tokio::test]
async fn parallel_calls_come_back_as_items_and_their_outputs_as_one_turn() {
    let stand_in = StandIn::start().await;
    let calls = recorded("15", 0);
    stand_in.reply_json(FLASH, 200, &calls).await;
    let responses = service(&stand_in);
    let tool = |name: &str| {
        json!({"type": "function", "name": name,
            "parameters": {"type": "object", "properties": {"x": {"type": "number"}, "y": {"type": "number"}}}})
    };
    let tools = json!([tool("add"), tool("subtract")]);
    let first = create(
        &responses,
        &json!({"model": FLASH, "input": "3 + 4 and 10 - 2", "tools": tools, "parallel_tool_calls": true}),
    )
    .await;
    assert_eq!(first["parallel_tool_calls"], true);
    // The first call's signature rides in its id; the candidate's signatures also ride in
    // a signature-only reasoning item at the end.
    assert_eq!(
        item_types(&first),
        ["function_call", "function_call", "reasoning"]
    );
    let names: Vec<&str> = (0..2)
        .map(|index| first["output"][index]["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["add", "subtract"]);
    let ids: Vec<String> = (0..2)
        .map(|index| {
            first["output"][index]["call_id"]
                .as_str()
                .expect("id")
                .to_owned()
        })
        .collect();
    assert!(ids[0].ends_with("__thought__signature_REDACTED_1"));
    assert_ne!(ids[0], ids[1]);
    assert_eq!(first["output"][2]["summary"], json!([]));

    stand_in.server.reset().await;
    stand_in.reply_json(FLASH, 200, &recorded("15", 1)).await;
    let second = create(
        &responses,
        &json!({
            "model": FLASH, "previous_response_id": first["id"], "tools": tools,
            "input": [
                {"type": "function_call_output", "call_id": ids[0], "output": "{\"result\": 7}"},
                {"type": "function_call_output", "call_id": ids[1], "output": "{\"result\": 8}"}
            ]
        }),
    )
    .await;
    let sent = stand_in.received_body().await;
    assert_eq!(
        sent["contents"][2],
        json!({"role": "user", "parts": [
            {"functionResponse": {"name": "add", "response": {"result": 7}}},
            {"functionResponse": {"name": "subtract", "response": {"result": 8}}}
        ]})
    );
    assert_eq!(
        sent["contents"][1]["parts"][0]["thoughtSignature"],
        "signature_REDACTED_1"
    );
    assert_eq!(second["output"].as_array().expect("output").len(), 2);
    assert_eq!(second["output"][0]["content"][0]["text"], "7\n8");
}

/// Fixture 04's reply text is this object.
fn event_schema(required: &[&str]) -> Value {
    json!({
        "type": "object",
        "properties": {"title": {"type": "string"}, "category": {"type": "string"},
            "summary": {"type": "string"}, "date": {"type": "string"}},
        "required": required,
        "additionalProperties": false
    })
}

#[tokio::test]
async fn strict_structured_output_is_checked_against_the_schema() {
    let stand_in = StandIn::start().await;
    let reply = recorded("04", 0);
    stand_in.reply_json(FLASH, 200, &reply).await;
    let responses = service(&stand_in);
    let format = |required: &[&str]| {
        json!({"format": {"type": "json_schema", "name": "event", "strict": true,
            "schema": event_schema(required)}})
    };
    let response = create(
        &responses,
        &json!({"model": FLASH, "input": "An event", "text": format(&["title", "category", "summary"])}),
    )
    .await;
    let text = response["output"]
        .as_array()
        .expect("output")
        .iter()
        .find(|item| item["type"] == "message")
        .expect("a message")["content"][0]["text"]
        .as_str()
        .expect("text")
        .to_owned();
    assert_eq!(text, text_of(&reply));
    assert_eq!(response["text"]["format"]["name"], "event");
    let sent = stand_in.received_body().await;
    assert_eq!(
        sent["generationConfig"]["responseMimeType"],
        "application/json"
    );
    assert_eq!(
        sent["generationConfig"]["responseJsonSchema"],
        event_schema(&["title", "category", "summary"])
    );

    // The same reply against a schema it does not meet: a schema validation error.
    let (status, _, bytes) = post(
        &responses,
        &json!({"model": FLASH, "input": "An event", "text": format(&["title", "date"])}),
    )
    .await;
    assert_eq!(status, 500);
    let error: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(error["error"]["code"], "JSONSchemaValidationError");
    assert_eq!(error["error"]["raw_response"], text_of(&reply));

    // Without `strict` the reply is given as it came.
    let (status, _, _) = post(
        &responses,
        &json!({"model": FLASH, "input": "An event",
            "text": {"format": {"type": "json_schema", "name": "event", "schema": event_schema(&["date"])}}}),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn reasoning_summaries_are_shown_when_asked_for() {
    let stand_in = StandIn::start().await;
    let reply = recorded("27", 0);
    stand_in.reply_json(FLASH, 200, &reply).await;
    let responses = service(&stand_in);
    let shown = create(
        &responses,
        &json!({"model": FLASH, "input": "Trains?", "reasoning": {"effort": "medium", "summary": "detailed"}}),
    )
    .await;
    assert_eq!(
        stand_in.received_body().await["generationConfig"]["thinkingConfig"],
        json!({"includeThoughts": true, "thinkingBudget": 2048})
    );
    assert_eq!(item_types(&shown), ["reasoning", "message"]);
    assert_eq!(
        shown["output"][0]["summary"],
        json!([{"type": "summary_text", "text": thoughts_of(&reply)}])
    );
    assert_eq!(shown["output"][1]["content"][0]["text"], text_of(&reply));
    assert_eq!(
        shown["reasoning"],
        json!({"effort": "medium", "summary": "detailed"})
    );
    assert_eq!(
        shown["usage"]["output_tokens_details"]["reasoning_tokens"],
        reply["usageMetadata"]["thoughtsTokenCount"]
    );

    let hidden = create(
        &responses,
        &json!({"model": FLASH, "input": "Trains?", "reasoning": {"effort": "medium"}}),
    )
    .await;
    assert_eq!(item_types(&hidden), ["reasoning", "message"]);
    assert_eq!(hidden["output"][0]["summary"], json!([]));
}

#[tokio::test]
async fn web_search_is_google_search_and_grounding_becomes_url_citations() {
    let stand_in = StandIn::start().await;
    let reply = recorded("61", 0);
    stand_in.reply_json(FLASH, 200, &reply).await;
    let responses = service(&stand_in);
    let response = create(
        &responses,
        &json!({"model": FLASH, "input": "Who won the 2024 Tour de France?",
            "tools": [{"type": "web_search_preview", "search_context_size": "low"}]}),
    )
    .await;
    assert_eq!(
        stand_in.received_body().await,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "Who won the 2024 Tour de France?"}]}],
            "tools": [{"googleSearch": {}}]
        })
    );
    let text = &response["output"][0]["content"][0];
    assert_eq!(text["text"], text_of(&reply));
    // One citation per grounding support (its first source), with Gemini's byte offsets
    // as character offsets.
    let support = &reply["candidates"][0]["groundingMetadata"]["groundingSupports"][0]["segment"];
    let end_byte = support["endIndex"].as_u64().expect("end") as usize;
    let end = text_of(&reply).as_bytes()[..end_byte]
        .utf8_chunks()
        .map(|chunk| chunk.valid().chars().count())
        .sum::<usize>();
    assert_eq!(
        text["annotations"],
        json!([{"type": "url_citation", "start_index": 0, "end_index": end,
            "url": "https://vertexaisearch.cloud.google.com/grounding-api-redirect/AAA", "title": "letour.fr"}])
    );

    // Options Gemini's search has no equivalent for are refused by name.
    let (status, _, bytes) = post(
        &responses,
        &json!({"model": FLASH, "input": "x",
            "tools": [{"type": "web_search", "user_location": {"type": "approximate"}}]}),
    )
    .await;
    assert_eq!(status, 400);
    let error: Value = serde_json::from_slice(&bytes).expect("JSON");
    assert_eq!(error["error"]["param"], "tools[0].user_location");
}

#[tokio::test]
async fn log_probabilities_come_with_the_output_text_when_included() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &recorded("63", 0)).await;
    let response = create(
        &service(&stand_in),
        &json!({"model": FLASH, "input": "Say yes", "top_logprobs": 2,
            "include": ["message.output_text.logprobs"]}),
    )
    .await;
    assert_eq!(
        stand_in.received_body().await["generationConfig"],
        json!({"responseLogprobs": true, "logprobs": 2})
    );
    assert_eq!(
        response["output"][0]["content"][0]["logprobs"],
        json!([{"token": "Yes", "logprob": -0.0123, "bytes": [89, 101, 115], "top_logprobs": [
            {"token": "Yes", "logprob": -0.0123, "bytes": [89, 101, 115]},
            {"token": "yes", "logprob": -4.61, "bytes": [121, 101, 115]}
        ]}])
    );
}

#[tokio::test]
async fn image_and_file_input_become_inline_parts() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let responses = service(&stand_in);
    create(
        &responses,
        &json!({"model": FLASH, "input": [{"role": "user", "content": [
            {"type": "input_text", "text": "What is in it?"},
            {"type": "input_image", "image_url": "data:image/png;base64,iVBORw0KGgo=", "detail": "low"},
            {"type": "input_file", "filename": "a.pdf", "file_data": "data:application/pdf;base64,JVBERi0="}
        ]}]}),
    )
    .await;
    assert_eq!(
        stand_in.received_body().await["contents"],
        json!([{"role": "user", "parts": [
            {"text": "What is in it?"},
            {"inlineData": {"mimeType": "image/png", "data": "iVBORw0KGgo="}},
            {"inlineData": {"mimeType": "application/pdf", "data": "JVBERi0="}}
        ]}])
    );
}

#[tokio::test]
async fn bad_input_is_refused_by_name_before_anything_is_sent() {
    let stand_in = StandIn::start().await;
    let responses = service(&stand_in);
    let cases = [
        (json!({"model": FLASH}), "input"),
        (
            json!({"model": FLASH, "input": [{"type": "item_reference", "id": "x"}]}),
            "input[0].id",
        ),
        (
            json!({"model": FLASH, "input": [{"type": "function_call", "name": "f"}]}),
            "input[0].call_id",
        ),
        (
            json!({"model": FLASH, "input": [{"role": "robot", "content": "hi"}]}),
            "input[0].role",
        ),
        (
            json!({"model": FLASH, "input": [{"role": "user", "content": [{"type": "input_audio"}]}]}),
            "input[0].content[0].type",
        ),
        (
            json!({"model": FLASH, "input": [{"type": "reasoning", "summary": [], "encrypted_content": "not ours"}]}),
            "input[0].encrypted_content",
        ),
        (
            json!({"model": FLASH, "input": "x", "tools": [{"type": "file_search"}]}),
            "tools[0].type",
        ),
        (
            json!({"model": FLASH, "input": "x", "truncation": "auto"}),
            "truncation",
        ),
        (
            json!({"model": FLASH, "input": "x", "include": ["file_search_call.results"]}),
            "include[0]",
        ),
        (
            json!({"model": FLASH, "input": "x", "text": {"format": {"type": "json_schema"}}}),
            "text.format.schema",
        ),
        (
            json!({"model": FLASH, "input": "x", "frobnicate": 1}),
            "frobnicate",
        ),
        (json!({"model": FLASH, "input": 7}), "input"),
        (
            json!({"model": FLASH, "input": "x", "background": true}),
            "background",
        ),
        (
            json!({"model": FLASH, "input": "x", "conversation": "conv_1"}),
            "conversation",
        ),
    ];
    for (body, param) in cases {
        let (status, _, bytes) = post(&responses, &body).await;
        assert_eq!(status, 400, "{body}: {}", String::from_utf8_lossy(&bytes));
        let error: Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(error["error"]["param"], param, "{body}: {error}");
    }
    // The edge's request limits count input items and tools.
    let many: Vec<Value> = (0..10_001)
        .map(|_| json!({"role": "user", "content": "x"}))
        .collect();
    let (status, _, _) = post(&responses, &json!({"model": FLASH, "input": many})).await;
    assert_eq!(status, 400);
    assert!(stand_in.received_bodies().await.is_empty());

    // With `drop_params`, what Gemini cannot do is dropped instead.
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    create(
        &responses,
        &json!({"model": FLASH, "input": "x", "truncation": "auto", "drop_params": true,
            "tools": [{"type": "file_search"}], "frobnicate": 1}),
    )
    .await;
    assert_eq!(
        stand_in.received_body().await,
        json!({"contents": [{"role": "user", "parts": [{"text": "x"}]}]})
    );
}

#[tokio::test]
async fn the_layers_drop_params_drops_what_the_request_does_not_say() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let responses = ResponsesLayer::new()
        .drop_params(true)
        .layer(stand_in.gemini.chat_service());
    let body =
        json!({"model": FLASH, "input": "x", "truncation": "auto", "tools": [{"type": "mcp"}]});
    create(&responses, &body).await;
    assert_eq!(
        stand_in.received_body().await["contents"],
        json!([{"role": "user", "parts": [{"text": "x"}]}])
    );
    let mut refused = body;
    refused["drop_params"] = json!(false);
    let (status, _, _) = post(&responses, &refused).await;
    assert_eq!(status, 400, "the request's own `drop_params: false` wins");
}

#[tokio::test]
async fn a_truncated_reply_is_incomplete() {
    let stand_in = StandIn::start().await;
    let mut reply = ok_reply();
    reply["candidates"][0]["finishReason"] = json!("MAX_TOKENS");
    stand_in.reply_json(FLASH, 200, &reply).await;
    let response = create(
        &service(&stand_in),
        &json!({"model": FLASH, "input": "x", "max_output_tokens": 1}),
    )
    .await;
    assert_eq!(response["status"], "incomplete");
    assert_eq!(
        response["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    assert_eq!(response["output"][0]["status"], "incomplete");
}

// ---- streams ----

/// The events of an SSE body, checking the framing and that `sequence_number` counts
/// from 0.
fn events_of(body: &[u8]) -> Vec<Value> {
    let events: Vec<Value> = common::sse_payloads(body)
        .iter()
        .map(|data| serde_json::from_str(data).expect("a JSON event"))
        .collect();
    for (index, event) in events.iter().enumerate() {
        assert_eq!(event["sequence_number"], index, "{event}");
    }
    events
}

fn types_of(events: &[Value]) -> Vec<&str> {
    events
        .iter()
        .map(|event| event["type"].as_str().expect("type"))
        .collect()
}

async fn stream(
    stand_in: &StandIn,
    responses: &Responses<ChatService>,
    sse: &str,
    body: Value,
) -> Vec<Value> {
    stand_in.reply_sse(FLASH, sse).await;
    let (status, content_type, bytes) = post(responses, &body).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(content_type, "text/event-stream");
    assert!(!bytes.ends_with(b"data: [DONE]\n\n"));
    events_of(&bytes)
}

/// The concatenated `delta`s of the events of type `kind`.
fn deltas(events: &[Value], kind: &str) -> String {
    events
        .iter()
        .filter(|event| event["type"] == kind)
        .filter_map(|event| event["delta"].as_str())
        .collect()
}

/// The visible text of a recorded SSE body.
fn sse_text(sse: &str, thought: bool) -> String {
    sse.split("\r\n\r\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .filter_map(|data| serde_json::from_str::<Value>(data).ok())
        .flat_map(|event| parts_of(&event))
        .filter(|part| (part["thought"] == true) == thought)
        .filter_map(|part| part["text"].as_str().map(str::to_owned))
        .collect()
}

#[tokio::test]
async fn a_text_stream_with_thoughts_is_the_whole_event_sequence() {
    let stand_in = StandIn::start().await;
    let responses = service(&stand_in);
    let sse = recorded_sse("18", 0);
    let events = stream(
        &stand_in,
        &responses,
        &sse,
        json!({"model": FLASH, "input": "Eclipse?", "stream": true,
            "reasoning": {"effort": "medium", "summary": "auto"}}),
    )
    .await;
    let types = types_of(&events);
    let text_deltas = types
        .iter()
        .filter(|kind| **kind == "response.output_text.delta")
        .count();
    let summary_deltas = types
        .iter()
        .filter(|kind| **kind == "response.reasoning_summary_text.delta")
        .count();
    let mut expected = vec![
        "response.created",
        "response.in_progress",
        "response.output_item.added",
        "response.reasoning_summary_part.added",
    ];
    expected.extend(std::iter::repeat_n(
        "response.reasoning_summary_text.delta",
        summary_deltas,
    ));
    expected.extend([
        "response.reasoning_summary_text.done",
        "response.reasoning_summary_part.done",
        "response.output_item.done",
        "response.output_item.added",
        "response.content_part.added",
    ]);
    expected.extend(std::iter::repeat_n(
        "response.output_text.delta",
        text_deltas,
    ));
    expected.extend([
        "response.output_text.done",
        "response.content_part.done",
        "response.output_item.done",
        "response.completed",
    ]);
    assert_eq!(types, expected);
    assert!(text_deltas > 1 && summary_deltas > 0);
    assert_eq!(
        deltas(&events, "response.output_text.delta"),
        sse_text(&sse, false)
    );
    assert_eq!(
        deltas(&events, "response.reasoning_summary_text.delta"),
        sse_text(&sse, true)
    );
    assert_eq!(events[0]["response"]["status"], "in_progress");
    assert_eq!(events[0]["response"]["output"], json!([]));
    let completed = &events.last().expect("events")["response"];
    assert_eq!(completed["status"], "completed");
    assert_eq!(completed["id"], events[0]["response"]["id"]);
    assert_eq!(item_types(completed), ["reasoning", "message"]);
    assert_eq!(
        completed["output"][1]["content"][0]["text"],
        sse_text(&sse, false)
    );
    assert!(completed["usage"]["total_tokens"].as_u64().unwrap() > 0);
    // Every item event names the item it belongs to.
    let message_id = &completed["output"][1]["id"];
    for event in events.iter().filter(|event| {
        event["type"].as_str().is_some_and(|kind| {
            kind.starts_with("response.output_text") || kind.starts_with("response.content_part")
        })
    }) {
        assert_eq!(&event["item_id"], message_id);
        assert_eq!(event["output_index"], 1);
    }

    // The streamed response is stored like a whole one, before `response.completed`.
    let kept = responses
        .retrieve(completed["id"].as_str().expect("id"))
        .await
        .expect("stored");
    assert_eq!(&serde_json::to_value(kept).expect("JSON"), completed);
}

#[tokio::test]
async fn a_streamed_call_is_a_function_call_item_with_its_arguments() {
    let stand_in = StandIn::start().await;
    let responses = service(&stand_in);
    let events = stream(
        &stand_in,
        &responses,
        &recorded_sse("21", 0),
        json!({"model": FLASH, "input": "Look it up", "stream": true,
            "tools": [{"type": "function", "name": "lookup_harbor_label", "parameters": {"type": "object", "properties": {}}}]}),
    )
    .await;
    assert_eq!(
        types_of(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.output_item.added",
            "response.output_item.done",
            "response.completed"
        ]
    );
    assert_eq!(events[2]["item"]["type"], "function_call");
    assert_eq!(events[2]["item"]["status"], "in_progress");
    assert_eq!(events[2]["item"]["arguments"], "");
    assert_eq!(events[3]["delta"], "{}");
    assert_eq!(events[4]["arguments"], "{}");
    assert_eq!(events[4]["name"], "lookup_harbor_label");
    let done = &events[5]["item"];
    assert_eq!(done["status"], "completed");
    assert!(
        done["call_id"]
            .as_str()
            .expect("call_id")
            .ends_with("__thought__signature_REDACTED_1")
    );
    // The signature-only reasoning item comes last.
    assert_eq!(events[6]["item"]["type"], "reasoning");
    let completed = &events[8]["response"];
    assert_eq!(item_types(completed), ["function_call", "reasoning"]);
}

#[tokio::test]
async fn parallel_streamed_calls_are_items_in_turn() {
    let stand_in = StandIn::start().await;
    let responses = service(&stand_in);
    let events = stream(
        &stand_in,
        &responses,
        &recorded_sse("22", 0),
        json!({"model": FLASH, "input": "Both", "stream": true,
            "tools": [{"type": "function", "name": "lookup_harbor_label"}, {"type": "function", "name": "lookup_orchard_label"}]}),
    )
    .await;
    assert_eq!(
        types_of(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.output_item.added",
            "response.function_call_arguments.delta",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.function_call_arguments.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let completed = &events[10]["response"];
    let names: Vec<&str> = completed["output"]
        .as_array()
        .expect("output")
        .iter()
        .map(|item| item["name"].as_str().expect("name"))
        .collect();
    assert_eq!(names, ["lookup_harbor_label", "lookup_orchard_label"]);
    assert_eq!(events[3]["output_index"], 0);
    assert_eq!(events[5]["output_index"], 1);
}

#[tokio::test]
async fn streamed_grounding_adds_its_citations_to_the_text() {
    let stand_in = StandIn::start().await;
    let responses = service(&stand_in);
    // Fixture 61's recorded reply as the one event of a stream.
    let reply = recorded("61", 0);
    let sse = format!("data: {reply}\r\n\r\n");
    let events = stream(
        &stand_in,
        &responses,
        &sse,
        json!({"model": FLASH, "input": "Who won?", "stream": true, "tools": [{"type": "web_search"}]}),
    )
    .await;
    assert_eq!(
        types_of(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "response.output_text.annotation.added",
            "response.output_text.done",
            "response.content_part.done",
            "response.output_item.done",
            "response.completed"
        ]
    );
    let added = &events[5];
    assert_eq!(added["annotation_index"], 0);
    assert_eq!(added["annotation"]["type"], "url_citation");
    assert_eq!(added["annotation"]["title"], "letour.fr");
    let completed = &events[9]["response"];
    assert_eq!(
        completed["output"][0]["content"][0]["annotations"],
        json!([added["annotation"]])
    );
}

#[tokio::test]
async fn a_stream_cut_by_the_token_cap_ends_incomplete() {
    let stand_in = StandIn::start().await;
    let responses = service(&stand_in);
    let sse = recorded_sse("20", 0);
    let events = stream(
        &stand_in,
        &responses,
        &sse,
        json!({"model": FLASH, "input": "A story", "stream": true, "max_output_tokens": 24}),
    )
    .await;
    let last = events.last().expect("events");
    assert_eq!(last["type"], "response.incomplete");
    assert_eq!(
        last["response"]["incomplete_details"],
        json!({"reason": "max_output_tokens"})
    );
    let done = events
        .iter()
        .find(|event| event["type"] == "response.output_item.done")
        .expect("the message is done");
    assert_eq!(done["item"]["status"], "incomplete");
    assert_eq!(
        deltas(&events, "response.output_text.delta"),
        sse_text(&sse, false)
    );
}

#[tokio::test]
async fn an_error_before_the_first_event_is_an_http_error() {
    let stand_in = StandIn::start().await;
    let (request, recorded) = exchange(&fixture_file("51"), 0);
    let model = request["path"]
        .as_str()
        .and_then(|path| path.strip_prefix("/v1beta/models/"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(model, _)| model.to_owned())
        .expect("a model path");
    wiremock::Mock::given(wiremock::matchers::method("POST"))
        .respond_with(
            wiremock::ResponseTemplate::new(recorded["status"].as_u64().expect("status") as u16)
                .set_body_json(&recorded["body"]),
        )
        .mount(&stand_in.server)
        .await;
    let (status, content_type, bytes) = post(
        &service(&stand_in),
        &json!({"model": model, "input": "x", "stream": true}),
    )
    .await;
    assert_eq!(status, recorded["status"].as_u64().expect("status") as u16);
    assert_eq!(content_type, "application/json");
    let error: Value = serde_json::from_slice(&bytes).expect("an error envelope");
    assert!(error["error"]["message"].is_string());
}

#[tokio::test]
async fn an_error_after_the_first_event_fails_the_response_in_the_stream() {
    let stand_in = StandIn::start().await;
    let responses = service(&stand_in);
    let events = stream(
        &stand_in,
        &responses,
        &recorded_sse("73", 0),
        json!({"model": FLASH, "input": "x", "stream": true}),
    )
    .await;
    assert_eq!(
        types_of(&events),
        [
            "response.created",
            "response.in_progress",
            "response.output_item.added",
            "response.content_part.added",
            "response.output_text.delta",
            "error",
            "response.failed"
        ]
    );
    assert_eq!(events[4]["delta"], "The first part of the answer");
    assert_eq!(events[5]["code"], "UNAVAILABLE");
    assert!(
        events[5]["message"]
            .as_str()
            .expect("message")
            .contains("overloaded")
    );
    let failed = &events[6]["response"];
    assert_eq!(failed["status"], "failed");
    assert_eq!(failed["error"]["code"], "UNAVAILABLE");
    assert_eq!(
        failed["output"][0]["content"][0]["text"],
        "The first part of the answer"
    );
    assert!(
        responses
            .retrieve(failed["id"].as_str().expect("id"))
            .await
            .is_err(),
        "a failed response is not kept"
    );
}

// ---- the proxy's routes ----

#[cfg(feature = "proxy")]
mod proxy {
    use serde_json::json;

    use super::common::{StandIn, ok_reply};
    use super::proxy_app::{gemini_proxy, send};
    use llm_tower::proxy::app::Proxy;

    fn proxy(stand_in: &StandIn, master: &str) -> Proxy {
        gemini_proxy(stand_in, master, "")
    }

    #[tokio::test]
    async fn create_retrieve_list_and_delete_behind_the_master_key() {
        let stand_in = StandIn::start().await;
        stand_in
            .reply_json("gemini-2.5-flash", 200, &ok_reply())
            .await;
        let proxy = proxy(&stand_in, "sk-one");
        let body = json!({"model": "gemini-flash", "input": [
            {"role": "user", "content": "first"}, {"role": "user", "content": "second"}]});
        let (status, created) = send(&proxy, "POST", "/v1/responses", "sk-one", Some(body)).await;
        assert_eq!(status, 200, "{created}");
        let id = created["id"].as_str().expect("id");

        let (status, got) = send(
            &proxy,
            "GET",
            &format!("/v1/responses/{id}"),
            "sk-one",
            None,
        )
        .await;
        assert_eq!((status, &got), (200, &created));
        let (status, items) = send(
            &proxy,
            "GET",
            &format!("/v1/responses/{id}/input_items?order=asc&limit=1"),
            "sk-one",
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(items["data"][0]["content"], "first");
        assert_eq!(items["has_more"], true);
        let (status, _) = send(
            &proxy,
            "GET",
            &format!("/v1/responses/{id}"),
            "sk-wrong",
            None,
        )
        .await;
        assert_eq!(status, 401);

        // A proxy with another master key over the same kind of store cannot see it.
        let other = self::proxy(&stand_in, "sk-two");
        let (status, _) = send(
            &other,
            "GET",
            &format!("/v1/responses/{id}"),
            "sk-two",
            None,
        )
        .await;
        assert_eq!(status, 404);

        let (status, deleted) = send(
            &proxy,
            "DELETE",
            &format!("/v1/responses/{id}"),
            "sk-one",
            None,
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            deleted,
            json!({"id": id, "object": "response", "deleted": true})
        );
        let (status, error) = send(
            &proxy,
            "GET",
            &format!("/v1/responses/{id}"),
            "sk-one",
            None,
        )
        .await;
        assert_eq!(status, 404);
        assert_eq!(error["error"]["type"], "not_found_error");
        let (status, _) = send(&proxy, "GET", "/v1/responses/x/y", "sk-one", None).await;
        assert_eq!(status, 404);
    }
}

/// The Vercel AI SDK's `openai()` provider sends `item_reference` items for its own earlier
/// output items on a stored response: they are read from the store and sent as the items
/// themselves; an id no stored response holds is a 400 naming it.
#[tokio::test]
async fn item_references_are_resolved_from_the_stored_responses() {
    let stand_in = StandIn::start().await;
    let call_reply = recorded("29", 0);
    let answer = recorded("29", 1);
    let responses = service(&stand_in);
    let tool = json!({
        "type": "function", "name": "get_weather", "description": "Get the weather.",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]}
    });
    stand_in.reply_json(FLASH, 200, &call_reply).await;
    let first = create(
        &responses,
        &json!({
            "model": FLASH, "input": "Weather in Tokyo?", "tools": [tool],
            "reasoning": {"effort": "high", "summary": "auto"}
        }),
    )
    .await;
    assert_eq!(item_types(&first), ["reasoning", "function_call"]);
    let call_id = first["output"][1]["call_id"].as_str().expect("call_id");

    stand_in.server.reset().await;
    stand_in.reply_json(FLASH, 200, &answer).await;
    let input = json!([
        {"role": "user", "content": [{"type": "input_text", "text": "Weather in Tokyo?"}]},
        {"type": "item_reference", "id": first["output"][0]["id"]},
        {"type": "item_reference", "id": first["output"][1]["id"]},
        {"type": "function_call_output", "call_id": call_id, "output": "72F, sunny"}
    ]);
    let second = create(
        &responses,
        &json!({"model": FLASH, "input": input, "tools": [tool]}),
    )
    .await;
    let sent = stand_in.received_body().await;
    assert_eq!(sent["contents"], weather_round_trip(&call_reply));
    assert_eq!(second["output"][0]["content"][0]["text"], text_of(&answer));

    // An id that no stored response holds: a 400 naming it, nothing sent upstream.
    stand_in.server.reset().await;
    let missing = first["output"][1]["id"]
        .as_str()
        .expect("id")
        .replace("_1", "_7");
    for id in [
        missing.as_str(),
        "fc_nope",
        "msg_00000000000000000000000000000000_0",
    ] {
        let (status, _, bytes) = post(
            &responses,
            &json!({"model": FLASH, "input": [{"type": "item_reference", "id": id}]}),
        )
        .await;
        assert_eq!(status, 400, "{id}");
        let error: Value = serde_json::from_slice(&bytes).expect("JSON");
        let message = error["error"]["message"].as_str().expect("a message");
        assert!(
            message.contains("item_reference") && message.contains(id),
            "{message}"
        );
        assert_eq!(error["error"]["param"], "input[0].id");
    }
    assert!(stand_in.received_bodies().await.is_empty());
}
