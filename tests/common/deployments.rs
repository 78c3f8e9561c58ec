//! Stand-in deployments with fault modes for the router's tests: a Gemini server per
//! deployment, a config entry naming it, and a chat request through a proxy with its
//! status, headers and body. Test files include it beside `common` and `proxy_app` with
//! `#[path = "common/deployments.rs"] mod deployments;`.
#![allow(dead_code)] // each test binary uses a different subset

use std::time::Duration;

use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use serde_json::{Value, json};
use wiremock::matchers::{method, path_regex};
use wiremock::{Mock, MockServer, ResponseTemplate};

use crate::common::{TEST_KEY, ok_reply};
use crate::proxy_app::exchange;

/// The master key of the proxies built here.
pub const MASTER: &str = "sk-router-test";

/// How a stand-in deployment answers.
#[derive(Clone, Copy, Debug)]
pub enum Fault {
    /// 200 with a short reply (streams: two events).
    Ok,
    /// 429 `RESOURCE_EXHAUSTED`.
    RateLimited,
    /// 503 "The model is overloaded."
    Overloaded,
    /// No answer for two seconds (the deployment's timeout is 300 ms).
    Slow,
    /// 400: the prompt is over the context window.
    ContextWindow,
    /// 200: the prompt was blocked for safety.
    Blocked,
    /// A stream that sends one event, then breaks off mid-chunk.
    BreaksAfterFirstEvent,
}

/// A stand-in deployment: a Gemini server answering every call with its fault.
pub struct Deployment {
    pub server: MockServer,
}

pub fn google_error(code: u16, status: &str, message: &str) -> Value {
    json!({"error": {"code": code, "status": status, "message": message}})
}

pub fn sse(events: &[Value]) -> String {
    events
        .iter()
        .map(|event| format!("data: {event}\r\n\r\n"))
        .collect()
}

pub fn text_event(text: &str, finish: Option<&str>) -> Value {
    let mut candidate =
        json!({"content": {"role": "model", "parts": [{"text": text}]}, "index": 0});
    if let Some(finish) = finish {
        candidate["finishReason"] = json!(finish);
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": {"promptTokenCount": 3, "candidatesTokenCount": 2, "totalTokenCount": 5}
    })
}

impl Deployment {
    pub async fn start(fault: Fault) -> Self {
        let server = MockServer::start().await;
        let (whole, stream) = match fault {
            Fault::Ok => (
                ResponseTemplate::new(200).set_body_json(ok_reply()),
                ResponseTemplate::new(200).set_body_raw(
                    sse(&[text_event("Hel", None), text_event("lo", Some("STOP"))]),
                    "text/event-stream",
                ),
            ),
            Fault::RateLimited => {
                let body = google_error(
                    429,
                    "RESOURCE_EXHAUSTED",
                    "Resource has been exhausted (e.g. check quota).",
                );
                (
                    ResponseTemplate::new(429).set_body_json(&body),
                    ResponseTemplate::new(429).set_body_json(&body),
                )
            }
            Fault::Overloaded => {
                let body = google_error(
                    503,
                    "UNAVAILABLE",
                    "The model is overloaded. Please try again later.",
                );
                (
                    ResponseTemplate::new(503).set_body_json(&body),
                    ResponseTemplate::new(503).set_body_json(&body),
                )
            }
            Fault::Slow => (
                ResponseTemplate::new(200)
                    .set_body_json(ok_reply())
                    .set_delay(Duration::from_secs(2)),
                ResponseTemplate::new(200)
                    .set_body_raw(
                        sse(&[text_event("late", Some("STOP"))]),
                        "text/event-stream",
                    )
                    .set_delay(Duration::from_secs(2)),
            ),
            Fault::ContextWindow => {
                let body = google_error(
                    400,
                    "INVALID_ARGUMENT",
                    "The input token count (1200000) exceeds the maximum number of tokens allowed (1048576).",
                );
                (
                    ResponseTemplate::new(400).set_body_json(&body),
                    ResponseTemplate::new(400).set_body_json(&body),
                )
            }
            Fault::Blocked => {
                let blocked = json!({
                    "promptFeedback": {"blockReason": "SAFETY"},
                    "usageMetadata": {"promptTokenCount": 3, "totalTokenCount": 3}
                });
                (
                    ResponseTemplate::new(200).set_body_json(&blocked),
                    ResponseTemplate::new(200)
                        .set_body_raw(sse(std::slice::from_ref(&blocked)), "text/event-stream"),
                )
            }
            Fault::BreaksAfterFirstEvent => (
                ResponseTemplate::new(200).set_body_json(ok_reply()),
                ResponseTemplate::new(200).set_body_raw(
                    format!(
                        "{}data: {{\"candidates\": [{{\"content\"",
                        sse(&[text_event("Hel", None)])
                    ),
                    "text/event-stream",
                ),
            ),
        };
        Mock::given(method("POST"))
            .and(path_regex(r":generateContent$"))
            .respond_with(whole)
            .mount(&server)
            .await;
        Mock::given(method("POST"))
            .and(path_regex(r":streamGenerateContent$"))
            .respond_with(stream)
            .mount(&server)
            .await;
        Self { server }
    }

    pub async fn calls(&self) -> usize {
        self.server
            .received_requests()
            .await
            .unwrap_or_default()
            .len()
    }
}

/// A `model_list` entry of group `group` with id `id`, served by `deployment`.
pub fn entry(group: &str, id: &str, deployment: &Deployment, params: &str) -> String {
    format!(
        "  - model_name: {group}
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: {TEST_KEY}
      api_base: {}/v1beta
      timeout: 0.3
      {params}
    model_info: {{id: {id}}}
",
        deployment.server.uri()
    )
}

pub fn proxy(entries: &[String], settings: &str) -> Proxy {
    let yaml = format!(
        "model_list:\n{}general_settings:\n  master_key: {MASTER}\n{settings}",
        entries.concat()
    );
    let (config, warnings) =
        Config::from_yaml(&yaml, "config.yaml", &|_: &str| None).expect("valid config");
    assert!(warnings.is_empty(), "{warnings:?}");
    Proxy::from_config(&config).expect("proxy builds")
}

pub struct Answer {
    pub status: u16,
    pub headers: http::HeaderMap,
    pub body: String,
}

impl Answer {
    pub fn header(&self, name: &str) -> &str {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
    }

    pub fn json(&self) -> Value {
        serde_json::from_str(&self.body).unwrap_or_else(|_| panic!("JSON: {}", self.body))
    }
}

pub async fn ask(proxy: &Proxy, model: &str, stream: bool, extra: Value) -> Answer {
    let mut body = json!({
        "model": model,
        "messages": [{"role": "user", "content": "Hello"}],
        "stream": stream
    });
    if let Value::Object(extra) = extra {
        body.as_object_mut().unwrap().extend(extra);
    }
    let (status, headers, bytes) =
        exchange(proxy, "POST", "/v1/chat/completions", MASTER, Some(body)).await;
    Answer {
        status,
        headers,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}
