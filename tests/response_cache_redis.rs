//! The response cache in a real Redis: two proxy replicas pointed at one Redis share their
//! hits, through `router_settings`' Redis or `cache_params`' own.
//!
//! These tests need a Redis server: `.ci/run` starts one and sets
//! `LLM_TOWER_TEST_REDIS_URL`. Without the variable each test prints that it did not run
//! and passes; `.ci/run` fails if that message appears.

#![cfg(all(feature = "redis", feature = "proxy"))]

mod common;
#[path = "common/deployments.rs"]
mod deployments;
#[path = "common/proxy.rs"]
mod proxy_app;
#[path = "common/redis.rs"]
mod redis_server;

use deployments::{Deployment, Fault, ask, entry, proxy};
use redis_server::redis_url;
use serde_json::json;

/// A namespace of this test run's own, so that runs sharing a Redis do not meet.
fn namespace() -> String {
    format!("run-{:012x}", fastrand::u64(..1 << 48))
}

async fn replicas_share_hits(settings: &str) {
    let deployment = Deployment::start(Fault::Ok).await;
    let entries = [entry("chat", "only", &deployment, "")];
    let (one, two) = (proxy(&entries, settings), proxy(&entries, settings));
    let first = ask(&one, "chat", false, json!({})).await;
    assert_eq!(first.status, 200, "{}", first.body);
    let second = ask(&two, "chat", false, json!({})).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(deployment.calls().await, 1, "the other replica hit");
    assert_eq!(first.json()["choices"], second.json()["choices"]);
    assert_eq!(
        first.header("x-litellm-cache-key"),
        second.header("x-litellm-cache-key")
    );
    let streamed = ask(&two, "chat", true, json!({})).await;
    assert_eq!(streamed.status, 200);
    assert!(
        streamed.body.contains("\"content\":\"ok\""),
        "{}",
        streamed.body
    );
    assert_eq!(deployment.calls().await, 1);
}

#[tokio::test]
async fn replicas_share_hits_through_the_routers_redis() {
    let Some(url) = redis_url("replicas_share_hits_through_the_routers_redis") else {
        return;
    };
    let settings = format!(
        "router_settings:\n  redis_url: {url}\nlitellm_settings:\n  cache: true\n  cache_params: {{type: redis, ttl: 60, namespace: {}}}\n",
        namespace()
    );
    replicas_share_hits(&settings).await;
}

#[tokio::test]
async fn replicas_share_hits_through_a_redis_of_the_caches_own() {
    let Some(url) = redis_url("replicas_share_hits_through_a_redis_of_the_caches_own") else {
        return;
    };
    let settings = format!(
        "litellm_settings:\n  cache: true\n  cache_params: {{type: redis, url: '{url}', namespace: {}}}\n",
        namespace()
    );
    replicas_share_hits(&settings).await;
}

#[tokio::test]
async fn a_reply_expires_in_redis_after_its_ttl() {
    let Some(url) = redis_url("a_reply_expires_in_redis_after_its_ttl") else {
        return;
    };
    let settings = format!(
        "litellm_settings:\n  cache: true\n  cache_params: {{type: redis, url: '{url}', ttl: 0.2, namespace: {}}}\n",
        namespace()
    );
    let deployment = Deployment::start(Fault::Ok).await;
    let proxy = proxy(&[entry("chat", "only", &deployment, "")], &settings);
    ask(&proxy, "chat", false, json!({})).await;
    ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(deployment.calls().await, 1);
    tokio::time::sleep(std::time::Duration::from_millis(400)).await;
    ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(deployment.calls().await, 2);
}
