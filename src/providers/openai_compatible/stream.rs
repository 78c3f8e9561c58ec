//! [`ChunkEvents`]: the `text/event-stream` body of a streamed OpenAI-compatible reply as a
//! stream of typed [`ChatCompletionChunk`]s.
//!
//! Every event is `data: <chunk JSON>`, and `data: [DONE]` ends the stream; chunks pass
//! through as they are (the usage chunk of `stream_options.include_usage` included). The
//! body is read through [`SseBody`]: as fast as the consumer polls, one event held at most,
//! dropped with the stream. An
//! `{"error": …}` event ends the stream with that error; malformed chunk JSON is a 502. A
//! body that ends without `[DONE]` ends cleanly only after a chunk that finished a choice
//! or carried usage (some servers leave `[DONE]` out); otherwise the upstream was cut off,
//! which is a 502 too, so a client never takes a truncated reply for a whole one. With an
//! event timeout ([`SseBody::with_event_timeout`]), a stream that sends no event for that
//! long, keep-alive comments or not, ends with a 504 timeout.

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body;
use pin_project_lite::pin_project;

use super::error::stream_error;
use crate::error::{Error, ErrorKind};
use crate::openai::ChatCompletionChunk;
use crate::sse::{SseBody, SseBodyError, SseEvent};
use crate::upstream::Secret;
use crate::upstream::redact::redact_secret;
use std::borrow::Cow;

/// The data of the event that ends a stream.
const DONE: &str = "[DONE]";

pin_project! {
    /// Typed chunks decoded from a `text/event-stream` body.
    pub struct ChunkEvents<B> {
        #[pin]
        events: SseBody<B>,
        // A chunk finished a choice or carried usage: the reply is whole.
        complete: bool,
        finished: bool,
        // The key the call was made with, redacted from error text.
        secret: Option<Secret>,
    }
}

impl<B> ChunkEvents<B> {
    /// Decodes `body`.
    pub fn new(body: B) -> Self {
        Self {
            events: SseBody::new(body),
            complete: false,
            finished: false,
            secret: None,
        }
    }

    /// Removes anything that looks like `secret` (the key the call was made with) from the
    /// text of error events and malformed chunks before it reaches an error.
    pub fn redacting(mut self, secret: Option<Secret>) -> Self {
        self.secret = secret;
        self
    }

    /// Ends the stream with a 504 timeout when no event arrives for `limit` (see
    /// [`SseBody::with_event_timeout`]).
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    /// use llm_tower::ErrorKind;
    /// use llm_tower::providers::openai_compatible::ChunkEvents;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// // A body that stays open and sends only a comment.
    /// let ping = futures_util::stream::iter([Ok::<_, std::io::Error>(http_body::Frame::data(
    ///     bytes::Bytes::from_static(b": ping\n\n"),
    /// ))]);
    /// let body = http_body_util::StreamBody::new(ping.chain(futures_util::stream::pending()));
    /// let mut chunks = ChunkEvents::new(body).with_event_timeout(Duration::from_millis(10));
    /// let error = chunks.next().await.unwrap().unwrap_err();
    /// assert_eq!(error.kind(), ErrorKind::Timeout);
    /// # });
    /// ```
    pub fn with_event_timeout(mut self, limit: Duration) -> Self {
        self.events = self.events.with_event_timeout(limit);
        self
    }
}

impl<B> std::fmt::Debug for ChunkEvents<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ChunkEvents")
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<B> Stream for ChunkEvents<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.finished {
            return Poll::Ready(None);
        }
        let item = match ready!(this.events.poll_next(cx)) {
            Some(Ok(event)) if event.data == DONE => None,
            Some(Ok(event)) => {
                let chunk = parse(&event, this.secret.as_ref());
                match &chunk {
                    Ok(chunk) => *this.complete |= finishes(chunk),
                    Err(_) => *this.finished = true,
                }
                return Poll::Ready(Some(chunk));
            }
            Some(Err(SseBodyError::Decode(error))) => Some(Err(bad_gateway(format!(
                "malformed event stream from the upstream: {error}"
            )))),
            Some(Err(SseBodyError::Body(error))) => Some(Err(error.into())),
            Some(Err(error @ SseBodyError::Timeout { .. })) => {
                Some(Err(Error::new(ErrorKind::Timeout, error.to_string())))
            }
            None if *this.complete => None,
            None => Some(Err(bad_gateway(
                "the upstream stream ended before its reply was complete".to_owned(),
            ))),
        };
        *this.finished = true;
        Poll::Ready(item)
    }
}

/// Whether a chunk finishes a choice or carries the usage: after it, an end without
/// `[DONE]` is not a cut.
fn finishes(chunk: &ChatCompletionChunk) -> bool {
    chunk.usage.is_some()
        || chunk
            .choices
            .iter()
            .any(|choice| choice.finish_reason.is_some())
}

fn parse(event: &SseEvent, secret: Option<&Secret>) -> Result<ChatCompletionChunk, Error> {
    // Error text without the key (borrowed, and so free, when the key is not in it).
    let text = match secret {
        Some(secret) => redact_secret(&event.data, secret.expose()),
        None => Cow::Borrowed(event.data.as_str()),
    };
    if let Some(error) = stream_error(text.as_bytes()) {
        return Err(error);
    }
    serde_json::from_slice(event.data.as_bytes()).map_err(|error| {
        bad_gateway(format!(
            "malformed chunk from the upstream: {error} in {}",
            text.chars().take(120).collect::<String>()
        ))
    })
}

fn bad_gateway(message: String) -> Error {
    Error::new(ErrorKind::BadGateway, message)
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use http_body_util::Full;

    use super::*;

    async fn decode(body: impl Into<Bytes>) -> Vec<Result<ChatCompletionChunk, Error>> {
        ChunkEvents::new(Full::new(body.into())).collect().await
    }

    const HI: &str = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"role":"assistant","content":"Hi"},"finish_reason":null}]}"#;
    const STOP: &str = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}"#;
    const USAGE: &str = r#"data: {"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[],"usage":{"prompt_tokens":3,"completion_tokens":1,"total_tokens":4}}"#;

    #[tokio::test]
    async fn chunks_and_the_usage_chunk_pass_and_done_ends_the_stream() {
        let body = format!("{HI}\n\n: keep-alive\n\n{STOP}\n\n{USAGE}\n\ndata: [DONE]\n\n{HI}\n\n");
        let chunks = decode(body).await;
        assert_eq!(chunks.len(), 3, "{chunks:?}");
        let chunks: Vec<_> = chunks
            .into_iter()
            .map(|chunk| chunk.expect("a chunk"))
            .collect();
        assert_eq!(chunks[0].choices[0].delta.content.as_deref(), Some("Hi"));
        assert_eq!(chunks[1].choices[0].finish_reason.as_deref(), Some("stop"));
        assert_eq!(
            chunks[2].usage.as_ref().map(|usage| usage.total_tokens),
            Some(4)
        );
    }

    #[tokio::test]
    async fn a_finished_reply_may_leave_done_out_but_a_cut_one_is_an_error() {
        let body = format!("{HI}\n\n{STOP}");
        let chunks = decode(body).await;
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        assert!(chunks.iter().all(Result::is_ok));

        let body = format!("{HI}\n\n");
        let chunks = decode(body).await;
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        let error = chunks[1].as_ref().expect_err("a cut");
        assert_eq!(error.kind(), ErrorKind::BadGateway);
    }

    #[tokio::test]
    async fn an_error_event_ends_the_stream_with_its_error() {
        let body = format!(
            "{HI}\n\ndata: {{\"error\":{{\"message\":\"Rate limit reached\",\"type\":\"rate_limit_error\",\"code\":429}}}}\n\n{HI}\n\n"
        );
        let chunks = decode(body).await;
        assert_eq!(chunks.len(), 2, "{chunks:?}");
        let error = chunks[1].as_ref().expect_err("the error event");
        assert_eq!(error.kind(), ErrorKind::RateLimit);
        assert_eq!(error.message(), "Rate limit reached");
    }

    #[tokio::test]
    async fn malformed_chunk_json_is_a_bad_gateway() {
        let chunks = decode("data: {\"id\": 5}\n\n").await;
        assert_eq!(chunks.len(), 1);
        let error = chunks[0].as_ref().expect_err("malformed");
        assert_eq!(error.kind(), ErrorKind::BadGateway);
        assert!(
            error.message().starts_with("malformed chunk"),
            "{}",
            error.message()
        );
    }
}
