//! [`InFlightLimit`]: a bound on the upstream calls one provider (a proxy deployment) has in
//! flight at once, at the HTTP seam where each call is one request.
//!
//! A call takes a permit before it is sent and keeps it until its reply body ends or is
//! dropped, so a stream counts for as long as it runs, not only until its headers arrive
//! (tower's `ConcurrencyLimit` releases at the headers). A call that finds every permit
//! taken waits in line for a short while ([`DEFAULT_QUEUE_WAIT`], never past the request's
//! [`Deadline`]), then fails with [`Saturated`] (a `429` with `Retry-After` for the client;
//! a wait cut short by the deadline is the request's timeout, tower's `Elapsed`, a `504`);
//! a call that finds the line full as well fails at once with tower's `Overloaded` (a
//! `503`). Nothing is sent upstream for a refused call.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the service |
//! | `layer.rs` | [`InFlightLimitLayer`]: the limit, the wait, the shared permits |
//! | `future.rs` | the named response future: waiting in line, then the call |
//! | `body.rs` | [`InFlightBody`]: a reply body that holds its call's permit |
//! | `error.rs` | [`Saturated`] |

mod body;
mod error;
mod future;
mod layer;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use tokio::sync::TryAcquireError;
use tower::BoxError;
use tower::ServiceExt;
use tower::load_shed::error::Overloaded;
use tower::timeout::error::Elapsed;
use tower_service::Service;

pub use self::body::InFlightBody;
pub use self::error::Saturated;
pub use self::future::ResponseFuture;
use self::layer::Permits;
pub use self::layer::{DEFAULT_QUEUE_WAIT, InFlightLimitLayer};
use crate::deadline::Deadline;

/// Bounds the calls in flight through an HTTP client service; see the [module](self) docs.
/// Clones share the permits.
///
/// ```
/// use std::time::Duration;
/// use bytes::Bytes;
/// use llm_tower::upstream::InFlightLimit;
/// use tower::{ServiceExt, service_fn};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let upstream = service_fn(|_: http::Request<Bytes>| async {
///     Ok::<_, std::convert::Infallible>(http::Response::new(http_body_util::Full::new(Bytes::from("{}"))))
/// });
/// let limited = InFlightLimit::new(upstream, 2);
/// let response = limited.oneshot(http::Request::new(Bytes::new())).await.unwrap();
/// assert_eq!(response.status(), 200);
/// # }
/// ```
#[derive(Clone, Debug)]
pub struct InFlightLimit<S> {
    inner: S,
    permits: Arc<Permits>,
    queue_wait: Duration,
}

impl<S> InFlightLimit<S> {
    /// At most `max` calls in flight through `inner` (at least one), waiting in line up to
    /// [`DEFAULT_QUEUE_WAIT`].
    pub fn new(inner: S, max: usize) -> Self {
        tower_layer::Layer::layer(&InFlightLimitLayer::new(max), inner)
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

    /// The limit.
    pub fn max(&self) -> usize {
        self.permits.max
    }

    /// How long `request` may wait in line: the configured wait, or what is left of its
    /// deadline if that is sooner (then `true`: running out is the request's timeout).
    fn wait_for<B>(&self, request: &http::Request<B>) -> (Duration, bool) {
        let wait = self.queue_wait;
        match request.extensions().get::<Deadline>() {
            Some(deadline) if deadline.remaining() < wait => (deadline.remaining(), true),
            _ => (wait, false),
        }
    }
}

impl<S, ReqBody, B> Service<http::Request<ReqBody>> for InFlightLimit<S>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send + 'static,
    ReqBody: Send + 'static,
{
    type Response = http::Response<InFlightBody<B>>;
    type Error = BoxError;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<ReqBody>) -> Self::Future {
        // The ready service takes this call (the clone-then-swap of tower-service's docs).
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let permits = &self.permits;
        match permits.semaphore.clone().try_acquire_owned() {
            Ok(permit) => return ResponseFuture::called(inner.call(request), permit),
            // The semaphore is never closed; a closed one refuses like a full one.
            Err(TryAcquireError::NoPermits | TryAcquireError::Closed) => {}
        }
        // No permit: the ready service stays for the next call (an inner `Buffer` or
        // concurrency limit keeps nothing reserved while this one waits); this call readies
        // its clone once it has a permit.
        std::mem::swap(&mut self.inner, &mut inner);
        let (wait, deadline_first) = self.wait_for(&request);
        let gave_up = move |saturated: BoxError| -> BoxError {
            if deadline_first {
                Box::new(Elapsed::new())
            } else {
                saturated
            }
        };
        if wait.is_zero() {
            return ResponseFuture::refused(gave_up(permits.saturated()));
        }
        let Some(place) = permits.queue() else {
            return ResponseFuture::refused(Box::new(Overloaded::new()));
        };
        let semaphore = permits.semaphore.clone();
        let saturated = permits.saturated();
        ResponseFuture::queued(Box::pin(async move {
            // Keeps the place in line until the wait ends, however it ends.
            let _place = place;
            match tokio::time::timeout(wait, semaphore.acquire_owned()).await {
                Ok(Ok(permit)) => {
                    let ready = inner.ready().await.map_err(Into::into)?;
                    Ok((ready.call(request), permit))
                }
                Ok(Err(_)) | Err(_) => Err(gave_up(saturated)),
            }
        }))
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
    use http_body_util::{BodyExt, Full, StreamBody};
    use tokio::sync::mpsc;
    use tower::{ServiceExt, service_fn};

    use super::{InFlightLimitLayer, Saturated};
    use crate::deadline::Deadline;
    use tower_layer::Layer;

    fn request() -> http::Request<Bytes> {
        http::Request::new(Bytes::from_static(b"{}"))
    }

    /// An upstream that answers `{}` at once, one call in flight, waiting up to `wait`.
    fn limited_to_one(
        wait: Duration,
    ) -> impl tower_service::Service<
        http::Request<Bytes>,
        Response = http::Response<super::InFlightBody<Full<Bytes>>>,
        Error = tower::BoxError,
        Future = impl Send,
    > + Clone {
        let upstream = service_fn(|_: http::Request<Bytes>| async {
            Ok::<_, Infallible>(http::Response::new(Full::new(Bytes::from("{}"))))
        });
        InFlightLimitLayer::new(1).queue_wait(wait).layer(upstream)
    }

    #[tokio::test]
    async fn a_stream_holds_its_permit_until_its_body_ends() {
        let calls = Arc::new(AtomicUsize::new(0));
        let (senders_in, mut senders) = mpsc::unbounded_channel();
        let counter = calls.clone();
        let upstream = service_fn(move |_: http::Request<Bytes>| {
            counter.fetch_add(1, Ordering::SeqCst);
            let (sender, receiver) = mpsc::channel(4);
            senders_in.send(sender).expect("the test listens");
            async move {
                let chunks = futures_util::stream::unfold(receiver, |mut receiver| async move {
                    let chunk: Result<Frame<Bytes>, Infallible> = receiver.recv().await?;
                    Some((chunk, receiver))
                });
                Ok::<_, Infallible>(http::Response::new(StreamBody::new(chunks)))
            }
        });
        let limited = InFlightLimitLayer::new(1)
            .queue_wait(Duration::from_millis(300))
            .layer(upstream);

        let first = limited.clone().oneshot(request()).await.expect("a permit");
        let sender = senders.recv().await.expect("the first call");
        // Headers came back, the body runs: the permit is still taken.
        let started = std::time::Instant::now();
        let Err(refused) = limited.clone().oneshot(request()).await else {
            panic!("a call past the limit went through");
        };
        assert!(refused.is::<Saturated>(), "{refused}");
        let waited = started.elapsed();
        assert!(
            waited >= Duration::from_millis(300) && waited < Duration::from_secs(2),
            "{waited:?}"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 1);

        // The body ends: the next call goes through.
        sender
            .send(Ok(Frame::data(Bytes::from("data"))))
            .await
            .expect("sent");
        drop(sender);
        let body = first.into_body().collect().await.expect("the body");
        assert_eq!(body.to_bytes(), "data");
        let second = limited.clone().oneshot(request()).await;
        assert!(second.is_ok(), "the freed permit");
        assert_eq!(calls.load(Ordering::SeqCst), 2);
    }

    #[tokio::test]
    async fn a_waiting_call_gets_the_permit_a_dropped_body_gives_back() {
        let limited = limited_to_one(Duration::from_secs(1));
        let held = limited.clone().oneshot(request()).await.expect("a permit");
        let waiting = tokio::spawn(limited.clone().oneshot(request()));
        tokio::time::sleep(Duration::from_millis(200)).await;
        drop(held);
        let reply = waiting.await.expect("joined").expect("the freed permit");
        assert_eq!(reply.status(), 200);
    }

    #[tokio::test]
    async fn a_full_line_sheds_at_once_and_a_deadline_sooner_than_the_wait_is_a_timeout() {
        let limited = limited_to_one(Duration::from_secs(1));
        let _held = limited.clone().oneshot(request()).await.expect("a permit");
        // One place in line for a limit of one: the second waiter is shed.
        let _waiting = tokio::spawn(limited.clone().oneshot(request()));
        tokio::task::yield_now().await;
        let started = std::time::Instant::now();
        let shed = limited.clone().oneshot(request()).await.expect_err("shed");
        assert!(shed.is::<tower::load_shed::error::Overloaded>(), "{shed}");
        assert!(started.elapsed() < Duration::from_millis(200));

        let mut late = request();
        late.extensions_mut()
            .insert(Deadline::after(Duration::ZERO));
        let refused = limited.clone().oneshot(late).await.expect_err("no wait");
        assert!(refused.is::<tower::timeout::error::Elapsed>(), "{refused}");
        assert!(started.elapsed() < Duration::from_millis(200));
    }

    #[tokio::test]
    async fn a_call_that_waits_its_whole_turn_is_saturated() {
        let limited = limited_to_one(Duration::from_millis(50));
        let _held = limited.clone().oneshot(request()).await.expect("a permit");
        let refused = limited
            .clone()
            .oneshot(request())
            .await
            .expect_err("waited");
        let saturated = refused.downcast::<Saturated>().expect("saturated");
        assert_eq!(saturated.limit(), 1);
    }
}
