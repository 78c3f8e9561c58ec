//! Upstream failures seen through the HTTP edge: Google's error replies (recorded and
//! synthetic fixtures), replies that are not Gemini's API, an unreachable upstream and a
//! slow one. Each test checks the status, `Retry-After` and the whole OpenAI envelope, and
//! that the API key shows up nowhere.

mod common;

use std::time::Duration;

use common::{StandIn, TEST_KEY, body_bytes, exchange, fixture_file};
use http::StatusCode;
use llm_tower::Secret;
use llm_tower::edge::ChatEdge;
use llm_tower::gemini::wire::{Content, GenerateContentRequest, Part};
use llm_tower::gemini::{ApiKeyLayer, Call, GeminiHttpLayer, Method};
use llm_tower::upstream::HttpTransport;
use serde_json::{Value, json};
use tower::{ServiceBuilder, ServiceExt};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, ResponseTemplate};

/// Answers `generateContent` of `model` (with the key header) with `template`.
async fn reply_with(stand_in: &StandIn, model: &str, template: ResponseTemplate) {
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{model}:generateContent")))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(template)
        .mount(&stand_in.server)
        .await;
}

/// Serves the recorded error reply of fixture `prefix` (JSON or not, with its status and
/// content type) and returns the model it was recorded for.
async fn serve_fixture(stand_in: &StandIn, prefix: &str) -> String {
    let (request, response) = exchange(&fixture_file(prefix), 0);
    let model = request["path"]
        .as_str()
        .and_then(|path| path.strip_prefix("/v1beta/models/"))
        .and_then(|rest| rest.strip_suffix(":generateContent"))
        .expect("a generateContent path")
        .to_owned();
    let status = response["status"].as_u64().expect("status") as u16;
    let content_type = response["headers"]["content-type"]
        .as_str()
        .expect("content type")
        .to_owned();
    let bytes = match &response["body"] {
        Value::String(text) => text.clone().into_bytes(),
        body => serde_json::to_vec(body).expect("JSON body"),
    };
    reply_with(
        stand_in,
        &model,
        ResponseTemplate::new(status).set_body_raw(bytes, &content_type),
    )
    .await;
    model
}

/// What the edge answered.
struct Answer {
    status: StatusCode,
    retry_after: Option<String>,
    text: String,
    json: Value,
}

/// Posts a one-message chat request for `model` through the HTTP edge.
async fn post(stand_in: &StandIn, model: &str) -> Answer {
    let body = json!({"model": model, "messages": [{"role": "user", "content": "Hello"}]});
    let request = http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .body(body.to_string())
        .expect("request");
    let response = ChatEdge::new(stand_in.gemini.chat_service())
        .oneshot(request)
        .await
        .expect("the edge never fails");
    let status = response.status();
    let retry_after = response
        .headers()
        .get("retry-after")
        .map(|value| value.to_str().expect("ASCII").to_owned());
    assert_eq!(response.headers()["content-type"], "application/json");
    let bytes = body_bytes(response).await;
    let text = String::from_utf8(bytes.to_vec()).expect("UTF-8 body");
    let json = serde_json::from_str(&text).expect("a JSON envelope");
    assert!(!text.contains(TEST_KEY), "the key leaked: {text}");
    Answer {
        status,
        retry_after,
        text,
        json,
    }
}

/// The same request through the Rust client: the error's `Display` and `Debug` must not
/// carry the key either, and agree with what the edge rendered.
async fn client_error(stand_in: &StandIn, model: &str) -> llm_tower::Error {
    let request =
        common::chat(json!({"model": model, "messages": [{"role": "user", "content": "Hello"}]}));
    let error = stand_in.client().chat(request).await.expect_err("an error");
    for rendered in [format!("{error:?}"), error.to_string()] {
        assert!(!rendered.contains(TEST_KEY), "the key leaked: {rendered}");
    }
    error
}

fn envelope(message: &str, kind: &str, code: &str) -> Value {
    json!({"error": {"message": message, "type": kind, "param": null, "code": code}})
}

/// Serves fixture `prefix` and checks the edge's status, `Retry-After` and envelope.
async fn check_fixture(prefix: &str, status: u16, retry_after: Option<&str>, expected: Value) {
    let stand_in = StandIn::start().await;
    let model = serve_fixture(&stand_in, prefix).await;
    let answer = post(&stand_in, &model).await;
    assert_eq!(answer.status, status, "{prefix}: {}", answer.text);
    assert_eq!(answer.retry_after.as_deref(), retry_after, "{prefix}");
    assert_eq!(answer.json, expected, "{prefix}");
    let error = client_error(&stand_in, &model).await;
    assert_eq!(error.status(), status, "{prefix}");
    assert_eq!(error.message(), expected["error"]["message"], "{prefix}");
}

#[tokio::test]
async fn quota_429_keeps_its_status_and_retry_delay() {
    check_fixture(
        "65",
        429,
        Some("17"),
        envelope(
            "Gemini: You exceeded your current quota, please check your plan and billing details.",
            "rate_limit_error",
            "RESOURCE_EXHAUSTED",
        ),
    )
    .await;
}

#[tokio::test]
async fn internal_500() {
    check_fixture(
        "66",
        500,
        None,
        envelope(
            "Gemini: An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting",
            "api_error",
            "INTERNAL",
        ),
    )
    .await;
}

#[tokio::test]
async fn overloaded_503_stays_503() {
    check_fixture(
        "67",
        503,
        None,
        envelope(
            "Gemini: The model is overloaded. Please try again later.",
            "service_unavailable_error",
            "UNAVAILABLE",
        ),
    )
    .await;
}

#[tokio::test]
async fn invalid_key_400_is_401() {
    check_fixture(
        "68",
        401,
        None,
        envelope(
            "Gemini: API key not valid. Please pass a valid API key.",
            "authentication_error",
            "API_KEY_INVALID",
        ),
    )
    .await;
}

#[tokio::test]
async fn invalid_argument_400() {
    check_fixture(
        "69",
        400,
        None,
        envelope(
            "Gemini: Invalid JSON payload received. Unknown name \"foo\" at 'generation_config': Cannot find field.",
            "invalid_request_error",
            "INVALID_ARGUMENT",
        ),
    )
    .await;
}

#[tokio::test]
async fn context_too_long_400_is_context_window_exceeded() {
    check_fixture(
        "70",
        400,
        None,
        envelope(
            "Gemini: The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
            "invalid_request_error",
            "ContextWindowExceededError",
        ),
    )
    .await;
    let stand_in = StandIn::start().await;
    let model = serve_fixture(&stand_in, "70").await;
    assert_eq!(
        client_error(&stand_in, &model).await.kind(),
        llm_tower::ErrorKind::ContextWindowExceeded
    );
}

#[tokio::test]
async fn permission_denied_403() {
    check_fixture(
        "71",
        403,
        None,
        envelope(
            "Gemini: You do not have permission to access the File abc123 or it may not exist.",
            "permission_error",
            "PERMISSION_DENIED",
        ),
    )
    .await;
}

#[tokio::test]
async fn html_502_gives_its_readable_text() {
    check_fixture(
        "72",
        502,
        None,
        envelope(
            "Gemini: Error 502 (Server Error)!!1 502. That\u{2019}s an error.",
            "service_unavailable_error",
            "BadGatewayError",
        ),
    )
    .await;
}

#[tokio::test]
async fn long_html_error_pages_are_cut() {
    let stand_in = StandIn::start().await;
    let page = format!(
        "<!DOCTYPE html><html><head><style>body{{font:13px arial}}</style></head><body><p>{}</p></body></html>",
        "overloaded ".repeat(100)
    );
    reply_with(
        &stand_in,
        "gemini-2.5-flash",
        ResponseTemplate::new(502).set_body_raw(page, "text/html"),
    )
    .await;
    let answer = post(&stand_in, "gemini-2.5-flash").await;
    assert_eq!(answer.status, 502);
    // 200 characters of text: 18 words and their spaces (198), then "ov".
    let expected = format!("Gemini: {}ov…", "overloaded ".repeat(18));
    assert_eq!(
        answer.json,
        envelope(&expected, "service_unavailable_error", "BadGatewayError")
    );
    assert!(!answer.text.contains('<'), "{}", answer.text);
}

#[tokio::test]
async fn nonexistent_model_404_keeps_googles_message() {
    check_fixture(
        "50",
        404,
        None,
        envelope(
            "Gemini: models/gemini-nonexistent-rig-test is not found for API version v1beta, or is not supported for generateContent. Call ModelService.ListModels to see the list of available models and their supported methods.",
            "not_found_error",
            "NOT_FOUND",
        ),
    )
    .await;
}

#[tokio::test]
async fn a_retry_after_header_is_passed_on() {
    let stand_in = StandIn::start().await;
    let body = json!({"error": {"code": 503, "message": "The model is overloaded. Please try again later.", "status": "UNAVAILABLE"}});
    reply_with(
        &stand_in,
        "gemini-2.5-flash",
        ResponseTemplate::new(503)
            .insert_header("retry-after", "30")
            .set_body_json(body),
    )
    .await;
    let answer = post(&stand_in, "gemini-2.5-flash").await;
    assert_eq!(answer.status, 503);
    assert_eq!(answer.retry_after.as_deref(), Some("30"));
    assert_eq!(
        answer.json,
        envelope(
            "Gemini: The model is overloaded. Please try again later.",
            "service_unavailable_error",
            "UNAVAILABLE"
        )
    );
}

#[tokio::test]
async fn a_200_that_is_not_json_is_a_502() {
    let stand_in = StandIn::start().await;
    reply_with(
        &stand_in,
        "gemini-2.5-flash",
        ResponseTemplate::new(200).set_body_raw(
            "<html><head><title>Sign in</title></head><body>Please sign in to the network.</body></html>",
            "text/html",
        ),
    )
    .await;
    let answer = post(&stand_in, "gemini-2.5-flash").await;
    assert_eq!(answer.status, 502);
    assert_eq!(answer.retry_after, None);
    assert_eq!(
        answer.json,
        envelope(
            "malformed Gemini reply: expected value at line 1 column 1 in Sign in Please sign in to the network.",
            "service_unavailable_error",
            "BadGatewayError"
        )
    );
}

#[tokio::test]
async fn a_200_of_the_wrong_shape_is_a_502() {
    let stand_in = StandIn::start().await;
    reply_with(
        &stand_in,
        "gemini-2.5-flash",
        ResponseTemplate::new(200).set_body_raw(r#"{"candidates":"none"}"#, "application/json"),
    )
    .await;
    let answer = post(&stand_in, "gemini-2.5-flash").await;
    assert_eq!(answer.status, 502);
    assert_eq!(
        answer.json,
        envelope(
            r#"malformed Gemini reply: invalid type: string "none", expected a sequence at line 1 column 20 in {"candidates":"none"}"#,
            "service_unavailable_error",
            "BadGatewayError"
        )
    );
}

/// A base URL on a port nobody listens on.
fn closed_port_base() -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("a free port");
    let port = listener.local_addr().expect("address").port();
    drop(listener);
    format!("http://127.0.0.1:{port}/v1beta")
}

#[tokio::test]
async fn an_unreachable_upstream_is_a_503() {
    let base = closed_port_base();
    let stand_in = StandIn::start_with(move |builder| builder.api_base(base)).await;
    let answer = post(&stand_in, "gemini-2.5-flash").await;
    assert_eq!(answer.status, 503, "{}", answer.text);
    assert_eq!(answer.retry_after, None);
    let message = answer.json["error"]["message"]
        .as_str()
        .expect("message")
        .to_owned();
    // The kind alone: the cause (hyper-util's, the OS's) is logged and kept as the
    // error's source, never shown to the client.
    assert_eq!(message, "could not reach Gemini");
    assert!(!message.contains("Connection refused"), "{message}");
    assert!(
        !message.contains("127.0.0.1"),
        "no URL in the message: {message}"
    );
    assert_eq!(
        answer.json,
        envelope(
            &message,
            "service_unavailable_error",
            "ServiceUnavailableError"
        )
    );
    let error = client_error(&stand_in, "gemini-2.5-flash").await;
    assert_eq!(error.status(), 503);
}

#[tokio::test]
async fn a_slow_upstream_is_a_504() {
    let stand_in = StandIn::start_with(|builder| builder.timeout(Duration::from_millis(300))).await;
    let body = common::fixture(&fixture_file("01"))["exchanges"][0]["response"]["body"].clone();
    reply_with(
        &stand_in,
        "gemini-2.5-flash",
        ResponseTemplate::new(200)
            .set_body_json(body)
            .set_delay(Duration::from_secs(5)),
    )
    .await;
    let answer = post(&stand_in, "gemini-2.5-flash").await;
    assert_eq!(answer.status, 504, "{}", answer.text);
    assert_eq!(
        answer.json,
        envelope("Gemini did not answer in time", "timeout_error", "Timeout")
    );
}

#[tokio::test]
async fn a_reply_body_that_stalls_is_a_504() {
    // Headers arrive at once, then the body stops half-way: the client's deadline passes
    // while the body is being read, which is still a timeout, not a broken connection.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("listener");
    let address = listener.local_addr().expect("address");
    let server = tokio::spawn(async move {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let mut connections = Vec::new();
        while let Ok((mut socket, _)) = listener.accept().await {
            let mut buffer = vec![0; 64 * 1024];
            let _ = socket.read(&mut buffer).await;
            let head = "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 1000\r\n\r\n{\"candidates\":[";
            let _ = socket.write_all(head.as_bytes()).await;
            let _ = socket.flush().await;
            connections.push(socket);
        }
    });
    let base = format!("http://{address}/v1beta");
    let stand_in = StandIn::start_with(move |builder| {
        builder.api_base(base).timeout(Duration::from_millis(500))
    })
    .await;
    let answer = post(&stand_in, "gemini-2.5-flash").await;
    assert_eq!(answer.status, 504, "{}", answer.text);
    assert_eq!(
        answer.json,
        envelope("Gemini did not answer in time", "timeout_error", "Timeout")
    );
    server.abort();
}

/// The Gemini-level error of one `generateContent` call to `base` with [`TEST_KEY`].
async fn gemini_error(base: &str) -> llm_tower::gemini::Error {
    let service = ServiceBuilder::new()
        .layer(GeminiHttpLayer::new(base))
        .layer(ApiKeyLayer::new(Some(Secret::new(TEST_KEY))))
        .service(HttpTransport::builder().build().expect("transport"));
    let mut body = GenerateContentRequest::default();
    body.contents = vec![Content {
        role: Some("user".to_owned()),
        parts: vec![Part::text("Hello")],
    }];
    service
        .oneshot(Call::new("gemini-2.5-flash", Method::Generate(body)))
        .await
        .expect_err("an error")
}

#[tokio::test]
async fn gemini_level_errors_never_show_the_key() {
    let stand_in = StandIn::start().await;
    // The stand-in echoes nothing of the request; a leak could only come from our side.
    for (prefix, status) in [("65", 429), ("68", 400), ("72", 502)] {
        serve_fixture(&stand_in, prefix).await;
        let error = gemini_error(&format!("{}/v1beta", stand_in.server.uri())).await;
        let llm_tower::gemini::Error::Upstream { status: got, .. } = &error else {
            panic!("{prefix}: {error:?}");
        };
        assert_eq!(got.as_u16(), status, "{prefix}");
        for rendered in [format!("{error:?}"), error.to_string()] {
            assert!(
                !rendered.contains(TEST_KEY),
                "{prefix}: the key leaked: {rendered}"
            );
        }
        stand_in.server.reset().await;
    }
    let error = gemini_error(&closed_port_base()).await;
    assert!(
        matches!(error, llm_tower::gemini::Error::Transport(_)),
        "{error:?}"
    );
    for rendered in [format!("{error:?}"), error.to_string()] {
        assert!(!rendered.contains(TEST_KEY), "the key leaked: {rendered}");
    }
    // The key did travel, in its header.
    let stand_in = StandIn::start().await;
    serve_fixture(&stand_in, "66").await;
    gemini_error(&format!("{}/v1beta", stand_in.server.uri())).await;
    let requests = stand_in.server.received_requests().await.expect("recorded");
    assert_eq!(requests.len(), 1);
    assert_eq!(requests[0].headers["x-goog-api-key"], TEST_KEY);
    assert!(!requests[0].url.as_str().contains(TEST_KEY));
}
