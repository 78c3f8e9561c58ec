//! The response cache (`litellm_settings.cache: true`) through the proxy, against a
//! stand-in Gemini that counts its calls: a repeated request is answered from the cache
//! with its key and a cost of 0, the per-request `cache` controls are honoured and never
//! sent upstream, and errors are not kept.

#![cfg(feature = "proxy")]

mod common;
#[path = "common/deployments.rs"]
mod deployments;
#[path = "common/proxy.rs"]
mod proxy_app;

use std::time::Duration;

use deployments::{Answer, Deployment, Fault, ask, entry, proxy};
use serde_json::{Value, json};

const CACHED: &str = "litellm_settings:\n  cache: true\n";

async fn cached_proxy(fault: Fault, settings: &str) -> (Deployment, llm_tower::proxy::app::Proxy) {
    let deployment = Deployment::start(fault).await;
    let proxy = proxy(&[entry("chat", "only", &deployment, "")], settings);
    (deployment, proxy)
}

/// The reply without what a cache hit changes (its cost).
fn answer_of(answer: &Answer) -> Value {
    let mut body = answer.json();
    if let Some(usage) = body["usage"].as_object_mut() {
        usage.remove("cost");
    }
    body
}

#[tokio::test]
async fn a_repeated_request_is_answered_from_the_cache() {
    let (deployment, proxy) = cached_proxy(Fault::Ok, CACHED).await;
    let first = ask(&proxy, "chat", false, json!({})).await;
    let second = ask(&proxy, "chat", false, json!({"user": "someone-else"})).await;
    assert_eq!((first.status, second.status), (200, 200), "{}", second.body);
    assert_eq!(deployment.calls().await, 1);
    assert_eq!(answer_of(&first), answer_of(&second));
    let key = first.header("x-litellm-cache-key");
    assert_eq!(key.len(), 64, "{key}");
    assert_eq!(second.header("x-litellm-cache-key"), key);
    if let Some(cost) = second.json()["usage"].get("cost") {
        assert_eq!(cost, &json!(0.0));
    }
    let cost = second.header("x-litellm-response-cost");
    assert!(cost.is_empty() || cost == "0", "{cost}");
}

#[tokio::test]
async fn what_changes_the_answer_is_a_miss() {
    let (deployment, proxy) = cached_proxy(Fault::Ok, CACHED).await;
    let cold = ask(&proxy, "chat", false, json!({"temperature": 0.2})).await;
    let warm = ask(&proxy, "chat", false, json!({"temperature": 0.7})).await;
    assert_eq!((cold.status, warm.status), (200, 200));
    assert_ne!(
        cold.header("x-litellm-cache-key"),
        warm.header("x-litellm-cache-key")
    );
    assert_eq!(deployment.calls().await, 2);
}

#[tokio::test]
async fn no_cache_skips_the_lookup_and_no_store_the_storing() {
    let (deployment, proxy) = cached_proxy(Fault::Ok, CACHED).await;
    let stored = ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(stored.status, 200);
    let fresh = ask(&proxy, "chat", false, json!({"cache": {"no-cache": true}})).await;
    assert_eq!(fresh.status, 200);
    assert_eq!(deployment.calls().await, 2, "no-cache asked upstream");

    let unstored = json!({"temperature": 0.5, "cache": {"no-store": true}});
    assert_eq!(ask(&proxy, "chat", false, unstored).await.status, 200);
    assert_eq!(deployment.calls().await, 3);
    let again = ask(&proxy, "chat", false, json!({"temperature": 0.5})).await;
    assert_eq!(again.status, 200);
    assert_eq!(deployment.calls().await, 4, "no-store kept nothing");

    for request in deployment.server.received_requests().await.unwrap() {
        let body = String::from_utf8_lossy(&request.body);
        assert!(
            !body.contains("no-store") && !body.contains("no-cache"),
            "{body}"
        );
    }
}

#[tokio::test]
async fn a_wrong_cache_field_is_a_400_naming_it() {
    let (deployment, proxy) = cached_proxy(Fault::Ok, CACHED).await;
    let answer = ask(&proxy, "chat", false, json!({"cache": {"ttl": "soon"}})).await;
    assert_eq!(answer.status, 400, "{}", answer.body);
    assert_eq!(answer.json()["error"]["param"], "cache.ttl");
    assert_eq!(deployment.calls().await, 0);
}

#[tokio::test]
async fn errors_are_not_cached() {
    let (deployment, proxy) = cached_proxy(Fault::ContextWindow, CACHED).await;
    for _ in 0..2 {
        assert_eq!(ask(&proxy, "chat", false, json!({})).await.status, 400);
    }
    assert_eq!(deployment.calls().await, 2);
}

#[tokio::test]
async fn replies_expire_after_their_ttl_and_s_maxage_asks_for_fresher() {
    let settings = "litellm_settings:\n  cache: true\n  cache_params: {type: local, ttl: 0.2}\n";
    let (deployment, proxy) = cached_proxy(Fault::Ok, settings).await;
    ask(&proxy, "chat", false, json!({})).await;
    ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(deployment.calls().await, 1);
    tokio::time::sleep(Duration::from_millis(300)).await;
    ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(deployment.calls().await, 2, "expired");

    // A reply kept for a minute by its own ttl, then refused as too old.
    ask(
        &proxy,
        "chat",
        false,
        json!({"seed": 1, "cache": {"ttl": 60}}),
    )
    .await;
    tokio::time::sleep(Duration::from_millis(300)).await;
    ask(&proxy, "chat", false, json!({"seed": 1})).await;
    assert_eq!(deployment.calls().await, 3, "the request's ttl kept it");
    ask(
        &proxy,
        "chat",
        false,
        json!({"seed": 1, "cache": {"s-maxage": 0.1}}),
    )
    .await;
    assert_eq!(deployment.calls().await, 4, "older than s-maxage");
}

#[tokio::test]
async fn namespaces_keep_replies_apart() {
    let settings = "litellm_settings:\n  cache: true\n  cache_params: {namespace: team-a}\n";
    let (deployment, proxy) = cached_proxy(Fault::Ok, settings).await;
    let first = ask(&proxy, "chat", false, json!({})).await;
    assert!(first.header("x-litellm-cache-key").starts_with("team-a:"));
    let other = ask(
        &proxy,
        "chat",
        false,
        json!({"cache": {"namespace": "team-b"}}),
    )
    .await;
    assert!(other.header("x-litellm-cache-key").starts_with("team-b:"));
    assert_eq!(deployment.calls().await, 2);
}

#[tokio::test]
async fn without_cache_nothing_is_kept_and_the_field_is_not_sent() {
    let (deployment, proxy) = cached_proxy(Fault::Ok, "").await;
    for _ in 0..2 {
        let answer = ask(&proxy, "chat", false, json!({"cache": {"ttl": 60}})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.header("x-litellm-cache-key"), "");
    }
    assert_eq!(deployment.calls().await, 2);
}

#[tokio::test]
async fn a_streamed_request_that_hits_is_replayed_as_a_stream() {
    let (deployment, proxy) = cached_proxy(Fault::Ok, CACHED).await;
    assert_eq!(ask(&proxy, "chat", false, json!({})).await.status, 200);
    let usage = json!({"stream_options": {"include_usage": true}});
    let streamed = ask(&proxy, "chat", true, usage).await;
    assert_eq!(streamed.status, 200, "{}", streamed.body);
    assert_eq!(deployment.calls().await, 1);
    let payloads = common::sse_payloads(streamed.body.as_bytes());
    assert_eq!(payloads.last().map(String::as_str), Some("[DONE]"));
    let chunks: Vec<Value> = payloads[..payloads.len() - 1]
        .iter()
        .map(|payload| serde_json::from_str(payload).unwrap())
        .collect();
    assert_eq!(chunks[0]["object"], "chat.completion.chunk");
    assert_eq!(chunks[0]["choices"][0]["delta"]["content"], "ok");
    assert_eq!(chunks[0]["choices"][0]["finish_reason"], "stop");
    assert_eq!(chunks.last().unwrap()["usage"]["total_tokens"], 2);

    // A streamed miss is not stored.
    ask(&proxy, "chat", true, json!({"seed": 2})).await;
    ask(&proxy, "chat", true, json!({"seed": 2})).await;
    assert_eq!(deployment.calls().await, 3);
}

#[tokio::test]
async fn a_redis_that_cannot_be_reached_is_a_miss() {
    let settings = "litellm_settings:\n  cache: true\n  cache_params: {type: redis, host: 127.0.0.1, port: 1}\n";
    let (deployment, proxy) = cached_proxy(Fault::Ok, settings).await;
    for _ in 0..2 {
        let answer = ask(&proxy, "chat", false, json!({})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
    }
    assert_eq!(deployment.calls().await, 2);
}

#[test]
fn a_redis_cache_without_a_redis_is_refused() {
    let yaml = "litellm_settings:\n  cache: true\n  cache_params: {type: redis}\n";
    let (config, _) =
        llm_tower::proxy::config::Config::from_yaml(yaml, "config.yaml", &|_: &str| None)
            .expect("valid config");
    let error = llm_tower::proxy::app::Proxy::from_config(&config)
        .err()
        .expect("refused");
    assert!(error.to_string().contains("cache_params"), "{error}");
}

#[tokio::test]
async fn embeddings_are_cached_and_chat_alone_can_be_chosen() {
    use wiremock::matchers::{method, path_regex};
    use wiremock::{Mock, ResponseTemplate};

    let embed = |settings: &'static str| async move {
        let (deployment, proxy) = cached_proxy(Fault::Ok, settings).await;
        Mock::given(method("POST"))
            .and(path_regex(r":batchEmbedContents$"))
            .respond_with(
                ResponseTemplate::new(200)
                    .set_body_json(json!({"embeddings": [{"values": [0.5, 0.25]}]})),
            )
            .mount(&deployment.server)
            .await;
        let body = json!({"model": "chat", "input": "hello"});
        let mut keys = Vec::new();
        for _ in 0..2 {
            let (status, headers, bytes) = proxy_app::exchange(
                &proxy,
                "POST",
                "/v1/embeddings",
                deployments::MASTER,
                Some(body.clone()),
            )
            .await;
            assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
            let reply: Value = serde_json::from_slice(&bytes).unwrap();
            assert_eq!(reply["data"][0]["embedding"], json!([0.5, 0.25]));
            keys.push(headers.get("x-litellm-cache-key").cloned());
        }
        (deployment.calls().await, keys)
    };
    let (calls, keys) = embed(CACHED).await;
    assert_eq!(calls, 1);
    assert!(keys[0].is_some() && keys[0] == keys[1], "{keys:?}");

    let chat_only =
        "litellm_settings:\n  cache: true\n  cache_params: {supported_call_types: [acompletion]}\n";
    let (calls, keys) = embed(chat_only).await;
    assert_eq!(calls, 2);
    assert_eq!(keys, [None, None]);
}
