//! Proxy helpers shared by the Responses and OpenAI-provider tests: a proxy built from a
//! config whose one deployment, `gemini-flash`, is the wiremock stand-in, and a request
//! through a proxy. Test files include it beside `common` with
//! `#[path = "common/proxy.rs"] mod proxy_app;`.
#![allow(dead_code)] // each test binary uses a different subset

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use llm_tower::proxy::app::Proxy;
use llm_tower::proxy::config::Config;
use serde_json::Value;
use tower::ServiceExt;

use crate::common::{StandIn, TEST_KEY};

/// A proxy with master key `master` whose `gemini-flash` is `gemini-2.5-flash` at the
/// stand-in; `extra` is appended to the config (other top-level sections).
pub fn gemini_proxy(stand_in: &StandIn, master: &str, extra: &str) -> Proxy {
    gemini_proxy_with(stand_in, master, "", extra)
}

/// As [`gemini_proxy`], with `params` (lines of six-space indented YAML) added to the
/// deployment's `litellm_params`.
pub fn gemini_proxy_with(stand_in: &StandIn, master: &str, params: &str, extra: &str) -> Proxy {
    let yaml = format!(
        "model_list:
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-2.5-flash
      api_key: {TEST_KEY}
      api_base: {}/v1beta
{params}general_settings:
  master_key: {master}
{extra}",
        stand_in.server.uri()
    );
    let (config, warnings) =
        Config::from_yaml(&yaml, "config.yaml", &|_: &str| None).expect("valid config");
    assert!(warnings.is_empty(), "{warnings:?}");
    Proxy::from_config(&config).expect("proxy builds")
}

/// `method uri` with `key` as the bearer token and `body` as JSON: the status and the JSON
/// reply.
pub async fn send(
    proxy: &Proxy,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Value) {
    let (status, bytes) = send_for_bytes(proxy, method, uri, key, body).await;
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|_| panic!("JSON: {}", String::from_utf8_lossy(&bytes)));
    (status, json)
}

/// As [`send`], the reply's bytes (an SSE body).
pub async fn send_for_bytes(
    proxy: &Proxy,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, Bytes) {
    let (status, _, bytes) = exchange(proxy, method, uri, key, body).await;
    (status, bytes)
}

/// As [`send`], the reply's status, headers and bytes.
pub async fn exchange(
    proxy: &Proxy,
    method: &str,
    uri: &str,
    key: &str,
    body: Option<Value>,
) -> (u16, http::HeaderMap, Bytes) {
    let request = http::Request::builder()
        .method(method)
        .uri(uri)
        .header("authorization", format!("Bearer {key}"))
        .header("content-type", "application/json")
        .body(Full::new(body.map_or_else(Bytes::new, |body| {
            Bytes::from(body.to_string())
        })))
        .expect("request");
    answer(proxy, request).await
}

/// The status, headers and bytes of the proxy's answer to `request`.
pub async fn answer(
    proxy: &Proxy,
    request: http::Request<Full<Bytes>>,
) -> (u16, http::HeaderMap, Bytes) {
    let response = proxy
        .clone()
        .oneshot(request)
        .await
        .unwrap_or_else(|never| match never {});
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    let bytes = response
        .into_body()
        .collect()
        .await
        .expect("body")
        .to_bytes();
    (status, headers, bytes)
}

/// The status and JSON reply of the proxy's answer to `request`.
pub async fn answer_json(proxy: &Proxy, request: http::Request<Full<Bytes>>) -> (u16, Value) {
    let (status, _, body) = answer(proxy, request).await;
    let value = serde_json::from_slice(&body)
        .unwrap_or_else(|_| panic!("JSON: {}", String::from_utf8_lossy(&body)));
    (status, value)
}

/// The JSON lines of the file `id`'s content (`GET /v1/files/{id}/content` with `key`).
pub async fn file_lines(proxy: &Proxy, key: &str, id: &str) -> Vec<Value> {
    let uri = format!("/v1/files/{id}/content");
    let (status, bytes) = send_for_bytes(proxy, "GET", &uri, key, None).await;
    assert_eq!(status, 200, "{}", String::from_utf8_lossy(&bytes));
    String::from_utf8(bytes.to_vec())
        .expect("UTF-8")
        .lines()
        .map(|line| serde_json::from_str(line).expect("a JSON line"))
        .collect()
}
