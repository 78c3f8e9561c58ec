//! What every edge does with a request before its service sees it, and with an error
//! after: `POST` only (405), a body size limit (413), JSON decoded once on the fast path
//! and again with paths only when it fails, so the error names the field at fault; the
//! [`ResponseNotes`] of the answer; and every error rendered in the edge's envelope.

use std::convert::Infallible;
use std::pin::Pin;

use bytes::Bytes;
use futures_util::FutureExt;
use http::Method;
use http_body::Body;
use http_body_util::{BodyExt, Limited};
use serde::de::DeserializeOwned;
use tower_service::Service;

use super::body::EdgeBody;
use crate::context::{Contextual, RequestContext, ResponseNotes};
use crate::error::{Error, ErrorKind};
use crate::openai::limits::{Bounded, RequestLimits};

/// The future of an edge: it always answers, errors included.
pub(crate) type EdgeFuture =
    Pin<Box<dyn Future<Output = Result<http::Response<EdgeBody>, Infallible>> + Send>>;

/// Runs an edge's handler, rendering its error with `render` (the envelope of the edge's
/// API).
pub(crate) fn answer<F>(handled: F, render: fn(&Error) -> http::Response<EdgeBody>) -> EdgeFuture
where
    F: Future<Output = Result<http::Response<EdgeBody>, Error>> + Send + 'static,
{
    // A `map`, not an `async` block: a block would keep `handled` twice (as what it
    // captured and as what it awaits), doubling the box and the bytes copied into it.
    Box::pin(handled.map(move |handled| Ok(handled.unwrap_or_else(|error| render(&error)))))
}

/// Puts a [`ResponseNotes`] in `request`'s context, lets `respond` answer it, and writes
/// the headers the stack noted (`x-llm-tower-dropped-tools`, …) on the answer.
pub(crate) fn with_notes<T, F, R>(
    mut request: T,
    respond: F,
) -> impl Future<Output = Result<http::Response<EdgeBody>, Error>>
where
    T: Contextual,
    F: FnOnce(T) -> R,
    R: Future<Output = Result<http::Response<EdgeBody>, Error>>,
{
    let notes = ResponseNotes::default();
    request.context_mut().insert(notes.clone());
    // The request goes into `respond` at once rather than being kept beside its future.
    respond(request).map(move |response| {
        let mut response = response?;
        notes.apply(response.headers_mut());
        Ok(response)
    })
}

/// Checks the method, decodes the body as `T` within `limits` with the request's
/// extensions as its context, and waits until `inner` is ready for it.
pub(crate) async fn accept<S, T, B>(
    inner: &mut S,
    request: http::Request<B>,
    limit: usize,
    limits: &RequestLimits,
) -> Result<T, Error>
where
    S: Service<T, Error = Error>,
    T: DeserializeOwned + Bounded + Contextual,
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    if request.method() != Method::POST {
        return Err(Error::new(
            ErrorKind::MethodNotAllowed,
            format!("{} is not supported here; use POST", request.method()),
        ));
    }
    let (parts, body) = request.into_parts();
    let bytes = read_body(body, limit).await?;
    limits.scan(&bytes)?;
    let mut decoded: T = decode_json(&bytes)?;
    limits.check_request(&decoded)?;
    *decoded.context_mut() = RequestContext::from(parts.extensions);
    std::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
    Ok(decoded)
}

/// Decodes a request body as JSON.
fn decode_json<T: DeserializeOwned>(bytes: &[u8]) -> Result<T, Error> {
    // The fast path parses without tracking paths; only a body that fails is parsed again
    // to name the field at fault.
    if let Ok(request) = serde_json::from_slice(bytes) {
        return Ok(request);
    }
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    let request: T = serde_path_to_error::deserialize(&mut deserializer)?;
    deserializer
        .end()
        .map_err(|error| Error::invalid_request(format!("invalid request body: {error}")))?;
    Ok(request)
}

/// Reads a whole request body; more than `limit` bytes is a 413, a body that stops
/// arriving (an I/O timeout from the server) a 408.
///
/// ```
/// use bytes::Bytes;
/// use http_body_util::Full;
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let body = llm_tower::edge::read_body(Full::new(Bytes::from("{}")), 1024).await.unwrap();
/// assert_eq!(body, "{}");
/// let error = llm_tower::edge::read_body(Full::new(Bytes::from("{}")), 1).await.unwrap_err();
/// assert_eq!(error.status(), 413);
/// # }
/// ```
pub async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, Error>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let collected = Limited::new(body, limit).collect().await.map_err(|error| {
        if error.is::<http_body_util::LengthLimitError>() {
            Error::new(
                ErrorKind::PayloadTooLarge,
                format!("request body larger than {limit} bytes"),
            )
        } else if crate::upstream::error::is_timeout(&*error) {
            Error::new(
                ErrorKind::RequestTimeout,
                "the request body stopped arriving before it was complete",
            )
        } else {
            Error::invalid_request(format!("cannot read the request body: {error}"))
        }
    })?;
    Ok(collected.to_bytes())
}
