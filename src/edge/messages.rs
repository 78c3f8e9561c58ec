//! [`MessagesEdge`]: Anthropic's Messages API over HTTP in front of a
//! [`Messages`](crate::layers::messages::Messages) service. `POST …/count_tokens` is a
//! token count; any other path a message. It takes `POST` only, decodes the body once
//! within the same limits as the OpenAI edges, and writes the reply: JSON, or the events
//! as SSE (`event: <type>` then `data: <json>`), committed late like every stream of the
//! edge. Every error is Anthropic's envelope with Anthropic's status
//! ([`crate::anthropic::ErrorEnvelope`]); after a stream has started, it is one `error`
//! event and the stream ends.
//!
//! `anthropic-version` is accepted whatever its value; `anthropic-beta` values are ignored
//! with a debug line (this front door serves no beta). Authentication is the
//! application's (the proxy checks `x-api-key` or `Authorization: Bearer`).

use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use http::StatusCode;
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{EdgeBody, error_reply, json_response, with_error_headers};
use super::commit::SseEncoding;
use super::decode::{EdgeFuture, accept, answer, with_notes};
use super::service::DEFAULT_BODY_LIMIT;
use crate::anthropic::{
    CountTokensRequest, CreateMessage, ErrorEnvelope, InputBlock, MessageContent, StreamEvent,
    TokenCount, ToolResultContent, status,
};
use crate::error::Error;
use crate::layers::messages::{MessageEventStream, MessagesReply};
use crate::openai::limits::{Bounded, Counts, RequestLimits};

/// Puts a [`MessagesEdge`] in front of a service.
///
/// ```
/// use llm_tower::edge::{MessagesEdgeLayer, RequestLimits};
///
/// let _layer = MessagesEdgeLayer::new().body_limit(1024 * 1024).limits(RequestLimits::default());
/// ```
#[derive(Clone, Copy, Debug)]
pub struct MessagesEdgeLayer {
    body_limit: usize,
    limits: RequestLimits,
}

impl Default for MessagesEdgeLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl MessagesEdgeLayer {
    /// With [`DEFAULT_BODY_LIMIT`] and the default [`RequestLimits`].
    pub fn new() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            limits: RequestLimits::default(),
        }
    }

    /// Refuses larger bodies with 413.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Refuses requests that hold more than `limits` allow with 400.
    pub fn limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }
}

impl<S> Layer<S> for MessagesEdgeLayer {
    type Service = MessagesEdge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MessagesEdge {
            inner,
            layer: *self,
        }
    }
}

/// `POST /v1/messages` and `POST /v1/messages/count_tokens` over a Messages service.
///
/// ```
/// use llm_tower::edge::MessagesEdge;
/// use llm_tower::layers::messages::Messages;
/// use llm_tower::{ChatResponse, ChatService, Error};
///
/// let chat = ChatService::new(tower::service_fn(|_| async {
///     Err::<ChatResponse, _>(Error::invalid_request("offline"))
/// }));
/// let _edge = MessagesEdge::new(Messages::new(chat)); // a tower Service<http::Request<B>>
/// ```
#[derive(Clone, Debug)]
pub struct MessagesEdge<S> {
    inner: S,
    layer: MessagesEdgeLayer,
}

impl<S> MessagesEdge<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        MessagesEdgeLayer::new().layer(inner)
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

impl<S, B> Service<http::Request<B>> for MessagesEdge<S>
where
    S: Service<CreateMessage, Response = MessagesReply, Error = Error>
        + Service<CountTokensRequest, Response = TokenCount, Error = Error>
        + Clone
        + Send
        + 'static,
    <S as Service<CreateMessage>>::Future: Send,
    <S as Service<CountTokensRequest>>::Future: Send,
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
        if let Some(beta) = request.headers().get("anthropic-beta") {
            tracing::debug!(?beta, "ignoring anthropic-beta: no beta is served here");
        }
        let count = request.uri().path().ends_with("/count_tokens");
        let mut inner = self.inner.clone();
        let MessagesEdgeLayer { body_limit, limits } = self.layer;
        answer(
            async move {
                if count {
                    let decoded: CountTokensRequest =
                        accept(&mut inner, request, body_limit, &limits).await?;
                    with_notes(decoded, |decoded| async move {
                        Ok(json_response(StatusCode::OK, &inner.call(decoded).await?))
                    })
                    .await
                } else {
                    let decoded: CreateMessage =
                        accept(&mut inner, request, body_limit, &limits).await?;
                    with_notes(decoded, |decoded| async move {
                        match inner.call(decoded).await? {
                            MessagesReply::Message(message) => {
                                Ok(json_response(StatusCode::OK, &message))
                            }
                            MessagesReply::Stream(events) => commit(events).await,
                        }
                    })
                    .await
                }
            },
            error_response,
        )
    }
}

/// Anthropic's error envelope with Anthropic's status, the request id when one is known
/// (as Anthropic's `request_id`), and the headers of every error of the edge (`Allow` on a
/// 405, `Retry-After` when known).
///
/// ```
/// use llm_tower::Error;
/// use llm_tower::edge::messages_error_response;
///
/// let response = messages_error_response(&Error::invalid_request("bad"));
/// assert_eq!(response.status(), 400);
/// ```
pub fn error_response(error: &Error) -> http::Response<EdgeBody> {
    error_reply(anthropic_error_response, error)
}

/// Anthropic's error envelope of `error`, with `request_id` when known.
fn anthropic_error_response(error: &Error, request_id: Option<&str>) -> http::Response<EdgeBody> {
    let mut envelope = ErrorEnvelope::of(error);
    envelope.request_id = request_id.map(str::to_owned);
    with_error_headers(json_response(status(error.kind()), &envelope), error)
}

/// Waits for the first event, then answers 200 with the events as SSE: `event: <type>`
/// then `data: <json>`; an error after the start is an `error` event.
async fn commit(events: MessageEventStream) -> Result<http::Response<EdgeBody>, Error> {
    super::commit::commit(
        events,
        SseEncoding {
            item: encode,
            error: |error, buffer| {
                let error = crate::anthropic::ErrorObject::of(error);
                encode(&StreamEvent::Error { error }, buffer);
            },
            done: None,
        },
    )
    .await
}

/// Appends `event: <type>\ndata: <json>\n\n`; an event that cannot be encoded becomes an
/// `error` event.
fn encode(event: &StreamEvent, buffer: &mut BytesMut) {
    let start = buffer.len();
    buffer.put_slice(b"event: ");
    buffer.put_slice(event.name().as_bytes());
    buffer.put_slice(b"\n");
    if crate::sse::put_data(event, buffer).is_err() {
        buffer.truncate(start);
        buffer.put_slice(UNENCODABLE_EVENT);
    }
}

/// The `error` event written in place of an event that cannot be encoded.
const UNENCODABLE_EVENT: &[u8] = b"event: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"api_error\",\"message\":\"cannot encode an event\"}}\n\n";

/// Messages count as messages; their blocks (and those of tool results) as content
/// parts.
impl Bounded for CreateMessage {
    fn counts(&self) -> Counts {
        let blocks = |content: &MessageContent| match content {
            MessageContent::Text(_) => 0,
            MessageContent::Blocks(blocks) => {
                blocks.len()
                    + blocks
                        .iter()
                        .map(|block| match block {
                            InputBlock::ToolResult(result) => match &result.content {
                                Some(ToolResultContent::Blocks(inner)) => inner.len(),
                                _ => 0,
                            },
                            _ => 0,
                        })
                        .sum::<usize>()
            }
        };
        Counts {
            messages: self.messages.len(),
            content_parts: self
                .messages
                .iter()
                .map(|message| blocks(&message.content))
                .sum(),
            tools: self.tools.as_ref().map_or(0, Vec::len),
        }
    }
}

impl Bounded for CountTokensRequest {
    fn counts(&self) -> Counts {
        self.0.counts()
    }
}

#[cfg(test)]
mod tests {
    use http::HeaderValue;
    use http_body_util::BodyExt;

    use super::*;
    use crate::error::ErrorKind;

    async fn body(response: http::Response<EdgeBody>) -> Bytes {
        response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes()
    }

    #[test]
    fn events_are_written_with_their_names() {
        let mut buffer = BytesMut::new();
        encode(&StreamEvent::Ping, &mut buffer);
        encode(&StreamEvent::MessageStop, &mut buffer);
        assert_eq!(
            &buffer[..],
            b"event: ping\ndata: {\"type\":\"ping\"}\n\nevent: message_stop\ndata: {\"type\":\"message_stop\"}\n\n"
        );
    }

    #[tokio::test]
    async fn an_error_after_the_start_is_the_last_event() {
        let events: MessageEventStream = Box::pin(futures_util::stream::iter([
            Ok(StreamEvent::Ping),
            Err(Error::new(ErrorKind::ServiceUnavailable, "busy")),
            Ok(StreamEvent::MessageStop),
        ]));
        let response = commit(events).await.expect("committed");
        assert_eq!(
            response.headers()[http::header::CONTENT_TYPE],
            "text/event-stream"
        );
        assert_eq!(
            &body(response).await[..],
            b"event: ping\ndata: {\"type\":\"ping\"}\n\nevent: error\ndata: {\"type\":\"error\",\"error\":{\"type\":\"overloaded_error\",\"message\":\"busy\"}}\n\n"
        );
    }

    #[cfg(feature = "proxy")]
    #[tokio::test]
    async fn an_error_carries_the_request_id_and_a_405_allows_post() {
        use super::super::ErrorReply;

        let response = error_response(&Error::new(ErrorKind::MethodNotAllowed, "GET: use POST"));
        assert_eq!(response.status(), 405);
        assert_eq!(response.headers()[http::header::ALLOW], "POST");
        let reply = response
            .extensions()
            .get::<ErrorReply>()
            .expect("the error is kept");
        let body = reply.body_with(&HeaderValue::from_static("req-7"));
        let bytes = body.collect().await.expect("body").to_bytes();
        let envelope: serde_json::Value = serde_json::from_slice(&bytes).expect("JSON");
        assert_eq!(
            envelope,
            serde_json::json!({
                "type": "error",
                "error": {"type": "invalid_request_error", "message": "GET: use POST"},
                "request_id": "req-7"
            })
        );
    }

    #[test]
    fn an_overloaded_upstream_is_529() {
        let response = error_response(&Error::new(ErrorKind::ServiceUnavailable, "busy"));
        assert_eq!(response.status().as_u16(), 529);
    }
}
