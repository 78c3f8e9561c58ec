//! Context caching shared through a real Redis: two providers (as two replicas would)
//! create one cache for one head, also under fifty concurrent requests split between them;
//! a Redis that dies mid-test leaves requests answered; an expired entry is created again
//! once; a create slower than the claim still happens once, as the claim is renewed; a
//! claim is released and extended by its owner only; the store's own claim, lifetime and
//! decoding rules.
//!
//! These tests need a Redis server: `.ci/run` starts one and sets
//! `LLM_TOWER_TEST_REDIS_URL` (e.g. `redis://127.0.0.1:6390/`). Without the variable each
//! test prints that it did not run and passes; `.ci/run` fails if that message appears.

#![cfg(feature = "redis")]

#[path = "common/cache.rs"]
mod cache;
mod common;
#[cfg(feature = "proxy")]
#[path = "common/proxy.rs"]
mod proxy_app;
#[path = "common/redis.rs"]
mod redis_server;

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant, SystemTime};

use cache::{RECORDED_CACHE, ask, created_key, expect_create, expect_empty_list, expect_live};
use common::{StandIn, TEST_KEY};
use llm_tower::gemini::{CachePlan, Call, ContextCacheLayer, Error as GeminiError, Method, Reply};
use llm_tower::store::{CacheEntry, CacheStore, RedisCacheStore};
use redis_server::{OwnRedis, redis_url};
use serde_json::json;
use tower::{Layer, ServiceExt};
use wiremock::MockServer;

/// A store at `url` under a key prefix of this test run's own.
fn store(url: &str) -> RedisCacheStore {
    RedisCacheStore::open(url)
        .expect("a valid Redis URL")
        .with_prefix(format!("llm-tower-test:{}:", fastrand::u64(..)))
}

/// A provider (one replica) against `server`, remembering caches in `store`.
async fn replica(server: &MockServer, store: Arc<dyn CacheStore>) -> StandIn {
    let uri = server.uri();
    let stand_in = StandIn::start_with(move |builder| {
        builder.api_base(format!("{uri}/v1beta")).cache_store(store)
    })
    .await;
    // `StandIn` starts a server of its own; the replica talks to the shared one.
    assert_ne!(stand_in.server.uri(), server.uri());
    stand_in
}

#[tokio::test]
async fn two_replicas_sharing_one_redis_create_one_cache() {
    let Some(url) = redis_url("two_replicas_sharing_one_redis_create_one_cache") else {
        return;
    };
    let server = MockServer::start().await;
    let shared = store(&url);
    let a = replica(&server, Arc::new(shared.clone())).await;
    // The second replica has its own connection, under the same prefix.
    let b = replica(&server, Arc::new(shared.clone())).await;
    expect_empty_list(&server, 1).await;
    expect_create(&server, RECORDED_CACHE, Duration::ZERO, 1).await;
    expect_live(&server, RECORDED_CACHE, 3).await;
    ask(&a.client()).await;
    ask(&b.client()).await;
    ask(&b.client()).await;
    let key = created_key(&server).await;
    match shared.get(&key).await.expect("Redis answers") {
        Some(CacheEntry::Cached { name, expire_time }) => {
            assert_eq!(name, RECORDED_CACHE);
            assert!(expire_time > SystemTime::now() + Duration::from_secs(3000));
        }
        other => panic!("expected the cache's entry, got {other:?}"),
    }
    assert!(!format!("{shared:?}").contains(TEST_KEY));
}

#[tokio::test]
async fn fifty_concurrent_requests_over_two_replicas_create_one_cache() {
    let Some(url) = redis_url("fifty_concurrent_requests_over_two_replicas_create_one_cache")
    else {
        return;
    };
    let server = MockServer::start().await;
    let prefix = format!("llm-tower-test:{}:", fastrand::u64(..));
    let open = || -> Arc<dyn CacheStore> {
        Arc::new(
            RedisCacheStore::open(&url)
                .expect("a valid Redis URL")
                .with_prefix(&prefix),
        )
    };
    let a = replica(&server, open()).await;
    let b = replica(&server, open()).await;
    // Only the replica holding the claim lists and creates; a slow create keeps every
    // request waiting on it.
    expect_empty_list(&server, 1).await;
    expect_create(&server, RECORDED_CACHE, Duration::from_millis(300), 1).await;
    expect_live(&server, RECORDED_CACHE, 50).await;
    let (client_a, client_b) = (a.client(), b.client());
    let requests = (0..50).map(|n| {
        let client = if n % 2 == 0 { &client_a } else { &client_b };
        ask(client)
    });
    futures_util::future::join_all(requests).await;
}

#[tokio::test]
async fn an_expired_entry_in_redis_is_created_again_once() {
    let Some(url) = redis_url("an_expired_entry_in_redis_is_created_again_once") else {
        return;
    };
    let server = MockServer::start().await;
    let shared = store(&url);
    let a = replica(&server, Arc::new(shared.clone())).await;
    let b = replica(&server, Arc::new(shared.clone())).await;
    // Each replica looks in Google's list once before it creates (the list does not show
    // the expiring cache as usable).
    expect_empty_list(&server, 2).await;
    expect_create(&server, RECORDED_CACHE, Duration::ZERO, 2).await;
    expect_live(&server, RECORDED_CACHE, 4).await;
    ask(&a.client()).await;
    let key = created_key(&server).await;
    // Another replica wrote an entry Google drops within the margin.
    let expiring = CacheEntry::Cached {
        name: RECORDED_CACHE.to_owned(),
        expire_time: SystemTime::now() + Duration::from_secs(20),
    };
    shared
        .put(&key, &expiring, Duration::from_secs(600))
        .await
        .expect("Redis answers");
    ask(&b.client()).await; // creates again
    ask(&a.client()).await; // hits the new entry
    ask(&b.client()).await;
}

#[tokio::test]
async fn requests_are_answered_when_redis_dies() {
    if redis_url("requests_are_answered_when_redis_dies").is_none() {
        return;
    }
    let mut redis = OwnRedis::start();
    let server = MockServer::start().await;
    let shared = store(&redis.url);
    let a = replica(&server, Arc::new(shared.clone())).await;
    expect_empty_list(&server, 1).await;
    // Created once: after Redis dies the replica uses what it created itself.
    expect_create(&server, RECORDED_CACHE, Duration::ZERO, 1).await;
    expect_live(&server, RECORDED_CACHE, 4).await;
    let client = a.client();
    ask(&client).await;
    let key = created_key(&server).await;
    assert!(matches!(
        shared.get(&key).await,
        Ok(Some(CacheEntry::Cached { .. }))
    ));
    redis.kill();
    assert!(shared.get(&key).await.is_err(), "Redis is gone");
    for _ in 0..3 {
        let started = Instant::now();
        ask(&client).await;
        assert!(
            started.elapsed() < Duration::from_secs(3),
            "a dead Redis costs a request little: {:?}",
            started.elapsed()
        );
    }
}

#[tokio::test]
async fn the_redis_store_claims_once_keeps_lifetimes_and_refuses_foreign_values() {
    let Some(url) =
        redis_url("the_redis_store_claims_once_keeps_lifetimes_and_refuses_foreign_values")
    else {
        return;
    };
    let prefix = format!("llm-tower-test:{}:", fastrand::u64(..));
    let store = RedisCacheStore::open(&url)
        .expect("a valid Redis URL")
        .with_prefix(&prefix);
    let ttl = Duration::from_secs(5);
    assert!(store.claim("head", "a", ttl).await.expect("answers"));
    assert!(!store.claim("head", "b", ttl).await.expect("answers"));
    store.release("head", "a").await.expect("answers");
    assert!(store.claim("head", "b", ttl).await.expect("answers"));
    // A claim ends by itself.
    assert!(
        store
            .claim("short", "a", Duration::from_millis(50))
            .await
            .expect("answers")
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(store.claim("short", "b", ttl).await.expect("answers"));

    let entry = CacheEntry::Cached {
        name: "cachedContents/abc".to_owned(),
        expire_time: SystemTime::UNIX_EPOCH + Duration::from_millis(1_900_000_000_123),
    };
    store
        .put("entry", &entry, Duration::from_millis(80))
        .await
        .expect("answers");
    assert_eq!(store.get("entry").await.expect("answers"), Some(entry));
    tokio::time::sleep(Duration::from_millis(150)).await;
    assert_eq!(
        store.get("entry").await.expect("answers"),
        None,
        "its lifetime ended"
    );
    store
        .put("refused", &CacheEntry::Refused, Duration::from_secs(5))
        .await
        .expect("answers");
    assert_eq!(
        store.get("refused").await.expect("answers"),
        Some(CacheEntry::Refused)
    );
    store.remove("refused").await.expect("answers");
    assert_eq!(store.get("refused").await.expect("answers"), None);

    // A value some other program wrote under our key is an error, not a cache name.
    let mut connection = store.connection().await.expect("connected");
    let prefix_key = format!("{prefix}cc:foreign");
    redis::cmd("SET")
        .arg(&prefix_key)
        .arg("not ours")
        .exec_async(&mut connection)
        .await
        .expect("SET");
    assert!(store.get("foreign").await.is_err());
}

#[tokio::test]
async fn a_replica_never_releases_or_extends_another_replicas_claim() {
    let Some(url) = redis_url("a_replica_never_releases_or_extends_another_replicas_claim") else {
        return;
    };
    let prefix = format!("llm-tower-test:{}:", fastrand::u64(..));
    let open = || {
        RedisCacheStore::open(&url)
            .expect("a valid Redis URL")
            .with_prefix(&prefix)
    };
    let (a, b, c) = (open(), open(), open());
    let ttl = Duration::from_secs(5);
    assert!(a.claim("head", "owner-a", ttl).await.expect("answers"));
    b.release("head", "owner-b").await.expect("answers");
    assert!(!b.extend("head", "owner-b", ttl).await.expect("answers"));
    assert!(
        !c.claim("head", "owner-c", ttl).await.expect("answers"),
        "b's release left a's claim alone"
    );
    // a's claim runs out while a is still busy; b takes the head.
    assert!(
        a.extend("head", "owner-a", Duration::from_millis(50))
            .await
            .expect("answers")
    );
    tokio::time::sleep(Duration::from_millis(120)).await;
    assert!(b.claim("head", "owner-b", ttl).await.expect("answers"));
    // a, done late, neither extends nor deletes b's claim.
    assert!(!a.extend("head", "owner-a", ttl).await.expect("answers"));
    a.release("head", "owner-a").await.expect("answers");
    assert!(
        !c.claim("head", "owner-c", ttl).await.expect("answers"),
        "a's late release left b's claim alone"
    );
    let mut connection = b.connection().await.expect("connected");
    let owner: String = redis::cmd("GET")
        .arg(format!("{prefix}cc-claim:head"))
        .query_async(&mut connection)
        .await
        .expect("GET");
    assert_eq!(owner, "owner-b");
    b.release("head", "owner-b").await.expect("answers");
    assert!(c.claim("head", "owner-c", ttl).await.expect("answers"));
}

/// "Google" for the claim test: answers the calls of a context-cached request, holds
/// every create until `release` turns true, and counts the creates and live calls.
#[derive(Clone)]
struct HeldGoogle {
    creates: Arc<AtomicUsize>,
    create_started: Arc<tokio::sync::Notify>,
    release: tokio::sync::watch::Receiver<bool>,
    /// The `cachedContent` each live call named.
    live: Arc<Mutex<Vec<Option<String>>>>,
}

impl HeldGoogle {
    async fn answer(self, call: Call) -> Result<Reply, GeminiError> {
        let reply = match call.method {
            Method::ListCachedContents { .. } => Reply::CachedContents(decode(json!({}))),
            Method::CountTokens(_) => Reply::TokenCount(decode(json!({"totalTokens": 5000}))),
            Method::CreateCachedContent(body) => {
                assert_eq!(body.model, format!("models/{}", cache::FLASH));
                assert_eq!(body.contents.len(), 1);
                self.creates.fetch_add(1, Ordering::SeqCst);
                self.create_started.notify_one();
                let mut release = self.release.clone();
                release
                    .wait_for(|go| *go)
                    .await
                    .expect("the test holds the sender");
                Reply::CachedContent(decode(cache::created(
                    RECORDED_CACHE,
                    Duration::from_secs(3600),
                )))
            }
            Method::Generate(body) => {
                self.live
                    .lock()
                    .expect("not poisoned")
                    .push(body.cached_content);
                Reply::Generate(decode(common::ok_reply()))
            }
            other => panic!("unexpected call {other:?}"),
        };
        Ok(reply)
    }
}

fn decode<T: serde::de::DeserializeOwned>(value: serde_json::Value) -> T {
    serde_json::from_value(value).expect("a Gemini wire value")
}

/// The contract conversation as a Gemini call whose first turn is the marked head.
fn marked_call() -> Call {
    let body = decode(json!({
        "systemInstruction": {"parts": [{"text": "You are a contracts lawyer."}]},
        "contents": [
            {"role": "user", "parts": [{"text": cache::long_contract()}]},
            {"role": "user", "parts": [{"text": "Summarise clause 2"}]}
        ]
    }));
    let mut call = Call::new(cache::FLASH, Method::Generate(body));
    call.cache = Some(CachePlan {
        contents: 1,
        ttl: None,
        split_turn: false,
    });
    call
}

#[tokio::test]
async fn a_create_slower_than_the_claim_happens_once_across_two_replicas() {
    let Some(url) = redis_url("a_create_slower_than_the_claim_happens_once_across_two_replicas")
    else {
        return;
    };
    let prefix = format!("llm-tower-test:{}:", fastrand::u64(..));
    let (go, release) = tokio::sync::watch::channel(false);
    let google = HeldGoogle {
        creates: Arc::default(),
        create_started: Arc::default(),
        release,
        live: Arc::default(),
    };
    let claim_ttl = Duration::from_millis(300);
    // Each replica: its own layer (its own single flight) and its own Redis connection.
    let replica = || {
        let store = RedisCacheStore::open(&url)
            .expect("a valid Redis URL")
            .with_prefix(&prefix);
        let google = google.clone();
        ContextCacheLayer::new(Arc::new(store), "one project")
            .claim_ttl(claim_ttl)
            .claim_wait(Duration::from_secs(10))
            .layer(tower::service_fn(move |call| google.clone().answer(call)))
    };
    let a = tokio::spawn(replica().oneshot(marked_call()));
    google.create_started.notified().await;
    // a's first claim would have run out twice over; b asks, and has the time to create.
    tokio::time::sleep(claim_ttl * 2).await;
    let b = tokio::spawn(replica().oneshot(marked_call()));
    tokio::time::sleep(claim_ttl * 3).await;
    assert_eq!(
        google.creates.load(Ordering::SeqCst),
        1,
        "b waits for a's create"
    );
    go.send(true).expect("a create waits");
    for replica in [a, b] {
        let reply = replica.await.expect("joined").expect("answered");
        assert!(matches!(
            reply,
            Reply::Generate(_) | Reply::CacheWritten { .. }
        ));
    }
    assert_eq!(google.creates.load(Ordering::SeqCst), 1, "created once");
    assert_eq!(
        *google.live.lock().expect("not poisoned"),
        vec![Some(RECORDED_CACHE.to_owned()); 2],
        "both live calls named the one cache"
    );
}

#[cfg(feature = "proxy")]
#[tokio::test]
async fn two_proxies_configured_with_router_settings_share_one_cache() {
    use llm_tower::proxy::app::Proxy;
    use llm_tower::proxy::config::Config;

    let Some(url) = redis_url("two_proxies_configured_with_router_settings_share_one_cache") else {
        return;
    };
    let server = MockServer::start().await;
    // LiteLLM's separate keys, read from the environment as LiteLLM does.
    let parsed = url::Url::parse(&url).expect("a URL");
    let yaml = format!(
        "model_list:
  - model_name: gemini-flash
    litellm_params:
      model: gemini/{model}
      api_key: os.environ/GEMINI_API_KEY
      api_base: {base}/v1beta
router_settings:
  redis_host: os.environ/REDIS_HOST
  redis_port: {port}
",
        model = cache::FLASH,
        base = server.uri(),
        port = parsed.port().unwrap_or(6379),
    );
    let host = parsed.host_str().unwrap_or("127.0.0.1").to_owned();
    let env = move |name: &str| match name {
        "GEMINI_API_KEY" => Some(TEST_KEY.to_owned()),
        "REDIS_HOST" => Some(host.clone()),
        _ => None,
    };
    let (config, warnings) = Config::from_yaml(&yaml, "config.yaml", &env).expect("valid config");
    assert!(warnings.is_empty(), "{warnings:?}");
    // The stand-in's address is part of the head's key: the head is this run's own.
    expect_empty_list(&server, 1).await;
    expect_create(&server, RECORDED_CACHE, Duration::ZERO, 1).await;
    expect_live(&server, RECORDED_CACHE, 2).await;
    let mut body = cache::contract_request(&cache::long_contract(), false);
    body["model"] = serde_json::json!("gemini-flash");
    for _ in 0..2 {
        let proxy = Proxy::from_config(&config).expect("proxy builds");
        let (status, bytes) = proxy_app::send_for_bytes(
            &proxy,
            "POST",
            "/v1/chat/completions",
            "no-master-key",
            Some(body.clone()),
        )
        .await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    }
}
