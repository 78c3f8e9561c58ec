//! [`Retry`]: retries upstream HTTP calls at the seam where a request is an
//! `http::Request<Bytes>`, so an attempt costs a copy of the head and a reference to the
//! body: nothing above it (translation, image downloads, the context cache) runs twice.
//!
//! What is retried, how long it waits and what stops it is the [`RetryPolicy`]'s: `429`,
//! `500` and `503` replies and connect failures; `Retry-After` honoured; jittered
//! exponential backoff otherwise; a retry budget; never a wait past the request's
//! [`Deadline`] (the reply goes back to the client instead). A reply with
//! another status is handed on as it came, so nothing after a reply head of a successful
//! call is ever retried.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the service |
//! | `layer.rs` | [`RetryLayer`] |
//! | `policy.rs` | [`RetryPolicy`]: what is retried, the waits, the budget |
//! | `future.rs` | the named response future: attempts, reading a `429` body, waiting |
//! | `body.rs` | [`RetryBody`]: a reply body, or the part of one already read |

mod body;
mod future;
mod layer;
mod policy;

use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body;
use tower::BoxError;
use tower_service::Service;

pub use self::body::RetryBody;
pub use self::future::ResponseFuture;
pub use self::layer::RetryLayer;
pub use self::policy::{DelayInBody, RetryPolicy, parse_retry_after};
use crate::Deadline;

/// Most bytes of a `429` body read to find a retry delay in it.
pub const MAX_ERROR_BODY: usize = 64 * 1024;

/// Longest time spent reading a `429` body for a retry delay: what has not arrived by then
/// is handed on unread, and the retry waits its backoff.
pub const MAX_ERROR_BODY_TIME: std::time::Duration = std::time::Duration::from_secs(5);

/// Retries an HTTP client service by a [`RetryPolicy`]. The request body must be `Clone`,
/// and cheap to clone: `Bytes` or `Full<Bytes>`.
///
/// ```
/// use bytes::Bytes;
/// use llm_tower::upstream::{Retry, RetryPolicy};
/// use tower::{ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let upstream = service_fn(|_: http::Request<Bytes>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(Bytes::from("{}"))))
/// });
/// let retry = Retry::new(upstream, RetryPolicy::new(2));
/// let response = retry.oneshot(http::Request::new(Bytes::from("{}"))).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct Retry<S> {
    inner: S,
    policy: Arc<RetryPolicy>,
}

impl<S> Retry<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, policy: RetryPolicy) -> Self {
        Self::from_shared(inner, Arc::new(policy))
    }

    pub(super) fn from_shared(inner: S, policy: Arc<RetryPolicy>) -> Self {
        Self { inner, policy }
    }

    /// The policy.
    pub fn policy(&self) -> &RetryPolicy {
        &self.policy
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

/// A request body clones in O(1) when it is `Bytes` or `Full<Bytes>`: a retry copies the
/// head and shares the body.
impl<S, ReqBody, B> Service<http::Request<ReqBody>> for Retry<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<B>> + Clone,
    S::Error: Into<BoxError>,
    ReqBody: Clone,
    B: Body<Data = Bytes>,
{
    type Response = http::Response<RetryBody<B>>;
    type Error = BoxError;
    type Future = ResponseFuture<S, ReqBody, B>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // The ready service takes this attempt; the future keeps it for the next ones.
        let clone = self.inner.clone();
        let mut service = std::mem::replace(&mut self.inner, clone);
        let deadline = request
            .extensions()
            .get::<Deadline>()
            .map(|deadline| deadline.instant());
        let template = (self.policy.max_retries() > 0).then(|| {
            self.policy.deposit();
            future::clone_request(&request)
        });
        let future = service.call(request);
        ResponseFuture::new(future, service, self.policy.clone(), template, deadline)
    }
}

/// What kind of failure an error is, for retrying.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Failure {
    /// No connection was made: the request never reached the upstream.
    Connect,
    /// The reply did not come in time: the upstream may be working on it.
    Timeout,
    /// Anything else.
    Other,
}

/// Classifies an error by its chain of sources.
pub(crate) fn classify(error: &(dyn std::error::Error + 'static)) -> Failure {
    let mut timeout = false;
    let mut cause = Some(error);
    while let Some(current) = cause {
        match current.downcast_ref::<super::Error>() {
            Some(super::Error::Connect(_)) => return Failure::Connect,
            Some(super::Error::Timeout) => timeout = true,
            _ => {}
        }
        if current.is::<tower::timeout::error::Elapsed>()
            || current
                .downcast_ref::<std::io::Error>()
                .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            timeout = true;
        }
        cause = current.source();
    }
    if timeout {
        Failure::Timeout
    } else {
        Failure::Other
    }
}
