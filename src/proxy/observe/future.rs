//! [`ObserveFuture`]: the response future of [`Observe`](super::Observe). It runs the inner
//! future in the request's span, then hands the request's [`Finish`] to the response body,
//! which completes it when the body ends.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use http::HeaderValue;
use http::header::CONTENT_TYPE;
use tracing::instrument::Instrumented;

use super::X_LITELLM_CALL_ID;
use super::body::{Finish, ObservedBody};
use crate::edge::{EdgeBody, ErrorReply};

pin_project_lite::pin_project! {
    /// The response future of [`Observe`](super::Observe).
    pub struct ObserveFuture<F> {
        #[pin]
        inner: Instrumented<F>,
        finish: Option<Finish>,
    }
}

impl<F> ObserveFuture<F> {
    pub(super) fn new(inner: F, span: tracing::Span, finish: Finish) -> Self {
        Self {
            inner: tracing::Instrument::instrument(inner, span),
            finish: Some(finish),
        }
    }
}

impl<F, B, E> Future for ObserveFuture<F>
where
    F: Future<Output = Result<http::Response<B>, E>>,
    B: From<EdgeBody>,
{
    type Output = Result<http::Response<ObservedBody<B>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = ready!(this.inner.poll(cx))?;
        let mut finish = this
            .finish
            .take()
            .expect("ObserveFuture polled after completion");
        let is_stream = response
            .headers()
            .get(CONTENT_TYPE)
            .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
        finish.responded(response.status(), is_stream);
        let (mut parts, mut body) = response.into_parts();
        if let Some(id) = finish.request_id() {
            parts
                .headers
                .insert(X_LITELLM_CALL_ID, HeaderValue::clone(id));
            // An error answer names the request in its envelope.
            if let Some(reply) = parts.extensions.remove::<ErrorReply>() {
                body = B::from(reply.body_with(id));
            }
        }
        Poll::Ready(Ok(http::Response::from_parts(
            parts,
            ObservedBody::new(body, finish),
        )))
    }
}
