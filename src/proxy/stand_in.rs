//! [`StandIn`]: a stand-in for Google's Gemini API. It answers in one of two ways:
//!
//! * **recorded** ([`StandIn::new`]): replies recorded from the real API
//!   (`tests/fixtures/gemini/`, compiled in), what `examples/stand_in.rs` serves for the SDK
//!   tests and the load benchmark. It is small and fast on purpose: every reply is
//!   serialized once, so a request costs a key check, a body read and (for plain chat) a
//!   byte scan;
//! * **from the request** ([`StandIn::answering_from_request`]): what `llm-tower --demo`
//!   puts behind the proxy. Chat and streams are answered from what was asked (the last
//!   user message echoed, the first tool called with arguments valid for its schema, JSON
//!   valid for a requested schema, a stream in several events), shaped like a Gemini 3.x
//!   Flash model's reply; the table of `from_request` says exactly how. Each such request
//!   is parsed, so this mode is for trying the proxy, not for measuring it.
//!
//! Every `/v1beta/` request must carry the stand-in's key as `x-goog-api-key` or `?key=`;
//! otherwise the reply is Gemini's 400 `API_KEY_INVALID` (fixture 68).
//!
//! | request | recorded reply | from the request |
//! |---|---|---|
//! | `POST /v1beta/models/{m}:generateContent`, `tools` and the last content has no `functionResponse` | a `functionCall` to the first declared function: the recorded call of fixture 13 (`add`), 29 (`get_weather`) or 16 (`ping`) when the name matches, else fixture 13's reply with that name and `args: {}` | a `functionCall` to the forced or first function, arguments made from its schema |
//! | same, the last content has a `functionResponse` | the text of fixture 29, exchange 1 | text naming each function and its response |
//! | same, `generationConfig.responseMimeType` is `application/json` | the JSON text of fixture 04 | JSON valid for the request's schema |
//! | same, anything else | the text of fixture 01 | the last user message's text |
//! | `POST /v1beta/models/{m}:streamGenerateContent` | the recorded SSE of fixture 18 | the same answers, text in several events |
//! | `POST /v1beta/models/{m}:batchEmbedContents` | one vector per request, fixture 77's in turn | the same |
//! | `GET /v1beta/models` | the model list of fixture 53 | the same |
//! | `POST /v1beta/models/{m}:countTokens` | fixture 78's count (7 tokens), whatever was sent | the same |
//! | `POST /v1beta/cachedContents` | fixture 75's created cache, expiring an hour from now (a context cache the proxy makes for `cache_control` marks) | the same |
//! | the Files API (resumable upload, get, delete, download) and Batch Mode (`batchGenerateContent`, batches get and cancel) | kept in memory, each batch line answered as `generateContent` is (the table in `stand_in/batches.rs`) | the same |
//! | anything else under `/v1beta/` | `{"path": …, "ok": true}` | the same |
//! | anything else | 404 | 404 |
//!
//! [`Pacing`] spreads replies over time the way a model does (first event late, then events
//! a gap apart); by default every reply is sent at once. A stream answered from the request
//! is sent at once after [`Pacing::first_event`].

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Either, Full, StreamBody};
use hyper::body::{Frame, Incoming};
use hyper::header::{CONTENT_TYPE, HeaderValue};
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::TokioIo;
use serde_json::{Value, json};

mod batches;
mod example;
mod from_request;

/// The recorded exchanges the stand-in answers from, compiled in.
const FIXTURES: [(&str, &str); 11] = [
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
        "75",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/75-synthetic--cached-content-create.json"
        )),
    ),
    (
        "77",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/77-synthetic--embed-batch.json"
        )),
    ),
    (
        "78",
        include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/tests/fixtures/gemini/78-synthetic--count-tokens.json"
        )),
    ),
];
const JSON: &str = "application/json; charset=UTF-8";
const SSE: &str = "text/event-stream";
/// Largest request body read (Gemini's own limit is 20 MB inline).
const BODY_LIMIT: usize = 32 << 20;

/// A reply body: whole, or events sent over time.
type Body = Either<Full<Bytes>, UnsyncBoxBody<Bytes, Infallible>>;

/// How the [`StandIn`] spreads its replies over time; the default sends every reply at once.
///
/// A paced stream waits [`first_event`](Self::first_event) before its headers and first
/// event, then sends each later event [`gap`](Self::gap) ± [`jitter`](Self::jitter) after
/// the one before (drawn uniformly; tokio's timer resolution is 1 ms).
///
/// ```
/// use std::time::Duration;
/// use llm_tower::proxy::stand_in::{Pacing, StandIn};
///
/// // A model's stream: 300 ms to the first token, then 100 events 20 ms apart.
/// let pacing = Pacing {
///     first_event: Duration::from_millis(300),
///     events: Some(100),
///     gap: Duration::from_millis(20),
///     ..Pacing::default()
/// };
/// let stand_in = StandIn::new("stand-in-key").with_pacing(pacing);
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Pacing {
    /// Wait before a stream's headers and first event.
    pub first_event: Duration,
    /// Events per stream: fixture 18's text events in turn, then its last event (with
    /// `finishReason` and usage). `None` sends the recording's own six.
    pub events: Option<usize>,
    /// Time between two events of a stream, before jitter.
    pub gap: Duration,
    /// Each gap is drawn uniformly from `gap - jitter ..= gap + jitter` (at least zero).
    pub jitter: Duration,
    /// Wait before a `generateContent` or `batchEmbedContents` reply.
    pub latency: Duration,
}

impl Pacing {
    /// Whether a stream is the recording sent at once.
    fn is_instant(&self) -> bool {
        self.first_event.is_zero()
            && self.events.is_none()
            && self.gap.is_zero()
            && self.jitter.is_zero()
    }

    /// One gap, jitter applied.
    fn next_gap(&self) -> Duration {
        let jitter = u64::try_from(self.jitter.as_micros()).unwrap_or(u64::MAX / 2);
        let drawn = Duration::from_micros(fastrand::u64(0..=2 * jitter));
        (self.gap + drawn).saturating_sub(self.jitter)
    }
}

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
    /// The events of `stream`, each with its blank line; the last carries `finishReason`.
    events: Vec<Bytes>,
    /// Fixture 77's vectors, handed out in turn.
    vectors: Vec<Value>,
    models: Bytes,
    bad_key: Bytes,
    /// Fixture 78's `countTokens` reply.
    token_count: Bytes,
    /// Fixture 75's created cache (its `expireTime` is set when it is sent).
    created_cache: Value,
    /// Uploaded files and batches ([`batches`]).
    files: batches::Store,
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
        let events: Vec<Bytes> = stream
            .split_inclusive("\r\n\r\n")
            .map(|event| Bytes::copy_from_slice(event.as_bytes()))
            .collect();
        assert!(
            events.len() >= 2,
            "fixture 18 has text events and a last event"
        );
        Self {
            key,
            text: bytes(&body_of("01", 0)),
            json_text: bytes(&body_of("04", 0)),
            after_tool: bytes(&body_of("29", 1)),
            calls,
            call_template: body_of("13", 0),
            stream: Bytes::from(stream),
            events,
            vectors: body_of("77", 0)["embeddings"]
                .as_array()
                .expect("fixture 77 has embeddings")
                .clone(),
            models: bytes(&body_of("53", 0)),
            bad_key: bytes(&body_of("68", 0)),
            token_count: bytes(&body_of("78", 0)),
            created_cache: body_of("75", 0),
            files: batches::Store::default(),
        }
    }

    /// Fixture 75's created cache, expiring an hour from now.
    fn created_cache(&self) -> Bytes {
        let mut created = self.created_cache.clone();
        let expires = std::time::SystemTime::now() + Duration::from_secs(3600);
        created["expireTime"] = json!(humantime::format_rfc3339_millis(expires).to_string());
        bytes(&created)
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

    /// Event `index` of a paced stream of `count` events: the text events in turn, the
    /// recorded last event last.
    fn event(&self, index: usize, count: usize) -> Bytes {
        let (last, text) = self.events.split_last().expect("checked at load");
        if index + 1 == count {
            last.clone()
        } else {
            text[index % text.len()].clone()
        }
    }

    /// A stream of events sent `pacing` apart.
    fn paced_stream(self: Arc<Self>, pacing: Pacing) -> Body {
        let count = pacing.events.unwrap_or(self.events.len()).max(1);
        let events = futures_util::stream::unfold(0, move |index| {
            let replies = self.clone();
            async move {
                if index == count {
                    return None;
                }
                if index > 0 {
                    tokio::time::sleep(pacing.next_gap()).await;
                }
                Some((Ok(Frame::data(replies.event(index, count))), index + 1))
            }
        });
        Either::Right(StreamBody::new(events).boxed_unsync())
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

fn reply(status: StatusCode, content_type: &'static str, body: Bytes) -> Response<Body> {
    reply_with(status, content_type, Either::Left(Full::new(body)))
}

fn reply_with(status: StatusCode, content_type: &'static str, body: Body) -> Response<Body> {
    let mut response = Response::new(body);
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

/// A request of the Files API or Batch Mode ([`batches`]).
async fn files(replies: &Replies, answers: Answers, request: Request<Incoming>) -> Response<Body> {
    if !has_key(&request, &replies.key) {
        return reply(StatusCode::BAD_REQUEST, JSON, replies.bad_key.clone());
    }
    let (parts, body) = request.into_parts();
    let Ok(body) = http_body_util::Limited::new(body, BODY_LIMIT)
        .collect()
        .await
    else {
        let body = bytes(
            &json!({"error": {"code": 400, "status": "INVALID_ARGUMENT", "message": "body too large"}}),
        );
        return reply(StatusCode::BAD_REQUEST, JSON, body);
    };
    let generate = |body: &[u8]| match answers {
        Answers::Recorded => replies.generate(body),
        Answers::FromRequest => from_request::generate(body),
    };
    let answer = replies.files.answer(&parts, &body.to_bytes(), &generate);
    let mut response = reply(answer.status, answer.content_type, answer.body);
    if let Some(url) = answer
        .upload_url
        .and_then(|url| HeaderValue::from_str(&url).ok())
    {
        response.headers_mut().insert("x-goog-upload-url", url);
    }
    response
}

async fn handle(
    replies: Arc<Replies>,
    pacing: Pacing,
    answers: Answers,
    request: Request<Incoming>,
) -> Result<Response<Body>, Infallible> {
    if batches::serves(request.uri().path()) {
        return Ok(files(&replies, answers, request).await);
    }
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
    if method == Method::POST && rest.starts_with("models/") && rest.ends_with(":countTokens") {
        return Ok(reply(StatusCode::OK, JSON, replies.token_count.clone()));
    }
    if method == Method::POST && rest == "cachedContents" {
        return Ok(reply(StatusCode::OK, JSON, replies.created_cache()));
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
    if stream && answers == Answers::FromRequest {
        tokio::time::sleep(pacing.first_event).await;
        return Ok(match from_request::stream(&body) {
            Ok(events) => reply(StatusCode::OK, SSE, events),
            Err(body) => reply(StatusCode::BAD_REQUEST, JSON, body),
        });
    }
    if stream {
        if pacing.is_instant() {
            return Ok(reply(StatusCode::OK, SSE, replies.stream.clone()));
        }
        tokio::time::sleep(pacing.first_event).await;
        let body = replies.paced_stream(pacing);
        return Ok(reply_with(StatusCode::OK, SSE, body));
    }
    if !pacing.latency.is_zero() {
        tokio::time::sleep(pacing.latency).await;
    }
    let answer = match (embed, answers) {
        (true, _) => replies.embed(&body),
        (false, Answers::Recorded) => replies.generate(&body),
        (false, Answers::FromRequest) => from_request::generate(&body),
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
    pacing: Pacing,
    answers: Answers,
}

/// How chat is answered; see the [module](self).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Answers {
    Recorded,
    FromRequest,
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
            pacing: Pacing::default(),
            answers: Answers::Recorded,
        }
    }

    /// The same stand-in, answering chat and streams from the request instead of with
    /// recordings (see the [module](self)): what `llm-tower --demo` serves.
    ///
    /// ```
    /// use llm_tower::proxy::stand_in::StandIn;
    ///
    /// let demo = StandIn::new("stand-in-key").answering_from_request();
    /// ```
    pub fn answering_from_request(self) -> Self {
        Self {
            answers: Answers::FromRequest,
            ..self
        }
    }

    /// The same stand-in, replying at `pacing`'s pace; see [`Pacing`].
    pub fn with_pacing(self, pacing: Pacing) -> Self {
        Self { pacing, ..self }
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
            let (replies, pacing, answers) = (self.replies.clone(), self.pacing, self.answers);
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |request| {
                    handle(replies.clone(), pacing, answers, request)
                });
                // Clients closing mid-request are routine under load; nothing to report.
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(socket), service)
                    .await;
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_paced_stream_has_its_count_of_events_and_ends_with_the_recorded_last() {
        let replies = Arc::new(Replies::load("key".to_owned()));
        let last = replies.events.last().cloned().expect("a last event");
        let pacing = Pacing {
            events: Some(9),
            gap: Duration::from_millis(1),
            ..Pacing::default()
        };
        let body = replies.clone().paced_stream(pacing).collect().await;
        let body = body.expect("infallible").to_bytes();
        let text = std::str::from_utf8(&body).expect("UTF-8");
        assert_eq!(text.matches("\r\n\r\n").count(), 9);
        assert!(text.ends_with(std::str::from_utf8(&last).expect("UTF-8")));
        assert_eq!(text.matches("finishReason").count(), 1);
    }

    #[test]
    fn gaps_stay_within_the_jitter() {
        let pacing = Pacing {
            gap: Duration::from_millis(20),
            jitter: Duration::from_millis(5),
            ..Pacing::default()
        };
        for _ in 0..1000 {
            let gap = pacing.next_gap();
            assert!((15..=25).contains(&gap.as_millis()), "{gap:?}");
        }
        let unjittered = Pacing {
            gap: Duration::from_millis(20),
            ..Pacing::default()
        };
        assert_eq!(unjittered.next_gap(), Duration::from_millis(20));
    }

    #[test]
    fn a_created_cache_expires_an_hour_from_now() {
        let replies = Replies::load("key".to_owned());
        let created: Value = serde_json::from_slice(&replies.created_cache()).expect("JSON");
        assert_eq!(created["name"], "cachedContents/4x9q2b7k1m");
        let expires = humantime::parse_rfc3339(created["expireTime"].as_str().expect("time"))
            .expect("RFC 3339");
        let left = expires
            .duration_since(std::time::SystemTime::now())
            .expect("in the future");
        assert!(left > Duration::from_secs(3500), "{left:?}");
        let count: Value = serde_json::from_slice(&replies.token_count).expect("JSON");
        assert_eq!(count["totalTokens"], 7);
    }
}
