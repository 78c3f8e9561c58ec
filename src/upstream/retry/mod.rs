//! [`Retry`]: retries upstream HTTP calls at the seam where a request is an
//! `http::Request<Full<Bytes>>`, so an attempt costs a copy of the head and a reference to the
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
use crate::deadline::Deadline;
use crate::upstream::SendBudget;

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
        let budget = request.extensions().get::<SendBudget>().cloned();
        let template = (self.policy.max_retries() > 0).then(|| {
            self.policy.deposit();
            future::clone_request(&request)
        });
        let future = service.call(request);
        ResponseFuture::new(
            future,
            service,
            self.policy.clone(),
            template,
            deadline,
            budget,
        )
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
        if let Some(upstream) = current.downcast_ref::<super::Error>() {
            if upstream.is_connect() {
                return Failure::Connect;
            }
            timeout |= upstream.is_timeout();
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

#[cfg(test)]
mod tests {
    use std::convert::Infallible;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use std::time::Duration;

    use bytes::Bytes;
    use http_body::Frame;
    use http_body_util::{BodyExt, StreamBody};
    use tower::{ServiceExt, service_fn};

    use super::{DelayInBody, Retry, RetryPolicy};
    use crate::deadline::Deadline;

    /// A body sent in chunks.
    type Chunked = StreamBody<
        futures_util::stream::Iter<std::vec::IntoIter<Result<Frame<Bytes>, Infallible>>>,
    >;

    /// A `429` without `Retry-After` whose body comes in `chunks`.
    fn quota_reply(chunks: Vec<Bytes>) -> http::Response<Chunked> {
        let frames: Vec<Result<Frame<Bytes>, Infallible>> = chunks
            .into_iter()
            .map(|chunk| Ok(Frame::data(chunk)))
            .collect();
        let mut response = http::Response::new(StreamBody::new(futures_util::stream::iter(frames)));
        *response.status_mut() = http::StatusCode::TOO_MANY_REQUESTS;
        response
    }

    /// Sends one request with a deadline a second away through a retrying service whose
    /// upstream answers `chunks` and whose policy reads delays with `delay_in`: whatever
    /// it finds, the wait ends past the deadline. Returns the body the caller gets.
    async fn body_handed_on(chunks: Vec<Bytes>, delay_in: DelayInBody) -> Bytes {
        let calls = Arc::new(AtomicUsize::new(0));
        let counter = calls.clone();
        let upstream = service_fn(move |_: http::Request<Bytes>| {
            counter.fetch_add(1, Ordering::SeqCst);
            let chunks = chunks.clone();
            async move { Ok::<_, Infallible>(quota_reply(chunks)) }
        });
        let policy = RetryPolicy::new(1)
            .backoff(Duration::from_secs(2), Duration::from_secs(2))
            .delay_in_body(delay_in);
        let mut request = http::Request::new(Bytes::from_static(b"{}"));
        request
            .extensions_mut()
            .insert(Deadline::after(Duration::from_secs(1)));
        let response = Retry::new(upstream, policy)
            .oneshot(request)
            .await
            .expect("a reply");
        assert_eq!(response.status(), 429);
        assert_eq!(calls.load(Ordering::SeqCst), 1, "not retried");
        response
            .into_body()
            .collect()
            .await
            .expect("the body")
            .to_bytes()
    }

    #[tokio::test]
    async fn a_429_read_for_its_delay_reaches_the_caller_whole() {
        let body = Bytes::from_static(br#"{"error": {"code": 429}}"#);
        let handed_on = body_handed_on(vec![body.clone()], |_| Some(Duration::from_secs(5))).await;
        assert_eq!(handed_on, body);
    }

    #[tokio::test]
    async fn a_429_body_past_the_read_limit_reaches_the_caller_whole() {
        let chunks: Vec<Bytes> = (0..5_u8)
            .map(|index| Bytes::from(vec![b'a' + index; 40 * 1024]))
            .collect();
        let whole: Vec<u8> = chunks.iter().flat_map(|chunk| chunk.to_vec()).collect();
        // Past the limit, no delay is read: the backoff (2 s) ends past the deadline too.
        let handed_on = body_handed_on(chunks, |_| Some(Duration::ZERO)).await;
        assert_eq!(handed_on.len(), whole.len());
        assert_eq!(handed_on, whole);
    }
}
