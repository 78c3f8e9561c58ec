//! The response future of [`InFlightLimit`](super::InFlightLimit): waiting in line for a
//! permit (only when none is free), then the call, whose reply body takes the permit.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;
use tokio::sync::OwnedSemaphorePermit;
use tower::BoxError;

use super::InFlightBody;

/// Waiting in line: resolves to the started call and its permit, or the refusal.
type Queued<F> = Pin<Box<dyn Future<Output = Result<(F, OwnedSemaphorePermit), BoxError>> + Send>>;

pin_project! {
    /// Response future of [`InFlightLimit`](super::InFlightLimit). A call that got a permit
    /// at once allocates nothing here.
    pub struct ResponseFuture<F> {
        #[pin]
        state: State<F>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F> {
        Queued { queued: Queued<F> },
        Called { #[pin] future: F, permit: Option<OwnedSemaphorePermit> },
        Refused { error: Option<BoxError> },
    }
}

impl<F> ResponseFuture<F> {
    pub(super) fn called(future: F, permit: OwnedSemaphorePermit) -> Self {
        Self {
            state: State::Called {
                future,
                permit: Some(permit),
            },
        }
    }

    pub(super) fn queued(queued: Queued<F>) -> Self {
        Self {
            state: State::Queued { queued },
        }
    }

    pub(super) fn refused(error: BoxError) -> Self {
        Self {
            state: State::Refused { error: Some(error) },
        }
    }
}

impl<F, B, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    E: Into<BoxError>,
{
    type Output = Result<http::Response<InFlightBody<B>>, BoxError>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        loop {
            match self.as_mut().project().state.project() {
                StateProj::Queued { queued } => {
                    let (future, permit) = ready!(queued.as_mut().poll(cx))?;
                    self.as_mut().project().state.set(State::Called {
                        future,
                        permit: Some(permit),
                    });
                }
                StateProj::Called { future, permit } => {
                    let response = ready!(future.poll(cx)).map_err(Into::into)?;
                    let permit = permit
                        .take()
                        .ok_or("in-flight limit future polled after completion")?;
                    return Poll::Ready(Ok(response.map(|body| InFlightBody::new(body, permit))));
                }
                StateProj::Refused { error } => {
                    return Poll::Ready(Err(error.take().unwrap_or_else(|| {
                        "in-flight limit future polled after completion".into()
                    })));
                }
            }
        }
    }
}
