//! The router's own cost per chat request: one deployment (the direct path: no state, no
//! clone, no box) beside a model group of three (the failover path: a deployment chosen by
//! `simple-shuffle`, counted, the request cloned for a possible retry), and the same group
//! with a shared memory store. The deployments answer at once from memory, so the figures
//! are the router's alone; each iteration also clones the request it sends.

use std::sync::Arc;

use criterion::{BatchSize, Criterion, criterion_group, criterion_main};
use llm_tower::openai::{ChatCompletion, ChatRequest, Message, Role};
use llm_tower::router::{Deployment, ModelRouter};
use llm_tower::store::MemoryRouterStore;
use llm_tower::{ChatResponse, ChatService, Error};
use tokio::runtime::Runtime;
use tower::ServiceExt;

/// A deployment that answers a small completion at once.
fn deployment(id: &str) -> Deployment {
    let completion: ChatCompletion = serde_json::from_value(serde_json::json!({
        "id": "c", "object": "chat.completion", "created": 0, "model": "m",
        "choices": [{"index": 0, "finish_reason": "stop",
                     "message": {"role": "assistant", "content": "ok"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 1, "total_tokens": 4}
    }))
    .expect("a completion");
    let service = ChatService::new(tower::service_fn(move |_: ChatRequest| {
        let completion = completion.clone();
        async move { Ok::<_, Error>(ChatResponse::Completion(completion)) }
    }));
    Deployment::new(service, "gemini-2.5-flash").with_id(id.to_owned())
}

fn request(model: &str) -> ChatRequest {
    ChatRequest::new(
        model,
        vec![Message::text(Role::User, "Hello, how are you today?")],
    )
}

fn bench(c: &mut Criterion) {
    let runtime = Runtime::new().expect("a runtime");
    let one = ModelRouter::builder()
        .deployment("one", deployment("a"))
        .build();
    let group = |router: llm_tower::router::ModelRouterBuilder| {
        ["eu", "us", "asia"]
            .into_iter()
            .fold(router, |router, id| {
                router.deployment("trio", deployment(id))
            })
            .build()
    };
    let trio = group(ModelRouter::builder());
    let shared = group(ModelRouter::builder().store(Arc::new(MemoryRouterStore::default())));
    for (name, router, model) in [
        ("one deployment", &one, "one"),
        ("a group of three", &trio, "trio"),
        ("a group of three, shared memory store", &shared, "trio"),
    ] {
        let sent = request(model);
        c.bench_function(&format!("router: {name}"), |b| {
            b.iter_batched(
                || sent.clone(),
                |request| {
                    runtime
                        .block_on(router.clone().oneshot(request))
                        .expect("answered")
                },
                BatchSize::SmallInput,
            );
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
