//! [`ResponseFuture`]: one upstream call, bounded by the transport's silence limit until the
//! reply head arrives; the body then gets the same limit between chunks ([`IdleTimeout`]).

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use http_body_util::BodyExt;
use hyper_util::client::legacy;
use tokio::time::Sleep;

use super::idle::IdleTimeout;
use crate::upstream::body::UpstreamBody;
use crate::upstream::context::CallWatch;
use crate::upstream::error::Error;

pin_project_lite::pin_project! {
    /// The future of [`HttpTransport::call`](super::HttpTransport).
    pub struct ResponseFuture {
        #[pin]
        sending: legacy::ResponseFuture,
        // Boxed so a transport without a limit does not carry a timer in every call.
        deadline: Option<Pin<Box<Sleep>>>,
        timeout: Option<Duration>,
        // Reports the call to the request's observer, if it has one.
        watch: Option<CallWatch>,
    }
}

impl ResponseFuture {
    pub(super) fn new(
        sending: legacy::ResponseFuture,
        timeout: Option<Duration>,
        watch: Option<CallWatch>,
    ) -> Self {
        Self {
            sending,
            deadline: timeout.map(|limit| Box::pin(tokio::time::sleep(limit))),
            timeout,
            watch,
        }
    }
}

impl Future for ResponseFuture {
    type Output = Result<http::Response<UpstreamBody>, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let response = match this.sending.poll(cx) {
            Poll::Ready(result) => {
                let status = result.as_ref().ok().map(http::Response::status);
                if let Some(watch) = this.watch.take() {
                    watch.ended(status);
                }
                result.map_err(Error::sending)?
            }
            Poll::Pending => {
                if let Some(deadline) = this.deadline {
                    ready!(deadline.as_mut().poll(cx));
                    if let Some(watch) = this.watch.take() {
                        watch.ended(None);
                    }
                    return Poll::Ready(Err(Error::timeout()));
                }
                return Poll::Pending;
            }
        };
        let timeout = *this.timeout;
        Poll::Ready(Ok(response.map(|body| match timeout {
            Some(limit) => IdleTimeout::new(body, limit).boxed_unsync(),
            None => body.map_err(Into::into).boxed_unsync(),
        })))
    }
}
