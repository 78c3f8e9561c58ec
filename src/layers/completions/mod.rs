//! [`CompletionsLayer`]: OpenAI's legacy `/v1/completions` over any chat service. Each
//! prompt is sent as a chat request with the prompt as its user message (several prompts
//! concurrently), and the chat replies, whole or streamed, come back as
//! `text_completion`s. It is provider-agnostic: under the [`Router`](crate::Router) it
//! serves every chat provider, and the provider still refuses, maps or drops each param.

pub mod convert;
pub mod stream;

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_util::future::{TryJoinAll, try_join_all};
use pin_project_lite::pin_project;
use tower::ServiceExt;
use tower::util::Oneshot;
use tower_layer::Layer;
use tower_service::Service;

use self::convert::{plan, text_completion};
use self::stream::{TextChunks, merge};
use crate::error::{Error, ErrorKind};
use crate::openai::{ChatRequest, CompletionRequest};
use crate::provider::{ChatResponse, CompletionResponse};

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
/// let completions = CompletionService::new(CompletionsLayer::new().layer(chat));
/// # let _ = completions;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct CompletionsLayer;

impl CompletionsLayer {
    /// The layer.
    pub fn new() -> Self {
        Self
    }
}

impl<S> Layer<S> for CompletionsLayer {
    type Service = Completions<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Completions { inner }
    }
}

/// The service of [`CompletionsLayer`].
#[derive(Clone, Debug)]
pub struct Completions<S> {
    inner: S,
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

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<CompletionRequest> for Completions<S>
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error> + Clone,
{
    type Response = CompletionResponse;
    type Error = Error;
    type Future = CompletionsFuture<TryJoinAll<Oneshot<S, ChatRequest>>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // Each prompt is sent on its own clone, which is made ready when it is sent.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: CompletionRequest) -> Self::Future {
        let stream = request.stream == Some(true);
        let plan = match plan(request) {
            Ok(plan) => plan,
            Err(error) => return CompletionsFuture::Failed { error: Some(error) },
        };
        let calls = plan
            .chats
            .into_iter()
            .map(|chat| self.inner.clone().oneshot(chat));
        CompletionsFuture::Calling {
            calls: try_join_all(calls),
            echo: plan.echo,
            n: plan.n,
            stream,
        }
    }
}

pin_project! {
    /// Future of [`Completions`].
    #[project = CompletionsFutureProj]
    pub enum CompletionsFuture<F> {
        /// The prompts are under way.
        Calling {
            #[pin]
            calls: F,
            echo: Option<Vec<String>>,
            n: u32,
            stream: bool,
        },
        /// The request was refused before any call.
        Failed { error: Option<Error> },
    }
}

impl<F> Future for CompletionsFuture<F>
where
    F: Future<Output = Result<Vec<ChatResponse>, Error>>,
{
    type Output = Result<CompletionResponse, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            CompletionsFutureProj::Calling {
                calls,
                echo,
                n,
                stream,
            } => {
                let replies = ready!(calls.poll(cx))?;
                Poll::Ready(if *stream {
                    streamed(replies, echo.take(), *n)
                } else {
                    whole(replies, echo.as_deref(), *n)
                })
            }
            CompletionsFutureProj::Failed { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| Error::new(ErrorKind::Api, "polled after completion")))),
        }
    }
}

fn whole(
    replies: Vec<ChatResponse>,
    echo: Option<&[String]>,
    n: u32,
) -> Result<CompletionResponse, Error> {
    let chats = replies
        .into_iter()
        .map(|reply| match reply {
            ChatResponse::Completion(chat) => Ok(chat),
            ChatResponse::Stream(_) => Err(mismatch("a stream", "a whole completion")),
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(CompletionResponse::Completion(text_completion(
        chats, echo, n,
    )))
}

fn streamed(
    replies: Vec<ChatResponse>,
    echo: Option<Vec<String>>,
    n: u32,
) -> Result<CompletionResponse, Error> {
    let mut prompts = echo.map(Vec::into_iter);
    let streams = (0u32..)
        .zip(replies)
        .map(|(index, reply)| match reply {
            ChatResponse::Stream(chunks) => {
                let prompt = prompts.as_mut().and_then(Iterator::next);
                Ok(TextChunks::new(chunks, index, n, prompt))
            }
            ChatResponse::Completion(_) => Err(mismatch("a whole completion", "a stream")),
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(CompletionResponse::Stream(merge(streams)))
}

fn mismatch(answered: &str, asked: &str) -> Error {
    Error::new(
        ErrorKind::Api,
        format!("the chat service answered with {answered} where {asked} was asked for"),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ChatService;

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
