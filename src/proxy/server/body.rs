//! [`ServedBody`]: the response body as the server sends it. It ends when the grace period
//! is over ([`DrainBody`]), counts as a request in flight on its connection until it is
//! dropped ([`ActiveGuard`]), and, for event streams, is watched for a client that stops
//! taking data ([`Watched`]).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use pin_project_lite::pin_project;

use super::connections::ActiveGuard;
use super::drain::DrainBody;
use super::stall::Watched;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

pin_project! {
    /// The body of every response [`serve`](super::serve) sends.
    #[project = ServedProjection]
    pub(crate) enum ServedBody<B> {
        /// A reply that is not a stream.
        Plain { #[pin] body: DrainBody<B>, guard: ActiveGuard },
        /// An event stream, under the send-stall watchdog (which holds its guard).
        Stream { #[pin] body: Watched<DrainBody<B>, ActiveGuard> },
    }
}

impl<B> Body for ServedBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        match self.project() {
            ServedProjection::Plain { body, .. } => body.poll_frame(cx),
            ServedProjection::Stream { body } => body.poll_frame(cx),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Plain { body, .. } => body.is_end_stream(),
            Self::Stream { body } => body.is_end_stream(),
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Plain { body, .. } => body.size_hint(),
            Self::Stream { body } => body.size_hint(),
        }
    }
}
