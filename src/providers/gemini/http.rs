//! [`GeminiHttpLayer`]: turns a [`Call`] into an HTTP request to
//! `{api_base}/models/{model}:{method}` and the HTTP reply into a [`Reply`].
//!
//! JSON replies are read (up to a size cap) and decoded into typed structs; a
//! `text/event-stream` reply is handed on undecoded ([`Reply::EventBody`]) for the SSE
//! adapter. Error statuses become [`Error::Upstream`] with Google's message, its status
//! name and the retry delay (`Retry-After` or `RetryInfo`). An error body that is not
//! Google's JSON keeps a short preview as the message: an HTML page from a load balancer
//! its readable text, anything else its first line.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::SystemTime;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use http_body::Body;
use http_body_util::Full;
use tower::BoxError;
use tower_layer::Layer;
use tower_service::Service;

use super::call::{Call, Method, Reply};
use super::error::{Error, InvalidCall, MalformedReply};
use super::wire::{Content, CountTokensRequest, ErrorBody, Tool};
use crate::layers::refusable::{Refusable, Unchanged};
use crate::providers::BoxCall;
use crate::providers::vertex::predict::{PredictRequest, PredictResponse};
use crate::upstream::Secret;
use crate::upstream::body::into_upstream_body;
use crate::upstream::preview::preview;
use crate::upstream::reply::{MAX_REPLY_BYTES, read_body, read_error_body};
use crate::upstream::retry::parse_retry_after;

/// Google's public endpoint.
pub const DEFAULT_API_BASE: &str = "https://generativelanguage.googleapis.com/v1beta";

/// Builds Gemini HTTP requests against a base URL.
///
/// ```
/// use llm_tower::gemini::GeminiHttpLayer;
/// let layer = GeminiHttpLayer::new("http://127.0.0.1:8080/v1beta");
/// assert_eq!(layer.api_base(), "http://127.0.0.1:8080/v1beta");
/// ```
#[derive(Clone, Debug)]
pub struct GeminiHttpLayer {
    api_base: Arc<str>,
    models_parent: &'static str,
}

impl GeminiHttpLayer {
    /// Sends calls to `api_base` (e.g. `https://generativelanguage.googleapis.com/v1beta`).
    pub fn new(api_base: impl AsRef<str>) -> Self {
        Self {
            api_base: api_base.as_ref().trim_end_matches('/').into(),
            models_parent: "",
        }
    }

    /// Puts model paths under `parent` (e.g. `publishers/google/`, Vertex AI's), between
    /// the base and `models/{model}:{method}`; other paths (`cachedContents`) stay under
    /// the base. With a parent, the calls whose bodies differ on Vertex AI take its shape:
    /// embeddings go to `:predict`, `countTokens` has the request at the top level.
    pub(crate) fn models_parent(mut self, parent: &'static str) -> Self {
        self.models_parent = parent;
        self
    }

    /// The base URL.
    pub fn api_base(&self) -> &str {
        &self.api_base
    }
}

impl<S> Layer<S> for GeminiHttpLayer {
    type Service = GeminiHttp<S>;

    fn layer(&self, inner: S) -> Self::Service {
        GeminiHttp {
            inner,
            api_base: self.api_base.clone(),
            models_parent: self.models_parent,
        }
    }
}

/// The service of [`GeminiHttpLayer`].
#[derive(Clone, Debug)]
pub struct GeminiHttp<S> {
    inner: S,
    api_base: Arc<str>,
    models_parent: &'static str,
}

impl<S> GeminiHttp<S> {
    /// Wraps `inner`, an HTTP client service.
    pub fn new(inner: S, api_base: impl AsRef<str>) -> Self {
        GeminiHttpLayer::new(api_base).layer(inner)
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

impl<S, B> Service<Call> for GeminiHttp<S>
where
    S: Service<http::Request<Full<Bytes>>, Response = http::Response<B>> + Clone + Send + 'static,
    S::Error: Into<BoxError>,
    S::Future: Send,
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    type Response = Reply;
    type Error = Error;
    type Future = GeminiHttpFuture;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|error| Error::from(error.into()))
    }

    fn call(&mut self, call: Call) -> Self::Future {
        let (request, kind) = match build_request(&self.api_base, self.models_parent, call) {
            Ok(built) => built,
            Err(error) => return Refusable::refused(error),
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Refusable::called(
            Box::pin(async move {
                let response = inner
                    .call(request)
                    .await
                    .map_err(|error| Error::from(error.into()))?;
                read_reply(response, kind).await
            }),
            Unchanged,
        )
    }
}

/// The future of [`GeminiHttp`].
pub type GeminiHttpFuture = Refusable<BoxCall<Reply, Error>, Unchanged, Error>;

/// What the body of a successful reply is.
#[derive(Clone, Copy)]
enum ReplyKind {
    Generate,
    EventStream,
    Embeddings,
    /// Vertex AI's `:predict` reply, read as a `batchEmbedContents` one.
    Predictions,
    CachedContent,
    CachedContents,
    TokenCount,
}

fn build_request(
    api_base: &str,
    models_parent: &str,
    call: Call,
) -> Result<(http::Request<Full<Bytes>>, ReplyKind), Error> {
    let base = call
        .options
        .api_base
        .as_deref()
        .unwrap_or(api_base)
        .trim_end_matches('/');
    // Vertex AI embeds with `:predict` (see `crate::vertex::predict`).
    let vertex = !models_parent.is_empty();
    let path = match &call.method {
        Method::BatchEmbed(_) if vertex => format!("models/{}:predict", call.model),
        _ => call.path(),
    };
    let parent = if path.starts_with("models/") {
        models_parent
    } else {
        ""
    };
    // A Vertex AI cache's name is a full resource name (`projects/{number}/locations/…`):
    // it goes under the host's version, not under the project's base.
    let uri = match path.strip_prefix("projects/") {
        Some(_) if vertex => match base.rfind("/projects/") {
            Some(root) => format!("{}/{path}", &base[..root]),
            None => format!("{base}/{path}"),
        },
        _ => format!("{base}/{parent}{path}"),
    };
    let (body, kind) = match &call.method {
        Method::Generate(body) => (serde_json::to_vec(body), ReplyKind::Generate),
        Method::StreamGenerate(body) => (serde_json::to_vec(body), ReplyKind::EventStream),
        Method::BatchEmbed(body) if vertex => (
            serde_json::to_vec(&PredictRequest::from(body)),
            ReplyKind::Predictions,
        ),
        Method::BatchEmbed(body) => (serde_json::to_vec(body), ReplyKind::Embeddings),
        Method::CreateCachedContent(body) => (serde_json::to_vec(body), ReplyKind::CachedContent),
        Method::ListCachedContents { .. } => (Ok(Vec::new()), ReplyKind::CachedContents),
        Method::UpdateCachedContent(body) => (serde_json::to_vec(body), ReplyKind::CachedContent),
        // Vertex AI's `countTokens` takes the request's parts at the top level.
        Method::CountTokens(body) if vertex => (
            serde_json::to_vec(&VertexCountTokens::from(body)),
            ReplyKind::TokenCount,
        ),
        Method::CountTokens(body) => (serde_json::to_vec(body), ReplyKind::TokenCount),
    };
    let body = body.map_err(|error| Error::InvalidCall(InvalidCall::Encode(error)))?;
    let builder = match &call.method {
        Method::ListCachedContents { .. } => http::Request::get(uri),
        Method::UpdateCachedContent(_) => http::Request::patch(uri)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json")),
        _ => http::Request::post(uri)
            .header(CONTENT_TYPE, HeaderValue::from_static("application/json")),
    };
    let mut request = builder
        .body(Full::new(Bytes::from(body)))
        .map_err(|error| {
            // The base may carry credentials; name it only without them.
            Error::InvalidCall(InvalidCall::Url {
                base: crate::upstream::redact_url(base),
                source: error,
            })
        })?;
    // The client's extensions go on to the HTTP level; the key is the call's own, never
    // one that came in with them.
    let mut extensions = call.context.into_extensions();
    extensions.remove::<Secret>();
    if let Some(key) = call.options.api_key {
        extensions.insert(key);
    }
    *request.extensions_mut() = extensions;
    Ok((request, kind))
}

/// Vertex AI's `countTokens` body: what AI Studio nests under `generateContentRequest`,
/// at the top level (Vertex's `CountTokensRequest` has no `model` in the body to match
/// and no `toolConfig`).
#[derive(serde::Serialize)]
#[serde(rename_all = "camelCase")]
struct VertexCountTokens<'a> {
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    contents: &'a [Content],
    #[serde(skip_serializing_if = "Option::is_none")]
    system_instruction: Option<&'a Content>,
    #[serde(skip_serializing_if = "<[_]>::is_empty")]
    tools: &'a [Tool],
}

impl<'a> From<&'a CountTokensRequest> for VertexCountTokens<'a> {
    fn from(body: &'a CountTokensRequest) -> Self {
        let request = &body.generate_content_request;
        Self {
            contents: &request.contents,
            system_instruction: request.system_instruction.as_ref(),
            tools: &request.tools,
        }
    }
}

async fn read_reply<B>(response: http::Response<B>, kind: ReplyKind) -> Result<Reply, Error>
where
    B: Body<Data = Bytes> + Send + 'static,
    B::Error: Into<BoxError>,
{
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        let bytes = read_error_body(body).await;
        return Err(upstream_error(parts.status, &parts.headers, &bytes));
    }
    Ok(match kind {
        ReplyKind::EventStream => Reply::EventBody(into_upstream_body(body)),
        ReplyKind::Generate => Reply::Generate(read_json(body).await?),
        ReplyKind::Embeddings => Reply::Embeddings(read_json(body).await?),
        ReplyKind::Predictions => {
            Reply::Embeddings(read_json::<PredictResponse, _>(body).await?.into())
        }
        ReplyKind::CachedContent => Reply::CachedContent(read_json(body).await?),
        ReplyKind::CachedContents => Reply::CachedContents(read_json(body).await?),
        ReplyKind::TokenCount => Reply::TokenCount(read_json(body).await?),
    })
}

/// Reads a whole JSON reply body as `T`; a body that is not one is a [`Error::Decode`]
/// quoting its start.
async fn read_json<T, B>(body: B) -> Result<T, Error>
where
    T: serde::de::DeserializeOwned,
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let bytes = read_body(body, MAX_REPLY_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|error| {
        Error::Decode(MalformedReply::Json {
            source: error,
            preview: preview(&bytes),
        })
    })
}

/// The `RetryInfo.retryDelay` of a Google error body, for the retry.
pub(crate) fn retry_info_delay(body: &[u8]) -> Option<std::time::Duration> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()?
        .error
        .retry_delay()
}

/// An error status and body → [`Error::Upstream`].
pub(crate) fn upstream_error(status: StatusCode, headers: &http::HeaderMap, body: &[u8]) -> Error {
    let google = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|body| body.error);
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()))
        .or_else(|| google.as_ref().and_then(|google| google.retry_delay()));
    let message = match &google {
        Some(google) if !google.message.is_empty() => google.message.clone(),
        _ => preview(body),
    };
    Error::Upstream {
        status,
        google,
        message,
        retry_after,
    }
}
