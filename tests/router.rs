//! The router's failover through the proxy, against stand-in deployments with fault modes:
//! which deployment served, how many calls each received, and what the client saw (status,
//! body, LiteLLM's router headers), for whole replies and streams.

mod common;
#[path = "common/deployments.rs"]
mod deployments;
#[path = "common/proxy.rs"]
mod proxy_app;

use serde_json::{Value, json};

use common::TEST_KEY;
use deployments::{Deployment, Fault, MASTER, ask, entry, proxy};

/// `a` is tried first (`order: 1`), `b` after it (`order: 2`).
fn ordered(a: &Deployment, b: &Deployment) -> Vec<String> {
    vec![
        entry("chat", "a", a, "order: 1"),
        entry("chat", "b", b, "order: 2"),
    ]
}

#[tokio::test]
async fn each_fault_of_the_first_deployment_is_served_by_the_second() {
    for fault in [Fault::RateLimited, Fault::Overloaded, Fault::Slow] {
        let (a, b) = (
            Deployment::start(fault).await,
            Deployment::start(Fault::Ok).await,
        );
        let proxy = proxy(&ordered(&a, &b), "");
        let answer = ask(&proxy, "chat", false, json!({})).await;
        assert_eq!(answer.status, 200, "{fault:?}: {}", answer.body);
        assert_eq!(answer.header("x-litellm-model-group"), "chat");
        assert_eq!(answer.header("x-litellm-model-id"), "b", "{fault:?}");
        assert_eq!(
            answer.header("x-litellm-attempted-retries"),
            "1",
            "{fault:?}"
        );
        assert_eq!(answer.header("x-litellm-attempted-fallbacks"), "0");
        assert_eq!((a.calls().await, b.calls().await), (1, 1), "{fault:?}");
        let stream = ask(&proxy, "chat", true, json!({})).await;
        assert_eq!(stream.status, 200, "{fault:?}: {}", stream.body);
        assert!(stream.body.contains("Hel") && stream.body.ends_with("data: [DONE]\n\n"));
    }
}

#[tokio::test]
async fn a_refused_connection_is_served_by_the_other_deployment() {
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.local_addr().unwrap().port()
    };
    let b = Deployment::start(Fault::Ok).await;
    let dead = format!(
        "  - model_name: chat
    litellm_params: {{model: gemini/gemini-2.5-flash, api_key: {TEST_KEY}, api_base: 'http://127.0.0.1:{closed}/v1beta', order: 1}}
    model_info: {{id: a}}
"
    );
    let proxy = proxy(&[dead, entry("chat", "b", &b, "order: 2")], "");
    let answer = ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("x-litellm-model-id"), "b");
    assert_eq!(b.calls().await, 1);
}

#[tokio::test]
async fn a_429_cools_the_deployment_down_for_every_later_request() {
    let (a, b) = (
        Deployment::start(Fault::RateLimited).await,
        Deployment::start(Fault::Ok).await,
    );
    let proxy = proxy(&ordered(&a, &b), "router_settings: {cooldown_time: 60}\n");
    for _ in 0..5 {
        let answer = ask(&proxy, "chat", false, json!({})).await;
        assert_eq!(answer.header("x-litellm-model-id"), "b");
    }
    assert_eq!((a.calls().await, b.calls().await), (1, 5));
    let (status, health) = proxy_app::send(&proxy, "GET", "/health", MASTER, None).await;
    assert_eq!(status, 200);
    assert_eq!(
        health["cooling_down"],
        json!([{"model_name": "chat", "model_id": "a"}])
    );
}

#[tokio::test]
async fn when_every_deployment_fails_the_client_gets_the_last_error_and_the_counts() {
    let (a, b) = (
        Deployment::start(Fault::RateLimited).await,
        Deployment::start(Fault::Overloaded).await,
    );
    let proxy = proxy(&ordered(&a, &b), "");
    let answer = ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    assert_eq!(answer.json()["error"]["type"], "service_unavailable_error");
    assert_eq!(answer.header("x-litellm-model-id"), "b");
    assert_eq!(answer.header("x-litellm-attempted-retries"), "2");
    // a is cooling down (a 429); b is tried again after a wait: LiteLLM's two retries.
    assert_eq!((a.calls().await, b.calls().await), (1, 2));
}

#[tokio::test]
async fn sends_in_a_group_never_exceed_one_plus_num_retries() {
    let (a, b) = (
        Deployment::start(Fault::Overloaded).await,
        Deployment::start(Fault::Overloaded).await,
    );
    // Each deployment would retry five times at the HTTP seam on its own.
    let entries = vec![
        entry("chat", "a", &a, "order: 1\n      max_retries: 5"),
        entry("chat", "b", &b, "order: 2\n      max_retries: 5"),
    ];
    let proxy = proxy(
        &entries,
        "router_settings: {num_retries: 2, disable_cooldowns: true}\n",
    );
    let answer = ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(answer.status, 503, "{}", answer.body);
    let sent = a.calls().await + b.calls().await;
    assert_eq!(sent, 3, "1 + num_retries sends in all");
}

#[tokio::test]
async fn a_group_that_gives_up_falls_back_to_the_next_group() {
    let (a, fallback) = (
        Deployment::start(Fault::Overloaded).await,
        Deployment::start(Fault::Ok).await,
    );
    let entries = vec![
        entry("chat", "a", &a, ""),
        entry("backup", "f", &fallback, ""),
    ];
    let proxy = proxy(
        &entries,
        "router_settings: {fallbacks: [{chat: [backup]}]}\n",
    );
    for stream in [false, true] {
        let answer = ask(&proxy, "chat", stream, json!({})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(answer.header("x-litellm-model-group"), "backup");
        assert_eq!(answer.header("x-litellm-model-id"), "f");
        assert_eq!(answer.header("x-litellm-attempted-fallbacks"), "1");
    }
    // The lone deployment is not retried by the router (no num_retries set).
    assert_eq!((a.calls().await, fallback.calls().await), (2, 2));
    // Per request: fallbacks off.
    let answer = ask(&proxy, "chat", false, json!({"disable_fallbacks": true})).await;
    assert_eq!(answer.status, 503);
    assert_eq!(fallback.calls().await, 2);
}

#[tokio::test]
async fn a_context_window_refusal_goes_to_the_larger_group_without_retries() {
    let (small, twin, large) = (
        Deployment::start(Fault::ContextWindow).await,
        Deployment::start(Fault::Ok).await,
        Deployment::start(Fault::Ok).await,
    );
    let entries = vec![
        entry("chat", "small", &small, "order: 1"),
        entry("chat", "twin", &twin, "order: 2"),
        entry("large", "large", &large, ""),
    ];
    let proxy = proxy(
        &entries,
        "litellm_settings: {context_window_fallbacks: [{chat: [large]}]}\n",
    );
    let answer = ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("x-litellm-model-group"), "large");
    assert_eq!(
        (small.calls().await, twin.calls().await, large.calls().await),
        (1, 0, 1),
        "a context-window refusal is not retried in its group"
    );
}

#[tokio::test]
async fn a_context_window_refusal_without_fallbacks_is_a_400_naming_it() {
    let small = Deployment::start(Fault::ContextWindow).await;
    let proxy = proxy(&[entry("chat", "small", &small, "")], "");
    let answer = ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(answer.status, 400);
    assert_eq!(answer.json()["error"]["code"], "ContextWindowExceededError");
}

#[tokio::test]
async fn a_blocked_prompt_goes_to_the_content_policy_fallback() {
    let (strict, lenient) = (
        Deployment::start(Fault::Blocked).await,
        Deployment::start(Fault::Ok).await,
    );
    let entries = vec![
        entry("chat", "strict", &strict, ""),
        entry("other", "lenient", &lenient, ""),
    ];
    let with = proxy(
        &entries,
        "router_settings: {content_policy_fallbacks: [{chat: [other]}]}\n",
    );
    for stream in [false, true] {
        let answer = ask(&with, "chat", stream, json!({})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        assert_eq!(
            answer.header("x-litellm-model-id"),
            "lenient",
            "stream: {stream}"
        );
    }
    // Without the setting the blocked reply is the answer.
    let without = proxy(&entries, "");
    let answer = ask(&without, "chat", false, json!({})).await;
    assert_eq!(
        answer.json()["choices"][0]["finish_reason"],
        "content_filter"
    );
    assert_eq!(answer.header("x-litellm-model-id"), "strict");
}

#[tokio::test]
async fn a_stream_falls_over_before_its_first_byte_never_after() {
    let (slow, breaks, ok) = (
        Deployment::start(Fault::Slow).await,
        Deployment::start(Fault::BreaksAfterFirstEvent).await,
        Deployment::start(Fault::Ok).await,
    );
    // Before the first byte: the slow stream's silence is a failed call.
    let before = proxy(&ordered(&slow, &ok), "");
    let answer = ask(&before, "chat", true, json!({})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-litellm-model-id"), "b");
    assert!(answer.body.contains("\"Hel\""), "{}", answer.body);
    // After it: the client has the first event; the error ends the stream; no failover.
    let after = proxy(&ordered(&breaks, &ok), "");
    let calls_before = ok.calls().await;
    let answer = ask(&after, "chat", true, json!({})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-litellm-model-id"), "a");
    assert!(answer.body.contains("\"Hel\""), "{}", answer.body);
    assert!(answer.body.contains("\"error\""), "{}", answer.body);
    assert_eq!(
        ok.calls().await,
        calls_before,
        "no second deployment after the first byte"
    );
}

#[tokio::test]
async fn request_fallbacks_and_mock_failures_test_a_config_without_a_real_fault() {
    let (a, backup) = (
        Deployment::start(Fault::Ok).await,
        Deployment::start(Fault::Ok).await,
    );
    let entries = vec![
        entry("chat", "a", &a, ""),
        entry("backup", "f", &backup, ""),
    ];
    let proxy = proxy(&entries, "");
    let answer = ask(
        &proxy,
        "chat",
        false,
        json!({"mock_testing_fallbacks": true, "fallbacks": ["backup"]}),
    )
    .await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("x-litellm-model-group"), "backup");
    assert_eq!((a.calls().await, backup.calls().await), (0, 1));
    // The routing params never reach an upstream.
    let sent: Value =
        serde_json::from_slice(&backup.server.received_requests().await.unwrap()[0].body).unwrap();
    assert!(sent.get("fallbacks").is_none() && sent.get("mock_testing_fallbacks").is_none());
    let bad = ask(&proxy, "chat", false, json!({"fallbacks": "backup"})).await;
    assert_eq!(bad.status, 400);
    assert_eq!(bad.json()["error"]["param"], "fallbacks");
}

#[tokio::test]
async fn rpm_limits_turn_the_extra_requests_away_with_retry_after() {
    let (a, b) = (
        Deployment::start(Fault::Ok).await,
        Deployment::start(Fault::Ok).await,
    );
    let entries = vec![
        entry("chat", "a", &a, "rpm: 2"),
        entry("chat", "b", &b, "rpm: 1"),
    ];
    let proxy = proxy(&entries, "");
    let mut served = Vec::new();
    for _ in 0..3 {
        let answer = ask(&proxy, "chat", false, json!({})).await;
        assert_eq!(answer.status, 200, "{}", answer.body);
        served.push(answer.header("x-litellm-model-id").to_owned());
    }
    served.sort();
    assert_eq!(served, ["a", "a", "b"]);
    let refused = ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(refused.status, 429, "{}", refused.body);
    let wait: u64 = refused
        .header("retry-after")
        .parse()
        .expect("Retry-After seconds");
    assert!((1..=60).contains(&wait), "{wait}");
    assert!(
        refused.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("rpm or tpm limit")
    );
    assert_eq!((a.calls().await, b.calls().await), (2, 1));
}

#[tokio::test]
async fn a_single_deployment_without_failover_is_served_directly_with_headers() {
    let a = Deployment::start(Fault::Ok).await;
    let proxy = proxy(&[entry("chat", "a", &a, "")], "");
    let answer = ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(answer.status, 200);
    assert_eq!(answer.header("x-litellm-model-group"), "chat");
    assert_eq!(answer.header("x-litellm-model-id"), "a");
    assert_eq!(answer.header("x-litellm-attempted-retries"), "0");
}

#[tokio::test]
async fn retries_fallbacks_and_cooldowns_are_counted_in_metrics() {
    use llm_tower::proxy::config::Config;
    use llm_tower::proxy::metrics::Metrics;
    let (a, b, backup) = (
        Deployment::start(Fault::RateLimited).await,
        Deployment::start(Fault::Overloaded).await,
        Deployment::start(Fault::Ok).await,
    );
    let yaml = format!(
        "model_list:\n{}{}{}general_settings:\n  master_key: {MASTER}\nrouter_settings: {{num_retries: 1, fallbacks: [{{chat: [backup]}}]}}\n",
        entry("chat", "a", &a, "order: 1"),
        entry("chat", "b", &b, "order: 2"),
        entry("backup", "f", &backup, "")
    );
    let (config, _) = Config::from_yaml(&yaml, "config.yaml", &|_: &str| None).expect("valid");
    let metrics = Metrics::new(&config);
    let proxy =
        llm_tower::proxy::app::Proxy::from_config_observed(&config, &metrics).expect("builds");
    let answer = ask(&proxy, "chat", false, json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("x-litellm-attempted-fallbacks"), "1");
    let text = metrics.encode();
    for line in [
        r#"llm_tower_router_retries_total{model_group="chat",deployment="a"} 1"#,
        r#"llm_tower_router_fallbacks_total{from="chat",to="backup"} 1"#,
        r#"llm_tower_router_cooldowns_total{model_group="chat",deployment="a"} 1"#,
    ] {
        assert!(text.contains(line), "{line} in\n{text}");
    }
    assert!(
        text.contains(
            r#"llm_tower_router_cooldown_until_seconds{model_group="chat",deployment="a"}"#
        )
    );
}

#[tokio::test]
async fn a_blocked_reply_is_the_answer_when_no_fallback_can_serve() {
    let (lite, other) = (
        Deployment::start(Fault::Blocked).await,
        Deployment::start(Fault::Overloaded).await,
    );
    let entries = vec![
        entry("lite", "lite", &lite, ""),
        entry("other", "o", &other, ""),
    ];
    // Every group falls back to `lite`; a request to `lite` itself has nowhere to go.
    let proxy = proxy(&entries, "router_settings: {default_fallbacks: [lite]}\n");
    let answer = ask(&proxy, "lite", false, json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(
        answer.json()["choices"][0]["finish_reason"],
        "content_filter"
    );
    // `other` fails and falls back to `lite`, which blocks: still the blocked answer.
    let answer = ask(&proxy, "other", false, json!({})).await;
    assert_eq!(answer.status, 200, "{}", answer.body);
    assert_eq!(answer.header("x-litellm-model-group"), "lite");
}
