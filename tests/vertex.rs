//! The Vertex AI provider against a local token endpoint and a Vertex stand-in (wiremock):
//! the service account's JWT (its signature checked with the key's public half), Bearer
//! tokens upstream and never an API key, the exact URLs of a region and `global`, one token
//! fetch for a burst of first requests, refresh ahead of expiry (paused time) and after a
//! `401`, streams, embeddings through `:predict`, token endpoints that fail, and no private
//! key in any output; the proxy serving a LiteLLM config with `vertex_ai/` deployments
//! (chat and embeddings), and refusing bad ones at startup.

mod common;
#[path = "common/proxy.rs"]
mod proxy_app;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use futures_util::StreamExt;
use http_body_util::Full;
use llm_tower::openai::ChatRequest;
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use llm_tower::upstream::UpstreamBody;
use llm_tower::vertex::{Credentials, CredentialsError, TokenSource, Vertex};
use llm_tower::{ChatResponse, Error, Secret};
use serde_json::{Value, json};
use tower::ServiceExt;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, Request, Respond, ResponseTemplate};

const PROJECT: &str = "acme-prod";
const MODEL: &str = "gemini-2.5-flash";

fn fixture(name: &str) -> String {
    format!(
        "{}/tests/fixtures/vertex/{name}",
        env!("CARGO_MANIFEST_DIR")
    )
}

/// A service-account key file whose token endpoint is `token_uri`.
fn service_account_json(token_uri: &str) -> String {
    let pem = std::fs::read_to_string(fixture("test-key.pem")).expect("test key");
    json!({
        "type": "service_account",
        "project_id": PROJECT,
        "private_key_id": "kid-123",
        "private_key": pem,
        "client_email": "tower@acme-prod.iam.gserviceaccount.com",
        "client_id": "1234567890",
        "token_uri": token_uri,
    })
    .to_string()
}

/// A Vertex provider in `location` whose host and token endpoint are `server`.
fn vertex(server: &MockServer, location: &str) -> Vertex {
    let key = service_account_json(&format!("{}/token", server.uri()));
    Vertex::builder()
        .credentials(Credentials::from_json(&key).expect("key file"))
        .project(PROJECT)
        .location(location)
        .api_base(server.uri())
        .build()
        .expect("provider builds")
}

fn chat(stream: bool) -> ChatRequest {
    serde_json::from_value(json!({
        "model": MODEL,
        "messages": [{"role": "user", "content": "Hello"}],
        "stream": stream,
    }))
    .expect("chat request")
}

fn generate_reply() -> Value {
    json!({
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": "Hi from Vertex"}]},
            "finishReason": "STOP"
        }],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 4, "totalTokenCount": 7},
        "modelVersion": MODEL
    })
}

fn model_path(location: &str, method: &str) -> String {
    path_of(location, MODEL, method)
}

/// The path of `model`'s `method` in `location`.
fn path_of(location: &str, model: &str, method: &str) -> String {
    format!("/v1/projects/{PROJECT}/locations/{location}/publishers/google/models/{model}:{method}")
}

/// Expects `times` generate calls in `location` carrying `token`, and answers them.
async fn mount_generate(server: &MockServer, location: &str, token: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path(model_path(location, "generateContent")))
        .and(header("authorization", format!("Bearer {token}").as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(generate_reply()))
        .expect(times)
        .mount(server)
        .await;
}

/// Answers token requests with `token-1`, `token-2`, … (one hour each), after `delay`.
struct Tokens {
    issued: Arc<AtomicUsize>,
    delay: Duration,
}

impl Respond for Tokens {
    fn respond(&self, _: &Request) -> ResponseTemplate {
        let n = self.issued.fetch_add(1, Ordering::SeqCst) + 1;
        ResponseTemplate::new(200)
            .set_body_json(json!({
                "access_token": format!("token-{n}"),
                "expires_in": 3599,
                "token_type": "Bearer"
            }))
            .set_delay(self.delay)
    }
}

async fn mount_tokens(server: &MockServer, delay: Duration) -> Arc<AtomicUsize> {
    let issued = Arc::new(AtomicUsize::new(0));
    Mock::given(method("POST"))
        .and(path("/token"))
        .respond_with(Tokens {
            issued: issued.clone(),
            delay,
        })
        .mount(server)
        .await;
    issued
}

/// Sends [`chat`] through `vertex` and checks the stand-in's answer.
async fn answers_hi(vertex: &Vertex) {
    let answer = vertex
        .chat_service()
        .oneshot(chat(false))
        .await
        .expect("answered");
    assert_eq!(text_of(answer).await, "Hi from Vertex");
}

async fn text_of(response: ChatResponse) -> String {
    match response {
        ChatResponse::Completion(completion) => {
            let value = serde_json::to_value(completion).expect("serializes");
            value["choices"][0]["message"]["content"]
                .as_str()
                .expect("text")
                .to_owned()
        }
        ChatResponse::Stream(mut chunks) => {
            let mut text = String::new();
            while let Some(chunk) = chunks.next().await {
                let value = serde_json::to_value(chunk.expect("chunk")).expect("serializes");
                if let Some(delta) = value["choices"][0]["delta"]["content"].as_str() {
                    text.push_str(delta);
                }
            }
            text
        }
    }
}

#[tokio::test]
async fn service_account_jwt_is_signed_and_the_token_sent_as_bearer() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    mount_generate(&server, "europe-west4", "token-1", 1).await;

    let response = vertex(&server, "europe-west4")
        .chat_service()
        .oneshot(chat(false))
        .await
        .expect("answered");
    assert_eq!(text_of(response).await, "Hi from Vertex");

    let requests = server.received_requests().await.expect("recorded");
    let generate = requests
        .iter()
        .find(|request| request.url.path().ends_with(":generateContent"))
        .expect("a generate call");
    assert!(generate.headers.get("x-goog-api-key").is_none());
    assert_eq!(generate.url.query(), None);

    // The token request: the JWT-bearer grant with an RS256 assertion.
    let token = requests
        .iter()
        .find(|request| request.url.path() == "/token")
        .expect("a token call");
    assert_eq!(
        token.headers.get("content-type").unwrap(),
        "application/x-www-form-urlencoded"
    );
    let form: std::collections::HashMap<String, String> = url::form_urlencoded::parse(&token.body)
        .into_owned()
        .collect();
    assert_eq!(
        form["grant_type"],
        "urn:ietf:params:oauth:grant-type:jwt-bearer"
    );
    let assertion = &form["assertion"];
    let parts: Vec<&str> = assertion.split('.').collect();
    assert_eq!(parts.len(), 3);
    let public = std::fs::read(fixture("test-key.pub.der")).expect("public key");
    let signature = URL_SAFE_NO_PAD.decode(parts[2]).expect("base64url");
    ring::signature::UnparsedPublicKey::new(&ring::signature::RSA_PKCS1_2048_8192_SHA256, public)
        .verify(format!("{}.{}", parts[0], parts[1]).as_bytes(), &signature)
        .expect("the JWT is signed with the key file's private key");
    let decode = |part: &str| -> Value {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).expect("base64url")).expect("json")
    };
    assert_eq!(
        decode(parts[0]),
        json!({"alg": "RS256", "typ": "JWT", "kid": "kid-123"})
    );
    let claims = decode(parts[1]);
    assert_eq!(claims["iss"], "tower@acme-prod.iam.gserviceaccount.com");
    assert_eq!(claims["aud"], format!("{}/token", server.uri()));
    assert_eq!(
        claims["scope"],
        "https://www.googleapis.com/auth/cloud-platform"
    );
    assert_eq!(
        claims["exp"].as_u64().unwrap() - claims["iat"].as_u64().unwrap(),
        3600
    );
}

#[tokio::test]
async fn global_location_and_streams_use_their_exact_paths() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    let sse = format!(
        "data: {}\n\ndata: {}\n\n",
        json!({"candidates": [{"content": {"role": "model", "parts": [{"text": "Hi "}]}}]}),
        json!({
            "candidates": [{"content": {"role": "model", "parts": [{"text": "there"}]}, "finishReason": "STOP"}],
            "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}
        })
    );
    Mock::given(method("POST"))
        .and(path(model_path("global", "streamGenerateContent")))
        .and(query_param("alt", "sse"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("content-type", "text/event-stream")
                .set_body_string(sse),
        )
        .expect(1)
        .mount(&server)
        .await;

    let response = vertex(&server, "global")
        .chat_service()
        .oneshot(chat(true))
        .await
        .expect("answered");
    assert_eq!(text_of(response).await, "Hi there");
    assert_eq!(
        llm_tower::vertex::api_base(None, PROJECT, "global"),
        "https://aiplatform.googleapis.com/v1/projects/acme-prod/locations/global"
    );
    assert_eq!(
        llm_tower::vertex::api_base(None, PROJECT, "us-east5"),
        "https://us-east5-aiplatform.googleapis.com/v1/projects/acme-prod/locations/us-east5"
    );
}

#[tokio::test]
async fn count_tokens_sends_vertex_s_body_with_the_request_at_the_top_level() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    Mock::given(method("POST"))
        .and(path(model_path("us-central1", "countTokens")))
        .and(header("authorization", "Bearer token-1"))
        .and(wiremock::matchers::body_json(json!({
            "systemInstruction": {"parts": [{"text": "Be brief."}]},
            "contents": [{"role": "user", "parts": [{"text": "How many tokens is this?"}]}],
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}}}]}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalTokens": 31})))
        .expect(1)
        .mount(&server)
        .await;
    let mut request: ChatRequest = serde_json::from_value(json!({
        "model": MODEL,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "How many tokens is this?"}
        ],
        "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}],
        "tool_choice": "auto",
        "temperature": 0.2,
    }))
    .expect("chat request");
    request.context.insert(llm_tower::provider::CountTokens);

    let counted = vertex(&server, "us-central1")
        .chat_service()
        .oneshot(request)
        .await
        .expect("counted");
    let ChatResponse::Completion(completion) = counted else {
        panic!("a count is a completion");
    };
    assert_eq!(completion.usage.expect("usage").prompt_tokens, 31);
}

/// The name Vertex gives a cache: under the project's number, not its id.
const CACHE_NAME: &str = "projects/123456/locations/us-central1/cachedContents/789";

/// A chat whose system prompt is marked with `cache_control` (long enough to cache).
fn marked_chat() -> ChatRequest {
    let long = "The quick brown fox jumps over the lazy dog. ".repeat(1000);
    serde_json::from_value(json!({
        "model": MODEL,
        "messages": [
            {"role": "system", "content": [{"type": "text", "text": long, "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": "Hello"}
        ],
    }))
    .expect("chat request")
}

/// Vertex's cache entry: `CACHE_NAME`, expiring in `expires_in`.
fn cache_entry(expires_in: Duration) -> Value {
    json!({
        "name": CACHE_NAME,
        "model": format!("projects/123456/locations/us-central1/publishers/google/models/{MODEL}"),
        "expireTime": humantime::format_rfc3339_millis(std::time::SystemTime::now() + expires_in).to_string(),
        "usageMetadata": {"totalTokenCount": 9000}
    })
}

#[tokio::test]
async fn a_marked_head_is_cached_in_vertex_s_cached_contents_once_and_referenced() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    let caches = format!("/v1/projects/{PROJECT}/locations/us-central1/cachedContents");
    Mock::given(method("GET"))
        .and(path(caches.as_str()))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(&server)
        .await;
    // Ten minutes left of an hour: the second request's hit extends it.
    Mock::given(method("POST"))
        .and(path(caches.as_str()))
        .and(header("authorization", "Bearer token-1"))
        .and(wiremock::matchers::body_partial_json(json!({
            "model": format!("projects/{PROJECT}/locations/us-central1/publishers/google/models/{MODEL}"),
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(cache_entry(Duration::from_secs(600))))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1/{CACHE_NAME}")))
        .and(query_param("updateMask", "ttl"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(cache_entry(Duration::from_secs(3600))),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(model_path("us-central1", "generateContent")))
        .and(header("authorization", "Bearer token-1"))
        .and(wiremock::matchers::body_partial_json(
            json!({"cachedContent": CACHE_NAME}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(generate_reply()))
        .expect(2)
        .mount(&server)
        .await;

    let vertex = vertex(&server, "us-central1");
    for _ in 0..2 {
        let answer = vertex
            .chat_service()
            .oneshot(marked_chat())
            .await
            .expect("answered");
        assert_eq!(text_of(answer).await, "Hi from Vertex");
    }
    let requests = server.received_requests().await.expect("recorded");
    let create = requests
        .iter()
        .find(|request| request.method.as_str() == "POST" && request.url.path() == caches)
        .expect("create");
    let created: Value = serde_json::from_slice(&create.body).expect("json");
    assert!(created["systemInstruction"].is_object(), "{created}");
    assert!(
        created["displayName"]
            .as_str()
            .is_some_and(|name| name.starts_with("llm-tower:"))
    );
    for sent in requests
        .iter()
        .filter(|request| request.url.path().ends_with(":generateContent"))
    {
        let body: Value = serde_json::from_slice(&sent.body).expect("json");
        assert!(body.get("systemInstruction").is_none(), "{body}");
        assert_eq!(body["contents"].as_array().map(Vec::len), Some(1), "{body}");
    }
}

#[tokio::test]
async fn a_cache_vertex_no_longer_has_is_forgotten_and_the_call_sent_whole() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    let caches = format!("/v1/projects/{PROJECT}/locations/us-central1/cachedContents");
    Mock::given(method("GET"))
        .and(path(caches.as_str()))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(caches.as_str()))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(cache_entry(Duration::from_secs(3600))),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(model_path("us-central1", "generateContent")))
        .and(wiremock::matchers::body_partial_json(
            json!({"cachedContent": CACHE_NAME}),
        ))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": 404, "status": "NOT_FOUND",
            "message": "Not found: cached content metadata for 789."
        }})))
        .expect(1)
        .mount(&server)
        .await;
    mount_generate(&server, "us-central1", "token-1", 1).await;

    let answer = vertex(&server, "us-central1")
        .chat_service()
        .oneshot(marked_chat())
        .await
        .expect("answered uncached");
    assert_eq!(text_of(answer).await, "Hi from Vertex");
    let requests = server.received_requests().await.expect("recorded");
    let last = requests
        .iter()
        .rfind(|request| request.url.path().ends_with(":generateContent"))
        .expect("resent");
    let body: Value = serde_json::from_slice(&last.body).expect("json");
    assert!(body.get("cachedContent").is_none(), "{body}");
    assert!(body["systemInstruction"].is_object(), "{body}");
}

#[tokio::test]
async fn a_hundred_concurrent_first_requests_fetch_one_token() {
    let server = MockServer::start().await;
    let issued = mount_tokens(&server, Duration::from_millis(200)).await;
    mount_generate(&server, "us-central1", "token-1", 100).await;
    let service = vertex(&server, "us-central1").chat_service();

    let calls = (0..100).map(|_| service.clone().oneshot(chat(false)));
    for result in futures_util::future::join_all(calls).await {
        result.expect("answered");
    }
    assert_eq!(issued.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn a_401_refreshes_the_token_once_and_sends_again() {
    let server = MockServer::start().await;
    let issued = mount_tokens(&server, Duration::ZERO).await;
    Mock::given(method("POST"))
        .and(path(model_path("us-central1", "generateContent")))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(401).set_body_json(json!({
            "error": {"code": 401, "message": "Request had invalid authentication credentials.", "status": "UNAUTHENTICATED"}
        })))
        .expect(1)
        .mount(&server)
        .await;
    mount_generate(&server, "us-central1", "token-2", 2).await;
    let service = vertex(&server, "us-central1").chat_service();

    let first = service
        .clone()
        .oneshot(chat(false))
        .await
        .expect("answered");
    assert_eq!(text_of(first).await, "Hi from Vertex");
    // The new token is cached: no third fetch.
    service.oneshot(chat(false)).await.expect("answered");
    assert_eq!(issued.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_failing_token_endpoint_is_a_clear_error_and_the_next_request_tries_again() {
    let server = MockServer::start().await;
    // Garbage once, then refusal once, then slow beyond the bound, then a token.
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_string("<html>oops</html>"))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({
            "error": "invalid_grant", "error_description": "Invalid JWT Signature."
        })))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "late", "expires_in": 3600}))
                .set_delay(Duration::from_secs(30)),
        )
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(path("/token"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "good", "expires_in": 3600})),
        )
        .mount(&server)
        .await;
    mount_generate(&server, "us-central1", "good", 1).await;
    let key = service_account_json(&format!("{}/token", server.uri()));
    let credentials = Credentials::from_json(&key).expect("key file");
    let transport = llm_tower::upstream::HttpTransport::builder()
        .build()
        .expect("transport");
    let tokens = TokenSource::new(credentials, transport).with_timeout(Duration::from_millis(300));
    let service = Vertex::builder()
        .token_source(tokens)
        .project(PROJECT)
        .api_base(server.uri())
        .build()
        .expect("builds")
        .chat_service();
    let pem = std::fs::read_to_string(fixture("test-key.pem")).expect("test key");
    let secret_line = pem.lines().nth(1).expect("a key line");

    let garbage: Error = service.clone().oneshot(chat(false)).await.unwrap_err();
    assert_eq!(garbage.status(), 503, "{}", garbage.message());
    assert!(
        garbage.message().contains("not an OAuth token"),
        "{}",
        garbage.message()
    );

    let refused: Error = service.clone().oneshot(chat(false)).await.unwrap_err();
    assert_eq!(refused.status(), 401, "{}", refused.message());
    assert!(
        refused
            .message()
            .contains("invalid_grant: Invalid JWT Signature.")
    );
    assert!(!refused.message().contains(secret_line));

    let started = std::time::Instant::now();
    let slow: Error = service.clone().oneshot(chat(false)).await.unwrap_err();
    assert_eq!(slow.status(), 503, "{}", slow.message());
    assert!(started.elapsed() < Duration::from_secs(5));

    let ok = service.oneshot(chat(false)).await.expect("answered");
    assert_eq!(text_of(ok).await, "Hi from Vertex");
}

/// An in-process token endpoint counting its calls (no sockets, so paused time is exact);
/// its tokens are good for `expires_in` seconds.
fn counting_endpoint(
    calls: Arc<AtomicUsize>,
    expires_in: u64,
) -> impl tower::Service<
    http::Request<Full<Bytes>>,
    Response = http::Response<UpstreamBody>,
    Error = std::convert::Infallible,
    Future = impl Send,
> + Clone
+ Send
+ Sync
+ 'static {
    tower::service_fn(move |request: http::Request<Full<Bytes>>| {
        let n = calls.fetch_add(1, Ordering::SeqCst) + 1;
        async move {
            assert_eq!(request.uri().path(), "/token");
            let body =
                json!({"access_token": format!("t{n}"), "expires_in": expires_in}).to_string();
            let body =
                http_body_util::BodyExt::map_err(
                    Full::new(Bytes::from(body)),
                    |never| match never {},
                );
            Ok(http::Response::new(UpstreamBody::new(body)))
        }
    })
}

#[tokio::test(start_paused = true)]
async fn a_token_with_less_than_five_minutes_left_is_reused() {
    // The GCE metadata server hands out the same token until 5 minutes before its expiry:
    // one with 280 s left serves the next call instead of being fetched again.
    let calls = Arc::new(AtomicUsize::new(0));
    let key = service_account_json("http://token.test/token");
    let tokens = TokenSource::new(
        Credentials::from_json(&key).expect("key file"),
        counting_endpoint(calls.clone(), 280),
    );

    assert_eq!(tokens.token().await.unwrap().expose(), "t1");
    assert_eq!(tokens.token().await.unwrap().expose(), "t1");
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test(start_paused = true)]
async fn a_token_is_renewed_ahead_of_its_expiry() {
    let calls = Arc::new(AtomicUsize::new(0));
    let key = service_account_json("http://token.test/token");
    let tokens = TokenSource::new(
        Credentials::from_json(&key).expect("key file"),
        counting_endpoint(calls.clone(), 3600),
    );

    assert_eq!(tokens.token().await.unwrap().expose(), "t1");
    tokio::time::advance(Duration::from_secs(3200)).await;
    // 400 s left: still good.
    assert_eq!(tokens.token().await.unwrap().expose(), "t1");
    tokio::time::advance(Duration::from_secs(200)).await;
    // 200 s left, under the 225 s ahead: renewed before it lapses.
    assert_eq!(tokens.token().await.unwrap().expose(), "t2");
    assert_eq!(calls.load(Ordering::SeqCst), 2);

    // A 401 for an old token does not throw away the newer one.
    tokens.invalidate(&Secret::new("t1"));
    assert_eq!(tokens.token().await.unwrap().expose(), "t2");
    tokens.invalidate(&Secret::new("t2"));
    assert_eq!(tokens.token().await.unwrap().expose(), "t3");
}

#[tokio::test(start_paused = true)]
async fn a_failed_token_fetch_answers_the_requests_waiting_for_it() {
    // A token endpoint that does not answer: twenty requests queued behind one fetch share
    // its failure instead of each waiting out a time limit of its own.
    let calls = Arc::new(AtomicUsize::new(0));
    let counted = calls.clone();
    let silent = tower::service_fn(move |_: http::Request<Full<Bytes>>| {
        counted.fetch_add(1, Ordering::SeqCst);
        async {
            tokio::time::sleep(Duration::from_secs(3600)).await;
            Ok::<http::Response<UpstreamBody>, std::convert::Infallible>(http::Response::new(
                UpstreamBody::default(),
            ))
        }
    });
    let key = service_account_json("http://token.test/token");
    let tokens = TokenSource::new(Credentials::from_json(&key).expect("key file"), silent)
        .with_timeout(Duration::from_secs(10));

    let started = tokio::time::Instant::now();
    let fetches = (0..20).map(|_| tokens.token());
    for result in futures_util::future::join_all(fetches).await {
        let error = result.expect_err("no token");
        assert!(
            error.to_string().contains("no answer within 10s"),
            "{error}"
        );
    }
    assert!(
        started.elapsed() < Duration::from_secs(11),
        "{:?}",
        started.elapsed()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn authorized_user_and_metadata_server_credentials_fetch_tokens() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/oauth/token"))
        .and(wiremock::matchers::body_string(
            "grant_type=refresh_token&client_id=cid&client_secret=csecret&refresh_token=1%2F%2Frefresh",
        ))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"access_token": "user-token", "expires_in": 3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path(
            "/computeMetadata/v1/instance/service-accounts/default/token",
        ))
        .and(header("metadata-flavor", "Google"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"access_token": "vm-token", "expires_in": 3600})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let transport = llm_tower::upstream::HttpTransport::builder()
        .build()
        .expect("transport");

    let user = Credentials::from_json(
        &json!({
            "type": "authorized_user", "client_id": "cid", "client_secret": "csecret",
            "refresh_token": "1//refresh", "token_uri": format!("{}/oauth/token", server.uri())
        })
        .to_string(),
    )
    .expect("user credentials");
    assert!(!format!("{user:?}").contains("csecret"));
    assert!(!format!("{user:?}").contains("1//refresh"));
    let token = TokenSource::new(user, transport.clone())
        .token()
        .await
        .unwrap();
    assert_eq!(token.expose(), "user-token");

    let metadata = Credentials::Metadata { base: server.uri() };
    let token = TokenSource::new(metadata, transport).token().await.unwrap();
    assert_eq!(token.expose(), "vm-token");
}

#[test]
fn bad_key_files_are_refused_without_printing_the_key() {
    let pem = std::fs::read_to_string(fixture("test-key.pem")).expect("test key");
    let secret_line = pem.lines().nth(1).expect("a key line").to_owned();

    let good = Credentials::from_json(&service_account_json("http://token.test/token")).unwrap();
    for shown in [
        format!("{good:?}"),
        format!("{:?}", Vertex::builder().credentials(good.clone())),
    ] {
        assert!(!shown.contains(&secret_line), "{shown}");
        assert!(!shown.contains("PRIVATE KEY"), "{shown}");
    }

    let unknown = Credentials::from_json(r#"{"type": "impersonated_service_account"}"#);
    assert!(
        matches!(unknown, Err(CredentialsError::UnknownType(kind)) if kind == "impersonated_service_account")
    );

    // A key that is not an RSA key: refused, and the message quotes none of it.
    let broken = service_account_json("http://token.test/token").replace(&secret_line, "AAAA");
    let error = Credentials::from_json(&broken).unwrap_err();
    assert!(matches!(error, CredentialsError::BadPrivateKey));
    // JSON that does not parse: the message gives a position, not the text.
    let error = Credentials::from_json(&pem).unwrap_err().to_string();
    assert!(!error.contains(&secret_line), "{error}");

    let missing = Credentials::from_file("/nonexistent/key.json").unwrap_err();
    assert!(missing.to_string().contains("/nonexistent/key.json"));

    let no_project = Vertex::builder()
        .credentials(
            Credentials::from_json(
                r#"{"type": "authorized_user", "client_id": "c", "client_secret": "s", "refresh_token": "r"}"#,
            )
            .unwrap(),
        )
        .build();
    if std::env::var_os("VERTEXAI_PROJECT").is_none()
        && std::env::var_os("GOOGLE_CLOUD_PROJECT").is_none()
    {
        assert!(matches!(
            no_project,
            Err(llm_tower::vertex::BuildError::MissingProject)
        ));
    }
    let bad_location = Vertex::builder()
        .credentials(good)
        .project(PROJECT)
        .location("us-central1/../../x")
        .build();
    assert!(matches!(
        bad_location,
        Err(llm_tower::vertex::BuildError::Invalid("location"))
    ));
}

const MASTER: &str = "sk-master-vertex";

/// Why [`build_proxy`] refuses `model_list`.
fn refusal(model_list: &str, key_json: &str) -> String {
    match build_proxy(model_list, key_json) {
        Ok(_) => panic!("the proxy built"),
        Err(error) => error,
    }
}

/// A proxy over `model_list`, with `VERTEX_KEY` holding `key_json` in its environment.
fn build_proxy(model_list: &str, key_json: &str) -> Result<Proxy, String> {
    build_proxy_with(model_list, key_json, "")
}

/// As [`build_proxy`], with `general` (lines of `general_settings`) after the master key.
fn build_proxy_with(model_list: &str, key_json: &str, general: &str) -> Result<Proxy, String> {
    let yaml =
        format!("model_list:\n{model_list}\ngeneral_settings:\n  master_key: {MASTER}\n{general}");
    let key_json = key_json.to_owned();
    let env = move |name: &str| (name == "VERTEX_KEY").then(|| key_json.clone());
    let (config, warnings) =
        Config::from_yaml(&yaml, "config.yaml", &env).map_err(|error| error.to_string())?;
    assert!(warnings.is_empty(), "{warnings:?}");
    Proxy::from_config(&config).map_err(|error| error.to_string())
}

#[tokio::test]
async fn the_proxy_serves_vertex_ai_deployments_of_a_litellm_config() {
    let server = MockServer::start().await;
    let issued = mount_tokens(&server, Duration::ZERO).await;
    mount_generate(&server, "europe-west4", "token-1", 1).await;
    mount_generate(&server, "global", "token-2", 1).await;
    let key_json = service_account_json(&format!("{}/token", server.uri()));
    let dir = std::env::temp_dir().join(format!("llm-tower-vertex-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let key_path = dir.join("key.json");
    std::fs::write(&key_path, &key_json).unwrap();
    let model_list = format!(
        "  - model_name: gemini-eu
    litellm_params:
      model: vertex_ai/{MODEL}
      vertex_project: {PROJECT}
      vertex_location: europe-west4
      vertex_credentials: {path}
      api_base: {base}
  - model_name: gemini-global
    litellm_params:
      model: vertex_ai/{MODEL}
      vertex_project: {PROJECT}
      vertex_location: global
      vertex_credentials: os.environ/VERTEX_KEY
      api_base: {base}",
        path = key_path.display(),
        base = server.uri(),
    );
    let proxy = build_proxy(&model_list, &key_json).expect("proxy builds");

    for model in ["gemini-eu", "gemini-global"] {
        let (status, body) = proxy_app::send(
            &proxy,
            "POST",
            "/v1/chat/completions",
            MASTER,
            Some(json!({"model": model, "messages": [{"role": "user", "content": "Hello"}]})),
        )
        .await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body["choices"][0]["message"]["content"], "Hi from Vertex");
    }
    // One token per deployment (each has its own credentials cache).
    assert_eq!(issued.load(Ordering::SeqCst), 2);

    // Context caching is served on Vertex AI as on AI Studio: /model/info says so.
    let (status, info) = proxy_app::send(&proxy, "GET", "/model/info", MASTER, None).await;
    assert_eq!(status, 200, "{info}");
    for entry in info["data"].as_array().expect("data") {
        assert_eq!(
            entry["model_info"]["supports_prompt_caching"],
            json!(true),
            "{entry}"
        );
    }

    // /metrics labels these deployments' calls with the provider vertex_ai.
    let (config, _) = Config::from_yaml(
        &format!("model_list:\n{model_list}\n"),
        "config.yaml",
        &|_: &str| Some(String::new()),
    )
    .expect("config");
    let table = llm_tower::proxy::metrics::ModelTable::new(&config);
    assert_eq!(table.label("gemini-eu").provider(), "vertex_ai");
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn health_shows_a_vertex_deployment_s_host_and_never_a_token() {
    let key_json = service_account_json("http://token.test/token");
    let deployment = |name: &str, params: &str| {
        format!(
            "  - model_name: {name}\n    litellm_params:\n      model: vertex_ai/{MODEL}\n      \
             vertex_project: {PROJECT}\n      vertex_credentials: os.environ/VERTEX_KEY\n{params}"
        )
    };
    let model_list = [
        deployment("eu", "      vertex_location: europe-west4"),
        deployment("global", "      vertex_location: global"),
        deployment(
            "own",
            "      vertex_location: global\n      api_base: https://user:pw@vertex.example.com/",
        ),
    ]
    .join("\n");
    let proxy = build_proxy(&model_list, &key_json).expect("proxy builds");

    let (status, health) = proxy_app::send(&proxy, "GET", "/health", MASTER, None).await;
    assert_eq!(status, 200, "{health}");
    let base = |name: &str| {
        health["healthy_endpoints"]
            .as_array()
            .expect("healthy endpoints")
            .iter()
            .find(|endpoint| endpoint["model_name"] == name)
            .unwrap_or_else(|| panic!("{name} in {health}"))["api_base"]
            .as_str()
            .expect("api_base")
            .trim_end_matches('/')
            .to_owned()
    };
    assert_eq!(base("eu"), "https://europe-west4-aiplatform.googleapis.com");
    assert_eq!(base("global"), "https://aiplatform.googleapis.com");
    assert_eq!(base("own"), "https://vertex.example.com");
    let text = health.to_string();
    assert!(
        !text.contains("pw@") && !text.contains("PRIVATE KEY"),
        "{text}"
    );
}

#[test]
fn the_proxy_refuses_unusable_vertex_deployments_naming_the_key() {
    let key_json = service_account_json("http://token.test/token");
    let pem = std::fs::read_to_string(fixture("test-key.pem")).expect("test key");
    let secret_line = pem.lines().nth(1).expect("a key line").to_owned();
    let deployment = |params: &str| {
        format!("  - model_name: v\n    litellm_params:\n      model: vertex_ai/{MODEL}\n{params}")
    };

    let missing = refusal(
        &deployment("      vertex_project: p\n      vertex_credentials: /nonexistent/key.json"),
        "",
    );
    assert!(missing.contains("model_list[0]"), "{missing}");
    assert!(missing.contains("vertex_credentials"), "{missing}");
    assert!(missing.contains("/nonexistent/key.json"), "{missing}");

    let unknown = refusal(
        &deployment("      vertex_project: p\n      vertex_credentials: os.environ/VERTEX_KEY"),
        r#"{"type": "impersonated_service_account"}"#,
    );
    assert!(
        unknown.contains("model_list[0]") && unknown.contains("impersonated_service_account"),
        "{unknown}"
    );

    let broken = key_json.replace(&secret_line, "AAAA");
    let bad_key = refusal(
        &deployment("      vertex_project: p\n      vertex_credentials: os.environ/VERTEX_KEY"),
        &broken,
    );
    assert!(
        bad_key.contains("vertex_credentials") && bad_key.contains("private_key"),
        "{bad_key}"
    );
    assert!(!bad_key.contains("BEGIN"), "{bad_key}");

    let unset = Config::from_yaml(
        &format!(
            "model_list:\n{}\n",
            deployment("      vertex_project: p\n      vertex_credentials: os.environ/NOT_SET")
        ),
        "config.yaml",
        &|_: &str| None,
    )
    .unwrap_err()
    .to_string();
    assert!(
        unset.contains("vertex_credentials") && unset.contains("NOT_SET"),
        "{unset}"
    );
}

#[tokio::test]
async fn built_in_tools_beside_functions_are_left_out_on_vertex() {
    // Vertex AI refuses `includeServerSideToolInvocations`, which the Gemini API needs for
    // the mix: a 3.x model on Vertex gets the functions, as a model that refuses the mix.
    let model = "gemini-3-flash-preview";
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    Mock::given(method("POST"))
        .and(path(path_of("us-central1", model, "generateContent")))
        .and(wiremock::matchers::body_json(json!({
            "contents": [{"role": "user", "parts": [{"text": "Weather in Paris?"}]}],
            "tools": [{"functionDeclarations": [{"name": "f", "parameters": {"type": "OBJECT", "properties": {"q": {"type": "STRING"}}}}]}]
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(generate_reply()))
        .expect(1)
        .mount(&server)
        .await;
    let request: ChatRequest = serde_json::from_value(json!({
        "model": model,
        "messages": [{"role": "user", "content": "Weather in Paris?"}],
        "tools": [
            {"type": "web_search"},
            {"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {"q": {"type": "string"}}}}}
        ],
    }))
    .expect("chat request");

    let answer = vertex(&server, "us-central1")
        .chat_service()
        .oneshot(request)
        .await
        .expect("answered");
    assert_eq!(text_of(answer).await, "Hi from Vertex");
}

/// Answers a `:predict` call with one vector per instance: `[len(content), i]`, and a
/// `token_count` of the content's length.
struct Predictions;

impl Respond for Predictions {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        let body: Value = serde_json::from_slice(&request.body).expect("json body");
        let predictions: Vec<Value> = body["instances"]
            .as_array()
            .expect("instances")
            .iter()
            .enumerate()
            .map(|(index, instance)| {
                let length = instance["content"].as_str().expect("content").len();
                json!({"embeddings": {
                    "values": [length as f32, index as f32],
                    "statistics": {"token_count": length, "truncated": false}
                }})
            })
            .collect();
        ResponseTemplate::new(200).set_body_json(json!({"predictions": predictions}))
    }
}

/// Expects `times` `:predict` calls of `model` in `us-central1` carrying `token-1` (and
/// `body`, when given), and answers them with [`Predictions`].
async fn mount_predict(server: &MockServer, model: &str, body: Option<Value>, times: u64) {
    let mut mock = Mock::given(method("POST"))
        .and(path(path_of("us-central1", model, "predict")))
        .and(header("authorization", "Bearer token-1"));
    if let Some(body) = body {
        mock = mock.and(wiremock::matchers::body_json(body));
    }
    mock.respond_with(Predictions)
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn embeddings_are_one_predict_call_with_vertex_s_body_and_token_counts() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    let body = json!({
        "instances": [
            {"content": "red", "task_type": "RETRIEVAL_DOCUMENT", "title": "Colours"},
            {"content": "green", "task_type": "RETRIEVAL_DOCUMENT", "title": "Colours"}
        ],
        "parameters": {"outputDimensionality": 2}
    });
    mount_predict(&server, "text-embedding-005", Some(body), 1).await;
    let request: llm_tower::openai::EmbeddingRequest = serde_json::from_value(json!({
        "model": "text-embedding-005",
        "input": ["red", "green"],
        "dimensions": 2,
        "input_type": "RETRIEVAL_DOCUMENT",
        "title": "Colours",
    }))
    .expect("embedding request");

    let response = vertex(&server, "us-central1")
        .embedding_service()
        .oneshot(request)
        .await
        .expect("embedded");
    let body = serde_json::to_value(response).expect("serializes");
    assert_eq!(body["data"][0]["embedding"], json!([3.0, 0.0]), "{body}");
    assert_eq!(body["data"][1]["embedding"], json!([5.0, 1.0]), "{body}");
    assert_eq!(body["data"][1]["index"], 1, "{body}");
    assert_eq!(body["model"], "text-embedding-005", "{body}");
    assert_eq!(body["usage"]["prompt_tokens"], 8, "{body}");
    let requests = server.received_requests().await.expect("recorded");
    let predict = requests
        .iter()
        .find(|request| request.url.path().ends_with(":predict"))
        .expect("predict");
    assert!(predict.headers.get("x-goog-api-key").is_none());
    assert!(predict.url.query().is_none(), "{}", predict.url);
}

#[tokio::test]
async fn gemini_embedding_models_get_one_instance_per_call_answered_in_order() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    mount_predict(&server, "gemini-embedding-001", None, 3).await;
    let inputs = ["a", "bb", "ccc"];
    let request = llm_tower::openai::EmbeddingRequest::new(
        "gemini-embedding-001",
        inputs.map(str::to_owned).to_vec(),
    );

    let response = vertex(&server, "us-central1")
        .embedding_service()
        .oneshot(request)
        .await
        .expect("embedded");
    let body = serde_json::to_value(response).expect("serializes");
    let firsts: Vec<&Value> = body["data"]
        .as_array()
        .expect("data")
        .iter()
        .map(|item| &item["embedding"][0])
        .collect();
    assert_eq!(firsts, [&json!(1.0), &json!(2.0), &json!(3.0)], "{body}");
    assert_eq!(body["usage"]["prompt_tokens"], 6, "{body}");
    for sent in server.received_requests().await.expect("recorded") {
        if sent.url.path().ends_with(":predict") {
            let body: Value = serde_json::from_slice(&sent.body).expect("json");
            assert_eq!(
                body["instances"].as_array().map(Vec::len),
                Some(1),
                "{body}"
            );
        }
    }
}

#[tokio::test]
async fn a_predict_error_is_google_s_message_and_status() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    Mock::given(method("POST"))
        .and(path(path_of("us-central1", "text-embedding-005", "predict")))
        .respond_with(ResponseTemplate::new(400).set_body_json(json!({"error": {
            "code": 400, "status": "INVALID_ARGUMENT",
            "message": "Unable to submit request because the input token count is 20481 but the model supports up to 20000."
        }})))
        .mount(&server)
        .await;
    let request =
        llm_tower::openai::EmbeddingRequest::new("text-embedding-005", vec!["x".to_owned()]);
    let error: Error = vertex(&server, "us-central1")
        .embedding_service()
        .oneshot(request)
        .await
        .expect_err("refused");
    assert_eq!(error.status(), 400);
    assert!(error.message().contains("supports up to 20000"), "{error}");
}

#[tokio::test]
async fn the_proxy_serves_embeddings_for_a_vertex_ai_deployment() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    let body = json!({"instances": [{"content": "hello"}], "parameters": {}});
    mount_predict(&server, "text-embedding-005", Some(body), 1).await;
    let key_json = service_account_json(&format!("{}/token", server.uri()));
    let model_list = format!(
        "  - model_name: embed
    litellm_params:
      model: vertex_ai/text-embedding-005
      vertex_project: {PROJECT}
      vertex_location: us-central1
      vertex_credentials: os.environ/VERTEX_KEY
      api_base: {base}",
        base = server.uri(),
    );
    let proxy = build_proxy(&model_list, &key_json).expect("proxy builds");

    let (status, body) = proxy_app::send(
        &proxy,
        "POST",
        "/v1/embeddings",
        MASTER,
        Some(json!({"model": "embed", "input": "hello"})),
    )
    .await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(body["data"][0]["embedding"], json!([5.0, 0.0]), "{body}");
    assert_eq!(body["usage"]["prompt_tokens"], 5, "{body}");
}

/// A proxy with one `vertex_ai/` deployment in `location` whose host and token endpoint
/// are `server`.
fn vertex_proxy(server: &MockServer, location: &str) -> Proxy {
    let key_json = service_account_json(&format!("{}/token", server.uri()));
    let model_list = format!(
        "  - model_name: gemini
    litellm_params:
      model: vertex_ai/{MODEL}
      vertex_project: {PROJECT}
      vertex_location: {location}
      vertex_credentials: os.environ/VERTEX_KEY
      api_base: {base}",
        base = server.uri(),
    );
    build_proxy(&model_list, &key_json).expect("proxy builds")
}

#[tokio::test]
async fn the_vertex_ai_pass_through_forwards_with_the_deployment_s_token_only() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]});
    Mock::given(method("POST"))
        .and(path(model_path("us-central1", "generateContent")))
        .and(header("authorization", "Bearer token-1"))
        .and(query_param("labels", "a"))
        .and(wiremock::matchers::body_json(&body))
        .respond_with(ResponseTemplate::new(200).set_body_json(generate_reply()))
        .expect(1)
        .mount(&server)
        .await;
    let proxy = vertex_proxy(&server, "us-central1");

    let request = http::Request::post(format!(
        "/vertex_ai/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/{MODEL}:generateContent?labels=a&key={MASTER}"
    ))
    .header("authorization", format!("Bearer {MASTER}"))
    .header("x-goog-api-key", MASTER)
    .header("x-litellm-api-key", MASTER)
    .header("content-type", "application/json")
    .body(Full::new(Bytes::from(body.to_string())))
    .expect("request");
    let response = proxy.clone().oneshot(request).await.expect("infallible");
    assert_eq!(response.status(), 200);
    let bytes = http_body_util::BodyExt::collect(response.into_body())
        .await
        .expect("body")
        .to_bytes();
    let reply: Value = serde_json::from_slice(&bytes).expect("json");
    assert_eq!(reply, generate_reply());

    let requests = server.received_requests().await.expect("recorded");
    let sent = requests
        .iter()
        .find(|request| request.url.path().ends_with(":generateContent"))
        .expect("forwarded");
    assert_eq!(sent.url.query(), Some("labels=a"), "the client's key stays");
    for name in ["x-goog-api-key", "x-litellm-api-key"] {
        assert!(sent.headers.get(name).is_none(), "{name} forwarded");
    }
    assert_eq!(sent.headers["authorization"], "Bearer token-1");
}

#[tokio::test]
async fn the_vertex_ai_pass_through_passes_a_stream_back() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    let sse = "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"Hi\"}]}}]}\n\n";
    Mock::given(method("POST"))
        .and(path(model_path("global", "streamGenerateContent")))
        .and(query_param("alt", "sse"))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .expect(1)
        .mount(&server)
        .await;
    let proxy = vertex_proxy(&server, "global");

    let (status, headers, bytes) = proxy_app::exchange(
        &proxy,
        "POST",
        &format!(
            "/vertex_ai/v1/projects/{PROJECT}/locations/global/publishers/google/models/{MODEL}:streamGenerateContent?alt=sse"
        ),
        MASTER,
        Some(json!({"contents": []})),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(headers["content-type"], "text/event-stream");
    assert_eq!(bytes, sse.as_bytes());
}

#[tokio::test]
async fn the_vertex_ai_pass_through_refuses_paths_outside_its_projects() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    // Nothing but the token endpoint may be called.
    Mock::given(wiremock::matchers::path_regex("^/v1"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let proxy = vertex_proxy(&server, "us-central1");
    let model = format!("publishers/google/models/{MODEL}:generateContent");
    for (uri, status, google) in [
        (
            format!("/vertex_ai/v1/projects/other-project/locations/us-central1/{model}"),
            403,
            "PERMISSION_DENIED",
        ),
        (
            format!("/vertex_ai/v1/projects/{PROJECT}/locations/europe-west4/{model}"),
            403,
            "PERMISSION_DENIED",
        ),
        (
            format!("/vertex_ai/v1/projects/{PROJECT}/locations/us-central1/../../other/{model}"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            format!("/vertex_ai/v1/projects/{PROJECT}/locations/us-central1/%2e%2e/x/{model}"),
            400,
            "INVALID_ARGUMENT",
        ),
        (
            format!("/vertex_ai/v2/projects/{PROJECT}/locations/us-central1/{model}"),
            404,
            "NOT_FOUND",
        ),
        (
            "/vertex_ai/v1/publishers/google/models".to_owned(),
            404,
            "NOT_FOUND",
        ),
    ] {
        let (code, body) = proxy_app::send(&proxy, "POST", &uri, MASTER, Some(json!({}))).await;
        assert_eq!(code, status, "{uri}: {body}");
        assert_eq!(body["error"]["status"], google, "{uri}: {body}");
    }
    let (code, body) = proxy_app::send(
        &proxy,
        "POST",
        &format!("/vertex_ai/v1/projects/{PROJECT}/locations/us-central1/{model}"),
        "sk-wrong",
        Some(json!({})),
    )
    .await;
    assert_eq!(code, 401, "{body}");
    assert_eq!(body["error"]["status"], "UNAUTHENTICATED", "{body}");
}

/// An `external_account` key file (workload identity federation) whose STS is `server`'s
/// `/sts`, reading its subject token from `source`, impersonating through `server` when
/// `impersonate`.
fn external_account_json(server: &MockServer, source: Value, impersonate: bool) -> String {
    let mut key = json!({
        "type": "external_account",
        "audience": "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/k8s",
        "subject_token_type": "urn:ietf:params:oauth:token-type:jwt",
        "token_url": format!("{}/sts", server.uri()),
        "credential_source": source,
    });
    if impersonate {
        key["service_account_impersonation_url"] = json!(format!(
            "{}/iam/v1/projects/-/serviceAccounts/tower@acme-prod.iam.gserviceaccount.com:generateAccessToken",
            server.uri()
        ));
        key["service_account_impersonation"] = json!({"token_lifetime_seconds": 1800});
    }
    key.to_string()
}

/// Answers the STS exchange with `federated-1`.
async fn mount_sts(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/sts"))
        .and(header("content-type", "application/x-www-form-urlencoded"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "access_token": "federated-1",
            "issued_token_type": "urn:ietf:params:oauth:token-type:access_token",
            "token_type": "Bearer",
            "expires_in": 3600
        })))
        .expect(1)
        .mount(server)
        .await;
}

/// The form fields of the STS request `server` received.
async fn sts_form(server: &MockServer) -> std::collections::BTreeMap<String, String> {
    let requests = server.received_requests().await.expect("recorded");
    let sts = requests
        .iter()
        .find(|request| request.url.path() == "/sts")
        .expect("an STS exchange");
    url::form_urlencoded::parse(&sts.body)
        .into_owned()
        .collect()
}

#[tokio::test]
async fn workload_identity_federation_exchanges_a_file_s_token_then_impersonates() {
    let server = MockServer::start().await;
    let dir = std::env::temp_dir().join(format!("llm-tower-wif-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let token_file = dir.join("token.json");
    std::fs::write(
        &token_file,
        r#"{"id_token": "k8s-subject-jwt", "other": 1}"#,
    )
    .unwrap();
    mount_sts(&server).await;
    let expires = std::time::SystemTime::now() + Duration::from_secs(1800);
    Mock::given(method("POST"))
        .and(path(
            "/iam/v1/projects/-/serviceAccounts/tower@acme-prod.iam.gserviceaccount.com:generateAccessToken",
        ))
        .and(header("authorization", "Bearer federated-1"))
        .and(wiremock::matchers::body_json(json!({
            "scope": ["https://www.googleapis.com/auth/cloud-platform"],
            "lifetime": "1800s"
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({
            "accessToken": "impersonated-1",
            "expireTime": humantime::format_rfc3339_seconds(expires).to_string()
        })))
        .expect(1)
        .mount(&server)
        .await;
    mount_generate(&server, "us-central1", "impersonated-1", 2).await;
    let key = external_account_json(
        &server,
        json!({"file": token_file.display().to_string(),
               "format": {"type": "json", "subject_token_field_name": "id_token"}}),
        true,
    );
    let credentials = Credentials::from_json(&key).expect("external_account");
    assert!(!format!("{credentials:?}").contains("k8s-subject-jwt"));
    let vertex = Vertex::builder()
        .credentials(credentials)
        .project(PROJECT)
        .location("us-central1")
        .api_base(server.uri())
        .build()
        .expect("provider builds");

    for _ in 0..2 {
        answers_hi(&vertex).await;
    }
    let form = sts_form(&server).await;
    let expected: std::collections::BTreeMap<String, String> = [
        ("grant_type", "urn:ietf:params:oauth:grant-type:token-exchange"),
        (
            "audience",
            "//iam.googleapis.com/projects/123/locations/global/workloadIdentityPools/pool/providers/k8s",
        ),
        ("scope", "https://www.googleapis.com/auth/cloud-platform"),
        ("requested_token_type", "urn:ietf:params:oauth:token-type:access_token"),
        ("subject_token", "k8s-subject-jwt"),
        ("subject_token_type", "urn:ietf:params:oauth:token-type:jwt"),
    ]
    .into_iter()
    .map(|(name, value)| (name.to_owned(), value.to_owned()))
    .collect();
    assert_eq!(form, expected);
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn workload_identity_federation_reads_a_url_s_token_and_uses_the_sts_token() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/subject"))
        .and(header("metadata", "true"))
        .respond_with(ResponseTemplate::new(200).set_body_string("azure-subject\n"))
        .expect(1)
        .mount(&server)
        .await;
    mount_sts(&server).await;
    mount_generate(&server, "us-central1", "federated-1", 1).await;
    let key = external_account_json(
        &server,
        json!({"url": format!("{}/subject", server.uri()), "headers": {"Metadata": "true"}}),
        false,
    );
    let vertex = Vertex::builder()
        .credentials(Credentials::from_json(&key).expect("external_account"))
        .project(PROJECT)
        .api_base(server.uri())
        .location("us-central1")
        .build()
        .expect("provider builds");

    answers_hi(&vertex).await;
    assert_eq!(sts_form(&server).await["subject_token"], "azure-subject");
}

#[tokio::test]
async fn unreadable_or_unsupported_external_accounts_are_clear_errors() {
    let server = MockServer::start().await;
    for (source, says) in [
        (
            json!({"environment_id": "aws1", "region_url": "http://x"}),
            "AWS",
        ),
        (
            json!({"executable": {"command": "/bin/token"}}),
            "executable",
        ),
        (
            json!({"file": "/t", "format": {"type": "json"}}),
            "subject_token_field_name",
        ),
        (json!({}), "file or url"),
    ] {
        let error = Credentials::from_json(&external_account_json(&server, source, false))
            .expect_err("refused")
            .to_string();
        assert!(error.contains(says), "{error}");
    }

    // A subject token file that is gone: a 503 naming the file, and no STS call.
    Mock::given(method("POST"))
        .and(path("/sts"))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(&server)
        .await;
    let key = external_account_json(
        &server,
        json!({"file": "/nonexistent/subject-token"}),
        false,
    );
    let error: Error = Vertex::builder()
        .credentials(Credentials::from_json(&key).expect("external_account"))
        .project(PROJECT)
        .api_base(server.uri())
        .build()
        .expect("provider builds")
        .chat_service()
        .oneshot(chat(false))
        .await
        .expect_err("no token");
    assert_eq!(error.status(), 503, "{}", error.message());
    assert!(
        error.message().contains("/nonexistent/subject-token"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn a_virtual_key_calls_its_models_on_the_vertex_ai_pass_through() {
    let server = MockServer::start().await;
    mount_tokens(&server, Duration::ZERO).await;
    Mock::given(method("POST"))
        .and(path(model_path("us-central1", "generateContent")))
        .and(header("authorization", "Bearer token-1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(generate_reply()))
        .expect(1)
        .mount(&server)
        .await;
    let key_json = service_account_json(&format!("{}/token", server.uri()));
    let dir = std::env::temp_dir().join(format!(
        "llm-tower-vertex-keys-{}-{:x}",
        std::process::id(),
        fastrand::u64(..)
    ));
    std::fs::create_dir_all(&dir).unwrap();
    let model_list = format!(
        "  - model_name: gemini
    litellm_params:
      model: vertex_ai/{MODEL}
      vertex_project: {PROJECT}
      vertex_location: us-central1
      vertex_credentials: os.environ/VERTEX_KEY
      api_base: {base}",
        base = server.uri(),
    );
    let general = format!(
        "  database_url: \"sqlite://{}/keys.db?mode=rwc\"\n",
        dir.display()
    );
    let proxy = build_proxy_with(&model_list, &key_json, &general).expect("proxy builds");
    proxy.open_keys().await.unwrap();
    let generate = |models: Value| {
        let proxy = proxy.clone();
        async move {
            let (status, reply) = proxy_app::send(
                &proxy,
                "POST",
                "/key/generate",
                MASTER,
                Some(json!({"models": models})),
            )
            .await;
            assert_eq!(status, 200, "{reply}");
            reply["key"].as_str().unwrap().to_owned()
        }
    };
    let allowed = generate(json!([format!("vertex_ai/{MODEL}")])).await;
    let other = generate(json!(["gemini-2.5-pro"])).await;
    let body = json!({"contents": [{"role": "user", "parts": [{"text": "Hello"}]}]});
    let call = |key: String, route: String| {
        let (proxy, body) = (proxy.clone(), body.clone());
        async move { proxy_app::send(&proxy, "POST", &route, &key, Some(body)).await }
    };
    let route = format!(
        "/vertex_ai/v1/projects/{PROJECT}/locations/us-central1/publishers/google/models/{MODEL}:generateContent"
    );
    let (status, reply) = call(other.clone(), route.clone()).await;
    assert_eq!(status, 403, "{reply}");
    let (status, reply) = call("sk-unknown".into(), route.clone()).await;
    assert_eq!(status, 401, "{reply}");
    let not_a_model =
        format!("/vertex_ai/v1/projects/{PROJECT}/locations/us-central1/cachedContents");
    let (status, reply) = call(allowed.clone(), not_a_model).await;
    assert_eq!(status, 403, "{reply}");
    let (status, reply) = call(allowed, route).await;
    assert_eq!(status, 200, "{reply}");
    std::fs::remove_dir_all(&dir).unwrap();
}
