//! [`Edge`]: an OpenAI endpoint over HTTP in front of a typed service. It takes `POST`
//! only, decodes the JSON body as the service's request type, calls the service, and writes
//! its reply ([`EdgeReply`]): JSON, or a stream of server-sent events. It never fails:
//! errors are responses in the OpenAI envelope.
//!
//! | endpoint | edge | request → reply |
//! |---|---|---|
//! | `/v1/chat/completions` | [`ChatEdge`] | [`ChatRequest`] → [`ChatResponse`] |
//! | `/v1/completions` | [`CompletionsEdge`] | [`CompletionRequest`] → [`CompletionResponse`] |
//! | `/v1/embeddings` | [`EmbeddingsEdge`] | [`EmbeddingRequest`] → [`EmbeddingResponse`] |
//! | `/v1/responses` | [`ResponsesEdge`] | [`CreateResponse`] → [`ResponsesReply`] (the stored-response routes are [`Responses`]' methods) |
//!
//! The HTTP request's extensions become the typed request's
//! [`context`](crate::RequestContext): an application's layer in front of the edge (auth,
//! tenant lookup) hands the stack what it found by inserting it there. The headers stay
//! here; they carry the client's credentials.

use std::marker::PhantomData;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::Body;
use serde::de::DeserializeOwned;
use tower_layer::Layer;
use tower_service::Service;

use super::body::{EdgeBody, error_response};
use super::decode::{EdgeFuture, accept, answer, with_notes};
use super::reply::EdgeReply;
use crate::context::Contextual;
use crate::error::Error;
#[cfg(doc)]
use crate::layers::responses::{Responses, ResponsesReply};
#[cfg(doc)]
use crate::openai::EmbeddingResponse;
use crate::openai::limits::{Bounded, RequestLimits};
use crate::openai::responses::CreateResponse;
use crate::openai::{ChatRequest, CompletionRequest, EmbeddingRequest};
#[cfg(doc)]
use crate::provider::{ChatResponse, CompletionResponse};

/// Largest request body accepted by default (inline images make requests big).
pub const DEFAULT_BODY_LIMIT: usize = 32 * 1024 * 1024;

/// `POST /v1/chat/completions`: JSON, or SSE for `stream: true`.
pub type ChatEdge<S> = Edge<S, ChatRequest>;
/// The layer of [`ChatEdge`].
pub type ChatEdgeLayer = EdgeLayer<ChatRequest>;
/// `POST /v1/completions` (legacy text completions): JSON, or SSE for `stream: true`.
pub type CompletionsEdge<S> = Edge<S, CompletionRequest>;
/// The layer of [`CompletionsEdge`].
pub type CompletionsEdgeLayer = EdgeLayer<CompletionRequest>;
/// `POST /v1/embeddings`.
pub type EmbeddingsEdge<S> = Edge<S, EmbeddingRequest>;
/// The layer of [`EmbeddingsEdge`].
pub type EmbeddingsEdgeLayer = EdgeLayer<EmbeddingRequest>;
/// `POST /v1/responses`: the `response` object as JSON, or its typed events as SSE for
/// `stream: true` (no `[DONE]`).
pub type ResponsesEdge<S> = Edge<S, CreateResponse>;
/// The layer of [`ResponsesEdge`].
pub type ResponsesEdgeLayer = EdgeLayer<CreateResponse>;

/// Puts an HTTP edge taking `Req` bodies in front of a service.
///
/// ```
/// use llm_tower::edge::{ChatEdgeLayer, RequestLimits};
///
/// let mut limits = RequestLimits::default();
/// limits.max_messages = 1_000;
/// let _layer = ChatEdgeLayer::new().body_limit(1024 * 1024).limits(limits);
/// ```
pub struct EdgeLayer<Req> {
    body_limit: usize,
    limits: RequestLimits,
    _request: PhantomData<fn(Req)>,
}

impl<Req> EdgeLayer<Req> {
    /// With [`DEFAULT_BODY_LIMIT`] and the default [`RequestLimits`].
    pub fn new() -> Self {
        Self {
            body_limit: DEFAULT_BODY_LIMIT,
            limits: RequestLimits::default(),
            _request: PhantomData,
        }
    }

    /// Refuses larger bodies with 413.
    pub fn body_limit(mut self, limit: usize) -> Self {
        self.body_limit = limit;
        self
    }

    /// Refuses requests that hold more than `limits` allow with 400.
    pub fn limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }
}

impl<Req> Default for EdgeLayer<Req> {
    fn default() -> Self {
        Self::new()
    }
}

impl<Req> Clone for EdgeLayer<Req> {
    fn clone(&self) -> Self {
        *self
    }
}

impl<Req> Copy for EdgeLayer<Req> {}

impl<Req> std::fmt::Debug for EdgeLayer<Req> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EdgeLayer")
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl<S, Req> Layer<S> for EdgeLayer<Req> {
    type Service = Edge<S, Req>;

    fn layer(&self, inner: S) -> Self::Service {
        Edge {
            inner,
            body_limit: self.body_limit,
            limits: self.limits,
            _request: PhantomData,
        }
    }
}

/// The service of [`EdgeLayer`]: `http::Request` with an OpenAI body in, `http::Response`
/// out.
///
/// ```
/// use llm_tower::edge::ChatEdge;
/// use llm_tower::{ChatResponse, ChatService, Error};
///
/// let chat = ChatService::new(tower::service_fn(|_| async {
///     Err::<ChatResponse, _>(Error::invalid_request("offline"))
/// }));
/// let _edge = ChatEdge::new(chat); // a tower Service<http::Request<B>>
/// ```
pub struct Edge<S, Req> {
    inner: S,
    body_limit: usize,
    limits: RequestLimits,
    _request: PhantomData<fn(Req)>,
}

impl<S, Req> Edge<S, Req> {
    /// Wraps `inner`.
    pub fn new(inner: S) -> Self {
        EdgeLayer::new().layer(inner)
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

impl<S: Clone, Req> Clone for Edge<S, Req> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
            body_limit: self.body_limit,
            limits: self.limits,
            _request: PhantomData,
        }
    }
}

impl<S: std::fmt::Debug, Req> std::fmt::Debug for Edge<S, Req> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Edge")
            .field("inner", &self.inner)
            .field("body_limit", &self.body_limit)
            .finish()
    }
}

impl<S, Req, B> Service<http::Request<B>> for Edge<S, Req>
where
    S: Service<Req, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: EdgeReply,
    Req: DeserializeOwned + Bounded + Contextual + Send + 'static,
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
        let mut inner = self.inner.clone();
        let (limit, limits) = (self.body_limit, self.limits);
        answer(
            async move {
                let decoded = accept(&mut inner, request, limit, &limits).await?;
                with_notes(decoded, |decoded| {
                    // Called here, so the future does not keep the request beside the call.
                    let called = inner.call(decoded);
                    async move { called.await?.into_http().await }
                })
                .await
            },
            error_response,
        )
    }
}
