//! [`CompletionsLayer`]: OpenAI's legacy `/v1/completions` over any chat service. Each
//! prompt is sent as a chat request with the prompt as its user message, and the chat
//! replies, whole or streamed, come back as `text_completion`s. It is provider-agnostic:
//! under the [`ModelRouter`](crate::ModelRouter) it serves every chat provider, and the provider
//! still refuses, maps or drops each param.
//!
//! The cost of one request is bounded: at most [`MAX_PROMPTS`]
//! prompts (more is a 400 naming `prompt`), sent at most
//! [`fan_out`](CompletionsLayer::fan_out) at a time ([`DEFAULT_FAN_OUT`] by default) with
//! the shared [`fan_out`](crate::layers::fan_out) helper.

mod answer;
mod convert;
pub use convert::MAX_PROMPTS;
mod stream;

use std::task::{Context, Poll};

use futures_util::future::OptionFuture;
use futures_util::stream::{iter, once};
use futures_util::{StreamExt, TryStreamExt};
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use self::answer::Answer;
use self::convert::{Plan, plan};
use self::stream::{TextChunks, merge};
use super::mismatch;
use crate::error::Error;
use crate::layers::fan_out::{DEFAULT_FAN_OUT, FanOut, fan_out};
use crate::layers::refusable::Refusable;
use crate::openai::{ChatRequest, CompletionRequest};
use crate::provider::{ChatResponse, CompletionResponse, TextChunkStream};

/// Serves legacy completions with a chat service.
///
/// ```
/// use llm_tower::layers::completions::CompletionsLayer;
/// use llm_tower::openai::CompletionRequest;
/// use llm_tower::{ChatResponse, ChatService, CompletionService, Error};
/// use tower::Layer;
///
/// let chat = ChatService::new(tower::service_fn(|_| async {
///     Err::<ChatResponse, _>(Error::invalid_request("offline"))
/// }));
/// // At most four prompts of one request are sent at a time.
/// let completions = CompletionService::new(CompletionsLayer::new().fan_out(4).layer(chat));
/// # let _ = completions;
/// ```
#[derive(Clone, Copy, Debug)]
pub struct CompletionsLayer {
    fan_out: usize,
}

impl CompletionsLayer {
    /// The layer, sending at most [`DEFAULT_FAN_OUT`] prompts of a request at a time.
    pub fn new() -> Self {
        Self {
            fan_out: DEFAULT_FAN_OUT,
        }
    }

    /// Sends at most `limit` prompts of one request at a time (at least one).
    pub fn fan_out(mut self, limit: usize) -> Self {
        self.fan_out = limit.max(1);
        self
    }
}

impl Default for CompletionsLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for CompletionsLayer {
    type Service = Completions<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Completions {
            inner,
            fan_out: self.fan_out,
        }
    }
}

/// The service of [`CompletionsLayer`].
#[derive(Clone, Debug)]
pub struct Completions<S> {
    inner: S,
    fan_out: usize,
}

impl<S> Completions<S> {
    /// Wraps `inner`, a chat service.
    pub fn new(inner: S) -> Self {
        CompletionsLayer::new().layer(inner)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<CompletionRequest> for Completions<S>
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = CompletionResponse;
    type Error = Error;
    type Future = CompletionsFuture<OptionFuture<FanOut<S, ChatRequest>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // Each prompt is sent on its own clone, which is made ready when it is sent.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: CompletionRequest) -> Self::Future {
        let stream = request.stream == Some(true);
        let plan = match plan(request) {
            Ok(plan) => plan,
            Err(error) => return Refusable::refused(error),
        };
        if stream {
            // Its prompts are sent as the stream is read: no call before the answer.
            let streams = streamed(self.inner.clone(), plan, self.fan_out);
            return Refusable::called(None.into(), Answer::Stream(streams));
        }
        Refusable::called(
            Some(fan_out(self.inner.clone(), plan.chats, self.fan_out)).into(),
            Answer::Whole {
                echo: plan.echo,
                n: plan.n,
            },
        )
    }
}

/// Future of [`Completions`]: the request refused before any call, the prompts of a whole
/// completion under way (`Some` calls), or a streamed completion (no call yet).
pub type CompletionsFuture<F> = Refusable<F, Answer>;

/// The prompts' streams merged into one. A prompt's call is made only when fewer than
/// `limit` prompt streams are open (a stream stays open until it ends), so a streamed
/// request holds at most `limit` upstream calls at once too. Nothing is sent before the
/// stream is first polled; an error opening a prompt's stream is the merged stream's next
/// item, and ends it.
fn streamed<S>(service: S, plan: Plan, limit: usize) -> TextChunkStream
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    let Plan { chats, echo, n } = plan;
    let mut echo = echo.map(Vec::into_iter);
    let opens: Vec<_> = (0u32..)
        .zip(chats)
        .map(|(index, chat)| {
            let prompt = echo.as_mut().and_then(Iterator::next);
            let call = service.clone().oneshot(chat);
            Box::pin(async move {
                match call.await? {
                    ChatResponse::Stream(chunks) => Ok(TextChunks::new(chunks, index, n, prompt)),
                    ChatResponse::Completion(_) => Err(mismatch("a whole completion", "a stream")),
                }
            })
        })
        .collect();
    let chunks = iter(opens)
        .map(|open| once(open).try_flatten())
        .flatten_unordered(limit);
    merge(chunks)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatService;
    use crate::error::ErrorKind;

    #[tokio::test]
    async fn a_chat_service_answering_the_wrong_way_is_an_error_not_a_panic() {
        // Streams whatever it is asked.
        let streaming = ChatService::new(tower::service_fn(|_: ChatRequest| async {
            Ok::<_, Error>(ChatResponse::Stream(
                Box::pin(futures_util::stream::empty()),
            ))
        }));
        let error = Completions::new(streaming)
            .oneshot(CompletionRequest::new("m", "a"))
            .await
            .expect_err("a mismatch");
        assert_eq!(error.kind(), ErrorKind::Api);
        assert_eq!(
            error.message(),
            "the chat service answered with a stream where a whole completion was asked for"
        );
    }
}
