//! The proxy against an upstream that misbehaves: a small raw-TCP server on 127.0.0.1
//! that stalls, trickles, resets, sends pings forever, broken JSON, a compressed bomb, a
//! huge body, or rate limits. It stands in for Gemini, or for an OpenAI-compatible server
//! where the cases differ by provider (a stream's events). Each case checks what the client sees (status, or the SSE
//! error event), that it sees it within a bound, and how many upstream calls were made.
#![cfg(feature = "proxy")]

mod common;

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tower::ServiceExt;

/// What the upstream does with every request.
#[derive(Clone, Copy, Debug)]
enum Fault {
    /// Reads the request and never answers.
    StallBeforeHead,
    /// Sends a stream's head and one event, then nothing.
    StallMidStream,
    /// Sends a stream's head, then only `: ping` comments.
    PingsOnly,
    /// Sends a stream's head and this event, then only `: ping` comments.
    PingsAfter(&'static str),
    /// Sends a 500 whose body arrives a byte at a time.
    TrickledError,
    /// Sends a whole 200 reply whose body arrives a byte at a time.
    TrickledReply,
    /// Sends a stream's head and one event, then closes the socket mid-chunk.
    ResetMidStream,
    /// Answers 200 with a body that is not JSON.
    BrokenJson,
    /// Answers 200 with a gzip body that inflates to 60 MB (never asked for).
    GzipBomb,
    /// Answers 200 with 80 MB of body.
    HugeBody,
    /// Answers 429 with `Retry-After: 7`.
    RateLimited,
    /// Answers 503 with `Retry-After: 3`.
    Unavailable,
    /// Takes its time: a reply after the pause, or a stream's head and first event at
    /// once and its last event after the pause.
    Slow(Duration),
}

const EVENT: &str = r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"Hel"}]},"index":0}],"modelVersion":"gemini-2.5-flash"}"#;

/// [`EVENT`] from an OpenAI-compatible server.
const CHUNK: &str = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"gpt-4o-mini","choices":[{"index":0,"delta":{"role":"assistant","content":"Hel"},"finish_reason":null}]}"#;

/// What the upstream is taken for: the deployment's `model`, and the `api_base` path.
#[derive(Clone, Copy, Debug)]
enum Api {
    Gemini,
    OpenAi,
}

impl Api {
    fn model(self) -> &'static str {
        match self {
            Self::Gemini => "gemini/gemini-2.5-flash",
            Self::OpenAi => "openai/gpt-4o-mini",
        }
    }

    fn path(self) -> &'static str {
        match self {
            Self::Gemini => "/v1beta",
            Self::OpenAi => "/v1",
        }
    }

    /// A stream event with the text `Hel`.
    fn event(self) -> &'static str {
        match self {
            Self::Gemini => EVENT,
            Self::OpenAi => CHUNK,
        }
    }
}

/// The event that ends a stream.
const LAST_EVENT: &str = r#"data: {"candidates":[{"content":{"role":"model","parts":[{"text":"lo"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":2,"totalTokenCount":3},"modelVersion":"gemini-2.5-flash"}"#;

/// A whole reply.
const REPLY: &str = r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hello"}]},"finishReason":"STOP","index":0}],"usageMetadata":{"promptTokenCount":1,"candidatesTokenCount":1,"totalTokenCount":2},"modelVersion":"gemini-2.5-flash"}"#;

const BOMB: &[u8] = include_bytes!("fixtures/faults/bomb.json.gz");

/// A misbehaving upstream; `calls` counts the requests it received.
struct Upstream {
    base: String,
    calls: Arc<AtomicUsize>,
}

impl Upstream {
    async fn start(fault: Fault) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = Arc::clone(&calls);
        tokio::spawn(async move {
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                let counter = Arc::clone(&counter);
                tokio::spawn(async move {
                    let _ = serve(stream, fault, &counter).await;
                });
            }
        });
        Self { base, calls }
    }

    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }

    /// Waits (up to a second) until `count` calls have arrived.
    async fn until_calls(&self, count: usize) {
        let started = Instant::now();
        while self.calls() < count {
            assert!(
                started.elapsed() < Duration::from_secs(1),
                "{count} calls never arrived"
            );
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    }
}

/// Reads one request (head and `Content-Length` body); returns its head, lower case, or
/// `None` when the connection closed.
async fn read_request(stream: &mut TcpStream) -> std::io::Result<Option<String>> {
    let mut seen = Vec::new();
    let mut buffer = [0; 4096];
    let head_end = loop {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(None);
        }
        seen.extend_from_slice(&buffer[..read]);
        if let Some(at) = seen.windows(4).position(|window| window == b"\r\n\r\n") {
            break at + 4;
        }
    };
    let head = String::from_utf8_lossy(&seen[..head_end]).to_ascii_lowercase();
    let length: usize = head
        .lines()
        .find_map(|line| line.strip_prefix("content-length:"))
        .and_then(|value| value.trim().parse().ok())
        .unwrap_or(0);
    while seen.len() < head_end + length {
        let read = stream.read(&mut buffer).await?;
        if read == 0 {
            return Ok(None);
        }
        seen.extend_from_slice(&buffer[..read]);
    }
    Ok(Some(head))
}

fn chunk(data: &str) -> String {
    format!("{:x}\r\n{data}\r\n", data.len())
}

const STREAM_HEAD: &str =
    "HTTP/1.1 200 OK\r\ncontent-type: text/event-stream\r\ntransfer-encoding: chunked\r\n\r\n";

async fn serve(mut stream: TcpStream, fault: Fault, calls: &AtomicUsize) -> std::io::Result<()> {
    while let Some(head) = read_request(&mut stream).await? {
        calls.fetch_add(1, Ordering::SeqCst);
        match fault {
            Fault::StallBeforeHead => std::future::pending::<()>().await,
            Fault::StallMidStream => {
                let first = chunk(&format!("{EVENT}\r\n\r\n"));
                stream
                    .write_all(format!("{STREAM_HEAD}{first}").as_bytes())
                    .await?;
                std::future::pending::<()>().await;
            }
            Fault::PingsOnly | Fault::PingsAfter(_) => {
                stream.write_all(STREAM_HEAD.as_bytes()).await?;
                if let Fault::PingsAfter(event) = fault {
                    stream
                        .write_all(chunk(&format!("{event}\r\n\r\n")).as_bytes())
                        .await?;
                }
                loop {
                    stream.write_all(chunk(": ping\r\n\r\n").as_bytes()).await?;
                    tokio::time::sleep(Duration::from_millis(50)).await;
                }
            }
            Fault::TrickledError => {
                let body = r#"{"error":{"code":500,"message":"internal","status":"INTERNAL"}}"#;
                let head = format!(
                    "HTTP/1.1 500 Internal Server Error\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    body.len() * 100
                );
                stream.write_all(head.as_bytes()).await?;
                for byte in body.bytes().cycle() {
                    stream.write_all(&[byte]).await?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            Fault::TrickledReply => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n",
                    REPLY.len() * 100
                );
                stream.write_all(head.as_bytes()).await?;
                for byte in REPLY.bytes().cycle() {
                    stream.write_all(&[byte]).await?;
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
            Fault::ResetMidStream => {
                let first = chunk(&format!("{EVENT}\r\n\r\n"));
                stream
                    .write_all(format!("{STREAM_HEAD}{first}40\r\npartial").as_bytes())
                    .await?;
                return Ok(());
            }
            Fault::BrokenJson => {
                let body = "{\"candidates\": [{\"content\": ";
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(reply.as_bytes()).await?;
            }
            Fault::GzipBomb => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-encoding: gzip\r\ncontent-length: {}\r\n\r\n",
                    BOMB.len()
                );
                stream.write_all(head.as_bytes()).await?;
                stream.write_all(BOMB).await?;
            }
            Fault::HugeBody => {
                let size = 80 * 1024 * 1024;
                let head = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {size}\r\n\r\n"
                );
                stream.write_all(head.as_bytes()).await?;
                let block = vec![b' '; 1024 * 1024];
                for _ in 0..80 {
                    stream.write_all(&block).await?;
                }
            }
            Fault::RateLimited | Fault::Unavailable => {
                let (status, retry) = match fault {
                    Fault::RateLimited => ("429 Too Many Requests", 7),
                    _ => ("503 Service Unavailable", 3),
                };
                let body =
                    r#"{"error":{"code":429,"message":"slow down","status":"RESOURCE_EXHAUSTED"}}"#;
                let reply = format!(
                    "HTTP/1.1 {status}\r\ncontent-type: application/json\r\nretry-after: {retry}\r\ncontent-length: {}\r\n\r\n{body}",
                    body.len()
                );
                stream.write_all(reply.as_bytes()).await?;
            }
            Fault::Slow(pause) if head.contains(":streamgeneratecontent") => {
                let first = chunk(&format!("{EVENT}\r\n\r\n"));
                stream
                    .write_all(format!("{STREAM_HEAD}{first}").as_bytes())
                    .await?;
                tokio::time::sleep(pause).await;
                let last = chunk(&format!("{LAST_EVENT}\r\n\r\n"));
                stream
                    .write_all(format!("{last}0\r\n\r\n").as_bytes())
                    .await?;
            }
            Fault::Slow(pause) => {
                tokio::time::sleep(pause).await;
                let reply = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\n\r\n{REPLY}",
                    REPLY.len()
                );
                stream.write_all(reply.as_bytes()).await?;
            }
        }
    }
    Ok(())
}

/// A proxy in front of `upstream`, taken for Gemini, with a half-second silence limit and
/// `settings`.
fn proxy(upstream: &Upstream, settings: &str) -> Proxy {
    proxy_for(Api::Gemini, upstream, settings)
}

/// A proxy in front of `upstream`, taken for `api`, with a half-second silence limit and
/// `settings`.
fn proxy_for(api: Api, upstream: &Upstream, settings: &str) -> Proxy {
    proxy_with(api, upstream, "timeout: 0.5", settings)
}

/// A proxy in front of `upstream`, taken for `api`, with `params` (one line of
/// `litellm_params`) and `settings`.
fn proxy_with(api: Api, upstream: &Upstream, params: &str, settings: &str) -> Proxy {
    let yaml = format!(
        "model_list:
  - model_name: flash
    litellm_params:
      model: {model}
      api_key: test-key
      api_base: {base}{path}
      {params}
{settings}",
        model = api.model(),
        base = upstream.base,
        path = api.path(),
    );
    let (config, _) = Config::from_yaml(&yaml, "config.yaml", &|_: &str| None).expect("config");
    Proxy::from_config(&config).expect("proxy")
}

/// A chat request for `flash`.
fn chat_request(stream: bool) -> http::Request<Full<Bytes>> {
    let body = json!({"model": "flash", "stream": stream, "messages": [{"role": "user", "content": "Hi"}]});
    http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .unwrap()
}

/// Sends a chat request; returns status, headers, body and how long the whole answer took.
async fn chat(proxy: &Proxy, stream: bool) -> (u16, http::HeaderMap, String, Duration) {
    let started = Instant::now();
    // A proxy that holds the client past every limit fails the test instead of hanging it.
    let answer = async {
        let response = proxy.clone().oneshot(chat_request(stream)).await.unwrap();
        let (parts, body) = response.into_parts();
        let text = match body.collect().await {
            Ok(collected) => String::from_utf8_lossy(&collected.to_bytes()).into_owned(),
            Err(error) => format!("<body error: {error}>"),
        };
        (parts, text)
    };
    let (parts, text) = tokio::time::timeout(Duration::from_secs(30), answer)
        .await
        .expect("an answer within 30 s");
    (
        parts.status.as_u16(),
        parts.headers,
        text,
        started.elapsed(),
    )
}

/// The `error` object of a JSON error reply.
fn error_of(body: &str) -> Value {
    serde_json::from_str::<Value>(body).expect("JSON error body")["error"].clone()
}

/// The `error` object of the SSE error event that ends `body`.
fn error_event_of(body: &str) -> Value {
    let event = body
        .split("\n\n")
        .filter_map(|event| event.strip_prefix("data: "))
        .find(|data| data.starts_with("{\"error\""))
        .unwrap_or_else(|| panic!("no error event in {body}"));
    serde_json::from_str::<Value>(event).unwrap()["error"].clone()
}

#[tokio::test]
async fn an_upstream_that_never_answers_is_a_504_after_the_silence_limit() {
    let upstream = Upstream::start(Fault::StallBeforeHead).await;
    let (status, _, body, took) = chat(&proxy(&upstream, ""), false).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(error_of(&body)["type"], "timeout_error");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_stream_that_stalls_ends_with_a_timeout_event() {
    let upstream = Upstream::start(Fault::StallMidStream).await;
    let (status, _, body, took) = chat(&proxy(&upstream, ""), true).await;
    assert_eq!(status, 200, "the first event committed the stream");
    assert!(body.contains("Hel"), "{body}");
    assert_eq!(error_event_of(&body)["type"], "timeout_error");
    assert!(!body.contains("[DONE]"), "{body}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_stream_of_pings_without_events_is_a_504() {
    let upstream = Upstream::start(Fault::PingsOnly).await;
    let (status, _, body, took) = chat(&proxy(&upstream, ""), true).await;
    assert_eq!(status, 504, "{body}");
    assert_eq!(error_of(&body)["type"], "timeout_error");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn an_openai_compatible_stream_of_pings_without_events_is_a_504() {
    let upstream = Upstream::start(Fault::PingsOnly).await;
    let (status, _, body, took) = chat(&proxy_for(Api::OpenAi, &upstream, ""), true).await;
    assert_eq!(status, 504, "{body}");
    let error = error_of(&body);
    assert_eq!(error["type"], "timeout_error");
    assert!(
        error["message"].as_str().unwrap().contains("no event"),
        "{error}"
    );
    assert!(took >= Duration::from_millis(500), "{took:?}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn pings_after_the_first_event_end_the_stream_with_a_timeout_event() {
    for api in [Api::Gemini, Api::OpenAi] {
        let upstream = Upstream::start(Fault::PingsAfter(api.event())).await;
        let (status, _, body, took) = chat(&proxy_for(api, &upstream, ""), true).await;
        assert_eq!(status, 200, "{api:?}: the first event committed the stream");
        assert!(body.contains("Hel"), "{api:?}: {body}");
        assert_eq!(error_event_of(&body)["type"], "timeout_error", "{api:?}");
        assert!(!body.contains("[DONE]"), "{api:?}: {body}");
        assert!(took < Duration::from_secs(3), "{api:?}: {took:?}");
    }
}

#[tokio::test]
async fn a_trickled_error_body_is_cut_off_and_reported() {
    let upstream = Upstream::start(Fault::TrickledError).await;
    let (status, _, body, took) = chat(&proxy(&upstream, ""), false).await;
    assert_eq!(status, 500, "{body}");
    assert!(took < Duration::from_secs(8), "{took:?}");
    assert_eq!(upstream.calls(), 1);
}

/// Sends a `generateContent` call through the Gemini pass-through; returns the status, the
/// error of Google's envelope and how long the whole answer took.
async fn passthrough(proxy: &Proxy) -> (u16, Value, Duration) {
    let request = http::Request::post("/gemini/v1beta/models/gemini-2.5-flash:generateContent")
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(
            r#"{"contents":[{"parts":[{"text":"Hi"}]}]}"#,
        )))
        .unwrap();
    let started = Instant::now();
    // A proxy that holds the client past every limit fails the test instead of hanging it.
    let answer = async {
        let response = proxy.clone().oneshot(request).await.unwrap();
        let status = response.status().as_u16();
        let body = response
            .into_body()
            .collect()
            .await
            .map(|body| body.to_bytes());
        (status, body)
    };
    let (status, body) = tokio::time::timeout(Duration::from_secs(10), answer)
        .await
        .expect("the whole answer within 10 s");
    let body = body.expect("a whole body");
    let error: Value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("JSON: {}", String::from_utf8_lossy(&body)));
    (status, error["error"].clone(), started.elapsed())
}

#[tokio::test]
async fn a_trickled_passthrough_reply_is_cut_at_the_request_timeout() {
    // Each byte comes well within the silence limit; the whole reply never would.
    let upstream = Upstream::start(Fault::TrickledReply).await;
    let proxy = proxy(&upstream, "litellm_settings: {request_timeout: 1}");
    let (status, error, took) = passthrough(&proxy).await;
    assert_eq!(status, 504, "{error}");
    assert!(took < Duration::from_secs(3), "{took:?}");
    // In Google's envelope, as every pass-through error.
    assert_eq!(error["status"], "DEADLINE_EXCEEDED", "{error}");
    assert_eq!(upstream.calls(), 1);
}

#[tokio::test]
async fn a_huge_passthrough_reply_is_refused_at_the_reply_cap() {
    let upstream = Upstream::start(Fault::HugeBody).await;
    let (status, error, took) = passthrough(&proxy(&upstream, "")).await;
    assert_eq!(status, 502, "{error}");
    assert_eq!(error["code"], 502, "{error}");
    assert!(
        error["message"].as_str().unwrap().contains("larger than"),
        "{error}"
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn a_stream_cut_mid_chunk_ends_with_an_error_event() {
    let upstream = Upstream::start(Fault::ResetMidStream).await;
    let (status, _, body, took) = chat(&proxy(&upstream, ""), true).await;
    assert_eq!(status, 200);
    assert!(body.contains("Hel"), "{body}");
    let error = error_event_of(&body);
    assert!(
        ["service_unavailable_error", "api_error"].contains(&error["type"].as_str().unwrap()),
        "{error}"
    );
    assert!(!body.contains("[DONE]"), "{body}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn broken_json_is_a_502_and_never_retried() {
    let upstream = Upstream::start(Fault::BrokenJson).await;
    let proxy = proxy(&upstream, "litellm_settings: {num_retries: 2}");
    let (status, _, body, _) = chat(&proxy, false).await;
    assert_eq!(status, 502, "{body}");
    assert_eq!(
        upstream.calls(),
        1,
        "a reply that arrived is billed: no retry"
    );
}

#[tokio::test]
async fn a_compressed_bomb_is_not_inflated() {
    let upstream = Upstream::start(Fault::GzipBomb).await;
    let (status, _, body, took) = chat(&proxy(&upstream, ""), false).await;
    assert_eq!(status, 502, "{body}");
    assert!(took < Duration::from_secs(3), "{took:?}");
}

#[tokio::test]
async fn a_huge_body_is_refused_at_the_reply_cap() {
    let upstream = Upstream::start(Fault::HugeBody).await;
    let (status, _, body, took) = chat(&proxy(&upstream, ""), false).await;
    assert_eq!(status, 502, "{body}");
    assert!(
        error_of(&body)["message"]
            .as_str()
            .unwrap()
            .contains("larger than")
    );
    assert!(took < Duration::from_secs(10), "{took:?}");
}

#[tokio::test]
async fn rate_limits_and_overload_reach_the_client_with_retry_after() {
    for (fault, status, retry) in [
        (Fault::RateLimited, 429, "7"),
        (Fault::Unavailable, 503, "3"),
    ] {
        let upstream = Upstream::start(fault).await;
        let (got, headers, body, _) = chat(&proxy(&upstream, ""), false).await;
        assert_eq!(got, status, "{fault:?}: {body}");
        assert_eq!(headers["retry-after"], retry, "{fault:?}");
        assert_eq!(upstream.calls(), 1, "{fault:?}");
    }
}

/// Three calls at once to a deployment with `max_parallel_requests: 2` whose upstream takes
/// 1.5 s: two reach the upstream, the third waits its second in line and gets a 429 with
/// `Retry-After`; once the two are done, a new call goes through.
#[tokio::test]
async fn calls_past_max_parallel_requests_wait_a_second_then_get_a_429() {
    let upstream = Upstream::start(Fault::Slow(Duration::from_millis(1500))).await;
    let proxy = proxy_with(Api::Gemini, &upstream, "max_parallel_requests: 2", "");
    let held: Vec<_> = (0..2)
        .map(|_| {
            let proxy = proxy.clone();
            tokio::spawn(async move { chat(&proxy, false).await })
        })
        .collect();
    // The two take their permits first.
    upstream.until_calls(2).await;
    let (status, headers, body, took) = chat(&proxy, false).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["retry-after"], "1");
    let error = error_of(&body);
    assert_eq!(error["type"], "rate_limit_error", "{body}");
    assert!(
        error["message"]
            .as_str()
            .unwrap()
            .contains("all 2 upstream calls"),
        "{body}"
    );
    assert!(
        took >= Duration::from_millis(900) && took < Duration::from_millis(1400),
        "refused after {took:?}"
    );
    assert_eq!(upstream.calls(), 2, "the refused call never went upstream");
    for call in held {
        let (status, _, body, _) = call.await.unwrap();
        assert_eq!(status, 200, "{body}");
    }
    let (status, _, body, _) = chat(&proxy, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(upstream.calls(), 3);
}

/// A stream counts as in flight until it ends, not only until its first event: while it
/// runs, another call to the deployment (`max_parallel_requests: 1`) is refused; after it
/// ended, one goes through.
#[tokio::test]
async fn a_stream_holds_its_place_until_it_ends() {
    let upstream = Upstream::start(Fault::Slow(Duration::from_millis(1500))).await;
    let proxy = proxy_with(Api::Gemini, &upstream, "max_parallel_requests: 1", "");
    let streaming = proxy.clone().oneshot(chat_request(true)).await.unwrap();
    assert_eq!(streaming.status(), 200);

    let (status, headers, body, _) = chat(&proxy, false).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["retry-after"], "1");
    assert_eq!(upstream.calls(), 1);

    let streamed = streaming.into_body().collect().await.unwrap().to_bytes();
    let streamed = String::from_utf8_lossy(&streamed);
    assert!(streamed.ends_with("data: [DONE]\n\n"), "{streamed}");
    let (status, _, body, _) = chat(&proxy, false).await;
    assert_eq!(status, 200, "{body}");
    assert_eq!(upstream.calls(), 2);
}

/// A streamed call refused before its first byte is a plain 429, not an SSE error event.
#[tokio::test]
async fn a_refused_stream_is_a_plain_429() {
    let upstream = Upstream::start(Fault::Slow(Duration::from_millis(1500))).await;
    let proxy = proxy_with(Api::Gemini, &upstream, "max_parallel_requests: 1", "");
    let held = {
        let proxy = proxy.clone();
        tokio::spawn(async move { chat(&proxy, false).await })
    };
    upstream.until_calls(1).await;
    let (status, headers, body, _) = chat(&proxy, true).await;
    assert_eq!(status, 429, "{body}");
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(error_of(&body)["type"], "rate_limit_error");
    assert_eq!(held.await.unwrap().0, 200);
}
