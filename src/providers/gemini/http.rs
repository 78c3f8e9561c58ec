//! [`GeminiHttpLayer`]: turns a [`Call`] into an HTTP request to
//! `{api_base}/models/{model}:{method}` and the HTTP reply into a [`Reply`].
//!
//! JSON replies are read (up to a size cap) and decoded into typed structs; a
//! `text/event-stream` reply is handed on undecoded ([`Reply::EventBody`]) for the SSE
//! adapter. Error statuses become [`Error::Upstream`] with Google's message, its status
//! name and the retry delay (`Retry-After` or `RetryInfo`). An error body that is not
//! Google's JSON keeps a short preview as the message: an HTML page from a load balancer
//! its readable text, anything else its first line.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, SystemTime};

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use http_body::Body;
use http_body_util::{BodyExt, Full};
use tower::BoxError;
use tower_layer::Layer;
use tower_service::Service;

use super::call::{Call, Method, Reply};
use super::error::Error;
use super::wire::ErrorBody;
use crate::upstream::body::into_upstream_body;
use crate::upstream::retry::parse_retry_after;
use crate::upstream::{Error as UpstreamError, Secret};

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
    type Future = Pin<Box<dyn Future<Output = Result<Reply, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner
            .poll_ready(cx)
            .map_err(|error| Error::from(error.into()))
    }

    fn call(&mut self, call: Call) -> Self::Future {
        let request = build_request(&self.api_base, call);
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let (request, kind) = request?;
            let response = inner
                .call(request)
                .await
                .map_err(|error| Error::from(error.into()))?;
            read_reply(response, kind).await
        })
    }
}

/// What the body of a successful reply is.
#[derive(Clone, Copy)]
enum ReplyKind {
    Generate,
    EventStream,
    Embeddings,
    CachedContent,
    CachedContents,
    TokenCount,
}

fn build_request(
    api_base: &str,
    call: Call,
) -> Result<(http::Request<Full<Bytes>>, ReplyKind), Error> {
    let base = call
        .options
        .api_base
        .as_deref()
        .unwrap_or(api_base)
        .trim_end_matches('/');
    let uri = format!("{base}/{}", call.path());
    let (body, kind) = match &call.method {
        Method::Generate(body) => (serde_json::to_vec(body), ReplyKind::Generate),
        Method::StreamGenerate(body) => (serde_json::to_vec(body), ReplyKind::EventStream),
        Method::BatchEmbed(body) => (serde_json::to_vec(body), ReplyKind::Embeddings),
        Method::CreateCachedContent(body) => (serde_json::to_vec(body), ReplyKind::CachedContent),
        Method::ListCachedContents { .. } => (Ok(Vec::new()), ReplyKind::CachedContents),
        Method::UpdateCachedContent(body) => (serde_json::to_vec(body), ReplyKind::CachedContent),
        Method::CountTokens(body) => (serde_json::to_vec(body), ReplyKind::TokenCount),
    };
    let body =
        body.map_err(|error| Error::InvalidCall(format!("cannot encode request: {error}")))?;
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
            let base = crate::upstream::redact_url(base);
            Error::InvalidCall(format!("invalid Gemini URL under {base}: {error}"))
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
    let bytes = read_body(body).await?;
    serde_json::from_slice(&bytes)
        .map_err(|error| Error::Decode(format!("{error} in {}", preview(&bytes))))
}

/// Most of an error body read: Google's are a few hundred bytes.
const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Longest time spent reading an error body: one that trickles in is cut off, not waited
/// for byte by byte.
const ERROR_BODY_DEADLINE: Duration = Duration::from_secs(5);

/// Reads what an error body sends within [`ERROR_BODY_DEADLINE`], up to
/// [`MAX_ERROR_BYTES`]; what arrived by then is the body (an error status is reported
/// either way).
async fn read_error_body<B>(body: B) -> Bytes
where
    B: Body<Data = Bytes>,
{
    let mut buffer = bytes::BytesMut::new();
    let mut body = std::pin::pin!(body);
    let reading = async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                let room = MAX_ERROR_BYTES - buffer.len();
                buffer.extend_from_slice(&data[..data.len().min(room)]);
                if buffer.len() == MAX_ERROR_BYTES {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(ERROR_BODY_DEADLINE, reading).await;
    buffer.freeze()
}

/// Reads a whole reply body, refusing more than [`MAX_REPLY_BYTES`].
async fn read_body<B>(body: B) -> Result<Bytes, Error>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    let mut buffer = bytes::BytesMut::new();
    let mut body = std::pin::pin!(body);
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(|error| {
            let error: BoxError = error.into();
            Error::from(UpstreamError::reading_body(&*error))
        })?;
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

/// The `RetryInfo.retryDelay` of a Google error body, for the retry.
pub(crate) fn retry_info_delay(body: &[u8]) -> Option<std::time::Duration> {
    serde_json::from_slice::<ErrorBody>(body)
        .ok()?
        .error
        .retry_delay()
}

/// An error status and body → [`Error::Upstream`].
pub fn upstream_error(status: StatusCode, headers: &http::HeaderMap, body: &[u8]) -> Error {
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

/// Longest preview of a non-Google body kept in a message, in characters.
const PREVIEW_CHARS: usize = 200;

/// How much of a body [`preview`] looks at.
const PREVIEW_SCAN_BYTES: usize = 64 * 1024;

/// The start of a body, for messages: for an HTML (or XML) page its readable text (tags,
/// scripts and styles removed, entities decoded, whitespace collapsed), otherwise its first
/// non-empty line; at most [`PREVIEW_CHARS`] characters, `…` marking a cut.
fn preview(body: &[u8]) -> String {
    // The text that fits in a preview is near the start; don't scan a huge page.
    let text = String::from_utf8_lossy(&body[..body.len().min(PREVIEW_SCAN_BYTES)]);
    let trimmed = text.trim_start();
    let readable = if trimmed.starts_with('<') {
        markup_text(trimmed)
    } else {
        trimmed
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or_default()
            .to_owned()
    };
    if readable.is_empty() {
        return "(empty body)".to_owned();
    }
    match readable.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", readable[..cut].trim_end()),
        None => readable,
    }
}

/// The readable text of an HTML page: tags dropped (inline ones without a gap), `<script>`
/// and `<style>` contents skipped, common entities decoded, whitespace collapsed.
fn markup_text(html: &str) -> String {
    const INLINE: &[&str] = &[
        "a", "abbr", "b", "code", "em", "i", "ins", "kbd", "mark", "s", "small", "span", "strong",
        "sub", "sup", "u",
    ];
    let mut out = String::with_capacity(html.len().min(4096));
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..open]));
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[..close];
        rest = &after[close + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let end = format!("</{name}");
            rest = match rest.to_ascii_lowercase().find(&end) {
                Some(at) => rest[at..].split_once('>').map_or("", |(_, tail)| tail),
                None => "",
            };
        }
        if !INLINE.contains(&name.as_str()) {
            out.push(' ');
        }
    }
    out.push_str(&decode_entities(rest));
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes the entities error pages use (`&amp;`, `&lt;`, `&#39;`, `&#x2019;`, …).
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let decoded = tail.get(1..).and_then(|body| {
            let end = body.find(';').filter(|&end| end <= 10)?;
            let entity = &body[..end];
            let character = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ => {
                    let code = match entity.strip_prefix("#x").or(entity.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => entity.strip_prefix('#')?.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((character, end + 2))
        });
        match decoded {
            Some((character, length)) => {
                out.push(character);
                rest = &tail[length..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn html_pages_become_their_text() {
        let page = "<!DOCTYPE html>\n<html lang=en><head><style>p{margin:0}</style>\
                    <script>var x = '<p>';</script><title>Error 502 (Server Error)!!1</title>\
                    </head><p><b>502.</b> <ins>That&#8217;s an error.</ins><p>Try &amp; retry.";
        assert_eq!(
            preview(page.as_bytes()),
            "Error 502 (Server Error)!!1 502. That\u{2019}s an error. Try & retry."
        );
    }

    #[test]
    fn long_and_empty_bodies() {
        let long = "x".repeat(500);
        assert_eq!(preview(long.as_bytes()), format!("{}…", "x".repeat(200)));
        assert_eq!(preview(b"  \n "), "(empty body)");
        assert_eq!(preview(b"<html></html>"), "(empty body)");
        assert_eq!(
            preview(b"\nupstream connect error\nmore"),
            "upstream connect error"
        );
    }
}
