//! What the router needs of each kind of request and reply it routes ([`Routable`],
//! [`Reply`]): chat (whole or streamed) and embeddings.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::future::BoxFuture;
use tower::util::BoxCloneSyncService;

use super::deployment::Deployment;
use crate::context::RequestContext;
use crate::error::Error;
use crate::openai::chat::Extra;
use crate::openai::{ChatCompletionChunk, ChatRequest, EmbeddingRequest, EmbeddingResponse};
use crate::provider::ChatResponse;

/// Called once a reply has ended (or was dropped) with the tokens its usage reported.
pub(crate) type OnEnd = Box<dyn FnOnce(u64) + Send>;

/// A request the router routes.
pub(crate) trait Routable: Clone + Send + Sync + 'static {
    type Reply: Reply;

    /// The kind of request, for errors (`chat`, `embeddings`).
    const WHAT: &'static str;

    fn model(&self) -> &str;
    fn set_model(&mut self, model: String);
    fn extra_mut(&mut self) -> &mut Extra;
    fn context_mut(&mut self) -> &mut RequestContext;
    /// The deployment's service for this kind of request, if it serves it (a clone of
    /// the whole stack: call it once per call, and [`serves`](Self::serves) to ask).
    fn service(deployment: &Deployment) -> Option<BoxCloneSyncService<Self, Self::Reply, Error>>;
    /// Whether the deployment serves this kind of request.
    fn serves(deployment: &Deployment) -> bool;
    /// Applies the deployment's own params.
    fn apply(&mut self, deployment: &Deployment);
}

/// A reply the router hands on.
pub(crate) trait Reply: Send + Sized + 'static {
    /// Waits for a stream's first item, so that a stream failing before its first byte
    /// is a failed call (and can be retried elsewhere); whole replies are ready. With the
    /// reply: whether it was blocked for safety before it said anything.
    fn settle(self) -> BoxFuture<'static, Result<(Self, bool), Error>>;
    /// Calls `on_end` with the reply's tokens once it ended.
    fn on_end(self, on_end: OnEnd) -> Self;
}

impl Routable for ChatRequest {
    type Reply = ChatResponse;
    const WHAT: &'static str = "chat";

    fn model(&self) -> &str {
        &self.model
    }

    fn set_model(&mut self, model: String) {
        self.model = model;
    }

    fn extra_mut(&mut self) -> &mut Extra {
        &mut self.extra
    }

    fn context_mut(&mut self) -> &mut RequestContext {
        &mut self.context
    }

    fn service(deployment: &Deployment) -> Option<BoxCloneSyncService<Self, ChatResponse, Error>> {
        Some(deployment.service.clone())
    }

    fn serves(_: &Deployment) -> bool {
        true
    }

    fn apply(&mut self, deployment: &Deployment) {
        if let Some(defaults) = &deployment.params {
            self.fill_defaults(defaults);
        }
    }
}

impl Routable for EmbeddingRequest {
    type Reply = EmbeddingResponse;
    const WHAT: &'static str = "embeddings";

    fn model(&self) -> &str {
        &self.model
    }

    fn set_model(&mut self, model: String) {
        self.model = model;
    }

    fn extra_mut(&mut self) -> &mut Extra {
        &mut self.extra
    }

    fn context_mut(&mut self) -> &mut RequestContext {
        &mut self.context
    }

    fn service(
        deployment: &Deployment,
    ) -> Option<BoxCloneSyncService<Self, EmbeddingResponse, Error>> {
        deployment.embeddings.clone()
    }

    fn serves(deployment: &Deployment) -> bool {
        deployment.embeddings.is_some()
    }

    fn apply(&mut self, _: &Deployment) {}
}

impl Reply for ChatResponse {
    fn settle(self) -> BoxFuture<'static, Result<(Self, bool), Error>> {
        match self {
            Self::Completion(completion) => {
                let blocked = !completion.choices.is_empty()
                    && completion.choices.iter().all(|choice| {
                        filtered(choice.finish_reason.as_deref())
                            && choice.message.content.as_deref().is_none_or(str::is_empty)
                            && choice.message.tool_calls.as_ref().is_none_or(Vec::is_empty)
                    });
                Box::pin(std::future::ready(Ok((
                    Self::Completion(completion),
                    blocked,
                ))))
            }
            Self::Stream(mut chunks) => Box::pin(async move {
                match chunks.next().await {
                    Some(Ok(first)) => {
                        // Blocked when the first chunk ends every choice for safety with
                        // nothing said.
                        let blocked = !first.choices.is_empty()
                            && first.choices.iter().all(|choice| {
                                filtered(choice.finish_reason.as_deref())
                                    && choice.delta.content.as_deref().is_none_or(str::is_empty)
                                    && choice.delta.tool_calls.as_ref().is_none_or(Vec::is_empty)
                            });
                        let replay = futures_util::stream::once(std::future::ready(Ok(first)));
                        Ok((Self::Stream(Box::pin(replay.chain(chunks))), blocked))
                    }
                    Some(Err(error)) => Err(error),
                    None => Ok((Self::Stream(chunks), false)),
                }
            }),
        }
    }

    fn on_end(self, on_end: OnEnd) -> Self {
        match self {
            Self::Completion(completion) => {
                on_end(
                    completion
                        .usage
                        .as_ref()
                        .map_or(0, |usage| usage.total_tokens),
                );
                Self::Completion(completion)
            }
            Self::Stream(chunks) => Self::Stream(Box::pin(Tally {
                chunks,
                tokens: 0,
                on_end: Some(on_end),
            })),
        }
    }
}

impl Reply for EmbeddingResponse {
    fn settle(self) -> BoxFuture<'static, Result<(Self, bool), Error>> {
        Box::pin(std::future::ready(Ok((self, false))))
    }

    fn on_end(self, on_end: OnEnd) -> Self {
        on_end(self.usage.total_tokens);
        self
    }
}

type Chunks = Pin<Box<dyn Stream<Item = Result<ChatCompletionChunk, Error>> + Send>>;

/// A stream that reports its tokens once it ends or is dropped.
struct Tally {
    chunks: Chunks,
    tokens: u64,
    on_end: Option<OnEnd>,
}

impl Stream for Tally {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = self.chunks.as_mut().poll_next(cx);
        match &item {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(usage) = &chunk.usage {
                    self.tokens = usage.total_tokens;
                }
            }
            Poll::Ready(None) => {
                if let Some(on_end) = self.on_end.take() {
                    on_end(self.tokens);
                }
            }
            _ => {}
        }
        item
    }
}

impl Drop for Tally {
    fn drop(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end(self.tokens);
        }
    }
}

/// Keeps `value` alive until `on_end` runs (a call-in-flight guard that lasts the reply).
pub(crate) fn holding<T: Send + 'static>(value: T, on_end: OnEnd) -> OnEnd {
    Box::new(move |tokens| {
        on_end(tokens);
        drop(value);
    })
}

/// Gemini's safety stops, as the chat level reports them.
fn filtered(finish_reason: Option<&str>) -> bool {
    finish_reason == Some("content_filter")
}
