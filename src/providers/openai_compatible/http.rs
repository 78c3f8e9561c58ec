//! [`OpenAiCompatibleHttpLayer`]: sends chat and embeddings requests to an OpenAI-compatible server
//! and reads its replies.
//!
//! A request goes to `{api_base}/chat/completions` or `{api_base}/embeddings` as the JSON
//! [`request`](super::request) makes of it, with the key as `Authorization: Bearer …` (never
//! in the URL; no header at all without a key, for local servers that take none). A JSON
//! reply is read (up to [`MAX_REPLY_BYTES`]) into the typed
//! [`ChatCompletion`] or [`EmbeddingResponse`]; a `text/event-stream` reply becomes a
//! stream of chunks ([`ChunkEvents`]), with the [event timeout](OpenAiCompatibleHttpLayer::event_timeout)
//! if one is set. An error status becomes an [`Error`] as
//! [`error`](super::error) describes.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::HeaderValue;
use http::header::{AUTHORIZATION, CONTENT_TYPE, HeaderName};
use http_body::Body;
use http_body_util::Full;
use serde::de::DeserializeOwned;
use tower::BoxError;
use tower_layer::Layer;
use tower_service::Service;

use super::error::upstream_error;
use super::price::priced;
use super::request::{Options, Prepared, chat_body, embeddings_body};
use super::stream::ChunkEvents;
use crate::error::{Error, ErrorKind};
use crate::layers::refusable::{Refusable, Unchanged};
use crate::openai::{ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse};
use crate::pricing::ModelPrice;
use crate::provider::ChatResponse;
use crate::providers::BoxCall;
use crate::upstream::preview::preview;
use crate::upstream::reply::{MAX_REPLY_BYTES, read_body, read_error_body};
use crate::upstream::{Secret, redact_url};

/// OpenAI's header naming the organization a request is billed to.
const ORGANIZATION: HeaderName = HeaderName::from_static("openai-organization");

/// Where and how requests are sent.
#[derive(Clone, Debug)]
struct Endpoint {
    api_base: String,
    api_key: Option<Secret>,
    /// Sent as `OpenAI-Organization` with the configured key (not with a client's own).
    organization: Option<HeaderValue>,
    options: Options,
    /// The deployment's own price, over the upstream's `usage.cost`.
    price: Option<ModelPrice>,
}

/// Sends OpenAI requests to an OpenAI-compatible server.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::providers::openai_compatible::OpenAiCompatibleHttpLayer;
/// let layer = OpenAiCompatibleHttpLayer::new("http://127.0.0.1:8000/v1", None)
///     .event_timeout(Duration::from_secs(120));
/// assert_eq!(layer.api_base(), "http://127.0.0.1:8000/v1");
/// ```
#[derive(Clone, Debug)]
pub struct OpenAiCompatibleHttpLayer {
    endpoint: Arc<Endpoint>,
    event_timeout: Option<Duration>,
}

impl OpenAiCompatibleHttpLayer {
    /// Sends requests to `api_base` (e.g. `https://api.openai.com/v1`) with `api_key`, if
    /// any; unsupported params are refused and client credentials too.
    pub fn new(api_base: impl AsRef<str>, api_key: Option<Secret>) -> Self {
        Self::with_options(api_base, api_key, Options::default())
    }

    pub(crate) fn with_options(
        api_base: impl AsRef<str>,
        api_key: Option<Secret>,
        options: Options,
    ) -> Self {
        Self {
            endpoint: Arc::new(Endpoint {
                api_base: api_base.as_ref().trim_end_matches('/').to_owned(),
                api_key,
                organization: None,
                options,
                price: None,
            }),
            event_timeout: None,
        }
    }

    /// Fails a stream that sends no event for `timeout` with a 504 (bytes that are not
    /// events, such as `: ping` comments, do not count); without it, only the transport's
    /// limits apply.
    pub fn event_timeout(mut self, timeout: Duration) -> Self {
        self.event_timeout = Some(timeout);
        self
    }

    /// Sends `organization` as the `OpenAI-Organization` header with the configured key
    /// (LiteLLM's `organization` param); a request carrying its client's own key goes
    /// without it.
    ///
    /// ```
    /// use http::HeaderValue;
    /// use llm_tower::providers::openai_compatible::OpenAiCompatibleHttpLayer;
    /// let layer = OpenAiCompatibleHttpLayer::new("https://api.openai.com/v1", None)
    ///     .organization(HeaderValue::from_static("org-123"));
    /// # let _ = layer;
    /// ```
    pub fn organization(mut self, organization: HeaderValue) -> Self {
        Arc::make_mut(&mut self.endpoint).organization = Some(organization);
        self
    }

    /// Prices chat replies with `price`: `usage.cost` of a reply (and of a stream's usage
    /// chunk) is computed from it, whatever the upstream reported.
    ///
    /// ```
    /// use llm_tower::pricing::ModelPrice;
    /// use llm_tower::providers::openai_compatible::OpenAiCompatibleHttpLayer;
    ///
    /// let price = ModelPrice { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6, ..Default::default() };
    /// let layer = OpenAiCompatibleHttpLayer::new("http://127.0.0.1:8000/v1", None).price(price);
    /// # let _ = layer;
    /// ```
    pub fn price(mut self, price: ModelPrice) -> Self {
        Arc::make_mut(&mut self.endpoint).price = Some(price);
        self
    }

    /// The base URL.
    pub fn api_base(&self) -> &str {
        &self.endpoint.api_base
    }
}

impl<S> Layer<S> for OpenAiCompatibleHttpLayer {
    type Service = OpenAiCompatibleHttp<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OpenAiCompatibleHttp {
            inner,
            endpoint: self.endpoint.clone(),
            event_timeout: self.event_timeout,
        }
    }
}

/// The service of [`OpenAiCompatibleHttpLayer`]: a chat and an embeddings service over an HTTP client
/// service.
#[derive(Clone, Debug)]
pub struct OpenAiCompatibleHttp<S> {
    inner: S,
    endpoint: Arc<Endpoint>,
    event_timeout: Option<Duration>,
}

impl<S> OpenAiCompatibleHttp<S> {
    /// Wraps `inner`, an HTTP client service, without an event timeout.
    pub fn new(inner: S, api_base: impl AsRef<str>, api_key: Option<Secret>) -> Self {
        OpenAiCompatibleHttpLayer::new(api_base, api_key).layer(inner)
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

    /// The request to `path` with `prepared`'s body and the right key, and that key (to
    /// redact from the upstream's error text).
    fn request(
        &self,
        path: &str,
        prepared: Prepared,
    ) -> Result<(http::Request<Full<Bytes>>, Option<Secret>), Error> {
        let endpoint = &self.endpoint;
        let (base, key) = match &prepared.credentials {
            Some(own) => (
                own.api_base
                    .as_deref()
                    .map_or(endpoint.api_base.as_str(), |base| {
                        base.trim_end_matches('/')
                    }),
                Some(&own.api_key),
            ),
            None => (endpoint.api_base.as_str(), endpoint.api_key.as_ref()),
        };
        let mut request = http::Request::post(format!("{base}/{path}"))
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
            .body(Full::new(Bytes::from(prepared.body)))
            .map_err(|error| {
                // The base may carry credentials; name it only without them.
                Error::invalid_request(format!(
                    "invalid upstream URL under {}: {error}",
                    redact_url(base)
                ))
            })?;
        if let Some(key) = key {
            let value = key.bearer_header_value().ok_or_else(|| {
                Error::new(
                    ErrorKind::Authentication,
                    "the API key is not a valid HTTP header value",
                )
            })?;
            request.headers_mut().insert(AUTHORIZATION, value);
        }
        if let (None, Some(organization)) = (&prepared.credentials, &endpoint.organization) {
            request
                .headers_mut()
                .insert(ORGANIZATION, organization.clone());
        }
        *request.extensions_mut() = prepared.extensions;
        Ok((request, key.cloned()))
    }

    /// Sends `request` on a ready clone of the inner service (the clone-then-swap of
    /// tower-service's docs).
    fn send<B>(
        &mut self,
        request: http::Request<Full<Bytes>>,
    ) -> impl Future<Output = Result<http::Response<B>, Error>> + Send + 'static
    where
        S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>>
            + Clone
            + Send
            + 'static,
        S::Future: Send,
        S::Error: Into<BoxError>,
    {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        async move {
            inner
                .call(request)
                .await
                .map_err(|error| Error::from(error.into()))
        }
    }
}

/// The future of [`OpenAiCompatibleHttp`] for replies of type `T`.
pub type OpenAiCompatibleFuture<T> = Refusable<BoxCall<T, Error>, Unchanged, Error>;

impl<S, B> Service<ChatRequest> for OpenAiCompatibleHttp<S>
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = ChatResponse;
    type Error = Error;
    type Future = OpenAiCompatibleFuture<ChatResponse>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|error| Error::from(error.into()))
    }

    fn call(&mut self, request: ChatRequest) -> Self::Future {
        let prepared = match chat_body(request, self.endpoint.options) {
            Ok(prepared) => prepared,
            Err(error) => return Refusable::refused(error),
        };
        let stream = prepared.stream;
        let (request, key) = match self.request("chat/completions", prepared) {
            Ok(request) => request,
            Err(error) => return Refusable::refused(error),
        };
        let sent = self.send(request);
        let event_timeout = self.event_timeout;
        let price = self.endpoint.price;
        Refusable::called(
            Box::pin(async move {
                let (status, body) = success(sent.await?, key.as_ref()).await?;
                let response = if !stream {
                    ChatResponse::Completion(read_json::<ChatCompletion, _>(body).await?)
                } else {
                    match status {
                        Reply::EventStream => {
                            let chunks = ChunkEvents::new(body).redacting(key);
                            ChatResponse::Stream(Box::pin(match event_timeout {
                                Some(limit) => chunks.with_event_timeout(limit),
                                None => chunks,
                            }))
                        }
                        Reply::Other(content_type) => {
                            return Err(Error::new(
                                ErrorKind::BadGateway,
                                format!(
                                    "a stream was asked for, but the upstream answered with {content_type}"
                                ),
                            ));
                        }
                    }
                };
                Ok(match price {
                    Some(price) => priced(response, price),
                    None => response,
                })
            }),
            Unchanged,
        )
    }
}

impl<S, B> Service<EmbeddingRequest> for OpenAiCompatibleHttp<S>
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Future: Send,
    S::Error: Into<BoxError>,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = EmbeddingResponse;
    type Error = Error;
    type Future = OpenAiCompatibleFuture<EmbeddingResponse>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|error| Error::from(error.into()))
    }

    fn call(&mut self, request: EmbeddingRequest) -> Self::Future {
        let request = embeddings_body(request, self.endpoint.options)
            .and_then(|prepared| self.request("embeddings", prepared));
        let (request, key) = match request {
            Ok(request) => request,
            Err(error) => return Refusable::refused(error),
        };
        let sent = self.send(request);
        Refusable::called(
            Box::pin(async move {
                let (_, body) = success(sent.await?, key.as_ref()).await?;
                read_json(body).await
            }),
            Unchanged,
        )
    }
}

/// What a successful reply's body is.
enum Reply {
    EventStream,
    /// Its content type, for messages.
    Other(String),
}

/// The body of a successful reply and what it is; an error status is an [`Error`] read
/// from the body, without `key`.
async fn success<B>(response: http::Response<B>, key: Option<&Secret>) -> Result<(Reply, B), Error>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        let bytes = read_error_body(body).await;
        return Err(upstream_error(parts.status, &parts.headers, &bytes, key));
    }
    let content_type = parts
        .headers
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .unwrap_or("no content type");
    let reply = if content_type.starts_with("text/event-stream") {
        Reply::EventStream
    } else {
        Reply::Other(content_type.to_owned())
    };
    Ok((reply, body))
}

/// Reads a whole JSON reply as `T`; a body that is not one is a 502 quoting its start.
async fn read_json<T: DeserializeOwned, B>(body: B) -> Result<T, Error>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let bytes = read_body(body, MAX_REPLY_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|error| {
        Error::new(
            ErrorKind::BadGateway,
            format!(
                "malformed reply from the upstream: {error} in {}",
                preview(&bytes)
            ),
        )
    })
}
