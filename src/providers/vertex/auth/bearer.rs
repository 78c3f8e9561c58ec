//! [`BearerLayer`]: puts a [`TokenSource`]'s access token in the `Authorization: Bearer`
//! header of every upstream request, and on a `401` forgets that token and sends the
//! request once more with a new one (a token revoked or expired early).

use std::pin::Pin;
use std::task::{Context, Poll};

use http::StatusCode;
use http::header::AUTHORIZATION;
use tower::{BoxError, ServiceExt};
use tower_layer::Layer;
use tower_service::Service;

use super::token::{TokenError, TokenSource};
use crate::providers::gemini::Error as GeminiError;

/// Adds `Authorization: Bearer <token>` from a [`TokenSource`].
///
/// ```no_run
/// use llm_tower::upstream::HttpTransport;
/// use llm_tower::vertex::{BearerLayer, Credentials, TokenSource};
/// use tower::ServiceBuilder;
///
/// let transport = HttpTransport::builder().build()?;
/// let tokens = TokenSource::new(Credentials::from_env()?, transport.clone());
/// let _service = ServiceBuilder::new().layer(BearerLayer::new(tokens)).service(transport);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone, Debug)]
pub struct BearerLayer {
    tokens: TokenSource,
}

impl BearerLayer {
    /// Takes tokens from `tokens`.
    pub fn new(tokens: TokenSource) -> Self {
        Self { tokens }
    }
}

impl<S> Layer<S> for BearerLayer {
    type Service = Bearer<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Bearer::new(inner, self.tokens.clone())
    }
}

/// The service of [`BearerLayer`].
#[derive(Clone, Debug)]
pub struct Bearer<S> {
    inner: S,
    tokens: TokenSource,
}

impl<S> Bearer<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, tokens: TokenSource) -> Self {
        Self { inner, tokens }
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

impl<S, B, RB> Service<http::Request<B>> for Bearer<S>
where
    S: Service<http::Request<B>, Response = http::Response<RB>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: Clone + Send + 'static,
    RB: Send + 'static,
{
    type Response = http::Response<RB>;
    type Error = BoxError;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.inner.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let tokens = self.tokens.clone();
        // A token fetch is async, and a cached token is one lock away: the box is the
        // price of the first, paid once per upstream attempt.
        Box::pin(async move {
            let (mut parts, body) = request.into_parts();
            // Never a Gemini key towards Google Cloud.
            parts
                .headers
                .remove(crate::providers::gemini::API_KEY_HEADER);
            let token = tokens.token().await.map_err(token_error)?;
            let again = http::Request::from_parts(parts.clone(), body.clone());
            let response = inner
                .call(authorized(http::Request::from_parts(parts, body), &token))
                .await
                .map_err(Into::into)?;
            if response.status() != StatusCode::UNAUTHORIZED {
                return Ok(response);
            }
            drop(response);
            tokens.invalidate(&token);
            let token = tokens.token().await.map_err(token_error)?;
            let ready = inner.ready().await.map_err(Into::into)?;
            ready
                .call(authorized(again, &token))
                .await
                .map_err(Into::into)
        })
    }
}

fn authorized<B>(mut request: http::Request<B>, token: &crate::Secret) -> http::Request<B> {
    if let Some(value) = token.bearer_header_value() {
        request.headers_mut().insert(AUTHORIZATION, value);
    }
    request
}

/// A token failure as the Gemini-level error the client sees: `401` when Google refused
/// the credentials, `503` when no token could be had.
fn token_error(error: TokenError) -> BoxError {
    let status = match error {
        TokenError::Refused { .. } => StatusCode::UNAUTHORIZED,
        TokenError::Unavailable { .. } => StatusCode::SERVICE_UNAVAILABLE,
    };
    Box::new(GeminiError::Upstream {
        status,
        google: None,
        message: error.to_string(),
        retry_after: None,
    })
}
