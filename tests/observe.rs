//! What an operator sees of the proxy, in process: `/metrics` (parsed as Prometheus text)
//! after chat, stream, cached and failing requests, label sets that stay bounded, the
//! client's trace context carried to Gemini, request ids on answers and error bodies,
//! CORS pre-flights and the readiness check.
#![cfg(feature = "proxy")]

#[path = "common/cache.rs"]
mod cache;
mod common;

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use common::{TEST_KEY, fixture};
use http_body_util::{BodyExt, Full};
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use llm_tower::proxy::cors::cors_layer;
use llm_tower::proxy::metrics::Metrics;
use llm_tower::proxy::stack::{Served, StackOptions, served};
use serde_json::{Value, json};
use tower::ServiceExt;
use wiremock::matchers::{header, method, path, query_param};
use wiremock::{Mock, MockServer, ResponseTemplate};

const MASTER: &str = "sk-master-observe";

fn config(server: &MockServer) -> Config {
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
",
        base = server.uri()
    );
    let env = |name: &str| match name {
        "GEMINI_API_KEY" => Some(TEST_KEY.to_owned()),
        "MASTER" => Some(MASTER.to_owned()),
        _ => None,
    };
    Config::from_yaml(&yaml, "config.yaml", &env)
        .expect("valid config")
        .0
}

fn stack(server: &MockServer, options: &StackOptions) -> Served {
    let config = config(server);
    let metrics = Arc::new(Metrics::new(&config));
    let proxy = Proxy::from_config(&config).expect("proxy builds");
    served(&config, proxy, metrics, options)
}

async fn send(
    service: &Served,
    request: http::Request<Full<Bytes>>,
) -> (http::StatusCode, http::HeaderMap, Bytes) {
    let response = service
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let (parts, body) = response.into_parts();
    let bytes = body.collect().await.expect("body").to_bytes();
    (parts.status, parts.headers, bytes)
}

fn chat(model: &str, extra: &[(&str, &str)], body: Value) -> http::Request<Full<Bytes>> {
    let mut builder = http::Request::post("/v1/chat/completions")
        .header("content-type", "application/json")
        .header("authorization", format!("Bearer {MASTER}"));
    for (name, value) in extra {
        builder = builder.header(*name, *value);
    }
    let mut body = body;
    body["model"] = json!(model);
    builder
        .body(Full::new(Bytes::from(body.to_string())))
        .expect("request")
}

fn hello() -> Value {
    json!({"messages": [{"role": "user", "content": "hi"}]})
}

fn get(uri: &str, key: Option<&str>) -> http::Request<Full<Bytes>> {
    let mut builder = http::Request::get(uri);
    if let Some(key) = key {
        builder = builder.header("authorization", format!("Bearer {key}"));
    }
    builder.body(Full::new(Bytes::new())).expect("request")
}

fn response_body(name: &str) -> Value {
    fixture(name)["exchanges"][0]["response"]["body"].clone()
}

async fn mount_reply(server: &MockServer, model: &str, reply: Value) {
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{model}:generateContent")))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(reply))
        .mount(server)
        .await;
}

async fn mount_stream(server: &MockServer, model: &str) {
    let sse = fixture("18-streaming--streaming-smoke.json")["exchanges"][0]["response"]["sse"]
        .as_str()
        .expect("recorded SSE")
        .to_owned();
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1beta/models/{model}:streamGenerateContent"
        )))
        .respond_with(
            ResponseTemplate::new(200).set_body_raw(sse.into_bytes(), "text/event-stream"),
        )
        .mount(server)
        .await;
}

/// The scrape, parsed with a Prometheus text parser.
async fn scrape(service: &Served) -> prometheus_parse::Scrape {
    let (status, headers, body) = send(service, get("/metrics", Some(MASTER))).await;
    assert_eq!(status, 200);
    assert!(
        headers["content-type"]
            .to_str()
            .expect("ascii")
            .starts_with("application/openmetrics-text"),
        "{headers:?}"
    );
    let text = String::from_utf8(body.to_vec()).expect("utf-8");
    prometheus_parse::Scrape::parse(text.lines().map(|line| Ok(line.to_owned()))).expect("parses")
}

/// The value of the one sample of `metric` with `labels` (0 when there is none).
fn value(scrape: &prometheus_parse::Scrape, metric: &str, labels: &[(&str, &str)]) -> f64 {
    let found: Vec<f64> = scrape
        .samples
        .iter()
        .filter(|sample| sample.metric == metric)
        .filter(|sample| {
            labels
                .iter()
                .all(|(name, value)| sample.labels.get(name) == Some(*value))
        })
        .map(|sample| match sample.value {
            prometheus_parse::Value::Counter(value)
            | prometheus_parse::Value::Gauge(value)
            | prometheus_parse::Value::Untyped(value) => value,
            _ => panic!("{metric} is not a single value"),
        })
        .collect();
    assert!(found.len() <= 1, "{metric} {labels:?}: {found:?}");
    found.first().copied().unwrap_or(0.0)
}

fn cost_of(reply: &Value) -> f64 {
    reply["usage"]["cost"].as_f64().unwrap_or(0.0)
}

fn usage_of(reply: &Value) -> [u64; 4] {
    let usage = &reply["usage"];
    [
        usage["prompt_tokens"].as_u64().expect("prompt_tokens"),
        usage["completion_tokens"]
            .as_u64()
            .expect("completion_tokens"),
        usage["prompt_tokens_details"]["cached_tokens"]
            .as_u64()
            .unwrap_or(0),
        usage["completion_tokens_details"]["reasoning_tokens"]
            .as_u64()
            .unwrap_or(0),
    ]
}

#[tokio::test]
async fn metrics_count_chat_stream_cached_and_failed_requests() {
    let server = MockServer::start().await;
    mount_reply(
        &server,
        "gemini-2.5-flash",
        response_body("01-agent--completion-smoke.json"),
    )
    .await;
    mount_reply(
        &server,
        "gemini-cached",
        response_body("64-synthetic--usage-cached-and-thoughts.json"),
    )
    .await;
    mount_stream(&server, "gemini-2.5-flash").await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-broken:generateContent"))
        .respond_with(ResponseTemplate::new(503).set_body_json(
            fixture("67-synthetic--error-503-unavailable.json")["exchanges"][0]["response"]["body"]
                .clone(),
        ))
        .mount(&server)
        .await;
    let service = stack(&server, &StackOptions::default());

    // /metrics asks for the master key.
    let (status, _, _) = send(&service, get("/metrics", None)).await;
    assert_eq!(status, 401);

    let mut expected = [0u64; 4];
    let mut spent = 0.0;
    for _ in 0..2 {
        let (status, _, body) = send(&service, chat("gemini-flash", &[], hello())).await;
        assert_eq!(status, 200);
        let reply: Value = serde_json::from_slice(&body).expect("JSON");
        spent += cost_of(&reply);
        for (sum, count) in expected.iter_mut().zip(usage_of(&reply)) {
            *sum += count;
        }
    }
    let mut streamed = hello();
    streamed["stream"] = json!(true);
    streamed["stream_options"] = json!({"include_usage": true});
    let (status, headers, body) = send(&service, chat("gemini-flash", &[], streamed)).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "text/event-stream");
    let usage_chunk = common::sse_payloads(&body)
        .into_iter()
        .filter(|payload| payload != "[DONE]")
        .map(|payload| serde_json::from_str::<Value>(&payload).expect("chunk"))
        .find(|chunk| !chunk["usage"].is_null())
        .expect("a usage chunk");
    spent += cost_of(&usage_chunk);
    for (sum, count) in expected.iter_mut().zip(usage_of(&usage_chunk)) {
        *sum += count;
    }
    let (status, _, body) = send(&service, chat("gemini/gemini-cached", &[], hello())).await;
    assert_eq!(status, 200);
    let cached_reply: Value = serde_json::from_slice(&body).expect("JSON");
    let cached = usage_of(&cached_reply);
    assert!(cached[2] > 0, "the fixture reports cached tokens");
    let (status, _, _) = send(&service, chat("gemini/gemini-broken", &[], hello())).await;
    assert_eq!(status, 503);
    let (status, _, _) = send(&service, chat("no-such-model", &[], hello())).await;
    assert_eq!(status, 404);

    let scrape = scrape(&service).await;
    let chat_route = ("route", "/v1/chat/completions");
    let flash = [("model", "gemini-flash"), ("provider", "gemini")];
    let wildcard = [("model", "gemini/*"), ("provider", "gemini")];
    let requests = |model: &[(&str, &str); 2], class: &str| {
        let labels = [chat_route, model[0], model[1], ("status_class", class)];
        value(&scrape, "llm_tower_requests_total", &labels)
    };
    assert_eq!(requests(&flash, "2xx"), 3.0);
    assert_eq!(requests(&wildcard, "2xx"), 1.0);
    assert_eq!(requests(&wildcard, "5xx"), 1.0);
    let other = [chat_route, ("model", "other"), ("status_class", "4xx")];
    assert_eq!(value(&scrape, "llm_tower_requests_total", &other), 1.0);
    assert_eq!(
        value(
            &scrape,
            "llm_tower_request_duration_seconds_count",
            &[chat_route, flash[0]]
        ),
        3.0
    );
    assert_eq!(
        value(
            &scrape,
            "llm_tower_time_to_first_token_seconds_count",
            &flash
        ),
        1.0
    );
    // Three calls to the flash deployment, two to the wildcard; one failed with 503.
    assert_eq!(
        value(&scrape, "llm_tower_upstream_duration_seconds_count", &flash),
        3.0
    );
    assert_eq!(
        value(
            &scrape,
            "llm_tower_upstream_errors_total",
            &[wildcard[0], ("status", "503")]
        ),
        1.0
    );
    for (kind, count) in ["prompt", "completion", "cached", "reasoning"]
        .into_iter()
        .zip(expected)
    {
        let labels = [flash[0], flash[1], ("kind", kind)];
        assert_eq!(
            value(&scrape, "llm_tower_tokens_total", &labels),
            count as f64,
            "{kind}"
        );
    }
    for (kind, count) in ["prompt", "completion", "cached", "reasoning"]
        .into_iter()
        .zip(cached)
    {
        let labels = [wildcard[0], ("kind", kind)];
        assert_eq!(
            value(&scrape, "llm_tower_tokens_total", &labels),
            count as f64,
            "{kind}"
        );
    }
    assert!(spent > 0.0, "gemini-2.5-flash has a price");
    let spend = value(&scrape, "llm_tower_spend_usd_total", &flash);
    assert!((spend - spent).abs() < 1e-9, "{spend} != {spent}");
    assert_eq!(value(&scrape, "llm_tower_open_streams", &[]), 0.0);
    // The scrape itself is the one request in flight.
    assert_eq!(value(&scrape, "llm_tower_requests_in_flight", &[]), 1.0);
}

#[tokio::test]
async fn context_cache_outcomes_are_counted_by_model() {
    let server = MockServer::start().await;
    cache::expect_empty_list(&server, 1).await;
    cache::expect_create(&server, cache::RECORDED_CACHE, Duration::ZERO, 1).await;
    cache::expect_live(&server, cache::RECORDED_CACHE, 2).await;
    let service = stack(&server, &StackOptions::default());
    let body = cache::contract_request(&cache::long_contract(), false);
    for _ in 0..2 {
        let (status, _, reply) = send(&service, chat("gemini-flash", &[], body.clone())).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    }

    let scrape = scrape(&service).await;
    let outcome = |outcome: &str| {
        value(
            &scrape,
            "llm_tower_context_cache_total",
            &[
                ("model", "gemini-flash"),
                ("provider", "gemini"),
                ("outcome", outcome),
            ],
        )
    };
    assert_eq!(outcome("created"), 1.0, "the first call creates the cache");
    assert_eq!(outcome("hit"), 1.0, "the second finds it in the store");
    assert_eq!(outcome("too_small"), 0.0);
}

#[tokio::test]
async fn a_create_that_fails_is_counted_and_the_call_answered_uncached() {
    let server = MockServer::start().await;
    cache::expect_empty_list(&server, 1).await;
    // Google unavailable for the create (however often the upstream retries ask).
    let (_, unavailable) = common::exchange(&common::fixture_file("67"), 0);
    Mock::given(method("POST"))
        .and(path("/v1beta/cachedContents"))
        .respond_with(ResponseTemplate::new(503).set_body_json(&unavailable["body"]))
        .mount(&server)
        .await;
    Mock::given(method("POST"))
        .and(path(format!(
            "/v1beta/models/{}:generateContent",
            cache::FLASH
        )))
        .respond_with(ResponseTemplate::new(200).set_body_json(common::ok_reply()))
        .expect(1)
        .mount(&server)
        .await;
    let service = stack(&server, &StackOptions::default());
    let body = cache::contract_request(&cache::long_contract(), false);
    let (status, _, reply) = send(&service, chat("gemini-flash", &[], body)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));

    let scrape = scrape(&service).await;
    let labels = [
        ("model", "gemini-flash"),
        ("provider", "gemini"),
        ("outcome", "failed"),
    ];
    assert_eq!(
        value(&scrape, "llm_tower_context_cache_total", &labels),
        1.0
    );
}

#[tokio::test]
async fn response_cache_hits_and_misses_are_counted_and_a_hit_spends_no_tokens() {
    let server = MockServer::start().await;
    mount_reply(
        &server,
        "gemini-2.5-flash",
        response_body("01-agent--completion-smoke.json"),
    )
    .await;
    let mut config = config(&server);
    let cached = "litellm_settings: {cache: true}";
    config.litellm_settings.cache = Config::from_yaml(cached, "config.yaml", &|_: &str| None)
        .expect("valid config")
        .0
        .litellm_settings
        .cache;
    let metrics = Arc::new(Metrics::new(&config));
    let proxy = Proxy::from_config(&config).expect("proxy builds");
    let service = served(&config, proxy, metrics, &StackOptions::default());
    for _ in 0..2 {
        let (status, _, reply) = send(&service, chat("gemini-flash", &[], hello())).await;
        assert_eq!(status, 200, "{}", String::from_utf8_lossy(&reply));
    }
    assert_eq!(server.received_requests().await.unwrap().len(), 1);

    let scrape = scrape(&service).await;
    let model = [("model", "gemini-flash"), ("provider", "gemini")];
    let outcome = |outcome: &str| {
        let mut labels = model.to_vec();
        labels.push(("outcome", outcome));
        value(&scrape, "llm_tower_response_cache_total", &labels)
    };
    assert_eq!((outcome("hit"), outcome("miss")), (1.0, 1.0));
    let requests = value(
        &scrape,
        "llm_tower_requests_total",
        &[
            ("route", "/v1/chat/completions"),
            model[0],
            model[1],
            ("status_class", "2xx"),
        ],
    );
    assert_eq!(requests, 2.0, "both requests are counted under their model");
    let prompt = |kind: &str| {
        let mut labels = model.to_vec();
        labels.push(("kind", kind));
        value(&scrape, "llm_tower_tokens_total", &labels)
    };
    let reply = response_body("01-agent--completion-smoke.json");
    let sent = reply["usageMetadata"]["promptTokenCount"].as_f64().unwrap();
    assert_eq!(prompt("prompt"), sent, "the hit spent none");
}

#[tokio::test]
async fn a_thousand_unknown_models_make_one_label() {
    let server = MockServer::start().await;
    let service = stack(&server, &StackOptions::default());
    for index in 0..1000 {
        let (status, _, _) = send(&service, chat(&format!("unknown-{index}"), &[], hello())).await;
        assert_eq!(status, 404);
    }
    let scrape = scrape(&service).await;
    let models: HashSet<&str> = scrape
        .samples
        .iter()
        .filter_map(|sample| sample.labels.get("model"))
        .collect();
    // (The scrape itself is counted when its answer has been sent.)
    assert_eq!(models, HashSet::from(["other"]), "{models:?}");
    let labels = [("model", "other"), ("status_class", "4xx")];
    assert_eq!(value(&scrape, "llm_tower_requests_total", &labels), 1000.0);
    assert!(scrape.samples.len() < 60, "{}", scrape.samples.len());
}

#[tokio::test]
async fn the_clients_trace_id_reaches_gemini() {
    let server = MockServer::start().await;
    mount_reply(
        &server,
        "gemini-2.5-flash",
        response_body("01-agent--completion-smoke.json"),
    )
    .await;
    let service = stack(&server, &StackOptions::default());
    let client = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let (status, _, _) = send(
        &service,
        chat("gemini-flash", &[("traceparent", client)], hello()),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _, _) = send(&service, chat("gemini-flash", &[], hello())).await;
    assert_eq!(status, 200);
    let received = server.received_requests().await.expect("recorded");
    let sent: Vec<&str> = received
        .iter()
        .map(|request| {
            request
                .headers
                .get("traceparent")
                .expect("traceparent sent upstream")
                .to_str()
                .expect("ascii")
        })
        .collect();
    let fields: Vec<&str> = sent[0].split('-').collect();
    assert_eq!(fields.len(), 4, "{}", sent[0]);
    assert_eq!(fields[0], "00");
    assert_eq!(fields[1], "4bf92f3577b34da6a3ce929d0e0e4736", "same trace");
    assert_ne!(fields[2], "00f067aa0ba902b7", "the proxy is the parent");
    assert_eq!(fields[2].len(), 16);
    assert_eq!(fields[3], "01");
    // Without one from the client, a new trace is started.
    let fresh: Vec<&str> = sent[1].split('-').collect();
    assert_eq!(fresh.len(), 4, "{}", sent[1]);
    assert_ne!(fresh[1], "4bf92f3577b34da6a3ce929d0e0e4736");
    assert_eq!(fresh[1].len(), 32);
}

#[tokio::test]
async fn request_ids_round_trip_and_reach_error_bodies() {
    let server = MockServer::start().await;
    mount_reply(
        &server,
        "gemini-2.5-flash",
        response_body("01-agent--completion-smoke.json"),
    )
    .await;
    let service = stack(&server, &StackOptions::default());
    let (status, headers, _) = send(
        &service,
        chat("gemini-flash", &[("x-request-id", "req-abc-123")], hello()),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["x-request-id"], "req-abc-123");
    assert_eq!(headers["x-litellm-call-id"], "req-abc-123");

    // Generated when missing: a UUID, the same in both headers and in the error body.
    let (status, headers, body) = send(&service, get("/v1/models", None)).await;
    assert_eq!(status, 401);
    let id = headers["x-request-id"].to_str().expect("ascii").to_owned();
    assert_eq!(id.len(), 36, "{id}");
    assert_eq!(headers["x-litellm-call-id"], id.as_str());
    let error: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(error["error"]["request_id"], id.as_str());
    assert_eq!(error["error"]["type"], "authentication_error", "{error}");

    let (status, _, body) = send(
        &service,
        chat("no-such-model", &[("x-request-id", "req-404")], hello()),
    )
    .await;
    assert_eq!(status, 404);
    let error: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(error["error"]["request_id"], "req-404");

    // An oversized or odd id is replaced by a new one, never echoed.
    let long = "r".repeat(400 * 1024);
    for odd in [long.as_str(), "id with spaces", "<script>"] {
        let (status, headers, body) = send(
            &service,
            chat("no-such-model", &[("x-request-id", odd)], hello()),
        )
        .await;
        assert_eq!(status, 404);
        let id = headers["x-request-id"].to_str().expect("ascii").to_owned();
        assert_eq!(id.len(), 36, "a new UUID, not {:.40}", id);
        assert_eq!(headers["x-litellm-call-id"], id.as_str());
        let error: Value = serde_json::from_slice(&body).expect("JSON");
        assert_eq!(error["error"]["request_id"], id.as_str());
        assert!(!String::from_utf8_lossy(&body).contains(odd));
    }
}

fn preflight(origin: &str) -> http::Request<Full<Bytes>> {
    http::Request::builder()
        .method("OPTIONS")
        .uri("/v1/chat/completions")
        .header("origin", origin)
        .header("access-control-request-method", "POST")
        .header(
            "access-control-request-headers",
            "authorization,content-type",
        )
        .body(Full::new(Bytes::new()))
        .expect("request")
}

#[tokio::test]
async fn cors_preflights_are_answered_without_the_master_key_when_configured() {
    let server = MockServer::start().await;
    // Off by default: a pre-flight meets the door like any request.
    let closed = stack(&server, &StackOptions::default());
    let (status, headers, _) = send(&closed, preflight("https://ui.example")).await;
    assert_eq!(status, 401);
    assert!(!headers.contains_key("access-control-allow-origin"));

    let options = StackOptions {
        cors: cors_layer("https://ui.example, http://localhost:3000").expect("origins"),
        ..StackOptions::default()
    };
    let open = stack(&server, &options);
    let (status, headers, _) = send(&open, preflight("https://ui.example")).await;
    assert_eq!(status, 200);
    assert_eq!(
        headers["access-control-allow-origin"], "https://ui.example",
        "{headers:?}"
    );
    let allowed = headers["access-control-allow-headers"]
        .to_str()
        .expect("ascii")
        .to_ascii_lowercase();
    assert!(allowed.contains("authorization"), "{allowed}");
    assert!(
        headers["access-control-allow-methods"]
            .to_str()
            .expect("ascii")
            .contains("POST")
    );
    // Another origin gets no grant; the real request still needs the key.
    let (_, headers, _) = send(&open, preflight("https://evil.example")).await;
    assert!(!headers.contains_key("access-control-allow-origin"));
    let mut request = get("/v1/models", None);
    request.headers_mut().insert(
        "origin",
        http::HeaderValue::from_static("https://ui.example"),
    );
    let (status, headers, _) = send(&open, request).await;
    assert_eq!(status, 401);
    assert_eq!(headers["access-control-allow-origin"], "https://ui.example");
    assert!(cors_layer("ftp://nope").is_err());
}

#[tokio::test]
async fn readiness_checks_each_deployment_upstream_on_request() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models/gemini-2.5-flash"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(
            ResponseTemplate::new(200).set_body_json(json!({"name": "models/gemini-2.5-flash"})),
        )
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/v1beta/models"))
        .and(query_param("pageSize", "1"))
        .and(header("x-goog-api-key", TEST_KEY))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"models": []})))
        .expect(1)
        .mount(&server)
        .await;
    let service = stack(&server, &StackOptions::default());
    let (status, _, body) = send(&service, get("/health/readiness", None)).await;
    assert_eq!(status, 200);
    let report: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(report["status"], "healthy");
    assert_eq!(report["config"], "loaded");
    assert_eq!(report["deployments"], 2);
    assert!(report.get("upstream").is_none());

    let (status, _, _) = send(&service, get("/health/readiness?check=upstream", None)).await;
    assert_eq!(status, 401, "upstream calls only for the master key");
    let (status, _, body) = send(
        &service,
        get("/health/readiness?check=upstream", Some(MASTER)),
    )
    .await;
    let report: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(status, 200, "{report}");
    assert_eq!(report["upstream"][0]["model_name"], "gemini-flash");
    assert_eq!(report["upstream"][0]["status"], "healthy");
    assert_eq!(report["upstream"][1]["model_name"], "gemini/*");
    assert_eq!(report["upstream"][1]["status"], "healthy");
    server.verify().await;

    // A deployment the upstream refuses makes the proxy unready, with Google's status.
    server.reset().await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(400).set_body_json(
                fixture("68-synthetic--error-400-api-key-invalid.json")["exchanges"][0]["response"]
                    ["body"]
                    .clone(),
            ),
        )
        .mount(&server)
        .await;
    let (status, _, body) = send(
        &service,
        get("/health/readiness?check=upstream", Some(MASTER)),
    )
    .await;
    let report: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(status, 503, "{report}");
    assert_eq!(report["status"], "unhealthy");
    assert_eq!(report["upstream"][0]["status"], "unhealthy");
    assert!(
        report["upstream"][0]["error"]
            .as_str()
            .expect("error")
            .contains("400"),
        "{report}"
    );
    assert!(
        !body
            .windows(TEST_KEY.len())
            .any(|window| window == TEST_KEY.as_bytes())
    );
}

#[tokio::test]
async fn messages_are_counted_under_their_routes_and_a_token_count_spends_no_tokens() {
    let server = MockServer::start().await;
    mount_reply(
        &server,
        "gemini-2.5-flash",
        response_body("01-agent--completion-smoke.json"),
    )
    .await;
    Mock::given(method("POST"))
        .and(path("/v1beta/models/gemini-2.5-flash:countTokens"))
        .respond_with(ResponseTemplate::new(200).set_body_json(json!({"totalTokens": 7})))
        .mount(&server)
        .await;
    let service = stack(&server, &StackOptions::default());
    let post = |uri: &str, body: Value| {
        http::Request::post(uri)
            .header("content-type", "application/json")
            .header("x-api-key", MASTER)
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("request")
    };
    let ask = json!({"model": "gemini-flash", "max_tokens": 64,
                     "messages": [{"role": "user", "content": "hi"}]});
    let (status, _, _) = send(&service, post("/v1/messages", ask.clone())).await;
    assert_eq!(status, 200);
    let (status, _, body) = send(&service, post("/v1/messages/count_tokens", ask)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));

    let scrape = scrape(&service).await;
    let flash = [("model", "gemini-flash"), ("provider", "gemini")];
    for route in ["/v1/messages", "/v1/messages/count_tokens"] {
        let labels = [
            ("route", route),
            flash[0],
            flash[1],
            ("status_class", "2xx"),
        ];
        assert_eq!(
            value(&scrape, "llm_tower_requests_total", &labels),
            1.0,
            "{route}"
        );
    }
    let usage = response_body("01-agent--completion-smoke.json")["usageMetadata"].clone();
    let prompt = [flash[0], flash[1], ("kind", "prompt")];
    assert_eq!(
        value(&scrape, "llm_tower_tokens_total", &prompt),
        usage["promptTokenCount"].as_f64().expect("prompt tokens"),
        "the count's 7 tokens are not among them"
    );
}

#[tokio::test]
async fn a_streamed_completion_past_the_fan_out_bound_counts_every_prompt() {
    let server = MockServer::start().await;
    mount_stream(&server, "gemini-2.5-flash").await;
    let service = stack(&server, &StackOptions::default());
    let completion = |prompts: usize| {
        let body = json!({
            "model": "gemini-flash",
            "prompt": vec!["Say hi"; prompts],
            "stream": true,
            "stream_options": {"include_usage": true},
        });
        http::Request::post("/v1/completions")
            .header("content-type", "application/json")
            .header("authorization", format!("Bearer {MASTER}"))
            .body(Full::new(Bytes::from(body.to_string())))
            .expect("request")
    };
    let flash = [("model", "gemini-flash"), ("provider", "gemini")];
    let prompt_tokens = [("kind", "prompt"), flash[0], flash[1]];
    // One prompt: what one call counts.
    let (status, _, _) = send(&service, completion(1)).await;
    assert_eq!(status, 200);
    let once = scrape(&service).await;
    let calls = value(&once, "llm_tower_upstream_duration_seconds_count", &flash);
    let tokens = value(&once, "llm_tower_tokens_total", &prompt_tokens);
    assert_eq!(calls, 1.0);
    assert!(tokens > 0.0, "the fixture reports prompt tokens");
    // Twelve, past the fan-out bound of eight: the last four start while the answer's
    // body is polled, and count all the same.
    let (status, _, body) = send(&service, completion(12)).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&body));
    let after = scrape(&service).await;
    assert_eq!(
        value(&after, "llm_tower_upstream_duration_seconds_count", &flash),
        13.0
    );
    assert_eq!(
        value(&after, "llm_tower_tokens_total", &prompt_tokens),
        13.0 * tokens
    );
    assert_eq!(
        server.received_requests().await.unwrap_or_default().len(),
        13
    );
}
