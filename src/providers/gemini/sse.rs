//! [`SseAdapterLayer`]: the SSE response adapter. It turns the undecoded
//! `text/event-stream` body of a `streamGenerateContent?alt=sse` reply into a stream of
//! typed [`GenerateContentResponse`] events.
//!
//! The body is read only as fast as the consumer polls (backpressure), the decoder holds
//! at most one event (bounded memory), and dropping the stream drops the body, which
//! closes the upstream connection (cancellation). An `{"error": …}` event becomes
//! [`Error::Upstream`]; malformed event JSON, or a candidate index past Gemini's 8, is
//! [`Error::Decode`]; a stream that ends in
//! the middle of an event or with no event at all is [`Error::Truncated`]. With an event
//! timeout ([`SseBody::with_event_timeout`]), a stream that sends no event for that long
//! fails with [`Error::Timeout`] even if bytes keep arriving (comment lines such as
//! `: ping` keep a connection alive, not a generation).

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use futures_core::Stream;
use http::StatusCode;
use http_body::Body;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::call::{Call, Reply};
use super::error::{Error, MalformedReply};
use super::http::upstream_error;
use super::translate::stream::MAX_CANDIDATES;
use super::wire::GenerateContentResponse;
use crate::sse::{SseBody, SseBodyError, SseEvent};

/// Decodes streamed replies.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::gemini::SseAdapterLayer;
/// let _layer = SseAdapterLayer::new().event_timeout(Duration::from_secs(120));
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SseAdapterLayer {
    event_timeout: Option<Duration>,
}

impl SseAdapterLayer {
    /// The layer, without an event timeout.
    pub fn new() -> Self {
        Self::default()
    }

    /// Fails a stream that sends no event for `timeout` (bytes that are not events, such
    /// as `: ping` comments, do not count).
    pub fn event_timeout(mut self, timeout: Duration) -> Self {
        self.event_timeout = Some(timeout);
        self
    }
}

impl<S> Layer<S> for SseAdapterLayer {
    type Service = SseAdapter<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SseAdapter {
            inner,
            event_timeout: self.event_timeout,
        }
    }
}

/// The service of [`SseAdapterLayer`].
#[derive(Clone, Debug)]
pub struct SseAdapter<S> {
    inner: S,
    event_timeout: Option<Duration>,
}

impl<S> SseAdapter<S> {
    /// Wraps `inner`, without an event timeout.
    pub fn new(inner: S) -> Self {
        SseAdapterLayer::new().layer(inner)
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

impl<S> Service<Call> for SseAdapter<S>
where
    S: Service<Call, Response = Reply, Error = Error>,
{
    type Response = Reply;
    type Error = Error;
    type Future = SseAdapterFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: Call) -> Self::Future {
        SseAdapterFuture {
            inner: self.inner.call(call),
            event_timeout: self.event_timeout,
        }
    }
}

pin_project! {
    /// Future of [`SseAdapter`].
    pub struct SseAdapterFuture<F> {
        #[pin]
        inner: F,
        event_timeout: Option<Duration>,
    }
}

impl<F> Future for SseAdapterFuture<F>
where
    F: Future<Output = Result<Reply, Error>>,
{
    type Output = Result<Reply, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let event_timeout = *this.event_timeout;
        Poll::Ready(ready!(this.inner.poll(cx)).map(|reply| match reply {
            Reply::EventBody(body) => {
                let events = GeminiEvents::new(body);
                Reply::Stream(Box::pin(match event_timeout {
                    Some(limit) => events.with_event_timeout(limit),
                    None => events,
                }))
            }
            other => other,
        }))
    }
}

pin_project! {
    /// Typed events decoded from a `text/event-stream` body.
    pub struct GeminiEvents<B> {
        #[pin]
        events: SseBody<B>,
        events_seen: usize,
        finished: bool,
    }
}

impl<B> GeminiEvents<B> {
    /// Decodes `body`, refusing events larger than
    /// [`DEFAULT_MAX_EVENT_SIZE`](crate::sse::decode::DEFAULT_MAX_EVENT_SIZE).
    pub fn new(body: B) -> Self {
        Self::with_max_event_size(body, crate::sse::decode::DEFAULT_MAX_EVENT_SIZE)
    }

    /// Decodes `body`; an event larger than `limit` bytes ends the stream with
    /// [`Error::Stream`] instead of growing the buffer.
    pub fn with_max_event_size(body: B, limit: usize) -> Self {
        Self {
            events: SseBody::with_max_event_size(body, limit),
            events_seen: 0,
            finished: false,
        }
    }

    /// Fails the stream with [`Error::Timeout`] when no event arrives for `limit` (see
    /// [`SseBody::with_event_timeout`]).
    pub fn with_event_timeout(mut self, limit: Duration) -> Self {
        self.events = self.events.with_event_timeout(limit);
        self
    }
}

impl<B> Stream for GeminiEvents<B>
where
    B: Body<Data = bytes::Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<GenerateContentResponse, Error>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.project();
        if *this.finished {
            return Poll::Ready(None);
        }
        Poll::Ready(match ready!(this.events.poll_next(cx)) {
            Some(Ok(event)) => {
                *this.events_seen += 1;
                Some(parse_event(&event))
            }
            Some(Err(error)) => {
                *this.finished = true;
                Some(Err(match error {
                    SseBodyError::Decode(error) => error.into(),
                    SseBodyError::Body(error) => error.into(),
                    SseBodyError::Timeout { .. } => Error::Timeout,
                }))
            }
            None => {
                *this.finished = true;
                (*this.events_seen == 0).then_some(Err(Error::Truncated(
                    "no event before the end of the stream",
                )))
            }
        })
    }
}

/// Whether `data` is a JSON object whose first key is `"error"` (whitespace allowed).
fn is_error_event(data: &str) -> bool {
    data.trim_start()
        .strip_prefix('{')
        .is_some_and(|rest| rest.trim_start().starts_with("\"error\""))
}

fn parse_event(event: &SseEvent) -> Result<GenerateContentResponse, Error> {
    let data = event.data.as_bytes();
    if is_error_event(&event.data) {
        let status = serde_json::from_slice::<super::wire::ErrorBody>(data)
            .ok()
            .and_then(|body| StatusCode::from_u16(body.error.code).ok())
            .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
        return Err(upstream_error(status, &http::HeaderMap::new(), data));
    }
    let reply: GenerateContentResponse = serde_json::from_slice(data).map_err(|error| {
        if error.is_eof() {
            Error::Truncated("an event ended in the middle of its JSON")
        } else {
            Error::Decode(MalformedReply::Event {
                source: error,
                data: event.data.chars().take(120).collect(),
            })
        }
    })?;
    if let Some(index) = reply
        .candidates
        .iter()
        .filter_map(|candidate| candidate.index)
        .find(|index| *index >= MAX_CANDIDATES)
    {
        return Err(Error::Decode(MalformedReply::CandidateIndex {
            index,
            max: MAX_CANDIDATES,
        }));
    }
    Ok(reply)
}

#[cfg(test)]
mod tests {
    use futures_util::StreamExt;
    use http_body_util::Full;

    use super::*;

    async fn decode(body: &'static str) -> Vec<Result<GenerateContentResponse, Error>> {
        GeminiEvents::new(Full::new(bytes::Bytes::from_static(body.as_bytes())))
            .collect()
            .await
    }

    #[tokio::test]
    async fn a_candidate_index_out_of_range_is_refused() {
        let events = decode(
            "data: {\"candidates\":[{\"index\":4294967295,\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}\r\n\r\n",
        )
        .await;
        assert_eq!(events.len(), 1);
        assert!(
            matches!(&events[0], Err(error @ Error::Decode(MalformedReply::CandidateIndex { index: 4294967295, .. })) if error.to_string().contains("candidate index 4294967295")),
            "{events:?}"
        );
    }

    #[tokio::test]
    async fn candidates_in_range_pass() {
        let events = decode(
            "data: {\"candidates\":[{\"index\":7,\"content\":{\"parts\":[{\"text\":\"x\"}]}}]}\r\n\r\n",
        )
        .await;
        assert!(matches!(events.as_slice(), [Ok(_)]), "{events:?}");
    }
}
