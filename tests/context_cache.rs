//! Context caching: which head of a conversation a request's `cache_control` marks select,
//! and the calls the provider makes against the stand-in: create once and reuse, create
//! again when Google lost the cache, send uncached when Google will not cache the head,
//! streams included.

mod common;

use common::{StandIn, TEST_KEY, chat, contract_request, exchange, fixture_file, ok_reply};
use llm_tower::gemini::CachePlan;
use llm_tower::gemini::translate::{TranslateOptions, translate_request};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path};
use wiremock::{Mock, ResponseTemplate};

const FLASH: &str = "gemini-2.5-flash";

/// Fixture 75: the create body (without its display name) and the created resource.
fn recorded_create() -> (Value, Value) {
    let (request, response) = exchange(&fixture_file("75"), 0);
    let mut body = request["body"].clone();
    body.as_object_mut().expect("object").remove("displayName");
    (body, response["body"].clone())
}

async fn expect_create(stand_in: &StandIn, reply: ResponseTemplate, times: u64) {
    let (body, _) = recorded_create();
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(body_partial_json(body))
        .respond_with(reply)
        .expect(times)
        .mount(&stand_in.server)
        .await;
}

/// Fixture 75's create, answered with its recorded cache, exactly once.
async fn expect_created_once(stand_in: &StandIn) {
    let (_, created) = recorded_create();
    expect_create(
        stand_in,
        ResponseTemplate::new(200).set_body_json(&created),
        1,
    )
    .await;
}

/// Sends the contract conversation twice; both times the stand-in's `ok` must come back.
async fn ask_twice(stand_in: &StandIn) {
    for _ in 0..2 {
        let reply = stand_in
            .client()
            .chat(chat(contract_request(false)))
            .await
            .expect("answered");
        assert_eq!(reply.choices[0].message.content.as_deref(), Some("ok"));
    }
}

fn live_body(cache: &str) -> Value {
    json!({
        "contents": [{"role": "user", "parts": [{"text": "Summarise clause 2"}]}],
        "cachedContent": cache
    })
}

#[tokio::test]
async fn a_marked_head_is_cached_once_and_reused() {
    let stand_in = StandIn::start().await;
    expect_created_once(&stand_in).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .and(body_json(live_body("cachedContents/4x9q2b7k1m")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(2)
        .mount(&stand_in.server)
        .await;
    ask_twice(&stand_in).await;
    let bodies = stand_in.received_bodies().await;
    let display = bodies[0]["displayName"].as_str().expect("display name");
    let hash = display.strip_prefix("llm-tower:").expect("our prefix");
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|byte| byte.is_ascii_hexdigit()));
    assert!(!display.contains(TEST_KEY));
}

#[tokio::test]
async fn a_cache_google_lost_is_created_again_and_the_call_resent() {
    let stand_in = StandIn::start().await;
    let (_, created) = recorded_create();
    let mut second = created.clone();
    second["name"] = json!("cachedContents/second");
    // The first create answers with the recorded cache, the next one with another.
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&created))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stand_in.server)
        .await;
    expect_create(
        &stand_in,
        ResponseTemplate::new(200).set_body_json(&second),
        1,
    )
    .await;
    let generate = format!("/v1beta/models/{FLASH}:generateContent");
    Mock::given(method("POST"))
        .and(path(generate.clone()))
        .and(body_json(live_body("cachedContents/4x9q2b7k1m")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stand_in.server)
        .await;
    let (_, gone) = exchange(&fixture_file("76"), 0);
    Mock::given(method("POST"))
        .and(path(generate.clone()))
        .and(body_json(live_body("cachedContents/4x9q2b7k1m")))
        .respond_with(ResponseTemplate::new(403).set_body_json(&gone["body"]))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    Mock::given(method("POST"))
        .and(path(generate))
        .and(body_json(live_body("cachedContents/second")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    ask_twice(&stand_in).await;
}

#[tokio::test]
async fn a_head_too_small_to_cache_is_sent_whole_and_not_offered_again() {
    let stand_in = StandIn::start().await;
    let too_small = json!({"error": {
        "code": 400,
        "message": "Cached content is too small. total_token_count=97, min_total_token_count=1024",
        "status": "INVALID_ARGUMENT"
    }});
    expect_create(
        &stand_in,
        ResponseTemplate::new(400).set_body_json(too_small),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .and(body_json(json!({
            "contents": [
                {"role": "user", "parts": [{"text": "<a long contract>"}]},
                {"role": "user", "parts": [{"text": "Summarise clause 2"}]}
            ],
            "systemInstruction": {"parts": [{"text": "You are a contracts lawyer."}]}
        })))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(2)
        .mount(&stand_in.server)
        .await;
    // The refusal is remembered: the second request is not offered for caching again.
    ask_twice(&stand_in).await;
}

#[tokio::test]
async fn other_create_failures_are_the_callers_error() {
    let stand_in = StandIn::start().await;
    let (_, denied) = exchange(&fixture_file("68"), 0);
    expect_create(
        &stand_in,
        ResponseTemplate::new(400).set_body_json(&denied["body"]),
        1,
    )
    .await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(0)
        .mount(&stand_in.server)
        .await;
    let error = stand_in
        .client()
        .chat(chat(contract_request(false)))
        .await
        .expect_err("a bad key");
    assert_eq!(error.status(), 401, "{error}");
    // A transient failure is the caller's too (and retried by the proxy's retries).
    let stand_in = StandIn::start().await;
    expect_create(&stand_in, ResponseTemplate::new(503), 1).await;
    let error = stand_in
        .client()
        .chat(chat(contract_request(false)))
        .await
        .expect_err("unavailable");
    assert_eq!(error.status(), 503, "{error}");
}

#[tokio::test]
async fn a_stream_uses_the_cache_too() {
    let stand_in = StandIn::start().await;
    expect_created_once(&stand_in).await;
    let (_, recorded) = exchange(&fixture_file("18"), 0);
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1beta/models/{FLASH}:streamGenerateContent"
        )))
        .and(body_json(live_body("cachedContents/4x9q2b7k1m")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            recorded["sse"].as_str().expect("sse").as_bytes().to_vec(),
            "text/event-stream",
        ))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    let stream = stand_in
        .client()
        .chat_stream(chat(contract_request(true)))
        .await
        .expect("a stream");
    let chunks: Vec<_> = futures_util::StreamExt::collect::<Vec<_>>(stream).await;
    assert!(chunks.iter().all(Result::is_ok));
}

/// The head a request's marks select, as the translation reports it.
fn plan_of(messages: Value) -> (Option<CachePlan>, usize) {
    let translated = translate_request(
        chat(json!({"model": FLASH, "messages": messages})),
        TranslateOptions::default(),
    )
    .expect("translated");
    (translated.cache, translated.body.contents.len())
}

fn marked(role: &str, text: &str) -> Value {
    json!({"role": role, "content": [{"type": "text", "text": text, "cache_control": {"type": "ephemeral"}}]})
}

fn plain(role: &str, text: &str) -> Value {
    json!({"role": role, "content": text})
}

#[test]
fn the_head_ends_with_the_first_marked_run() {
    // Messages before the marks are part of the head: a cache is a prefix.
    let (plan, contents) = plan_of(json!([
        plain("user", "a"),
        plain("assistant", "b"),
        marked("user", "c"),
        marked("assistant", "d"),
        plain("user", "e"),
        marked("assistant", "f"),
        plain("user", "g"),
    ]));
    assert_eq!(
        plan,
        Some(CachePlan {
            contents: 4,
            ttl: None
        })
    );
    assert_eq!(contents, 7);
}

#[test]
fn the_turn_after_the_head_is_not_merged_into_it() {
    let (plan, contents) = plan_of(json!([marked("user", "a"), plain("user", "b")]));
    assert_eq!(plan.map(|plan| plan.contents), Some(1));
    assert_eq!(contents, 2);
}

#[test]
fn heads_that_cannot_be_cached_make_no_plan() {
    // Nothing would be left to send.
    let (plan, _) = plan_of(json!([marked("user", "a")]));
    assert_eq!(plan, None);
    // A system message after the head cannot be sent beside a cache.
    let (plan, _) = plan_of(json!([
        marked("user", "a"),
        plain("system", "b"),
        plain("user", "c")
    ]));
    assert_eq!(plan, None);
    // A cache the client names itself wins.
    let translated = translate_request(
        chat(
            json!({"model": FLASH, "cached_content": "cachedContents/mine",
            "messages": [marked("user", "a"), plain("user", "b")]}),
        ),
        TranslateOptions::default(),
    )
    .expect("translated");
    assert_eq!(translated.cache, None);
}

#[test]
fn every_marked_message_leaves_the_last_turn_live_and_the_first_valid_ttl_counts() {
    let mut first = marked("user", "a");
    first["content"][0]["cache_control"]["ttl"] = json!("soon");
    let mut second = marked("assistant", "b");
    second["content"][0]["cache_control"]["ttl"] = json!("120s");
    let (plan, contents) = plan_of(json!([first, second, marked("user", "c")]));
    assert_eq!(
        plan,
        Some(CachePlan {
            contents: 2,
            ttl: Some("120s".to_owned())
        })
    );
    assert_eq!(contents, 3);
}

#[test]
fn a_marked_system_prompt_alone_is_a_head() {
    let (plan, contents) = plan_of(json!([
        marked("system", "You are terse."),
        plain("user", "a"),
        plain("assistant", "b"),
        marked("user", "c")
    ]));
    assert_eq!(
        plan,
        Some(CachePlan {
            contents: 0,
            ttl: None
        })
    );
    assert_eq!(contents, 3);
}

#[test]
fn marks_of_other_types_are_refused_and_odd_ttls_ignored() {
    let mut odd = marked("user", "a");
    odd["content"][0]["cache_control"] = json!({"type": "persistent"});
    let error = translate_request(
        chat(json!({"model": FLASH, "messages": [odd, plain("user", "b")]})),
        TranslateOptions::default(),
    )
    .expect_err("refused");
    assert_eq!(error.param(), Some("messages[0].cache_control"));

    for (ttl, valid) in [
        ("1e3s", false),
        ("+5s", false),
        ("5.s", false),
        ("0s", false),
        ("300", false),
        ("1.5s", true),
        (".5s", true),
    ] {
        let mut first = marked("user", "a");
        first["content"][0]["cache_control"]["ttl"] = json!(ttl);
        let (plan, _) = plan_of(json!([first, plain("user", "b")]));
        let kept = plan.expect("a plan").ttl;
        assert_eq!(kept.is_some(), valid, "{ttl}");
    }
}
