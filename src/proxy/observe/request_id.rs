//! [`SaneRequestIdLayer`]: a client's `x-request-id` is kept only when it is a sane id:
//! at most [`MAX_REQUEST_ID_LEN`] bytes of letters, digits and `-_.:/+=`, and sent once.
//! Anything else is removed before tower-http's `SetRequestIdLayer` sees it, so the
//! request gets a new UUID instead; a client's text is never echoed in the answer or
//! written to the logs beyond that size.

use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::X_REQUEST_ID;

/// The longest `x-request-id` kept: 128 bytes (a UUID is 36, a W3C trace id 32).
pub const MAX_REQUEST_ID_LEN: usize = 128;

/// Whether `value` is an id to keep.
fn sane(value: &[u8]) -> bool {
    !value.is_empty()
        && value.len() <= MAX_REQUEST_ID_LEN
        && value
            .iter()
            .all(|byte| byte.is_ascii_alphanumeric() || b"-_.:/+=".contains(byte))
}

/// Removes an `x-request-id` that is not a sane id (or is sent more than once).
///
/// ```
/// use llm_tower::proxy::observe::SaneRequestIdLayer;
/// use tower::{Layer, ServiceExt};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let service = SaneRequestIdLayer.layer(tower::service_fn(|request: http::Request<()>| async move {
///     Ok::<_, std::convert::Infallible>(request.headers().contains_key("x-request-id"))
/// }));
/// let long = "x".repeat(1000);
/// let request = http::Request::builder().header("x-request-id", long).body(()).unwrap();
/// assert!(!service.clone().oneshot(request).await.unwrap());
/// let request = http::Request::builder().header("x-request-id", "req-1").body(()).unwrap();
/// assert!(service.oneshot(request).await.unwrap());
/// # }
/// ```
#[derive(Clone, Copy, Debug, Default)]
pub struct SaneRequestIdLayer;

impl<S> Layer<S> for SaneRequestIdLayer {
    type Service = SaneRequestId<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SaneRequestId::new(inner)
    }
}

/// The service of [`SaneRequestIdLayer`].
#[derive(Clone, Debug)]
pub struct SaneRequestId<S> {
    inner: S,
}

impl<S> SaneRequestId<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        Self { inner }
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

impl<S, B> Service<http::Request<B>> for SaneRequestId<S>
where
    S: Service<http::Request<B>>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = S::Future;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> S::Future {
        let headers = request.headers_mut();
        let mut values = headers.get_all(&X_REQUEST_ID).iter();
        let keep = match (values.next(), values.next()) {
            (None, _) => true,
            (Some(value), None) => sane(value.as_bytes()),
            (Some(_), Some(_)) => false,
        };
        if !keep {
            headers.remove(&X_REQUEST_ID);
        }
        self.inner.call(request)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_kept_only_when_short_and_plain() {
        assert!(sane(b"req-abc-123"));
        assert!(sane(b"0af7651916cd43dd8448eb211c80319c"));
        assert!(sane(&[b'a'; MAX_REQUEST_ID_LEN]));
        assert!(!sane(&[b'a'; MAX_REQUEST_ID_LEN + 1]));
        assert!(!sane(b""));
        assert!(!sane(b"id with spaces"));
        assert!(!sane(b"id\"quoted"));
        assert!(!sane("caf\u{e9}".as_bytes()));
    }
}
