//! [`IdleTimeout`]: a body that fails when its source stays silent for too long, so a
//! stalled upstream cannot hold a stream (and the client waiting on it) open forever, while
//! a long stream that keeps sending is never cut off.

use std::pin::Pin;
use std::task::{Context, Poll};
use std::time::Duration;

use http_body::{Body, Frame, SizeHint};
use tokio::time::Sleep;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project_lite::pin_project! {
    /// Wraps a body; a gap of more than `limit` between frames ends it with an
    /// [`std::io::ErrorKind::TimedOut`] error.
    ///
    /// ```
    /// use std::time::Duration;
    /// use bytes::Bytes;
    /// use http_body_util::{BodyExt, Full};
    /// use llm_tower::upstream::IdleTimeout;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let body = IdleTimeout::new(Full::new(Bytes::from("{}")), Duration::from_secs(5));
    /// assert_eq!(body.collect().await.unwrap().to_bytes(), "{}");
    /// # }
    /// ```
    pub struct IdleTimeout<B> {
        #[pin]
        inner: B,
        #[pin]
        silence: Sleep,
        limit: Duration,
    }
}

impl<B> IdleTimeout<B> {
    /// Starts the clock now.
    pub fn new(inner: B, limit: Duration) -> Self {
        Self {
            inner,
            silence: tokio::time::sleep(limit),
            limit,
        }
    }
}

impl<B> Body for IdleTimeout<B>
where
    B: Body,
    B::Error: Into<BoxError>,
{
    type Data = B::Data;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, BoxError>>> {
        let mut this = self.project();
        match this.inner.poll_frame(cx) {
            Poll::Ready(frame) => {
                this.silence
                    .as_mut()
                    .reset(crate::deadline::Deadline::after(*this.limit).instant());
                Poll::Ready(frame.map(|frame| frame.map_err(Into::into)))
            }
            Poll::Pending => match this.silence.poll(cx) {
                Poll::Ready(()) => Poll::Ready(Some(Err(Box::new(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("no data for {:?}", this.limit),
                ))))),
                Poll::Pending => Poll::Pending,
            },
        }
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}
