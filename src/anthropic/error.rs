//! Errors in Anthropic's envelope, `{"type":"error","error":{"type":…,"message":…}}`
//! (with `request_id` beside `error` when it is known), with Anthropic's statuses: what [`Error`] kinds become at the Messages front door.
//!
//! | kind | status | `error.type` |
//! |---|---|---|
//! | bad request, unsupported param, context window, content policy | 400 | `invalid_request_error` |
//! | method (`Allow: POST`) | 405 | `invalid_request_error` |
//! | authentication | 401 | `authentication_error` |
//! | permission | 403 | `permission_error` |
//! | not found | 404 | `not_found_error` |
//! | body too large | 413 | `request_too_large` |
//! | rate limit | 429 | `rate_limit_error` |
//! | upstream unavailable (503, Google's overload) | 529 | `overloaded_error` |
//! | upstream or gateway timeout | 504 (408 for a slow client body) | `timeout_error` |
//! | anything else | its status | `api_error` |

use http::StatusCode;
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};

/// Anthropic's status for an overloaded upstream.
const OVERLOADED: u16 = 529;

/// The error envelope.
///
/// ```
/// use llm_tower::anthropic::ErrorEnvelope;
/// use llm_tower::Error;
///
/// let envelope = ErrorEnvelope::of(&Error::invalid_param("max_tokens", "max_tokens: required"));
/// assert_eq!(
///     serde_json::to_value(&envelope)?,
///     serde_json::json!({"type": "error", "error": {"type": "invalid_request_error", "message": "max_tokens: required"}})
/// );
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorEnvelope {
    /// `"error"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The error.
    pub error: ErrorObject,
    /// The id of the request that failed, where one is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub request_id: Option<String>,
}

impl ErrorEnvelope {
    /// The envelope of `error`.
    pub fn of(error: &Error) -> Self {
        Self {
            kind: "error".to_owned(),
            error: ErrorObject::of(error),
            request_id: None,
        }
    }
}

/// `error`: its type and message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorObject {
    /// `invalid_request_error`, `overloaded_error`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// What went wrong.
    pub message: String,
}

impl ErrorObject {
    /// The type and message of `error`.
    pub fn of(error: &Error) -> Self {
        Self {
            kind: error_type(error.kind()).to_owned(),
            message: error.message().to_owned(),
        }
    }
}

/// Anthropic's `error.type` for a kind.
pub fn error_type(kind: ErrorKind) -> &'static str {
    match kind {
        ErrorKind::InvalidRequest
        | ErrorKind::UnsupportedParams
        | ErrorKind::ContextWindowExceeded
        | ErrorKind::ContentPolicyViolation
        | ErrorKind::MethodNotAllowed => "invalid_request_error",
        ErrorKind::Authentication => "authentication_error",
        ErrorKind::PermissionDenied => "permission_error",
        ErrorKind::NotFound => "not_found_error",
        ErrorKind::PayloadTooLarge => "request_too_large",
        ErrorKind::RateLimit => "rate_limit_error",
        ErrorKind::ServiceUnavailable => "overloaded_error",
        ErrorKind::Timeout | ErrorKind::RequestTimeout => "timeout_error",
        _ => "api_error",
    }
}

/// Anthropic's status for a kind: the OpenAI one, except 529 for an overloaded upstream.
///
/// ```
/// use llm_tower::ErrorKind;
/// use llm_tower::anthropic::status;
///
/// assert_eq!(status(ErrorKind::ServiceUnavailable).as_u16(), 529);
/// assert_eq!(status(ErrorKind::RateLimit).as_u16(), 429);
/// ```
pub fn status(kind: ErrorKind) -> StatusCode {
    match kind {
        ErrorKind::ServiceUnavailable => {
            StatusCode::from_u16(OVERLOADED).unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
        }
        kind => kind.status(),
    }
}
