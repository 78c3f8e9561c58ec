//! [`ApiKeyLayer`]: puts the Gemini API key in the `x-goog-api-key` header, never in the URL.
//!
//! The key comes from the request's [`Secret`] extension (a per-request `api_key`), else
//! from the layer. With neither, the call fails with [`MissingApiKey`] before any network
//! I/O.

use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::error::{Error, MissingApiKey};
use crate::upstream::Secret;

/// The header Gemini reads the key from.
pub const API_KEY_HEADER: &str = "x-goog-api-key";

/// The key from `GEMINI_API_KEY`, else `GOOGLE_API_KEY`.
///
/// ```
/// let _key: Option<llm_tower::Secret> = llm_tower::gemini::api_key_from_env();
/// ```
pub fn api_key_from_env() -> Option<Secret> {
    ["GEMINI_API_KEY", "GOOGLE_API_KEY"]
        .iter()
        .find_map(|name| std::env::var(name).ok().filter(|key| !key.is_empty()))
        .map(Secret::new)
}

/// Adds the API key header to every request.
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::gemini::ApiKeyLayer;
/// use tower::ServiceBuilder;
///
/// let layer = ApiKeyLayer::new(Some(Secret::new("secret")));
/// let _ = ServiceBuilder::new().layer(layer);
/// ```
#[derive(Clone, Debug)]
pub struct ApiKeyLayer {
    key: Option<Secret>,
    enabled: bool,
}

impl ApiKeyLayer {
    /// Uses `key` when a request carries none of its own.
    pub fn new(key: Option<Secret>) -> Self {
        Self { key, enabled: true }
    }

    /// Sends no key at all, not even a request's own: for endpoints that authenticate
    /// another way (Vertex AI's OAuth tokens).
    pub(crate) fn disabled() -> Self {
        Self {
            key: None,
            enabled: false,
        }
    }
}

impl<S> Layer<S> for ApiKeyLayer {
    type Service = ApiKeyService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ApiKeyService {
            inner,
            key: self.key.clone(),
            enabled: self.enabled,
        }
    }
}

/// The service of [`ApiKeyLayer`].
#[derive(Clone, Debug)]
pub struct ApiKeyService<S> {
    inner: S,
    key: Option<Secret>,
    enabled: bool,
}

impl<S> ApiKeyService<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, key: Option<Secret>) -> Self {
        Self {
            inner,
            key,
            enabled: true,
        }
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

impl<S, B> Service<http::Request<B>> for ApiKeyService<S>
where
    S: Service<http::Request<B>>,
    S::Error: Into<Error>,
{
    type Response = S::Response;
    type Error = Error;
    type Future = ApiKeyFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let key = request
            .extensions_mut()
            .remove::<Secret>()
            .or_else(|| self.key.clone());
        if !self.enabled {
            return ApiKeyFuture::Called {
                inner: self.inner.call(request),
            };
        }
        match key.as_ref().and_then(Secret::header_value) {
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
    E: Into<Error>,
{
    type Output = Result<T, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ApiKeyFutureProj::Called { inner } => inner.poll(cx).map_err(Into::into),
            ApiKeyFutureProj::Missing => Poll::Ready(Err(MissingApiKey.into())),
        }
    }
}
