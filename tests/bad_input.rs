//! Bad client input through the HTTP edge (`ChatEdge` over the real Gemini stack): each case
//! asserts the status and the FULL OpenAI error envelope the client sees, and that nothing
//! reached Gemini when the request was refused. Nothing here may panic.

mod common;

use std::sync::Arc;

use bytes::Bytes;
use common::{StandIn, TEST_KEY, body_bytes, ok_reply};
use http::StatusCode;
use http_body_util::Full;
use llm_tower::ChatService;
use llm_tower::edge::{ChatEdge, ChatEdgeLayer};
use llm_tower::gemini::translate::{SequentialIds, TranslateOptions};
use llm_tower::gemini::{ApiKeyLayer, GeminiHttpLayer, ParamMapLayer, SseAdapterLayer};
use llm_tower::layers::media::{FetchPolicy, MediaFetchLayer, MediaFetcher};
use llm_tower::upstream::HttpTransport;
use serde_json::{Value, json};
use tower::{Layer, ServiceBuilder, ServiceExt};
use wiremock::MockServer;

const FLASH: &str = "gemini-2.5-flash";

/// A `POST /v1/chat/completions` request with `body`.
fn post(body: impl Into<Bytes>) -> http::Request<Full<Bytes>> {
    http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Full::new(body.into()))
        .expect("valid request")
}

/// Calls `service` with `request`; returns the status and the JSON body.
async fn call(service: ChatService, request: http::Request<Full<Bytes>>) -> (StatusCode, Value) {
    call_edge(ChatEdge::new(service), request).await
}

async fn call_edge(
    edge: ChatEdge<ChatService>,
    request: http::Request<Full<Bytes>>,
) -> (StatusCode, Value) {
    let response = edge.oneshot(request).await.expect("the edge never fails");
    let status = response.status();
    assert_eq!(
        response
            .headers()
            .get("content-type")
            .map(|value| value.to_str().expect("ascii")),
        Some("application/json")
    );
    let bytes = body_bytes(response).await;
    let body = serde_json::from_slice(&bytes).expect("JSON body");
    (status, body)
}

/// Sends `body` through the edge over a stand-in (answering `ok`), returns status and body,
/// and how many requests reached the stand-in.
async fn through_stand_in(body: impl Into<Bytes>) -> (StatusCode, Value, usize) {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let (status, body) = call(stand_in.gemini.chat_service(), post(body)).await;
    let upstream = received(&stand_in.server).await;
    (status, body, upstream)
}

async fn received(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// Expects a 400 with this envelope and nothing sent upstream.
async fn assert_refused(body: impl Into<Bytes>, envelope: Value) {
    let (status, response, upstream) = through_stand_in(body).await;
    assert_eq!(response, envelope);
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(upstream, 0, "nothing reaches Gemini");
}

fn invalid(message: &str, param: Option<&str>) -> Value {
    json!({"error": {
        "message": message,
        "type": "invalid_request_error",
        "param": param,
        "code": "BadRequestError"
    }})
}

#[tokio::test]
async fn a_good_request_answers_200() {
    let (status, body, upstream) = through_stand_in(
        json!({"model": FLASH, "messages": [{"role": "user", "content": "Hi"}]}).to_string(),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["choices"][0]["message"]["content"], "ok");
    assert_eq!(upstream, 1);
}

#[tokio::test]
async fn malformed_json() {
    assert_refused(
        r#"{"model": "gemini-2.5-flash", "messages": ["#,
        invalid(
            "invalid request body: EOF while parsing a list at line 1 column 43",
            None,
        ),
    )
    .await;
}

#[tokio::test]
async fn empty_body() {
    assert_refused(
        "",
        invalid(
            "invalid request body: EOF while parsing a value at line 1 column 0",
            None,
        ),
    )
    .await;
}

#[tokio::test]
async fn trailing_garbage() {
    let body = format!(
        "{} x",
        json!({"model": FLASH, "messages": [{"role": "user", "content": "Hi"}]})
    );
    assert_refused(
        body,
        invalid(
            "invalid request body: trailing characters at line 1 column 74",
            None,
        ),
    )
    .await;
}

#[tokio::test]
async fn body_that_is_not_an_object() {
    assert_refused(
        "[]",
        invalid(
            "invalid request body: invalid type: sequence, expected a chat completion request object at line 1 column 0",
            None,
        ),
    )
    .await;
}

#[tokio::test]
async fn wrong_type_names_the_param() {
    let body = json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": "Hi"}],
        "temperature": "hot"
    });
    assert_refused(
        body.to_string(),
        invalid(
            "invalid request body at `temperature`: invalid type: string \"hot\", expected f64 at line 1 column 91",
            Some("temperature"),
        ),
    )
    .await;
}

#[tokio::test]
async fn wrong_type_inside_a_message_names_the_path() {
    let body = json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": "Hi"}, {"role": "assistant", "content": 42}]
    });
    assert_refused(
        body.to_string(),
        invalid(
            "invalid request body at `messages[1].content`: invalid type: integer `42`, expected a string or an array of content parts at line 1 column 103",
            Some("messages[1].content"),
        ),
    )
    .await;
}

#[tokio::test]
async fn unknown_role() {
    let body = json!({"model": FLASH, "messages": [{"role": "robot", "content": "beep"}]});
    assert_refused(
        body.to_string(),
        invalid(
            "invalid request body at `messages[0].role`: unknown variant `robot`, expected one of `system`, `developer`, `user`, `assistant`, `tool`, `function` at line 1 column 55",
            Some("messages[0].role"),
        ),
    )
    .await;
}

#[tokio::test]
async fn missing_model() {
    let body = json!({"messages": [{"role": "user", "content": "Hi"}]});
    assert_refused(
        body.to_string(),
        invalid(
            "invalid request body: missing field `model` at line 1 column 45",
            Some("model"),
        ),
    )
    .await;
}

#[tokio::test]
async fn missing_field_inside_a_message_names_it() {
    let body = json!({"model": FLASH, "messages": [{"content": "Hi"}]});
    assert_refused(
        body.to_string(),
        invalid(
            "invalid request body at `messages[0]`: missing field `role` at line 1 column 56",
            Some("messages[0].role"),
        ),
    )
    .await;
}

#[tokio::test]
async fn negative_max_tokens_names_the_param() {
    let body = json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": "Hi"}],
        "max_tokens": -5
    });
    assert_refused(
        body.to_string(),
        invalid(
            "invalid request body at `max_tokens`: invalid value: integer `-5`, expected u32 at line 1 column 87",
            Some("max_tokens"),
        ),
    )
    .await;
}

#[tokio::test]
async fn deeply_nested_json_is_refused_without_overflowing_the_stack() {
    let depth = 100_000;
    let body = format!(
        r#"{{"model":"{FLASH}","messages":[{{"role":"user","content":"Hi"}}],"metadata":{}{}}}"#,
        "[".repeat(depth),
        "]".repeat(depth)
    );
    assert_refused(
        body,
        invalid(
            "invalid request body at `metadata`: JSON nested deeper than 100 levels at line 1 column 200084",
            Some("metadata"),
        ),
    )
    .await;
}

#[tokio::test]
async fn unknown_part_in_a_tool_result_is_refused() {
    let body = json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": [{"type": "hologram"}]}
        ]
    });
    assert_refused(
        body.to_string(),
        invalid(
            "messages[2].content[0]: unsupported content part type \"hologram\" (expected text, image_url, input_audio or file)",
            Some("messages[2].content[0].type"),
        ),
    )
    .await;
}

#[tokio::test]
async fn empty_messages() {
    let body = json!({"model": FLASH, "messages": []});
    assert_refused(
        body.to_string(),
        invalid(
            "messages must contain at least one message",
            Some("messages"),
        ),
    )
    .await;
}

#[tokio::test]
async fn tool_message_without_a_matching_call() {
    let body = json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "tool", "tool_call_id": "call_9", "content": "42"}
        ]
    });
    assert_refused(
        body.to_string(),
        invalid(
            "messages[1]: tool_call_id \"call_9\" matches no tool call of an earlier assistant message",
            Some("messages[1].tool_call_id"),
        ),
    )
    .await;
}

#[tokio::test]
async fn unknown_content_part_type() {
    let body = json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": [{"type": "hologram", "hologram": {}}]}]
    });
    assert_refused(
        body.to_string(),
        invalid(
            "messages[0].content[0]: unsupported content part type \"hologram\" (expected text, image_url, input_audio or file)",
            Some("messages[0].content[0].type"),
        ),
    )
    .await;
}

#[tokio::test]
async fn invalid_tool_arguments_json() {
    let body = json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{\"a\": "}}
            ]}
        ]
    });
    assert_refused(
        body.to_string(),
        invalid(
            "messages[1].tool_calls[0].function.arguments is not valid JSON: EOF while parsing a value at line 1 column 6",
            Some("messages[1].tool_calls[0].function.arguments"),
        ),
    )
    .await;
}

#[tokio::test]
async fn tool_arguments_that_are_not_an_object() {
    let body = json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "assistant", "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "[1]"}}
            ]}
        ]
    });
    assert_refused(
        body.to_string(),
        invalid(
            "messages[1].tool_calls[0].function.arguments must be a JSON object",
            Some("messages[1].tool_calls[0].function.arguments"),
        ),
    )
    .await;
}

#[tokio::test]
async fn unsupported_param_without_drop_params() {
    let body = json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": "Hi"}],
        "logit_bias": {"50256": -100}
    });
    assert_refused(
        body.to_string(),
        json!({"error": {
            "message": "UnsupportedParamsError: gemini does not support parameters: ['logit_bias']. To drop unsupported params set `drop_params: true`.",
            "type": "invalid_request_error",
            "param": "logit_bias",
            "code": "UnsupportedParamsError"
        }}),
    )
    .await;
}

#[tokio::test]
async fn unsupported_param_with_drop_params() {
    let body = json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": "Hi"}],
        "logit_bias": {"50256": -100},
        "drop_params": true
    });
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let (status, response) = call(stand_in.gemini.chat_service(), post(body.to_string())).await;
    assert_eq!(status, StatusCode::OK, "{response}");
    assert_eq!(response["choices"][0]["message"]["content"], "ok");
    assert_eq!(
        stand_in.received_body().await,
        json!({"contents": [{"role": "user", "parts": [{"text": "Hi"}]}]})
    );
}

#[tokio::test]
async fn body_over_the_limit_is_413() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let edge = ChatEdgeLayer::new()
        .body_limit(64)
        .layer(stand_in.gemini.chat_service());
    let body = json!({"model": FLASH, "messages": [{"role": "user", "content": "x".repeat(100)}]});
    let (status, response) = call_edge(edge, post(body.to_string())).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(
        response,
        json!({"error": {
            "message": "request body larger than 64 bytes",
            "type": "invalid_request_error",
            "param": null,
            "code": "RequestTooLargeError"
        }})
    );
    assert_eq!(received(&stand_in.server).await, 0);
}

/// The edge answers a wrong method with 405 and `Allow: POST`.
#[tokio::test]
async fn get_instead_of_post_is_refused() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let request = http::Request::get("/v1/chat/completions")
        .body(Full::new(Bytes::new()))
        .expect("valid request");
    let (status, response) = call(stand_in.gemini.chat_service(), request).await;
    assert_eq!(status, StatusCode::METHOD_NOT_ALLOWED);
    assert_eq!(
        response,
        json!({"error": {
            "message": "GET is not supported here; use POST",
            "type": "invalid_request_error",
            "param": null,
            "code": "MethodNotAllowedError"
        }})
    );
    assert_eq!(received(&stand_in.server).await, 0);
}

/// The Gemini stack assembled by hand from the public layers, with NO key (so the test does
/// not depend on GEMINI_API_KEY being unset).
fn keyless_stack(api_base: String) -> ChatService {
    let fetcher = MediaFetcher::new(FetchPolicy::default()).expect("fetcher");
    let service = ServiceBuilder::new()
        .layer(MediaFetchLayer::new(fetcher))
        .layer(
            ParamMapLayer::new(TranslateOptions {
                client_credentials: true,
                ..TranslateOptions::default()
            })
            .with_ids(Arc::new(SequentialIds::new(common::CREATED))),
        )
        .layer(SseAdapterLayer::new())
        .layer(GeminiHttpLayer::new(api_base))
        .layer(ApiKeyLayer::new(None))
        .service(HttpTransport::builder().build().expect("transport"));
    ChatService::new(service)
}

#[tokio::test]
async fn missing_api_key_is_401_before_any_network_call() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let service = keyless_stack(format!("{}/v1beta", stand_in.server.uri()));
    let body = json!({"model": FLASH, "messages": [{"role": "user", "content": "Hi"}]});
    let (status, response) = call(service.clone(), post(body.to_string())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(
        response,
        json!({"error": {
            "message": "no usable Gemini API key: set GEMINI_API_KEY, configure one on the provider, or pass api_key in the request (a key must be a valid HTTP header value)",
            "type": "authentication_error",
            "param": null,
            "code": "AuthenticationError"
        }})
    );
    assert_eq!(received(&stand_in.server).await, 0);

    // The same keyless stack works when the request brings its own key.
    let body = json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": "Hi"}],
        "api_key": TEST_KEY
    });
    let (status, _) = call(service, post(body.to_string())).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(received(&stand_in.server).await, 1);
}

#[tokio::test]
async fn a_million_messages_are_refused_before_they_are_parsed() {
    let one = r#"{"role":"user","content":"hi"}"#;
    let body = format!(
        r#"{{"model":"gemini-2.5-flash","messages":[{}]}}"#,
        vec![one; 1_000_000].join(",")
    );
    assert!(body.len() > 30_000_000);
    let started = std::time::Instant::now();
    let (status, reply, reached) = through_stand_in(body).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["error"]["param"], "messages");
    assert!(
        reply["error"]["message"]
            .as_str()
            .unwrap()
            .contains("limit of 10000"),
        "{reply}"
    );
    assert_eq!(reached, 0);
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
}

#[tokio::test]
async fn too_many_tools_in_a_small_body_are_refused_by_name() {
    let tool = r#"{"type":"function","function":{"name":"f"}}"#;
    let body = format!(
        r#"{{"model":"gemini-2.5-flash","messages":[{{"role":"user","content":"hi"}}],"tools":[{}]}}"#,
        vec![tool; 600].join(",")
    );
    let (status, reply, reached) = through_stand_in(body).await;
    assert_eq!(status, 400, "{reply}");
    assert_eq!(reply["error"]["param"], "tools");
    assert_eq!(reached, 0);
}
