//! The OpenAI-level error: what a client sees, with the HTTP status and OpenAI error type
//! it maps to. Lower levels convert into it with `From`; only the HTTP edge renders it as
//! the OpenAI envelope `{"error":{"message","type","param","code"}}`.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use http::StatusCode;
use serde::Serialize;
use tower::BoxError;
use tower::load_shed::error::Overloaded;
use tower::timeout::error::Elapsed;

/// What went wrong, in OpenAI/LiteLLM terms. Each kind has one HTTP status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// 400: the request is malformed or inconsistent.
    InvalidRequest,
    /// 400: a parameter the provider cannot honour (LiteLLM's `UnsupportedParamsError`).
    UnsupportedParams,
    /// 400: the prompt does not fit the model's context window.
    ContextWindowExceeded,
    /// 400: the upstream refused the content on policy grounds.
    ContentPolicyViolation,
    /// 401: missing or invalid credentials.
    Authentication,
    /// 403: the key may not do this.
    PermissionDenied,
    /// 404: unknown model, route or resource.
    NotFound,
    /// 405: the route exists, the method does not.
    MethodNotAllowed,
    /// 408: the client took too long to send the request.
    RequestTimeout,
    /// 413: the request body is too large.
    PayloadTooLarge,
    /// 429: rate or quota limit.
    RateLimit,
    /// 500: the upstream failed, or its reply made no sense.
    Api,
    /// 500: the reply does not match the requested JSON schema.
    JsonSchemaValidation,
    /// 501: the route exists but is not implemented.
    NotImplemented,
    /// 502: the upstream answered with something that is not its API (an HTML proxy page).
    BadGateway,
    /// 503: the upstream is overloaded or unreachable.
    ServiceUnavailable,
    /// 504: the upstream took too long.
    Timeout,
}

impl ErrorKind {
    /// HTTP status of this kind.
    pub fn status(self) -> StatusCode {
        match self {
            Self::InvalidRequest
            | Self::UnsupportedParams
            | Self::ContextWindowExceeded
            | Self::ContentPolicyViolation => StatusCode::BAD_REQUEST,
            Self::Authentication => StatusCode::UNAUTHORIZED,
            Self::PermissionDenied => StatusCode::FORBIDDEN,
            Self::NotFound => StatusCode::NOT_FOUND,
            Self::MethodNotAllowed => StatusCode::METHOD_NOT_ALLOWED,
            Self::RequestTimeout => StatusCode::REQUEST_TIMEOUT,
            Self::PayloadTooLarge => StatusCode::PAYLOAD_TOO_LARGE,
            Self::RateLimit => StatusCode::TOO_MANY_REQUESTS,
            Self::Api | Self::JsonSchemaValidation => StatusCode::INTERNAL_SERVER_ERROR,
            Self::NotImplemented => StatusCode::NOT_IMPLEMENTED,
            Self::BadGateway => StatusCode::BAD_GATEWAY,
            Self::ServiceUnavailable => StatusCode::SERVICE_UNAVAILABLE,
            Self::Timeout => StatusCode::GATEWAY_TIMEOUT,
        }
    }

    /// OpenAI's `error.type` for this kind.
    pub fn openai_type(self) -> &'static str {
        match self {
            Self::InvalidRequest
            | Self::UnsupportedParams
            | Self::ContextWindowExceeded
            | Self::ContentPolicyViolation
            | Self::MethodNotAllowed
            | Self::PayloadTooLarge => "invalid_request_error",
            Self::NotFound => "not_found_error",
            Self::Authentication => "authentication_error",
            Self::PermissionDenied => "permission_error",
            Self::RateLimit => "rate_limit_error",
            Self::Api | Self::JsonSchemaValidation | Self::NotImplemented => "api_error",
            Self::BadGateway | Self::ServiceUnavailable => "service_unavailable_error",
            Self::Timeout | Self::RequestTimeout => "timeout_error",
        }
    }

    /// LiteLLM's exception name, used as `error.code` when no finer code is known.
    pub fn litellm_name(self) -> &'static str {
        match self {
            Self::InvalidRequest => "BadRequestError",
            Self::UnsupportedParams => "UnsupportedParamsError",
            Self::ContextWindowExceeded => "ContextWindowExceededError",
            Self::ContentPolicyViolation => "ContentPolicyViolationError",
            Self::Authentication => "AuthenticationError",
            Self::PermissionDenied => "PermissionDeniedError",
            Self::NotFound => "NotFoundError",
            Self::MethodNotAllowed => "MethodNotAllowedError",
            Self::RequestTimeout => "Timeout",
            Self::PayloadTooLarge => "RequestTooLargeError",
            Self::RateLimit => "RateLimitError",
            Self::Api => "InternalServerError",
            Self::JsonSchemaValidation => "JSONSchemaValidationError",
            Self::NotImplemented => "NotImplementedError",
            Self::BadGateway => "BadGatewayError",
            Self::ServiceUnavailable => "ServiceUnavailableError",
            Self::Timeout => "Timeout",
        }
    }
}

/// An error a client sees.
///
/// ```
/// use llm_tower::{Error, ErrorKind};
///
/// let error = Error::unsupported_param("gemini", "logit_bias");
/// assert_eq!(error.kind(), ErrorKind::UnsupportedParams);
/// assert_eq!(error.status(), 400);
/// assert_eq!(error.param(), Some("logit_bias"));
/// ```
#[derive(Debug, Clone)]
pub struct Error {
    kind: ErrorKind,
    message: String,
    // Boxed strings keep the error small (it travels in every `Result` of the stack).
    param: Option<Box<str>>,
    code: Option<Box<str>>,
    retry_after: Option<Duration>,
    raw_response: Option<String>,
    source: Option<Arc<dyn std::error::Error + Send + Sync>>,
}

/// Errors compare by what a client sees; the [`source`](std::error::Error::source) is not
/// part of that.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
            && self.message == other.message
            && self.param == other.param
            && self.code == other.code
            && self.retry_after == other.retry_after
            && self.raw_response == other.raw_response
    }
}

impl Error {
    /// An error of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        Self {
            kind,
            message: message.into(),
            param: None,
            code: None,
            retry_after: None,
            raw_response: None,
            source: None,
        }
    }

    /// A 400 about the request.
    pub fn invalid_request(message: impl Into<String>) -> Self {
        Self::new(ErrorKind::InvalidRequest, message)
    }

    /// A 400 about one parameter.
    pub fn invalid_param(param: impl Into<String>, message: impl Into<String>) -> Self {
        Self::invalid_request(message).with_param(param)
    }

    /// LiteLLM's `UnsupportedParamsError` for `param`, which `provider` cannot honour.
    pub fn unsupported_param(provider: &str, param: &str) -> Self {
        Self::new(
            ErrorKind::UnsupportedParams,
            format!(
                "UnsupportedParamsError: {provider} does not support parameters: ['{param}']. \
                 To drop unsupported params set `drop_params: true`."
            ),
        )
        .with_param(param)
    }

    /// Names the parameter the error is about.
    pub fn with_param(mut self, param: impl Into<String>) -> Self {
        self.param = Some(param.into().into_boxed_str());
        self
    }

    /// Sets `error.code`.
    pub fn with_code(mut self, code: impl Into<String>) -> Self {
        self.code = Some(code.into().into_boxed_str());
        self
    }

    /// Sets the delay a client should wait before retrying.
    pub fn with_retry_after(mut self, delay: Duration) -> Self {
        self.retry_after = Some(delay);
        self
    }

    /// Attaches the model's raw output (schema validation failures).
    pub fn with_raw_response(mut self, raw: impl Into<String>) -> Self {
        self.raw_response = Some(raw.into());
        self
    }

    /// Keeps the lower-level error this one was made from, for
    /// [`source`](std::error::Error::source) (logs and error reports; a client sees only
    /// the message).
    pub fn with_source(
        mut self,
        source: impl Into<Box<dyn std::error::Error + Send + Sync>>,
    ) -> Self {
        self.source = Some(Arc::from(source.into()));
        self
    }

    /// The kind.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.kind.status()
    }

    /// The message.
    pub fn message(&self) -> &str {
        &self.message
    }

    /// The parameter the error is about.
    pub fn param(&self) -> Option<&str> {
        self.param.as_deref()
    }

    /// `error.code`: an explicit code, else LiteLLM's exception name.
    pub fn code(&self) -> &str {
        self.code.as_deref().unwrap_or(self.kind.litellm_name())
    }

    /// When to retry, if the upstream said.
    pub fn retry_after(&self) -> Option<Duration> {
        self.retry_after
    }

    /// The model's raw output, for schema validation failures.
    pub fn raw_response(&self) -> Option<&str> {
        self.raw_response.as_deref()
    }

    /// The OpenAI error envelope as a serializable value.
    ///
    /// ```
    /// use llm_tower::Error;
    /// let json = serde_json::to_string(&Error::invalid_request("messages is empty").envelope())?;
    /// assert_eq!(json, r#"{"error":{"message":"messages is empty","type":"invalid_request_error","param":null,"code":"BadRequestError"}}"#);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn envelope(&self) -> Envelope<'_> {
        Envelope {
            error: EnvelopeBody {
                message: &self.message,
                kind: self.kind.openai_type(),
                param: self.param.as_deref(),
                code: self.code(),
                raw_response: self.raw_response.as_deref(),
                request_id: None,
            },
        }
    }
}

impl fmt::Display for Error {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{} ({}): {}",
            self.kind.litellm_name(),
            self.status().as_u16(),
            self.message
        )
    }
}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// A call refused by an in-flight limit: a 429 [`RateLimit`](ErrorKind::RateLimit) with
/// its `Retry-After`.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::{Error, ErrorKind, upstream::Saturated};
///
/// let error = Error::from(Saturated::new(8, Duration::from_secs(1)));
/// assert_eq!(error.kind(), ErrorKind::RateLimit);
/// assert_eq!(error.retry_after(), Some(Duration::from_secs(1)));
/// ```
impl From<crate::upstream::Saturated> for Error {
    fn from(saturated: crate::upstream::Saturated) -> Self {
        Self::new(ErrorKind::RateLimit, saturated.to_string())
            .with_retry_after(saturated.retry_after())
            .with_source(saturated)
    }
}

/// An error from a layer at the OpenAI level (tower's and tower-http's own, or yours): an
/// [`Error`] comes back as itself, an upstream failure as its kind, a
/// [`Saturated`](crate::upstream::Saturated) in-flight limit a 429
/// [`RateLimit`](ErrorKind::RateLimit) with its `Retry-After`, tower's `Elapsed` is a
/// 504 [`Timeout`](ErrorKind::Timeout), `Overloaded` a 503
/// [`ServiceUnavailable`](ErrorKind::ServiceUnavailable), anything else a 500
/// [`Api`](ErrorKind::Api) error with a generic message: its causes never reach the
/// client. The original error is kept as the [`source`](std::error::Error::source), which
/// the HTTP edge logs when it answers with the error.
///
/// ```
/// use llm_tower::{Error, ErrorKind};
///
/// let shed: tower::BoxError = Box::new(tower::load_shed::error::Overloaded::new());
/// assert_eq!(Error::from(shed).kind(), ErrorKind::ServiceUnavailable);
/// ```
impl From<BoxError> for Error {
    fn from(error: BoxError) -> Self {
        let error = match error.downcast::<Self>() {
            Ok(error) => return *error,
            Err(error) => error,
        };
        let error = match error.downcast::<crate::upstream::Error>() {
            Ok(error) => return Self::from(*error),
            Err(error) => error,
        };
        let error = match error.downcast::<crate::upstream::Saturated>() {
            Ok(saturated) => return Self::from(*saturated),
            Err(error) => error,
        };
        let (kind, message) = if error.is::<Elapsed>() {
            (ErrorKind::Timeout, "no reply in time".to_owned())
        } else if error.is::<Overloaded>() {
            (
                ErrorKind::ServiceUnavailable,
                "too many requests in flight; try again shortly".to_owned(),
            )
        } else {
            // The chain may name internal hosts and state: it stays the source (the edge
            // logs it); the client reads that the server failed.
            (ErrorKind::Api, INTERNAL.to_owned())
        };
        Self::new(kind, message).with_source(error)
    }
}

/// The client's message for a failure whose causes are the server's business.
const INTERNAL: &str = "the request failed inside the server; the details are in its log";

/// `{"error": {…}}`.
#[derive(Debug, Serialize)]
pub struct Envelope<'a> {
    /// The error object.
    pub error: EnvelopeBody<'a>,
}

/// `{"message","type","param","code"}` (and `raw_response` for schema validation errors).
#[derive(Debug, Serialize)]
pub struct EnvelopeBody<'a> {
    /// Human-readable message.
    pub message: &'a str,
    /// OpenAI error type.
    #[serde(rename = "type")]
    pub kind: &'static str,
    /// Parameter at fault.
    pub param: Option<&'a str>,
    /// Machine-readable code.
    pub code: &'a str,
    /// The model's raw output.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub raw_response: Option<&'a str>,
    /// The id of the request that failed (`x-request-id`), where one is known.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub request_id: Option<&'a str>,
}

/// An upstream failure below any API: a timeout is a 504, anything else a 503.
impl From<crate::upstream::Error> for Error {
    fn from(error: crate::upstream::Error) -> Self {
        use crate::upstream::error::ErrorKind as Upstream;
        let kind = match error.kind() {
            Upstream::Timeout => ErrorKind::Timeout,
            Upstream::TooLarge { .. } => ErrorKind::BadGateway,
            _ => ErrorKind::ServiceUnavailable,
        };
        Self::new(kind, error.to_string()).with_source(error)
    }
}

/// A request body that does not decode. Broken JSON text (a syntax error, a truncated
/// body) names no parameter; a wrong value names its path (`messages[1].content`), and a
/// missing field names the field (`model`, `messages[0].role`).
impl From<serde_path_to_error::Error<serde_json::Error>> for Error {
    fn from(error: serde_path_to_error::Error<serde_json::Error>) -> Self {
        let path = error.path().to_string();
        let inner = error.into_inner();
        if inner.is_syntax() || inner.is_eof() {
            return Error::invalid_request(format!("invalid request body: {inner}"));
        }
        let at = |field: &str| {
            if path == "." {
                field.to_owned()
            } else {
                format!("{path}.{field}")
            }
        };
        let message = inner.to_string();
        let param = match message
            .strip_prefix("missing field `")
            .and_then(|rest| rest.split_once('`'))
        {
            Some((field, _)) => Some(at(field)),
            None => (path != ".").then(|| path.clone()),
        };
        let message = if path == "." {
            format!("invalid request body: {message}")
        } else {
            format!("invalid request body at `{path}`: {message}")
        };
        match param {
            Some(param) => Error::invalid_param(param, message),
            None => Error::invalid_request(message),
        }
    }
}

/// An error and its sources, `: `-separated, each cause once (reqwest's own message is
/// only "error sending request"; the reason, e.g. "Connection refused", is in the sources).
pub(crate) fn error_chain(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut cause = error.source();
    while let Some(current) = cause {
        let part = current.to_string();
        if !part.is_empty() && !text.contains(&part) {
            text.push_str(": ");
            text.push_str(&part);
        }
        cause = current.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A user layer's failure whose text names internal state.
    #[derive(Debug, thiserror::Error)]
    #[error("pool for 10.0.0.7:443 exhausted after 3 attempts")]
    struct Internal(#[source] std::io::Error);

    /// The messages of an error and all its sources.
    fn chain(error: &(dyn std::error::Error + 'static)) -> Vec<String> {
        let mut causes = Vec::new();
        let mut cause = Some(error);
        while let Some(current) = cause {
            causes.push(current.to_string());
            cause = current.source();
        }
        causes
    }

    #[test]
    fn an_unknown_failure_tells_the_client_nothing_of_its_causes() {
        let cause = std::io::Error::other("tls: bad record mac from 10.0.0.7");
        let error = Error::from(BoxError::from(Internal(cause)));
        assert_eq!(error.kind(), ErrorKind::Api);
        assert_eq!(error.message(), INTERNAL);
        let envelope = serde_json::to_string(&error.envelope()).expect("JSON");
        assert!(!envelope.contains("10.0.0.7"), "{envelope}");
        // The detail stays reachable for logs and reports.
        let causes = chain(&error);
        assert!(
            causes.iter().any(|cause| cause.contains("exhausted")),
            "{causes:?}"
        );
        assert!(
            causes.iter().any(|cause| cause.contains("bad record mac")),
            "{causes:?}"
        );
    }

    #[test]
    fn an_upstream_failure_names_its_kind_and_keeps_its_cause() {
        let refused = std::io::Error::new(
            std::io::ErrorKind::ConnectionRefused,
            "connect to 10.0.0.7:443 refused",
        );
        let error = Error::from(BoxError::from(crate::upstream::Error::connect(refused)));
        assert_eq!(error.kind(), ErrorKind::ServiceUnavailable);
        assert_eq!(error.message(), "could not connect to the upstream");
        let causes = chain(&error);
        assert!(
            causes.iter().any(|cause| cause.contains("10.0.0.7")),
            "{causes:?}"
        );
        let timeout = Error::from(crate::upstream::Error::timeout());
        assert_eq!(timeout.kind(), ErrorKind::Timeout);
        let large = Error::from(crate::upstream::Error::too_large(8));
        assert_eq!(large.kind(), ErrorKind::BadGateway);
    }
}
