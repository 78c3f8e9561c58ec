//! Upstream errors of an OpenAI-compatible server, mapped to the [`Error`] a client sees.
//!
//! OpenAI (and vLLM, Ollama, LM Studio, Together, …) answer an error with a status and the
//! envelope `{"error": {"message", "type", "param", "code"}}`. The envelope's message,
//! `param` and `code` pass through unchanged, so a client sees what it would have seen
//! talking to the upstream directly; the status picks the [`ErrorKind`] (and with it the
//! status and `type` the client gets), with OpenAI's `context_length_exceeded` and
//! `content_policy_violation` codes refining a 400. A body that is not the envelope (an HTML
//! page from a load balancer, plain text) keeps a short readable preview as the message.
//! `Retry-After` (seconds or an HTTP date) and OpenAI's `retry-after-ms` become
//! [`Error::retry_after`]. Anything that looks like the deployment's key is redacted from
//! the text first, so a server quoting the key it was sent never shows it to a client or a
//! log.

use std::time::{Duration, SystemTime};

use http::{HeaderMap, StatusCode};
use serde::Deserialize;

use crate::error::{Error, ErrorKind};
use crate::upstream::Secret;
use crate::upstream::preview::preview;
use crate::upstream::redact::redact_secret;
use crate::upstream::retry::parse_retry_after;

/// `{"error": {…}}`.
#[derive(Deserialize)]
struct Envelope {
    error: ErrorObject,
}

/// The fields of an error object llm-tower reads; the rest is ignored.
#[derive(Deserialize)]
struct ErrorObject {
    #[serde(default)]
    message: Option<String>,
    #[serde(default)]
    param: Option<String>,
    /// A string in OpenAI's replies; a number (the status) in some compatible servers'.
    #[serde(default)]
    code: Option<Code>,
}

#[derive(Deserialize)]
#[serde(untagged)]
enum Code {
    Text(String),
    Number(u16),
}

/// An error status and body (and the reply's headers) → [`Error`]. Anything in the body
/// that looks like `secret` (the key the call was made with) is redacted first.
pub(crate) fn upstream_error(
    status: StatusCode,
    headers: &HeaderMap,
    body: &[u8],
    secret: Option<&Secret>,
) -> Error {
    let redacted;
    let body = match secret {
        Some(secret) => {
            redacted = redact_secret(&String::from_utf8_lossy(body), secret.expose()).into_owned();
            redacted.as_bytes()
        }
        None => body,
    };
    let object = serde_json::from_slice::<Envelope>(body)
        .ok()
        .map(|envelope| envelope.error);
    let mut error = match object {
        Some(object) => from_object(status, object),
        None => Error::new(kind_of(status, None), preview(body)),
    };
    if let Some(delay) = retry_after(headers, SystemTime::now()) {
        error = error.with_retry_after(delay);
    }
    error
}

/// An `{"error": …}` event inside a stream. Its status is the object's numeric `code` when it
/// has one (vLLM's), else 500.
pub(crate) fn stream_error(data: &[u8]) -> Option<Error> {
    let object = serde_json::from_slice::<Envelope>(data).ok()?.error;
    let status = match &object.code {
        Some(Code::Number(code)) => StatusCode::from_u16(*code).ok(),
        _ => None,
    }
    .unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    Some(from_object(status, object))
}

fn from_object(status: StatusCode, object: ErrorObject) -> Error {
    let code = match object.code {
        Some(Code::Text(code)) if !code.is_empty() => Some(code),
        _ => None,
    };
    let message = object
        .message
        .filter(|message| !message.is_empty())
        .unwrap_or_else(|| format!("the upstream answered {status} without a message"));
    let mut error = Error::new(kind_of(status, code.as_deref()), message);
    if let Some(param) = object.param.filter(|param| !param.is_empty()) {
        error = error.with_param(param);
    }
    if let Some(code) = code {
        error = error.with_code(code);
    }
    error
}

/// The kind of an upstream error status, refined by OpenAI's error code.
fn kind_of(status: StatusCode, code: Option<&str>) -> ErrorKind {
    match (status.as_u16(), code) {
        (400, Some("context_length_exceeded")) => ErrorKind::ContextWindowExceeded,
        (400, Some("content_policy_violation" | "content_filter")) => {
            ErrorKind::ContentPolicyViolation
        }
        (401, _) => ErrorKind::Authentication,
        (403, _) => ErrorKind::PermissionDenied,
        (404, _) => ErrorKind::NotFound,
        (408 | 504, _) => ErrorKind::Timeout,
        (413, _) => ErrorKind::PayloadTooLarge,
        (429, _) => ErrorKind::RateLimit,
        (502, _) => ErrorKind::BadGateway,
        (503, _) => ErrorKind::ServiceUnavailable,
        _ if status.is_client_error() => ErrorKind::InvalidRequest,
        _ => ErrorKind::Api,
    }
}

/// `retry-after-ms` (OpenAI's), else `Retry-After` as seconds or an HTTP date.
fn retry_after(headers: &HeaderMap, now: SystemTime) -> Option<Duration> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    if let Some(millis) = header("retry-after-ms").and_then(|value| value.trim().parse().ok()) {
        return Some(Duration::from_millis(millis));
    }
    parse_retry_after(header("retry-after")?, now)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        pairs
            .iter()
            .map(|(name, value)| {
                (
                    http::HeaderName::from_static(name),
                    value.parse().expect("value"),
                )
            })
            .collect()
    }

    #[test]
    fn the_envelope_passes_through_with_its_message_param_and_code() {
        let body = br#"{"error":{"message":"Invalid value for 'temperature'.","type":"invalid_request_error","param":"temperature","code":"invalid_value"}}"#;
        let error = upstream_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), body, None);
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        assert_eq!(error.message(), "Invalid value for 'temperature'.");
        assert_eq!(error.param(), Some("temperature"));
        assert_eq!(error.code(), "invalid_value");
    }

    #[test]
    fn the_deployments_key_is_redacted_from_the_message_and_a_preview() {
        let key = Secret::new("sk-proj-0123456789abcdefghij");
        let body = br#"{"error":{"message":"Incorrect API key provided: sk-proj-0123456789abcdefghij. See the docs.","code":"invalid_api_key"}}"#;
        let error = upstream_error(
            StatusCode::UNAUTHORIZED,
            &HeaderMap::new(),
            body,
            Some(&key),
        );
        assert_eq!(
            error.message(),
            "Incorrect API key provided: [redacted] See the docs."
        );
        let error = upstream_error(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"bad key sk-proj-01234567******ghij",
            Some(&key),
        );
        assert!(
            !error.message().contains("sk-proj-0123"),
            "{}",
            error.message()
        );
        let event =
            br#"{"error":{"message":"key sk-proj-0123456789abcdefghij revoked","code":401}}"#;
        let redacted = redact_secret(std::str::from_utf8(event).unwrap(), key.expose());
        let error = stream_error(redacted.as_bytes()).unwrap();
        assert_eq!(error.message(), "key [redacted] revoked");
    }

    #[test]
    fn codes_refine_a_400() {
        let body = br#"{"error":{"message":"too long","type":"invalid_request_error","param":"messages","code":"context_length_exceeded"}}"#;
        let error = upstream_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), body, None);
        assert_eq!(error.kind(), ErrorKind::ContextWindowExceeded);
        let body = br#"{"error":{"message":"no","code":"content_policy_violation"}}"#;
        let error = upstream_error(StatusCode::BAD_REQUEST, &HeaderMap::new(), body, None);
        assert_eq!(error.kind(), ErrorKind::ContentPolicyViolation);
    }

    #[test]
    fn a_body_that_is_not_the_envelope_keeps_a_preview() {
        let error = upstream_error(
            StatusCode::BAD_GATEWAY,
            &HeaderMap::new(),
            b"<html><body><h1>502 Bad Gateway</h1></body></html>",
            None,
        );
        assert_eq!(error.kind(), ErrorKind::BadGateway);
        assert_eq!(error.message(), "502 Bad Gateway");
        assert_eq!(error.param(), None);
    }

    #[test]
    fn retry_after_in_milliseconds_seconds_or_a_date() {
        let now = httpdate::parse_http_date("Thu, 26 Nov 2026 10:00:00 GMT").expect("date");
        assert_eq!(
            retry_after(
                &headers(&[("retry-after-ms", "1500"), ("retry-after", "9")]),
                now
            ),
            Some(Duration::from_millis(1500))
        );
        assert_eq!(
            retry_after(&headers(&[("retry-after", "7")]), now),
            Some(Duration::from_secs(7))
        );
        assert_eq!(
            retry_after(
                &headers(&[("retry-after", "Thu, 26 Nov 2026 10:00:30 GMT")]),
                now
            ),
            Some(Duration::from_secs(30))
        );
        assert_eq!(retry_after(&HeaderMap::new(), now), None);
    }

    #[test]
    fn a_stream_error_event_takes_its_status_from_a_numeric_code() {
        let error = stream_error(
            br#"{"error":{"object":"error","message":"bad","type":"BadRequestError","code":400}}"#,
        )
        .expect("an error event");
        assert_eq!(error.kind(), ErrorKind::InvalidRequest);
        let error = stream_error(
            br#"{"error":{"message":"overloaded","type":"server_error","code":null}}"#,
        )
        .expect("an error event");
        assert_eq!(error.kind(), ErrorKind::Api);
        assert_eq!(error.message(), "overloaded");
    }
}
