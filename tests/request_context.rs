//! The HTTP request's extensions through the stack: the edge hands them to the typed
//! request, the provider to the upstream HTTP request; a per-request key among them is
//! honoured only where the provider allows client credentials, and refused elsewhere.

mod common;

use std::sync::{Arc, Mutex};

use bytes::Bytes;
use common::{CREATED, TEST_KEY, body_bytes, ok_reply};
use http_body_util::Full;
use llm_tower::Secret;
use llm_tower::edge::{ChatEdge, EmbeddingsEdge};
use llm_tower::gemini::translate::SequentialIds;
use llm_tower::gemini::{Gemini, GeminiBuilder};
use serde_json::{Value, json};
use tower::ServiceExt;
use tower::util::MapRequestLayer;
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const TENANT_KEY: &str = "key-of-one-tenant";

fn builder(server: &MockServer) -> GeminiBuilder {
    Gemini::builder()
        .api_base(format!("{}/v1beta", server.uri()))
        .api_key(Secret::new(TEST_KEY))
        .ids(Arc::new(SequentialIds::new(CREATED)))
}

/// Answers `generateContent` only for `key`.
async fn answer_for_key(server: &MockServer, key: &str) {
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(header("x-goog-api-key", key))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .mount(server)
        .await;
}

/// A chat request over HTTP carrying `extension`.
fn request_with<T: Clone + Send + Sync + 'static>(
    body: &Value,
    extension: T,
) -> http::Request<Full<Bytes>> {
    let mut request = http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    request.extensions_mut().insert(extension);
    request
}

fn hello() -> Value {
    json!({"model": "gemini-2.5-flash", "messages": [{"role": "user", "content": "hi"}]})
}

/// Sends `request` through an edge: the status and the body.
async fn send<S>(edge: S, request: http::Request<Full<Bytes>>) -> (http::StatusCode, Bytes)
where
    S: tower::Service<
            http::Request<Full<Bytes>>,
            Response = http::Response<llm_tower::edge::EdgeBody>,
            Error = std::convert::Infallible,
        >,
{
    let response = edge
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status();
    (status, body_bytes(response).await)
}

async fn keys_sent(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .map(|request| {
            request.headers["x-goog-api-key"]
                .to_str()
                .unwrap_or_default()
                .to_owned()
        })
        .collect()
}

#[tokio::test]
async fn a_key_in_the_extensions_is_the_requests_key_where_client_credentials_are_allowed() {
    let server = MockServer::start().await;
    answer_for_key(&server, TENANT_KEY).await;
    let gemini = builder(&server)
        .client_credentials(true)
        .build()
        .expect("builds");
    let request = request_with(&hello(), Secret::new(TENANT_KEY));
    let (status, body) = send(ChatEdge::new(gemini.chat_service()), request).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(keys_sent(&server).await, [TENANT_KEY]);

    // A key in the body is the client's choice and wins.
    let mut own = hello();
    own["api_key"] = json!(TEST_KEY);
    answer_for_key(&server, TEST_KEY).await;
    let request = request_with(&own, Secret::new(TENANT_KEY));
    let (status, _) = send(ChatEdge::new(gemini.chat_service()), request).await;
    assert_eq!(status, 200);
    assert_eq!(keys_sent(&server).await, [TENANT_KEY, TEST_KEY]);
}

#[tokio::test]
async fn embeddings_take_the_key_from_the_extensions_too() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/text-embedding-004:batchEmbedContents"))
        .and(header("x-goog-api-key", TENANT_KEY))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"embeddings": [{"values": [0.5, 0.25]}]})),
        )
        .mount(&server)
        .await;
    let gemini = builder(&server)
        .client_credentials(true)
        .build()
        .expect("builds");
    let mut request = request_with(
        &json!({"model": "text-embedding-004", "input": "hello"}),
        Secret::new(TENANT_KEY),
    );
    *request.uri_mut() = http::Uri::from_static("/v1/embeddings");
    let (status, body) = send(EmbeddingsEdge::new(gemini.embedding_service()), request).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(keys_sent(&server).await, [TENANT_KEY]);
}

/// What an application attaches to its requests.
#[derive(Clone, Debug, PartialEq)]
struct Tenant(&'static str);

/// What the HTTP-level layer saw of one upstream request.
type Seen = (Option<Tenant>, bool);

#[tokio::test]
async fn a_key_among_the_extensions_is_refused_where_client_credentials_are_off() {
    let server = MockServer::start().await;
    answer_for_key(&server, TEST_KEY).await;
    // Each upstream request's tenant, and whether a key rode along as an extension.
    let seen: Arc<Mutex<Vec<Seen>>> = Arc::default();
    let record = seen.clone();
    let gemini = builder(&server)
        .http_layer(MapRequestLayer::new(
            move |request: http::Request<Full<Bytes>>| {
                let tenant = request.extensions().get::<Tenant>().cloned();
                let key_extension = request.extensions().get::<Secret>().is_some();
                record.lock().expect("lock").push((tenant, key_extension));
                request
            },
        ))
        .build()
        .expect("builds");
    let edge = ChatEdge::new(gemini.chat_service());
    let mut request = request_with(&hello(), Tenant("acme"));
    request.extensions_mut().insert(Secret::new(TENANT_KEY));
    let (status, _) = send(edge.clone(), request).await;
    // The configured key is never billed in the tenant's stead: nothing is sent.
    assert_eq!(status, 401);
    assert!(keys_sent(&server).await.is_empty());
    // Without a key of its own, the tenant gets through and no key rides along.
    let (status, _) = send(edge, request_with(&hello(), Tenant("acme"))).await;
    assert_eq!(status, 200);
    assert_eq!(*seen.lock().expect("lock"), [(Some(Tenant("acme")), false)]);
    assert_eq!(keys_sent(&server).await, [TEST_KEY]);
}
