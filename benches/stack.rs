//! The whole proxy stack per request, as `llm-tower` serves it: a config read from YAML
//! with default settings, `Proxy::from_config_observed` inside `stack::served`, so the
//! request-id layers, the observer (span, metrics, access-log decision), the master-key
//! check, the OpenAI edge (body read and parsed), the router, the deployment's in-flight
//! limit, the Gemini provider (translation both ways) and the pooled HTTP client all run.
//! Requests go in as `http::Request`s through `tower::ServiceExt::oneshot`; each iteration
//! sends a fresh request and reads the whole response body.
//!
//! The upstream is the crate's recorded Gemini stand-in (`proxy::stand_in`, replies from
//! `tests/fixtures/gemini/`) served on 127.0.0.1 from its own thread and runtime: the
//! proxy's transport is hyper's pooled client and has no in-memory seam, so each request
//! includes one loopback round trip over a kept-alive connection and the stand-in's
//! answer (about 6 µs of its CPU, on the other thread). The bench runs the proxy on a
//! current-thread runtime on the bench thread.
//!
//! | bench | request | reply |
//! |---|---|---|
//! | `chat/one` | a plain chat completion to a model of one deployment | fixture 01's text |
//! | `chat/group_of_three` | the same to a group of three (`simple-shuffle`) | the same |
//! | `chat/tools` | the same with 10 function tools | fixture 13's `functionCall` |
//! | `stream/one` | `"stream": true` to the model of one deployment | fixture 18's SSE (6 events), translated |
//!
//! Before measuring, it prints the heap allocations one request of each kind makes on the
//! bench thread (the proxy's side, hyper's client connection included; the stand-in's
//! thread is not counted), through a counting wrapper around mimalloc, the binary's
//! allocator.
//!
//! ```text
//! cargo bench --bench stack
//! ```

use std::alloc::{GlobalAlloc, Layout};
use std::cell::Cell;
use std::sync::Arc;

use bytes::Bytes;
use criterion::{Criterion, criterion_group, criterion_main};
use http_body_util::{BodyExt, Full};
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use llm_tower::proxy::metrics::Metrics;
use llm_tower::proxy::stack::{Served, StackOptions, served};
use llm_tower::proxy::stand_in::StandIn;
use tower::ServiceExt;

/// mimalloc, counting the allocations of each thread.
struct Counting;

thread_local! {
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

// SAFETY: every call is forwarded unchanged to mimalloc; the count is a const-initialized
// thread-local, which neither allocates nor can fail.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { mimalloc::MiMalloc.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { mimalloc::MiMalloc.alloc_zeroed(layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count();
        // SAFETY: the caller's contract, passed on.
        unsafe { mimalloc::MiMalloc.realloc(ptr, layout, new_size) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: the caller's contract, passed on.
        unsafe { mimalloc::MiMalloc.dealloc(ptr, layout) }
    }
}

/// One more allocation on this thread (none once the thread-local is gone, at exit).
fn count() {
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get() + 1));
}

#[global_allocator]
static GLOBAL: Counting = Counting;

const STAND_IN_KEY: &str = "stand-in-key";
const MASTER_KEY: &str = "sk-bench";

/// The config `benches/load.sh` runs, with default settings: `gemini-flash` is one
/// deployment, `gemini-trio` a group of three.
fn config(stand_in: &str) -> Config {
    let base = format!("api_base: {stand_in}/v1beta, api_key: {STAND_IN_KEY}");
    let trio: String = ["eu", "us", "asia"]
        .iter()
        .map(|region| {
            format!(
                "  - model_name: gemini-trio\n    litellm_params: {{model: gemini/gemini-2.5-flash, {base}}}\n    model_info: {{id: flash-{region}}}\n"
            )
        })
        .collect();
    let yaml = format!(
        "model_list:\n  - model_name: gemini-flash\n    litellm_params: {{model: gemini/gemini-2.5-flash, {base}}}\n{trio}general_settings: {{master_key: {MASTER_KEY}}}\n"
    );
    let (config, warnings) =
        Config::from_yaml(&yaml, "bench.yaml", &|_: &str| None).expect("the bench's config");
    assert!(warnings.is_empty(), "config warnings: {warnings:?}");
    config
}

/// The recorded stand-in on a free loopback port, on its own thread; its base URL.
fn start_stand_in() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a loopback port");
    let address = listener.local_addr().expect("its address");
    listener.set_nonblocking(true).expect("non-blocking");
    std::thread::spawn(move || {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("the stand-in's runtime");
        runtime.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).expect("a listener");
            StandIn::new(STAND_IN_KEY).serve(listener).await;
        });
    });
    format!("http://{address}")
}

/// A chat request body: `tools` function tools, streamed or not.
fn chat_body(model: &str, tools: usize, stream: bool) -> Bytes {
    let tools: Vec<_> = (0..tools)
        .map(|i| {
            serde_json::json!({"type": "function", "function": {
                "name": format!("tool_{i}"),
                "description": "Looks a thing up.",
                "parameters": {"type": "object",
                               "properties": {"query": {"type": "string"},
                                              "limit": {"type": "integer"}},
                               "required": ["query"]}}})
        })
        .collect();
    let mut body = serde_json::json!({
        "model": model,
        "messages": [{"role": "user", "content": "Hello, how are you today?"}],
        "stream": stream,
    });
    if !tools.is_empty() {
        body["tools"] = tools.into();
    }
    serde_json::to_vec(&body).expect("json").into()
}

/// A fresh `POST /v1/chat/completions` with the master key.
fn request(body: &Bytes) -> http::Request<Full<Bytes>> {
    http::Request::post("/v1/chat/completions")
        .header("authorization", format!("Bearer {MASTER_KEY}"))
        .header("content-type", "application/json")
        .body(Full::new(body.clone()))
        .expect("a request")
}

/// Sends one request through the stack and reads the whole body; checks it answered 200
/// with `expect` in the body.
async fn send(service: &mut Served, body: &Bytes, expect: &str) -> usize {
    let response = service.oneshot(request(body)).await.expect("infallible");
    let status = response.status();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("the whole body")
        .to_bytes();
    assert!(
        status == http::StatusCode::OK && contains(&bytes, expect.as_bytes()),
        "{status}: {}",
        String::from_utf8_lossy(&bytes)
    );
    bytes.len()
}

fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack
        .windows(needle.len())
        .any(|window| window == needle)
}

fn bench(c: &mut Criterion) {
    let stand_in = start_stand_in();
    let config = config(&stand_in);
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a runtime");
    let metrics = Arc::new(Metrics::new(&config));
    let proxy = runtime
        .block_on(async { Proxy::from_config_observed(&config, &metrics) })
        .expect("the proxy");
    let mut service = served(&config, proxy, metrics, &StackOptions::default());

    let cases = [
        (
            "chat/one",
            chat_body("gemini-flash", 0, false),
            "\"content\"",
        ),
        (
            "chat/group_of_three",
            chat_body("gemini-trio", 0, false),
            "\"content\"",
        ),
        ("chat/tools", chat_body("gemini-flash", 10, false), "tool_0"),
        ("stream/one", chat_body("gemini-flash", 0, true), "[DONE]"),
    ];
    for (name, body, expect) in &cases {
        // Warm: the pooled connection, caches, metric families.
        for _ in 0..100 {
            runtime.block_on(send(&mut service, body, expect));
        }
        let before = ALLOCATIONS.with(Cell::get);
        let rounds = 100;
        for _ in 0..rounds {
            runtime.block_on(send(&mut service, body, expect));
        }
        let allocations = (ALLOCATIONS.with(Cell::get) - before) / rounds;
        println!("{name}: {allocations} allocations per request on the proxy's thread");
    }
    for (name, body, expect) in &cases {
        c.bench_function(name, |b| {
            b.iter(|| runtime.block_on(send(&mut service, body, expect)))
        });
    }
}

criterion_group!(benches, bench);
criterion_main!(benches);
