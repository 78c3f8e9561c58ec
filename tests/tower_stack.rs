//! Tower's own middleware in the Gemini stack, and the retry at the HTTP seam: a timeout
//! and a load shed at the HTTP level become OpenAI error envelopes at the edge; a retry
//! resends the same bytes (nothing above it runs twice), honours `Retry-After` and the
//! request's deadline, and never retries a reply that arrived.

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use bytes::Bytes;
use common::{CREATED, TEST_KEY, chat, exchange, fixture_file, ok_reply, post_json};
use http_body_util::Full;
use llm_tower::edge::ChatEdge;
use llm_tower::gemini::translate::SequentialIds;
use llm_tower::gemini::{Gemini, GeminiBuilder};
use llm_tower::layers::media::FetchPolicy;
use llm_tower::upstream::{Error as UpstreamError, RetryPolicy};
use llm_tower::{Deadline, ErrorKind, Secret};
use serde_json::{Value, json};
use tower::ServiceBuilder;
use tower::limit::ConcurrencyLimitLayer;
use tower::timeout::TimeoutLayer;
use wiremock::matchers::{body_string_contains, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FLASH: &str = "gemini-2.5-flash";
const GENERATE: &str = "/v1beta/models/gemini-2.5-flash:generateContent";

/// A provider builder pointed at `server`.
fn builder(server: &MockServer) -> GeminiBuilder {
    Gemini::builder()
        .api_base(format!("{}/v1beta", server.uri()))
        .api_key(Secret::new(TEST_KEY))
        .ids(Arc::new(SequentialIds::new(CREATED)))
}

/// Quick retries, for tests.
fn quick_retries(max: u32) -> RetryPolicy {
    RetryPolicy::new(max).backoff(Duration::from_millis(10), Duration::from_millis(20))
}

fn hello() -> Value {
    json!({"model": FLASH, "messages": [{"role": "user", "content": "hi"}]})
}

fn json_of(bytes: &Bytes) -> Value {
    serde_json::from_slice(bytes).expect("a JSON body")
}

/// Answers the `generateContent` calls that no earlier mock took with `reply`.
async fn answer(server: &MockServer, reply: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(GENERATE))
        .respond_with(reply)
        .mount(server)
        .await;
}

/// Answers the next `generateContent` call with `reply`.
async fn answer_once(server: &MockServer, reply: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(GENERATE))
        .respond_with(reply)
        .up_to_n_times(1)
        .mount(server)
        .await;
}

/// Gemini's `503 UNAVAILABLE`.
fn overloaded() -> ResponseTemplate {
    ResponseTemplate::new(503).set_body_json(
        json!({"error": {"code": 503, "message": "The model is overloaded.", "status": "UNAVAILABLE"}}),
    )
}

/// A plain reply after `delay`.
fn slow_reply(delay: Duration) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .set_body_json(ok_reply())
        .set_delay(delay)
}

/// `hello()` through a chat edge over `gemini`: status, headers, body.
async fn through_the_edge(gemini: &Gemini) -> (u16, http::HeaderMap, Bytes) {
    post_json(
        ChatEdge::new(gemini.chat_service()),
        "/v1/chat/completions",
        &hello(),
    )
    .await
}

async fn calls(server: &MockServer) -> usize {
    server.received_requests().await.unwrap_or_default().len()
}

/// Google's `429 RESOURCE_EXHAUSTED`, with a `RetryInfo` when `delay` is given.
fn quota_body(delay: Option<&str>) -> Value {
    let details = match delay {
        Some(delay) => {
            json!([{"@type": "type.googleapis.com/google.rpc.RetryInfo", "retryDelay": delay}])
        }
        None => json!([]),
    };
    json!({"error": {"code": 429, "message": "Resource has been exhausted (e.g. check quota).", "status": "RESOURCE_EXHAUSTED", "details": details}})
}

#[tokio::test]
async fn a_tower_timeout_at_the_http_level_is_the_openai_timeout_error() {
    let server = MockServer::start().await;
    answer(&server, slow_reply(Duration::from_secs(5))).await;
    let gemini = builder(&server)
        .http_layer(TimeoutLayer::new(Duration::from_millis(100)))
        .build()
        .expect("builds");
    let started = Instant::now();
    let (status, _, body) = through_the_edge(&gemini).await;
    assert!(started.elapsed() < Duration::from_secs(3));
    assert_eq!(status, 504, "{}", String::from_utf8_lossy(&body));
    let error = &json_of(&body)["error"];
    assert_eq!(error["type"], "timeout_error");
    assert_eq!(error["code"], "Timeout");
}

#[tokio::test]
async fn a_full_concurrency_limit_sheds_with_a_503() {
    let server = MockServer::start().await;
    answer(&server, slow_reply(Duration::from_millis(800))).await;
    let gemini = builder(&server)
        .http_layer(ServiceBuilder::new().load_shed().concurrency_limit(1))
        .build()
        .expect("builds");
    let edge = ChatEdge::new(gemini.chat_service());
    let first = {
        let edge = edge.clone();
        tokio::spawn(async move { post_json(edge, "/v1/chat/completions", &hello()).await })
    };
    // Wait until the first call is at the stand-in: it holds the one permit.
    for _ in 0..100 {
        if calls(&server).await == 1 {
            break;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let (status, _, body) = post_json(edge, "/v1/chat/completions", &hello()).await;
    assert_eq!(status, 503, "{}", String::from_utf8_lossy(&body));
    let error = &json_of(&body)["error"];
    assert_eq!(error["type"], "service_unavailable_error");
    assert!(
        error["message"]
            .as_str()
            .unwrap_or_default()
            .contains("too many"),
        "{error}"
    );
    let (status, _, _) = first.await.expect("the first request");
    assert_eq!(status, 200);
    assert_eq!(calls(&server).await, 1, "the shed request never went out");
}

#[tokio::test]
async fn a_context_cached_call_holds_one_slot_of_a_concurrency_limit_at_a_time() {
    let server = MockServer::start().await;
    let (_, mut created) = exchange(&fixture_file("75"), 0);
    // Google's expiry an hour from now (the recorded one is past).
    created["body"]["expireTime"] = json!(
        humantime::format_rfc3339_millis(SystemTime::now() + Duration::from_secs(3600)).to_string()
    );
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&created["body"]))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .mount(&server)
        .await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(ok_reply()),
    )
    .await;
    // One call in flight at a time; the OpenAI-level timeout turns a deadlock into a failure.
    let gemini = builder(&server)
        .http_layer(ConcurrencyLimitLayer::new(1))
        .layer(TimeoutLayer::new(Duration::from_secs(5)))
        .build()
        .expect("builds");
    let request = json!({"model": FLASH, "messages": [
        {"role": "system", "content": "You are a contracts lawyer."},
        {"role": "user", "content": [{
            "type": "text",
            "text": "Clause: the parties agree to the terms set out below, in full. ".repeat(300),
            "cache_control": {"type": "ephemeral"}
        }]},
        {"role": "user", "content": "Summarise clause 2"}
    ]});
    let client = llm_tower::Client::from_provider(&gemini);
    for _ in 0..2 {
        let reply = client.chat(chat(request.clone())).await.expect("answered");
        assert_eq!(reply.choices[0].message.content.as_deref(), Some("ok"));
    }
    // A look in Google's list, a create and a call, then a call with the cache found again.
    assert_eq!(calls(&server).await, 4);
}

/// A one-pixel PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89,
];

#[tokio::test]
async fn a_retry_resends_the_bytes_without_downloading_or_translating_again() {
    let server = MockServer::start().await;
    answer_once(&server, overloaded()).await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(ok_reply()),
    )
    .await;
    let images = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/cat.png"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PNG.to_vec(), "image/png"))
        .mount(&images)
        .await;
    let image_host = images.uri().trim_start_matches("http://").to_owned();
    let gemini = builder(&server)
        .retry(quick_retries(2))
        .fetch_policy(FetchPolicy::allowing([image_host]))
        .build()
        .expect("builds");
    let request = json!({"model": FLASH, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": format!("{}/cat.png", images.uri())}}
    ]}]});
    let completion = llm_tower::Client::from_provider(&gemini)
        .chat(chat(request))
        .await
        .expect("the retry succeeds");
    assert_eq!(completion.choices[0].message.content.as_deref(), Some("ok"));

    assert_eq!(calls(&images).await, 1, "the image is downloaded once");
    let sent = server.received_requests().await.unwrap_or_default();
    assert_eq!(sent.len(), 2, "one call and one retry");
    // The retry sends the very bytes of the first attempt: translated once.
    assert_eq!(sent[0].body, sent[1].body);
    assert_eq!(sent[1].headers["x-goog-api-key"], TEST_KEY);
    assert!(
        String::from_utf8_lossy(&sent[1].body).contains("inlineData"),
        "the image went inline"
    );
}

#[tokio::test]
async fn a_retry_after_that_ends_past_the_deadline_is_the_clients_at_once() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "3")
            .set_body_json(quota_body(None)),
    )
    .await;
    let gemini = builder(&server)
        .retry(quick_retries(3))
        .build()
        .expect("builds");
    let mut request = chat(hello());
    request
        .context
        .insert(Deadline::after(Duration::from_secs(1)));
    let started = Instant::now();
    let error = llm_tower::Client::from_provider(&gemini)
        .chat(request)
        .await
        .expect_err("429");
    assert!(started.elapsed() < Duration::from_millis(900), "not waited");
    assert_eq!(error.kind(), ErrorKind::RateLimit);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(3)));
    assert_eq!(calls(&server).await, 1);
}

#[tokio::test]
async fn a_retry_after_longer_than_the_longest_wait_is_not_waited() {
    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(429)
            .insert_header("retry-after", "100")
            .set_body_json(quota_body(None)),
    )
    .await;
    let gemini = builder(&server)
        .retry(quick_retries(3).max_wait(Duration::from_secs(30)))
        .build()
        .expect("builds");
    let (status, headers, _) = through_the_edge(&gemini).await;
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "100");
    assert_eq!(calls(&server).await, 1);
}

#[tokio::test]
async fn retry_info_in_a_429_body_is_waited_and_the_body_reaches_the_client() {
    let server = MockServer::start().await;
    answer_once(
        &server,
        ResponseTemplate::new(429).set_body_json(quota_body(Some("0.3s"))),
    )
    .await;
    Mock::given(method("POST"))
        .and(path(GENERATE))
        .and(body_string_contains("again"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .mount(&server)
        .await;
    answer(
        &server,
        ResponseTemplate::new(429).set_body_json(quota_body(Some("20s"))),
    )
    .await;
    let gemini = builder(&server)
        .retry(quick_retries(1))
        .build()
        .expect("builds");
    let client = llm_tower::Client::from_provider(&gemini);

    // 0.3 s, from the body, is waited; the second attempt is answered.
    let started = Instant::now();
    let again = json!({"model": FLASH, "messages": [{"role": "user", "content": "again"}]});
    client.chat(chat(again)).await.expect("the retry succeeds");
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(calls(&server).await, 2);

    // 20 s would end past the deadline: the 429, read for its delay, goes back whole.
    let mut request = chat(hello());
    request
        .context
        .insert(Deadline::after(Duration::from_secs(2)));
    let error = client.chat(request).await.expect_err("429");
    assert_eq!(error.kind(), ErrorKind::RateLimit);
    assert_eq!(error.retry_after(), Some(Duration::from_secs(20)));
    assert_eq!(error.code(), "RESOURCE_EXHAUSTED");
    assert_eq!(
        error.message(),
        "Gemini: Resource has been exhausted (e.g. check quota)."
    );
    assert_eq!(calls(&server).await, 3);
}

#[tokio::test]
async fn a_reply_that_arrived_is_never_retried() {
    let server = MockServer::start().await;
    let broken = br#"{"candidates": [{"content": "#.to_vec();
    answer(
        &server,
        ResponseTemplate::new(200).set_body_raw(broken, "application/json"),
    )
    .await;
    let gemini = builder(&server)
        .retry(quick_retries(3))
        .build()
        .expect("builds");
    let (status, _, body) = through_the_edge(&gemini).await;
    assert_eq!(status, 502, "{}", String::from_utf8_lossy(&body));
    assert_eq!(calls(&server).await, 1, "broken JSON is not retried");
}

#[tokio::test]
async fn client_errors_are_not_retried_and_server_errors_are_up_to_the_limit() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(GENERATE))
        .and(body_string_contains("bad"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}),
        ))
        .mount(&server)
        .await;
    answer(
        &server,
        ResponseTemplate::new(500).set_body_json(
            json!({"error": {"code": 500, "message": "internal", "status": "INTERNAL"}}),
        ),
    )
    .await;
    let gemini = builder(&server)
        .retry(quick_retries(2))
        .build()
        .expect("builds");
    let client = llm_tower::Client::from_provider(&gemini);
    let bad = json!({"model": FLASH, "messages": [{"role": "user", "content": "bad"}]});
    let error = client.chat(chat(bad)).await.expect_err("400");
    assert_eq!(error.status(), 400);
    assert_eq!(calls(&server).await, 1);
    let error = client.chat(chat(hello())).await.expect_err("500");
    assert_eq!(error.status(), 500);
    assert_eq!(calls(&server).await, 1 + 3, "a call and two retries");
}

#[tokio::test]
async fn a_spent_retry_budget_sends_the_reply_on() {
    let server = MockServer::start().await;
    answer(&server, overloaded()).await;
    // No reserve and no share of the calls: not one retry.
    let budget = Arc::new(tower::retry::budget::TpsBudget::new(
        Duration::from_secs(1),
        0,
        0.0,
    ));
    let gemini = builder(&server)
        .retry(quick_retries(3).budget(budget))
        .build()
        .expect("builds");
    let error = llm_tower::Client::from_provider(&gemini)
        .chat(chat(hello()))
        .await
        .expect_err("503");
    assert_eq!(error.status(), 503);
    assert_eq!(calls(&server).await, 1);
}

/// A transport that fails the first `failures` calls with `error`, then answers with a
/// plain Gemini reply; it counts the calls.
#[derive(Clone)]
struct Flaky {
    failures: usize,
    error: fn() -> UpstreamError,
    calls: Arc<AtomicUsize>,
}

fn flaky_transport(failures: usize, error: fn() -> UpstreamError) -> (Flaky, Arc<AtomicUsize>) {
    let calls = Arc::new(AtomicUsize::new(0));
    let transport = Flaky {
        failures,
        error,
        calls: calls.clone(),
    };
    (transport, calls)
}

impl tower::Service<http::Request<Full<Bytes>>> for Flaky {
    type Response = http::Response<Full<Bytes>>;
    type Error = UpstreamError;
    type Future = std::future::Ready<Result<Self::Response, UpstreamError>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), UpstreamError>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Full<Bytes>>) -> Self::Future {
        assert_eq!(request.headers()["x-goog-api-key"], TEST_KEY);
        if self.calls.fetch_add(1, Ordering::SeqCst) < self.failures {
            return std::future::ready(Err((self.error)()));
        }
        let body = serde_json::to_vec(&ok_reply()).expect("JSON");
        std::future::ready(Ok(http::Response::new(Full::new(Bytes::from(body)))))
    }
}

/// A provider over `transport`, retrying by `policy`.
fn over(transport: Flaky, policy: RetryPolicy) -> Gemini {
    Gemini::builder()
        .api_base("http://gemini.invalid/v1beta")
        .api_key(Secret::new(TEST_KEY))
        .retry(policy)
        .transport(transport)
        .build()
        .expect("builds")
}

#[tokio::test]
async fn connect_failures_are_retried_on_any_transport() {
    let (transport, count) = flaky_transport(2, || {
        UpstreamError::connect(std::io::Error::from(std::io::ErrorKind::ConnectionRefused))
    });
    let gemini = over(transport, quick_retries(2));
    let completion = llm_tower::Client::from_provider(&gemini)
        .chat(chat(hello()))
        .await
        .expect("the third attempt connects");
    assert_eq!(completion.choices[0].message.content.as_deref(), Some("ok"));
    assert_eq!(count.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn a_timeout_waiting_for_a_generation_is_not_retried_unless_allowed() {
    let (transport, count) = flaky_transport(1, UpstreamError::timeout);
    let gemini = over(transport, quick_retries(2));
    let error = llm_tower::Client::from_provider(&gemini)
        .chat(chat(hello()))
        .await
        .expect_err("a timeout");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert_eq!(count.load(Ordering::SeqCst), 1);

    let (transport, count) = flaky_transport(1, UpstreamError::timeout);
    let gemini = over(transport, quick_retries(2).retry_timeouts(true));
    llm_tower::Client::from_provider(&gemini)
        .chat(chat(hello()))
        .await
        .expect("retried");
    assert_eq!(count.load(Ordering::SeqCst), 2);
}

#[tokio::test]
async fn a_timeout_needs_the_pooled_transport() {
    let (transport, _) = flaky_transport(0, UpstreamError::timeout);
    let error = Gemini::builder()
        .api_key(Secret::new(TEST_KEY))
        .timeout(Duration::from_secs(5))
        .transport(transport)
        .build()
        .expect_err("refused");
    assert!(error.to_string().contains("TimeoutLayer"), "{error}");
}

#[tokio::test]
async fn openai_level_layers_wrap_the_whole_stack() {
    let server = MockServer::start().await;
    answer(&server, slow_reply(Duration::from_secs(5))).await;
    let gemini = builder(&server)
        .layer(TimeoutLayer::new(Duration::from_millis(100)))
        .build()
        .expect("builds");
    let error = llm_tower::Client::from_provider(&gemini)
        .chat(chat(hello()))
        .await
        .expect_err("a timeout");
    assert_eq!(error.kind(), ErrorKind::Timeout);
    assert!(std::error::Error::source(&error).is_some(), "{error:?}");
}

#[cfg(feature = "proxy")]
#[tokio::test]
async fn buffer_at_the_http_seam_keeps_the_trace_and_the_count() {
    use http_body_util::BodyExt;
    use llm_tower::proxy::config::Config;
    use llm_tower::proxy::metrics::Metrics;
    use llm_tower::proxy::observe::ObserveLayer;
    use tower::{Layer, ServiceExt};

    let server = MockServer::start().await;
    answer(
        &server,
        ResponseTemplate::new(200).set_body_json(ok_reply()),
    )
    .await;
    // Buffer sends each call from its own worker task: the call's context must travel
    // with the request, not with the task that made it.
    let gemini = builder(&server)
        .http_layer(tower::buffer::BufferLayer::new(4))
        .build()
        .expect("builds");
    let metrics = Arc::new(Metrics::new(&Config::default_gemini()));
    let observed = ObserveLayer::new(metrics.clone()).layer(ChatEdge::new(gemini.chat_service()));
    let client_trace = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let request = http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("traceparent", client_trace)
        .body(Full::new(Bytes::from(hello().to_string())))
        .expect("request");
    let response = observed
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    assert_eq!(response.status(), 200);
    response.into_body().collect().await.expect("body");

    let received = server.received_requests().await.unwrap_or_default();
    assert_eq!(received.len(), 1);
    let sent = received[0]
        .headers
        .get("traceparent")
        .expect("a traceparent upstream")
        .to_str()
        .expect("ascii");
    let parts: Vec<&str> = sent.split('-').collect();
    assert_eq!(parts.len(), 4, "{sent}");
    assert_eq!(
        parts[1], "4bf92f3577b34da6a3ce929d0e0e4736",
        "the client's trace"
    );
    assert_ne!(parts[2], "00f067aa0ba902b7", "the proxy as the parent");

    let text = metrics.encode();
    let scrape = prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_owned())))
        .expect("parses");
    let calls: f64 = scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == "llm_tower_upstream_duration_seconds_count")
        .map(|sample| match sample.value {
            prometheus_parse::Value::Untyped(value) | prometheus_parse::Value::Counter(value) => {
                value
            }
            _ => 0.0,
        })
        .sum();
    assert_eq!(calls, 1.0, "{text}");
}
