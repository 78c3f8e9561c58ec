//! The proxy as a service and as a process: routes, auth, config wiring (deployment
//! params, load balancing, wildcards), the Gemini pass-through, limits and shutdown.
#![cfg(feature = "proxy")]

mod common;

use std::time::Duration;

use bytes::Bytes;
use common::{TEST_KEY, fixture};
use http_body_util::{BodyExt, Full};
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use serde_json::{Value, json};
use tower::ServiceExt;
use wiremock::matchers::{body_json, header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MASTER: &str = "sk-master-1234";

fn config(yaml: &str) -> Config {
    let env = |name: &str| match name {
        "GEMINI_API_KEY" => Some(TEST_KEY.to_owned()),
        "MASTER" => Some(MASTER.to_owned()),
        _ => None,
    };
    Config::from_yaml(yaml, "config.yaml", &env)
        .expect("valid config")
        .0
}

fn proxy_for(server: &MockServer, extra: &str) -> Proxy {
    let yaml = format!(
        "model_list:
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: os.environ/GEMINI_API_KEY
      api_base: {base}/v1beta
  - model_name: gemini/*
    litellm_params:
      model: gemini/*
      api_key: os.environ/GEMINI_API_KEY
      api_base: {base}/v1beta
general_settings:
  master_key: os.environ/MASTER
{extra}",
        base = server.uri()
    );
    Proxy::from_config(&config(&yaml)).expect("proxy builds")
}

async fn send(
    proxy: &Proxy,
    request: http::Request<Full<Bytes>>,
) -> (http::StatusCode, http::HeaderMap, Bytes) {
    let response = proxy
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, bytes)
}

fn post(uri: &str, key: Option<&str>, body: &Value) -> http::Request<Full<Bytes>> {
    let mut builder = http::Request::post(uri).header("content-type", "application/json");
    if let Some(key) = key {
        builder = builder.header("authorization", format!("Bearer {key}"));
    }
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request")
}

fn get(uri: &str, key: Option<&str>) -> http::Request<Full<Bytes>> {
    let mut builder = http::Request::get(uri);
    if let Some(key) = key {
        builder = builder.header("x-api-key", key);
    }
    builder.body(Full::new(Bytes::new())).expect("request")
}

fn json_of(bytes: &Bytes) -> Value {
    serde_json::from_slice(bytes).expect("JSON body")
}

async fn mount_text_reply(server: &MockServer, model: &str) {
    let reply =
        fixture("01-agent--completion-smoke.json")["exchanges"][0]["response"]["body"].clone();
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{model}:generateContent")))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(server)
        .await;
}

fn hello(model: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": "hi"}]})
}

#[tokio::test]
async fn chat_needs_the_master_key() {
    let server = MockServer::start().await;
    mount_text_reply(&server, "gemini-2.5-flash").await;
    let proxy = proxy_for(&server, "");

    let (status, _, body) = send(
        &proxy,
        post("/v1/chat/completions", None, &hello("gemini-flash")),
    )
    .await;
    assert_eq!(status, 401);
    assert_eq!(json_of(&body)["error"]["type"], "authentication_error");
    let (status, _, _) = send(
        &proxy,
        post(
            "/v1/chat/completions",
            Some("sk-wrong"),
            &hello("gemini-flash"),
        ),
    )
    .await;
    assert_eq!(status, 401);
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );

    let (status, _, body) = send(
        &proxy,
        post("/v1/chat/completions", Some(MASTER), &hello("gemini-flash")),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let reply = json_of(&body);
    assert_eq!(reply["model"], "gemini-2.5-flash");
    assert!(
        reply["choices"][0]["message"]["content"]
            .as_str()
            .unwrap_or_default()
            .starts_with("Rust is")
    );
    let (status, _, _) = send(
        &proxy,
        post("/chat/completions", Some(MASTER), &hello("gemini-flash")),
    )
    .await;
    assert_eq!(status, 200);
}

#[tokio::test]
async fn the_master_key_is_taken_from_every_header_litellm_reads() {
    let server = MockServer::start().await;
    mount_text_reply(&server, "gemini-2.5-flash").await;
    let proxy = proxy_for(&server, "");
    let body = Bytes::from(hello("gemini-flash").to_string());
    let bare = MASTER.to_owned();
    let bearer = format!("Bearer {MASTER}");
    for (name, value) in [
        ("authorization", bare.as_str()),
        ("authorization", bearer.as_str()),
        ("x-api-key", MASTER),
        ("api-key", MASTER),
        ("x-litellm-api-key", MASTER),
        ("api-key", "sk-wrong"),
    ] {
        let request = http::Request::post("/v1/chat/completions")
            .header("content-type", "application/json")
            .header(name, value)
            .body(Full::new(body.clone()))
            .expect("request");
        let (status, _, reply) = send(&proxy, request).await;
        let expected = if value == "sk-wrong" { 401 } else { 200 };
        assert_eq!(
            status,
            expected,
            "{name}: {}",
            String::from_utf8_lossy(&reply)
        );
    }
    let upstream_calls = server.received_requests().await.unwrap_or_default().len();
    assert_eq!(upstream_calls, 5);
}

#[tokio::test]
async fn the_wildcard_serves_any_gemini_model() {
    let server = MockServer::start().await;
    mount_text_reply(&server, "gemini-2.0-flash-lite").await;
    let proxy = proxy_for(&server, "");
    let (status, _, body) = send(
        &proxy,
        post(
            "/v1/chat/completions",
            Some(MASTER),
            &hello("gemini/gemini-2.0-flash-lite"),
        ),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let (status, _, body) = send(
        &proxy,
        post("/v1/chat/completions", Some(MASTER), &hello("gpt-4o")),
    )
    .await;
    assert_eq!(status, 404);
    assert_eq!(json_of(&body)["error"]["param"], "model");
}

#[tokio::test]
async fn deployment_params_are_defaults_the_request_can_override() {
    let server = MockServer::start().await;
    mount_text_reply(&server, "gemini-2.5-flash").await;
    let yaml = format!(
        "model_list:
  - model_name: careful
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: os.environ/GEMINI_API_KEY
      api_base: {}/v1beta
      temperature: 0.2
      top_k: 40
      rpm: 100
      safety_settings:
        - {{category: HARM_CATEGORY_HARASSMENT, threshold: BLOCK_NONE}}
",
        server.uri()
    );
    let proxy = Proxy::from_config(&config(&yaml)).expect("proxy builds");
    let mut request = hello("careful");
    request["temperature"] = json!(0.9);
    let (status, _, body) = send(&proxy, post("/v1/chat/completions", None, &request)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let sent: Value =
        serde_json::from_slice(&server.received_requests().await.unwrap_or_default()[0].body)
            .unwrap();
    assert_eq!(
        sent,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "hi"}]}],
            "safetySettings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"}],
            "generationConfig": {"temperature": 0.9, "topK": 40}
        })
    );
}

#[tokio::test]
async fn deployments_of_one_name_share_the_requests() {
    let first = MockServer::start().await;
    let second = MockServer::start().await;
    mount_text_reply(&first, "gemini-2.5-flash").await;
    mount_text_reply(&second, "gemini-2.5-flash").await;
    let yaml = format!(
        "model_list:
  - model_name: flash
    litellm_params: {{model: gemini/gemini-2.5-flash, api_key: os.environ/GEMINI_API_KEY, api_base: {}/v1beta}}
  - model_name: flash
    litellm_params: {{model: gemini/gemini-2.5-flash, api_key: os.environ/GEMINI_API_KEY, api_base: {}/v1beta}}
",
        first.uri(),
        second.uri()
    );
    let proxy = Proxy::from_config(&config(&yaml)).expect("proxy builds");
    for _ in 0..40 {
        let (status, _, _) =
            send(&proxy, post("/v1/chat/completions", None, &hello("flash"))).await;
        assert_eq!(status, 200);
    }
    // simple-shuffle, evenly: each takes some (all 40 to one has odds of 2^-39).
    let first = first.received_requests().await.unwrap_or_default().len();
    let second = second.received_requests().await.unwrap_or_default().len();
    assert_eq!(first + second, 40);
    assert!(first > 0 && second > 0, "{first} / {second}");
}

#[tokio::test]
async fn transient_errors_are_retried_when_configured() {
    let server = MockServer::start().await;
    let reply =
        fixture("01-agent--completion-smoke.json")["exchanges"][0]["response"]["body"].clone();
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            json!({"error": {"code": 503, "message": "overloaded", "status": "UNAVAILABLE"}}),
        ))
        .up_to_n_times(1)
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(&server)
        .await;
    let proxy = proxy_for(&server, "litellm_settings: {num_retries: 1}");
    let (status, _, body) = send(
        &proxy,
        post("/v1/chat/completions", Some(MASTER), &hello("gemini-flash")),
    )
    .await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        2
    );
}

#[tokio::test]
async fn a_retry_after_past_the_request_timeout_is_answered_at_once() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(
            ResponseTemplate::new(429)
                .insert_header("retry-after", "10")
                .set_body_json(json!({"error": {"code": 429, "message": "quota", "status": "RESOURCE_EXHAUSTED"}})),
        )
        .mount(&server)
        .await;
    let proxy = proxy_for(
        &server,
        "litellm_settings: {num_retries: 3, request_timeout: 5}",
    );
    let started = std::time::Instant::now();
    let (status, headers, _) = send(
        &proxy,
        post("/v1/chat/completions", Some(MASTER), &hello("gemini-flash")),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2), "not waited");
    assert_eq!(status, 429);
    assert_eq!(headers["retry-after"], "10");
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        1
    );
}

#[tokio::test]
async fn models_and_health() {
    let server = MockServer::start().await;
    let proxy = proxy_for(&server, "");
    let (status, _, _) = send(&proxy, get("/v1/models", None)).await;
    assert_eq!(status, 401);
    let (status, _, body) = send(&proxy, get("/v1/models", Some(MASTER))).await;
    assert_eq!(status, 200);
    // The configured name, then what the `gemini/*` wildcard serves: the bundled tables'
    // models, as LiteLLM lists a wildcard.
    let list = json_of(&body);
    let data = list["data"].as_array().expect("data");
    assert_eq!(
        data[0],
        json!({"id": "gemini-flash", "object": "model", "created": 1_677_610_602, "owned_by": "gemini"})
    );
    let mut table = llm_tower::gemini::pricing::bundled().model_ids();
    table.extend(llm_tower::gemini::facts::bundled().model_ids());
    table.sort_unstable();
    table.dedup();
    assert_eq!(data.len(), 1 + table.len());
    for (listed, id) in data[1..].iter().zip(&table) {
        assert_eq!(
            listed,
            &json!({"id": format!("gemini/{id}"), "object": "model", "created": 1_677_610_602, "owned_by": "gemini"})
        );
    }
    // OpenAI's models.retrieve: every configured name, and what the wildcard would serve.
    for id in [
        "gemini-flash",
        "gemini/gemini-2.5-pro",
        "gemini/gemini-4-ultra",
    ] {
        let (status, _, body) = send(&proxy, get(&format!("/v1/models/{id}"), Some(MASTER))).await;
        assert_eq!(status, 200, "{id}");
        assert_eq!(json_of(&body)["id"], id);
    }
    let (status, _, body) = send(&proxy, get("/v1/models/gpt-4o", Some(MASTER))).await;
    assert_eq!(status, 404);
    assert_eq!(json_of(&body)["error"]["type"], "not_found_error");
    let (status, _, body) = send(&proxy, get("/health/liveliness", None)).await;
    assert_eq!(
        (status.as_u16(), json_of(&body)),
        (200, json!("I'm alive!"))
    );
    let (status, _, _) = send(&proxy, get("/health/readiness", None)).await;
    assert_eq!(status, 200);
    let (status, _, body) = send(&proxy, get("/health", Some(MASTER))).await;
    assert_eq!(status, 200);
    assert_eq!(json_of(&body)["healthy_count"], 2);
    assert!(!String::from_utf8_lossy(&body).contains(TEST_KEY));
}

#[tokio::test]
async fn wrong_methods_and_unknown_routes() {
    let server = MockServer::start().await;
    let proxy = proxy_for(&server, "");
    for route in ["/v1/chat/completions", "/v1/completions", "/v1/embeddings"] {
        let (status, headers, _) = send(&proxy, get(route, Some(MASTER))).await;
        assert_eq!(status, 405, "{route}");
        assert_eq!(headers["allow"], "POST");
    }
    let (status, _, body) = send(&proxy, get("/v2/nothing", Some(MASTER))).await;
    assert_eq!(status, 404);
    assert_eq!(json_of(&body)["error"]["type"], "not_found_error");
}

#[tokio::test]
async fn legacy_completions_are_served_by_the_chat_deployments() {
    let server = MockServer::start().await;
    let reply =
        fixture("01-agent--completion-smoke.json")["exchanges"][0]["response"]["body"].clone();
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(body_json(
            json!({"contents": [{"role": "user", "parts": [{"text": "hi"}]}]}),
        ))
        .respond_with(ResponseTemplate::new(200).set_body_json(&reply))
        .expect(1)
        .mount(&server)
        .await;
    let proxy = proxy_for(&server, "");
    let request = json!({"model": "gemini-flash", "prompt": "hi"});
    let (status, _, _) = send(&proxy, post("/v1/completions", None, &request)).await;
    assert_eq!(status, 401);
    let (status, _, body) = send(&proxy, post("/v1/completions", Some(MASTER), &request)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let completion = json_of(&body);
    assert_eq!(completion["object"], "text_completion");
    assert_eq!(
        completion["choices"][0]["text"],
        reply["candidates"][0]["content"]["parts"][0]["text"]
    );
}

#[tokio::test]
async fn embeddings_go_to_the_named_or_wildcard_deployment_behind_the_master_key() {
    let server = MockServer::start().await;
    let exchange = fixture("77-synthetic--embed-batch.json")["exchanges"][0].clone();
    Mock::given(method("POST"))
        .and(path(
            "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        ))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(body_json(&exchange["request"]["body"]))
        .respond_with(ResponseTemplate::new(200).set_body_json(&exchange["response"]["body"]))
        .expect(2)
        .mount(&server)
        .await;
    let yaml = format!(
        "model_list:
  - model_name: embedder
    litellm_params: {{model: gemini/gemini-embedding-001, api_key: os.environ/GEMINI_API_KEY, api_base: {base}/v1beta}}
  - model_name: gemini/*
    litellm_params: {{model: gemini/*, api_key: os.environ/GEMINI_API_KEY, api_base: {base}/v1beta}}
general_settings: {{master_key: os.environ/MASTER}}
",
        base = server.uri()
    );
    let proxy = Proxy::from_config(&config(&yaml)).expect("proxy builds");
    let request =
        |model: &str| json!({"model": model, "input": ["hello", "world"], "dimensions": 4});
    let (status, _, _) = send(&proxy, post("/v1/embeddings", None, &request("embedder"))).await;
    assert_eq!(status, 401);
    for model in ["embedder", "gemini/gemini-embedding-001"] {
        let (status, _, body) = send(
            &proxy,
            post("/v1/embeddings", Some(MASTER), &request(model)),
        )
        .await;
        assert_eq!(status, 200, "{model}: {}", String::from_utf8_lossy(&body));
        let reply = json_of(&body);
        assert_eq!(reply["object"], "list");
        assert_eq!(reply["data"][1]["index"], 1);
        assert_eq!(
            reply["data"][1]["embedding"],
            json!([-0.0321, 0.0654, -0.0987, 0.0021])
        );
    }
}

#[tokio::test]
async fn the_passthrough_swaps_the_master_key_for_the_gemini_key() {
    let server = MockServer::start().await;
    let reply =
        fixture("01-agent--completion-smoke.json")["exchanges"][0]["response"]["body"].clone();
    let body = json!({"contents": [{"parts": [{"text": "hi"}]}]});
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .and(header("x-goog-api-key", TEST_KEY))
        .and(query_param("alt", "json"))
        .and(body_json(&body))
        .respond_with(ResponseTemplate::new(200).set_body_json(&reply))
        .mount(&server)
        .await;
    let proxy = proxy_for(&server, "");
    let request = http::Request::post(
        "/gemini/v1beta/models/gemini-2.5-flash:generateContent?key=sk-master-1234&alt=json",
    )
    .header("content-type", "application/json")
    .body(Full::new(Bytes::from(body.to_string())))
    .expect("request");
    let (status, headers, bytes) = send(&proxy, request).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    assert_eq!(json_of(&bytes), reply);
    assert_eq!(headers["content-type"], "application/json");
    let sent = &server.received_requests().await.unwrap_or_default()[0];
    assert_eq!(
        sent.url.query(),
        Some("alt=json"),
        "the client's key is not forwarded"
    );

    let request = http::Request::post("/gemini/v1beta/models/gemini-2.5-flash:generateContent")
        .header("x-goog-api-key", MASTER)
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    let (status, _, _) = send(&proxy, request).await;
    assert_eq!(
        status, 404,
        "no alt=json query: the stand-in has no match, and its 404 is passed back"
    );

    let request = http::Request::post("/gemini/v1beta/models/gemini-2.5-flash:generateContent")
        .header("x-goog-api-key", "sk-wrong")
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request");
    let (status, _, body) = send(&proxy, request).await;
    assert_eq!(status, 401);
    // The pass-through's own errors are in Google's envelope, which google-genai reads.
    let error = json_of(&body)["error"].clone();
    assert_eq!(
        (error["code"].clone(), error["status"].clone()),
        (json!(401), json!("UNAUTHENTICATED"))
    );
    assert!(error["message"].as_str().expect("message").contains("key"));

    let request = http::Request::get("/gemini/v1/models")
        .header("x-goog-api-key", MASTER)
        .body(Full::new(Bytes::new()))
        .expect("request");
    let (status, _, body) = send(&proxy, request).await;
    assert_eq!(status, 404);
    let error = json_of(&body)["error"].clone();
    assert_eq!(
        (error["code"].clone(), error["status"].clone()),
        (json!(404), json!("NOT_FOUND"))
    );
}

#[tokio::test]
async fn a_slow_upstream_hits_the_request_timeout() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let proxy = proxy_for(&server, "litellm_settings: {request_timeout: 0.2}");
    let (status, _, body) = send(
        &proxy,
        post("/v1/chat/completions", Some(MASTER), &hello("gemini-flash")),
    )
    .await;
    assert_eq!(status, 504);
    assert_eq!(json_of(&body)["error"]["type"], "timeout_error");
}

#[tokio::test]
async fn providers_llm_tower_does_not_have_start_and_answer_404_saying_why() {
    let yaml = "model_list:\n  - model_name: claude\n    litellm_params: {model: anthropic/claude-sonnet-4-5}\n";
    let proxy = Proxy::from_config(&config(yaml)).expect("the proxy starts");
    let (status, _, body) =
        send(&proxy, post("/v1/chat/completions", None, &hello("claude"))).await;
    assert_eq!(status, 404);
    let envelope = json_of(&body);
    assert_eq!(envelope["error"]["param"], "model");
    assert_eq!(
        envelope["error"]["message"],
        "model \"claude\" is not served here: provider \"anthropic\" is not available in llm-tower (it serves gemini/…, openai/… and vertex_ai/…)"
    );
    let (_, _, health) = send(&proxy, get("/health", None)).await;
    let health = json_of(&health);
    assert_eq!(
        (
            health["healthy_count"].as_u64(),
            health["unhealthy_count"].as_u64()
        ),
        (Some(0), Some(1))
    );
    assert_eq!(health["unhealthy_endpoints"][0]["model_name"], "claude");
}

/// The binary: a broken config exits non-zero naming line and column; a good one serves,
/// warns about keys it does not use, and stops cleanly on SIGTERM.
#[cfg(unix)]
#[tokio::test]
async fn the_binary_starts_warns_serves_and_stops_on_sigterm() {
    use std::io::{BufRead, BufReader};
    use std::process::{Command, Stdio};

    let binary = env!("CARGO_BIN_EXE_llm-tower");
    let broken = format!(
        "{}/tests/fixtures/config/broken.yaml",
        env!("CARGO_MANIFEST_DIR")
    );
    let output = Command::new(binary)
        .args(["--config", &broken])
        .output()
        .expect("runs");
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(stderr.contains("broken.yaml:8:6"), "{stderr}");

    let server = MockServer::start().await;
    mount_text_reply(&server, "gemini-2.5-flash").await;
    let dir = std::env::temp_dir().join(format!("llm-tower-test-{}", std::process::id()));
    std::fs::create_dir_all(&dir).expect("temp dir");
    let config_path = dir.join("config.yaml");
    std::fs::write(
        &config_path,
        format!(
            "model_list:\n  - model_name: flash\n    litellm_params: {{model: gemini/gemini-2.5-flash, api_key: {TEST_KEY}, api_base: {}/v1beta}}\nrouter_settings: {{cache_responses: true}}\n",
            server.uri()
        ),
    )
    .expect("config written");
    let port = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        listener.local_addr().expect("addr").port()
    };
    let mut child = Command::new(binary)
        .args([
            "--config",
            config_path.to_str().expect("utf-8 path"),
            "--host",
            "127.0.0.1",
            "--port",
            &port.to_string(),
        ])
        .env("RUST_LOG", "info")
        .stderr(Stdio::piped())
        .spawn()
        .expect("starts");
    let mut lines = BufReader::new(child.stderr.take().expect("stderr")).lines();
    let mut log = String::new();
    for line in lines.by_ref() {
        let line = line.expect("log line");
        log.push_str(&line);
        log.push('\n');
        if line.contains("listening on") {
            break;
        }
    }
    assert!(
        log.contains("router_settings"),
        "unknown key warned about: {log}"
    );
    assert!(
        log.contains("open to anyone"),
        "open proxy warned about: {log}"
    );

    let client = reqwest::Client::new();
    let bytes = client
        .post(format!("http://127.0.0.1:{port}/v1/chat/completions"))
        .header("content-type", "application/json")
        .body(hello("flash").to_string())
        .send()
        .await
        .expect("proxy answers")
        .bytes()
        .await
        .expect("reply body");
    let reply = json_of(&bytes);
    assert_eq!(reply["object"], "chat.completion");

    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .expect("kill runs");
    assert!(status.success());
    let exit = tokio::task::spawn_blocking(move || child.wait())
        .await
        .expect("joined")
        .expect("exits");
    assert!(exit.success(), "clean exit on SIGTERM: {exit:?}");
    let rest: Vec<String> = lines.map_while(Result::ok).collect();
    assert!(
        rest.iter().any(|line| line.contains("shutting down")),
        "{rest:?}"
    );
    assert!(
        !log.contains(TEST_KEY) && !rest.iter().any(|line| line.contains(TEST_KEY)),
        "the key never reaches the log"
    );
    let _ = std::fs::remove_dir_all(dir);
}

#[tokio::test]
async fn client_side_credentials_are_refused_unless_allowed() {
    let server = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    mount_text_reply(&elsewhere, "gemini-2.5-flash").await;
    let proxy = proxy_for(&server, "");
    let mut request = hello("gemini-flash");
    request["api_base"] = json!(format!("{}/v1beta", elsewhere.uri()));
    let (status, _, body) =
        send(&proxy, post("/v1/chat/completions", Some(MASTER), &request)).await;
    assert_eq!(status, 400);
    assert_eq!(json_of(&body)["error"]["param"], "api_base");
    assert!(
        elsewhere
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );

    let yaml = format!(
        "model_list:\n  - model_name: gemini-flash\n    litellm_params: {{model: gemini/gemini-2.5-flash, api_key: os.environ/GEMINI_API_KEY, api_base: {}/v1beta}}\ngeneral_settings: {{allow_client_side_credentials: true}}\n",
        server.uri()
    );
    let open = Proxy::from_config(&config(&yaml)).expect("proxy builds");
    let (status, _, _) = send(&open, post("/v1/chat/completions", None, &request)).await;
    assert_eq!(
        status, 400,
        "api_base without the client's own api_key is refused by the provider"
    );
    request["api_key"] = json!(TEST_KEY);
    let (status, _, body) = send(&open, post("/v1/chat/completions", None, &request)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    assert_eq!(
        elsewhere
            .received_requests()
            .await
            .unwrap_or_default()
            .len(),
        1
    );
}

#[tokio::test]
async fn user_url_allowed_hosts_opens_image_downloads_to_those_hosts() {
    let server = MockServer::start().await;
    mount_text_reply(&server, "gemini-2.5-flash").await;
    Mock::given(method("GET"))
        .and(path("/cat.png"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(vec![137, 80, 78, 71], "image/png"))
        .mount(&server)
        .await;
    let request = json!({"model": "gemini-flash", "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": format!("{}/cat.png", server.uri())}}
    ]}]});

    let closed = proxy_for(&server, "");
    let (status, _, body) = send(
        &closed,
        post("/v1/chat/completions", Some(MASTER), &request),
    )
    .await;
    assert_eq!(status, 400, "loopback is refused by default");
    assert!(
        json_of(&body)["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("user_url_allowed_hosts")
    );
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );

    let open = proxy_for(
        &server,
        "litellm_settings: {user_url_allowed_hosts: [\"127.0.0.1\"]}",
    );
    let (status, _, body) = send(&open, post("/v1/chat/completions", Some(MASTER), &request)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let requests = server.received_requests().await.unwrap_or_default();
    let sent: Value =
        serde_json::from_slice(&requests.last().expect("the chat call").body).expect("JSON");
    assert_eq!(
        sent["contents"][0]["parts"][1],
        json!({"inlineData": {"mimeType": "image/png", "data": "iVBORw=="}})
    );
}

#[test]
fn config_debug_output_hides_values_read_from_the_environment() {
    let yaml = "model_list:\n  - model_name: flash\n    litellm_params:\n      model: gemini/gemini-2.5-flash\n      api_key: os.environ/GEMINI_API_KEY\n      api_base: https://user:pass@gateway.internal/v1beta\n      user: os.environ/MASTER\ngeneral_settings: {master_key: os.environ/MASTER}\n";
    let debug = format!("{:?}", config(yaml));
    for secret in [TEST_KEY, MASTER, "user:pass"] {
        assert!(!debug.contains(secret), "{secret} leaked: {debug}");
    }
    assert!(debug.contains("\"user\""), "the key is named: {debug}");
}

#[test]
fn a_deployment_param_of_the_wrong_type_is_refused_at_startup() {
    let yaml = "model_list:\n  - model_name: flash\n    litellm_params: {model: gemini/gemini-2.5-flash, temperature: hot}\n";
    let error = Proxy::from_config(&config(yaml)).err().expect("refused");
    let message = error.to_string();
    assert!(
        message.contains("model_list[0]") && message.contains("temperature"),
        "{message}"
    );
}

#[tokio::test]
async fn client_errors_are_not_retried() {
    let server = MockServer::start().await;
    Mock::given(method("POST"))
        .respond_with(ResponseTemplate::new(400).set_body_json(
            json!({"error": {"code": 400, "message": "bad", "status": "INVALID_ARGUMENT"}}),
        ))
        .mount(&server)
        .await;
    let proxy = proxy_for(&server, "litellm_settings: {num_retries: 3}");
    let (status, _, _) = send(
        &proxy,
        post("/v1/chat/completions", Some(MASTER), &hello("gemini-flash")),
    )
    .await;
    assert_eq!(status, 400);
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        1
    );
}

#[tokio::test]
async fn the_passthrough_without_a_key_or_an_upstream_answers_in_googles_shape() {
    // No deployment key: the pass-through falls back to GEMINI_API_KEY, which a test cannot
    // rely on being unset, so the key is given and the upstream is a closed port instead.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("free port");
        listener.local_addr().expect("addr").port()
    };
    let yaml = format!(
        "model_list:\n  - model_name: flash\n    litellm_params: {{model: gemini/gemini-2.5-flash, api_key: os.environ/GEMINI_API_KEY, api_base: http://127.0.0.1:{closed}/v1beta}}\n"
    );
    let proxy = Proxy::from_config(&config(&yaml)).expect("proxy builds");
    let request = http::Request::get("/gemini/v1beta/models")
        .body(Full::new(Bytes::new()))
        .expect("request");
    let (status, _, body) = send(&proxy, request).await;
    assert_eq!(status, 503);
    let error = json_of(&body)["error"].clone();
    assert_eq!(
        (error["code"].clone(), error["status"].clone()),
        (json!(503), json!("UNAVAILABLE"))
    );
    assert!(!error.to_string().contains(TEST_KEY));
}

#[tokio::test]
async fn health_hides_credentials_in_urls_and_reports_deployments_without_a_key() {
    let yaml = "model_list:
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: os.environ/GEMINI_API_KEY
      api_base: http://user:s3cret@127.0.0.1:9/v1beta?token=t0ken
  - model_name: keyless
    litellm_params:
      model: gemini/gemini-2.5-pro
general_settings:
  master_key: os.environ/MASTER
";
    let proxy = Proxy::from_config(&config(yaml)).expect("proxy builds");
    let (status, _, body) = send(&proxy, get("/health", Some(MASTER))).await;
    assert_eq!(status, 200);
    let text = String::from_utf8_lossy(&body);
    for secret in ["s3cret", "user:", "t0ken", TEST_KEY] {
        assert!(!text.contains(secret), "{secret} in {text}");
    }
    let health = json_of(&body);
    assert_eq!(
        health["healthy_endpoints"][0]["api_base"],
        "http://127.0.0.1:9/v1beta"
    );
    // Without a key of its own, a Gemini deployment falls back on the environment's.
    let fallback = ["GEMINI_API_KEY", "GOOGLE_API_KEY"]
        .iter()
        .any(|name| std::env::var(name).is_ok_and(|key| !key.is_empty()));
    if fallback {
        assert_eq!(health["healthy_count"], 2, "{health}");
    } else {
        assert_eq!(health["healthy_count"], 1, "{health}");
        assert_eq!(health["unhealthy_count"], 1, "{health}");
        assert_eq!(health["unhealthy_endpoints"][0]["model_name"], "keyless");
    }
}

#[tokio::test]
async fn the_passthrough_refuses_dot_segments_before_calling_gemini() {
    let server = MockServer::start().await;
    let proxy = proxy_for(&server, "");
    for path in [
        "/gemini/v1beta/../../admin",
        "/gemini/v1beta/models/%2e%2e/%2e%2e/admin",
        "/gemini/v1beta/models/..%2fadmin",
        "/gemini/v1beta/models/%2E./admin",
    ] {
        let request = http::Request::get(path)
            .header("x-goog-api-key", MASTER)
            .body(Full::new(Bytes::new()))
            .expect("request");
        let (status, _, body) = send(&proxy, request).await;
        assert_eq!(status, 400, "{path}: {}", String::from_utf8_lossy(&body));
    }
    assert!(
        server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty(),
        "nothing reached the upstream"
    );
}

#[tokio::test]
async fn model_facts_show_with_their_overrides_and_bad_overrides_refuse_startup() {
    let yaml = "model_list:
  - model_name: fast
    litellm_params: {model: gemini/gemini-3.8-flash, api_key: os.environ/GEMINI_API_KEY}
    model_info: {max_input_tokens: 200000, max_output_tokens: 8192}
  - model_name: gemini/*
    litellm_params: {model: gemini/*, api_key: os.environ/GEMINI_API_KEY}
general_settings:
  master_key: os.environ/MASTER
";
    let proxy = Proxy::from_config(&config(yaml)).expect("proxy builds");
    let (status, _, body) = send(&proxy, get("/model/info", Some(MASTER))).await;
    assert_eq!(status, 200);
    let fast = &json_of(&body)["data"][0]["model_info"];
    assert_eq!(
        (
            &fast["max_input_tokens"],
            &fast["max_output_tokens"],
            &fast["max_tokens"]
        ),
        (&json!(200_000), &json!(8192), &json!(8192))
    );
    assert_eq!(
        fast["thinking"],
        json!({"mode": "levels", "levels": ["low", "medium", "high"]})
    );
    assert_eq!(fast["cache_min_tokens"], 4096);
    // OpenAI's models.retrieve shows the same facts: a configured name's with its
    // overrides, a model the wildcard serves as the table (or its family) has them.
    let (_, _, body) = send(&proxy, get("/v1/models/fast", Some(MASTER))).await;
    let object = json_of(&body);
    assert_eq!(object["id"], "fast");
    assert_eq!(object["model_info"]["max_input_tokens"], 200_000);
    assert_eq!(object["model_info"]["model_family"], "3.x Flash");
    let (_, _, body) = send(
        &proxy,
        get("/v1/models/gemini/gemini-3-pro-preview", Some(MASTER)),
    )
    .await;
    let pro = json_of(&body);
    assert_eq!(
        pro["model_info"]["thinking"],
        json!({"mode": "levels", "levels": ["low", "high"]})
    );
    assert_eq!(
        pro["model_info"]["supports_builtin_tools_with_functions"],
        true
    );
    let (_, _, body) = send(
        &proxy,
        get("/v1/models/gemini/gemini-3.9-flash-lite", Some(MASTER)),
    )
    .await;
    assert_eq!(
        json_of(&body)["model_info"]["model_family"],
        "3.x Flash-Lite"
    );

    for (value, shown) in [("-5", "-5"), ("lots", "\"lots\""), ("1.5", "1.5")] {
        let yaml = format!(
            "model_list:
  - model_name: fast
    litellm_params: {{model: gemini/gemini-3.8-flash, api_key: os.environ/GEMINI_API_KEY}}
    model_info: {{max_input_tokens: {value}}}
"
        );
        let error = Proxy::from_config(&config(&yaml))
            .err()
            .expect("refused")
            .to_string();
        assert_eq!(
            error,
            format!(
                "model_list[0]: model_info.max_input_tokens must be a whole number of tokens, 0 or more; got {shown}"
            )
        );
    }
}

#[tokio::test]
async fn model_info_lists_deployments_with_prices_and_no_keys() {
    let server = MockServer::start().await;
    let yaml = format!(
        "model_list:
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: os.environ/GEMINI_API_KEY
      api_base: {base}/v1beta
      top_k: 4
    model_info:
      id: flash-1
      input_cost_per_token: 1.0e-6
  - model_name: pro
    litellm_params:
      model: gemini/gemini-2.5-pro
      api_key: os.environ/GEMINI_API_KEY
      api_base: {base}/v1beta
      output_cost_per_token: 2.0e-5
general_settings:
  master_key: os.environ/MASTER
",
        base = server.uri()
    );
    let proxy = Proxy::from_config(&config(&yaml)).expect("proxy builds");
    for route in ["/model/info", "/v1/model/info"] {
        let (status, _, body) = send(&proxy, get(route, Some(MASTER))).await;
        assert_eq!(status, 200, "{route}");
        assert!(!String::from_utf8_lossy(&body).contains(TEST_KEY));
        let info = json_of(&body);
        let flash = &info["data"][0];
        assert_eq!(flash["model_name"], "flash");
        assert_eq!(
            flash["litellm_params"],
            json!({"model": "gemini/gemini-2.5-flash", "api_base": format!("{}/v1beta", server.uri()), "top_k": 4})
        );
        assert_eq!(
            flash["model_info"],
            json!({
                "id": "flash-1", "input_cost_per_token": 1.0e-6,
                "key": "gemini/gemini-2.5-flash", "litellm_provider": "gemini", "mode": "chat",
                "max_input_tokens": 1_048_576, "max_output_tokens": 65536, "max_tokens": 65536,
                "supports_reasoning": true,
                "thinking": {"mode": "budget", "min": 1, "max": 24576, "can_off": true},
                "cache_min_tokens": 2048, "supports_prompt_caching": true,
                "supports_media_resolution": false, "supports_builtin_tools_with_functions": false,
                "model_family": "2.5 Flash",
                "output_cost_per_token": 2.5e-6, "input_cost_per_audio_token": 1e-6,
                "output_cost_per_reasoning_token": 2.5e-6, "cache_read_input_token_cost": 3e-8,
                "cache_storage_cost_per_token_hour": 1e-6
            })
        );
        let pro = &info["data"][1]["model_info"];
        assert_eq!(pro["output_cost_per_token"], 2.0e-5);
        assert!(
            pro.get("output_cost_per_token_above_200k_tokens").is_none(),
            "{pro}"
        );
        assert_eq!(pro["input_cost_per_token_above_200k_tokens"], 2.5e-6);
    }

    // The deployment's own price is the one replies are billed at, in the header too.
    let reply = json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP"}],
        "usageMetadata": {"promptTokenCount": 1000, "candidatesTokenCount": 100, "totalTokenCount": 1100}
    });
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:generateContent"))
        .respond_with(ResponseTemplate::new(200).set_body_json(&reply))
        .mount(&server)
        .await;
    let (status, headers, body) = send(
        &proxy,
        post("/v1/chat/completions", Some(MASTER), &hello("flash")),
    )
    .await;
    assert_eq!(status, 200);
    // 1,000 × $1/M (the deployment's) + 100 × $2.50/M (the table's).
    assert_eq!(json_of(&body)["usage"]["cost"], 0.00125);
    assert_eq!(headers["x-litellm-response-cost"], "0.00125");
}
