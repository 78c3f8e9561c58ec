//! The context-cache layer's cost on a hit with a 100 KB head: splitting the head off the
//! call, hashing it and one store lookup, in memory and in Redis. The inner service answers
//! at once, so the figures are the layer's own; `pass-through` is the same call without a
//! `cache_control` plan.
//!
//! The Redis figure needs a server: `LLM_TOWER_BENCH_REDIS_URL=redis://127.0.0.1:6379/
//! cargo bench --bench context_cache`; without the variable it is skipped.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use llm_tower::gemini::wire::{
    CachedContent, Content, GenerateContentRequest, GenerateContentResponse, Part,
};
use llm_tower::gemini::{CachePlan, Call, ContextCacheLayer, Error, Method, Reply};
use llm_tower::store::{CacheStore, MemoryCacheStore, RedisCacheStore};
use tokio::runtime::Runtime;
use tower::{Layer, Service, ServiceExt};

/// Google as far as the layer can tell: creates and answers at once.
fn upstream() -> impl Service<
    Call,
    Response = Reply,
    Error = Error,
    Future = impl Future<Output = Result<Reply, Error>> + Send,
> + Clone
+ Send
+ 'static {
    tower::service_fn(|call: Call| async move {
        Ok(match call.method {
            Method::CreateCachedContent(_) => {
                let mut created = CachedContent::default();
                created.name = "cachedContents/bench".to_owned();
                created.expire_time = Some(
                    humantime::format_rfc3339(SystemTime::now() + Duration::from_secs(3600))
                        .to_string(),
                );
                Reply::CachedContent(created)
            }
            Method::ListCachedContents { .. } => Reply::CachedContents(Default::default()),
            _ => Reply::Generate(GenerateContentResponse::default()),
        })
    })
}

/// A call whose 100 KB first turn is the marked head.
fn call(plan: bool) -> Call {
    let turn = |text: String| Content {
        role: Some("user".to_owned()),
        parts: vec![Part::text(text)],
    };
    let head = "All work and no play makes a dull cache key. ".repeat(100 * 1024 / 45);
    let mut body = GenerateContentRequest::default();
    body.contents = vec![turn(head), turn("And the question?".to_owned())];
    let mut call = Call::new("gemini-2.5-flash", Method::Generate(body));
    call.cache = plan.then_some(CachePlan {
        contents: 1,
        ttl: None,
        split_turn: true,
    });
    call
}

fn bench_hit(c: &mut Criterion, runtime: &Runtime, name: &str, store: Arc<dyn CacheStore>) {
    let service = ContextCacheLayer::new(store, "bench").layer(upstream());
    let marked = call(true);
    // The first call creates the cache; every timed call is a hit.
    runtime
        .block_on(service.clone().oneshot(marked.clone()))
        .expect("created");
    c.bench_function(name, |b| {
        b.iter_batched(
            || marked.clone(),
            |call| {
                runtime
                    .block_on(service.clone().oneshot(call))
                    .expect("a hit")
            },
            BatchSize::SmallInput,
        )
    });
}

fn context_cache(c: &mut Criterion) {
    let runtime = Runtime::new().expect("a runtime");
    let plain = ContextCacheLayer::default().layer(upstream());
    let unmarked = call(false);
    c.bench_function("context_cache/pass-through (no plan)", |b| {
        b.iter_batched(
            || unmarked.clone(),
            |call| {
                runtime
                    .block_on(plain.clone().oneshot(call))
                    .expect("answered")
            },
            BatchSize::SmallInput,
        )
    });
    bench_hit(
        c,
        &runtime,
        "context_cache/hit, 100 KB head, memory store",
        Arc::new(MemoryCacheStore::default()),
    );
    match std::env::var("LLM_TOWER_BENCH_REDIS_URL") {
        Ok(url) if !url.is_empty() => {
            let store = RedisCacheStore::open(&url)
                .expect("a valid Redis URL")
                .with_prefix(format!("llm-tower-bench:{}:", fastrand::u64(..)));
            bench_hit(
                c,
                &runtime,
                "context_cache/hit, 100 KB head, Redis store",
                Arc::new(store),
            );
        }
        _ => eprintln!("context_cache: LLM_TOWER_BENCH_REDIS_URL not set; Redis figure skipped"),
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default()
        .sample_size(30)
        .measurement_time(Duration::from_secs(3))
        .warm_up_time(Duration::from_secs(1));
    targets = context_cache
}
criterion_main!(benches);
