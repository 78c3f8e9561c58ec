//! The OpenAI-compatible provider against a wiremock stand-in that checks the exact request:
//! JSON and SSE replies, tools, `response_format`, `stream_options`, embeddings, upstream
//! errors through the HTTP edge, and through the proxy: a retried 429, and `openai/…` and
//! `gemini/…` models (and a provider llm-tower does not have) in one config.

mod common;
#[path = "common/proxy.rs"]
mod proxy_app;

use std::time::{Duration, Instant};

use bytes::Bytes;
use common::{TEST_KEY, fixture};
use futures_util::StreamExt;
use http_body_util::{BodyExt, Full};
use llm_tower::edge::ChatEdgeLayer;
use llm_tower::openai::{ChatRequest, EmbeddingRequest};
use llm_tower::pricing::ModelPrice;
use llm_tower::providers::openai_compatible::OpenAiCompatible;
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use llm_tower::{ChatResponse, ChatService, Client, ErrorKind, ModelRouter, Secret};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, Request, ResponseTemplate};

/// The key the OpenAI stand-in expects.
const OPENAI_KEY: &str = "sk-test-not-real";

const MASTER: &str = "sk-master-1234";

/// A provider pointed at `server`, with the test key.
fn provider(server: &MockServer) -> OpenAiCompatible {
    OpenAiCompatible::builder()
        .api_base(format!("{}/v1", server.uri()))
        .api_key(Secret::new(OPENAI_KEY))
        .build()
        .expect("provider builds")
}

/// A client over `openai/…` models served by `server`.
fn client(server: &MockServer) -> Client {
    let router = ModelRouter::builder()
        .provider("openai", &provider(server))
        .build();
    Client::new(ChatService::new(router))
}

/// `POST /v1/chat/completions` with the test key.
fn chat_completions() -> MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header(
            "authorization",
            format!("Bearer {OPENAI_KEY}").as_str(),
        ))
}

fn chat(value: Value) -> ChatRequest {
    serde_json::from_value(value).expect("a chat request")
}

/// A `chat.completion` as OpenAI answers it, with a tool call.
fn tool_call_reply() -> Value {
    json!({
        "id": "chatcmpl-AbC123",
        "object": "chat.completion",
        "created": 1_733_000_000,
        "model": "gpt-4o-mini-2024-07-18",
        "choices": [{
            "index": 0,
            "message": {
                "role": "assistant",
                "content": null,
                "tool_calls": [{
                    "id": "call_weather_1",
                    "type": "function",
                    "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}
                }],
                "refusal": null
            },
            "logprobs": null,
            "finish_reason": "tool_calls"
        }],
        "usage": {"prompt_tokens": 61, "completion_tokens": 17, "total_tokens": 78,
                  "prompt_tokens_details": {"cached_tokens": 0, "audio_tokens": 0}},
        "system_fingerprint": "fp_0ba0d124f1"
    })
}

fn weather_tool() -> Value {
    json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "The weather in a city",
        "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
        "strict": true
    }})
}

#[tokio::test]
async fn chat_sends_the_request_as_openai_takes_it_and_decodes_the_tool_call() {
    let server = MockServer::start().await;
    // Exactly what goes upstream: the model without its prefix, tools and tool_choice as
    // given, no stream_options (the client does not stream), no enforce_validation.
    chat_completions()
        .and(header("content-type", "application/json"))
        .and(body_json(json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "temperature": 0.0,
            "tools": [weather_tool()],
            "tool_choice": "required"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(tool_call_reply()))
        .expect(1)
        .mount(&server)
        .await;
    let completion = client(&server)
        .chat(chat(json!({
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "user", "content": "Weather in Paris?"}],
            "temperature": 0.0,
            "tools": [weather_tool()],
            "tool_choice": "required",
            "stream_options": {"include_usage": true}
        })))
        .await
        .expect("a completion");
    assert_eq!(completion.id, "chatcmpl-AbC123");
    assert_eq!(completion.model, "gpt-4o-mini-2024-07-18");
    let choice = &completion.choices[0];
    assert_eq!(choice.finish_reason.as_deref(), Some("tool_calls"));
    let calls = choice.message.tool_calls.as_ref().expect("tool calls");
    assert_eq!(calls[0].id, "call_weather_1");
    assert_eq!(calls[0].function.name, "get_weather");
    assert_eq!(calls[0].function.arguments, "{\"city\":\"Paris\"}");
    assert_eq!(
        completion.usage.as_ref().map(|usage| usage.total_tokens),
        Some(78)
    );
}

#[tokio::test]
async fn response_format_is_forwarded_and_enforce_validation_checks_the_reply() {
    let server = MockServer::start().await;
    let schema = json!({"type": "object", "properties": {"n": {"type": "integer"}}, "required": ["n"], "additionalProperties": false});
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_json(json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "A number"}],
            "response_format": {"type": "json_schema", "json_schema": {"name": "number", "schema": schema, "strict": true}}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "{\"n\": \"seven\"}"}, "finish_reason": "stop"}]
        })))
        .expect(2)
        .mount(&server)
        .await;
    let request = |enforce: Option<bool>| {
        let mut format = json!({"type": "json_schema", "json_schema": {"name": "number", "schema": schema, "strict": true}});
        if let Some(enforce) = enforce {
            format["enforce_validation"] = json!(enforce);
        }
        chat(
            json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "A number"}], "response_format": format}),
        )
    };
    let client = client(&server);
    let plain = client
        .chat(request(None))
        .await
        .expect("no check asked for");
    assert_eq!(
        plain.choices[0].message.content.as_deref(),
        Some("{\"n\": \"seven\"}")
    );
    let error = client
        .chat(request(Some(true)))
        .await
        .expect_err("the reply does not match");
    assert_eq!(error.kind(), ErrorKind::JsonSchemaValidation);
    assert_eq!(error.raw_response(), Some("{\"n\": \"seven\"}"));
}

/// An SSE body as OpenAI streams it: role, text, finish, then the usage chunk, `[DONE]`.
fn openai_stream() -> String {
    let chunk = |choices: Value, usage: Value| {
        json!({"id": "chatcmpl-S1", "object": "chat.completion.chunk", "created": 1_733_000_000,
               "model": "gpt-4o-mini-2024-07-18", "system_fingerprint": "fp_1", "choices": choices, "usage": usage})
    };
    let events = [
        chunk(
            json!([{"index": 0, "delta": {"role": "assistant", "content": "", "refusal": null}, "logprobs": null, "finish_reason": null}]),
            Value::Null,
        ),
        chunk(
            json!([{"index": 0, "delta": {"content": "Hello"}, "logprobs": null, "finish_reason": null}]),
            Value::Null,
        ),
        chunk(
            json!([{"index": 0, "delta": {"content": " there"}, "logprobs": null, "finish_reason": null}]),
            Value::Null,
        ),
        chunk(
            json!([{"index": 0, "delta": {}, "logprobs": null, "finish_reason": "stop"}]),
            Value::Null,
        ),
        chunk(
            json!([]),
            json!({"prompt_tokens": 9, "completion_tokens": 2, "total_tokens": 11}),
        ),
    ];
    let mut body: String = events
        .iter()
        .map(|event| format!("data: {event}\n\n"))
        .collect();
    body.push_str("data: [DONE]\n\n");
    body
}

#[tokio::test]
async fn a_stream_forwards_stream_options_and_passes_the_usage_chunk() {
    let server = MockServer::start().await;
    chat_completions()
        .and(body_json(json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Hi"}],
            "stream": true,
            "stream_options": {"include_usage": true}
        })))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(openai_stream(), "text/event-stream; charset=utf-8"),
        )
        .expect(1)
        .mount(&server)
        .await;
    let chunks: Vec<_> = client(&server)
        .chat_stream(chat(json!({
            "model": "openai/gpt-4o-mini",
            "messages": [{"role": "user", "content": "Hi"}],
            "stream_options": {"include_usage": true}
        })))
        .await
        .expect("a stream")
        .collect()
        .await;
    let chunks: Vec<_> = chunks
        .into_iter()
        .map(|chunk| chunk.expect("a chunk"))
        .collect();
    assert_eq!(chunks.len(), 5);
    let text: String = chunks
        .iter()
        .filter_map(|chunk| chunk.choices.first()?.delta.content.clone())
        .collect();
    assert_eq!(text, "Hello there");
    assert_eq!(chunks[3].choices[0].finish_reason.as_deref(), Some("stop"));
    assert!(chunks[4].choices.is_empty());
    assert_eq!(
        chunks[4].usage.as_ref().map(|usage| usage.total_tokens),
        Some(11)
    );
}

#[tokio::test]
async fn embeddings_pass_through() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header(
            "authorization",
            format!("Bearer {OPENAI_KEY}").as_str(),
        ))
        .and(body_json(
            json!({"model": "text-embedding-3-small", "input": ["a", "b"], "dimensions": 2}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list",
            "data": [
                {"object": "embedding", "index": 0, "embedding": [0.25, -0.5]},
                {"object": "embedding", "index": 1, "embedding": [0.75, 0.125]}
            ],
            "model": "text-embedding-3-small",
            "usage": {"prompt_tokens": 2, "total_tokens": 2}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let router = ModelRouter::builder()
        .provider("openai", &provider(&server))
        .build();
    let mut request = EmbeddingRequest::new(
        "openai/text-embedding-3-small",
        vec!["a".to_owned(), "b".to_owned()],
    );
    request.dimensions = Some(2);
    let reply = router.oneshot(request).await.expect("embeddings");
    assert_eq!(reply.data.len(), 2);
    assert_eq!(
        serde_json::to_value(&reply.data[1].embedding).expect("JSON"),
        json!([0.75, 0.125])
    );
}

/// Status, `Retry-After` and envelope of a chat request through the HTTP edge.
async fn through_the_edge(server: &MockServer, body: Value) -> (u16, Option<String>, Value) {
    let router = ModelRouter::builder()
        .provider("openai", &provider(server))
        .build();
    let edge = ChatEdgeLayer::new().layer(router);
    let request = http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    let response = edge
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().expect("ASCII").to_owned());
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (
        status,
        retry_after,
        serde_json::from_slice(&bytes).expect("JSON"),
    )
}

fn hi(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn upstream_errors_become_the_same_envelope() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/chat/completions"))
        .and(body_json(hi("bad-key")))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({"error": {
            "message": "Incorrect API key provided: sk-test-***real. You can find your API key at https://platform.openai.com/account/api-keys.",
            "type": "invalid_request_error", "param": null, "code": "invalid_api_key"}})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/chat/completions"))
        .and(body_json(hi("bad-param")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "message": "Invalid value: 'loud'. Supported values are: 'low', 'medium', and 'high'.",
            "type": "invalid_request_error", "param": "reasoning_effort", "code": "invalid_value"}})))
        .mount(&server)
        .await;
    Mock::given(path("/v1/chat/completions"))
        .and(body_json(hi("behind-a-proxy")))
        .respond_with(
            ResponseTemplate::new(502)
                .insert_header("content-type", "text/html")
                .set_body_string("<html><head><title>502 Bad Gateway</title></head><body><center><h1>502 Bad Gateway</h1></center><hr><center>nginx</center></body></html>"),
        )
        .mount(&server)
        .await;

    let (status, _, envelope) = through_the_edge(&server, hi("openai/bad-key")).await;
    assert_eq!(status, 401);
    assert_eq!(envelope["error"]["type"], "authentication_error");
    assert_eq!(envelope["error"]["code"], "invalid_api_key");
    assert!(
        envelope["error"]["message"]
            .as_str()
            .is_some_and(|m| m.starts_with("Incorrect API key provided"))
    );

    // An upstream that quotes the key it was sent: the client never sees it.
    Mock::given(path("/v1/chat/completions"))
        .and(body_json(hi("quoting")))
        .respond_with(ResponseTemplate::new(403).set_body_json(json!({"error": {
            "message": format!("Key {OPENAI_KEY} is not allowed to use this model."),
            "type": "invalid_request_error", "param": null, "code": null}})))
        .mount(&server)
        .await;
    let (status, _, envelope) = through_the_edge(&server, hi("openai/quoting")).await;
    assert_eq!(status, 403);
    assert_eq!(
        envelope["error"]["message"],
        "Key [redacted] is not allowed to use this model."
    );

    let (status, _, envelope) = through_the_edge(&server, hi("openai/bad-param")).await;
    assert_eq!(status, 400);
    assert_eq!(
        envelope,
        json!({"error": {
            "message": "Invalid value: 'loud'. Supported values are: 'low', 'medium', and 'high'.",
            "type": "invalid_request_error", "param": "reasoning_effort", "code": "invalid_value"}})
    );

    let (status, _, envelope) = through_the_edge(&server, hi("openai/behind-a-proxy")).await;
    assert_eq!(status, 502);
    assert_eq!(envelope["error"]["type"], "service_unavailable_error");
    assert_eq!(
        envelope["error"]["message"],
        "502 Bad Gateway 502 Bad Gateway nginx"
    );
}

#[tokio::test]
async fn a_429_keeps_its_status_and_retry_after() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "20")
                .set_body_json(json!({"error": {"message": "Rate limit reached for gpt-4o-mini", "type": "requests", "param": null, "code": "rate_limit_exceeded"}})),
        )
        .mount(&server)
        .await;
    let (status, retry_after, envelope) = through_the_edge(&server, hi("openai/gpt-4o-mini")).await;
    assert_eq!(status, 429);
    assert_eq!(retry_after.as_deref(), Some("20"));
    assert_eq!(envelope["error"]["type"], "rate_limit_error");
    assert_eq!(envelope["error"]["code"], "rate_limit_exceeded");
}

#[tokio::test]
async fn the_key_goes_in_a_header_and_a_keyless_local_server_gets_none() {
    let server = MockServer::start().await;
    Mock::given(path("/v1/chat/completions"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "llama3.2",
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hi"}, "finish_reason": "stop"}]
        })))
        .mount(&server)
        .await;
    let keyless = OpenAiCompatible::builder()
        .api_base(format!("{}/v1", server.uri()))
        .build()
        .expect("builds");
    let client = Client::from_provider(&keyless);
    client.chat(chat(hi("llama3.2"))).await.expect("a reply");
    client_with_key(&server)
        .chat(chat(hi("llama3.2")))
        .await
        .expect("a reply");
    let requests: Vec<Request> = server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 2);
    assert!(requests[0].headers.get("authorization").is_none());
    assert_eq!(
        requests[1].headers["authorization"],
        format!("Bearer {OPENAI_KEY}").as_str()
    );
    assert!(
        requests
            .iter()
            .all(|request| !request.url.as_str().contains(OPENAI_KEY))
    );
}

fn client_with_key(server: &MockServer) -> Client {
    Client::from_provider(&provider(server))
}

// ---- through the proxy ----

fn proxy(gemini: &MockServer, openai: &MockServer, extra: &str) -> (Proxy, Vec<String>) {
    let yaml = format!(
        "model_list:
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: os.environ/GEMINI_API_KEY
      api_base: {gemini}/v1beta
  - model_name: mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: os.environ/OPENAI_KEY
      api_base: {openai}/v1
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-5
      api_key: os.environ/ANTHROPIC_API_KEY
  - model_name: bedrock/*
    litellm_params:
      model: bedrock/*
general_settings:
  master_key: {MASTER}
{extra}",
        gemini = gemini.uri(),
        openai = openai.uri(),
    );
    let env = |name: &str| match name {
        "GEMINI_API_KEY" => Some(TEST_KEY.to_owned()),
        "OPENAI_KEY" => Some(OPENAI_KEY.to_owned()),
        _ => None,
    };
    let (config, warnings) = Config::from_yaml(&yaml, "config.yaml", &env).expect("config loads");
    (Proxy::from_config(&config).expect("proxy builds"), warnings)
}

async fn send(proxy: &Proxy, body: &Value) -> (u16, Value) {
    let (status, _, reply) = send_full(proxy, body).await;
    (status, reply)
}

/// Status, headers and JSON body of a chat request through the proxy.
async fn send_full(proxy: &Proxy, body: &Value) -> (u16, http::HeaderMap, Value) {
    let (status, headers, bytes) = proxy_app::exchange(
        proxy,
        "POST",
        "/v1/chat/completions",
        MASTER,
        Some(body.clone()),
    )
    .await;
    (
        status,
        headers,
        serde_json::from_slice(&bytes).expect("JSON"),
    )
}

fn simple_reply(model: &str, text: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": model,
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}]
    })
}

#[tokio::test]
async fn one_config_routes_openai_and_gemini_models_and_skips_unknown_providers() {
    let gemini = MockServer::start().await;
    let openai = MockServer::start().await;
    let gemini_reply =
        fixture("01-agent--completion-smoke.json")["exchanges"][0]["response"]["body"].clone();
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(gemini_reply))
        .expect(1)
        .mount(&gemini)
        .await;
    chat_completions()
        .and(body_json(hi("gpt-4o-mini")))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(simple_reply("gpt-4o-mini", "From OpenAI.")),
        )
        .expect(1)
        .mount(&openai)
        .await;
    let (proxy, warnings) = proxy(&gemini, &openai, "");
    let skipped: Vec<_> = warnings
        .iter()
        .filter(|warning| warning.contains("skipped"))
        .collect();
    assert_eq!(skipped.len(), 2, "{warnings:?}");
    assert!(skipped[0].contains("anthropic"), "{skipped:?}");
    assert!(skipped[1].contains("bedrock"), "{skipped:?}");

    let (status, body) = send(&proxy, &hi("flash")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["object"], "chat.completion");
    let (status, body) = send(&proxy, &hi("mini")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["choices"][0]["message"]["content"], "From OpenAI.");

    for model in ["claude", "bedrock/amazon.titan-text-express-v1"] {
        let (status, body) = send(&proxy, &hi(model)).await;
        assert_eq!(status, 404, "{body}");
        let message = body["error"]["message"].as_str().expect("a message");
        assert!(message.contains("not available"), "{message}");
        assert_eq!(body["error"]["param"], "model");
    }
}

#[tokio::test]
async fn a_429_with_retry_after_is_retried_after_the_delay() {
    let gemini = MockServer::start().await;
    let openai = MockServer::start().await;
    Mock::given(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "1")
                .set_body_json(json!({"error": {"message": "Rate limit reached", "type": "requests", "param": null, "code": "rate_limit_exceeded"}})),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&openai)
        .await;
    Mock::given(path("/v1/chat/completions"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(simple_reply("gpt-4o-mini", "Second time lucky.")),
        )
        .expect(1)
        .mount(&openai)
        .await;
    let (proxy, _) = proxy(&gemini, &openai, "litellm_settings: {num_retries: 2}");
    let started = Instant::now();
    let (status, body) = send(&proxy, &hi("mini")).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(
        body["choices"][0]["message"]["content"],
        "Second time lucky."
    );
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "retried before Retry-After"
    );
}

#[tokio::test]
async fn a_stream_through_the_proxy_keeps_the_usage_chunk_and_ends_with_done() {
    let gemini = MockServer::start().await;
    let openai = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(body_json(json!({
            "model": "gpt-4o-mini",
            "messages": [{"role": "user", "content": "Hi"}],
            "stream": true,
            "stream_options": {"include_usage": true}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_raw(openai_stream(), "text/event-stream"))
        .expect(1)
        .mount(&openai)
        .await;
    let (proxy, _) = proxy(&gemini, &openai, "");
    let request = http::Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {MASTER}"))
        .body(Full::new(Bytes::from(
            json!({"model": "mini", "messages": [{"role": "user", "content": "Hi"}],
                   "stream": true, "stream_options": {"include_usage": true}})
            .to_string(),
        )))
        .expect("request");
    let response = proxy
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "text/event-stream");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    let events = common::sse_payloads(&body);
    assert_eq!(events.len(), 6, "{events:?}");
    assert_eq!(events[5], "[DONE]");
    let usage: Value = serde_json::from_str(&events[4]).expect("the usage chunk");
    assert_eq!(usage["choices"], json!([]));
    assert_eq!(usage["usage"]["total_tokens"], 11);
}

/// `router_settings.default_max_parallel_requests` bounds an `openai/…` deployment too:
/// with one call in flight (held by the upstream), the next waits its second in line and
/// gets a 429 with `Retry-After` while the first is still held, without reaching the
/// upstream; once the first is gone, calls go out again.
#[tokio::test]
async fn the_default_bound_on_calls_in_flight_holds_for_openai_deployments() {
    let gemini = MockServer::start().await;
    let openai = MockServer::start().await;
    // The first call is held far longer than the test runs; the next answers at once.
    chat_completions()
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(simple_reply("gpt-4o-mini", "held"))
                .set_delay(Duration::from_secs(60)),
        )
        .up_to_n_times(1)
        .expect(1)
        .mount(&openai)
        .await;
    chat_completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(simple_reply("gpt-4o-mini", "hi")))
        .expect(1)
        .mount(&openai)
        .await;
    let (proxy, _) = proxy(
        &gemini,
        &openai,
        "router_settings: {default_max_parallel_requests: 1}",
    );
    let held = {
        let proxy = proxy.clone();
        tokio::spawn(async move { send(&proxy, &hi("mini")).await })
    };
    let arrived = async {
        while openai
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
        {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    };
    tokio::time::timeout(Duration::from_secs(10), arrived)
        .await
        .expect("the first call arrived");
    let waited = Instant::now();
    let (status, headers, error) = send_full(&proxy, &hi("mini")).await;
    assert_eq!(status, 429, "{error}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(error["error"]["type"], "rate_limit_error", "{error}");
    // A timer never fires early: the refused call waited its second in line.
    assert!(waited.elapsed() >= Duration::from_millis(900));
    assert!(
        !held.is_finished(),
        "refused while the first call was in flight"
    );
    assert_eq!(
        openai.received_requests().await.unwrap_or_default().len(),
        1,
        "the refused call never went out"
    );
    held.abort();
    assert!(held.await.expect_err("aborted").is_cancelled());
    let (status, reply) = send(&proxy, &hi("mini")).await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["choices"][0]["message"]["content"], "hi");
}

/// What an application attaches to its requests.
#[derive(Clone, Debug, PartialEq)]
struct Tenant(&'static str);

#[tokio::test]
async fn the_requests_extensions_reach_the_http_level_and_its_own_key_is_its_authorization() {
    let server = MockServer::start().await;
    // The application's per-request key (its tenant's) is what the upstream sees.
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", "Bearer sk-of-the-tenant"))
        .respond_with(ResponseTemplate::new(200).set_body_json(tool_call_reply()))
        .expect(1)
        .mount(&server)
        .await;
    // For each upstream request: its tenant, its deadline, and whether a key rode along.
    let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let record = seen.clone();
    let openai = OpenAiCompatible::builder()
        .api_base(format!("{}/v1", server.uri()))
        .api_key(Secret::new(OPENAI_KEY))
        .client_credentials(true)
        .http_layer(tower::util::MapRequestLayer::new(
            move |request: http::Request<Full<Bytes>>| {
                let extensions = request.extensions();
                record.lock().expect("lock").push((
                    extensions.get::<Tenant>().cloned(),
                    extensions.get::<llm_tower::Deadline>().is_some(),
                    extensions.get::<Secret>().is_some(),
                ));
                request
            },
        ))
        .build()
        .expect("provider builds");
    let mut request = chat(hi("gpt-4o-mini"));
    request.context.insert(Tenant("acme"));
    request
        .context
        .insert(llm_tower::Deadline::after(Duration::from_secs(30)));
    request.context.insert(Secret::new("sk-of-the-tenant"));
    Client::new(openai.chat_service())
        .chat(request)
        .await
        .expect("answered with the tenant's key");
    assert_eq!(
        *seen.lock().expect("lock"),
        [(Some(Tenant("acme")), true, false)],
        "the tenant and the deadline reach the HTTP level, the key only as its header"
    );
}

#[tokio::test]
async fn a_per_request_key_is_refused_where_client_credentials_are_off() {
    let server = MockServer::start().await;
    let openai = provider(&server);
    let mut request = chat(hi("gpt-4o-mini"));
    request.context.insert(Secret::new("sk-of-the-tenant"));
    let error = Client::new(openai.chat_service())
        .chat(request)
        .await
        .expect_err("the configured key is not billed in the tenant's stead");
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert!(!error.message().contains("sk-of-the-tenant"));
    let mut embedding = EmbeddingRequest::new("text-embedding-3-small", "hello");
    embedding.context.insert(Secret::new("sk-of-the-tenant"));
    let error = openai
        .embedding_service()
        .oneshot(embedding)
        .await
        .expect_err("refused for embeddings too");
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        0
    );
}

#[tokio::test]
async fn a_configured_price_wins_over_the_upstreams_cost_and_a_bad_one_is_dropped() {
    let server = MockServer::start().await;
    let mut reply = simple_reply("gpt-4o-mini", "hi");
    reply["usage"] = json!({"prompt_tokens": 1000, "completion_tokens": 100,
        "total_tokens": 1100, "cost": -1000.5});
    chat_completions()
        .respond_with(ResponseTemplate::new(200).set_body_json(&reply))
        .mount(&server)
        .await;
    let request =
        || chat(json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}));

    // Without a price, the upstream's negative figure is no cost at all.
    let unpriced = provider(&server).chat_service();
    let ChatResponse::Completion(completion) = unpriced.oneshot(request()).await.expect("reply")
    else {
        panic!("a completion");
    };
    assert_eq!(completion.usage.expect("usage").cost(), None);

    // With one, the cost is computed from it: 1000 × 1e-6 + 100 × 2e-6.
    let price = ModelPrice {
        input_cost_per_token: 1e-6,
        output_cost_per_token: 2e-6,
        ..ModelPrice::default()
    };
    let priced = OpenAiCompatible::builder()
        .api_base(format!("{}/v1", server.uri()))
        .api_key(Secret::new(OPENAI_KEY))
        .price(price)
        .build()
        .expect("provider builds")
        .chat_service();
    let ChatResponse::Completion(completion) = priced.oneshot(request()).await.expect("reply")
    else {
        panic!("a completion");
    };
    let cost = completion.usage.expect("usage").cost().expect("a cost");
    assert!((cost - 0.0012).abs() < 1e-12, "{cost}");
}

/// What a LiteLLM config puts in `litellm_params` beside the provider params never reaches
/// the upstream body: `organization` is OpenAI's header, `tags` and `rpm` are the router's,
/// and a key llm-tower does not know is dropped with a startup warning.
#[tokio::test]
async fn only_known_provider_params_reach_the_body_and_organization_is_a_header() {
    let openai = MockServer::start().await;
    let mut expected = hi("gpt-4o-mini");
    expected["temperature"] = json!(0.25);
    chat_completions()
        .and(header("openai-organization", "org-7"))
        .and(body_json(expected))
        .respond_with(ResponseTemplate::new(200).set_body_json(simple_reply("gpt-4o-mini", "ok")))
        .expect(1)
        .mount(&openai)
        .await;
    let yaml = format!(
        "model_list:
  - model_name: mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: {OPENAI_KEY}
      api_base: {}/v1
      organization: org-7
      tags: [paid]
      rpm: 100
      temperature: 0.25
      api_version: '2024-10-21'
      use_in_pass_through: false
general_settings:
  master_key: {MASTER}
",
        openai.uri()
    );
    let (config, warnings) =
        Config::from_yaml(&yaml, "config.yaml", &|_: &str| None).expect("config loads");
    assert_eq!(
        warnings,
        [
            "model_list[0].litellm_params.api_version: not a param llm-tower knows; dropped, never sent upstream",
            "model_list[0].litellm_params.use_in_pass_through: not a param llm-tower knows; dropped, never sent upstream",
        ]
    );
    let proxy = Proxy::from_config(&config).expect("proxy builds");
    let (status, body) = send(&proxy, &hi("mini")).await;
    assert_eq!(status, 200, "{body}");
}

/// A deployment whose key variable is unset: left out where another deployment serves its
/// name, a 401 naming the variable where it is alone, and no upstream call either way.
#[tokio::test]
async fn a_deployment_without_its_key_variable_is_unavailable_not_fatal() {
    let openai = MockServer::start().await;
    chat_completions()
        .and(header(
            "authorization",
            format!("Bearer {OPENAI_KEY}").as_str(),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(simple_reply("gpt-4o-mini", "ok")))
        .expect(3)
        .mount(&openai)
        .await;
    let yaml = format!(
        "model_list:
  - model_name: mini
    litellm_params: {{model: openai/gpt-4o-mini, api_key: os.environ/UNSET_KEY, api_base: {base}/v1}}
  - model_name: mini
    litellm_params: {{model: openai/gpt-4o-mini, api_key: {OPENAI_KEY}, api_base: {base}/v1}}
  - model_name: alone
    litellm_params: {{model: openai/gpt-4o, api_key: os.environ/UNSET_KEY, api_base: {base}/v1}}
general_settings:
  master_key: {MASTER}
",
        base = openai.uri()
    );
    let (config, warnings) =
        Config::from_yaml(&yaml, "config.yaml", &|_: &str| None).expect("config loads");
    assert_eq!(warnings.len(), 2, "{warnings:?}");
    assert!(
        warnings
            .iter()
            .all(|warning| warning.contains("`UNSET_KEY` is not set"))
    );
    let proxy = Proxy::from_config(&config).expect("proxy builds");
    for _ in 0..3 {
        let (status, body) = send(&proxy, &hi("mini")).await;
        assert_eq!(status, 200, "{body}");
    }
    let (status, body) = send(&proxy, &hi("alone")).await;
    assert_eq!(status, 401, "{body}");
    assert_eq!(body["error"]["type"], "authentication_error");
    let message = body["error"]["message"].as_str().expect("a message");
    assert!(
        message.contains("`UNSET_KEY`") && message.contains("\"alone\""),
        "{message}"
    );
    let (status, health) = proxy_app::send(&proxy, "GET", "/health", MASTER, None).await;
    assert_eq!(status, 200);
    assert_eq!(health["healthy_count"], 1, "{health:#}");
    assert_eq!(health["unhealthy_count"], 2, "{health:#}");
}

/// `check=upstream` calls the `openai/` deployments too (their model list, with their key):
/// an OpenAI-compatible upstream that is down makes the proxy unready.
#[tokio::test]
async fn readiness_probes_openai_deployments_too() {
    let gemini = MockServer::start().await;
    let openai = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models/gemini-2.5-flash"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "models/gemini-2.5-flash"})),
        )
        .mount(&gemini)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/models"))
        .and(header(
            "authorization",
            format!("Bearer {OPENAI_KEY}").as_str(),
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"object": "list", "data": []})),
        )
        .expect(1)
        .mount(&openai)
        .await;
    let (proxy, _) = proxy(&gemini, &openai, "");
    let uri = "/health/readiness?check=upstream";
    let (status, report) = proxy_app::send(&proxy, "GET", uri, MASTER, None).await;
    assert_eq!(status, 200, "{report:#}");
    let checks = report["upstream"].as_array().expect("checks");
    let of = |name: &str| {
        checks
            .iter()
            .find(|check| check["model_name"] == name)
            .unwrap_or_else(|| panic!("{name} in {report:#}"))
            .clone()
    };
    assert_eq!(of("flash")["status"], "healthy");
    assert_eq!(of("mini")["status"], "healthy");
    assert_eq!(of("claude")["status"], "not checked");
    openai.verify().await;

    openai.reset().await;
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(503))
        .mount(&openai)
        .await;
    let (status, report) = proxy_app::send(&proxy, "GET", uri, MASTER, None).await;
    assert_eq!(status, 503, "{report:#}");
    let mini = report["upstream"]
        .as_array()
        .and_then(|checks| checks.iter().find(|check| check["model_name"] == "mini"))
        .expect("mini checked")
        .clone();
    assert_eq!(mini["status"], "unhealthy");
    assert!(
        mini["error"]
            .as_str()
            .is_some_and(|error| error.contains("503")),
        "{mini}"
    );
}
