//! Context caching: which head of a conversation a request's `cache_control` marks select,
//! and the calls the provider makes against the stand-in: create once (also under 50
//! concurrent requests) and reuse, find a cache made before a restart in Google's list,
//! create again when the entry expired, resend uncached when Google lost the cache
//! (streams too), extend a cache in use, skip or count heads near the model's minimum
//! (from the model table, or learned from Google's refusal), go on uncached when the
//! store or the create call fails, and send an uncached call exactly as the call without
//! marks, streams included.

#[path = "common/cache.rs"]
mod cache;
mod common;

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use cache::{
    FLASH, RECORDED_CACHE, ask, contract_request, create_body, created, created_key, expect_create,
    expect_empty_list, expect_live, live_body, long_contract, unmarked_request,
};
use common::{StandIn, TEST_KEY, chat, exchange, fixture_file, ok_reply};
use llm_tower::gemini::CachePlan;
use llm_tower::gemini::translate::{TranslateOptions, translate_request};
use llm_tower::store::{CacheEntry, CacheFuture, CacheStore, MemoryCacheStore, StoreError};
use serde_json::{Value, json};
use wiremock::matchers::{body_json, body_partial_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A stand-in whose provider remembers caches in `store`.
async fn stand_in_with(store: Arc<dyn CacheStore>) -> StandIn {
    StandIn::start_with(|builder| builder.cache_store(store)).await
}

/// Answers any `generateContent` with `ok`, exactly `times` times, and returns nothing:
/// the bodies are read from the stand-in afterwards.
async fn expect_any_generate(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(times)
        .mount(server)
        .await;
}

/// Refuses every call of a kind the test must not see.
async fn expect_no(server: &MockServer, verb: &str, at: &str) {
    Mock::given(method(verb))
        .and(path(at.to_owned()))
        .respond_with(ResponseTemplate::new(500))
        .expect(0)
        .mount(server)
        .await;
}

/// The bodies of the `generateContent` calls the stand-in received, in order.
async fn generate_bodies(server: &MockServer) -> Vec<Value> {
    let generate = format!("/v1beta/models/{FLASH}:generateContent");
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .iter()
        .filter(|request| request.url.path() == generate)
        .map(|request| serde_json::from_slice(&request.body).expect("JSON"))
        .collect()
}

#[tokio::test]
async fn a_marked_head_is_cached_once_and_reused() {
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    expect_create(&stand_in.server, RECORDED_CACHE, Duration::ZERO, 1).await;
    expect_live(&stand_in.server, RECORDED_CACHE, 2).await;
    let client = stand_in.client();
    ask(&client).await;
    ask(&client).await;
    let hash = created_key(&stand_in.server).await;
    assert_eq!(hash.len(), 64);
    assert!(hash.bytes().all(|byte| byte.is_ascii_hexdigit()));
    assert!(!hash.contains(TEST_KEY));
}

#[tokio::test]
async fn fifty_concurrent_identical_requests_create_one_cache() {
    // With a working store (its claim) and with a failing one (single flight alone).
    let stores: [Arc<dyn CacheStore>; 2] = [
        Arc::new(MemoryCacheStore::default()),
        Arc::new(BrokenStore::Failing),
    ];
    for store in stores {
        let stand_in = stand_in_with(store).await;
        expect_empty_list(&stand_in.server, 1).await;
        // A slow create: every request arrives while it is in flight.
        expect_create(
            &stand_in.server,
            RECORDED_CACHE,
            Duration::from_millis(300),
            1,
        )
        .await;
        expect_live(&stand_in.server, RECORDED_CACHE, 50).await;
        let client = stand_in.client();
        let requests = (0..50).map(|_| ask(&client));
        futures_util::future::join_all(requests).await;
    }
}

#[tokio::test]
async fn a_restart_finds_the_cache_in_googles_list_and_creates_none() {
    let server = MockServer::start().await;
    let builder = |server: &MockServer| {
        let uri = server.uri();
        move |builder: llm_tower::gemini::GeminiBuilder| builder.api_base(format!("{uri}/v1beta"))
    };
    // Before the restart: one process creates the cache.
    let before = StandIn::start_with(builder(&server)).await;
    expect_empty_list(&server, 1).await;
    expect_create(&server, RECORDED_CACHE, Duration::ZERO, 1).await;
    expect_live(&server, RECORDED_CACHE, 3).await;
    ask(&before.client()).await;
    let key = created_key(&server).await;

    // After it (a new process: a new memory store), the list has it on its second page.
    let mut ours = created(RECORDED_CACHE, Duration::from_secs(3000));
    ours["displayName"] = json!(format!("llm-tower:{key}"));
    let mut other = created("cachedContents/other", Duration::from_secs(3000));
    other["displayName"] = json!("llm-tower:0000");
    Mock::given(method("GET"))
        .and(path("/v1beta/cachedContents"))
        .and(query_param("pageSize", "1000"))
        .and(wiremock::matchers::query_param_is_missing("pageToken"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"cachedContents": [other], "nextPageToken": "page 2/2"})),
        )
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1beta/cachedContents"))
        .and(query_param("pageToken", "page 2/2"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"cachedContents": [ours]})))
        .expect(1)
        .with_priority(1)
        .mount(&server)
        .await;
    let after = StandIn::start_with(builder(&server)).await;
    let client = after.client();
    // Found once; the second request is a hit and lists nothing.
    ask(&client).await;
    ask(&client).await;
}

#[tokio::test]
async fn an_expired_entry_is_created_again_once() {
    let store = Arc::new(MemoryCacheStore::default());
    let stand_in = stand_in_with(store.clone()).await;
    expect_empty_list(&stand_in.server, 1).await;
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(created("cachedContents/first", Duration::from_secs(3600))),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stand_in.server)
        .await;
    expect_create(&stand_in.server, "cachedContents/second", Duration::ZERO, 1).await;
    expect_live(&stand_in.server, "cachedContents/first", 1).await;
    expect_live(&stand_in.server, "cachedContents/second", 2).await;
    let client = stand_in.client();
    ask(&client).await;
    // The entry now says Google drops the cache within the margin (a minute for an hour's
    // TTL): it is not named again, but created once more.
    let key = created_key(&stand_in.server).await;
    let expiring = CacheEntry::Cached {
        name: "cachedContents/first".to_owned(),
        expire_time: SystemTime::now() + Duration::from_secs(30),
    };
    store
        .put(&key, &expiring, Duration::from_secs(3600))
        .await
        .expect("stored");
    ask(&client).await;
    ask(&client).await;
}

#[tokio::test]
async fn a_hit_close_to_expiry_extends_the_cache_once() {
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    // Created with ten minutes left of an hour: in its last quarter.
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(created(RECORDED_CACHE, Duration::from_secs(600))),
        )
        .expect(1)
        .mount(&stand_in.server)
        .await;
    Mock::given(method("PATCH"))
        .and(path(format!("/v1beta/{RECORDED_CACHE}")))
        .and(query_param("updateMask", "ttl"))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(body_json(json!({"ttl": "3600s"})))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(created(RECORDED_CACHE, Duration::from_secs(3600))),
        )
        .expect(1)
        .mount(&stand_in.server)
        .await;
    expect_live(&stand_in.server, RECORDED_CACHE, 3).await;
    let client = stand_in.client();
    ask(&client).await; // creates
    ask(&client).await; // a hit near expiry: extends
    ask(&client).await; // a hit with an hour left: nothing more
}

/// Answers the first live call naming the recorded cache with `ok`, and the next one with
/// Google's 403 for a cache that is gone (fixture 76), for `verb` (`generateContent` or
/// `streamGenerateContent`).
async fn lose_the_recorded_cache_after_one_use(
    server: &MockServer,
    verb: &str,
    ok: ResponseTemplate,
) {
    let live = format!("/v1beta/models/{FLASH}:{verb}");
    Mock::given(method("POST"))
        .and(path(live.clone()))
        .and(body_json(live_body(RECORDED_CACHE)))
        .respond_with(ok)
        .up_to_n_times(1)
        .with_priority(1)
        .mount(server)
        .await;
    let (_, gone) = exchange(&fixture_file("76"), 0);
    Mock::given(method("POST"))
        .and(path(live))
        .and(body_json(live_body(RECORDED_CACHE)))
        .respond_with(ResponseTemplate::new(403).set_body_json(&gone["body"]))
        .expect(1)
        .mount(server)
        .await;
}

/// The uncached call of the long contract conversation, as sent without marks.
fn unmarked_body() -> Value {
    json!({
        "contents": [
            {"role": "user", "parts": [{"text": long_contract()}, {"text": "Summarise clause 2"}]}
        ],
        "systemInstruction": {"parts": [{"text": "You are a contracts lawyer."}]}
    })
}

/// Answers the uncached long contract conversation with `ok`, exactly `times` times.
async fn expect_unmarked(server: &MockServer, times: u64) {
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .and(body_json(unmarked_body()))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(times)
        .mount(server)
        .await;
}

/// Answers every create with `status` and Google's error `body`, exactly `times` times.
async fn refuse_create(server: &MockServer, status: u16, body: &Value, times: u64) {
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ResponseTemplate::new(status).set_body_json(body))
        .expect(times)
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_cache_google_lost_is_forgotten_and_the_call_resent_uncached() {
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    // The first create answers with the recorded cache, the next one with another.
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(created(RECORDED_CACHE, Duration::from_secs(3600))),
        )
        .up_to_n_times(1)
        .with_priority(1)
        .mount(&stand_in.server)
        .await;
    expect_create(&stand_in.server, "cachedContents/second", Duration::ZERO, 1).await;
    let ok = ResponseTemplate::new(200).set_body_json(ok_reply());
    lose_the_recorded_cache_after_one_use(&stand_in.server, "generateContent", ok).await;
    expect_unmarked(&stand_in.server, 1).await;
    expect_live(&stand_in.server, "cachedContents/second", 1).await;
    let client = stand_in.client();
    ask(&client).await; // creates the recorded cache and uses it
    ask(&client).await; // names it, finds it gone: resent uncached, forgotten
    ask(&client).await; // creates the head's cache again
}

#[tokio::test]
async fn a_stream_whose_cache_google_lost_is_resent_uncached_before_its_first_byte() {
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    expect_create(&stand_in.server, RECORDED_CACHE, Duration::ZERO, 1).await;
    let (_, recorded) = exchange(&fixture_file("18"), 0);
    let sse = recorded["sse"].as_str().expect("sse").as_bytes().to_vec();
    let stream_ok = ResponseTemplate::new(200).set_body_raw(sse.clone(), "text/event-stream");
    lose_the_recorded_cache_after_one_use(&stand_in.server, "streamGenerateContent", stream_ok)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1beta/models/{FLASH}:streamGenerateContent"
        )))
        .and(body_json(unmarked_body()))
        .respond_with(ResponseTemplate::new(200).set_body_raw(sse, "text/event-stream"))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    let client = stand_in.client();
    for _ in 0..2 {
        let stream = client
            .chat_stream(chat(contract_request(&long_contract(), true)))
            .await
            .expect("a stream");
        let chunks: Vec<_> = futures_util::StreamExt::collect::<Vec<_>>(stream).await;
        assert!(
            !chunks.is_empty() && chunks.iter().all(Result::is_ok),
            "{chunks:?}"
        );
    }
}

#[tokio::test]
async fn a_head_below_the_minimum_makes_no_create_call_and_goes_out_as_if_unmarked() {
    let stand_in = StandIn::start().await;
    expect_no(&stand_in.server, "POST", "/v1beta/cachedContents").await;
    expect_no(&stand_in.server, "GET", "/v1beta/cachedContents").await;
    expect_no(
        &stand_in.server,
        "POST",
        &format!("/v1beta/models/{FLASH}:countTokens"),
    )
    .await;
    expect_any_generate(&stand_in.server, 2).await;
    let client = stand_in.client();
    for request in [
        contract_request("<a short contract>", false),
        unmarked_request("<a short contract>"),
    ] {
        client.chat(chat(request)).await.expect("answered");
    }
    let bodies = generate_bodies(&stand_in.server).await;
    assert_eq!(
        bodies[0], bodies[1],
        "marked and unmarked calls are the same"
    );
    // The marked user message and the next are one turn, as without marks.
    assert_eq!(bodies[0]["contents"].as_array().map(Vec::len), Some(1));
}

#[tokio::test]
async fn a_head_near_the_minimum_is_counted_first() {
    // About 3 KB: possibly under 2.5 Flash's 2,048 tokens, possibly over.
    let contract = "A clause of moderate length. ".repeat(100);
    let count = |tokens: u64, times: u64| {
        Mock::given(method("POST"))
            .and(path(format!("/v1beta/models/{FLASH}:countTokens")))
            .and(header("x-goog-api-key", TEST_KEY))
            .and(body_partial_json(json!({"generateContentRequest": {
                "model": format!("models/{FLASH}"),
                "contents": [{"role": "user", "parts": [{"text": contract}]}],
                "systemInstruction": {"parts": [{"text": "You are a contracts lawyer."}]}
            }})))
            .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalTokens": tokens})))
            .expect(times)
    };

    // Counted below the minimum: no create, sent as unmarked, and remembered.
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    count(600, 1).mount(&stand_in.server).await;
    expect_no(&stand_in.server, "POST", "/v1beta/cachedContents").await;
    expect_any_generate(&stand_in.server, 3).await;
    let client = stand_in.client();
    for request in [
        contract_request(&contract, false),
        contract_request(&contract, false),
        unmarked_request(&contract),
    ] {
        client.chat(chat(request)).await.expect("answered");
    }
    let bodies = generate_bodies(&stand_in.server).await;
    assert_eq!(bodies[0], bodies[2]);
    assert_eq!(bodies[1], bodies[2]);

    // Counted above it: created.
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    count(2500, 1).mount(&stand_in.server).await;
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .and(body_partial_json(create_body(&contract)))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(created(RECORDED_CACHE, Duration::from_secs(3600))),
        )
        .expect(1)
        .mount(&stand_in.server)
        .await;
    expect_live(&stand_in.server, RECORDED_CACHE, 1).await;
    stand_in
        .client()
        .chat(chat(contract_request(&contract, false)))
        .await
        .expect("answered");
}

#[tokio::test]
async fn a_head_google_refuses_is_sent_as_if_unmarked_and_not_offered_again() {
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    let (_, too_small) = exchange(&fixture_file("41"), 0);
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .and(body_partial_json(create_body(&long_contract())))
        .respond_with(ResponseTemplate::new(400).set_body_json(&too_small["body"]))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    expect_unmarked(&stand_in.server, 2).await;
    // The refusal is remembered: the second request is not offered for caching again.
    let client = stand_in.client();
    ask(&client).await;
    ask(&client).await;
}

/// A store that is down: it fails every operation, as a Redis that refuses connections
/// does, or never answers, as one behind a dead network path does.
#[derive(Clone, Copy)]
enum BrokenStore {
    Failing,
    Silent,
}

impl BrokenStore {
    fn answer<'a, T: Send + 'a>(self) -> CacheFuture<'a, T> {
        match self {
            Self::Failing => Box::pin(async { Err(StoreError::new("connection refused")) }),
            Self::Silent => Box::pin(std::future::pending()),
        }
    }
}

impl CacheStore for BrokenStore {
    fn get<'a>(&'a self, _key: &'a str) -> CacheFuture<'a, Option<CacheEntry>> {
        self.answer()
    }
    fn put<'a>(&'a self, _: &'a str, _: &'a CacheEntry, _: Duration) -> CacheFuture<'a, ()> {
        self.answer()
    }
    fn remove<'a>(&'a self, _key: &'a str) -> CacheFuture<'a, ()> {
        self.answer()
    }
    fn claim<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> CacheFuture<'a, bool> {
        self.answer()
    }
    fn extend<'a>(&'a self, _: &'a str, _: &'a str, _: Duration) -> CacheFuture<'a, bool> {
        self.answer()
    }
    fn release<'a>(&'a self, _key: &'a str, _owner: &'a str) -> CacheFuture<'a, ()> {
        self.answer()
    }
}

#[tokio::test]
async fn a_failing_or_silent_store_is_a_miss_and_the_process_creates_once() {
    for store in [
        Arc::new(BrokenStore::Failing) as Arc<dyn CacheStore>,
        Arc::new(BrokenStore::Silent),
    ] {
        let stand_in = stand_in_with(store).await;
        expect_empty_list(&stand_in.server, 1).await;
        expect_create(&stand_in.server, RECORDED_CACHE, Duration::ZERO, 1).await;
        expect_live(&stand_in.server, RECORDED_CACHE, 3).await;
        let client = stand_in.client();
        for _ in 0..3 {
            let started = std::time::Instant::now();
            ask(&client).await;
            assert!(
                started.elapsed() < Duration::from_secs(5),
                "bounded by the store timeout"
            );
        }
    }
}

#[tokio::test]
async fn a_refused_key_is_the_callers_error_other_create_failures_go_uncached() {
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    let (_, denied) = exchange(&fixture_file("68"), 0);
    refuse_create(&stand_in.server, 400, &denied["body"], 1).await;
    expect_any_generate(&stand_in.server, 0).await;
    let error = stand_in
        .client()
        .chat(chat(contract_request(&long_contract(), false)))
        .await
        .expect_err("a bad key");
    assert_eq!(error.status(), 401, "{error}");
    // Google unavailable (fixture 67) for the create: the call goes out uncached, and the
    // next request tries to create again (a failure is not remembered as a refusal).
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    let (_, unavailable) = exchange(&fixture_file("67"), 0);
    refuse_create(&stand_in.server, 503, &unavailable["body"], 2).await;
    expect_unmarked(&stand_in.server, 2).await;
    let client = stand_in.client();
    ask(&client).await;
    ask(&client).await;
}

#[tokio::test]
async fn a_2000_token_head_for_a_3_x_model_makes_no_create_call() {
    // About 8 KB, counted at 2,000 tokens: under the 4,096 the 3.x models cache at least
    // (2.0 Flash, whose minimum is 1,024, would cache it).
    const MODEL: &str = "gemini-3-flash-preview";
    let contract = "A clause of moderate length. ".repeat(280);
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{MODEL}:countTokens")))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalTokens": 2000})))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    expect_no(&stand_in.server, "POST", "/v1beta/cachedContents").await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{MODEL}:generateContent")))
        .and(body_partial_json(json!({"contents": [
            {"role": "user", "parts": [{"text": contract}, {"text": "Summarise clause 2"}]}
        ]})))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .expect(2)
        .mount(&stand_in.server)
        .await;
    let mut request = contract_request(&contract, false);
    request["model"] = json!(MODEL);
    let client = stand_in.client();
    for _ in 0..2 {
        client.chat(chat(request.clone())).await.expect("answered");
    }
}

#[tokio::test]
async fn a_refusal_naming_a_minimum_costs_one_create_then_none_for_that_model() {
    // Fixture 41's refusal, naming a minimum far above the table's for 2.5 Flash.
    let (_, too_small) = exchange(&fixture_file("41"), 0);
    let mut refusal = too_small["body"].clone();
    refusal["error"]["message"] =
        json!("Cached content is too small. total_token_count=4800, min_total_token_count=32768");
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    refuse_create(&stand_in.server, 400, &refusal, 1).await;
    expect_no(
        &stand_in.server,
        "POST",
        &format!("/v1beta/models/{FLASH}:countTokens"),
    )
    .await;
    expect_any_generate(&stand_in.server, 3).await;
    let client = stand_in.client();
    // Three different heads of the same size: the first is refused, the others are
    // judged small against the minimum Google named.
    for clause in ["first", "second", "third"] {
        let contract =
            format!("The {clause} clause binds the parties to these terms. ").repeat(360);
        client
            .chat(chat(contract_request(&contract, false)))
            .await
            .expect("answered");
    }
    let bodies = generate_bodies(&stand_in.server).await;
    assert!(
        bodies
            .iter()
            .all(|body| body.get("cachedContent").is_none())
    );
}

#[tokio::test]
async fn a_stream_uses_the_cache_too() {
    let stand_in = StandIn::start().await;
    expect_empty_list(&stand_in.server, 1).await;
    expect_create(&stand_in.server, RECORDED_CACHE, Duration::ZERO, 1).await;
    let (_, recorded) = exchange(&fixture_file("18"), 0);
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1beta/models/{FLASH}:streamGenerateContent"
        )))
        .and(body_json(live_body(RECORDED_CACHE)))
        .respond_with(ResponseTemplate::new(200).set_body_raw(
            recorded["sse"].as_str().expect("sse").as_bytes().to_vec(),
            "text/event-stream",
        ))
        .expect(1)
        .mount(&stand_in.server)
        .await;
    let stream = stand_in
        .client()
        .chat_stream(chat(contract_request(&long_contract(), true)))
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
            ttl: None,
            split_turn: false
        })
    );
    assert_eq!(contents, 7);
}

#[test]
fn the_turn_after_the_head_is_not_merged_into_it() {
    let (plan, contents) = plan_of(json!([marked("user", "a"), plain("user", "b")]));
    assert_eq!(
        plan,
        Some(CachePlan {
            contents: 1,
            ttl: None,
            split_turn: true
        }),
        "sent uncached, the two are one turn again"
    );
    assert_eq!(contents, 2);
}

#[test]
fn heads_that_cannot_be_cached_make_no_plan() {
    // Nothing would be left to send.
    let (plan, _) = plan_of(json!([marked("user", "a")]));
    assert_eq!(plan, None);
    // A system message after the head cannot be sent beside a cache; without a plan the
    // user turns are merged as they are without marks.
    let (plan, contents) = plan_of(json!([
        marked("user", "a"),
        plain("system", "b"),
        plain("user", "c")
    ]));
    assert_eq!(plan, None);
    assert_eq!(contents, 1);
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
    assert_eq!(translated.body.contents.len(), 1);
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
            ttl: Some("120s".to_owned()),
            split_turn: false
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
            ttl: None,
            split_turn: false
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
