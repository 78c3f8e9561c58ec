//! [`EmbeddingsEdge`]: `POST /v1/embeddings` over any embeddings service.

use std::task::{Context, Poll};

use bytes::Bytes;
use http::StatusCode;
use http_body::Body;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{EdgeBody, json_response};
use super::chat::DEFAULT_BODY_LIMIT;
use super::decode::{EdgeFuture, accept, answer};
use crate::error::Error;
use crate::openai::{EmbeddingRequest, EmbeddingResponse};

/// Puts an HTTP edge in front of an embeddings service.
///
/// ```
/// use llm_tower::edge::EmbeddingsEdgeLayer;
/// let _layer = EmbeddingsEdgeLayer::new().body_limit(1024 * 1024);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct EmbeddingsEdgeLayer {
    body_limit: usize,
}

impl EmbeddingsEdgeLayer {
    /// With [`DEFAULT_BODY_LIMIT`].
    pub fn new() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
        }
    }

    /// Refuses larger bodies with 413.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }
}

impl Default for EmbeddingsEdgeLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for EmbeddingsEdgeLayer {
    type Service = EmbeddingsEdge<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EmbeddingsEdge {
            inner,
            body_limit: self.body_limit,
        }
    }
}

/// The service of [`EmbeddingsEdgeLayer`]: `http::Request` with an OpenAI embeddings body
/// in, `http::Response` with the JSON reply out. It never fails: errors are responses.
#[derive(Clone, Debug)]
pub struct EmbeddingsEdge<S> {
    inner: S,
    body_limit: usize,
}

impl<S> EmbeddingsEdge<S> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        EmbeddingsEdgeLayer::new().layer(inner)
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

impl<S, B> Service<http::Request<B>> for EmbeddingsEdge<S>
where
    S: Service<EmbeddingRequest, Response = EmbeddingResponse, Error = Error>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Response = http::Response<EdgeBody>;
    type Error = std::convert::Infallible;
    type Future = EdgeFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<B>) -> EdgeFuture {
        answer(serve(self.inner.clone(), request, self.body_limit))
    }
}

async fn serve<S, B>(
    mut inner: S,
    request: http::Request<B>,
    limit: usize,
) -> Result<http::Response<EdgeBody>, Error>
where
    S: Service<EmbeddingRequest, Response = EmbeddingResponse, Error = Error>,
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let embeddings = accept(&mut inner, request, limit).await?;
    let response = inner.call(embeddings).await?;
    Ok(json_response(StatusCode::OK, &response))
}
