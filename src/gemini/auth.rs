//! [`ApiKeyLayer`]: puts the Gemini API key in the `x-goog-api-key` header, never in the URL.
//!
//! The key comes from the request's [`ApiKey`] extension (a per-request `api_key`), else
//! from the layer. With neither, the call fails with [`MissingApiKey`] before any network
//! I/O.

use std::fmt;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::HeaderValue;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::error::MissingApiKey;

/// The header Gemini reads the key from.
pub const API_KEY_HEADER: &str = "x-goog-api-key";

/// A Gemini API key. `Debug` never prints it.
///
/// ```
/// use llm_tower::gemini::ApiKey;
/// let key = ApiKey::new("AIza-secret");
/// assert_eq!(format!("{key:?}"), "ApiKey([REDACTED])");
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct ApiKey(Arc<str>);

impl ApiKey {
    /// Wraps a key.
    pub fn new(key: impl Into<Arc<str>>) -> Self {
        Self(key.into())
    }

    /// The key from `GEMINI_API_KEY`, else `GOOGLE_API_KEY`.
    pub fn from_env() -> Option<Self> {
        ["GEMINI_API_KEY", "GOOGLE_API_KEY"]
            .iter()
            .find_map(|name| std::env::var(name).ok().filter(|key| !key.is_empty()))
            .map(Self::new)
    }

    /// The key itself.
    pub fn expose(&self) -> &str {
        &self.0
    }

    fn header_value(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::from_str(&self.0).ok()?;
        value.set_sensitive(true);
        Some(value)
    }
}

impl fmt::Debug for ApiKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("ApiKey([REDACTED])")
    }
}

/// Adds the API key header to every request.
///
/// ```
/// use llm_tower::gemini::{ApiKey, ApiKeyLayer};
/// use tower::ServiceBuilder;
///
/// let layer = ApiKeyLayer::new(Some(ApiKey::new("secret")));
/// let _ = ServiceBuilder::new().layer(layer);
/// ```
#[derive(Clone, Debug)]
pub struct ApiKeyLayer {
    key: Option<ApiKey>,
}

impl ApiKeyLayer {
    /// Uses `key` when a request carries none of its own.
    pub fn new(key: Option<ApiKey>) -> Self {
        Self { key }
    }
}

impl<S> Layer<S> for ApiKeyLayer {
    type Service = ApiKeyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiKeyService::new(inner, self.key.clone())
    }
}

/// The service of [`ApiKeyLayer`].
#[derive(Clone, Debug)]
pub struct ApiKeyService<S> {
    inner: S,
    key: Option<ApiKey>,
}

impl<S> ApiKeyService<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, key: Option<ApiKey>) -> Self {
        Self { inner, key }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B> Service<http::Request<B>> for ApiKeyService<S>
where
    S: Service<http::Request<B>>,
    S::Error: From<MissingApiKey>,
{
    type Response = S::Response;
    type Error = S::Error;
    type Future = ApiKeyFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let key = request
            .extensions_mut()
            .remove::<ApiKey>()
            .or_else(|| self.key.clone());
        match key.as_ref().and_then(ApiKey::header_value) {
            Some(value) => {
                request.headers_mut().insert(API_KEY_HEADER, value);
                ApiKeyFuture::Called {
                    inner: self.inner.call(request),
                }
            }
            None => ApiKeyFuture::Missing,
        }
    }
}

pin_project! {
    /// Future of [`ApiKeyService`].
    #[project = ApiKeyFutureProj]
    pub enum ApiKeyFuture<F> {
        /// The request went on.
        Called { #[pin] inner: F },
        /// No key: fails at once.
        Missing,
    }
}

impl<F, T, E> Future for ApiKeyFuture<F>
where
    F: Future<Output = Result<T, E>>,
    E: From<MissingApiKey>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ApiKeyFutureProj::Called { inner } => inner.poll(cx),
            ApiKeyFutureProj::Missing => Poll::Ready(Err(MissingApiKey.into())),
        }
    }
}
