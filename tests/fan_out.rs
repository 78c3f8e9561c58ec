//! Bounded fan-out: over-cap requests are refused with a 400 naming the limit before any
//! upstream call, and one request's upstream calls are at most `k` in flight, observed at a
//! wiremock stand-in that records when each call arrives and answers after a delay.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::{StandIn, ok_reply, post_json};
use futures_util::StreamExt;
use llm_tower::edge::{CompletionsEdge, EmbeddingsEdge};
use llm_tower::layers::completions::CompletionsLayer;
use llm_tower::layers::completions::MAX_PROMPTS;
use llm_tower::openai::embeddings::MAX_EMBEDDING_INPUTS;
use llm_tower::openai::{CompletionRequest, EmbeddingRequest, Prompt};
use llm_tower::{CompletionResponse, Router};
use serde_json::{Value, json};
use tower::{Layer, ServiceExt};
use wiremock::matchers::{method, path};
use wiremock::{Mock, Request, Respond, ResponseTemplate};

const CHAT_MODEL: &str = "gemini-2.5-flash";
const EMBEDDING_MODEL: &str = "gemini-embedding-001";

/// How long the stand-in takes to answer each call.
const DELAY: Duration = Duration::from_millis(150);

/// Answers after [`DELAY`] with what `reply` makes of the request, and records when each
/// call arrived.
#[derive(Clone)]
struct Slow {
    arrivals: Arc<Mutex<Vec<Instant>>>,
    reply: fn(&Request) -> ResponseTemplate,
}

impl Slow {
    fn new(reply: fn(&Request) -> ResponseTemplate) -> Self {
        Self {
            arrivals: Arc::default(),
            reply,
        }
    }

    /// The most calls in flight at once: when a call arrives, the earlier calls whose
    /// answer was not yet due are still open. The stand-in answers no call before its
    /// delay, so a call counted here was really open (the count may only be too low, and
    /// the tests also check that it reaches `k`).
    fn most_in_flight(&self) -> usize {
        let arrivals = self.arrivals.lock().expect("not poisoned");
        arrivals
            .iter()
            .map(|&now| {
                arrivals
                    .iter()
                    .filter(|&&earlier| earlier <= now && now < earlier + DELAY)
                    .count()
            })
            .max()
            .unwrap_or(0)
    }

    fn calls(&self) -> usize {
        self.arrivals.lock().expect("not poisoned").len()
    }
}

impl Respond for Slow {
    fn respond(&self, request: &Request) -> ResponseTemplate {
        self.arrivals
            .lock()
            .expect("not poisoned")
            .push(Instant::now());
        (self.reply)(request).set_delay(DELAY)
    }
}

fn generate_reply(_: &Request) -> ResponseTemplate {
    ResponseTemplate::new(200).set_body_json(ok_reply())
}

fn stream_reply(_: &Request) -> ResponseTemplate {
    let event = json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "ok"}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 1, "candidatesTokenCount": 1, "totalTokenCount": 2}
    });
    ResponseTemplate::new(200).set_body_raw(format!("data: {event}\r\n\r\n"), "text/event-stream")
}

/// One vector per request of a `batchEmbedContents` call.
fn embed_reply(request: &Request) -> ResponseTemplate {
    let body: Value = serde_json::from_slice(&request.body).expect("JSON body");
    let count = body["requests"].as_array().expect("requests").len();
    let embeddings = vec![json!({"values": [0.5, -0.5]}); count];
    ResponseTemplate::new(200).set_body_json(json!({"embeddings": embeddings}))
}

async fn mount(stand_in: &StandIn, method_name: &str, model: &str, slow: &Slow) {
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{model}:{method_name}")))
        .respond_with(slow.clone())
        .mount(&stand_in.server)
        .await;
}

fn prompts(count: usize) -> Prompt {
    Prompt::Texts((0..count).map(|index| format!("prompt {index}")).collect())
}

#[tokio::test]
async fn more_prompts_than_the_cap_is_a_400_naming_the_limit_and_calls_nothing() {
    let stand_in = StandIn::start().await;
    let router = Router::builder()
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

#[tokio::test]
async fn a_completions_request_has_at_most_k_chat_calls_in_flight() {
    let stand_in = StandIn::start().await;
    let slow = Slow::new(generate_reply);
    mount(&stand_in, "generateContent", CHAT_MODEL, &slow).await;
    let completions = CompletionsLayer::new()
        .fan_out(3)
        .layer(stand_in.gemini.chat_service());
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

#[tokio::test]
async fn a_streamed_completions_request_has_at_most_k_streams_open() {
    let stand_in = StandIn::start().await;
    let slow = Slow::new(stream_reply);
    mount(&stand_in, "streamGenerateContent", CHAT_MODEL, &slow).await;
    let completions = CompletionsLayer::new()
        .fan_out(2)
        .layer(stand_in.gemini.chat_service());
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

#[tokio::test]
async fn an_embeddings_request_has_at_most_k_batches_in_flight() {
    let stand_in = StandIn::start_with(|builder| builder.fan_out(4)).await;
    let slow = Slow::new(embed_reply);
    mount(&stand_in, "batchEmbedContents", EMBEDDING_MODEL, &slow).await;
    let texts: Vec<String> = (0..MAX_EMBEDDING_INPUTS)
        .map(|index| index.to_string())
        .collect();
    let reply = stand_in
        .client()
        .embed(EmbeddingRequest::new(EMBEDDING_MODEL, texts))
        .await
        .expect("embeddings");
    assert_eq!(reply.data.len(), MAX_EMBEDDING_INPUTS);
    // 2048 inputs in batches of a hundred.
    assert_eq!(slow.calls(), 21);
    assert_eq!(slow.most_in_flight(), 4);
}
