//! Failover in plain Rust, no proxy: a model group `chat` of two deployments (one of them
//! out of quota), a fallback group `backup`, and a store that shares cooldowns between
//! two routers (two replicas would share a `RedisRouterStore` the same way). Runs offline:
//! the deployments are in-process stand-ins.
//!
//! ```text
//! cargo run --example failover
//! ```

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use llm_tower::openai::{ChatCompletion, ChatRequest, Message, Role};
use llm_tower::router::{Cooldowns, Deployment, Fallbacks, ModelRouter, Retries, RouteReport};
use llm_tower::store::MemoryRouterStore;
use llm_tower::{ChatResponse, ChatService, Error, ErrorKind};
use serde_json::json;
use tower::ServiceExt;

/// A stand-in upstream: answers `reply`, or fails with `failure`; counts its calls.
fn stand_in(
    name: &'static str,
    failure: Option<ErrorKind>,
    calls: Arc<AtomicUsize>,
) -> ChatService {
    ChatService::new(tower::service_fn(move |request: ChatRequest| {
        let calls = calls.clone();
        async move {
            calls.fetch_add(1, Ordering::Relaxed);
            if let Some(kind) = failure {
                return Err(Error::new(kind, format!("{name}: quota exhausted")));
            }
            let completion: ChatCompletion = serde_json::from_value(json!({
                "id": "c-1", "object": "chat.completion", "created": 0, "model": request.model,
                "choices": [{"index": 0, "finish_reason": "stop",
                             "message": {"role": "assistant", "content": format!("{name} answered")}}]
            }))
            .map_err(|error| Error::new(ErrorKind::Api, error.to_string()))?;
            Ok(ChatResponse::Completion(completion))
        }
    }))
}

fn router(store: &Arc<MemoryRouterStore>, calls: &[Arc<AtomicUsize>; 3]) -> ModelRouter {
    ModelRouter::builder()
        // The deployment out of quota first (`order` 1), so the example shows the retry.
        .deployment(
            "chat",
            Deployment::new(
                stand_in("eu", Some(ErrorKind::RateLimit), calls[0].clone()),
                "gemini-3.8-flash",
            )
            .with_id("flash-eu")
            .with_order(1),
        )
        .deployment(
            "chat",
            Deployment::new(stand_in("us", None, calls[1].clone()), "gemini-3.8-flash")
                .with_id("flash-us")
                .with_order(2),
        )
        .deployment(
            "backup",
            Deployment::new(
                stand_in("lite", None, calls[2].clone()),
                "gemini-3.5-flash-lite",
            )
            .with_id("lite"),
        )
        .retries(Retries::new(2))
        .cooldowns(Cooldowns::new().cooldown_time(Duration::from_secs(30)))
        .fallbacks(Fallbacks::new().on_failure("chat", ["backup"]))
        .store(store.clone())
        .build()
}

async fn ask(
    router: &ModelRouter,
    model: &str,
    extra: serde_json::Value,
) -> Result<(String, RouteReport), Error> {
    let report = RouteReport::default();
    let mut request = ChatRequest::new(model, vec![Message::text(Role::User, "Hello")]);
    if let serde_json::Value::Object(extra) = extra {
        request
            .extra
            .extend(extra.into_iter().map(|(key, value)| (key, value.into())));
    }
    request.context.insert(report.clone());
    let ChatResponse::Completion(completion) = router.clone().oneshot(request).await? else {
        unreachable!("not a stream");
    };
    let text = completion.choices[0]
        .message
        .content
        .clone()
        .unwrap_or_default();
    Ok((text, report))
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), Error> {
    let store = Arc::new(MemoryRouterStore::default());
    let calls: [Arc<AtomicUsize>; 3] = Default::default();
    let (one, two) = (router(&store, &calls), router(&store, &calls));

    // flash-eu answers 429: the router retries on flash-us and cools flash-eu down.
    let (text, report) = ask(&one, "chat", json!({})).await?;
    let route = report.route();
    println!(
        "{text} (deployment {:?}, {} retry)",
        route.model_id.unwrap_or_default(),
        route.retries
    );
    assert_eq!(text, "us answered");

    // The second router shares the store: it skips flash-eu without calling it.
    let (text, _) = ask(&two, "chat", json!({})).await?;
    assert_eq!(text, "us answered");
    assert_eq!(
        calls[0].load(Ordering::Relaxed),
        1,
        "flash-eu was called once"
    );

    // A simulated failure of the group (LiteLLM's `mock_testing_fallbacks`) goes to `backup`.
    let (text, report) = ask(&one, "chat", json!({"mock_testing_fallbacks": true})).await?;
    println!(
        "{text} (group {:?}, {} fallback)",
        report.route().model_group.unwrap_or_default(),
        report.route().fallbacks
    );
    assert_eq!(text, "lite answered");
    Ok(())
}
