use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::time::Duration;

use bytes::Bytes;
use url::Host;

use super::fetch::*;
use super::guard::*;
use super::policy::*;
use crate::mime::*;
use std::io::{Read, Write};
use std::time::Instant;
use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

fn fetcher(policy: FetchPolicy) -> MediaFetcher {
    MediaFetcher::new(policy).expect("fetcher")
}

async fn serve(route: &str, response: ResponseTemplate) -> MockServer {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path(route))
        .respond_with(response)
        .mount(&server)
        .await;
    server
}

async fn request_count(server: &MockServer) -> usize {
    server
        .received_requests()
        .await
        .expect("recording enabled")
        .len()
}

fn png(body: &'static [u8]) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_raw(body, "image/png")
}

/// A raw HTTP/1.1 server answering one request with a chunked body of
/// 1 KiB chunks and no Content-Length: `Some(n)` chunks, or endless.
fn chunked_server(chunks: Option<usize>) -> SocketAddr {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let addr = listener.local_addr().expect("local addr");
    std::thread::spawn(move || {
        let Ok((mut stream, _)) = listener.accept() else {
            return;
        };
        let mut head = Vec::new();
        let mut buf = [0u8; 1024];
        while !head.windows(4).any(|w| w == b"\r\n\r\n") {
            match stream.read(&mut buf) {
                Ok(0) | Err(_) => return,
                Ok(n) => head.extend_from_slice(&buf[..n]),
            }
        }
        let mut write = |bytes: &[u8]| stream.write_all(bytes).is_ok();
        if !write(
            b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ntransfer-encoding: chunked\r\n\r\n",
        ) {
            return;
        }
        let mut sent = 0;
        while chunks.is_none_or(|n| sent < n) {
            // Stops when the client hangs up.
            if !(write(b"400\r\n") && write(&[b'x'; 1024]) && write(b"\r\n")) {
                return;
            }
            sent += 1;
        }
        write(b"0\r\n\r\n");
    });
    addr
}

fn closed_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("local addr").port()
}

#[test]
fn policy_defaults() {
    let policy = FetchPolicy::default();
    assert_eq!(policy.max_bytes, 20 * 1024 * 1024);
    assert_eq!(policy.timeout, Duration::from_secs(10));
    assert!(policy.allowed_hosts.is_empty());
    assert!(policy.allow_http);
}

#[tokio::test]
async fn loopback_refused_by_default_without_request() {
    let server = serve("/cat.png", png(b"meow")).await;
    let err = fetcher(FetchPolicy::default())
        .fetch(&format!("{}/cat.png", server.uri()))
        .await
        .expect_err("loopback must be refused");
    assert!(
        matches!(&err, FetchError::HostNotAllowed { host, reason: "loopback" } if host == "127.0.0.1"),
        "{err:?}"
    );
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn allowed_host_is_fetched_with_header_mime() {
    let server = serve(
        "/cat",
        ResponseTemplate::new(200).set_body_raw(&b"meow"[..], "Image/PNG; charset=binary"),
    )
    .await;
    let fetched = fetcher(FetchPolicy::allowing(["127.0.0.1"]))
        .fetch(&format!("{}/cat", server.uri()))
        .await
        .expect("allowed");
    assert_eq!(
        fetched,
        Fetched {
            mime_type: "image/png".into(),
            data: Bytes::from_static(b"meow"),
        }
    );
}

#[tokio::test]
async fn allowed_host_with_port_only_allows_that_port() {
    let server = serve("/cat.png", png(b"meow")).await;
    let port = server.address().port();
    let url = format!("{}/cat.png", server.uri());
    let ok = fetcher(FetchPolicy::allowing([format!("127.0.0.1:{port}")]))
        .fetch(&url)
        .await;
    assert_eq!(ok.expect("allowed").data, Bytes::from_static(b"meow"));
    let other_port = if port == 1 { 2 } else { port - 1 };
    let err = fetcher(FetchPolicy::allowing([format!("127.0.0.1:{other_port}")]))
        .fetch(&url)
        .await
        .expect_err("other port");
    assert!(matches!(err, FetchError::HostNotAllowed { .. }), "{err:?}");
    assert_eq!(request_count(&server).await, 1);
}

#[tokio::test]
async fn localhost_name_refused_by_resolver() {
    let server = serve("/cat.png", png(b"meow")).await;
    let url = format!("http://localhost:{}/cat.png", server.address().port());
    let err = fetcher(FetchPolicy::default())
        .fetch(&url)
        .await
        .expect_err("localhost must be refused");
    assert!(
        matches!(&err, FetchError::HostNotAllowed { host, reason: "loopback" } if host == "localhost"),
        "{err:?}"
    );
    assert_eq!(request_count(&server).await, 0);

    let fetched = fetcher(FetchPolicy::allowing(["LOCALHOST"]))
        .fetch(&url)
        .await
        .expect("allowed by name");
    assert_eq!(fetched.mime_type, "image/png");
}

#[tokio::test]
async fn ip_literals_refused_without_connecting() {
    let fetcher = fetcher(FetchPolicy::default());
    let cases = [
        ("http://10.0.0.1/a.png", "private"),
        ("http://192.168.1.1/a.png", "private"),
        ("https://169.254.169.254/latest/meta-data/", "link-local"),
        ("http://[::1]/a.png", "loopback"),
        ("http://[::ffff:127.0.0.1]/a.png", "loopback"),
        ("http://[::ffff:169.254.169.254]/", "link-local"),
        ("http://0.0.0.0/", "unspecified"),
        ("http://[::]/", "unspecified"),
        ("http://100.64.1.1/", "cgnat"),
        ("http://[fd00::1]/", "private"),
        ("http://[fe80::1]/", "link-local"),
        ("http://0x7f.1/", "loopback"),
        ("http://2130706433/", "loopback"),
    ];
    let start = Instant::now();
    for (url, expected) in cases {
        let err = fetcher.fetch(url).await.expect_err(url);
        assert!(
            matches!(err, FetchError::HostNotAllowed { reason, .. } if reason == expected),
            "{url}: {err:?}"
        );
    }
    assert!(start.elapsed() < Duration::from_secs(2));

    // The mapped form of the mock server's own address never reaches it.
    let server = serve("/cat.png", png(b"meow")).await;
    let url = format!(
        "http://[::ffff:127.0.0.1]:{}/cat.png",
        server.address().port()
    );
    let err = fetcher.fetch(&url).await.expect_err("mapped loopback");
    assert!(matches!(
        err,
        FetchError::HostNotAllowed {
            reason: "loopback",
            ..
        }
    ));
    assert_eq!(request_count(&server).await, 0);
}

#[tokio::test]
async fn mime_from_extension_when_header_is_generic() {
    let server = MockServer::start().await;
    for (route, content_type) in [
        ("/photo.JPG", "application/octet-stream"),
        ("/clip.mp4", "binary/octet-stream; x=y"),
        ("/blob", "application/octet-stream"),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(ResponseTemplate::new(200).set_body_raw(&b"data"[..], content_type))
            .mount(&server)
            .await;
    }
    let fetcher = fetcher(FetchPolicy::allowing(["127.0.0.1"]));
    let photo = fetcher
        .fetch(&format!("{}/photo.JPG?token=x.gif", server.uri()))
        .await
        .expect("photo");
    assert_eq!(photo.mime_type, "image/jpeg");
    let clip = fetcher
        .fetch(&format!("{}/clip.mp4", server.uri()))
        .await
        .expect("clip");
    assert_eq!(clip.mime_type, "video/mp4");
    let err = fetcher
        .fetch(&format!("{}/blob?sig=secret", server.uri()))
        .await
        .expect_err("unknown");
    assert!(matches!(&err, FetchError::UnknownMediaType { url } if url.ends_with("/blob")));
    assert!(!err.to_string().contains("secret"));
}

#[tokio::test]
async fn too_large_by_content_length() {
    let server = serve("/big.png", png(&[0u8; 100])).await;
    let policy = FetchPolicy {
        max_bytes: 99,
        ..FetchPolicy::allowing(["127.0.0.1"])
    };
    let err = fetcher(policy)
        .fetch(&format!("{}/big.png", server.uri()))
        .await
        .expect_err("too large");
    assert!(
        matches!(err, FetchError::TooLarge { limit: 99, .. }),
        "{err:?}"
    );

    let exact = FetchPolicy {
        max_bytes: 100,
        ..FetchPolicy::allowing(["127.0.0.1"])
    };
    let fetched = fetcher(exact)
        .fetch(&format!("{}/big.png", server.uri()))
        .await
        .expect("exactly at the limit");
    assert_eq!(fetched.data.len(), 100);
}

#[tokio::test]
async fn too_large_chunked_body_is_abandoned_early() {
    let addr = chunked_server(None);
    let policy = FetchPolicy {
        max_bytes: 64 * 1024,
        ..FetchPolicy::allowing(["127.0.0.1"])
    };
    let err = fetcher(policy)
        .fetch(&format!("http://{addr}/endless.png"))
        .await
        .expect_err("endless body");
    assert!(
        matches!(err, FetchError::TooLarge { limit: 65536, .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn chunked_body_within_limit() {
    let addr = chunked_server(Some(3));
    let policy = FetchPolicy {
        max_bytes: 3 * 1024,
        ..FetchPolicy::allowing(["127.0.0.1"])
    };
    let fetched = fetcher(policy)
        .fetch(&format!("http://{addr}/three"))
        .await
        .expect("3 KiB");
    assert_eq!(fetched.mime_type, "image/png");
    assert_eq!(fetched.data.len(), 3 * 1024);
}

#[tokio::test]
async fn not_found_is_status_error() {
    let server = MockServer::start().await;
    let err = fetcher(FetchPolicy::allowing(["127.0.0.1"]))
        .fetch(&format!("{}/missing.png?key=secret", server.uri()))
        .await
        .expect_err("404");
    assert!(
        matches!(&err, FetchError::Status { status: 404, url } if !url.contains('?')),
        "{err:?}"
    );
}

#[tokio::test]
async fn slow_server_times_out() {
    let server = serve("/slow.png", png(b"meow").set_delay(Duration::from_secs(5))).await;
    let policy = FetchPolicy {
        timeout: Duration::from_millis(200),
        ..FetchPolicy::allowing(["127.0.0.1"])
    };
    let start = Instant::now();
    let err = fetcher(policy)
        .fetch(&format!("{}/slow.png", server.uri()))
        .await
        .expect_err("timeout");
    assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
    assert!(start.elapsed() < Duration::from_secs(2));
}

#[tokio::test]
async fn unsupported_schemes_and_bad_urls() {
    let fetcher = fetcher(FetchPolicy::default());
    for url in [
        "ftp://example.com/a.png",
        "file:///etc/passwd",
        "gs://bucket/a.png",
        "data:image/png;base64,AAAA",
    ] {
        let err = fetcher.fetch(url).await.expect_err(url);
        assert!(
            matches!(err, FetchError::UnsupportedScheme { .. }),
            "{url}: {err:?}"
        );
    }
    let err = fetcher.fetch("not a url").await.expect_err("garbage");
    assert!(matches!(err, FetchError::InvalidUrl { .. }), "{err:?}");

    let https_only = MediaFetcher::new(FetchPolicy {
        allow_http: false,
        ..FetchPolicy::default()
    })
    .expect("fetcher");
    let err = https_only
        .fetch("http://example.com/a.png")
        .await
        .expect_err("http disabled");
    assert!(
        matches!(err, FetchError::UnsupportedScheme { .. }),
        "{err:?}"
    );
}

#[tokio::test]
async fn redirects_are_followed_and_rechecked() {
    let server = MockServer::start().await;
    let port = server.address().port();
    let redirect = |to: String| ResponseTemplate::new(302).insert_header("location", to);
    for (route, response) in [
        ("/start", redirect("/cat.png".into())),
        ("/cat.png", png(b"meow")),
        (
            "/to-localhost",
            redirect(format!("http://localhost:{port}/cat.png")),
        ),
        (
            "/to-mapped",
            redirect(format!("http://[::ffff:7f00:2]:{port}/cat.png")),
        ),
        ("/to-metadata", redirect("http://169.254.169.254/".into())),
        ("/to-file", redirect("file:///etc/passwd".into())),
        ("/loop", redirect("/loop".into())),
    ] {
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(response)
            .mount(&server)
            .await;
    }
    let fetcher = fetcher(FetchPolicy::allowing(["127.0.0.1"]));
    let base = server.uri();

    let fetched = fetcher
        .fetch(&format!("{base}/start"))
        .await
        .expect("relative redirect");
    assert_eq!(fetched.mime_type, "image/png");

    for (route, reason) in [
        ("/to-localhost", "loopback"),
        ("/to-mapped", "loopback"),
        ("/to-metadata", "link-local"),
    ] {
        let err = fetcher
            .fetch(&format!("{base}{route}"))
            .await
            .expect_err(route);
        assert!(
            matches!(err, FetchError::HostNotAllowed { reason: r, .. } if r == reason),
            "{route}: {err:?}"
        );
    }
    let err = fetcher
        .fetch(&format!("{base}/to-file"))
        .await
        .expect_err("file");
    assert!(
        matches!(err, FetchError::UnsupportedScheme { .. }),
        "{err:?}"
    );

    let before = request_count(&server).await;
    let err = fetcher
        .fetch(&format!("{base}/loop"))
        .await
        .expect_err("loop");
    assert!(
        matches!(&err, FetchError::Transport { message, .. } if message.contains("redirects")),
        "{err:?}"
    );
    assert_eq!(request_count(&server).await - before, MAX_REDIRECTS + 1);

    // Only /start, /cat.png and the refused redirects' first hops arrived.
    let cat_hits = server
        .received_requests()
        .await
        .expect("recording enabled")
        .iter()
        .filter(|request| request.url.path() == "/cat.png")
        .count();
    assert_eq!(cat_hits, 1);
}

#[tokio::test]
async fn transport_error_hides_credentials() {
    let url = format!(
        "http://user:hunter2@127.0.0.1:{}/a.png?key=secret#frag",
        closed_port()
    );
    let err = fetcher(FetchPolicy::allowing(["127.0.0.1"]))
        .fetch(&url)
        .await
        .expect_err("connection refused");
    assert!(matches!(err, FetchError::Transport { .. }), "{err:?}");
    let shown = format!("{err} {err:?}");
    assert!(!shown.contains("hunter2"), "{shown}");
    assert!(!shown.contains("secret"), "{shown}");
    assert!(!shown.contains("frag"), "{shown}");
}

#[test]
fn mime_from_extension_table() {
    let cases = [
        ("a.png", Some("image/png")),
        ("/x/a.JPG", Some("image/jpeg")),
        ("a.jpeg", Some("image/jpeg")),
        ("a.webp", Some("image/webp")),
        ("a.gif", Some("image/gif")),
        ("a.heic", Some("image/heic")),
        ("a.heif", Some("image/heif")),
        ("gs://b/doc.pdf", Some("application/pdf")),
        ("a.mp3", Some("audio/mp3")),
        ("a.wav", Some("audio/wav")),
        ("a.ogg", Some("audio/ogg")),
        ("a.flac", Some("audio/flac")),
        ("a.aac", Some("audio/aac")),
        ("a.mp4", Some("video/mp4")),
        ("a.mov", Some("video/mov")),
        ("a.webm", Some("video/webm")),
        ("notes.txt", Some("text/plain")),
        ("https://h/a.png?b=c.pdf", Some("image/png")),
        ("https://h/a.webp#frag.txt", Some("image/webp")),
        ("https://h/download?file=a.png", None),
        ("https://h.png/", None),
        ("https://h/archive.tar.gz", None),
        ("noextension", None),
        ("", None),
    ];
    for (input, expected) in cases {
        assert_eq!(mime_from_extension(input), expected, "{input}");
    }
}

#[test]
fn blocked_reason_ranges() {
    let cases: [(&str, Option<&str>); 28] = [
        ("8.8.8.8", None),
        ("1.1.1.1", None),
        ("2606:4700:4700::1111", None),
        ("64:ff9b::808:808", None),
        ("2002:808:808::1", None),
        ("0.1.2.3", Some("unspecified")),
        ("127.0.0.2", Some("loopback")),
        ("10.1.2.3", Some("private")),
        ("172.16.0.1", Some("private")),
        ("172.31.255.255", Some("private")),
        ("172.32.0.1", None),
        ("192.168.0.1", Some("private")),
        ("169.254.169.254", Some("link-local")),
        ("100.64.0.1", Some("cgnat")),
        ("100.127.255.255", Some("cgnat")),
        ("100.128.0.1", None),
        ("255.255.255.255", Some("broadcast")),
        ("224.0.0.1", Some("multicast")),
        ("203.0.113.5", Some("documentation")),
        ("198.18.0.1", Some("benchmarking")),
        ("240.0.0.1", Some("reserved")),
        ("::ffff:10.0.0.1", Some("private")),
        ("::127.0.0.1", Some("reserved")),
        ("64:ff9b::a9fe:a9fe", Some("link-local")),
        ("2002:7f00:1::", Some("loopback")),
        ("fc00::1", Some("private")),
        ("ff02::1", Some("multicast")),
        ("2001:db8::1", Some("documentation")),
    ];
    for (ip, expected) in cases {
        let parsed: IpAddr = ip.parse().expect(ip);
        assert_eq!(blocked_reason(parsed), expected, "{ip}");
    }
}

#[test]
fn allow_entries_parse_and_match() {
    let entry = |text: &str| AllowEntry::parse(text).expect(text);
    let name = |text: &str| AllowedHost::Name(text.into());
    let ip = |text: &str| AllowedHost::Ip(text.parse().expect(text));
    assert_eq!(
        entry(" LocalHost "),
        AllowEntry {
            host: name("localhost"),
            port: None
        }
    );
    assert_eq!(
        entry("minio.internal.:9000"),
        AllowEntry {
            host: name("minio.internal"),
            port: Some(9000)
        }
    );
    assert_eq!(
        entry("127.0.0.1:8080"),
        AllowEntry {
            host: ip("127.0.0.1"),
            port: Some(8080)
        }
    );
    assert_eq!(
        entry("::1"),
        AllowEntry {
            host: ip("::1"),
            port: None
        }
    );
    assert_eq!(
        entry("[::1]:9000"),
        AllowEntry {
            host: ip("::1"),
            port: Some(9000)
        }
    );
    assert_eq!(
        entry("[::1]"),
        AllowEntry {
            host: ip("::1"),
            port: None
        }
    );
    for bad in [
        "",
        ":80",
        "host:port",
        "[::1",
        "[zz]",
        "[::1]x",
        "http://host",
        "a:b:c:d",
    ] {
        assert!(
            AllowEntry::parse(bad).is_err(),
            "{bad:?} should be rejected"
        );
    }

    let v4 = Host::Ipv4(Ipv4Addr::LOCALHOST);
    let mapped = Host::Ipv6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
    assert!(entry("127.0.0.1").matches(&v4, 80));
    assert!(entry("127.0.0.1").matches(&mapped, 80));
    assert!(entry("[::ffff:127.0.0.1]").matches(&v4, 80));
    assert!(!entry("127.0.0.1:81").matches(&v4, 80));
    assert!(!entry("127.0.0.1").matches(&Host::Domain("localhost"), 80));
    assert!(entry("minio.internal").matches(&Host::Domain("minio.internal."), 443));
    assert!(!entry("minio.internal").matches(&Host::Domain("evil.minio.internal"), 443));
    assert!(!entry("localhost").matches(&v4, 80));
}
