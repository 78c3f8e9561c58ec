//! The router's state shared through a real Redis: two proxy replicas built from one config
//! honour each other's cooldowns, hold one `rpm` limit together, and keep routing (on their
//! own state, in bounded time) when Redis dies.
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

use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use deployments::{Deployment, Fault, ask, entry, proxy};
use redis_server::{OwnRedis, redis_url};
use serde_json::json;

/// Deployment ids of this test run's own, so that runs sharing a Redis do not meet.
fn id(name: &str) -> String {
    format!("{name}-{:012x}", fastrand::u64(..1 << 48))
}

fn redis_settings(url: &str) -> String {
    format!("router_settings:\n  redis_url: {url}\n  cooldown_time: 60\n")
}

/// Waits out the last seconds of a minute, so that a test's per-minute counts stay in one.
async fn early_in_a_minute() {
    let into = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
        % 60;
    if into >= 55 {
        tokio::time::sleep(Duration::from_secs(61 - into)).await;
    }
}

#[tokio::test]
async fn a_cooldown_one_replica_starts_is_honoured_by_the_other() {
    let Some(url) = redis_url("a_cooldown_one_replica_starts_is_honoured_by_the_other") else {
        return;
    };
    let (limited, healthy) = (
        Deployment::start(Fault::RateLimited).await,
        Deployment::start(Fault::Ok).await,
    );
    let entries = vec![
        entry("chat", &id("limited"), &limited, "order: 1"),
        entry("chat", &id("healthy"), &healthy, "order: 2"),
    ];
    let (one, two) = (
        proxy(&entries, &redis_settings(&url)),
        proxy(&entries, &redis_settings(&url)),
    );
    let first = ask(&one, "chat", false, json!({})).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.header("x-litellm-attempted-retries"), "1");
    for _ in 0..3 {
        let answer = ask(&two, "chat", false, json!({})).await;
        assert_eq!(answer.status, 200);
        assert_eq!(answer.header("x-litellm-attempted-retries"), "0");
    }
    assert_eq!(limited.calls().await, 1, "the other replica skipped it");
    assert_eq!(healthy.calls().await, 4);
}

#[tokio::test]
async fn an_rpm_limit_holds_across_replicas() {
    let Some(url) = redis_url("an_rpm_limit_holds_across_replicas") else {
        return;
    };
    early_in_a_minute().await;
    let upstream = Deployment::start(Fault::Ok).await;
    let entries = vec![entry("chat", &id("limited"), &upstream, "rpm: 5")];
    let replicas = [
        proxy(&entries, &redis_settings(&url)),
        proxy(&entries, &redis_settings(&url)),
    ];
    let answers = futures_util::future::join_all(
        (0..20).map(|index| ask(&replicas[index % 2], "chat", false, json!({}))),
    )
    .await;
    let served = answers.iter().filter(|answer| answer.status == 200).count();
    let refused = answers.iter().filter(|answer| answer.status == 429).count();
    assert_eq!((served, refused), (5, 15));
    assert_eq!(upstream.calls().await, 5, "no more calls than the limit");
    let retry_after = answers
        .iter()
        .find(|answer| answer.status == 429)
        .map(|answer| answer.header("retry-after").to_owned())
        .unwrap_or_default();
    assert!(
        retry_after
            .parse::<u64>()
            .is_ok_and(|wait| (1..=60).contains(&wait))
    );
}

#[tokio::test]
async fn a_dead_redis_leaves_routing_to_each_replica_in_bounded_time() {
    if redis_url("a_dead_redis_leaves_routing_to_each_replica_in_bounded_time").is_none() {
        return;
    }
    let mut redis = OwnRedis::start();
    let (limited, healthy) = (
        Deployment::start(Fault::RateLimited).await,
        Deployment::start(Fault::Ok).await,
    );
    let entries = vec![
        entry(
            "chat",
            &id("limited"),
            &limited,
            "order: 1\n      rpm: 1000",
        ),
        entry(
            "chat",
            &id("healthy"),
            &healthy,
            "order: 2\n      rpm: 1000",
        ),
    ];
    let replica = proxy(&entries, &redis_settings(&redis.url));
    assert_eq!(ask(&replica, "chat", false, json!({})).await.status, 200);
    redis.kill();
    for _ in 0..5 {
        let started = Instant::now();
        let answer = ask(&replica, "chat", false, json!({})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "{:?}",
            started.elapsed()
        );
        // The replica's own cooldown still keeps the limited deployment out.
        assert_eq!(answer.header("x-litellm-attempted-retries"), "0");
    }
    assert_eq!(limited.calls().await, 1);
}
