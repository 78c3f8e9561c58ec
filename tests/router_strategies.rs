//! The router as a library: each routing strategy picks as specified, with controlled
//! stand-in deployments (tower services that count their calls, answer after a set delay
//! or hold their calls open), and a shared store carries cooldowns and `rpm` counts
//! between two routers.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use llm_tower::openai::{ChatCompletion, ChatRequest};
use llm_tower::router::{
    Cooldowns, Deployment, LatencyArgs, ModelRouter, Retries, RouteReport, Strategy,
};
use llm_tower::store::MemoryRouterStore;
use llm_tower::{ChatResponse, ChatService, Error, ErrorKind};
use tokio::sync::Semaphore;
use tower::ServiceExt;

/// A deployment that answers after `delay` (or waits for a permit of `gate`), or fails
/// with `failure`, counting its calls.
#[derive(Clone, Default)]
struct StandIn {
    calls: Arc<AtomicUsize>,
    delay: Duration,
    gate: Option<Arc<Semaphore>>,
    failure: Option<ErrorKind>,
}

impl StandIn {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    fn deployment(&self, id: &str) -> Deployment {
        let this = self.clone();
        let service = ChatService::new(tower::service_fn(move |request: ChatRequest| {
            let this = this.clone();
            async move {
                this.calls.fetch_add(1, Ordering::SeqCst);
                if let Some(gate) = &this.gate {
                    let _permit = gate.acquire().await.expect("gate open");
                }
                tokio::time::sleep(this.delay).await;
                if let Some(kind) = this.failure {
                    return Err(Error::new(kind, "stand-in failure"));
                }
                let completion: ChatCompletion = serde_json::from_value(serde_json::json!({
                    "id": "c", "object": "chat.completion", "created": 0, "model": request.model,
                    "choices": [{"index": 0, "message": {"role": "assistant", "content": "ok"}, "finish_reason": "stop"}]
                }))
                .expect("a completion");
                Ok::<_, Error>(ChatResponse::Completion(completion))
            }
        }));
        Deployment::new(service, "m").with_id(id.to_owned())
    }
}

/// Which deployment served one request.
async fn served_by(router: &ModelRouter) -> Result<String, Error> {
    let report = RouteReport::default();
    let mut request = ChatRequest::new("group", Vec::new());
    request.context.insert(report.clone());
    router.clone().oneshot(request).await?;
    Ok(report
        .route()
        .model_id
        .as_deref()
        .unwrap_or_default()
        .to_owned())
}

#[tokio::test]
async fn simple_shuffle_shares_requests_by_weight() {
    let (light, heavy) = (StandIn::default(), StandIn::default());
    let router = ModelRouter::builder()
        .deployment("group", light.deployment("light").with_weight(1.0))
        .deployment("group", heavy.deployment("heavy").with_weight(3.0))
        .build();
    for _ in 0..4000 {
        served_by(&router).await.expect("served");
    }
    let share = heavy.calls() as f64 / 4000.0;
    assert!((share - 0.75).abs() < 0.04, "heavy took {share}");
}

#[tokio::test]
async fn simple_shuffle_weighs_by_rpm_when_no_weight_is_set() {
    let (small, large) = (StandIn::default(), StandIn::default());
    let router = ModelRouter::builder()
        .deployment("group", small.deployment("small").with_rpm(100_000))
        .deployment("group", large.deployment("large").with_rpm(900_000))
        .build();
    for _ in 0..2000 {
        served_by(&router).await.expect("served");
    }
    let share = large.calls() as f64 / 2000.0;
    assert!((share - 0.9).abs() < 0.04, "large took {share}");
}

#[tokio::test]
async fn least_busy_sends_to_the_deployment_with_fewest_calls_in_flight() {
    let gate = Arc::new(Semaphore::new(0));
    let held = |gate: &Arc<Semaphore>| StandIn {
        gate: Some(gate.clone()),
        ..StandIn::default()
    };
    let (a, b) = (held(&gate), held(&gate));
    let router = ModelRouter::builder()
        .strategy(Strategy::LeastBusy)
        .deployment("group", a.deployment("a"))
        .deployment("group", b.deployment("b"))
        .build();
    // One call held open on whichever deployment takes it…
    let first = tokio::spawn({
        let router = router.clone();
        async move { served_by(&router).await }
    });
    while a.calls() + b.calls() == 0 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    let (busy, idle) = if a.calls() == 1 { (&a, &b) } else { (&b, &a) };
    // …and the next goes to the other, which has none in flight.
    let second = tokio::spawn({
        let router = router.clone();
        async move { served_by(&router).await }
    });
    while a.calls() + b.calls() < 2 {
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
    assert_eq!(idle.calls(), 1);
    assert_eq!(busy.calls(), 1);
    gate.add_permits(100);
    for call in [first, second] {
        call.await.expect("joined").expect("served");
    }
}

#[tokio::test(start_paused = true)]
async fn latency_based_routing_prefers_the_faster_deployment() {
    let (slow, fast) = (
        StandIn {
            delay: Duration::from_millis(300),
            ..StandIn::default()
        },
        StandIn {
            delay: Duration::from_millis(30),
            ..StandIn::default()
        },
    );
    let router = ModelRouter::builder()
        .strategy(Strategy::LatencyBased(LatencyArgs::default()))
        .deployment("group", slow.deployment("slow"))
        .deployment("group", fast.deployment("fast"))
        .build();
    // Both are measured first (unmeasured deployments are tried first), then the fast one
    // takes everything.
    for _ in 0..2 {
        served_by(&router).await.expect("served");
    }
    assert_eq!((slow.calls(), fast.calls()), (1, 1));
    for _ in 0..20 {
        assert_eq!(served_by(&router).await.expect("served"), "fast");
    }
}

#[tokio::test]
async fn usage_based_routing_sends_to_the_deployment_with_fewest_requests() {
    let (a, b) = (StandIn::default(), StandIn::default());
    let router = ModelRouter::builder()
        .strategy(Strategy::UsageBased)
        .deployment("group", a.deployment("a"))
        .deployment("group", b.deployment("b"))
        .build();
    for _ in 0..10 {
        served_by(&router).await.expect("served");
    }
    assert_eq!((a.calls(), b.calls()), (5, 5), "the two take turns");
}

#[tokio::test]
async fn a_shared_store_carries_cooldowns_and_rpm_between_routers() {
    let store = Arc::new(MemoryRouterStore::default());
    let build = |failing: &StandIn, healthy: &StandIn| {
        ModelRouter::builder()
            .store(store.clone())
            .cooldowns(Cooldowns::new().cooldown_time(Duration::from_secs(60)))
            .deployment("group", failing.deployment("failing").with_order(1))
            .deployment(
                "group",
                healthy.deployment("healthy").with_order(2).with_rpm(3),
            )
            .build()
    };
    let failing = StandIn {
        failure: Some(ErrorKind::RateLimit),
        ..StandIn::default()
    };
    let healthy = StandIn::default();
    let (one, two) = (build(&failing, &healthy), build(&failing, &healthy));
    assert_eq!(served_by(&one).await.expect("served"), "healthy");
    // The other router skips the deployment the first saw fail.
    assert_eq!(served_by(&two).await.expect("served"), "healthy");
    assert_eq!(failing.calls(), 1);
    // rpm 3 across both routers: one more request each, then none.
    assert_eq!(served_by(&one).await.expect("served"), "healthy");
    let refused = served_by(&two).await.expect_err("over the limit");
    assert_eq!(refused.kind(), ErrorKind::RateLimit);
    assert!(refused.retry_after().is_some());
    assert_eq!(healthy.calls(), 3);
}

#[tokio::test]
async fn a_refused_key_is_retried_only_on_another_deployment() {
    let (a, b) = (
        StandIn {
            failure: Some(ErrorKind::Authentication),
            ..StandIn::default()
        },
        StandIn {
            failure: Some(ErrorKind::Authentication),
            ..StandIn::default()
        },
    );
    let router = ModelRouter::builder()
        .retries(Retries::new(5))
        .cooldowns(Cooldowns::disabled())
        .deployment("group", a.deployment("a"))
        .deployment("group", b.deployment("b"))
        .build();
    let error = served_by(&router).await.expect_err("both refuse");
    assert_eq!(error.kind(), ErrorKind::Authentication);
    assert_eq!((a.calls(), b.calls()), (1, 1));
}

#[tokio::test]
async fn a_retry_that_would_wait_past_the_deadline_is_not_made() {
    let failing = || StandIn {
        failure: Some(ErrorKind::ServiceUnavailable),
        ..StandIn::default()
    };
    let (a, b) = (failing(), failing());
    let router = ModelRouter::builder()
        .retries(Retries::new(5))
        .cooldowns(Cooldowns::disabled())
        .deployment("group", a.deployment("a"))
        .deployment("group", b.deployment("b"))
        .build();
    let started = std::time::Instant::now();
    let mut request = ChatRequest::new("group", Vec::new());
    // Both are tried at once; resending to one of them waits at least half a second.
    request
        .context
        .insert(llm_tower::Deadline::after(Duration::from_millis(300)));
    let error = router.oneshot(request).await.expect_err("both fail");
    assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
    assert_eq!((a.calls(), b.calls()), (1, 1));
    assert!(
        started.elapsed() < Duration::from_millis(300),
        "{:?}",
        started.elapsed()
    );
}
