//! [`ChatEdge`]: `POST /v1/chat/completions` over any chat service.

use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::StreamExt;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http::{HeaderValue, StatusCode};
use http_body::{Body, Frame};
use http_body_util::{BodyExt, StreamBody};
use tower_layer::Layer;
use tower_service::Service;

use super::body::{EdgeBody, json_response};
use super::decode::{EdgeFuture, accept, answer};
use crate::error::{Error, ErrorKind};
use crate::openai::{ChatCompletionChunk, ChatRequest};
use crate::provider::{ChatResponse, ChunkStream};
use crate::sse::{DONE_EVENT, encode_data};

/// Largest request body accepted by default (inline images make requests big).
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// Puts an HTTP edge in front of a chat service.
///
/// ```
/// use llm_tower::edge::ChatEdgeLayer;
/// let _layer = ChatEdgeLayer::new().body_limit(1024 * 1024);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ChatEdgeLayer {
    body_limit: usize,
}

impl ChatEdgeLayer {
    /// With [`DEFAULT_BODY_LIMIT`].
    pub fn new() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Refuses larger bodies with 413.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }
}

impl Default for ChatEdgeLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for ChatEdgeLayer {
    type Service = ChatEdge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ChatEdge {
            inner,
            body_limit: self.body_limit,
        }
    }
}

/// The service of [`ChatEdgeLayer`]: `http::Request` with an OpenAI chat body in,
/// `http::Response` with JSON or SSE out. It never fails: errors are responses.
#[derive(Clone, Debug)]
pub struct ChatEdge<S> {
    inner: S,
    body_limit: usize,
}

impl<S> ChatEdge<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        ChatEdgeLayer::new().layer(inner)
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

impl<S, B> Service<http::Request<B>> for ChatEdge<S>
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<EdgeBody>;
    type Error = std::convert::Infallible;
    type Future = EdgeFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> EdgeFuture {
        answer(serve(self.inner.clone(), request, self.body_limit))
    }
}

async fn serve<S, B>(
    mut inner: S,
    request: http::Request<B>,
    limit: usize,
) -> Result<http::Response<EdgeBody>, Error>
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error>,
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let chat = accept(&mut inner, request, limit).await?;
    match inner.call(chat).await? {
        ChatResponse::Completion(completion) => Ok(json_response(StatusCode::OK, &completion)),
        ChatResponse::Stream(stream) => commit_stream(stream).await,
    }
}

/// Waits for the first chunk, then answers 200 with an SSE body.
async fn commit_stream(mut stream: ChunkStream) -> Result<http::Response<EdgeBody>, Error> {
    let first = match stream.next().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(error)) => return Err(error),
        None => {
            return Err(Error::new(
                ErrorKind::BadGateway,
                "the upstream stream ended before its first event",
            ));
        }
    };
    let events = futures_util::stream::unfold(
        SseState::First(Box::new(first), stream),
        |state| async move {
            let (bytes, next) = match state {
                SseState::First(chunk, stream) => (encode_chunk(&chunk), SseState::Open(stream)),
                SseState::Open(mut stream) => match stream.next().await {
                    Some(Ok(chunk)) => (encode_chunk(&chunk), SseState::Open(stream)),
                    // The upstream stream is dropped here, at once: nothing follows an error.
                    Some(Err(error)) => (
                        encode_data(&error.envelope()).unwrap_or_default(),
                        SseState::Done,
                    ),
                    None => (Bytes::from_static(DONE_EVENT), SseState::Done),
                },
                SseState::Done => return None,
            };
            Some((Ok::<_, std::convert::Infallible>(Frame::data(bytes)), next))
        },
    );
    let body = StreamBody::new(events).map_err(|never| match never {});
    let mut response = http::Response::new(body.boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Where an SSE response body is: the first chunk (already read to commit the response),
/// the rest of the upstream stream, or finished.
enum SseState {
    First(Box<ChatCompletionChunk>, ChunkStream),
    Open(ChunkStream),
    Done,
}

fn encode_chunk(chunk: &ChatCompletionChunk) -> Bytes {
    encode_data(chunk).unwrap_or_else(|error| {
        encode_data(
            &Error::new(ErrorKind::Api, format!("cannot encode a chunk: {error}")).envelope(),
        )
        .unwrap_or_default()
    })
}
