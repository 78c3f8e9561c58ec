//! `/v1/files` and `/v1/batches` for an `openai/` deployment, against a wiremock server
//! answering with OpenAI's documented Files and Batch API shapes
//! (<https://platform.openai.com/docs/api-reference/batch>, `…/files`): the exact upstream
//! requests (the multipart upload with `purpose`, each line's body as the live call would
//! send it, the batch creation, polling, both result files, cancel), OpenAI's output and
//! error files with the batch price, and paging of the lists.
#![cfg(feature = "proxy")]

mod common;
#[path = "common/proxy.rs"]
mod proxy_app;

use bytes::Bytes;
use http_body_util::Full;
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use serde_json::{Value, json};
use wiremock::matchers::{body_json, header, method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

const MASTER: &str = "sk-master-openai-files";
const UPSTREAM_KEY: &str = "sk-upstream-files";

/// A proxy whose `gpt-mini` is `server`'s `gpt-4o-mini`, priced at $1 and $2 a million
/// tokens, with a default `temperature`.
fn proxy(server: &MockServer) -> Proxy {
    let yaml = format!(
        "model_list:
  - model_name: gpt-mini
    litellm_params:
      model: openai/gpt-4o-mini
      api_key: {UPSTREAM_KEY}
      api_base: {}/v1
      temperature: 0.25
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
general_settings:
  master_key: {MASTER}
",
        server.uri()
    );
    let (config, warnings) =
        Config::from_yaml(&yaml, "config.yaml", &|_: &str| None).expect("valid config");
    assert!(warnings.is_empty(), "{warnings:?}");
    Proxy::from_config(&config).expect("proxy builds")
}

async fn api(proxy: &Proxy, method: &str, uri: &str, body: Option<Value>) -> (u16, Value) {
    proxy_app::send(proxy, method, uri, MASTER, body).await
}

/// A `files.create` form, as the OpenAI SDK sends it.
fn upload(purpose: &str, content: &str) -> http::Request<Full<Bytes>> {
    let body = format!(
        "--XB\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n\
         --XB\r\nContent-Disposition: form-data; name=\"file\"; filename=\"requests.jsonl\"\r\n\
         Content-Type: application/octet-stream\r\n\r\n{content}\r\n--XB--\r\n"
    );
    http::Request::post("/v1/files")
        .header("authorization", format!("Bearer {MASTER}"))
        .header("content-type", "multipart/form-data; boundary=XB")
        .body(Full::new(Bytes::from(body)))
        .expect("request")
}

fn line(custom_id: &str, body: Value) -> String {
    json!({"custom_id": custom_id, "method": "POST", "url": "/v1/chat/completions", "body": body})
        .to_string()
}

/// The part of a multipart body named `name`.
fn form_field(request: &Request, name: &str) -> String {
    let body = String::from_utf8(request.body.clone()).expect("UTF-8 form");
    let marker = format!("name=\"{name}\"");
    let start = body.find(&marker).expect("the field is sent") + marker.len();
    let rest = &body[start..];
    let value = &rest[rest.find("\r\n\r\n").expect("a part's head ends") + 4..];
    value[..value.find("\r\n--").expect("the part ends")].to_owned()
}

fn file_object(id: &str) -> Value {
    json!({"id": id, "object": "file", "bytes": 10, "created_at": 1_765_000_000, "filename": "requests.jsonl", "purpose": "batch", "expires_at": 1_767_000_000})
}

fn batch_object(status: &str, extra: Value) -> Value {
    let mut batch = json!({
        "id": "batch_up1", "object": "batch", "endpoint": "/v1/chat/completions",
        "input_file_id": "file-up1", "completion_window": "24h", "status": status,
        "created_at": 1_765_000_000,
        "request_counts": {"total": 2, "completed": 0, "failed": 0}
    });
    batch
        .as_object_mut()
        .expect("an object")
        .extend(extra.as_object().expect("an object").clone());
    batch
}

#[tokio::test]
async fn a_batch_runs_on_the_openai_server_with_each_line_sent_as_the_live_call_would() {
    let server = MockServer::start().await;
    let proxy = proxy(&server);
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .and(header("authorization", format!("Bearer {UPSTREAM_KEY}")))
        .respond_with(ResponseTemplate::new(200).set_body_json(file_object("file-up1")))
        .expect(1)
        .mount(&server)
        .await;
    let hi = |text: &str| json!({"model": "gpt-mini", "messages": [{"role": "user", "content": text}], "stream": true});
    let file = [
        line("a", hi("hi")),
        // Gemini's param, refused by name as a live call to this deployment would be.
        line(
            "b",
            json!({"model": "gpt-mini", "messages": [{"role": "user", "content": "x"}], "safety_settings": []}),
        ),
        line("c", hi("again")),
    ]
    .join("\n");
    let (status, uploaded) = proxy_app::answer_json(&proxy, upload("batch", &file)).await;
    assert_eq!(status, 200, "{uploaded}");
    assert_eq!(uploaded["purpose"], "batch");
    let file_id = uploaded["id"].as_str().expect("an id").to_owned();

    // What went upstream: the lines the live call would send, for the server's model, with
    // the deployment's temperature; no stream; the refused line left out.
    let received = server.received_requests().await.expect("recorded");
    assert_eq!(form_field(&received[0], "purpose"), "batch");
    let sent: Vec<Value> = form_field(&received[0], "file")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect();
    assert_eq!(
        sent,
        vec![
            json!({"custom_id": "a", "method": "POST", "url": "/v1/chat/completions",
                   "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}], "temperature": 0.25}}),
            json!({"custom_id": "c", "method": "POST", "url": "/v1/chat/completions",
                   "body": {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "again"}], "temperature": 0.25}}),
        ]
    );

    Mock::given(method("POST"))
        .and(path("/v1/batches"))
        .and(header("authorization", format!("Bearer {UPSTREAM_KEY}")))
        .and(body_json(json!({"input_file_id": "file-up1", "endpoint": "/v1/chat/completions", "completion_window": "24h"})))
        .respond_with(ResponseTemplate::new(200).set_body_json(batch_object("validating", json!({}))))
        .expect(1)
        .mount(&server)
        .await;
    let (status, batch) = api(
        &proxy,
        "POST",
        "/v1/batches",
        Some(json!({"input_file_id": file_id, "endpoint": "/v1/chat/completions", "completion_window": "24h", "metadata": {"run": "nightly"}})),
    )
    .await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["status"], "validating");
    assert_eq!(batch["metadata"], json!({"run": "nightly"}));
    let batch_id = batch["id"].as_str().expect("an id").to_owned();
    assert!(!batch_id.contains("batch_up1"), "the id is the proxy's own");

    let done = batch_object(
        "completed",
        json!({"output_file_id": "file-out", "error_file_id": "file-err", "completed_at": 1_765_000_900,
               "request_counts": {"total": 2, "completed": 1, "failed": 1}}),
    );
    Mock::given(method("GET"))
        .and(path("/v1/batches/batch_up1"))
        .respond_with(ResponseTemplate::new(200).set_body_json(done))
        .mount(&server)
        .await;
    let (status, batch) = api(&proxy, "GET", &format!("/v1/batches/{batch_id}"), None).await;
    assert_eq!(status, 200, "{batch}");
    assert_eq!(batch["status"], "completed");
    assert_eq!(batch["completed_at"], 1_765_000_900);
    assert_eq!(
        batch["request_counts"],
        json!({"total": 3, "completed": 1, "failed": 2}),
        "the refused line counts as failed"
    );

    let completion = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1_765_000_800, "model": "gpt-4o-mini-2024-07-18",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "Hello!"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15}
    });
    let output = json!({"id": "batch_req_1", "custom_id": "a", "response": {"status_code": 200, "request_id": "r1", "body": completion}, "error": null});
    let failure = json!({"id": "batch_req_2", "custom_id": "c", "response": {"status_code": 429, "request_id": "r2",
        "body": {"error": {"message": "Rate limit reached", "type": "requests", "code": "rate_limit_exceeded"}}}, "error": null});
    for (file, line) in [("file-out", output), ("file-err", failure)] {
        Mock::given(method("GET"))
            .and(path(format!("/v1/files/{file}/content")))
            .and(header("authorization", format!("Bearer {UPSTREAM_KEY}")))
            .respond_with(ResponseTemplate::new(200).set_body_string(format!("{line}\n")))
            .mount(&server)
            .await;
    }
    let out = proxy_app::file_lines(
        &proxy,
        MASTER,
        batch["output_file_id"].as_str().expect("an output file"),
    )
    .await;
    assert_eq!(out.len(), 1, "{out:?}");
    assert_eq!(out[0]["custom_id"], "a");
    let body = &out[0]["response"]["body"];
    assert_eq!(body["choices"][0]["message"]["content"], "Hello!");
    // Half of $1 and $2 a million: 10 × 0.5e-6 + 5 × 1e-6.
    let cost = body["usage"]["cost"].as_f64().expect("a cost");
    assert!((cost - 0.00001).abs() < 1e-12, "{cost}");

    let errors = proxy_app::file_lines(
        &proxy,
        MASTER,
        batch["error_file_id"].as_str().expect("an error file"),
    )
    .await;
    let by_id = |id: &str| {
        errors
            .iter()
            .find(|line| line["custom_id"] == id)
            .unwrap_or_else(|| panic!("line {id} in {errors:?}"))
            .clone()
    };
    let limited = by_id("c");
    assert_eq!(limited["response"]["status_code"], 429);
    assert_eq!(
        limited["response"]["body"]["error"]["message"],
        "Rate limit reached"
    );
    let refused = by_id("b");
    assert_eq!(refused["response"]["status_code"], 400);
    assert!(
        refused["response"]["body"]["error"]["message"]
            .as_str()
            .is_some_and(|message| message.contains("safety_settings")),
        "{refused}"
    );
}

#[tokio::test]
async fn cancelling_reaches_the_server_and_upstream_errors_keep_their_status() {
    let server = MockServer::start().await;
    let proxy = proxy(&server);
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(ResponseTemplate::new(200).set_body_json(file_object("file-up1")))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/batches"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(batch_object("in_progress", json!({}))),
        )
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path("/v1/batches/batch_up1/cancel"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(batch_object("cancelling", json!({}))),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1/batches/batch_up1"))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(batch_object("cancelling", json!({}))),
        )
        .mount(&server)
        .await;
    let file = line(
        "a",
        json!({"model": "gpt-mini", "messages": [{"role": "user", "content": "hi"}]}),
    );
    let (_, uploaded) = proxy_app::answer_json(&proxy, upload("batch", &file)).await;
    let (status, batch) = api(
        &proxy,
        "POST",
        "/v1/batches",
        Some(json!({"input_file_id": uploaded["id"], "endpoint": "/v1/chat/completions", "completion_window": "24h"})),
    )
    .await;
    assert_eq!((status, &batch["status"]), (200, &json!("in_progress")));
    let id = batch["id"].as_str().expect("an id");
    let (status, cancelled) = api(&proxy, "POST", &format!("/v1/batches/{id}/cancel"), None).await;
    assert_eq!(status, 200, "{cancelled}");
    assert_eq!(cancelled["status"], "cancelling");

    // The server losing the file: its 404 is the client's, in OpenAI's envelope.
    Mock::given(method("GET"))
        .and(path("/v1/files/file-up1"))
        .respond_with(ResponseTemplate::new(404).set_body_json(
            json!({"error": {"message": "No such File object: file-up1", "type": "invalid_request_error", "param": "id", "code": null}}),
        ))
        .mount(&server)
        .await;
    Mock::given(method("DELETE"))
        .and(path("/v1/files/file-up1"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(json!({"id": "file-up1", "object": "file", "deleted": true})),
        )
        .expect(1)
        .mount(&server)
        .await;
    let file_id = uploaded["id"].as_str().expect("an id");
    let (status, deleted) = api(&proxy, "DELETE", &format!("/v1/files/{file_id}"), None).await;
    assert_eq!(status, 200, "{deleted}");
    assert_eq!(deleted["deleted"], true);
    let (status, gone) = api(&proxy, "GET", &format!("/v1/files/{file_id}"), None).await;
    assert_eq!(status, 404, "{gone}");
    assert!(
        !gone.to_string().contains(UPSTREAM_KEY),
        "no key in errors: {gone}"
    );
}

#[tokio::test]
async fn lists_page_with_limit_and_after_newest_first() {
    let server = MockServer::start().await;
    let proxy = proxy(&server);
    let uploads = std::sync::atomic::AtomicUsize::new(0);
    Mock::given(method("POST"))
        .and(path("/v1/files"))
        .respond_with(move |_: &Request| {
            let n = uploads.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            ResponseTemplate::new(200).set_body_json(file_object(&format!("file-{n}")))
        })
        .mount(&server)
        .await;
    let mut ids = Vec::new();
    for purpose in ["user_data", "batch", "user_data"] {
        let content = match purpose {
            "batch" => line(
                "a",
                json!({"model": "gpt-mini", "messages": [{"role": "user", "content": "hi"}]}),
            ),
            _ => "some notes".to_owned(),
        };
        let (status, file) = proxy_app::answer_json(&proxy, upload(purpose, &content)).await;
        assert_eq!(status, 200, "{file}");
        ids.push(file["id"].as_str().expect("an id").to_owned());
    }
    let (status, first) = api(&proxy, "GET", "/v1/files?limit=2", None).await;
    assert_eq!(status, 200, "{first}");
    let listed = |page: &Value| -> Vec<String> {
        page["data"]
            .as_array()
            .expect("data")
            .iter()
            .map(|file| file["id"].as_str().expect("an id").to_owned())
            .collect()
    };
    assert_eq!(listed(&first), vec![ids[2].clone(), ids[1].clone()]);
    assert_eq!(
        (&first["has_more"], &first["last_id"]),
        (&json!(true), &json!(ids[1]))
    );
    let (_, second) = api(
        &proxy,
        "GET",
        &format!("/v1/files?limit=2&after={}", ids[1]),
        None,
    )
    .await;
    assert_eq!(listed(&second), vec![ids[0].clone()]);
    assert_eq!(second["has_more"], false);
    let (_, batches_only) = api(&proxy, "GET", "/v1/files?purpose=batch", None).await;
    assert_eq!(listed(&batches_only), vec![ids[1].clone()]);
    let (status, refused) = api(&proxy, "GET", "/v1/files?limit=0", None).await;
    assert_eq!((status, &refused["error"]["param"]), (400, &json!("limit")));
    let (status, refused) = api(&proxy, "GET", "/v1/batches?limit=101", None).await;
    assert_eq!((status, &refused["error"]["param"]), (400, &json!("limit")));
}
