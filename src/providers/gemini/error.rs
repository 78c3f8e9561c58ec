//! The Gemini-level error: what can go wrong between the translation and Google, and how
//! each case maps to the OpenAI-level [`crate::Error`] a client sees.

use std::time::Duration;

use http::StatusCode;
use tower::BoxError;
use tower::load_shed::error::Overloaded;
use tower::timeout::error::Elapsed;

use super::wire::GoogleStatus;
use crate::error::{Error as ApiError, ErrorKind};
use crate::sse::decode::SseError;
use crate::upstream::error::ErrorKind as UpstreamErrorKind;
use crate::upstream::{Error as UpstreamError, Saturated};

/// No API key was configured or sent: refused before any network call.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error(
    "no usable Gemini API key: set GEMINI_API_KEY, configure one on the provider, or pass api_key in the request (a key must be a valid HTTP header value)"
)]
pub struct MissingApiKey;

/// An error of the Gemini provider.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// Google (or something in front of it) answered with an error status.
    #[error("Gemini answered {status}: {message}")]
    Upstream {
        /// The HTTP status.
        status: StatusCode,
        /// Google's status body, when the reply was one.
        google: Option<GoogleStatus>,
        /// Google's message, or the start of a non-Google body.
        message: String,
        /// `Retry-After` or `RetryInfo.retryDelay`.
        retry_after: Option<Duration>,
    },
    /// No API key.
    #[error(transparent)]
    MissingApiKey(#[from] MissingApiKey),
    /// The request could not be sent or the reply not read; the upstream error (and its
    /// cause) is the [`source`](std::error::Error::source).
    #[error("could not reach Gemini")]
    Transport(#[source] UpstreamError),
    /// The upstream did not answer in time.
    #[error("Gemini did not answer in time")]
    Timeout,
    /// A layer at the HTTP level refused the call because too many are in flight
    /// (tower's `LoadShed`).
    #[error("too many Gemini calls in flight; try again shortly")]
    Overloaded,
    /// An [`InFlightLimit`](crate::upstream::InFlightLimit) had no permit free in time;
    /// nothing was sent.
    #[error(transparent)]
    Saturated(#[from] Saturated),
    /// The reply was not what the API documents; what was wrong (and the parser's error)
    /// is the [`source`](std::error::Error::source).
    #[error("malformed Gemini reply: {0}")]
    Decode(#[source] MalformedReply),
    /// The event stream broke.
    #[error("malformed Gemini event stream: {0}")]
    Stream(#[from] SseError),
    /// The event stream ended in the middle of an event or before any event.
    #[error("Gemini event stream ended early: {0}")]
    Truncated(&'static str),
    /// The call was invalid before it was sent (an unusable base URL, …); why is the
    /// [`source`](std::error::Error::source).
    #[error("{0}")]
    InvalidCall(#[source] InvalidCall),
    /// Media too large to send inline could not go through the Files API (see
    /// [`LargeMediaLayer`](super::LargeMediaLayer)): the client's error, as it is.
    #[error(transparent)]
    Files(Box<ApiError>),
}

/// Why a Gemini reply could not be read: the source of [`Error::Decode`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum MalformedReply {
    /// A reply body is not the JSON the API documents.
    #[error("{source} in {preview}")]
    Json {
        /// The parser's error.
        #[source]
        source: serde_json::Error,
        /// The readable start of the body (an HTML page's text, …).
        preview: String,
    },
    /// An event of a stream is not the JSON the API documents.
    #[error("event {data}: {source}")]
    Event {
        /// The parser's error.
        #[source]
        source: serde_json::Error,
        /// The start of the event's data.
        data: String,
    },
    /// The reply body was larger than the reader's limit.
    #[error("reply larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
    /// A candidate index Gemini never sends.
    #[error("candidate index {index} is out of range (Gemini answers at most {max} candidates)")]
    CandidateIndex {
        /// The index the reply carried.
        index: u32,
        /// How many candidates Gemini answers at most.
        max: u32,
    },
    /// A call was answered with another kind of reply (the call, named).
    #[error("{0} was answered with another kind of reply")]
    OtherReply(&'static str),
}

/// Why a call could not be sent, or reached a layer that cannot take it: the source of
/// [`Error::InvalidCall`].
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum InvalidCall {
    /// The request body could not be encoded.
    #[error("cannot encode request: {0}")]
    Encode(#[source] serde_json::Error),
    /// The URL built under the base URL is not a valid URI.
    #[error("invalid Gemini URL under {base}: {source}")]
    Url {
        /// The base URL, without credentials.
        base: String,
        /// Why the request could not be built.
        #[source]
        source: http::Error,
    },
    /// A streamed reply reached a layer that reads typed events: the stack lacks an
    /// [`SseAdapterLayer`](super::SseAdapterLayer) below it.
    #[error("a streamed reply reached {0} undecoded: add SseAdapterLayer below it")]
    Undecoded(&'static str),
    /// A call was answered with another kind of reply (the call, named).
    #[error("{0} was answered with another kind of reply")]
    OtherReply(&'static str),
}

impl From<UpstreamError> for Error {
    fn from(error: UpstreamError) -> Self {
        match error.kind() {
            _ if error.is_timeout() => Self::Timeout,
            UpstreamErrorKind::TooLarge { limit } => {
                Self::Decode(MalformedReply::TooLarge { limit })
            }
            _ => Self::Transport(error),
        }
    }
}

/// An error from a layer at the HTTP level (tower's and tower-http's own, or yours): the
/// provider's own errors come back as themselves, tower's `Elapsed` is a
/// [`Timeout`](Error::Timeout), `Overloaded` is [`Overloaded`](Error::Overloaded), an
/// in-flight limit's [`Saturated`] is [`Saturated`](Error::Saturated), and
/// anything else is a [`Transport`](Error::Transport) failure whose causes are its source.
///
/// ```
/// use llm_tower::gemini::Error;
///
/// let elapsed: tower::BoxError = Box::new(tower::timeout::error::Elapsed::new());
/// assert!(matches!(Error::from(elapsed), Error::Timeout));
/// ```
impl From<BoxError> for Error {
    fn from(error: BoxError) -> Self {
        let error = match error.downcast::<Self>() {
            Ok(error) => return *error,
            Err(error) => error,
        };
        let error = match error.downcast::<UpstreamError>() {
            Ok(error) => return Self::from(*error),
            Err(error) => error,
        };
        let error = match error.downcast::<MissingApiKey>() {
            Ok(error) => return Self::MissingApiKey(*error),
            Err(error) => error,
        };
        let error = match error.downcast::<Saturated>() {
            Ok(error) => return Self::Saturated(*error),
            Err(error) => error,
        };
        if error.is::<Elapsed>() {
            Self::Timeout
        } else if error.is::<Overloaded>() {
            Self::Overloaded
        } else {
            Self::from(UpstreamError::sending(error))
        }
    }
}

/// Phrases Google uses when the prompt is too long.
const CONTEXT_WINDOW_PHRASES: &[&str] = &[
    "exceeds the maximum number of tokens",
    "input token count",
    "context window",
    "request payload size exceeds",
];

impl From<Error> for ApiError {
    fn from(error: Error) -> Self {
        let error = match error {
            Error::Files(api) => return *api,
            other => other,
        };
        let api = match &error {
            Error::Upstream {
                status,
                google,
                message,
                retry_after,
            } => {
                let reason = google.as_ref().and_then(GoogleStatus::reason);
                let google_status = google.as_ref().map(|google| google.status.as_str());
                let lower = message.to_ascii_lowercase();
                let kind = match status.as_u16() {
                    _ if reason == Some("API_KEY_INVALID") => ErrorKind::Authentication,
                    400 if CONTEXT_WINDOW_PHRASES
                        .iter()
                        .any(|phrase| lower.contains(phrase)) =>
                    {
                        ErrorKind::ContextWindowExceeded
                    }
                    400 => ErrorKind::InvalidRequest,
                    401 => ErrorKind::Authentication,
                    403 => ErrorKind::PermissionDenied,
                    404 => ErrorKind::NotFound,
                    408 | 504 => ErrorKind::Timeout,
                    413 => ErrorKind::PayloadTooLarge,
                    429 => ErrorKind::RateLimit,
                    502 => ErrorKind::BadGateway,
                    503 => ErrorKind::ServiceUnavailable,
                    _ if status.is_client_error() => ErrorKind::InvalidRequest,
                    _ => ErrorKind::Api,
                };
                let mut api = ApiError::new(kind, format!("Gemini: {message}"));
                // Google's status name is the code, unless the kind says more than the
                // status does: then the code names the kind (`ContextWindowExceededError`)
                // or Google's `ErrorInfo.reason` (`API_KEY_INVALID`).
                let code = match kind {
                    ErrorKind::ContextWindowExceeded => None,
                    ErrorKind::Authentication if reason.is_some() => reason,
                    _ => google_status,
                };
                if let Some(code) = code.filter(|code| !code.is_empty()) {
                    api = api.with_code(code);
                }
                match retry_after {
                    Some(delay) => api.with_retry_after(*delay),
                    None => api,
                }
            }
            Error::MissingApiKey(_) => ApiError::new(ErrorKind::Authentication, error.to_string()),
            Error::Timeout => ApiError::new(ErrorKind::Timeout, error.to_string()),
            Error::Saturated(saturated) => ApiError::from(*saturated),
            Error::Transport(_) | Error::Overloaded => {
                ApiError::new(ErrorKind::ServiceUnavailable, error.to_string())
            }
            Error::Decode(_) | Error::Stream(_) | Error::Truncated(_) => {
                ApiError::new(ErrorKind::BadGateway, error.to_string())
            }
            Error::InvalidCall(_) => ApiError::invalid_request(error.to_string()),
            // Answered as it is above.
            Error::Files(_) => ApiError::new(ErrorKind::Api, error.to_string()),
        };
        api.with_source(error)
    }
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;

    #[test]
    fn a_transport_failure_keeps_its_cause_out_of_the_clients_message() {
        let cause =
            std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset by 10.0.0.7:443");
        let error = Error::from(BoxError::from(cause));
        let Error::Transport(upstream) = &error else {
            panic!("a transport failure, not {error:?}");
        };
        assert!(!upstream.is_connect() && !upstream.is_timeout());
        let api = ApiError::from(error);
        assert_eq!(api.kind(), ErrorKind::ServiceUnavailable);
        assert_eq!(api.message(), "could not reach Gemini");
        // Reachable through the sources: the Gemini error, the upstream error, the I/O error.
        let mut cause = api.source();
        let mut found = false;
        while let Some(current) = cause {
            found |= current.to_string().contains("10.0.0.7");
            cause = current.source();
        }
        assert!(found, "the cause is kept as a source");
    }

    #[test]
    fn timeouts_and_connect_failures_keep_their_kind() {
        let elapsed: BoxError = Box::new(Elapsed::new());
        assert!(matches!(Error::from(elapsed), Error::Timeout));
        let refused =
            UpstreamError::connect(std::io::Error::from(std::io::ErrorKind::ConnectionRefused));
        let Error::Transport(upstream) = Error::from(BoxError::from(refused)) else {
            panic!("a transport failure");
        };
        assert!(upstream.is_connect());
        assert!(matches!(
            Error::from(UpstreamError::timeout()),
            Error::Timeout
        ));
    }
}
