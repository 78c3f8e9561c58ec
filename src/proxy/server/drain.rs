//! [`DrainBody`]: a response body that can be told to end early because the server is
//! shutting down. An event stream ends with one OpenAI error event, so a client sees why it
//! ended instead of a cut connection; any other body ends with an error, which aborts the
//! connection (a truncated JSON reply must not look complete).

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;
use tokio::sync::Notify;
use tokio::sync::futures::OwnedNotified;

/// The event an interrupted stream ends with.
const SHUTDOWN_EVENT: &[u8] = b"data: {\"error\":{\"message\":\"the server is shutting down; retry the request\",\"type\":\"service_unavailable_error\",\"param\":null,\"code\":\"503\"}}\n\n";

/// Tells every [`DrainBody`] made from it to end.
#[derive(Clone, Default)]
pub(crate) struct Drain(Arc<Notify>);

impl Drain {
    /// Ends the bodies now (those already done are unaffected).
    pub(crate) fn end_bodies(&self) {
        self.0.notify_waiters();
    }

    /// Wraps a body; `event_stream` says whether it is `text/event-stream`.
    pub(crate) fn wrap<B>(&self, body: B, event_stream: bool) -> DrainBody<B> {
        let mut ended = Box::pin(Arc::clone(&self.0).notified_owned());
        // Registered now, so a notification sent before the body is first polled counts.
        ended.as_mut().enable();
        DrainBody {
            body,
            ended,
            event_stream,
            state: State::Streaming,
        }
    }
}

/// Why a non-stream body was cut.
#[derive(Debug, thiserror::Error)]
#[error("the server shut down before the reply was complete")]
pub(crate) struct ShutDown;

#[derive(Clone, Copy, PartialEq, Eq)]
enum State {
    Streaming,
    Done,
}

pin_project! {
    /// A body that ends when its [`Drain`] says so.
    pub(crate) struct DrainBody<B> {
        #[pin]
        body: B,
        ended: Pin<Box<OwnedNotified>>,
        event_stream: bool,
        state: State,
    }
}

impl<B> Body for DrainBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Data = Bytes;
    type Error = Box<dyn std::error::Error + Send + Sync>;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        let this = self.project();
        if *this.state == State::Done {
            return Poll::Ready(None);
        }
        // The body first: frames that are ready go out before the end.
        if let Poll::Ready(frame) = this.body.poll_frame(cx) {
            if frame.is_none() {
                *this.state = State::Done;
            }
            return Poll::Ready(frame.map(|result| result.map_err(Into::into)));
        }
        if this.ended.as_mut().poll(cx).is_pending() {
            return Poll::Pending;
        }
        *this.state = State::Done;
        if *this.event_stream {
            Poll::Ready(Some(Ok(Frame::data(Bytes::from_static(SHUTDOWN_EVENT)))))
        } else {
            Poll::Ready(Some(Err(Box::new(ShutDown))))
        }
    }

    fn is_end_stream(&self) -> bool {
        self.state == State::Done || self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use futures_util::{StreamExt, stream};
    use http_body_util::{BodyExt, StreamBody};

    use super::*;

    fn never_ending() -> impl Body<Data = Bytes, Error = std::convert::Infallible> {
        let first = stream::iter([Ok(Frame::data(Bytes::from_static(b"data: 1\n\n")))]);
        StreamBody::new(first.chain(stream::pending()))
    }

    #[tokio::test]
    async fn a_stream_ends_with_an_error_event() {
        let drain = Drain::default();
        let mut body = std::pin::pin!(drain.wrap(never_ending(), true));
        let first = body.frame().await.unwrap().unwrap().into_data().unwrap();
        assert_eq!(first, "data: 1\n\n");
        let ender = drain.clone();
        tokio::spawn(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            ender.end_bodies();
        });
        let last = body.frame().await.unwrap().unwrap().into_data().unwrap();
        let text = std::str::from_utf8(&last).unwrap();
        let event: serde_json::Value =
            serde_json::from_str(text.strip_prefix("data: ").unwrap().trim()).unwrap();
        assert_eq!(event["error"]["type"], "service_unavailable_error");
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn other_bodies_end_with_an_error() {
        let drain = Drain::default();
        let body = drain.wrap(never_ending(), false);
        drain.end_bodies();
        let error = body.collect().await.unwrap_err();
        assert!(error.is::<ShutDown>(), "{error}");
    }

    #[tokio::test]
    async fn finished_bodies_are_untouched() {
        let drain = Drain::default();
        let body = drain.wrap(http_body_util::Full::new(Bytes::from_static(b"{}")), false);
        let bytes = body.collect().await.unwrap().to_bytes();
        drain.end_bodies();
        assert_eq!(bytes, "{}");
    }
}
