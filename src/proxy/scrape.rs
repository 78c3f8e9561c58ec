//! [`MetricsRoute`]: `GET /metrics`, the [`Metrics`] registry for Prometheus' scraper, in
//! front of the proxy (or of [`NotFound`] on a listener of its own, `--metrics-port`). It
//! asks for the master key unless made public (`--metrics-public`).

use std::convert::Infallible;
use std::future::{Ready, ready};
use std::sync::Arc;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_util::future::Either;
use http::header::CONTENT_TYPE;
use http::{HeaderValue, Method};
use http_body_util::{BodyExt, Full};
use tower_service::Service;

use super::auth::MasterKey;
use super::metrics::Metrics;
use crate::edge::{EdgeBody, error_response};
use crate::error::{Error, ErrorKind};

/// The content type of the OpenMetrics text `prometheus-client` writes.
const OPENMETRICS: &str = "application/openmetrics-text; version=1.0.0; charset=utf-8";

/// Serves `GET /metrics`, passes every other request to `inner`.
///
/// ```
/// use std::sync::Arc;
/// use llm_tower::proxy::{auth::MasterKey, config::Config, metrics::Metrics};
/// use llm_tower::proxy::scrape::{MetricsRoute, NotFound};
///
/// let metrics = Arc::new(Metrics::new(&Config::default_gemini()));
/// // Its own listener, no key asked.
/// let _route = MetricsRoute::new(NotFound, metrics, MasterKey::new(None));
/// ```
#[derive(Clone, Debug)]
pub struct MetricsRoute<S> {
    inner: S,
    metrics: Arc<Metrics>,
    door: MasterKey,
}

impl<S> MetricsRoute<S> {
    /// `door` is the master key asked for (`MasterKey::new(None)`: public).
    pub fn new(inner: S, metrics: Arc<Metrics>, door: MasterKey) -> Self {
        Self {
            inner,
            metrics,
            door,
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

    fn answer<B>(&self, request: &http::Request<B>) -> http::Response<EdgeBody> {
        if request.method() != Method::GET && request.method() != Method::HEAD {
            return error_response(&Error::new(
                ErrorKind::MethodNotAllowed,
                "/metrics answers GET",
            ));
        }
        if !self.door.admits(request.headers(), None, false) {
            return error_response(&Error::new(
                ErrorKind::Authentication,
                "Authentication Error: /metrics needs the master key (or --metrics-public)",
            ));
        }
        let body = Full::new(Bytes::from(self.metrics.encode()))
            .map_err(|never| match never {})
            .boxed_unsync();
        let mut response = http::Response::new(body);
        response
            .headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(OPENMETRICS));
        response
    }
}

impl<S, B> Service<http::Request<B>> for MetricsRoute<S>
where
    S: Service<http::Request<B>, Response = http::Response<EdgeBody>, Error = Infallible>,
{
    type Response = http::Response<EdgeBody>;
    type Error = Infallible;
    type Future = Either<Ready<Result<http::Response<EdgeBody>, Infallible>>, S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        if request.uri().path() == "/metrics" {
            Either::Left(ready(Ok(self.answer(&request))))
        } else {
            Either::Right(self.inner.call(request))
        }
    }
}

/// Answers every request with the proxy's 404: the rest of a metrics-only listener.
#[derive(Clone, Copy, Debug, Default)]
pub struct NotFound;

impl<B> Service<http::Request<B>> for NotFound {
    type Response = http::Response<EdgeBody>;
    type Error = Infallible;
    type Future = Ready<Result<http::Response<EdgeBody>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        ready(Ok(error_response(&Error::new(
            ErrorKind::NotFound,
            format!("no route for {} {}", request.method(), request.uri().path()),
        ))))
    }
}
