//! Shared helpers of the integration tests: recorded fixtures and a wiremock stand-in for
//! Gemini that the real provider stack talks to.
#![allow(dead_code)] // each test binary uses a different subset

use std::sync::Arc;

use llm_tower::Secret;
use llm_tower::gemini::Gemini;
use llm_tower::gemini::translate::SequentialIds;
use llm_tower::layers::media::FetchPolicy;
use llm_tower::openai::ChatRequest;
use serde_json::Value;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// The key the stand-in expects.
pub const TEST_KEY: &str = "test-key-not-real";

/// `created` of every reply built with [`SequentialIds`].
pub const CREATED: u64 = 1_700_000_000;

/// A recorded or synthetic fixture from `tests/fixtures/gemini/`.
pub fn fixture(name: &str) -> Value {
    let path = format!(
        "{}/tests/fixtures/gemini/{name}",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|error| panic!("{path}: {error}"));
    serde_json::from_str(&text).unwrap_or_else(|error| panic!("{path}: {error}"))
}

/// Exchange `index` of a fixture: `(request, response)`.
pub fn exchange(name: &str, index: usize) -> (Value, Value) {
    let mut fixture = fixture(name);
    let exchange = fixture["exchanges"][index].take();
    (exchange["request"].clone(), exchange["response"].clone())
}

/// A stand-in for Gemini and a provider stack pointed at it.
pub struct StandIn {
    pub server: MockServer,
    pub gemini: Gemini,
}

impl StandIn {
    /// Starts a stand-in; the provider uses [`TEST_KEY`], sequential ids and
    /// `drop_params: false`.
    pub async fn start() -> Self {
        Self::start_with(|builder| builder).await
    }

    /// Starts a stand-in with a customised provider builder.
    pub async fn start_with(
        customise: impl FnOnce(llm_tower::gemini::GeminiBuilder) -> llm_tower::gemini::GeminiBuilder,
    ) -> Self {
        let server = MockServer::start().await;
        let builder = Gemini::builder()
            .api_base(format!("{}/v1beta", server.uri()))
            .api_key(Secret::new(TEST_KEY))
            .ids(Arc::new(SequentialIds::new(CREATED)))
            .fetch_policy(FetchPolicy::default());
        let gemini = customise(builder).build().expect("provider builds");
        Self { server, gemini }
    }

    /// A client over the provider stacks (chat and embeddings).
    pub fn client(&self) -> llm_tower::Client {
        llm_tower::Client::from_provider(&self.gemini)
    }

    /// Answers `POST /v1beta/models/{model}:generateContent` (with the key header) with `body`.
    pub async fn reply_json(&self, model: &str, status: u16, body: &Value) {
        Mock::given(method("POST"))
            .and(path(format!("/v1beta/models/{model}:generateContent")))
            .and(header("x-goog-api-key", TEST_KEY))
            .respond_with(ResponseTemplate::new(status).set_body_json(body))
            .mount(&self.server)
            .await;
    }

    /// Answers `POST /v1beta/models/{model}:streamGenerateContent?alt=sse` with a raw SSE body.
    pub async fn reply_sse(&self, model: &str, sse: &str) {
        Mock::given(method("POST"))
            .and(path(format!(
                "/v1beta/models/{model}:streamGenerateContent"
            )))
            .and(wiremock::matchers::query_param("alt", "sse"))
            .and(header("x-goog-api-key", TEST_KEY))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_raw(sse.as_bytes().to_vec(), "text/event-stream"),
            )
            .mount(&self.server)
            .await;
    }

    /// The JSON bodies the stand-in received, in order.
    pub async fn received_bodies(&self) -> Vec<Value> {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .iter()
            .map(|request| serde_json::from_slice(&request.body).expect("JSON request body"))
            .collect()
    }

    /// The one JSON body the stand-in received.
    pub async fn received_body(&self) -> Value {
        let mut bodies = self.received_bodies().await;
        assert_eq!(bodies.len(), 1, "expected exactly one upstream request");
        bodies.remove(0)
    }
}

/// A chat request from JSON.
pub fn chat(json: Value) -> ChatRequest {
    serde_json::from_value(json).expect("valid chat request")
}

/// The fixture file whose name starts with `prefix-` (`"01"` → `01-agent--….json`).
pub fn fixture_file(prefix: &str) -> String {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemini");
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("fixture folder")
        .filter_map(|entry| entry.ok()?.file_name().into_string().ok())
        .filter(|name| name.starts_with(&format!("{prefix}-")) && name.ends_with(".json"))
        .collect();
    assert_eq!(names.len(), 1, "one fixture named {prefix}-*: {names:?}");
    names.remove(0)
}

/// A minimal successful Gemini reply.
pub fn ok_reply() -> Value {
    serde_json::json!({
        "candidates": [{
            "content": {"role": "model", "parts": [{"text": "ok"}]},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
    })
}

/// The whole body of an edge response.
pub async fn body_bytes(response: http::Response<llm_tower::edge::EdgeBody>) -> bytes::Bytes {
    use http_body_util::BodyExt;
    response
        .into_body()
        .collect()
        .await
        .expect("the body reads")
        .to_bytes()
}

/// Splits an OpenAI SSE body into its `data:` payloads, checking the framing exactly.
pub fn sse_payloads(body: &[u8]) -> Vec<String> {
    let text = std::str::from_utf8(body).expect("UTF-8 body");
    assert!(
        text.ends_with("\n\n"),
        "body must end with a blank line: {text:?}"
    );
    text.split_terminator("\n\n")
        .map(|event| {
            assert!(!event.contains('\n'), "one line per event: {event:?}");
            event
                .strip_prefix("data: ")
                .unwrap_or_else(|| panic!("not a data event: {event:?}"))
                .to_owned()
        })
        .collect()
}

/// POSTs `body` as JSON to an edge service: status, headers and the whole body.
pub async fn post_json<S>(edge: S, uri: &str, body: &Value) -> (u16, http::HeaderMap, bytes::Bytes)
where
    S: tower::Service<
            http::Request<http_body_util::Full<bytes::Bytes>>,
            Response = http::Response<llm_tower::edge::EdgeBody>,
            Error = std::convert::Infallible,
        >,
{
    use tower::ServiceExt;
    let request = http::Request::post(uri)
        .header("content-type", "application/json")
        .body(http_body_util::Full::new(bytes::Bytes::from(
            body.to_string(),
        )))
        .expect("request");
    let response = edge
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let (status, headers) = (response.status().as_u16(), response.headers().clone());
    (status, headers, body_bytes(response).await)
}

/// `(model, sse)` of the streamed exchange `index` of fixture `prefix`.
pub fn recorded(prefix: &str, index: usize) -> (String, String) {
    let (request, response) = exchange(&fixture_file(prefix), index);
    let model = request["path"]
        .as_str()
        .and_then(|path| path.strip_prefix("/v1beta/models/"))
        .and_then(|rest| rest.split_once(':'))
        .map(|(model, _)| model.to_owned())
        .expect("a model path");
    let sse = response["sse"].as_str().expect("an SSE reply").to_owned();
    (model, sse)
}

/// Fixture 75's conversation as OpenAI messages to gemini-2.5-flash: the system prompt and
/// the contract are the head (the contract is marked, for an hour), the question is live.
/// The contract (about 19 KB) is surely above the model's caching minimum (2,048 tokens).
pub fn contract_request(stream: bool) -> Value {
    serde_json::json!({
        "model": "gemini-2.5-flash",
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a contracts lawyer."},
            {"role": "user", "content": [{
                "type": "text",
                "text": "Clause: the parties agree to the terms set out below, in full. ".repeat(300),
                "cache_control": {"type": "ephemeral", "ttl": "3600s"}
            }]},
            {"role": "user", "content": "Summarise clause 2"}
        ]
    })
}
