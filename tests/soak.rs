//! Soak: the proxy binary serves 100,000 mixed requests (whole and streamed chat,
//! embeddings, malformed bodies, unknown models) from 16 concurrent clients, and its
//! resident memory after the run is within a few MiB of what it was after warm-up.
//!
//! It takes a minute or more, so it is ignored by `cargo test`; `.ci/run` runs it with
//! `cargo test --test soak -- --ignored` against the release binary (`LLM_TOWER_BIN`; the
//! debug one otherwise). `SOAK_REQUESTS` changes the count.
#![cfg(feature = "proxy")]

mod common;

use std::convert::Infallible;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use bytes::Bytes;
use common::fixture;
use futures_util::StreamExt;
use http_body_util::Full;
use hyper::service::service_fn;
use hyper_util::rt::{TokioExecutor, TokioIo};
use serde_json::json;

/// Requests before the first memory reading.
const WARM_UP: usize = 20_000;
/// Clients sending at once.
const CLIENTS: usize = 16;
/// Growth of resident memory allowed between warm-up and the end of the run.
const ALLOWED_GROWTH_KIB: u64 = 16 * 1024;

/// A Gemini stand-in that answers from recorded replies as fast as it can.
async fn stand_in() -> String {
    let generate = Bytes::from(
        fixture("01-agent--completion-smoke.json")["exchanges"][0]["response"]["body"].to_string(),
    );
    let stream = Bytes::from(
        fixture("18-streaming--streaming-smoke.json")["exchanges"][0]["response"]["sse"]
            .as_str()
            .expect("sse")
            .to_owned(),
    );
    let embed = Bytes::from(json!({"embeddings": [{"values": [0.1, 0.2, 0.3]}]}).to_string());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}/v1beta", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((stream_socket, _)) = listener.accept().await else {
                return;
            };
            let (generate, stream, embed) = (generate.clone(), stream.clone(), embed.clone());
            tokio::spawn(async move {
                let service = service_fn(move |request: http::Request<hyper::body::Incoming>| {
                    let path = request.uri().path().to_owned();
                    let (body, kind) = if path.ends_with(":streamGenerateContent") {
                        (stream.clone(), "text/event-stream")
                    } else if path.ends_with(":batchEmbedContents") {
                        (embed.clone(), "application/json")
                    } else {
                        (generate.clone(), "application/json")
                    };
                    async move {
                        use http_body_util::BodyExt;
                        let _ = request.into_body().collect().await;
                        let mut response = http::Response::new(Full::new(body));
                        response.headers_mut().insert(
                            http::header::CONTENT_TYPE,
                            http::HeaderValue::from_static(kind),
                        );
                        Ok::<_, Infallible>(response)
                    }
                });
                let _ = hyper_util::server::conn::auto::Builder::new(TokioExecutor::new())
                    .serve_connection(TokioIo::new(stream_socket), service)
                    .await;
            });
        }
    });
    base
}

/// The proxy binary in front of `base`, listening on a free port.
fn start_proxy(base: &str, dir: &std::path::Path) -> (Child, u16) {
    let config = dir.join("config.yaml");
    std::fs::write(
        &config,
        format!(
            "model_list:\n  - model_name: flash\n    litellm_params: {{model: gemini/gemini-2.5-flash, api_key: soak-key, api_base: {base}}}\n"
        ),
    )
    .unwrap();
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let binary =
        std::env::var("LLM_TOWER_BIN").unwrap_or_else(|_| env!("CARGO_BIN_EXE_llm-tower").into());
    let child = Command::new(binary)
        .args(["--config", config.to_str().unwrap(), "--host", "127.0.0.1"])
        .args(["--port", &port.to_string(), "--num_workers", "2"])
        .env("RUST_LOG", "warn")
        .stderr(Stdio::null())
        .spawn()
        .expect("the proxy starts");
    (child, port)
}

/// Resident memory of `pid`, in KiB.
fn rss_kib(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).expect("proc status");
    status
        .lines()
        .find_map(|line| line.strip_prefix("VmRSS:"))
        .and_then(|value| value.trim().trim_end_matches("kB").trim().parse().ok())
        .expect("VmRSS")
}

/// Request `n` of the mix, and the status it must get.
fn request(client: &reqwest::Client, port: u16, n: usize) -> (reqwest::RequestBuilder, u16) {
    let url = |path: &str| format!("http://127.0.0.1:{port}{path}");
    let post = |path: &str, body: String| {
        client
            .post(url(path))
            .header("content-type", "application/json")
            .body(body)
    };
    let chat = |model: &str, stream: bool| {
        let body = json!({"model": model, "stream": stream, "messages": [{"role": "user", "content": format!("hello {n}")}]});
        post("/v1/chat/completions", body.to_string())
    };
    match n % 10 {
        0..=3 => (chat("flash", false), 200),
        4..=6 => (chat("flash", true), 200),
        7 => (
            post(
                "/v1/embeddings",
                json!({"model": "flash", "input": "soak"}).to_string(),
            ),
            200,
        ),
        8 => (
            post(
                "/v1/chat/completions",
                "{\"model\": \"flash\", \"messages\": [".to_owned(),
            ),
            400,
        ),
        _ => (chat("nowhere", false), 404),
    }
}

/// Sends requests `range` with [`CLIENTS`] at once; panics on the first wrong status.
async fn run(client: &reqwest::Client, port: u16, range: std::ops::Range<usize>) {
    futures_util::stream::iter(range)
        .map(|n| {
            let (request, want) = request(client, port, n);
            async move {
                let response = request.send().await.expect("the proxy answers");
                let status = response.status().as_u16();
                let body = response.bytes().await.expect("the whole body");
                assert_eq!(
                    status,
                    want,
                    "request {n}: {}",
                    String::from_utf8_lossy(&body)
                );
                if want == 200 && n % 10 >= 4 && n % 10 <= 6 {
                    assert!(body.ends_with(b"data: [DONE]\n\n"), "request {n}");
                }
            }
        })
        .buffer_unordered(CLIENTS)
        .collect::<()>()
        .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a minute long: run by .ci/run"]
async fn memory_stays_flat_over_a_hundred_thousand_mixed_requests() {
    let total: usize = std::env::var("SOAK_REQUESTS")
        .ok()
        .and_then(|value| value.parse().ok())
        .unwrap_or(100_000);
    let base = stand_in().await;
    let dir = std::env::temp_dir().join(format!("llm-tower-soak-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let (mut proxy, port) = start_proxy(&base, &dir);
    let client = reqwest::Client::builder()
        .pool_max_idle_per_host(CLIENTS)
        .build()
        .unwrap();
    let ready = Instant::now();
    while reqwest::get(format!("http://127.0.0.1:{port}/health/liveliness"))
        .await
        .is_err()
    {
        assert!(
            ready.elapsed() < Duration::from_secs(20),
            "the proxy never listened"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let started = Instant::now();
    run(&client, port, 0..WARM_UP.min(total)).await;
    let warm = rss_kib(proxy.id());
    run(&client, port, WARM_UP.min(total)..total).await;
    let end = rss_kib(proxy.id());
    let elapsed = started.elapsed();
    println!(
        "{total} requests in {elapsed:?} ({:.0}/s); RSS after warm-up {warm} KiB, at the end {end} KiB",
        total as f64 / elapsed.as_secs_f64()
    );
    let _ = proxy.kill();
    let _ = proxy.wait();
    let _ = std::fs::remove_dir_all(dir);
    assert!(
        end <= warm + ALLOWED_GROWTH_KIB,
        "RSS grew from {warm} KiB to {end} KiB"
    );
}
