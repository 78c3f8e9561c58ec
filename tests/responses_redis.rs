//! Stored responses shared through a real Redis: two proxy replicas built from one config
//! (one Redis, one Gemini stand-in) continue, read and delete each other's responses,
//! whole and streamed; a proxy with another master key on the same Redis sees none of
//! them; `store: false` writes nothing, nor does a record over the 4 MiB kept in Redis;
//! records live for the store's time to live; a Redis
//! that is down makes a stored response a clean not-found, quickly.
//!
//! These tests need a Redis server: `.ci/run` starts one and sets
//! `LLM_TOWER_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6390/`). Without the variable each
//! test prints that it did not run and passes; `.ci/run` fails if that message appears.

#![cfg(all(feature = "redis", feature = "proxy"))]

mod common;
#[path = "common/proxy.rs"]
mod proxy_app;
#[path = "common/redis.rs"]
mod redis_server;

use std::time::{Duration, Instant};

use common::{StandIn, ok_reply, sse_payloads};
use llm_tower::layers::responses::namespace;
use llm_tower::proxy::app::Proxy;
use llm_tower::store::{DEFAULT_RESPONSE_TTL, RedisCacheStore, ResponseStore};
use proxy_app::{gemini_proxy, send, send_for_bytes};
use redis::aio::MultiplexedConnection;
use redis_server::{OwnRedis, redis_url};
use serde_json::{Value, json};

const FLASH: &str = "gemini-2.5-flash";

/// A master key of this test's own, so its records are the only ones in its namespace.
fn master_key() -> String {
    format!("sk-test-{:016x}", fastrand::u64(..))
}

/// A replica: a proxy with `master` whose `router_settings` names the Redis at `url`.
fn replica(stand_in: &StandIn, master: &str, url: &str) -> Proxy {
    gemini_proxy(
        stand_in,
        master,
        &format!("router_settings:\n  redis_url: {url}\n"),
    )
}

/// The Redis key of response `id` made with `master`.
fn record_key(master: &str, id: &str) -> String {
    format!("llm-tower:resp:{}:{id}", namespace(master))
}

/// A connection for raw commands.
async fn raw(url: &str) -> MultiplexedConnection {
    RedisCacheStore::open(url)
        .expect("a valid Redis URL")
        .connection()
        .await
        .expect("connected")
}

/// The response keys of `master`'s namespace.
async fn keys_of(connection: &mut MultiplexedConnection, master: &str) -> Vec<String> {
    redis::cmd("KEYS")
        .arg(format!("llm-tower:resp:{}:*", namespace(master)))
        .query_async(connection)
        .await
        .expect("KEYS")
}

/// One replica of a new master key over a stand-in that answers `ok`, and a raw Redis
/// connection to look at what it stores.
async fn answering_replica(url: &str) -> (StandIn, String, Proxy, MultiplexedConnection) {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let master = master_key();
    let proxy = replica(&stand_in, &master, url);
    let connection = raw(url).await;
    (stand_in, master, proxy, connection)
}

async fn create(proxy: &Proxy, master: &str, body: Value) -> Value {
    let (status, response) = send(proxy, "POST", "/v1/responses", master, Some(body)).await;
    assert_eq!(status, 200, "{response}");
    response
}

/// Continuing `id` on `proxy` is a 400 `previous_response_not_found`.
async fn assert_not_continued(proxy: &Proxy, master: &str, id: &str) {
    let (status, error) = send(
        proxy,
        "POST",
        "/v1/responses",
        master,
        Some(json!({"model": "gemini-flash", "previous_response_id": id, "input": "x"})),
    )
    .await;
    assert_eq!(status, 400, "{error}");
    assert_eq!(error["error"]["code"], "previous_response_not_found");
    assert_eq!(error["error"]["param"], "previous_response_id");
}

fn id_of(response: &Value) -> String {
    response["id"].as_str().expect("id").to_owned()
}

#[tokio::test]
async fn a_response_made_on_one_replica_is_continued_read_and_deleted_on_another() {
    let Some(url) =
        redis_url("a_response_made_on_one_replica_is_continued_read_and_deleted_on_another")
    else {
        return;
    };
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let master = master_key();
    let (a, b) = (
        replica(&stand_in, &master, &url),
        replica(&stand_in, &master, &url),
    );
    let first = create(
        &a,
        &master,
        json!({"model": "gemini-flash", "instructions": "Be brief.", "input": "What is Rust?"}),
    )
    .await;
    let id = id_of(&first);

    // One string per response, under the owner's hash, for the default time to live.
    let mut connection = raw(&url).await;
    assert_eq!(
        keys_of(&mut connection, &master).await,
        [record_key(&master, &id)]
    );
    let ttl: i64 = redis::cmd("PTTL")
        .arg(record_key(&master, &id))
        .query_async(&mut connection)
        .await
        .expect("PTTL");
    let full = i64::try_from(DEFAULT_RESPONSE_TTL.as_millis()).expect("fits");
    assert!(full - 60_000 < ttl && ttl <= full, "PTTL {ttl}");
    let stored: String = redis::cmd("GET")
        .arg(record_key(&master, &id))
        .query_async(&mut connection)
        .await
        .expect("GET");
    let stored: Value = serde_json::from_str(&stored).expect("a JSON record");
    assert_eq!(stored["response"], first);
    assert!(
        !stored.to_string().contains(&master),
        "no key in the record"
    );

    // Replica B continues it: the stand-in gets the earlier turn before the new input.
    let second = create(
        &b,
        &master,
        json!({"model": "gemini-flash", "previous_response_id": id, "input": "And Go?"}),
    )
    .await;
    assert_eq!(second["previous_response_id"], id.as_str());
    let bodies = stand_in.received_bodies().await;
    assert_eq!(bodies.len(), 2);
    assert_eq!(
        bodies[1],
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "What is Rust?"}]},
                {"role": "model", "parts": [{"text": "ok"}]},
                {"role": "user", "parts": [{"text": "And Go?"}]}
            ]
        }),
        "the earlier turns, without the earlier instructions"
    );

    // B reads it and its input items.
    let (status, got) = send(&b, "GET", &format!("/v1/responses/{id}"), &master, None).await;
    assert_eq!((status, &got), (200, &first));
    let (status, items) = send(
        &b,
        "GET",
        &format!("/v1/responses/{id}/input_items"),
        &master,
        None,
    )
    .await;
    assert_eq!(status, 200, "{items}");
    assert_eq!(
        items["data"][0]["content"],
        json!([{"type": "input_text", "text": "What is Rust?"}])
    );
    assert_eq!(items["has_more"], false);

    // B deletes it; A no longer finds it.
    let (status, deleted) = send(&b, "DELETE", &format!("/v1/responses/{id}"), &master, None).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(
        deleted,
        json!({"id": id, "object": "response", "deleted": true})
    );
    assert_eq!(
        keys_of(&mut connection, &master).await,
        [record_key(&master, &id_of(&second))]
    );
    let (status, error) = send(&a, "GET", &format!("/v1/responses/{id}"), &master, None).await;
    assert_eq!(status, 404);
    assert_eq!(error["error"]["type"], "not_found_error");
    assert_not_continued(&a, &master, &id).await;
    let (status, _) = send(&a, "DELETE", &format!("/v1/responses/{id}"), &master, None).await;
    assert_eq!(status, 404, "deleted once");
    assert_eq!(
        stand_in.received_bodies().await.len(),
        2,
        "nothing more sent"
    );
}

#[tokio::test]
async fn a_streamed_response_is_continued_on_another_replica() {
    let Some(url) = redis_url("a_streamed_response_is_continued_on_another_replica") else {
        return;
    };
    let stand_in = StandIn::start().await;
    let (model, sse) = common::recorded("19", 0);
    assert_eq!(model, FLASH);
    stand_in.reply_sse(FLASH, &sse).await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let master = master_key();
    let (a, b) = (
        replica(&stand_in, &master, &url),
        replica(&stand_in, &master, &url),
    );
    let (status, body) = send_for_bytes(
        &a,
        "POST",
        "/v1/responses",
        &master,
        Some(json!({"model": "gemini-flash", "input": "Volcanoes?", "stream": true})),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let completed: Value = sse_payloads(&body)
        .iter()
        .map(|data| serde_json::from_str::<Value>(data).expect("a JSON event"))
        .find(|event| event["type"] == "response.completed")
        .expect("response.completed");
    let id = id_of(&completed["response"]);
    let (status, got) = send(&b, "GET", &format!("/v1/responses/{id}"), &master, None).await;
    assert_eq!(status, 200, "{got}");
    assert_eq!(got, completed["response"]);
    let next = create(
        &b,
        &master,
        json!({"model": "gemini-flash", "previous_response_id": id, "input": "More?"}),
    )
    .await;
    assert_eq!(next["previous_response_id"], id.as_str());
    let bodies = stand_in.received_bodies().await;
    let contents = bodies[1]["contents"].as_array().expect("contents");
    assert_eq!(contents.len(), 3, "{}", bodies[1]);
    assert_eq!(
        contents[0],
        json!({"role": "user", "parts": [{"text": "Volcanoes?"}]})
    );
    assert_eq!(contents[1]["role"], "model");
    assert_eq!(
        contents[2],
        json!({"role": "user", "parts": [{"text": "More?"}]})
    );
}

#[tokio::test]
async fn another_master_key_on_the_same_redis_cannot_read_continue_or_delete() {
    let Some(url) =
        redis_url("another_master_key_on_the_same_redis_cannot_read_continue_or_delete")
    else {
        return;
    };
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let (mine, theirs) = (master_key(), master_key());
    let a = replica(&stand_in, &mine, &url);
    let other = replica(&stand_in, &theirs, &url);
    let id = id_of(&create(&a, &mine, json!({"model": "gemini-flash", "input": "hi"})).await);

    let (status, _) = send(&other, "GET", &format!("/v1/responses/{id}"), &theirs, None).await;
    assert_eq!(status, 404);
    let (status, _) = send(
        &other,
        "GET",
        &format!("/v1/responses/{id}/input_items"),
        &theirs,
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_not_continued(&other, &theirs, &id).await;
    let (status, _) = send(
        &other,
        "DELETE",
        &format!("/v1/responses/{id}"),
        &theirs,
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(
        stand_in.received_bodies().await.len(),
        1,
        "nothing sent for it"
    );

    // Still there for its owner.
    let (status, _) = send(&a, "GET", &format!("/v1/responses/{id}"), &mine, None).await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn store_false_writes_nothing_to_redis() {
    let Some(url) = redis_url("store_false_writes_nothing_to_redis") else {
        return;
    };
    let (_stand_in, master, a, mut connection) = answering_replica(&url).await;
    let response = create(
        &a,
        &master,
        json!({"model": "gemini-flash", "input": "hi", "store": false}),
    )
    .await;
    assert_eq!(response["store"], false);
    assert_eq!(
        keys_of(&mut connection, &master).await,
        Vec::<String>::new()
    );
    let exists: u64 = redis::cmd("EXISTS")
        .arg(record_key(&master, &id_of(&response)))
        .query_async(&mut connection)
        .await
        .expect("EXISTS");
    assert_eq!(exists, 0);

    // The same request with `store` is written: the check above can see a record.
    let kept = create(&a, &master, json!({"model": "gemini-flash", "input": "hi"})).await;
    assert_eq!(
        keys_of(&mut connection, &master).await,
        [record_key(&master, &id_of(&kept))]
    );
}

#[tokio::test]
async fn a_record_over_four_mib_is_answered_but_not_kept_in_redis() {
    let Some(url) = redis_url("a_record_over_four_mib_is_answered_but_not_kept_in_redis") else {
        return;
    };
    let (_stand_in, master, a, mut connection) = answering_replica(&url).await;
    // 5 MiB of input: over the 4 MiB kept in Redis, well under the 32 MiB kept in memory.
    let long = "word ".repeat(5 * 1024 * 1024 / 5);
    let response = create(&a, &master, json!({"model": "gemini-flash", "input": long})).await;
    assert_eq!(response["status"], "completed");
    assert_eq!(
        keys_of(&mut connection, &master).await,
        Vec::<String>::new()
    );
    assert_not_continued(&a, &master, &id_of(&response)).await;
}

#[tokio::test]
async fn the_redis_response_store_keeps_records_for_its_time_to_live() {
    let Some(url) = redis_url("the_redis_response_store_keeps_records_for_its_time_to_live") else {
        return;
    };
    let prefix = format!("llm-tower-test:{}:", fastrand::u64(..));
    let caches = RedisCacheStore::open(&url)
        .expect("a valid Redis URL")
        .with_prefix(&prefix);
    let store = caches.response_store().with_ttl(Duration::from_millis(300));
    store.put("owner:resp_1", "{\"a\":1}".to_owned()).await;
    assert_eq!(
        store.get("owner:resp_1").await.as_deref(),
        Some("{\"a\":1}")
    );
    let mut connection = caches.connection().await.expect("connected");
    let ttl: i64 = redis::cmd("PTTL")
        .arg(format!("{prefix}resp:owner:resp_1"))
        .query_async(&mut connection)
        .await
        .expect("PTTL");
    assert!(0 < ttl && ttl <= 300, "PTTL {ttl}");
    tokio::time::sleep(Duration::from_millis(450)).await;
    assert_eq!(store.get("owner:resp_1").await, None, "expired");

    store.put("owner:resp_2", "{}".to_owned()).await;
    assert!(store.remove("owner:resp_2").await);
    assert!(!store.remove("owner:resp_2").await, "gone already");
    assert_eq!(store.get("owner:resp_2").await, None);
}

#[tokio::test]
async fn a_redis_that_is_down_makes_a_stored_response_a_clean_not_found_quickly() {
    if redis_url("a_redis_that_is_down_makes_a_stored_response_a_clean_not_found_quickly").is_none()
    {
        return;
    }
    let mut redis = OwnRedis::start();
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let master = master_key();
    let a = replica(&stand_in, &master, &redis.url);
    let id = id_of(&create(&a, &master, json!({"model": "gemini-flash", "input": "hi"})).await);
    let (status, _) = send(&a, "GET", &format!("/v1/responses/{id}"), &master, None).await;
    assert_eq!(status, 200, "stored while Redis is up");
    redis.kill();

    let timed = Instant::now();
    assert_not_continued(&a, &master, &id).await;
    let (status, error) = send(&a, "GET", &format!("/v1/responses/{id}"), &master, None).await;
    assert_eq!(status, 404);
    assert_eq!(error["error"]["type"], "not_found_error");
    let (status, _) = send(&a, "DELETE", &format!("/v1/responses/{id}"), &master, None).await;
    assert_eq!(status, 404);
    // A new response is answered; its record is lost.
    let lost = create(
        &a,
        &master,
        json!({"model": "gemini-flash", "input": "again"}),
    )
    .await;
    assert_eq!(lost["status"], "completed");
    assert!(
        timed.elapsed() < Duration::from_secs(5),
        "four requests against a dead Redis took {:?}",
        timed.elapsed()
    );
}

#[tokio::test]
async fn a_redis_that_does_not_answer_costs_a_request_about_a_second() {
    if redis_url("a_redis_that_does_not_answer_costs_a_request_about_a_second").is_none() {
        return;
    }
    // Accepts connections and never answers.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("a port");
    let url = format!("redis://{}/", silent.local_addr().expect("address"));
    let held = tokio::spawn(async move {
        let mut sockets = Vec::new();
        while let Ok((socket, _)) = silent.accept().await {
            sockets.push(socket);
        }
    });
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let master = master_key();
    let a = replica(&stand_in, &master, &url);

    let timed = Instant::now();
    let created = create(&a, &master, json!({"model": "gemini-flash", "input": "hi"})).await;
    assert_eq!(
        created["status"], "completed",
        "answered; the record is lost"
    );
    assert_not_continued(&a, &master, &id_of(&created)).await;
    assert!(
        timed.elapsed() < Duration::from_secs(4),
        "two requests against a silent Redis took {:?}",
        timed.elapsed()
    );
    held.abort();
}
