//! `/v1/files` and `/v1/batches` against a wiremock Gemini that answers with the Files
//! API's and Batch Mode's documented shapes (`tests/fixtures/files/batch_mode.json`, its
//! provenance inside): the exact upstream requests (resumable upload, the translated
//! JSONL, `batchGenerateContent`, polling, the results download, cancel), OpenAI's batch
//! output and error files, the batch price, refusals before anything goes upstream, ids
//! of another key or forged, and two replicas sharing one Redis serving one batch's ids.
#![cfg(feature = "proxy")]

mod common;
#[path = "common/proxy.rs"]
mod proxy_app;
#[path = "common/redis.rs"]
mod redis_server;

use bytes::Bytes;
use common::{StandIn, TEST_KEY};
use http_body_util::Full;
use llm_tower::layers::files::ids::{IdKind, IdParts, IdSigner};
use llm_tower::proxy::app::Proxy;
use proxy_app::gemini_proxy;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, headers, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MASTER: &str = "sk-master-files";

/// A stand-in for Gemini and a proxy whose `gemini-flash` it is; `extra` continues
/// `general_settings` (or starts another section).
async fn start(extra: &str) -> (StandIn, Proxy) {
    let stand_in = StandIn::start().await;
    let proxy = gemini_proxy(&stand_in, MASTER, extra);
    (stand_in, proxy)
}

/// A JSON call with the master key.
async fn api(proxy: &Proxy, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    proxy_app::send(proxy, method, uri, MASTER, body).await
}

/// The documented shapes of the Files API and Batch Mode (`tests/fixtures/files/`: not
/// recorded exchanges, so kept apart from `tests/fixtures/gemini/`).
fn shapes() -> serde_json::Value {
    let path = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/files/batch_mode.json"
    );
    let text = std::fs::read_to_string(path).expect("tests/fixtures/files/batch_mode.json");
    serde_json::from_str(&text).expect("the shapes fixture is JSON")
}

/// Polling answers the batch in `state` (a fixture's entry).
async fn mock_batch(server: &MockServer, state: &str) {
    Mock::given(method("GET"))
        .and(path("/v1beta/batches/b-1"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(shapes()[state].clone()))
        .mount(server)
        .await;
}

async fn assert_nothing_upstream(server: &MockServer) {
    let received = server.received_requests().await.expect("recorded");
    assert!(received.is_empty(), "nothing goes to Gemini: {received:?}");
}

/// A `files.create` form, as the OpenAI SDK sends it.
fn upload(purpose: &str, content: &[u8], extra: &[(&str, &str)]) -> http::Request<Full<Bytes>> {
    upload_named("requests.jsonl", purpose, content, extra)
}

/// As [`upload`], of a file named `filename` sent as `application/octet-stream`.
fn upload_named(
    filename: &str,
    purpose: &str,
    content: &[u8],
    extra: &[(&str, &str)],
) -> http::Request<Full<Bytes>> {
    let mut body = Vec::new();
    let mut field = |name: &str, value: &str| {
        body.extend_from_slice(
            format!(
                "--XBOUNDARY\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
            )
            .as_bytes(),
        );
    };
    field("purpose", purpose);
    for (name, value) in extra {
        field(name, value);
    }
    body.extend_from_slice(format!("--XBOUNDARY\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: application/octet-stream\r\n\r\n").as_bytes());
    body.extend_from_slice(content);
    body.extend_from_slice(b"\r\n--XBOUNDARY--\r\n");
    http::Request::post("/v1/files")
        .header("authorization", format!("Bearer {MASTER}"))
        .header("content-type", "multipart/form-data; boundary=XBOUNDARY")
        .body(Full::new(Bytes::from(body)))
        .expect("request")
}

fn line(custom_id: &str, body: Value) -> String {
    json!({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})
        .to_string()
}

/// Three lines: `a` and `c` translate, `b` does not (its messages are not a list).
fn batch_file() -> String {
    let hi = |text: &str| json!({"model": "gemini-flash", "messages": [{"role": "user", "content": text}], "max_tokens": 32});
    [
        line("a", hi("hi")),
        line(
            "b",
            json!({"model": "gemini-flash", "messages": "not a list"}),
        ),
        line("c", hi("there")),
    ]
    .join("\n")
}

/// Mocks the resumable upload: the start (checked headers) and the finalizing upload.
async fn mock_upload(server: &MockServer) {
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(header("x-goog-upload-protocol", "resumable"))
        .and(header("x-goog-upload-command", "start"))
        .and(header(
            "x-goog-upload-header-content-type",
            "application/jsonl",
        ))
        .and(body_json(
            json!({"file": {"display_name": "requests.jsonl"}}),
        ))
        .respond_with(ResponseTemplate::new(200).insert_header(
            "x-goog-upload-url",
            format!(
                "{}/upload/v1beta/files?upload_id=session-1&upload_protocol=resumable",
                server.uri()
            ),
        ))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(query_param("upload_id", "session-1"))
        .and(header("x-goog-api-key", TEST_KEY))
        // `upload, finalize`, which wiremock reads as a list.
        .and(headers("x-goog-upload-command", vec!["upload", "finalize"]))
        .and(header("x-goog-upload-offset", "0"))
        .respond_with(ResponseTemplate::new(200).set_body_json(shapes()["uploaded"].clone()))
        .expect(1)
        .mount(server)
        .await;
}

/// `verb` (`batchGenerateContent`, `asyncBatchEmbedContent`) answers the created batch.
async fn mock_create(server: &MockServer, verb: &str) {
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/gemini-2.5-flash:{verb}")))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(shapes()["created"].clone()))
        .expect(1)
        .mount(server)
        .await;
}

/// The body of the finalizing upload: the JSONL Gemini received.
async fn uploaded_lines(server: &MockServer) -> Vec<Value> {
    let requests = server.received_requests().await.expect("recorded");
    let finalize = requests
        .iter()
        .find(|request| {
            request
                .url
                .query()
                .is_some_and(|query| query.contains("upload_id"))
        })
        .expect("the bytes were uploaded");
    String::from_utf8(finalize.body.clone())
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}

/// Uploads the batch file and starts its batch; the file and the batch objects.
async fn start_batch(proxy: &Proxy, server: &MockServer) -> (Value, Value) {
    mock_upload(server).await;
    mock_create(server, "batchGenerateContent").await;
    let file_bytes = batch_file();
    let (status, file) =
        proxy_app::answer_json(proxy, upload("batch", file_bytes.as_bytes(), &[])).await;
    assert_eq!(status, 200, "{file}");
    let (status, batch) = api(proxy, "POST",
            "/v1/batches",
            Some(json!({"input_file_id": file["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h", "metadata": {"run": "nightly"}})),
        )
    .await;
    assert_eq!(status, 200, "{batch}");
    (file, batch)
}

#[tokio::test]
async fn a_batch_runs_from_upload_to_output_and_error_files() {
    let (stand_in, proxy) = start("").await;
    let server = &stand_in.server;
    let (file, batch) = start_batch(&proxy, server).await;
    assert_eq!(file["object"], "file");
    assert_eq!(file["purpose"], "batch");
    assert_eq!(file["filename"], "requests.jsonl");
    assert_eq!(file["bytes"], batch_file().len());
    assert!(file["id"].as_str().unwrap().starts_with("file-"));

    // Gemini got the lines that translate, keyed by custom_id, in its own shape.
    let lines = uploaded_lines(server).await;
    assert_eq!(
        lines,
        [
            json!({"key": "a", "request": {"contents": [{"role": "user", "parts": [{"text": "hi"}]}], "generationConfig": {"maxOutputTokens": 32}}}),
            json!({"key": "c", "request": {"contents": [{"role": "user", "parts": [{"text": "there"}]}], "generationConfig": {"maxOutputTokens": 32}}}),
        ]
    );
    let requests = server.received_requests().await.expect("recorded");
    let create = requests
        .iter()
        .find(|request| request.url.path().ends_with(":batchGenerateContent"))
        .expect("created");
    let body: Value = serde_json::from_slice(&create.body).expect("JSON");
    assert_eq!(
        body["batch"]["inputConfig"],
        json!({"fileName": "files/in-1"})
    );
    assert_eq!(body["batch"]["displayName"], file["id"]);

    assert_eq!(batch["object"], "batch");
    assert_eq!(batch["status"], "validating");
    assert_eq!(batch["endpoint"], "/v1/chat/completions");
    assert_eq!(batch["input_file_id"], file["id"]);
    assert_eq!(batch["metadata"], json!({"run": "nightly"}));
    assert_eq!(
        batch["request_counts"],
        json!({"total": 3, "completed": 0, "failed": 1})
    );
    assert!(
        batch["error_file_id"].is_string(),
        "the refused line is reported at once"
    );
    assert!(batch["output_file_id"].is_null());

    // Polled: done, with Google's results file.
    mock_batch(server, "succeeded").await;
    let results: String = shapes()["results"]
        .as_array()
        .unwrap()
        .iter()
        .map(|line| format!("{line}\n"))
        .collect();
    Mock::given(method("GET"))
        .and(path("/download/v1beta/files/batch-b-1-out:download"))
        .and(query_param("alt", "media"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_string(results))
        .mount(server)
        .await;
    let id = batch["id"].as_str().unwrap();
    let (status, done) = api(&proxy, "GET", &format!("/v1/batches/{id}"), None).await;
    assert_eq!(status, 200, "{done}");
    assert_eq!(done["status"], "completed");
    assert_eq!(done["completed_at"], 1_796_648_700u64);
    assert_eq!(
        done["request_counts"],
        json!({"total": 3, "completed": 1, "failed": 2})
    );
    let output = done["output_file_id"].as_str().expect("an output file");

    let out = proxy_app::file_lines(&proxy, MASTER, output).await;
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0]["custom_id"], "a");
    assert!(out[0]["id"].as_str().unwrap().starts_with("batch_req_"));
    assert!(out[0]["error"].is_null());
    let response = &out[0]["response"];
    assert_eq!(response["status_code"], 200);
    assert_eq!(response["body"]["object"], "chat.completion");
    assert_eq!(
        response["body"]["choices"][0]["message"]["content"],
        "Hello!"
    );
    assert_eq!(response["body"]["choices"][0]["finish_reason"], "stop");
    assert_eq!(response["body"]["usage"]["prompt_tokens"], 10);
    // gemini-2.5-flash at the batch rate, half the live one: 10 × 1.5e-7 + 5 × 1.25e-6.
    let cost = response["body"]["usage"]["cost"].as_f64().expect("a cost");
    assert!((cost - 7.75e-6).abs() < 1e-12, "{cost}");

    let errors = done["error_file_id"].as_str().unwrap();
    let errs = proxy_app::file_lines(&proxy, MASTER, errors).await;
    assert_eq!(errs.len(), 2, "{errs:?}");
    assert_eq!(errs[0]["custom_id"], "b");
    assert_eq!(errs[0]["response"]["status_code"], 400);
    assert_eq!(
        errs[0]["response"]["body"]["error"]["type"],
        "invalid_request_error"
    );
    assert_eq!(errs[1]["custom_id"], "c");
    assert_eq!(errs[1]["response"]["status_code"], 400);
    assert_eq!(
        errs[1]["response"]["body"]["error"]["message"],
        "Request contains an invalid argument."
    );

    // The caller's lists.
    let (_, files) = api(&proxy, "GET", "/v1/files", None).await;
    assert_eq!(files["data"][0]["id"], file["id"]);
    let (_, batches) = api(&proxy, "GET", "/v1/batches?limit=5", None).await;
    assert_eq!(batches["data"][0]["id"], batch["id"]);
    assert_eq!(batches["data"][0]["status"], "completed");
}

#[tokio::test]
async fn a_deleted_file_is_deleted_at_google_and_leaves_the_list() {
    let (stand_in, proxy) = start("").await;
    let server = &stand_in.server;
    mock_upload(server).await;
    let (status, file) =
        proxy_app::answer_json(&proxy, upload("batch", batch_file().as_bytes(), &[])).await;
    assert_eq!(status, 200, "{file}");
    let id = file["id"].as_str().expect("an id");
    Mock::given(method("DELETE"))
        .and(path("/v1beta/files/in-1"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1beta/files/in-1"))
        .respond_with(ResponseTemplate::new(404).set_body_json(json!({"error": {
            "code": 404, "message": "File files/in-1 not found", "status": "NOT_FOUND"
        }})))
        .mount(server)
        .await;
    let (status, deleted) = api(&proxy, "DELETE", &format!("/v1/files/{id}"), None).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(
        deleted,
        json!({"id": id, "object": "file", "deleted": true})
    );
    let (status, gone) = api(&proxy, "GET", &format!("/v1/files/{id}"), None).await;
    assert_eq!(status, 404, "{gone}");
    let (_, list) = api(&proxy, "GET", "/v1/files", None).await;
    assert_eq!(list["data"], json!([]), "{list}");
}

#[tokio::test]
async fn another_keys_ids_and_forged_ids_are_not_found() {
    let (stand_in, proxy) = start("").await;
    let server = &stand_in.server;
    let signer = IdSigner::new(MASTER.as_bytes());
    let theirs = signer.sign(&IdParts {
        kind: IdKind::Batch,
        deployment: "gemini-flash".into(),
        upstream: "batches/b-1".into(),
        owner: IdSigner::owner("sk-someone-else"),
    });
    let forged = IdSigner::new(b"not the master key").sign(&IdParts {
        kind: IdKind::Batch,
        deployment: "gemini-flash".into(),
        upstream: "batches/b-1".into(),
        owner: IdSigner::owner(MASTER),
    });
    for id in [theirs.as_str(), forged.as_str(), "batch_unknown"] {
        let (status, body) = api(&proxy, "GET", &format!("/v1/batches/{id}"), None).await;
        assert_eq!(status, 404, "{body}");
        assert_eq!(body["error"]["type"], "not_found_error");
        let (status, _) = api(&proxy, "POST", &format!("/v1/batches/{id}/cancel"), None).await;
        assert_eq!(status, 404);
    }
    let (status, _) = api(
        &proxy,
        "GET",
        &format!(
            "/v1/files/{}/content",
            theirs.replacen("batch_", "file-", 1)
        ),
        None,
    )
    .await;
    assert_eq!(status, 404);
    assert_nothing_upstream(server).await;
}

#[tokio::test]
async fn bad_files_and_batches_are_refused_before_anything_goes_upstream() {
    let (stand_in, proxy) = start("  max_file_size_mb: 1\n").await;
    let server = &stand_in.server;
    let hi = json!({"model": "gemini-flash", "messages": [{"role": "user", "content": "hi"}]});
    for (content, says) in [
        (
            format!("{}\n{{not json", line("a", hi.clone())),
            "line 2 of the batch file",
        ),
        (
            format!("{}\n{}", line("a", hi.clone()), line("a", hi.clone())),
            "custom_id `a` is used by an earlier line",
        ),
        (
            format!(
                "{}\n{}",
                line("a", hi.clone()),
                line("b", json!({"model": "other", "messages": []}))
            ),
            "line 2 names model `other` where line 1 names `gemini-flash`",
        ),
        (
            json!({"custom_id": "a", "method": "POST", "url": "/v1/responses", "body": hi})
                .to_string(),
            "batches run /v1/chat/completions and /v1/embeddings",
        ),
    ] {
        let (status, body) =
            proxy_app::answer_json(&proxy, upload("batch", content.as_bytes(), &[])).await;
        assert_eq!(status, 400, "{body}");
        assert!(
            body["error"]["message"].as_str().unwrap().contains(says),
            "{body}"
        );
    }
    let (status, body) = proxy_app::answer_json(&proxy, upload("fine-tune", b"{}", &[])).await;
    assert_eq!(
        (status, body["error"]["param"].as_str()),
        (400, Some("purpose"))
    );
    let (status, body) = proxy_app::answer_json(
        &proxy,
        upload("batch", b"{}", &[("target_model_names", "nope")]),
    )
    .await;
    assert_eq!(status, 400, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`gemini-flash`"),
        "{body}"
    );
    // Over the configured megabyte: 413.
    let big = vec![b'x'; 1_000_001];
    let (status, body) = proxy_app::answer_json(&proxy, upload("user_data", &big, &[])).await;
    assert_eq!(status, 413, "{body}");
    // A batch of an endpoint not served, a window not offered.
    let (status, body) = api(&proxy, "POST", "/v1/batches", Some(json!({"input_file_id": "file-x", "endpoint": "/v1/responses", "completion_window": "24h"})))
    .await;
    assert_eq!(status, 400, "{body}");
    let (status, _) = api(&proxy, "POST", "/v1/batches", Some(json!({"input_file_id": "file-x", "endpoint": "/v1/chat/completions", "completion_window": "1h"})))
    .await;
    assert_eq!(status, 400);
    assert_nothing_upstream(server).await;
}

#[tokio::test]
async fn an_upload_cut_before_it_is_finalized_leaves_no_file() {
    let (stand_in, proxy) = start("").await;
    let server = &stand_in.server;
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(header("x-goog-upload-command", "start"))
        // Sent as application/octet-stream: its type is told from its name.
        .and(header("x-goog-upload-header-content-type", "image/png"))
        .and(body_json(json!({"file": {"display_name": "photo.png"}})))
        .respond_with(ResponseTemplate::new(200).insert_header(
            "x-goog-upload-url",
            format!("{}/upload/v1beta/files?upload_id=session-2", server.uri()),
        ))
        .mount(server)
        .await;
    Mock::given(method("POST"))
        .and(path("/upload/v1beta/files"))
        .and(query_param("upload_id", "session-2"))
        .respond_with(ResponseTemplate::new(503).set_body_json(json!({"error": {"code": 503, "message": "The service is currently unavailable.", "status": "UNAVAILABLE"}})))
        .expect(1)
        .mount(server)
        .await;
    let (status, body) = proxy_app::answer_json(
        &proxy,
        upload_named("photo.png", "user_data", b"some bytes", &[]),
    )
    .await;
    assert_eq!(status, 503, "{body}");
    // Google makes the file only when the finalizing request succeeds: nothing is left
    // to delete, and nothing is listed.
    let (_, files) = api(&proxy, "GET", "/v1/files", None).await;
    assert_eq!(files["data"], json!([]));
}

#[tokio::test]
async fn a_running_batch_cancelled_says_cancelling() {
    let (stand_in, proxy) = start("").await;
    let server = &stand_in.server;
    let (_, batch) = start_batch(&proxy, server).await;
    Mock::given(method("POST"))
        .and(path("/v1beta/batches/b-1:cancel"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({})))
        .expect(1)
        .mount(server)
        .await;
    mock_batch(server, "running").await;
    let id = batch["id"].as_str().unwrap();
    let (status, cancelled) = api(&proxy, "POST", &format!("/v1/batches/{id}/cancel"), None).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelling");
    assert!(cancelled["output_file_id"].is_null());
}

#[tokio::test]
async fn two_replicas_sharing_redis_serve_one_batchs_ids() {
    let Some(url) = redis_server::redis_url("two_replicas_sharing_redis_serve_one_batchs_ids")
    else {
        return;
    };
    let stand_in = StandIn::start().await;
    let server = &stand_in.server;
    let settings = format!("router_settings:\n  redis_url: {url}\n");
    let first = gemini_proxy(&stand_in, MASTER, &settings);
    let second = gemini_proxy(&stand_in, MASTER, &settings);
    let (file, batch) = start_batch(&first, server).await;
    mock_batch(server, "running").await;
    let id = batch["id"].as_str().unwrap();
    let (status, seen) = api(&second, "GET", &format!("/v1/batches/{id}"), None).await;
    assert_eq!(status, 200, "{seen}");
    assert_eq!(seen["status"], "in_progress");
    // What only the first replica learnt at upload, the second reads from Redis.
    assert_eq!(seen["input_file_id"], file["id"]);
    assert_eq!(seen["metadata"], json!({"run": "nightly"}));
    assert_eq!(
        seen["request_counts"],
        json!({"total": 3, "completed": 0, "failed": 1})
    );
    let (status, retrieved) = api(
        &second,
        "GET",
        &format!("/v1/files/{}", file["id"].as_str().unwrap()),
        None,
    )
    .await;
    assert_eq!(status, 200, "{retrieved}");
    assert_eq!(retrieved["filename"], "requests.jsonl");
    assert_eq!(retrieved["bytes"], batch_file().len());
}

#[tokio::test]
async fn an_embeddings_batch_runs_through_async_batch_embed_content() {
    let (stand_in, proxy) = start("").await;
    let server = &stand_in.server;
    mock_upload(server).await;
    let embed = |id: &str, input: Value| {
        json!({"custom_id": id, "method": "POST", "url": "/v1/embeddings", "body": {"model": "gemini-flash", "input": input}})
            .to_string()
    };
    let file = format!(
        "{}\n{}\n",
        embed("e1", json!("hello")),
        embed("e2", json!(["two", "inputs"]))
    );
    let (status, uploaded) =
        proxy_app::answer_json(&proxy, upload("batch", file.as_bytes(), &[])).await;
    assert_eq!(status, 200, "{uploaded}");
    let lines = uploaded_lines(server).await;
    assert_eq!(
        lines.len(),
        1,
        "the line of two inputs is refused: {lines:?}"
    );
    assert_eq!(lines[0]["key"], "e1");
    assert_eq!(lines[0]["request"]["content"]["parts"][0]["text"], "hello");

    mock_create(server, "asyncBatchEmbedContent").await;
    mock_batch(server, "succeeded").await;
    Mock::given(method("GET"))
        .and(path("/download/v1beta/files/batch-b-1-out:download"))
        .respond_with(ResponseTemplate::new(200).set_body_string(
            "{\"key\": \"e1\", \"response\": {\"embedding\": {\"values\": [0.5, -0.25]}}}\n",
        ))
        .mount(server)
        .await;
    let (status, batch) = api(
        &proxy,
        "POST",
        "/v1/batches",
        Some(json!({"input_file_id": uploaded["id"], "endpoint": "/v1/embeddings", "completion_window": "24h"})),
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["endpoint"], "/v1/embeddings");
    let id = batch["id"].as_str().unwrap();
    let (_, done) = api(&proxy, "GET", &format!("/v1/batches/{id}"), None).await;
    let out = proxy_app::file_lines(
        &proxy,
        MASTER,
        done["output_file_id"].as_str().expect("output"),
    )
    .await;
    assert_eq!(out.len(), 1, "{out:?}");
    let body = &out[0]["response"]["body"];
    assert_eq!(out[0]["custom_id"], "e1");
    assert_eq!(body["object"], "list");
    assert_eq!(body["data"][0]["embedding"], json!([0.5, -0.25]));
    // Gemini's results carry no counts: the estimate of the input ("hello", 1 token) at
    // gemini-2.5-flash's batch price: $0.15 per million, half of the live $0.30.
    assert_eq!(body["usage"]["prompt_tokens"], 1, "{body}");
    assert_eq!(body["usage"]["total_tokens"], 1);
    let cost = body["usage"]["cost"].as_f64().expect("a cost");
    assert!((cost - 0.15e-6).abs() < 1e-15, "{cost}");
    let errors = proxy_app::file_lines(
        &proxy,
        MASTER,
        done["error_file_id"].as_str().expect("errors"),
    )
    .await;
    assert_eq!(errors[0]["custom_id"], "e2");
    assert!(
        errors[0]["response"]["body"]["error"]["message"]
            .as_str()
            .unwrap()
            .contains("one input"),
        "{errors:?}"
    );
}

#[tokio::test]
async fn batch_lines_get_the_deployments_default_params() {
    let stand_in = StandIn::start().await;
    let proxy = proxy_app::gemini_proxy_with(
        &stand_in,
        MASTER,
        "      temperature: 0.3
      safety_settings: [{category: HARM_CATEGORY_HARASSMENT, threshold: BLOCK_NONE}]
",
        "",
    );
    let server = &stand_in.server;
    mock_upload(server).await;
    let ask = |extra: Value| {
        let mut body =
            json!({"model": "gemini-flash", "messages": [{"role": "user", "content": "hi"}]});
        body.as_object_mut()
            .unwrap()
            .extend(extra.as_object().unwrap().clone());
        body
    };
    let file = [
        line("defaults", ask(json!({}))),
        line("own", ask(json!({"temperature": 0.9}))),
    ]
    .join("\n");
    let (status, uploaded) =
        proxy_app::answer_json(&proxy, upload("batch", file.as_bytes(), &[])).await;
    assert_eq!(status, 200, "{uploaded}");
    let lines = uploaded_lines(server).await;
    let safety = json!([{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}]);
    assert_eq!(lines[0]["key"], "defaults");
    assert_eq!(
        lines[0]["request"]["generationConfig"],
        json!({"temperature": 0.3})
    );
    assert_eq!(lines[0]["request"]["safetySettings"], safety);
    // A line's own param wins, as in a live call.
    assert_eq!(lines[1]["key"], "own");
    assert_eq!(
        lines[1]["request"]["generationConfig"],
        json!({"temperature": 0.9})
    );
    assert_eq!(lines[1]["request"]["safetySettings"], safety);
}
