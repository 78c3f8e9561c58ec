//! The HTTP transport on its own: proxy tunnels for `https`, direct connections for plain
//! `http`, and the silence limit (reply head, pauses in the body, per clone of a shared
//! pool).

use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use llm_tower::upstream::{Error, HttpTransport};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tower::ServiceExt;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

/// A POST of `{}` to `url`.
fn post(url: &str) -> http::Request<Full<Bytes>> {
    http::Request::post(url)
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from_static(b"{}")))
        .expect("request")
}

/// An HTTP proxy that refuses every tunnel, reporting each request head it got.
async fn refusing_proxy() -> (String, mpsc::UnboundedReceiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let address = listener.local_addr().expect("address");
    let (heads, received) = mpsc::unbounded_channel();
    tokio::spawn(async move {
        while let Ok((mut socket, _)) = listener.accept().await {
            let heads = heads.clone();
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buffer = [0; 1024];
                while !head.ends_with(b"\r\n\r\n") {
                    match socket.read(&mut buffer).await {
                        Ok(0) | Err(_) => return,
                        Ok(read) => head.extend_from_slice(&buffer[..read]),
                    }
                }
                let _ = heads.send(String::from_utf8_lossy(&head).into_owned());
                let _ = socket
                    .write_all(b"HTTP/1.1 403 Forbidden\r\ncontent-length: 0\r\n\r\n")
                    .await;
            });
        }
    });
    (format!("http://{address}"), received)
}

#[tokio::test]
async fn https_calls_tunnel_through_the_proxy_with_its_credentials() {
    let (proxy, mut heads) = refusing_proxy().await;
    let proxy = proxy.replace("http://", "http://alice:s3cret@");
    let transport = HttpTransport::builder()
        .proxy(proxy)
        .build()
        .expect("transport");
    let url =
        "https://generativelanguage.googleapis.com/v1beta/models/gemini-2.5-flash:generateContent";
    let error = transport
        .oneshot(post(url))
        .await
        .expect_err("the proxy refuses");

    let head = tokio::time::timeout(Duration::from_secs(5), heads.recv())
        .await
        .expect("the proxy saw a request")
        .expect("a head");
    let head = head.to_ascii_lowercase();
    assert!(
        head.starts_with("connect generativelanguage.googleapis.com:443 http/1.1\r\n"),
        "{head}"
    );
    // alice:s3cret, base64
    assert!(
        head.contains("proxy-authorization: basic ywxpy2u6cznjcmv0\r\n"),
        "{head}"
    );
    // A refused tunnel is a failure to connect: nothing reached Gemini.
    assert!(error.is_connect(), "a connect error, not {error:?}");
    // The message is the kind alone; the cause (hyper-util's) is the source.
    assert_eq!(error.to_string(), "could not connect to the upstream");
    let cause = std::error::Error::source(&error).expect("a source");
    assert!(
        cause.to_string().starts_with("client error (Connect)"),
        "{cause}"
    );
    assert!(!format!("{error:?}").contains("s3cret"), "{error:?}");
}

#[tokio::test]
async fn plain_http_is_never_proxied() {
    let (proxy, mut heads) = refusing_proxy().await;
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/m:generateContent"))
        .respond_with(ResponseTemplate::new(200).set_body_string("{}"))
        .expect(1)
        .mount(&server)
        .await;
    let transport = HttpTransport::builder()
        .proxy(proxy)
        .build()
        .expect("transport");
    let url = format!("{}/v1beta/models/m:generateContent", server.uri());
    let response = transport.oneshot(post(&url)).await.expect("a direct call");
    assert_eq!(response.status(), 200);
    assert!(heads.try_recv().is_err(), "the proxy was used");
}

#[tokio::test]
async fn the_limit_is_per_clone_over_one_pool() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_string("{}")
                .set_delay(Duration::from_millis(400)),
        )
        .mount(&server)
        .await;
    let patient = HttpTransport::builder()
        .no_proxy()
        .build()
        .expect("transport");
    let impatient = patient.clone().with_timeout(Duration::from_millis(100));
    assert_eq!(impatient.timeout(), Some(Duration::from_millis(100)));
    assert_eq!(patient.timeout(), None);

    let url = format!("{}/v1beta/models/m:generateContent", server.uri());
    let error = impatient.oneshot(post(&url)).await.expect_err("too slow");
    assert!(error.is_timeout(), "{error:?}");
    let response = patient.oneshot(post(&url)).await.expect("no limit");
    assert_eq!(response.status(), 200);
}

/// A server for one connection that reads the request, then writes each step's bytes
/// after its pause; it holds the connection until the last step is done.
async fn scripted_server(steps: Vec<(Duration, Vec<u8>)>) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").await.expect("listener");
    let address = listener.local_addr().expect("address");
    tokio::spawn(async move {
        let (mut socket, _) = listener.accept().await.expect("accept");
        let mut buffer = vec![0; 64 * 1024];
        let _ = socket.read(&mut buffer).await;
        for (pause, bytes) in steps {
            tokio::time::sleep(pause).await;
            if socket.write_all(&bytes).await.is_err() {
                return;
            }
        }
    });
    format!("http://{address}/v1beta/models/m:streamGenerateContent")
}

const CHUNKED_HEAD: &str = "HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n";
const CHUNK: &[u8] = b"6\r\ndata:\n\r\n";

#[tokio::test]
async fn a_body_that_keeps_coming_outlives_the_limit() {
    // Eight chunks 80 ms apart: 640 ms in all, never silent for the 300 ms limit.
    let mut steps = vec![(Duration::ZERO, CHUNKED_HEAD.as_bytes().to_vec())];
    steps.extend((0..8).map(|_| (Duration::from_millis(80), CHUNK.to_vec())));
    steps.push((Duration::ZERO, b"0\r\n\r\n".to_vec()));
    let url = scripted_server(steps).await;
    let transport = HttpTransport::builder()
        .timeout(Duration::from_millis(300))
        .build()
        .expect("transport");
    let response = transport.oneshot(post(&url)).await.expect("head");
    let body = response
        .into_body()
        .collect()
        .await
        .expect("the whole body");
    assert_eq!(body.to_bytes(), "data:\n".repeat(8));
}

#[tokio::test]
async fn a_body_that_falls_silent_is_a_timeout() {
    let url = scripted_server(vec![
        (Duration::ZERO, [CHUNKED_HEAD.as_bytes(), CHUNK].concat()),
        (Duration::from_secs(5), Vec::new()),
    ])
    .await;
    let transport = HttpTransport::builder()
        .timeout(Duration::from_millis(200))
        .build()
        .expect("transport");
    let mut body = transport
        .oneshot(post(&url))
        .await
        .expect("head")
        .into_body();
    let first = body.frame().await.expect("a frame").expect("data");
    assert_eq!(first.into_data().expect("data"), "data:\n");
    let error = body
        .frame()
        .await
        .expect("an end")
        .expect_err("silence is an error");
    let io = error
        .downcast_ref::<std::io::Error>()
        .expect("an I/O error");
    assert_eq!(io.kind(), std::io::ErrorKind::TimedOut);
    assert!(Error::reading_body(error).is_timeout());
}

#[test]
fn proxies_it_cannot_use_are_build_errors_that_keep_passwords_out() {
    for url in [
        "socks5://alice:s3cret@proxy.corp:1080",
        "https://alice:s3cret@proxy.corp:443",
        "proxy.corp:3128 ",
        "http://",
    ] {
        let error = HttpTransport::builder()
            .proxy(url)
            .build()
            .expect_err("refused");
        let message = error.to_string();
        assert!(!message.contains("s3cret"), "{message}");
    }
    let builder = HttpTransport::builder().proxy("http://alice:s3cret@proxy.corp:3128");
    assert!(!format!("{builder:?}").contains("s3cret"));
    // curl's bare host:port is an http proxy.
    assert!(
        HttpTransport::builder()
            .proxy("proxy.corp:3128")
            .build()
            .is_ok()
    );
}
