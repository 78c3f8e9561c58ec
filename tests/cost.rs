//! What a request cost, as LiteLLM reports it: `usage.cost` in whole replies and in the
//! streamed usage chunk, the `x-litellm-response-cost` header on whole answers, against
//! figures computed by hand from the bundled price table (LiteLLM's `gemini/…` prices);
//! and the usage of a request that created a context cache.

mod common;

use common::{
    CREATED, StandIn, TEST_KEY, chat, contract_request, exchange, fixture_file, post_json,
    recorded, sse_payloads,
};
use llm_tower::edge::{ChatEdge, RESPONSE_COST_HEADER};
use llm_tower::pricing::ModelPrice;
use serde_json::{Value, json};
use wiremock::matchers::{body_partial_json, method, path};
use wiremock::{Mock, ResponseTemplate};

/// A one-candidate reply with `usage` as its `usageMetadata`.
fn reply_with(usage: Value) -> Value {
    json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": usage,
        "responseId": "r-1"
    })
}

fn ask(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]})
}

/// The reply `body` for `model` through the edge: status, cost header, JSON body.
async fn through_edge(model: &str, body: &Value) -> (u16, Option<String>, Value) {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(model, 200, body).await;
    let edge = ChatEdge::new(stand_in.gemini.chat_service());
    let (status, headers, bytes) = post_json(edge, "/v1/chat/completions", &ask(model)).await;
    let cost = headers
        .get(RESPONSE_COST_HEADER)
        .map(|value| value.to_str().expect("ascii").to_owned());
    (status, cost, serde_json::from_slice(&bytes).expect("JSON"))
}

#[tokio::test]
async fn a_long_prompt_on_2_5_pro_takes_the_200k_tier() {
    let usage = json!({
        "promptTokenCount": 250_000, "candidatesTokenCount": 600, "thoughtsTokenCount": 400,
        "totalTokenCount": 251_000, "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 250_000}]
    });
    let (status, header, body) = through_edge("gemini-2.5-pro", &reply_with(usage)).await;
    assert_eq!(status, 200);
    // Above 200k prompt tokens: 250,000 × $2.50/M + (600 + 400) × $15/M = $0.625 + $0.015.
    assert_eq!(
        body["usage"],
        json!({
            "prompt_tokens": 250_000, "completion_tokens": 1000, "total_tokens": 251_000,
            "prompt_tokens_details": {"text_tokens": 250_000},
            "completion_tokens_details": {"reasoning_tokens": 400, "text_tokens": 600},
            "cost": 0.64
        })
    );
    assert_eq!(header.as_deref(), Some("0.64"));

    // At 200,000 the base prices hold: 200,000 × $1.25/M + 1,000 × $10/M.
    let usage = json!({"promptTokenCount": 200_000, "candidatesTokenCount": 1000, "totalTokenCount": 201_000});
    let (_, header, body) = through_edge("gemini-2.5-pro", &reply_with(usage)).await;
    assert_eq!(body["usage"]["cost"], json!(0.26));
    assert_eq!(header.as_deref(), Some("0.26"));
}

#[tokio::test]
async fn a_cached_request_pays_the_cache_read_price_for_its_cached_tokens() {
    // 1,200 prompt tokens, 1,024 read from a cache, 50 out, on gemini-2.5-flash:
    // 176 × $0.30/M + 1,024 × $0.03/M + 50 × $2.50/M = $0.0000528 + $0.00003072 + $0.000125.
    let usage = json!({
        "promptTokenCount": 1200, "cachedContentTokenCount": 1024, "candidatesTokenCount": 50,
        "totalTokenCount": 1250,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 1200}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 1024}]
    });
    let (_, header, body) = through_edge("gemini-2.5-flash", &reply_with(usage)).await;
    assert_eq!(
        body["usage"],
        json!({
            "prompt_tokens": 1200, "completion_tokens": 50, "total_tokens": 1250,
            "prompt_tokens_details": {"cached_tokens": 1024, "text_tokens": 1200,
                                      "cached_tokens_details": {"text_tokens": 1024}},
            "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 50},
            "cache_read_input_tokens": 1024,
            "cost": 0.00020852
        })
    );
    assert_eq!(header.as_deref(), Some("0.00020852"));
}

#[tokio::test]
async fn an_image_output_is_priced_per_image_token() {
    // Fixture 55: 1,290 image tokens out of gemini-2.5-flash-image at $30/M, 15 prompt
    // tokens at $0.30/M: $0.0387 + $0.0000045.
    let (_, response) = exchange(&fixture_file("55"), 0);
    let (_, header, body) = through_edge("gemini-2.5-flash-image", &response["body"]).await;
    assert_eq!(
        body["usage"]["completion_tokens_details"]["image_tokens"],
        1290
    );
    assert_eq!(body["usage"]["cost"], json!(0.0387045));
    assert_eq!(header.as_deref(), Some("0.0387045"));
}

#[tokio::test]
async fn an_unknown_model_has_no_cost_and_no_error() {
    let usage = json!({"promptTokenCount": 10, "candidatesTokenCount": 5, "totalTokenCount": 15});
    let (status, header, body) = through_edge("gemini-next-experimental", &reply_with(usage)).await;
    assert_eq!(status, 200);
    assert_eq!(header, None);
    assert!(body["usage"].get("cost").is_none(), "{body}");
    assert_eq!(body["usage"]["total_tokens"], 15);
}

#[tokio::test]
async fn a_deployments_own_price_wins_and_usage_cost_is_read_in_the_library() {
    let stand_in = StandIn::start_with(|builder| builder.price(ModelPrice::new(1e-6, 2e-6))).await;
    let usage =
        json!({"promptTokenCount": 1000, "candidatesTokenCount": 500, "totalTokenCount": 1500});
    stand_in
        .reply_json("gemini-2.5-flash", 200, &reply_with(usage))
        .await;
    let completion = stand_in
        .client()
        .chat(chat(ask("gemini-2.5-flash")))
        .await
        .expect("answered");
    // 1,000 × $1/M + 500 × $2/M.
    assert_eq!(completion.usage.expect("usage").cost(), Some(0.002));
}

#[tokio::test]
async fn the_streamed_usage_chunk_carries_the_cost() {
    let (model, sse) = recorded("23", 0);
    let stand_in = StandIn::start().await;
    stand_in.reply_sse(&model, &sse).await;
    let mut request = ask(&model);
    request["stream"] = json!(true);
    request["stream_options"] = json!({"include_usage": true});
    let edge = ChatEdge::new(stand_in.gemini.chat_service());
    let (status, headers, bytes) = post_json(edge, "/v1/chat/completions", &request).await;
    assert_eq!(status, 200);
    assert!(
        headers.get(RESPONSE_COST_HEADER).is_none(),
        "streams carry it in the body"
    );
    let payloads = sse_payloads(&bytes);
    let usage: Value = serde_json::from_str(&payloads[payloads.len() - 2]).expect("usage chunk");
    // Fixture 23 (gemini-3-flash-preview, thinking): 37 in × $0.50/M + (429 + 4,358) out
    // × $3/M.
    assert_eq!(
        usage["usage"],
        json!({
            "prompt_tokens": 37, "completion_tokens": 4787, "total_tokens": 4824,
            "prompt_tokens_details": {"text_tokens": 37},
            "completion_tokens_details": {"reasoning_tokens": 4358, "text_tokens": 429},
            "cost": 0.0143795
        })
    );
    assert_eq!(payloads.last().map(String::as_str), Some("[DONE]"));
}

/// [`contract_request`] with the usage chunk asked for.
fn contract(stream: bool) -> Value {
    let mut request = contract_request(stream);
    request["stream_options"] = json!({"include_usage": true});
    request
}

/// The live call's usage: the 4,102 cached tokens read back, 8 fresh, 20 out.
fn cached_usage() -> Value {
    json!({
        "promptTokenCount": 4110, "cachedContentTokenCount": 4102, "candidatesTokenCount": 20,
        "totalTokenCount": 4130,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": 4110}],
        "cacheTokensDetails": [{"modality": "TEXT", "tokenCount": 4102}]
    })
}

/// A stand-in that creates fixture 75's cache (4,102 tokens, an hour) once and answers
/// the live call with [`cached_usage`], whole or streamed.
async fn caching_stand_in() -> StandIn {
    let stand_in = StandIn::start().await;
    let (_, mut created) = exchange(&fixture_file("75"), 0);
    // Google's expiry an hour from now (the recorded one is in the past: the layer would
    // not name the cache again).
    created["body"]["expireTime"] = json!(
        humantime::format_rfc3339_millis(
            std::time::SystemTime::now() + std::time::Duration::from_secs(3600)
        )
        .to_string()
    );
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .and(wiremock::matchers::header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(&created["body"]))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    let live = json!({"cachedContent": "cachedContents/4x9q2b7k1m"});
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(body_partial_json(&live))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply_with(cached_usage())))
        .mount(&stand_in.server)
        .await;
    let event = serde_json::to_string(&reply_with(cached_usage())).expect("JSON");
    Mock::given(method("POST"))
        .and(path(
            "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        ))
        .and(body_partial_json(&live))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(format!("data: {event}\r\n\r\n"), "text/event-stream"),
        )
        .mount(&stand_in.server)
        .await;
    stand_in
}

/// The usage of the request that created the cache. Its cost, on gemini-2.5-flash:
/// 8 fresh × $0.30/M + 4,102 cached × $0.03/M + 20 out × $2.50/M, plus the write,
/// 4,102 × $0.30/M, and an hour of storage, 4,102 × $1/M: $0.0000024 + $0.00012306 +
/// $0.00005 + $0.0012306 + $0.004102.
fn creating_usage() -> Value {
    json!({
        "prompt_tokens": 4110, "completion_tokens": 20, "total_tokens": 4130,
        "prompt_tokens_details": {
            "cached_tokens": 4102, "text_tokens": 4110,
            "cached_tokens_details": {"text_tokens": 4102},
            "cache_creation_tokens": 4102, "cache_write_tokens": 4102
        },
        "completion_tokens_details": {"reasoning_tokens": 0, "text_tokens": 20},
        "cache_read_input_tokens": 4102,
        "cache_creation_input_tokens": 4102,
        "cost": 0.00550806
    })
}

#[tokio::test]
async fn the_request_that_creates_a_cache_reports_the_write_and_the_next_one_does_not() {
    let stand_in = caching_stand_in().await;
    let first = stand_in
        .client()
        .chat(chat(contract(false)))
        .await
        .expect("answered");
    assert_eq!(
        serde_json::to_value(first.usage).expect("JSON"),
        creating_usage()
    );
    // The cache is reused: no write, and the prompt total is not raised by it.
    let second = stand_in
        .client()
        .chat(chat(contract(false)))
        .await
        .expect("answered");
    let usage = serde_json::to_value(second.usage).expect("JSON");
    assert!(
        usage.get("cache_creation_input_tokens").is_none(),
        "{usage}"
    );
    assert_eq!(usage["prompt_tokens"], 4110);
    // 8 × $0.30/M + 4,102 × $0.03/M + 20 × $2.50/M.
    assert_eq!(usage["cost"], json!(0.00017546));
}

#[tokio::test]
async fn a_streamed_request_that_creates_a_cache_reports_the_write_in_its_usage_chunk() {
    let stand_in = caching_stand_in().await;
    let edge = ChatEdge::new(stand_in.gemini.chat_service());
    let (status, _, bytes) = post_json(edge, "/v1/chat/completions", &contract(true)).await;
    assert_eq!(status, 200);
    let payloads = sse_payloads(&bytes);
    assert_eq!(
        serde_json::from_str::<Value>(&payloads[payloads.len() - 2]).expect("usage chunk"),
        json!({
            "id": "r-1", "object": "chat.completion.chunk", "created": CREATED,
            "model": "gemini-2.5-flash", "choices": [], "usage": creating_usage()
        })
    );
}

#[tokio::test]
async fn legacy_completions_carry_the_details_and_the_cost_summed_over_prompts() {
    let stand_in = StandIn::start().await;
    let usage = json!({"promptTokenCount": 10, "candidatesTokenCount": 4, "thoughtsTokenCount": 6, "totalTokenCount": 20});
    stand_in
        .reply_json("gemini-2.5-flash", 200, &reply_with(usage))
        .await;
    let request = serde_json::from_value(json!({
        "model": "gemini-2.5-flash", "prompt": ["a", "b"]
    }))
    .expect("request");
    let completion = stand_in.client().complete(request).await.expect("answered");
    // Two prompts, each 10 × $0.30/M + 10 × $2.50/M.
    assert_eq!(
        serde_json::to_value(completion.usage).expect("JSON"),
        json!({
            "prompt_tokens": 20, "completion_tokens": 20, "total_tokens": 40,
            "completion_tokens_details": {"reasoning_tokens": 12, "text_tokens": 8},
            "cost": 0.000056
        })
    );
}
