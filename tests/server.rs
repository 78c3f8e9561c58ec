//! The proxy's HTTP server under slow, idle and numerous clients, and at shutdown: request
//! heads and bodies are bounded in time, connections in number, and streams still open
//! when the grace period ends get an OpenAI error event before the connection closes.
#![cfg(feature = "proxy")]

use std::convert::Infallible;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::stream;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full, StreamBody};
use llm_tower::edge::read_body;
use llm_tower::proxy::server::{RequestBody, ServerOptions, serve};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::sync::oneshot;

type Body = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// `/stream` answers an event stream that never ends; anything else reads the body (up to
/// 1 KiB) and answers its length, or the edge's error status.
async fn handle(request: http::Request<RequestBody>) -> Result<http::Response<Body>, Infallible> {
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
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
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
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
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

#[tokio::test]
async fn connections_past_the_limit_wait_for_a_free_slot() {
    let mut options = ServerOptions::default();
    options.max_connections = 2;
    let server = start(options).await;
    let mut held = Vec::new();
    for _ in 0..2 {
        let mut stream = TcpStream::connect(server.address).await.unwrap();
        stream
            .write_all(b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\n\r\nx")
            .await
            .unwrap();
        let mut buffer = [0; 64];
        let read = stream.read(&mut buffer).await.unwrap();
        assert!(buffer[..read].starts_with(b"HTTP/1.1 200"));
        held.push(stream);
    }
    // The third is accepted by the kernel but not served while two are open.
    let mut third = TcpStream::connect(server.address).await.unwrap();
    third
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
        )
        .await
        .unwrap();
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
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "{:?}",
        started.elapsed()
    );
    tokio::time::timeout(Duration::from_secs(3), server.done)
        .await
        .expect("serve returned")
        .unwrap();
}

#[tokio::test]
async fn a_clean_shutdown_returns_once_requests_are_done() {
    let mut server = start(ServerOptions::default()).await;
    let mut stream = TcpStream::connect(server.address).await.unwrap();
    stream
        .write_all(
            b"POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nConnection: close\r\n\r\nx",
        )
        .await
        .unwrap();
    let (seen, _) = read_to_close(&mut stream, Duration::from_secs(5)).await;
    assert!(seen.starts_with("HTTP/1.1 200"), "{seen}");
    server.stop.take().unwrap().send(()).unwrap();
    tokio::time::timeout(Duration::from_secs(3), server.done)
        .await
        .expect("serve returned without waiting for the grace period")
        .unwrap();
}
