//! Response bodies of the edge and the OpenAI error envelope.

use bytes::Bytes;
use http::header::{CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, StatusCode};
use http_body_util::combinators::UnsyncBoxBody;
use http_body_util::{BodyExt, Full};
use serde::Serialize;

use crate::error::Error;

/// Body of every edge response. A body error (a broken pass-through stream) aborts the
/// connection rather than ending the body as if it were complete.
pub type EdgeBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;

/// A JSON response.
///
/// ```
/// use llm_tower::edge::json_response;
/// let response = json_response(http::StatusCode::OK, &serde_json::json!({"ok": true}));
/// assert_eq!(response.headers()["content-type"], "application/json");
/// ```
pub fn json_response<T: Serialize + ?Sized>(
    status: StatusCode,
    value: &T,
) -> http::Response<EdgeBody> {
    match serde_json::to_vec(value) {
        Ok(bytes) => bytes_response(status, "application/json", Bytes::from(bytes)),
        Err(error) => error_response(&Error::new(
            crate::ErrorKind::Api,
            format!("cannot encode the reply: {error}"),
        )),
    }
}

/// The OpenAI error envelope with the error's status (and `Retry-After` when known). The
/// error is also kept in the response's extensions, so that a layer that knows the
/// request's id (the proxy's observe layer) writes it in as `error.request_id`; the
/// error's causes are logged, never written into the envelope.
///
/// ```
/// use llm_tower::{Error, edge::error_response};
/// let response = error_response(&Error::invalid_request("bad"));
/// assert_eq!(response.status(), 400);
/// ```
pub fn error_response(error: &Error) -> http::Response<EdgeBody> {
    error_reply(openai_error_response, error)
}

/// The OpenAI error envelope of `error`, with `request_id` when known.
fn openai_error_response(error: &Error, request_id: Option<&str>) -> http::Response<EdgeBody> {
    let mut envelope = error.envelope();
    envelope.error.request_id = request_id;
    let body = serde_json::to_vec(&envelope).unwrap_or_else(|_| {
        br#"{"error":{"message":"internal error","type":"api_error","param":null,"code":"500"}}"#.to_vec()
    });
    let response = bytes_response(error.status(), "application/json", Bytes::from(body));
    with_error_headers(response, error)
}

/// `render`s `error` without a request id (and logs its causes: the client reads only the
/// message). With the proxy, the error is kept in the response's extensions as an
/// [`ErrorReply`], for the layer that knows the request's id.
pub(crate) fn error_reply(
    render: fn(&Error, Option<&str>) -> http::Response<EdgeBody>,
    error: &Error,
) -> http::Response<EdgeBody> {
    #[allow(unused_mut, reason = "only the proxy keeps the error")]
    let mut response = render(error, None);
    if std::error::Error::source(error).is_some() {
        let causes = crate::error::error_chain(error);
        let status = error.status().as_u16();
        if error.status().is_server_error() {
            tracing::warn!(status, error = %causes, "answered with an error");
        } else {
            tracing::debug!(status, error = %causes, "answered with an error");
        }
    }
    #[cfg(feature = "proxy")]
    response.extensions_mut().insert(ErrorReply {
        error: error.clone(),
        render,
    });
    response
}

/// An error answer of the edge, kept in its response's extensions: whoever knows the
/// request's id renders the same envelope again with it ([`body_with`](Self::body_with)).
/// The id is not known where errors are made (an error of the router, of the proxy's
/// door, of a timeout), and it travels with the request, not with the task.
#[cfg(feature = "proxy")]
#[derive(Clone)]
pub(crate) struct ErrorReply {
    error: Error,
    render: fn(&Error, Option<&str>) -> http::Response<EdgeBody>,
}

#[cfg(feature = "proxy")]
impl ErrorReply {
    /// The body of the same answer, with `request_id` in its envelope.
    pub(crate) fn body_with(&self, request_id: &HeaderValue) -> EdgeBody {
        (self.render)(&self.error, request_id.to_str().ok()).into_body()
    }
}

/// Adds the headers every error response of the edge carries, whatever its envelope:
/// `Allow: POST` on a 405, and `Retry-After` (whole seconds, rounded up) when the error
/// knows when to retry.
pub(crate) fn with_error_headers(
    mut response: http::Response<EdgeBody>,
    error: &Error,
) -> http::Response<EdgeBody> {
    if error.kind() == crate::ErrorKind::MethodNotAllowed {
        // Every route of the edge that refuses a method is a POST route.
        response
            .headers_mut()
            .insert(http::header::ALLOW, HeaderValue::from_static("POST"));
    }
    if let Some(delay) = error.retry_after() {
        let seconds = delay.as_secs() + u64::from(delay.subsec_nanos() > 0);
        response
            .headers_mut()
            .insert(RETRY_AFTER, HeaderValue::from(seconds));
    }
    response
}

pub(crate) fn bytes_response(
    status: StatusCode,
    content_type: &'static str,
    bytes: Bytes,
) -> http::Response<EdgeBody> {
    let mut response = http::Response::new(
        Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync(),
    );
    *response.status_mut() = status;
    response
        .headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
    response
}
