//! Legacy text completions through the real stack (completions edge → completions layer →
//! the Gemini chat stack → HTTP) against the wiremock stand-in: the exact Gemini bodies,
//! whole and streamed replies from recordings, several prompts, `echo`, and refusals.

mod common;

use bytes::Bytes;
use common::{StandIn, TEST_KEY, exchange, fixture_file, ok_reply, post_json, sse_payloads};
use llm_tower::edge::CompletionsEdge;
use llm_tower::layers::completions::Completions;
use llm_tower::openai::CompletionRequest;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, ResponseTemplate};

const FLASH: &str = "gemini-2.5-flash";

/// A POST of `body` through the completions edge: status, content type and body.
async fn post(stand_in: &StandIn, body: &Value) -> (u16, String, Bytes) {
    let edge = CompletionsEdge::new(Completions::new(stand_in.gemini.chat_service()));
    let (status, headers, bytes) = post_json(edge, "/v1/completions", body).await;
    let content_type = headers
        .get("content-type")
        .and_then(|value| value.to_str().ok())
        .unwrap_or_default()
        .to_owned();
    (status, content_type, bytes)
}

fn json_of(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).expect("JSON")
}

/// The visible text of candidate 0 of a recorded reply.
fn text_of(reply: &Value) -> String {
    reply["candidates"][0]["content"]["parts"]
        .as_array()
        .expect("parts")
        .iter()
        .filter(|part| part["thought"] != true)
        .filter_map(|part| part["text"].as_str())
        .collect()
}

#[tokio::test]
async fn a_prompt_is_one_user_turn_and_the_reply_a_text_completion() {
    let stand_in = StandIn::start().await;
    let (_, recorded) = exchange(&fixture_file("01"), 0);
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(body_json(json!({
            "contents": [{"role": "user", "parts": [{"text": "Say hi"}]}],
            "generationConfig": {"temperature": 0.5, "maxOutputTokens": 64, "stopSequences": ["\n\n"]}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(&recorded["body"]))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    let (status, _, body) = post(
        &stand_in,
        &json!({"model": FLASH, "prompt": "Say hi", "max_tokens": 64, "temperature": 0.5, "stop": "\n\n"}),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let reply = json_of(&body);
    let usage = &recorded["body"]["usageMetadata"];
    assert_eq!(reply["object"], "text_completion");
    assert_eq!(reply["model"], FLASH);
    assert_eq!(
        reply["choices"],
        json!([{
            "text": text_of(&recorded["body"]),
            "index": 0,
            "logprobs": null,
            "finish_reason": "stop"
        }])
    );
    assert_eq!(reply["usage"]["prompt_tokens"], usage["promptTokenCount"]);
    assert_eq!(reply["usage"]["total_tokens"], usage["totalTokenCount"]);
}

#[tokio::test]
async fn a_streamed_completion_carries_the_recorded_text_and_one_usage_chunk() {
    let stand_in = StandIn::start().await;
    let (_, recorded) = exchange(&fixture_file("18"), 0);
    let sse = recorded["sse"].as_str().expect("sse");
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1beta/models/{FLASH}:streamGenerateContent"
        )))
        .and(query_param("alt", "sse"))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(sse.as_bytes().to_vec(), "text/event-stream"),
        )
        .mount(&stand_in.server)
        .await;
    // What the recording says, read straight from its events.
    let mut text = String::new();
    for event in sse.split("\r\n\r\n") {
        if let Some(data) = event.strip_prefix("data: ") {
            let event: Value = serde_json::from_str(data).expect("event");
            for candidate in event["candidates"].as_array().into_iter().flatten() {
                text.push_str(&text_of(&json!({"candidates": [candidate]})));
            }
        }
    }
    let (status, content_type, body) = post(
        &stand_in,
        &json!({"model": FLASH, "prompt": "Tell me", "stream": true, "stream_options": {"include_usage": true}}),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(content_type, "text/event-stream");
    let payloads = sse_payloads(&body);
    assert_eq!(payloads.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = payloads[..payloads.len() - 1]
        .iter()
        .map(|payload| serde_json::from_str(payload).expect("chunk"))
        .collect();
    let streamed: String = chunks
        .iter()
        .flat_map(|chunk| chunk["choices"].as_array().into_iter().flatten())
        .filter_map(|choice| choice["text"].as_str())
        .collect();
    assert_eq!(streamed, text);
    assert!(
        chunks
            .iter()
            .all(|chunk| chunk["object"] == "text_completion" && chunk["id"] == chunks[0]["id"])
    );
    let usage_chunks: Vec<&Value> = chunks
        .iter()
        .filter(|chunk| chunk.get("usage").is_some())
        .collect();
    assert_eq!(usage_chunks.len(), 1);
    assert_eq!(usage_chunks[0]["choices"], json!([]));
    let finish: Vec<&Value> = chunks
        .iter()
        .flat_map(|chunk| chunk["choices"].as_array().into_iter().flatten())
        .filter(|choice| !choice["finish_reason"].is_null())
        .collect();
    assert_eq!(finish.len(), 1);
    assert_eq!(finish[0]["finish_reason"], "stop");
}

#[tokio::test]
async fn several_prompts_are_sent_concurrently_and_echoed_in_order() {
    let stand_in = StandIn::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(2)
        .mount(&stand_in.server)
        .await;
    let (status, _, body) = post(
        &stand_in,
        &json!({"model": FLASH, "prompt": ["A: ", "B: "], "echo": true}),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let reply = json_of(&body);
    let choices: Vec<(u64, &str)> = reply["choices"]
        .as_array()
        .expect("choices")
        .iter()
        .map(|choice| {
            (
                choice["index"].as_u64().expect("index"),
                choice["text"].as_str().expect("text"),
            )
        })
        .collect();
    assert_eq!(choices, [(0, "A: ok"), (1, "B: ok")]);
    assert_eq!(reply["usage"]["total_tokens"], 4);
    let mut prompts: Vec<Value> = stand_in
        .received_bodies()
        .await
        .iter()
        .map(|body| body["contents"][0]["parts"][0]["text"].clone())
        .collect();
    prompts.sort_by_key(Value::to_string);
    assert_eq!(prompts, [json!("A: "), json!("B: ")]);
}

#[tokio::test]
async fn what_gemini_cannot_do_is_refused_by_name_before_any_call() {
    let stand_in = StandIn::start().await;
    let cases = [
        (
            json!({"model": FLASH, "prompt": "a", "suffix": "z"}),
            "suffix",
        ),
        (
            json!({"model": FLASH, "prompt": "a", "best_of": 3}),
            "best_of",
        ),
        (json!({"model": FLASH, "prompt": [1, 2]}), "prompt"),
        (json!({"model": FLASH, "prompt": []}), "prompt"),
        (
            json!({"model": FLASH, "prompt": "a", "frobnicate": 1}),
            "frobnicate",
        ),
    ];
    for (request, param) in cases {
        let (status, _, body) = post(&stand_in, &request).await;
        assert_eq!(status, 400, "{request}");
        assert_eq!(json_of(&body)["error"]["param"], param, "{request}");
    }
    assert!(stand_in.received_bodies().await.is_empty());
}

#[tokio::test]
async fn dropped_params_and_chat_params_among_the_rest() {
    let stand_in = StandIn::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .and(body_json(json!({
            "contents": [{"role": "user", "parts": [{"text": "a"}]}],
            "generationConfig": {"topK": 3}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    let (status, _, body) = post(
        &stand_in,
        &json!({"model": FLASH, "prompt": "a", "suffix": "z", "top_k": 3, "drop_params": true}),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
}

#[tokio::test]
async fn the_client_completes_and_streams() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let completion = stand_in
        .client()
        .complete(CompletionRequest::new(FLASH, "a"))
        .await
        .expect("completed");
    assert_eq!(completion.choices[0].text, "ok");

    let (_, recorded) = exchange(&fixture_file("18"), 0);
    stand_in
        .reply_sse(FLASH, recorded["sse"].as_str().expect("sse"))
        .await;
    let stream = stand_in
        .client()
        .complete_stream(CompletionRequest::new(FLASH, "a"))
        .await
        .expect("a stream");
    let chunks: Vec<_> = futures_util::StreamExt::collect::<Vec<_>>(stream).await;
    assert!(!chunks.is_empty());
    assert!(chunks.iter().all(Result::is_ok));
}
