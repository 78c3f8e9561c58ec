//! The Gemini pass-through: `/gemini/v1beta/{…}` is forwarded to Gemini as is, with the
//! configured key injected as `x-goog-api-key`, so Google's own SDKs can go through the
//! proxy. The client's `key` query parameter and key headers (its proxy credentials) are
//! removed; the reply, streamed or not, is passed back unchanged: a stream
//! (`text/event-stream`) as it comes, a whole reply once read (up to
//! [`MAX_REPLY_BYTES`]), so that `request_timeout` bounds it as it bounds every whole
//! reply, and a reply trickling in under the silence limit cannot hold the client past it.
//! The pass-through's own
//! errors (a bad master key, an unknown route, no key configured, Gemini unreachable) are
//! written in Google's envelope, `{"error": {"code", "message", "status"}}`, which Google's
//! SDKs read ([`google_error`]).

use bytes::Bytes;
use http::Method;
use http::header::{ACCEPT, CONTENT_TYPE};
use http_body_util::{BodyExt, Full};
use tower::ServiceExt;

use crate::edge::{EdgeBody, json_response};
use crate::error::{Error, ErrorKind};
use crate::providers::gemini::auth::API_KEY_HEADER;
use crate::upstream::reply::{MAX_REPLY_BYTES, read_body};
use crate::upstream::{HttpTransport, Secret, UpstreamBody};

/// The path prefix the pass-through serves.
pub const PREFIX: &str = "/gemini/v1beta/";

/// The routes whose errors are Google's: everything under `/gemini/`.
pub const GEMINI_ROUTES: &str = "/gemini/";

/// The API version the pass-through forwards, after [`GEMINI_ROUTES`].
pub const VERSION: &str = "v1beta/";

/// Forwards requests to one Gemini endpoint with one key.
#[derive(Clone, Debug)]
pub struct Passthrough {
    transport: HttpTransport,
    api_base: String,
    key: Option<Secret>,
}

impl Passthrough {
    /// Forwards to `api_base` (which includes `/v1beta`) with `key`.
    pub fn new(transport: HttpTransport, api_base: impl Into<String>, key: Option<Secret>) -> Self {
        Self {
            transport,
            api_base: api_base.into().trim_end_matches('/').to_owned(),
            key,
        }
    }

    /// Forwards one request; `rest` is the path after [`PREFIX`]. Errors of its own (no
    /// key, Gemini unreachable) are for the caller to render; Gemini's error replies are
    /// passed back as they are.
    pub async fn forward(
        &self,
        method: Method,
        rest: &str,
        query: Option<&str>,
        headers: &http::HeaderMap,
        body: Bytes,
    ) -> Result<http::Response<EdgeBody>, Error> {
        let key = self.key.as_ref().ok_or_else(|| {
            Error::new(
                ErrorKind::Authentication,
                "the pass-through has no Gemini API key: set GEMINI_API_KEY or a gemini deployment's api_key",
            )
        })?;
        check_path(rest)?;
        let url = target_url(&self.api_base, rest, query);
        let key_header = key.header_value().ok_or_else(|| {
            Error::new(
                ErrorKind::Authentication,
                "the configured Gemini API key is not a valid header value",
            )
        })?;
        let mut request = upstream_request(method, &url, headers, body)?;
        request.headers_mut().insert(API_KEY_HEADER, key_header);
        relay(self.transport.clone().oneshot(request).await?).await
    }
}

/// `{base}/{rest}` with the client's query, less its `key` parameter (its proxy key).
pub(crate) fn target_url(base: &str, rest: &str, query: Option<&str>) -> String {
    let mut url = format!("{base}/{rest}");
    let query: Vec<(String, String)> = query
        .map(|query| {
            url::form_urlencoded::parse(query.as_bytes())
                .filter(|(name, _)| name != "key")
                .map(|(name, value)| (name.into_owned(), value.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    if !query.is_empty() {
        url.push('?');
        url.push_str(
            &url::form_urlencoded::Serializer::new(String::new())
                .extend_pairs(query)
                .finish(),
        );
    }
    url
}

/// The upstream request: the client's method, body, `Content-Type` and `Accept`, and
/// none of its other headers (its credentials among them).
pub(crate) fn upstream_request(
    method: Method,
    url: &str,
    headers: &http::HeaderMap,
    body: Bytes,
) -> Result<http::Request<Full<Bytes>>, Error> {
    let mut request = http::Request::builder().method(method).uri(url);
    for name in [CONTENT_TYPE, ACCEPT] {
        if let Some(value) = headers.get(&name) {
            request = request.header(name, value);
        }
    }
    request
        .body(Full::new(body))
        .map_err(|_| Error::invalid_request("the pass-through path is not a valid URL"))
}

/// The upstream reply for the client: its status and `Content-Type`; a stream as it
/// comes, a whole body once read (up to [`MAX_REPLY_BYTES`]).
pub(crate) async fn relay(
    response: http::Response<UpstreamBody>,
) -> Result<http::Response<EdgeBody>, Error> {
    let (parts, body) = response.into_parts();
    let streamed = parts
        .headers
        .get(CONTENT_TYPE)
        .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
    let body = if streamed {
        body
    } else {
        let bytes = read_body(body, MAX_REPLY_BYTES).await?;
        Full::new(bytes)
            .map_err(|never| match never {})
            .boxed_unsync()
    };
    let mut reply = http::Response::new(body);
    *reply.status_mut() = parts.status;
    if let Some(content_type) = parts.headers.get(CONTENT_TYPE) {
        reply
            .headers_mut()
            .insert(CONTENT_TYPE, content_type.clone());
    }
    Ok(reply)
}

/// Refuses a path that a server could resolve outside the API: `.` or `..` segments, raw or
/// percent-encoded (`%2e%2e`), encoded separators (`..%2f`, `%5c`), and empty segments.
/// Nothing is normalised: what is forwarded is what the client sent.
pub(crate) fn check_path(rest: &str) -> Result<(), Error> {
    for segment in rest.split('/') {
        let decoded = percent_encoding::percent_decode_str(segment).decode_utf8_lossy();
        if segment.is_empty() || decoded == "." || decoded == ".." || decoded.contains(['/', '\\'])
        {
            return Err(Error::invalid_request(
                "the pass-through path may not contain empty, `.` or `..` segments or encoded separators",
            ));
        }
    }
    Ok(())
}

/// `error` in Google's error envelope (`{"error": {"code", "message", "status"}}`), with
/// its HTTP status.
pub fn google_error(error: &Error) -> http::Response<EdgeBody> {
    let status = error.status();
    let name = match status.as_u16() {
        400 | 413 => "INVALID_ARGUMENT",
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 | 405 => "NOT_FOUND",
        429 => "RESOURCE_EXHAUSTED",
        501 => "UNIMPLEMENTED",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INTERNAL",
    };
    json_response(
        status,
        &serde_json::json!({"error": {
            "code": status.as_u16(),
            "message": error.message(),
            "status": name,
        }}),
    )
}

#[cfg(test)]
mod tests {
    use super::check_path;

    #[test]
    fn dot_segments_and_encoded_separators_are_refused() {
        for path in [
            "../../X",
            "models/../../X",
            "models/%2e%2e/X",
            "models/%2E%2e/X",
            "models/..%2fX",
            "models/.%2e/X",
            "models/%2e/X",
            "models/a%5cb",
            "models//x",
            "./models",
        ] {
            assert!(check_path(path).is_err(), "{path}");
        }
        for path in [
            "models/gemini-2.5-flash:generateContent",
            "models",
            "cachedContents/abc",
            "models/v1.5..x:countTokens",
        ] {
            assert!(check_path(path).is_ok(), "{path}");
        }
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn google_error() {
        use crate::proxy::passthrough::google_error;
        use crate::{Error, ErrorKind};

        let response = google_error(&Error::new(ErrorKind::NotFound, "no such route"));
        assert_eq!(response.status(), 404);
    }
}
