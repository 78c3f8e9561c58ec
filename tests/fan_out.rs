//! Bounded fan-out: over-cap requests are refused with a 400 naming the limit before any
//! upstream call, and one request's upstream calls are at most `k` in flight, counted
//! exactly by an in-process transport that holds each answer for a while of paused time
//! (a call is open from when it is sent until its answer's body is dropped). Paused time
//! moves only when every task waits, so every call the bound lets out is out before any
//! answer comes: the most in flight is exactly `k`, whatever the machine's load.

mod common;

use std::convert::Infallible;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use common::{CREATED, StandIn, TEST_KEY, ok_reply, post_json};
use futures_util::StreamExt;
use http_body_util::Full;
use llm_tower::Secret;
use llm_tower::edge::{CompletionsEdge, EmbeddingsEdge};
use llm_tower::gemini::Gemini;
use llm_tower::gemini::translate::SequentialIds;
use llm_tower::layers::completions::CompletionsLayer;
use llm_tower::layers::completions::MAX_PROMPTS;
use llm_tower::openai::embeddings::MAX_EMBEDDING_INPUTS;
use llm_tower::openai::{CompletionRequest, EmbeddingRequest, Prompt};
use llm_tower::{CompletionResponse, ModelRouter};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};

const CHAT_MODEL: &str = "gemini-2.5-flash";
const EMBEDDING_MODEL: &str = "gemini-embedding-001";

/// How long (in paused time) the stand-in takes to answer each call.
const DELAY: Duration = Duration::from_millis(150);

/// An upstream in this process: answers each call after [`DELAY`] with what `reply` makes
/// of the request body (checking the path and the key), and counts the calls, the calls
/// open now and the most open at once.
#[derive(Clone)]
struct Slow {
    path: &'static str,
    reply: fn(&[u8]) -> Bytes,
    counts: Arc<Counts>,
}

#[derive(Default)]
struct Counts {
    calls: AtomicUsize,
    open: AtomicUsize,
    most: AtomicUsize,
}

/// One open call, closed when dropped.
struct Open(Arc<Counts>);

impl Open {
    fn new(counts: &Arc<Counts>) -> Self {
        counts.calls.fetch_add(1, Ordering::SeqCst);
        let open = counts.open.fetch_add(1, Ordering::SeqCst) + 1;
        counts.most.fetch_max(open, Ordering::SeqCst);
        Self(Arc::clone(counts))
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.open.fetch_sub(1, Ordering::SeqCst);
    }
}

/// An answer's body: its bytes in one frame; the call stays open until it is dropped.
struct Answer {
    data: Option<Bytes>,
    _open: Open,
}

impl http_body::Body for Answer {
    type Data = Bytes;
    type Error = Infallible;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        _: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Infallible>>> {
        Poll::Ready(
            self.data
                .take()
                .map(|data| Ok(http_body::Frame::data(data))),
        )
    }
}

impl Slow {
    fn new(path: &'static str, reply: fn(&[u8]) -> Bytes) -> Self {
        Self {
            path,
            reply,
            counts: Arc::default(),
        }
    }

    fn calls(&self) -> usize {
        self.counts.calls.load(Ordering::SeqCst)
    }

    fn most_in_flight(&self) -> usize {
        self.counts.most.load(Ordering::SeqCst)
    }

    /// A provider whose every call goes to this stand-in.
    fn gemini(&self, fan_out: Option<usize>) -> Gemini {
        let mut builder = Gemini::builder()
            .api_base("http://gemini.invalid/v1beta")
            .api_key(Secret::new(TEST_KEY))
            .ids(Arc::new(SequentialIds::new(CREATED)));
        if let Some(limit) = fan_out {
            builder = builder.fan_out(limit);
        }
        builder.transport(self.clone()).build().expect("builds")
    }
}

impl tower::Service<http::Request<Full<Bytes>>> for Slow {
    type Response = http::Response<Answer>;
    type Error = Infallible;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Infallible>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Full<Bytes>>) -> Self::Future {
        let open = Open::new(&self.counts);
        assert_eq!(request.uri().path(), self.path);
        assert_eq!(request.headers()["x-goog-api-key"], TEST_KEY);
        let reply = self.reply;
        Box::pin(async move {
            let body = http_body_util::BodyExt::collect(request.into_body())
                .await
                .unwrap_or_else(|never| match never {})
                .to_bytes();
            let data = reply(&body);
            tokio::time::sleep(DELAY).await;
            Ok(http::Response::new(Answer {
                data: Some(data),
                _open: open,
            }))
        })
    }
}

fn generate_reply(_: &[u8]) -> Bytes {
    Bytes::from(ok_reply().to_string())
}

fn stream_reply(_: &[u8]) -> Bytes {
    let event = json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
    });
    Bytes::from(format!("data: {event}\r\n\r\n"))
}

/// One vector per request of a `batchEmbedContents` call.
fn embed_reply(body: &[u8]) -> Bytes {
    let body: Value = serde_json::from_slice(body).expect("JSON body");
    let count = body["requests"].as_array().expect("requests").len();
    let embeddings = vec![json!({"values": [0.5, -0.5]}); count];
    Bytes::from(json!({"embeddings": embeddings}).to_string())
}

fn prompts(count: usize) -> Prompt {
    Prompt::Texts((0..count).map(|index| format!("prompt {index}")).collect())
}

#[tokio::test]
async fn more_prompts_than_the_cap_is_a_400_naming_the_limit_and_calls_nothing() {
    let stand_in = StandIn::start().await;
    let router = ModelRouter::builder()
        .provider("gemini", &stand_in.gemini)
        .build();
    let edge = CompletionsEdge::new(CompletionsLayer::new().layer(router));
    let prompts: Vec<String> = (0..=MAX_PROMPTS).map(|index| index.to_string()).collect();
    let (status, _, body) = post_json(
        edge,
        "/v1/completions",
        &json!({"model": format!("gemini/{CHAT_MODEL}"), "prompt": prompts}),
    )
    .await;
    assert_eq!(status, 400);
    let envelope: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(envelope["error"]["param"], "prompt");
    assert_eq!(
        envelope["error"]["message"],
        "prompt has 129 prompts; at most 128 are allowed in one request"
    );
    assert!(stand_in.received_bodies().await.is_empty());
}

#[tokio::test]
async fn more_embedding_inputs_than_the_cap_is_a_400_naming_the_limit_and_calls_nothing() {
    let stand_in = StandIn::start().await;
    let edge = EmbeddingsEdge::new(stand_in.gemini.embedding_service());
    let inputs = vec!["x"; MAX_EMBEDDING_INPUTS + 1];
    let (status, _, body) = post_json(
        edge,
        "/v1/embeddings",
        &json!({"model": EMBEDDING_MODEL, "input": inputs}),
    )
    .await;
    assert_eq!(status, 400);
    let envelope: Value = serde_json::from_slice(&body).expect("JSON");
    assert_eq!(envelope["error"]["param"], "input");
    assert_eq!(
        envelope["error"]["message"],
        "input has 2049 items; at most 2048 are allowed in one request"
    );
    assert!(stand_in.received_bodies().await.is_empty());
}

#[tokio::test(start_paused = true)]
async fn a_completions_request_has_at_most_k_chat_calls_in_flight() {
    let slow = Slow::new(
        "/v1beta/models/gemini-2.5-flash:generateContent",
        generate_reply,
    );
    let completions = CompletionsLayer::new()
        .fan_out(3)
        .layer(slow.gemini(None).chat_service());
    let mut request = CompletionRequest::new(CHAT_MODEL, "");
    request.prompt = prompts(10);
    let reply = completions.oneshot(request).await.expect("completions");
    let CompletionResponse::Completion(reply) = reply else {
        panic!("a whole completion was asked for");
    };
    assert_eq!(reply.choices.len(), 10);
    assert_eq!(slow.calls(), 10);
    assert_eq!(slow.most_in_flight(), 3);
}

#[tokio::test(start_paused = true)]
async fn a_streamed_completions_request_has_at_most_k_streams_open() {
    let slow = Slow::new(
        "/v1beta/models/gemini-2.5-flash:streamGenerateContent",
        stream_reply,
    );
    let completions = CompletionsLayer::new()
        .fan_out(2)
        .layer(slow.gemini(None).chat_service());
    let mut request = CompletionRequest::new(CHAT_MODEL, "");
    request.prompt = prompts(6);
    request.stream = Some(true);
    let reply = completions.oneshot(request).await.expect("completions");
    let CompletionResponse::Stream(chunks) = reply else {
        panic!("a stream was asked for");
    };
    let chunks: Vec<_> = chunks.collect().await;
    let mut finished: Vec<u32> = chunks
        .iter()
        .flat_map(|chunk| &chunk.as_ref().expect("a chunk").choices)
        .filter(|choice| choice.finish_reason.is_some())
        .map(|choice| choice.index)
        .collect();
    finished.sort_unstable();
    assert_eq!(finished, [0, 1, 2, 3, 4, 5]);
    assert_eq!(slow.calls(), 6);
    assert_eq!(slow.most_in_flight(), 2);
}

#[tokio::test(start_paused = true)]
async fn an_embeddings_request_has_at_most_k_batches_in_flight() {
    let slow = Slow::new(
        "/v1beta/models/gemini-embedding-001:batchEmbedContents",
        embed_reply,
    );
    let gemini = slow.gemini(Some(4));
    let texts: Vec<String> = (0..MAX_EMBEDDING_INPUTS)
        .map(|index| index.to_string())
        .collect();
    let reply = llm_tower::Client::from_provider(&gemini)
        .embed(EmbeddingRequest::new(EMBEDDING_MODEL, texts))
        .await
        .expect("embeddings");
    assert_eq!(reply.data.len(), MAX_EMBEDDING_INPUTS);
    // 2048 inputs in batches of a hundred.
    assert_eq!(slow.calls(), 21);
    assert_eq!(slow.most_in_flight(), 4);
}
