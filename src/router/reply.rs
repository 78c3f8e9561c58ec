//! What the router needs of each kind of request and reply it routes ([`Routable`],
//! [`Reply`]): chat (whole or streamed) and embeddings.

use std::pin::Pin;
use std::task::{Context, Poll};

use futures_core::Stream;
use futures_util::StreamExt;
use futures_util::future::Either;
use tower::util::BoxCloneSyncService;

use super::deployment::Deployment;
use crate::context::RequestContext;
use crate::error::Error;
use crate::openai::chat::Extra;
use crate::openai::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, EmbeddingRequest, EmbeddingResponse,
};
use crate::provider::ChatResponse;

/// A request the router routes.
pub(crate) trait Routable: Clone + Send + Sync + 'static {
    type Reply: Reply;

    /// The kind of request, for errors (`chat`, `embeddings`).
    const WHAT: &'static str;

    fn model(&self) -> &str;
    fn set_model(&mut self, model: String);
    fn extra_mut(&mut self) -> &mut Extra;
    fn context_mut(&mut self) -> &mut RequestContext;
    /// The deployment's service for this kind of request, if it serves it.
    fn service(deployment: &Deployment) -> Option<&BoxCloneSyncService<Self, Self::Reply, Error>>;
    /// Applies the deployment's own params.
    fn apply(&mut self, deployment: &Deployment);
}

/// A reply the router hands on.
pub(crate) trait Reply: Send + Sized + 'static {
    /// The reply once its first part is known.
    type Settled: Send;

    /// Waits for a stream's first item, so that a stream failing before its first byte
    /// is a failed call (and can be retried elsewhere); whole replies are ready. With the
    /// reply: whether it was blocked for safety before it said anything.
    fn settle(self) -> impl Future<Output = Result<(Self::Settled, bool), Error>> + Send;

    /// The reply to hand on; `on_end`, if given, learns its tokens once it ended (or was
    /// dropped), and is kept alive until then.
    fn finish<F: FnOnce(u64) + Send + 'static>(settled: Self::Settled, on_end: Option<F>) -> Self;
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

    fn service(deployment: &Deployment) -> Option<&BoxCloneSyncService<Self, ChatResponse, Error>> {
        Some(&deployment.service)
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
    ) -> Option<&BoxCloneSyncService<Self, EmbeddingResponse, Error>> {
        deployment.embeddings.as_ref()
    }

    fn apply(&mut self, _: &Deployment) {}
}

/// A chat reply with its first part known.
pub(crate) enum SettledChat {
    Completion(ChatCompletion),
    /// A stream and its first chunk.
    Stream(ChatCompletionChunk, Chunks),
    /// A stream that ended without a chunk.
    Ended,
}

type Chunks = Pin<Box<dyn Stream<Item = Result<ChatCompletionChunk, Error>> + Send>>;

impl Reply for ChatResponse {
    type Settled = SettledChat;

    fn settle(self) -> impl Future<Output = Result<(SettledChat, bool), Error>> + Send {
        match self {
            Self::Completion(completion) => {
                let blocked = !completion.choices.is_empty()
                    && completion.choices.iter().all(|choice| {
                        filtered(choice.finish_reason.as_deref())
                            && choice.message.content.as_deref().is_none_or(str::is_empty)
                            && choice.message.tool_calls.as_ref().is_none_or(Vec::is_empty)
                    });
                Either::Left(std::future::ready(Ok((
                    SettledChat::Completion(completion),
                    blocked,
                ))))
            }
            Self::Stream(mut chunks) => Either::Right(async move {
                let Some(first) = chunks.next().await.transpose()? else {
                    return Ok((SettledChat::Ended, false));
                };
                // Blocked when the first chunk ends every choice for safety with nothing
                // said.
                let blocked = !first.choices.is_empty()
                    && first.choices.iter().all(|choice| {
                        filtered(choice.finish_reason.as_deref())
                            && choice.delta.content.as_deref().is_none_or(str::is_empty)
                            && choice.delta.tool_calls.as_ref().is_none_or(Vec::is_empty)
                    });
                Ok((SettledChat::Stream(first, chunks), blocked))
            }),
        }
    }

    fn finish<F: FnOnce(u64) + Send + 'static>(settled: SettledChat, on_end: Option<F>) -> Self {
        match settled {
            SettledChat::Completion(completion) => {
                if let Some(on_end) = on_end {
                    on_end(
                        completion
                            .usage
                            .as_ref()
                            .map_or(0, |usage| usage.total_tokens),
                    );
                }
                Self::Completion(completion)
            }
            SettledChat::Stream(first, chunks) => Self::Stream(Box::pin(Replay {
                first: Some(first),
                chunks,
                tokens: 0,
                on_end,
            })),
            SettledChat::Ended => {
                if let Some(on_end) = on_end {
                    on_end(0);
                }
                Self::Stream(Box::pin(futures_util::stream::empty()))
            }
        }
    }
}

impl Reply for EmbeddingResponse {
    type Settled = Self;

    fn settle(self) -> impl Future<Output = Result<(Self, bool), Error>> + Send {
        std::future::ready(Ok((self, false)))
    }

    fn finish<F: FnOnce(u64) + Send + 'static>(settled: Self, on_end: Option<F>) -> Self {
        if let Some(on_end) = on_end {
            on_end(settled.usage.total_tokens);
        }
        settled
    }
}

/// A settled stream: its first chunk again, then the rest; reports its tokens once it
/// ends or is dropped.
struct Replay<F: FnOnce(u64)> {
    first: Option<ChatCompletionChunk>,
    chunks: Chunks,
    tokens: u64,
    on_end: Option<F>,
}

// Nothing in it is pinned structurally: the chunks are boxed.
impl<F: FnOnce(u64)> Unpin for Replay<F> {}

impl<F: FnOnce(u64)> Replay<F> {
    fn end(&mut self) {
        if let Some(on_end) = self.on_end.take() {
            on_end(self.tokens);
        }
    }
}

impl<F: FnOnce(u64)> Stream for Replay<F> {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let item = match self.first.take() {
            Some(first) => Poll::Ready(Some(Ok(first))),
            None => self.chunks.as_mut().poll_next(cx),
        };
        match &item {
            Poll::Ready(Some(Ok(chunk))) => {
                if let Some(usage) = &chunk.usage {
                    self.tokens = usage.total_tokens;
                }
            }
            Poll::Ready(None) => self.end(),
            _ => {}
        }
        item
    }
}

impl<F: FnOnce(u64)> Drop for Replay<F> {
    fn drop(&mut self) {
        self.end();
    }
}

/// Gemini's safety stops, as the chat level reports them.
fn filtered(finish_reason: Option<&str>) -> bool {
    finish_reason == Some("content_filter")
}
