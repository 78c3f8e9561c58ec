//! [`ClientCredentialsLayer`]: refuses `api_key` and `api_base` in request bodies unless
//! the config allows client-side credentials (LiteLLM's
//! `general_settings.allow_client_side_credentials`). Without this guard a client could
//! point the proxy at any host it likes.

use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Error;
use crate::openai::ChatRequest;

/// Request keys that carry client-side credentials.
const CREDENTIAL_KEYS: &[&str] = &["api_key", "api_base"];

/// Refuses client-side credentials.
///
/// ```
/// use llm_tower::proxy::credentials::ClientCredentialsLayer;
/// let _layer = ClientCredentialsLayer::new(false);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct ClientCredentialsLayer {
    allowed: bool,
}

impl ClientCredentialsLayer {
    /// `allowed: false` refuses them.
    pub fn new(allowed: bool) -> Self {
        Self { allowed }
    }
}

impl<S> Layer<S> for ClientCredentialsLayer {
    type Service = ClientCredentials<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ClientCredentials {
            inner,
            allowed: self.allowed,
        }
    }
}

/// The service of [`ClientCredentialsLayer`].
#[derive(Clone, Debug)]
pub struct ClientCredentials<S> {
    inner: S,
    allowed: bool,
}

impl<S> ClientCredentials<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, R> Service<ChatRequest> for ClientCredentials<S>
where
    S: Service<ChatRequest, Response = R, Error = Error>,
{
    type Response = R;
    type Error = Error;
    type Future = ClientCredentialsFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: ChatRequest) -> Self::Future {
        let refused = (!self.allowed)
            .then(|| {
                CREDENTIAL_KEYS
                    .iter()
                    .find(|key| request.extra.contains_key(**key))
            })
            .flatten();
        match refused {
            Some(key) => ClientCredentialsFuture::Refused {
                error: Some(Error::invalid_param(
                    *key,
                    format!(
                        "{key} may not be set in requests to this proxy (general_settings.allow_client_side_credentials is off)"
                    ),
                )),
            },
            None => ClientCredentialsFuture::Called {
                inner: self.inner.call(request),
            },
        }
    }
}

pin_project! {
    /// Future of [`ClientCredentials`].
    #[project = ClientCredentialsFutureProj]
    pub enum ClientCredentialsFuture<F> {
        /// Passed on.
        Called { #[pin] inner: F },
        /// Refused.
        Refused { error: Option<Error> },
    }
}

impl<F, R> Future for ClientCredentialsFuture<F>
where
    F: Future<Output = Result<R, Error>>,
{
    type Output = Result<R, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ClientCredentialsFutureProj::Called { inner } => inner.poll(cx),
            ClientCredentialsFutureProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| Error::invalid_request("polled after completion")))),
        }
    }
}
