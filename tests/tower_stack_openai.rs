//! Tower's and tower-http's own middleware at the OpenAI-compatible builder's seams, the
//! twin of `tower_stack.rs`: `TraceLayer`, `TimeoutLayer`, `ConcurrencyLimitLayer` and
//! `Buffer` at the HTTP level (the request type every provider shares), a timeout at the
//! OpenAI level, a transport of the user's own, and a per-request key reaching an
//! `openai/` deployment as its `Authorization`, each against a stand-in that checks the
//! exact request.

mod common;

use std::convert::Infallible;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::post_json;
use http_body_util::{BodyExt, Full};
use llm_tower::edge::ChatEdge;
use llm_tower::openai::{ChatRequest, EmbeddingRequest};
use llm_tower::providers::openai_compatible::{
    ChatStack, OpenAiCompatible, OpenAiCompatibleBuilder,
};
use llm_tower::upstream::{BuildError, HttpTransport};
use llm_tower::{ChatService, Client, ErrorKind, ModelRouter, Secret};
use serde_json::{Value, json};
use tower::buffer::BufferLayer;
use tower::limit::ConcurrencyLimitLayer;
use tower::timeout::{Timeout, TimeoutLayer};
use tower::{ServiceBuilder, ServiceExt, service_fn};
use tower_http::trace::TraceLayer;
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockBuilder, MockServer, ResponseTemplate};

/// The key the stand-in expects.
const KEY: &str = "sk-test-not-real";

fn hi() -> Value {
    json!({"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
}

fn reply(text: &str) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gpt-4o-mini",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": text}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}
    })
}

/// `POST /v1/chat/completions` with `hi()` as its exact body and `key` as its bearer.
fn chat_call(key: &str) -> MockBuilder {
    Mock::given(method("POST"))
        .and(path("/v1/chat/completions"))
        .and(header("authorization", format!("Bearer {key}").as_str()))
        .and(header("content-type", "application/json"))
        .and(body_json(hi()))
}

/// A builder pointed at `server` with the test key.
fn builder(server: &MockServer) -> OpenAiCompatibleBuilder {
    OpenAiCompatible::builder()
        .api_base(format!("{}/v1", server.uri()))
        .api_key(Secret::new(KEY))
}

/// A stand-in that answers every chat call five seconds late.
async fn answering_late() -> MockServer {
    let server = MockServer::start().await;
    chat_call(KEY)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(reply("late"))
                .set_delay(Duration::from_secs(5)),
        )
        .mount(&server)
        .await;
    server
}

fn request() -> ChatRequest {
    serde_json::from_value(hi()).expect("a chat request")
}

fn text_of(body: &Bytes) -> Value {
    serde_json::from_slice(body).expect("JSON")
}

#[tokio::test]
async fn trace_timeout_concurrency_limit_and_buffer_stack_at_the_http_seam() {
    let server = MockServer::start().await;
    chat_call(KEY)
        .respond_with(ResponseTemplate::new(200).set_body_json(reply("Hello.")))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/embeddings"))
        .and(header("authorization", format!("Bearer {KEY}").as_str()))
        .and(body_json(
            json!({"model": "text-embedding-3-small", "input": "hello"}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "object": "list", "model": "text-embedding-3-small",
            "data": [{"object": "embedding", "index": 0, "embedding": [0.5, -0.5]}],
            "usage": {"prompt_tokens": 1, "total_tokens": 1}
        })))
        .expect(1)
        .mount(&server)
        .await;
    let openai = builder(&server)
        .http_layer(
            ServiceBuilder::new()
                .layer(TraceLayer::new_for_http())
                .layer(BufferLayer::new(8))
                .layer(TimeoutLayer::new(Duration::from_secs(5)))
                .layer(ConcurrencyLimitLayer::new(2)),
        )
        .build()
        .expect("builds");
    let client = Client::new(openai.chat_service());
    let (first, second) = tokio::join!(client.chat(request()), client.chat(request()));
    for completion in [first, second] {
        let completion = completion.expect("answered");
        assert_eq!(
            completion.choices[0].message.content.as_deref(),
            Some("Hello.")
        );
    }
    let embeddings = openai
        .embedding_service()
        .oneshot(EmbeddingRequest::new("text-embedding-3-small", "hello"))
        .await
        .expect("embedded");
    assert_eq!(embeddings.data.len(), 1);
}

#[tokio::test]
async fn a_tower_timeout_at_the_http_level_is_the_openai_timeout_error() {
    let server = answering_late().await;
    let openai = builder(&server)
        .http_layer(TimeoutLayer::new(Duration::from_millis(100)))
        .build()
        .expect("builds");
    let started = Instant::now();
    let (status, _, body) = post_json(
        ChatEdge::new(openai.chat_service()),
        "/v1/chat/completions",
        &hi(),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(status, 504, "{}", String::from_utf8_lossy(&body));
    assert_eq!(text_of(&body)["error"]["type"], "timeout_error");
}

#[tokio::test]
async fn a_full_concurrency_limit_sheds_with_a_503() {
    let server = MockServer::start().await;
    chat_call(KEY)
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(reply("slow"))
                .set_delay(Duration::from_millis(800)),
        )
        .expect(1)
        .mount(&server)
        .await;
    let openai = builder(&server)
        .http_layer(ServiceBuilder::new().load_shed().concurrency_limit(1))
        .build()
        .expect("builds");
    let edge = ChatEdge::new(openai.chat_service());
    let first = {
        let edge = edge.clone();
        tokio::spawn(async move { post_json(edge, "/v1/chat/completions", &hi()).await })
    };
    // The first call holds the one permit until its reply arrives.
    tokio::time::sleep(Duration::from_millis(200)).await;
    let (status, _, body) = post_json(edge, "/v1/chat/completions", &hi()).await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    let (status, _, _) = first.await.expect("first call");
    assert_eq!(status, 200);
}

#[tokio::test]
async fn build_service_names_the_stack_under_an_openai_level_timeout() {
    let server = answering_late().await;
    let services = builder(&server)
        .layer(TimeoutLayer::new(Duration::from_millis(100)))
        .build_service()
        .expect("builds");
    let chat: Timeout<ChatStack<HttpTransport>> = services.chat;
    let error = chat.oneshot(request()).await.expect_err("times out");
    assert_eq!(llm_tower::Error::from(error).kind(), ErrorKind::Timeout);
}

#[tokio::test]
async fn a_transport_of_its_own_gets_the_exact_request() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let record = seen.clone();
    let transport = service_fn(move |request: http::Request<Full<Bytes>>| {
        let record = record.clone();
        async move {
            let (parts, body) = request.into_parts();
            let body = body.collect().await?.to_bytes();
            record.lock().expect("lock").push((
                parts.method,
                parts.uri.to_string(),
                parts.headers.get("authorization").cloned(),
                text_of(&body),
            ));
            let reply = Full::new(Bytes::from(reply("local").to_string()));
            Ok::<_, Infallible>(
                http::Response::builder()
                    .header("content-type", "application/json")
                    .body(reply)
                    .expect("reply"),
            )
        }
    });
    let openai = OpenAiCompatible::builder()
        .api_base("http://vllm.internal:8000/v1")
        .api_key(Secret::new(KEY))
        .transport(transport.clone())
        .build()
        .expect("builds");
    let completion = Client::new(openai.chat_service())
        .chat(request())
        .await
        .expect("answered");
    assert_eq!(
        completion.choices[0].message.content.as_deref(),
        Some("local")
    );
    let seen = seen.lock().expect("lock");
    assert_eq!(seen.len(), 1);
    let (method, uri, authorization, body) = &seen[0];
    assert_eq!(method, http::Method::POST);
    assert_eq!(uri, "http://vllm.internal:8000/v1/chat/completions");
    assert_eq!(
        authorization
            .as_ref()
            .map(|value| value.to_str().expect("ascii")),
        Some(format!("Bearer {KEY}").as_str())
    );
    assert_eq!(*body, hi());
    // Its silence limit is HttpTransport's: a timeout for another transport is refused.
    let refused = OpenAiCompatible::builder()
        .transport(transport)
        .timeout(Duration::from_secs(1))
        .build()
        .expect_err("no silence limit for this transport");
    assert!(matches!(refused, BuildError::Transport(_)));
}

#[tokio::test]
async fn a_per_request_key_reaches_an_openai_deployment_as_its_authorization() {
    let server = MockServer::start().await;
    chat_call("sk-of-acme")
        .respond_with(ResponseTemplate::new(200).set_body_json(reply("Hello, Acme.")))
        .expect(1)
        .mount(&server)
        .await;
    // No key of its own is configured beyond the operator's; each request brings its own.
    let openai = builder(&server)
        .client_credentials(true)
        .build()
        .expect("builds");
    let router = ModelRouter::builder().provider("openai", &openai).build();
    let edge = ChatEdge::new(ChatService::new(router));
    let mut request = http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            json!({"model": "openai/gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]})
                .to_string(),
        )))
        .expect("request");
    request.extensions_mut().insert(Secret::new("sk-of-acme"));
    let response = edge
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status();
    let body = common::body_bytes(response).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        text_of(&body)["choices"][0]["message"]["content"],
        "Hello, Acme."
    );
}
