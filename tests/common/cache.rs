//! Context-cache helpers shared by the in-memory and the Redis tests: fixture 75's
//! contract conversation with a head long enough to cache, and stand-in mocks for the
//! `cachedContents` calls. Test files include it beside `common` with
//! `#[path = "common/cache.rs"] mod cache;`.
#![allow(dead_code)] // each test binary uses a different subset

use std::time::{Duration, SystemTime};

use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{TEST_KEY, chat, exchange, fixture_file, ok_reply};

/// The model of the contract conversation.
pub const FLASH: &str = "gemini-2.5-flash";

/// Fixture 75's cache name.
pub const RECORDED_CACHE: &str = "cachedContents/4x9q2b7k1m";

/// A contract of about 19 KB: surely above 2.5 Flash's 2,048-token minimum (over eight
/// bytes a minimum token), so the local estimate sends it straight to the create call.
pub fn long_contract() -> String {
    "Clause: the parties agree to the terms set out below, in full. ".repeat(300)
}

/// Fixture 75's conversation as OpenAI messages: the system prompt and the contract are
/// the head (the contract is marked), the question is live.
pub fn contract_request(contract: &str, stream: bool) -> Value {
    json!({
        "model": FLASH,
        "stream": stream,
        "messages": [
            {"role": "system", "content": "You are a contracts lawyer."},
            {"role": "user", "content": [{
                "type": "text", "text": contract,
                "cache_control": {"type": "ephemeral", "ttl": "3600s"}
            }]},
            {"role": "user", "content": "Summarise clause 2"}
        ]
    })
}

/// The same conversation without any `cache_control`.
pub fn unmarked_request(contract: &str) -> Value {
    json!({
        "model": FLASH,
        "messages": [
            {"role": "system", "content": "You are a contracts lawyer."},
            {"role": "user", "content": contract},
            {"role": "user", "content": "Summarise clause 2"}
        ]
    })
}

/// An RFC 3339 time `from_now` ahead.
pub fn rfc3339_in(from_now: Duration) -> String {
    humantime::format_rfc3339_millis(SystemTime::now() + from_now).to_string()
}

/// Fixture 75's create body for `contract` (without its display name, which hashes the
/// head).
pub fn create_body(contract: &str) -> Value {
    let (request, _) = exchange(&fixture_file("75"), 0);
    let mut body = request["body"].clone();
    body.as_object_mut().expect("object").remove("displayName");
    body["contents"][0]["parts"][0]["text"] = json!(contract);
    body
}

/// Fixture 75's created resource, named `name` and expiring `expires_in` from now.
pub fn created(name: &str, expires_in: Duration) -> Value {
    let (_, response) = exchange(&fixture_file("75"), 0);
    let mut body = response["body"].clone();
    body["name"] = json!(name);
    body["expireTime"] = json!(rfc3339_in(expires_in));
    body
}

/// Answers the create of the long contract's head with `name` (expiring in an hour),
/// after `delay`, exactly `times` times.
pub async fn expect_create(server: &MockServer, name: &str, delay: Duration, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(body_partial_json(create_body(&long_contract())))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(created(name, Duration::from_secs(3600)))
                .set_delay(delay),
        )
        .expect(times)
        .mount(server)
        .await;
}

/// Answers `GET cachedContents` with an empty project, `times` times.
pub async fn expect_empty_list(server: &MockServer, times: u64) {
    Mock::given(method("GET"))
        .and(path("/v1beta/cachedContents"))
        .and(query_param("pageSize", "1000"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(times)
        .mount(server)
        .await;
}

/// The live call naming `cache`.
pub fn live_body(cache: &str) -> Value {
    json!({
        "contents": [{"role": "user", "parts": [{"text": "Summarise clause 2"}]}],
        "cachedContent": cache
    })
}

/// Answers the live call naming `cache` with `ok`, exactly `times` times.
pub async fn expect_live(server: &MockServer, cache: &str, times: u64) {
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .and(body_json(live_body(cache)))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(times)
        .mount(server)
        .await;
}

/// Sends the long contract conversation through `client`; the stand-in's `ok` must come
/// back.
pub async fn ask(client: &llm_tower::Client) {
    let reply = client
        .chat(chat(contract_request(&long_contract(), false)))
        .await
        .expect("answered");
    assert_eq!(reply.choices[0].message.content.as_deref(), Some("ok"));
}

/// The hash in the display name of the first create the stand-in received.
pub async fn created_key(server: &MockServer) -> String {
    let requests = server.received_requests().await.unwrap_or_default();
    let create = requests
        .iter()
        .find(|request| {
            request.method.as_str() == "POST" && request.url.path() == "/v1beta/cachedContents"
        })
        .expect("a create call");
    let body: Value = serde_json::from_slice(&create.body).expect("JSON");
    let display = body["displayName"].as_str().expect("display name");
    display
        .strip_prefix("llm-tower:")
        .expect("our prefix")
        .to_owned()
}
