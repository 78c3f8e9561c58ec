//! [`MessagesLayer`]: Anthropic's Messages API (`/v1/messages` and
//! `/v1/messages/count_tokens`) over any chat service, so Claude Code and the Anthropic
//! SDKs can use every provider the chat level serves.
//!
//! A request becomes one chat request (`request.rs`); the chat reply, whole (`reply.rs`) or
//! streamed (`stream.rs`), becomes the `message` or its events. Thought signatures (Gemini's)
//! ride in thinking blocks' `signature` and come back on the next turn ([`ThoughtState`]).
//! Under the [`ModelRouter`](crate::ModelRouter) the model name is any name of the config, so a
//! `claude-…` name can be an alias of a Gemini deployment.
//!
//! `count_tokens` asks the chat service for the request's input token count with the
//! [`CountTokens`] extension: a provider that knows it (Gemini: `countTokens`) counts
//! without generating; one that does not answers the request, capped at one output token,
//! and its reported prompt tokens are the count.

mod answer;
mod reply;
mod request;
mod signature;
mod stream;

pub use self::signature::ThoughtState;

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use tower_layer::Layer;
use tower_service::Service;

use self::answer::{Answer, Count};
use self::request::{Purpose, to_chat};
use self::stream::StreamMapper;
use crate::anthropic::{CountTokensRequest, CreateMessage, MessageReply, StreamEvent, TokenCount};
use crate::error::{Error, ErrorKind};
use crate::layers::refusable::Refusable;
use crate::openai::ChatRequest;
use crate::provider::{ChatResponse, ChunkStream, CountTokens};

/// A stream of Messages events; an `Err` item (only ever first: a chat stream that fails or
/// ends before its first chunk) ends it.
pub type MessageEventStream = Pin<Box<dyn Stream<Item = Result<StreamEvent, Error>> + Send>>;

/// The reply of a Messages service: the `message`, or its events for `stream: true`.
pub enum MessagesReply {
    /// The whole message.
    Message(Box<MessageReply>),
    /// The events.
    Stream(MessageEventStream),
}

impl std::fmt::Debug for MessagesReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Message(message) => f.debug_tuple("Message").field(message).finish(),
            Self::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// Serves the Messages API with a chat service.
///
/// ```
/// use llm_tower::layers::messages::MessagesLayer;
/// use llm_tower::{ChatResponse, ChatService, Error};
/// use tower::Layer;
///
/// let chat = ChatService::new(tower::service_fn(|_| async {
///     Err::<ChatResponse, _>(Error::invalid_request("offline"))
/// }));
/// let messages = MessagesLayer::new().drop_params(true).layer(chat);
/// # let _ = messages;
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct MessagesLayer {
    drop_params: bool,
}

impl MessagesLayer {
    /// Refusing unknown params.
    pub fn new() -> Self {
        Self::default()
    }

    /// Drops unknown params (with a debug line) instead of refusing them.
    pub fn drop_params(mut self, drop: bool) -> Self {
        self.drop_params = drop;
        self
    }
}

impl<S> Layer<S> for MessagesLayer {
    type Service = Messages<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Messages {
            inner,
            drop_params: self.drop_params,
        }
    }
}

/// The service of [`MessagesLayer`]: [`CreateMessage`] → [`MessagesReply`], and
/// [`CountTokensRequest`] → [`TokenCount`].
#[derive(Clone, Debug)]
pub struct Messages<S> {
    inner: S,
    drop_params: bool,
}

impl<S> Messages<S> {
    /// Wraps `inner`, a chat service, with the default layer.
    pub fn new(inner: S) -> Self {
        MessagesLayer::new().layer(inner)
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

impl<S> Service<CreateMessage> for Messages<S>
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error>,
{
    type Response = MessagesReply;
    type Error = Error;
    type Future = MessagesFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: CreateMessage) -> Self::Future {
        let model = request.model.clone();
        match to_chat(request, Purpose::Reply, self.drop_params) {
            Ok(chat) => {
                let stream = chat.is_stream();
                Refusable::called(self.inner.call(chat), Answer { stream, model })
            }
            Err(error) => Refusable::refused(error),
        }
    }
}

/// Future of [`Messages`] for [`CreateMessage`]: the request refused before the call (it
/// could not be mapped), or the chat service's future and the `message` made of its reply.
pub type MessagesFuture<F> = Refusable<F, Answer>;

impl<S> Service<CountTokensRequest> for Messages<S>
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error>,
{
    type Response = TokenCount;
    type Error = Error;
    type Future = CountFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: CountTokensRequest) -> Self::Future {
        match to_chat(request.0, Purpose::Count, self.drop_params) {
            Ok(mut chat) => {
                // A provider that cannot count answers instead: one output token at most.
                chat.max_tokens = Some(1);
                chat.context.insert(CountTokens);
                Refusable::called(self.inner.call(chat), Count)
            }
            Err(error) => Refusable::refused(error),
        }
    }
}

/// Future of [`Messages`] for [`CountTokensRequest`]: the request refused before the call
/// (it could not be mapped), or the chat service's future and the count read off its reply.
pub type CountFuture<F> = Refusable<F, Count>;

/// Chat chunks as Messages events; the events of one chunk are yielded in a row.
struct MessageEvents {
    chunks: ChunkStream,
    /// `None` once the stream has ended.
    mapper: Option<StreamMapper>,
    pending: VecDeque<StreamEvent>,
}

impl Stream for MessageEvents {
    type Item = Result<StreamEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(event) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            let Some(mapper) = this.mapper.as_mut() else {
                return Poll::Ready(None);
            };
            match ready!(this.chunks.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => this.pending.extend(mapper.chunk(chunk)),
                Some(Err(error)) => {
                    let started = mapper.started();
                    this.mapper = None;
                    this.chunks = Box::pin(futures_util::stream::empty());
                    if !started {
                        // Nothing was sent: the edge answers with an error status.
                        return Poll::Ready(Some(Err(error)));
                    }
                    this.pending.push_back(StreamMapper::fail(&error));
                }
                None => {
                    if let Some(mapper) = this.mapper.take() {
                        if !mapper.started() {
                            // No chunk at all: no message to answer with.
                            return Poll::Ready(Some(Err(Error::new(
                                ErrorKind::BadGateway,
                                "the upstream stream ended before its first event",
                            ))));
                        }
                        this.pending.extend(mapper.finish());
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests;
