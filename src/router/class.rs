//! [`ErrorClass`]: LiteLLM's classes of a failed call, which decide whether the router
//! retries it, counts it toward a cooldown and which fallback list applies.

use std::str::FromStr;

use crate::error::{Error, ErrorKind};

/// The class of a failed call, as LiteLLM's `retry_policy` and `allowed_fails_policy` name
/// them (`RateLimitErrorRetries`, `TimeoutErrorAllowedFails`, …).
///
/// ```
/// use llm_tower::{Error, ErrorKind};
/// use llm_tower::router::ErrorClass;
///
/// let error = Error::new(ErrorKind::ServiceUnavailable, "The model is overloaded.");
/// assert_eq!(ErrorClass::of(&error), ErrorClass::InternalServer);
/// assert_eq!("RateLimitError".parse(), Ok(ErrorClass::RateLimit));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorClass {
    /// A 400-class refusal of the request (and 403, 405, 413, a reply that fails its
    /// schema): the same request fails the same way.
    BadRequest,
    /// 400: the prompt does not fit the model's context window.
    ContextWindowExceeded,
    /// 400: the content was refused on policy grounds (or a reply blocked for safety, where
    /// a content-policy fallback is configured).
    ContentPolicyViolation,
    /// 401: the deployment's key is not accepted.
    Authentication,
    /// 404: the deployment's model does not exist.
    NotFound,
    /// 408 or 504, or no reply in time.
    Timeout,
    /// 429: the deployment's quota or rate is exhausted.
    RateLimit,
    /// 5xx: the upstream failed, is overloaded, or could not be reached.
    InternalServer,
}

/// Every class, in the order of LiteLLM's policy keys.
pub(crate) const CLASSES: [ErrorClass; 8] = [
    ErrorClass::BadRequest,
    ErrorClass::ContextWindowExceeded,
    ErrorClass::ContentPolicyViolation,
    ErrorClass::Authentication,
    ErrorClass::NotFound,
    ErrorClass::Timeout,
    ErrorClass::RateLimit,
    ErrorClass::InternalServer,
];

impl ErrorClass {
    /// The class of `error`.
    pub fn of(error: &Error) -> Self {
        match error.kind() {
            ErrorKind::ContextWindowExceeded => Self::ContextWindowExceeded,
            ErrorKind::ContentPolicyViolation => Self::ContentPolicyViolation,
            ErrorKind::Authentication => Self::Authentication,
            ErrorKind::NotFound => Self::NotFound,
            ErrorKind::RequestTimeout | ErrorKind::Timeout => Self::Timeout,
            ErrorKind::RateLimit => Self::RateLimit,
            ErrorKind::Api
            | ErrorKind::BadGateway
            | ErrorKind::ServiceUnavailable
            | ErrorKind::NotImplemented => Self::InternalServer,
            _ => Self::BadRequest,
        }
    }

    /// LiteLLM's exception name of the class (the stem of its policy keys).
    pub fn litellm_name(self) -> &'static str {
        match self {
            Self::BadRequest => "BadRequestError",
            Self::ContextWindowExceeded => "ContextWindowExceededError",
            Self::ContentPolicyViolation => "ContentPolicyViolationError",
            Self::Authentication => "AuthenticationError",
            Self::NotFound => "NotFoundError",
            Self::Timeout => "TimeoutError",
            Self::RateLimit => "RateLimitError",
            Self::InternalServer => "InternalServerError",
        }
    }

    /// Whether a failure of this class counts toward a deployment's cooldown: LiteLLM's
    /// rule (429, 401, 404, timeouts and 5xx; a refused request says nothing of the
    /// deployment's health).
    pub fn counts_toward_cooldown(self) -> bool {
        matches!(
            self,
            Self::Authentication
                | Self::NotFound
                | Self::Timeout
                | Self::RateLimit
                | Self::InternalServer
        )
    }

    pub(crate) fn position(self) -> usize {
        CLASSES
            .iter()
            .position(|class| *class == self)
            .unwrap_or_default()
    }
}

/// A name that is not one of the classes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown error class {0:?}")]
pub struct UnknownClass(pub String);

impl FromStr for ErrorClass {
    type Err = UnknownClass;

    /// `RateLimitError` (or `RateLimit`); `TimeoutError` and `Timeout` alike.
    fn from_str(name: &str) -> Result<Self, UnknownClass> {
        let stem = name.strip_suffix("Error").unwrap_or(name);
        CLASSES
            .into_iter()
            .find(|class| class.litellm_name().trim_end_matches("Error") == stem)
            .ok_or_else(|| UnknownClass(name.to_owned()))
    }
}

/// A number per [`ErrorClass`], with a default for the classes not set: a
/// `retry_policy` (`RateLimitErrorRetries: 3`) or an `allowed_fails_policy`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct PerClass {
    values: [Option<u32>; CLASSES.len()],
}

impl PerClass {
    /// None set.
    pub fn new() -> Self {
        Self::default()
    }

    /// Sets the value of `class`.
    pub fn set(mut self, class: ErrorClass, value: u32) -> Self {
        self.values[class.position()] = Some(value);
        self
    }

    /// The value of `class`, if set.
    pub fn get(&self, class: ErrorClass) -> Option<u32> {
        self.values[class.position()]
    }

    /// Whether any class is set.
    pub fn is_empty(&self) -> bool {
        self.values.iter().all(Option::is_none)
    }

    /// The largest value set.
    pub fn max(&self) -> Option<u32> {
        self.values.iter().flatten().copied().max()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_class_parses_from_its_litellm_name_and_stem() {
        for class in CLASSES {
            assert_eq!(class.litellm_name().parse(), Ok(class));
            assert_eq!(
                class.litellm_name().trim_end_matches("Error").parse(),
                Ok(class)
            );
        }
        assert!("Overloaded".parse::<ErrorClass>().is_err());
    }

    #[test]
    fn only_health_failures_count_toward_a_cooldown() {
        let counted: Vec<_> = CLASSES
            .into_iter()
            .filter(|class| class.counts_toward_cooldown())
            .collect();
        assert_eq!(
            counted,
            [
                ErrorClass::Authentication,
                ErrorClass::NotFound,
                ErrorClass::Timeout,
                ErrorClass::RateLimit,
                ErrorClass::InternalServer
            ]
        );
    }
}
