//! A stand-in for Google's Gemini API, serving recorded replies from `tests/fixtures/gemini/`.
//!
//! It exists so real clients (the `openai` and `google-genai` SDKs, `tests/clients/`) and the
//! load benchmark (`benches/load.sh`) can talk to the proxy without the network. It is small
//! and fast on purpose: every reply is serialized once at startup, so a request costs a key
//! check, a body read and (for plain chat) a byte scan.
//!
//! ```text
//! cargo run --release --example stand_in -- --port 0 [--threads N]
//! ```
//!
//! `--port` (or `STAND_IN_PORT`; 0 picks a free port) sets the port on 127.0.0.1; the first
//! stdout line is `listening on http://127.0.0.1:PORT`. `--threads` (or `STAND_IN_THREADS`,
//! default 1: a single-threaded runtime) sets the worker threads. Every `/v1beta/` request
//! must carry the key `STAND_IN_KEY` (default `stand-in-key`) as `x-goog-api-key` or
//! `?key=`; otherwise the reply is Gemini's 400 `API_KEY_INVALID` (fixture 68).
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
use std::io::Write;
use std::net::SocketAddr;
use std::sync::Arc;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

const FIXTURES: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/fixtures/gemini");
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

/// The recorded `response` object of one exchange of fixture `{number}-*.json`.
fn fixture(number: &str, exchange: usize) -> Value {
    let prefix = format!("{number}-");
    let dir = std::fs::read_dir(FIXTURES).unwrap_or_else(|error| panic!("{FIXTURES}: {error}"));
    let path = dir
        .filter_map(Result::ok)
        .map(|entry| entry.path())
        .find(|path| {
            path.file_name()
                .and_then(|name| name.to_str())
                .is_some_and(|name| name.starts_with(&prefix))
        })
        .unwrap_or_else(|| panic!("no fixture {number}-* in {FIXTURES}"));
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|error| panic!("{}: {error}", path.display()));
    let mut file: Value =
        serde_json::from_str(&text).unwrap_or_else(|error| panic!("{}: {error}", path.display()));
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

fn usage() -> ! {
    eprintln!(
        "usage: stand_in [--port PORT (or STAND_IN_PORT; 0 = any)] [--threads N (or STAND_IN_THREADS)]"
    );
    std::process::exit(2)
}

fn main() {
    let mut port: u16 = std::env::var("STAND_IN_PORT")
        .ok()
        .and_then(|port| port.parse().ok())
        .unwrap_or(0);
    let mut threads: usize = std::env::var("STAND_IN_THREADS")
        .ok()
        .and_then(|n| n.parse().ok())
        .unwrap_or(1);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let (name, inline) = match arg.split_once('=') {
            Some((name, value)) => (name.to_owned(), Some(value.to_owned())),
            None => (arg, None),
        };
        let value = inline.or_else(|| args.next());
        match (name.as_str(), value.as_deref().map(str::parse::<usize>)) {
            ("--port" | "-p", Some(Ok(value))) if value <= usize::from(u16::MAX) => {
                port = value as u16
            }
            ("--threads", Some(Ok(value))) => threads = value.max(1),
            _ => usage(),
        }
    }
    let key = std::env::var("STAND_IN_KEY").unwrap_or_else(|_| "stand-in-key".to_owned());
    let replies = Arc::new(Replies::load(key));
    let runtime = if threads == 1 {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
    } else {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(threads)
            .enable_all()
            .build()
    }
    .expect("a tokio runtime");
    runtime.block_on(serve(port, replies));
}

async fn serve(port: u16, replies: Arc<Replies>) {
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port)))
        .await
        .unwrap_or_else(|error| panic!("cannot listen on 127.0.0.1:{port}: {error}"));
    let bound = listener.local_addr().expect("a bound address");
    let mut stdout = std::io::stdout().lock();
    writeln!(stdout, "listening on http://{bound}")
        .and_then(|()| stdout.flush())
        .ok();
    drop(stdout);
    loop {
        let (socket, _) = match listener.accept().await {
            Ok(accepted) => accepted,
            Err(error) => {
                eprintln!("stand_in: accept: {error}");
                continue;
            }
        };
        socket.set_nodelay(true).ok();
        let replies = replies.clone();
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
