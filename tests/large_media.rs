//! Inline media past the inline limit go through the Files API: against a wiremock Gemini,
//! a chat request with a 21 MB image makes exactly one resumable upload of its bytes, waits
//! for the file to be `ACTIVE`, sends `generateContent` with a `fileData` part instead of
//! the `inlineData`, then deletes the file; a small image stays inline; a refused upload is
//! the client's error with Google's status. Through the proxy, a request past the default
//! body limit is let in when `max_request_size_mb` allows it.
//!
//! The Files API shapes (the `File` resource, its `PROCESSING`/`ACTIVE` states, the
//! resumable upload's headers) are those of Google's reference,
//! <https://ai.google.dev/api/files> (read 2026-12-07).

mod common;
#[cfg(feature = "proxy")]
#[path = "common/proxy.rs"]
mod proxy_app;

use std::time::Duration;

use base64::Engine;
use common::{StandIn, TEST_KEY, chat};
use llm_tower::ErrorKind;
use serde_json::{Value, json};
use wiremock::matchers::{header, headers, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FLASH: &str = "gemini-2.5-flash";

/// A 21 MB image: past Google's 20 MB per request.
const LARGE: usize = 21 * 1024 * 1024;

const FILE_URI: &str = "https://generativelanguage.googleapis.com/v1beta/files/media-abc";

/// A `generateContent` reply of one text part.
fn ok_reply() -> Value {
    json!({
        "candidates": [{
            "content": {"parts": [{"text": "ok"}], "role": "model"},
            "finishReason": "STOP",
            "index": 0
        }],
        "usageMetadata": {"promptTokenCount": 5, "candidatesTokenCount": 1, "totalTokenCount": 6}
    })
}

/// The Files API's `File` of the upload, in `state`.
fn file(state: &str) -> Value {
    json!({
        "name": "files/media-abc",
        "mimeType": "image/png",
        "sizeBytes": LARGE.to_string(),
        "createTime": "2026-12-07T13:00:00.000000Z",
        "expirationTime": "2026-12-09T13:00:00.000000Z",
        "uri": FILE_URI,
        "state": state,
        "source": "UPLOADED"
    })
}

/// A chat request of one text part and one `data:` image of `bytes`.
fn with_image(bytes: &[u8]) -> llm_tower::openai::ChatRequest {
    let data = base64::engine::general_purpose::STANDARD.encode(bytes);
    chat(json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is in this picture?"},
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{data}")}}
        ]}]
    }))
}

/// The start of the resumable upload of `size` bytes (checked headers), answering `response`.
async fn mock_upload_start(server: &MockServer, size: usize, response: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(header("x-goog-upload-protocol", "resumable"))
        .and(header("x-goog-upload-command", "start"))
        .and(header(
            "x-goog-upload-header-content-length",
            size.to_string().as_str(),
        ))
        .and(header("x-goog-upload-header-content-type", "image/png"))
        .respond_with(response)
        .expect(1)
        .mount(server)
        .await;
}

/// The start of the resumable upload of `size` bytes, answering its session URL.
async fn mock_upload_session(server: &MockServer, size: usize) {
    mock_upload_start(
        server,
        size,
        ResponseTemplate::new(200).insert_header(
            "x-goog-upload-url",
            format!(
                "{}/upload/v1beta/files?upload_id=session-1&upload_protocol=resumable",
                server.uri()
            ),
        ),
    )
    .await;
}

/// The requests Gemini received, as `METHOD path`.
async fn calls(server: &MockServer) -> Vec<String> {
    server
        .received_requests()
        .await
        .expect("recorded")
        .iter()
        .map(|request| format!("{} {}", request.method, request.url.path()))
        .collect()
}

/// The upload's finalizing request (checked headers), answering the file in `state`.
async fn mock_upload_finalize(server: &MockServer, state: &str) {
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(query_param("upload_id", "session-1"))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(headers("x-goog-upload-command", vec!["upload", "finalize"]))
        .and(header("x-goog-upload-offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"file": file(state)})))
        .expect(1)
        .mount(server)
        .await;
}

/// The uploaded file's deletion, expected once.
async fn mock_delete(server: &MockServer) {
    Mock::given(method("DELETE"))
        .and(path("/v1beta/files/media-abc"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(server)
        .await;
}

/// The whole upload of `size` bytes (the file `PROCESSING` at first, then `ACTIVE`) and
/// its deletion, each expected once.
async fn mock_files(server: &MockServer, size: usize) {
    mock_upload_session(server, size).await;
    // Google is still reading the file: the call waits for it.
    mock_upload_finalize(server, "PROCESSING").await;
    Mock::given(method("GET"))
        .and(path("/v1beta/files/media-abc"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(file("ACTIVE")))
        .expect(1)
        .mount(server)
        .await;
    mock_delete(server).await;
}

/// The calls Gemini received once the file's deletion (spawned) arrived, within 5 s.
async fn calls_after_delete(server: &MockServer) -> Vec<String> {
    let mut seen = calls(server).await;
    for _ in 0..50 {
        if seen.iter().any(|call| call.starts_with("DELETE")) {
            break;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
        seen = calls(server).await;
    }
    seen
}

/// What a request with one uploaded image makes Gemini receive, in order.
const UPLOADED_CALLS: [&str; 5] = [
    "POST /upload/v1beta/files",
    "POST /upload/v1beta/files",
    "GET /v1beta/files/media-abc",
    "POST /v1beta/models/gemini-2.5-flash:generateContent",
    "DELETE /v1beta/files/media-abc",
];

/// `size` bytes of an image.
fn image_of(size: usize) -> Vec<u8> {
    (0..size).map(|index| (index % 251) as u8).collect()
}

#[tokio::test]
async fn a_large_image_is_uploaded_sent_as_a_file_and_deleted() {
    let stand_in = StandIn::start().await;
    let server = &stand_in.server;
    mock_files(server, LARGE).await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;

    let image = image_of(LARGE);
    let completion = stand_in
        .client()
        .chat(with_image(&image))
        .await
        .expect("answered");
    assert_eq!(completion.choices[0].message.content.as_deref(), Some("ok"));

    // The file is deleted once the reply is over, in the background.
    assert_eq!(calls_after_delete(server).await, UPLOADED_CALLS);
    let received = server.received_requests().await.expect("recorded");
    assert_eq!(
        received[1].body, image,
        "the upload carries the image's bytes"
    );
    let sent: Value = serde_json::from_slice(&received[3].body).expect("JSON");
    assert_eq!(
        sent["contents"][0]["parts"],
        json!([
            {"text": "What is in this picture?"},
            {"fileData": {"mimeType": "image/png", "fileUri": FILE_URI}}
        ])
    );
    assert!(
        !String::from_utf8_lossy(&received[3].body).contains("inlineData"),
        "nothing stays inline"
    );
}

#[tokio::test]
async fn a_small_image_stays_inline() {
    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let image = vec![7u8; 1024];
    stand_in
        .client()
        .chat(with_image(&image))
        .await
        .expect("answered");
    let sent = stand_in.received_body().await;
    assert_eq!(
        sent["contents"][0]["parts"][1]["inlineData"]["data"],
        base64::engine::general_purpose::STANDARD.encode(&image)
    );
}

#[tokio::test]
async fn a_file_google_cannot_process_is_a_400_and_is_deleted() {
    let stand_in = StandIn::start().await;
    let server = &stand_in.server;
    mock_upload_session(server, LARGE).await;
    mock_upload_finalize(server, "FAILED").await;
    mock_delete(server).await;

    let error = stand_in
        .client()
        .chat(with_image(&image_of(LARGE)))
        .await
        .expect_err("Google could not read the file");
    assert_eq!(error.status().as_u16(), 400, "{error}");
    assert_eq!(error.param(), Some("messages"));
    // No call is made with it, and it is not left behind.
    assert_eq!(
        calls_after_delete(server).await,
        [
            "POST /upload/v1beta/files",
            "POST /upload/v1beta/files",
            "DELETE /v1beta/files/media-abc"
        ]
    );
}

#[tokio::test]
async fn a_refused_upload_is_the_clients_error_with_googles_status() {
    let stand_in = StandIn::start().await;
    mock_upload_start(
        &stand_in.server,
        LARGE,
        ResponseTemplate::new(403).set_body_json(json!({"error": {
            "code": 403,
            "message": "The caller does not have permission",
            "status": "PERMISSION_DENIED"
        }})),
    )
    .await;
    let image = vec![1u8; LARGE];
    let error = stand_in
        .client()
        .chat(with_image(&image))
        .await
        .expect_err("the upload was refused");
    assert_eq!(error.kind(), ErrorKind::PermissionDenied);
    assert_eq!(error.status().as_u16(), 403);
    assert!(
        error.message().contains("does not have permission"),
        "{error}"
    );
    assert_eq!(calls(&stand_in.server).await, ["POST /upload/v1beta/files"]);
}

/// Through the proxy: a 26 MiB image (a body past the default 32 MiB) is a 413, and goes
/// through the Files API with `max_request_size_mb: 64`.
#[cfg(feature = "proxy")]
#[tokio::test]
async fn the_proxy_lets_large_media_in_up_to_max_request_size_mb() {
    const SIZE: usize = 26 * 1024 * 1024;
    let data = base64::engine::general_purpose::STANDARD.encode(image_of(SIZE));
    let body = json!({
        "model": "gemini-flash",
        "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{data}")}}
        ]}]
    });
    drop(data);

    let stand_in = StandIn::start().await;
    let proxy = proxy_app::gemini_proxy(&stand_in, "sk-master", "");
    let (status, error) = proxy_app::send(
        &proxy,
        "POST",
        "/v1/chat/completions",
        "sk-master",
        Some(body.clone()),
    )
    .await;
    assert_eq!(status, 413, "{error}");
    assert!(calls(&stand_in.server).await.is_empty());

    let stand_in = StandIn::start().await;
    mock_files(&stand_in.server, SIZE).await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let proxy = proxy_app::gemini_proxy(&stand_in, "sk-master", "  max_request_size_mb: 64\n");
    let (status, reply) = proxy_app::send(
        &proxy,
        "POST",
        "/v1/chat/completions",
        "sk-master",
        Some(body),
    )
    .await;
    assert_eq!(status, 200, "{reply}");
    assert_eq!(reply["choices"][0]["message"]["content"], "ok");
    assert_eq!(calls_after_delete(&stand_in.server).await, UPLOADED_CALLS);
}

#[tokio::test]
async fn a_streamed_reply_keeps_the_file_until_the_stream_is_over() {
    use futures_util::StreamExt;

    let stand_in = StandIn::start().await;
    let server = &stand_in.server;
    mock_files(server, LARGE).await;
    stand_in
        .reply_sse(
            FLASH,
            "data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"o\"}], \"role\": \"model\"}, \"index\": 0}]}\r\n\r\n\
             data: {\"candidates\": [{\"content\": {\"parts\": [{\"text\": \"k\"}], \"role\": \"model\"}, \"finishReason\": \"STOP\", \"index\": 0}]}\r\n\r\n",
        )
        .await;
    let mut request = with_image(&image_of(LARGE));
    request.stream = Some(true);
    let mut stream = stand_in
        .client()
        .chat_stream(request)
        .await
        .expect("a stream");
    let first = stream.next().await.expect("a chunk").expect("not an error");
    assert!(
        first
            .choices
            .iter()
            .any(|choice| choice.delta.content.is_some())
    );
    // The stream is open: its file is still there.
    tokio::time::sleep(Duration::from_millis(200)).await;
    assert!(
        !calls(server)
            .await
            .iter()
            .any(|call| call.starts_with("DELETE")),
        "deleted while the stream is read"
    );
    while let Some(chunk) = stream.next().await {
        chunk.expect("not an error");
    }
    drop(stream);
    let mut expected = UPLOADED_CALLS.map(str::to_owned);
    expected[3] = "POST /v1beta/models/gemini-2.5-flash:streamGenerateContent".to_owned();
    assert_eq!(calls_after_delete(server).await, expected);
}
