//! [`GeminiHttpLayer`]: turns a [`Call`] into an HTTP request to
//! `{api_base}/models/{model}:{method}` and the HTTP reply into a [`Reply`].
//!
//! JSON replies are read (up to a size cap) and decoded into typed structs; a
//! `text/event-stream` reply is handed on undecoded ([`Reply::EventBody`]) for the SSE
//! adapter. Error statuses become [`Error::Upstream`] with Google's message, its status
//! name and the retry delay (`Retry-After` or `RetryInfo`). An error body that is not
//! Google's JSON (an HTML page from a load balancer) keeps its first line as the message.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use http_body_util::BodyExt;
use tower_layer::Layer;
use tower_service::Service;

use super::auth::ApiKey;
use super::call::{Call, Method, Reply, UpstreamBody};
use super::error::Error;
use super::wire::{ErrorBody, GenerateContentResponse};

/// Google's public endpoint.
pub const DEFAULT_API_BASE: &str = "https://generativelanguage.googleapis.com/v1beta";

/// Largest JSON reply read into memory (generated images are inline base64).
pub const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

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
}

impl GeminiHttpLayer {
    /// Sends calls to `api_base` (e.g. `https://generativelanguage.googleapis.com/v1beta`).
    pub fn new(api_base: impl AsRef<str>) -> Self {
        Self {
            api_base: api_base.as_ref().trim_end_matches('/').into(),
        }
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
        }
    }
}

/// The service of [`GeminiHttpLayer`].
#[derive(Clone, Debug)]
pub struct GeminiHttp<S> {
    inner: S,
    api_base: Arc<str>,
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

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<Call> for GeminiHttp<S>
where
    S: Service<http::Request<Bytes>, Response = http::Response<UpstreamBody>, Error = Error>
        + Clone
        + Send
        + 'static,
    S::Future: Send,
{
    type Response = Reply;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Reply, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, call: Call) -> Self::Future {
        let request = build_request(&self.api_base, call);
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (request, streaming) = request?;
            let response = inner.call(request).await?;
            read_reply(response, streaming).await
        })
    }
}

fn build_request(api_base: &str, call: Call) -> Result<(http::Request<Bytes>, bool), Error> {
    let base = call
        .options
        .api_base
        .as_deref()
        .unwrap_or(api_base)
        .trim_end_matches('/');
    let uri = format!("{base}/{}", call.path());
    let (body, streaming) = match &call.method {
        Method::Generate(body) => (serde_json::to_vec(body), false),
        Method::StreamGenerate(body) => (serde_json::to_vec(body), true),
    };
    let body =
        body.map_err(|error| Error::InvalidCall(format!("cannot encode request: {error}")))?;
    let mut request = http::Request::post(uri)
        .header(CONTENT_TYPE, HeaderValue::from_static("application/json"))
        .body(Bytes::from(body))
        .map_err(|error| Error::InvalidCall(format!("invalid Gemini URL under {base}: {error}")))?;
    if let Some(key) = call.options.api_key {
        request.extensions_mut().insert(ApiKey::new(key));
    }
    Ok((request, streaming))
}

async fn read_reply(
    response: http::Response<UpstreamBody>,
    streaming: bool,
) -> Result<Reply, Error> {
    let (parts, body) = response.into_parts();
    if !parts.status.is_success() {
        let bytes = read_body(body).await.unwrap_or_default();
        return Err(upstream_error(parts.status, &parts.headers, &bytes));
    }
    if streaming {
        return Ok(Reply::EventBody(body));
    }
    let bytes = read_body(body).await?;
    let reply: GenerateContentResponse = serde_json::from_slice(&bytes)
        .map_err(|error| Error::Decode(format!("{error} in {}", preview(&bytes))))?;
    Ok(Reply::Generate(reply))
}

/// Reads a whole reply body, refusing more than [`MAX_REPLY_BYTES`].
async fn read_body(mut body: UpstreamBody) -> Result<Bytes, Error> {
    let mut buffer = bytes::BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame
            .map_err(|error| Error::Transport(format!("reading the reply failed: {error}")))?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > MAX_REPLY_BYTES {
                return Err(Error::Decode(format!(
                    "reply larger than {MAX_REPLY_BYTES} bytes"
                )));
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer.freeze())
}

/// An error status and body → [`Error::Upstream`].
pub fn upstream_error(status: StatusCode, headers: &http::HeaderMap, body: &[u8]) -> Error {
    let google = serde_json::from_slice::<ErrorBody>(body)
        .ok()
        .map(|body| body.error);
    let retry_after = headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| value.trim().parse::<u64>().ok())
        .map(Duration::from_secs)
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

/// The start of a body, for messages: its first non-empty text line, at most 200 bytes.
fn preview(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let line = text
        .lines()
        .map(str::trim)
        .find(|line| !line.is_empty())
        .unwrap_or("(empty body)");
    let mut end = line.len().min(200);
    while !line.is_char_boundary(end) {
        end -= 1;
    }
    line[..end].to_owned()
}
