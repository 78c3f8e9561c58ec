//! [`StandIn`]: a stand-in for Google's Gemini API answering with replies recorded from
//! the real one (`tests/fixtures/gemini/`, compiled in). It is what `llm-tower --demo`
//! puts behind the proxy, what `examples/stand_in.rs` serves for the SDK tests and the load
//! benchmark, and it is small and fast on purpose: every reply is serialized once, so a
//! request costs a key check, a body read and (for plain chat) a byte scan.
//!
//! Every `/v1beta/` request must carry the stand-in's key as `x-goog-api-key` or `?key=`;
//! otherwise the reply is Gemini's 400 `API_KEY_INVALID` (fixture 68).
//!
//! | request | reply |
//! |---|---|
//! | `POST /v1beta/models/{m}:generateContent`, `tools` and the last content has no `functionResponse` | a `functionCall` to the first declared function: the recorded call of fixture 13 (`add`), 29 (`get_weather`) or 16 (`ping`) when the name matches, else fixture 13's reply with that name and `args: {}` |
//! | same, the last content has a `functionResponse` | the text of fixture 29, exchange 1 |
//! | same, `generationConfig.responseMimeType` is `application/json` | the JSON text of fixture 04 |
//! | same, anything else | the text of fixture 01 |
//! | `POST /v1beta/models/{m}:streamGenerateContent` | the recorded SSE of fixture 18 |
//! | `POST /v1beta/models/{m}:batchEmbedContents` | one vector per request, fixture 77's in turn |
//! | `GET /v1beta/models` | the model list of fixture 53 |
//! | anything else under `/v1beta/` | `{"path": …, "ok": true}` |
//! | anything else | 404 |

use std::convert::Infallible;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

/// The recorded exchanges the stand-in answers from, compiled in.
const FIXTURES: [(&str, &str); 9] = [
    (
        "01",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/01-agent--completion-smoke.json"
        )),
    ),
    (
        "04",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/04-structured-output--structured-output-smoke.json"
        )),
    ),
    (
        "13",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/13-tool-choice--specific-add-raw-nonstreaming.json"
        )),
    ),
    (
        "16",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/16-agent-tools--zero-arg-tool-call-round-trips.json"
        )),
    ),
    (
        "18",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/18-streaming--streaming-smoke.json"
        )),
    ),
    (
        "29",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/29-reasoning-tool-roundtrip--nonstreaming.json"
        )),
    ),
    (
        "53",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/53-models--list-models-smoke.json"
        )),
    ),
    (
        "68",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/68-synthetic--error-400-api-key-invalid.json"
        )),
    ),
    (
        "77",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/77-synthetic--embed-batch.json"
        )),
    ),
];
const JSON: &str = "application/json; charset=UTF-8";
const SSE: &str = "text/event-stream";
/// Largest request body read (Gemini's own limit is 20 MB inline).
const BODY_LIMIT: usize = 32 << 20;

/// Every reply, serialized once.
struct Replies {
    key: String,
    text: Bytes,
    json_text: Bytes,
    after_tool: Bytes,
    /// Recorded function-call replies by function name.
    calls: Vec<(String, Bytes)>,
    /// Fixture 13's reply, to rename for functions without a recording.
    call_template: Value,
    stream: Bytes,
    /// Fixture 77's vectors, handed out in turn.
    vectors: Vec<Value>,
    models: Bytes,
    bad_key: Bytes,
}

/// The recorded `response` object of one exchange of fixture `{number}`.
fn fixture(number: &str, exchange: usize) -> Value {
    let (_, text) = FIXTURES
        .iter()
        .find(|(known, _)| *known == number)
        .unwrap_or_else(|| panic!("no fixture {number} compiled in"));
    let mut file: Value =
        serde_json::from_str(text).unwrap_or_else(|error| panic!("fixture {number}: {error}"));
    file["exchanges"][exchange]["response"].take()
}

fn body_of(number: &str, exchange: usize) -> Value {
    let mut response = fixture(number, exchange);
    match response.get_mut("body") {
        Some(body) if !body.is_null() => body.take(),
        _ => panic!("fixture {number} exchange {exchange} has no JSON body"),
    }
}

fn bytes(value: &Value) -> Bytes {
    Bytes::from(serde_json::to_vec(value).expect("a Value serializes"))
}

fn function_name(reply: &Value) -> String {
    reply["candidates"][0]["content"]["parts"]
        .as_array()
        .and_then(|parts| {
            parts
                .iter()
                .find_map(|part| part["functionCall"]["name"].as_str())
        })
        .expect("a recorded functionCall")
        .to_owned()
}

impl Replies {
    fn load(key: String) -> Self {
        let calls = ["13", "29", "16"]
            .into_iter()
            .map(|number| {
                let reply = body_of(number, 0);
                (function_name(&reply), bytes(&reply))
            })
            .collect();
        let stream = fixture("18", 0)["sse"]
            .as_str()
            .expect("fixture 18 has sse")
            .to_owned();
        Self {
            key,
            text: bytes(&body_of("01", 0)),
            json_text: bytes(&body_of("04", 0)),
            after_tool: bytes(&body_of("29", 1)),
            calls,
            call_template: body_of("13", 0),
            stream: Bytes::from(stream),
            vectors: body_of("77", 0)["embeddings"]
                .as_array()
                .expect("fixture 77 has embeddings")
                .clone(),
            models: bytes(&body_of("53", 0)),
            bad_key: bytes(&body_of("68", 0)),
        }
    }

    /// The reply to a `generateContent` body.
    fn generate(&self, body: &[u8]) -> Result<Bytes, Bytes> {
        // Plain chat (the benchmark's request) needs no parse.
        let mentions = |needle: &[u8]| body.windows(needle.len()).any(|window| window == needle);
        if !mentions(b"\"tools\"")
            && !mentions(b"\"functionResponse\"")
            && !mentions(b"responseMimeType")
        {
            return Ok(self.text.clone());
        }
        let request: Value = serde_json::from_slice(body).map_err(invalid_json)?;
        let last_is_tool_result = request["contents"]
            .as_array()
            .and_then(|contents| contents.last())
            .and_then(|content| content["parts"].as_array())
            .is_some_and(|parts| {
                parts
                    .iter()
                    .any(|part| part.get("functionResponse").is_some())
            });
        if last_is_tool_result {
            return Ok(self.after_tool.clone());
        }
        let first_function = request["tools"].as_array().and_then(|tools| {
            tools
                .iter()
                .find_map(|tool| tool["functionDeclarations"].as_array()?.first()?["name"].as_str())
        });
        if let Some(name) = first_function {
            if let Some((_, reply)) = self.calls.iter().find(|(recorded, _)| recorded == name) {
                return Ok(reply.clone());
            }
            let mut reply = self.call_template.clone();
            reply["candidates"][0]["content"]["parts"][0]["functionCall"] =
                json!({"name": name, "args": {}});
            return Ok(bytes(&reply));
        }
        if request["generationConfig"]["responseMimeType"] == "application/json" {
            return Ok(self.json_text.clone());
        }
        Ok(self.text.clone())
    }

    /// The reply to a `batchEmbedContents` body.
    fn embed(&self, body: &[u8]) -> Result<Bytes, Bytes> {
        let request: Value = serde_json::from_slice(body).map_err(invalid_json)?;
        let count = request["requests"].as_array().map_or(0, Vec::len);
        let embeddings: Vec<&Value> = self.vectors.iter().cycle().take(count).collect();
        Ok(bytes(&json!({ "embeddings": embeddings })))
    }
}

/// Google's 400 for a body that is not JSON.
fn invalid_json(error: serde_json::Error) -> Bytes {
    bytes(&json!({"error": {"code": 400, "status": "INVALID_ARGUMENT",
        "message": format!("Invalid JSON payload received. {error}")}}))
}

fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(body));
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}

fn has_key(request: &Request<Incoming>, key: &str) -> bool {
    let header = request
        .headers()
        .get("x-goog-api-key")
        .is_some_and(|value| value.as_bytes() == key.as_bytes());
    header
        || request.uri().query().is_some_and(|query| {
            query
                .split('&')
                .any(|pair| pair.strip_prefix("key=").is_some_and(|value| value == key))
        })
}

async fn handle(
    replies: Arc<Replies>,
    request: Request<Incoming>,
) -> Result<Response<Full<Bytes>>, Infallible> {
    let Some(rest) = request.uri().path().strip_prefix("/v1beta/") else {
        let body = bytes(
            &json!({"error": {"code": 404, "status": "NOT_FOUND", "message": "not a /v1beta/ path"}}),
        );
        return Ok(reply(StatusCode::NOT_FOUND, JSON, body));
    };
    if !has_key(&request, &replies.key) {
        return Ok(reply(
            StatusCode::BAD_REQUEST,
            JSON,
            replies.bad_key.clone(),
        ));
    }
    let generate = rest.starts_with("models/") && rest.ends_with(":generateContent");
    let stream = rest.starts_with("models/") && rest.ends_with(":streamGenerateContent");
    let embed = rest.starts_with("models/") && rest.ends_with(":batchEmbedContents");
    let method = request.method().clone();
    if method == Method::GET && rest == "models" {
        return Ok(reply(StatusCode::OK, JSON, replies.models.clone()));
    }
    if method != Method::POST || !(generate || stream || embed) {
        let body = bytes(&json!({"path": request.uri().path(), "ok": true}));
        return Ok(reply(StatusCode::OK, JSON, body));
    }
    let body = match http_body_util::Limited::new(request.into_body(), BODY_LIMIT)
        .collect()
        .await
    {
        Ok(body) => body.to_bytes(),
        Err(error) => {
            let body = bytes(
                &json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": error.to_string()}}),
            );
            return Ok(reply(StatusCode::BAD_REQUEST, JSON, body));
        }
    };
    if stream {
        return Ok(reply(StatusCode::OK, SSE, replies.stream.clone()));
    }
    let answer = if embed {
        replies.embed(&body)
    } else {
        replies.generate(&body)
    };
    Ok(match answer {
        Ok(body) => reply(StatusCode::OK, JSON, body),
        Err(body) => reply(StatusCode::BAD_REQUEST, JSON, body),
    })
}

/// The stand-in; see the [module](self).
///
/// ```no_run
/// use llm_tower::proxy::stand_in::StandIn;
///
/// # async fn run() -> std::io::Result<()> {
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
/// println!("listening on http://{}", listener.local_addr()?);
/// StandIn::new("stand-in-key").serve(listener).await;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct StandIn {
    replies: Arc<Replies>,
}

impl std::fmt::Debug for StandIn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StandIn").finish_non_exhaustive()
    }
}

impl StandIn {
    /// The stand-in accepting `key`, its replies loaded.
    pub fn new(key: impl Into<String>) -> Self {
        Self {
            replies: Arc::new(Replies::load(key.into())),
        }
    }

    /// Answers the connections of `listener` (HTTP/1.1), forever.
    pub async fn serve(self, listener: tokio::net::TcpListener) {
        loop {
            let (socket, _) = match listener.accept().await {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(%error, "stand-in: accept failed");
                    tokio::time::sleep(std::time::Duration::from_millis(50)).await;
                    continue;
                }
            };
            socket.set_nodelay(true).ok();
            let replies = self.replies.clone();
            tokio::spawn(async move {
                let service =
                    hyper::service::service_fn(move |request| handle(replies.clone(), request));
                // Clients closing mid-request are routine under load; nothing to report.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    }
}
