//! The proxy's HTTP server under slow, idle and numerous clients, and at shutdown: request
//! heads and bodies are bounded in time, connections in number, and streams still open
//! when the grace period ends get an OpenAI error event before the connection closes.
#![cfg(feature = "proxy")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use llm_tower::edge::read_body;
use llm_tower::proxy::server::{RequestBody, ServerOptions, StallHook, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

type Body = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// `/stream` answers an event stream that never ends; anything else reads the body (up to
/// 1 KiB) and answers its length, or the edge's error status.
async fn handle(request: http::Request<RequestBody>) -> Result<http::Response<Body>, Infallible> {
    if request.uri().path() == "/flood" {
        let flood = FloodGuard;
        let body = StreamBody::new(stream::repeat_with(move || {
            let _held = &flood;
            Ok(http_body::Frame::data(Bytes::from(vec![b':'; 64 * 1024])))
        }));
        let mut response = http::Response::new(body.boxed_unsync());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/event-stream"),
        );
        return Ok(response);
    }
    if request.uri().path() == "/stream" {
        let first = stream::iter([Ok(http_body::Frame::data(Bytes::from_static(
            b"data: {\"n\":1}\n\n",
        )))]);
        let body = StreamBody::new(futures_util::StreamExt::chain(first, stream::pending()));
        let mut response = http::Response::new(body.boxed_unsync());
        response.headers_mut().insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("text/event-stream"),
        );
        return Ok(response);
    }
    let (status, text) = match read_body(request.into_body(), 1024).await {
        Ok(bytes) => (200, bytes.len().to_string()),
        Err(error) => (error.status().as_u16(), error.message().to_owned()),
    };
    let mut response = http::Response::new(
        Full::new(Bytes::from(text))
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = http::StatusCode::from_u16(status).unwrap();
    Ok(response)
}

/// Flood bodies dropped so far (by every test of this file).
static FLOODS_DROPPED: AtomicUsize = AtomicUsize::new(0);

/// Held by a `/flood` body; counts its drop.
struct FloodGuard;

impl Drop for FloodGuard {
    fn drop(&mut self) {
        FLOODS_DROPPED.fetch_add(1, Ordering::SeqCst);
    }
}

struct Server {
    address: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    done: tokio::task::JoinHandle<()>,
}

async fn start(options: ServerOptions) -> Server {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    let (stop, stopped) = oneshot::channel::<()>();
    let done = tokio::spawn(serve(
        listener,
        tower::service_fn(handle),
        async {
            let _ = stopped.await;
        },
        options,
    ));
    Server {
        address,
        stop: Some(stop),
        done,
    }
}

/// Asserts that less than `limit` passed since `started`.
fn took_less_than(started: Instant, limit: Duration) {
    let took = started.elapsed();
    assert!(took < limit, "took {took:?}, limit {limit:?}");
}

/// Reads until the peer closes (or `limit` passes), returning what arrived.
async fn read_to_close(stream: &mut TcpStream, limit: Duration) -> (String, bool) {
    let mut seen = Vec::new();
    let closed = tokio::time::timeout(limit, stream.read_to_end(&mut seen))
        .await
        .is_ok();
    (String::from_utf8_lossy(&seen).into_owned(), closed)
}

#[tokio::test]
async fn a_slow_request_head_is_cut_off() {
    let mut options = ServerOptions::default();
    options.header_read_timeout = Duration::from_millis(300);
    let server = start(options).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"GET / HTTP/1.1\r\nHost: x\r\n")
        .await
        .unwrap();
    let started = Instant::now();
    let (_, closed) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert!(closed, "the connection stayed open");
    took_less_than(started, Duration::from_secs(3));
}

#[tokio::test]
async fn an_idle_keep_alive_connection_is_closed() {
    let mut options = ServerOptions::default();
    options.header_read_timeout = Duration::from_millis(300);
    let server = start(options).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 2\r\n\r\nhi")
        .await
        .unwrap();
    let started = Instant::now();
    let (seen, closed) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    assert!(closed, "the idle connection stayed open");
    took_less_than(started, Duration::from_secs(3));
}

#[tokio::test]
async fn a_stalled_request_body_is_a_408() {
    let mut options = ServerOptions::default();
    options.body_read_timeout = Duration::from_millis(300);
    let server = start(options).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nhalf")
        .await
        .unwrap();
    let mut head = vec![0; 512];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut head))
        .await
        .expect("an answer before the client gave up")
        .unwrap();
    let head = String::from_utf8_lossy(&head[..read]);
    assert!(head.starts_with("HTTP/1.1 408"), "{head}");
}

/// Sends `request` on a new connection and reads the start of its answer.
async fn first_answer(address: SocketAddr, request: &[u8]) -> (TcpStream, String) {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut buffer = [0; 512];
    let read = tokio::time::timeout(Duration::from_secs(5), stream.read(&mut buffer))
        .await
        .expect("an answer")
        .unwrap();
    let seen = String::from_utf8_lossy(&buffer[..read]).into_owned();
    (stream, seen)
}

/// Sends one request on a new connection and reads the start of its answer.
async fn answered(address: SocketAddr) -> (TcpStream, String) {
    first_answer(
        address,
        b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx",
    )
    .await
}

/// A new connection that has sent one request and asked to be closed after its answer.
async fn last_request(address: SocketAddr) -> TcpStream {
    let mut stream = TcpStream::connect(address).await.unwrap();
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
        )
        .await
        .unwrap();
    stream
}

/// Opens a stream (`GET /stream`) and reads its first event: a connection that stays busy.
async fn busy(address: SocketAddr) -> TcpStream {
    let (stream, seen) = first_answer(address, b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n").await;
    assert!(seen.contains("\"n\":1"), "{seen}");
    stream
}

#[tokio::test]
async fn at_the_connection_limit_the_longest_idle_connection_makes_room() {
    let mut options = ServerOptions::default();
    options.max_connections = 2;
    let server = start(options).await;
    let (mut idle, head) = answered(server.address).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let _busy = busy(server.address).await;
    // The third is served at once: the idle keep-alive connection is closed for it.
    let (_third, head) = answered(server.address).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    let (_, closed) = read_to_close(&mut idle, Duration::from_secs(5)).await;
    assert!(closed, "the idle connection stayed open");
}

#[tokio::test]
async fn connections_past_the_limit_wait_while_all_are_busy() {
    let mut options = ServerOptions::default();
    options.max_connections = 2;
    options.max_connections_per_peer = 3;
    let server = start(options).await;
    let mut held = vec![busy(server.address).await, busy(server.address).await];
    // The third is accepted by the kernel but not served while two streams are open.
    let mut third = last_request(server.address).await;
    let mut buffer = [0; 64];
    let early = tokio::time::timeout(Duration::from_millis(300), third.read(&mut buffer)).await;
    assert!(early.is_err(), "served past the connection limit");
    drop(held.pop());
    let read = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buffer))
        .await
        .expect("served once a slot was free")
        .unwrap();
    assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));
}

#[tokio::test]
async fn the_wait_for_a_connection_slot_does_not_count_against_the_request_head() {
    let mut options = ServerOptions::default();
    options.max_connections = 1;
    options.header_read_timeout = Duration::from_millis(300);
    let server = start(options).await;
    let held = busy(server.address).await;
    // Sent at once, then kept waiting for a slot longer than the head may take.
    let mut waiting = last_request(server.address).await;
    tokio::time::sleep(Duration::from_millis(600)).await;
    drop(held);
    let (seen, _) = read_to_close(&mut waiting, Duration::from_secs(5)).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "not served: {seen:?}");
}

#[tokio::test]
async fn silent_and_preface_only_connections_are_closed_and_others_still_served() {
    let mut options = ServerOptions::default();
    options.header_read_timeout = Duration::from_millis(500);
    options.max_connections = 8;
    let server = start(options).await;
    let started = Instant::now();
    // Sixteen sockets that say nothing, and sixteen that send only the HTTP/2 preface
    // and an empty SETTINGS frame: twice the limit each.
    let mut silent = Vec::new();
    for _ in 0..16 {
        silent.push(TcpStream::connect(server.address).await.unwrap());
    }
    for _ in 0..16 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream
            .write_all(b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\0\x04\0\0\0\0\0")
            .await
            .unwrap();
        silent.push(stream);
    }
    // A real client is still answered, well before the silent ones time out.
    let (_client, head) = answered(server.address).await;
    assert!(head.starts_with("HTTP/1.1 200"), "{head}");
    took_less_than(started, Duration::from_millis(450));
    // Every silent socket is closed, the last ones by the timer from their acceptance.
    for stream in &mut silent {
        let (_, closed) = read_to_close(stream, Duration::from_secs(5)).await;
        assert!(closed, "a silent connection stayed open");
    }
    took_less_than(started, Duration::from_secs(4));
}

#[tokio::test]
async fn a_peer_past_its_limit_of_busy_connections_is_refused() {
    let mut options = ServerOptions::default();
    options.max_connections_per_peer = 2;
    let server = start(options).await;
    let _held = [busy(server.address).await, busy(server.address).await];
    let mut refused = TcpStream::connect(server.address).await.unwrap();
    let (seen, closed) = read_to_close(&mut refused, Duration::from_secs(5)).await;
    assert!(
        closed && seen.is_empty(),
        "served past the per-peer limit: {seen}"
    );
}

type Http2Sender = hyper::client::conn::http2::SendRequest<Full<Bytes>>;

/// An HTTP/2 connection to `address` (prior knowledge), its task spawned.
async fn http2_client(
    address: SocketAddr,
) -> (Http2Sender, tokio::task::JoinHandle<hyper::Result<()>>) {
    let stream = TcpStream::connect(address).await.unwrap();
    let (sender, connection) = hyper::client::conn::http2::handshake(
        hyper_util::rt::TokioExecutor::new(),
        hyper_util::rt::TokioIo::new(stream),
    )
    .await
    .unwrap();
    (sender, tokio::spawn(connection))
}

#[tokio::test]
async fn an_idle_http2_connection_is_closed() {
    let mut options = ServerOptions::default();
    options.idle_timeout = Duration::from_millis(300);
    let server = start(options).await;
    let (mut sender, connection) = http2_client(server.address).await;
    let request = http::Request::post("http://x/echo")
        .body(Full::new(Bytes::from_static(b"hi")))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    assert_eq!(response.status(), 200);
    drop(response);
    // With no request in flight, the server sends GOAWAY and closes.
    tokio::time::timeout(Duration::from_secs(5), connection)
        .await
        .expect("the idle HTTP/2 connection was closed")
        .unwrap()
        .unwrap();
}

#[tokio::test]
async fn streams_open_at_the_end_of_the_grace_period_get_an_error_event() {
    let mut options = ServerOptions::default();
    options.grace_period = Duration::from_millis(300);
    let mut server = start(options).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"GET /stream HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buffer = vec![0; 1024];
    let read = stream.read(&mut buffer).await.unwrap();
    assert!(String::from_utf8_lossy(&buffer[..read]).contains("\"n\":1"));
    server.stop.take().unwrap().send(()).unwrap();
    let started = Instant::now();
    let (rest, closed) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert!(closed, "the stream was not ended");
    assert!(rest.contains("service_unavailable_error"), "{rest}");
    assert!(rest.contains("shutting down"), "{rest}");
    took_less_than(started, Duration::from_secs(3));
    tokio::time::timeout(Duration::from_secs(3), server.done)
        .await
        .expect("serve returned")
        .unwrap();
}

#[tokio::test]
async fn a_clean_shutdown_returns_once_requests_are_done() {
    let mut server = start(ServerOptions::default()).await;
    let mut stream = last_request(server.address).await;
    let (seen, _) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(3), server.done)
        .await
        .expect("serve returned without waiting for the grace period")
        .unwrap();
}

/// Options with a 300 ms send-stall timeout whose hook counts into the returned counter.
fn stall_options() -> (ServerOptions, Arc<AtomicUsize>) {
    let stalls = Arc::new(AtomicUsize::new(0));
    let counted = Arc::clone(&stalls);
    let mut options = ServerOptions::default();
    options.send_stall_timeout = Duration::from_millis(300);
    options.on_send_stall = StallHook::new(move || {
        counted.fetch_add(1, Ordering::SeqCst);
    });
    (options, stalls)
}

/// Waits up to 5 s for `condition`.
async fn eventually(condition: impl Fn() -> bool) -> bool {
    for _ in 0..100 {
        if condition() {
            return true;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    false
}

#[tokio::test]
async fn a_stream_its_http1_client_does_not_read_is_ended_and_the_connection_closed() {
    let (options, stalls) = stall_options();
    let server = start(options).await;
    let dropped = FLOODS_DROPPED.load(Ordering::SeqCst);
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(b"GET /flood HTTP/1.1\r\nHost: x\r\n\r\n")
        .await
        .unwrap();
    // The client reads nothing: the socket buffers fill, then the watchdog ends the stream.
    assert!(
        eventually(|| stalls.load(Ordering::SeqCst) == 1).await,
        "the stalled stream was not ended"
    );
    assert!(
        FLOODS_DROPPED.load(Ordering::SeqCst) > dropped,
        "the body was kept"
    );
    // The connection is closed too: reading now drains what was buffered, then ends.
    let mut sink = Vec::new();
    let closed = tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut sink)).await;
    assert!(closed.is_ok(), "the stalled connection stayed open");
}

#[tokio::test]
async fn a_stream_its_http2_client_gives_no_window_is_ended_and_others_go_on() {
    let (options, stalls) = stall_options();
    let server = start(options).await;
    let (mut sender, _connection) = http2_client(server.address).await;
    let request = http::Request::get("http://x/flood")
        .body(Full::new(Bytes::new()))
        .unwrap();
    // The response body is never read, so the stream's window is never opened again.
    let flooded = sender.send_request(request).await.unwrap();
    assert_eq!(flooded.status(), 200);
    assert!(
        eventually(|| stalls.load(Ordering::SeqCst) == 1).await,
        "the stalled stream was not ended"
    );
    // The connection still serves other requests.
    let request = http::Request::post("http://x/echo")
        .body(Full::new(Bytes::from_static(b"abc")))
        .unwrap();
    let response = sender.send_request(request).await.unwrap();
    let body = response.into_body().collect().await.unwrap().to_bytes();
    assert_eq!(body, "3");
    drop(flooded);
}
