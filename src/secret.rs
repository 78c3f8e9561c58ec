//! [`Secret`]: a string that never shows itself in `Debug` or `Display` output (API keys,
//! the proxy's master key).

use std::fmt;

use serde::{Deserialize, Serialize};

/// A secret string: `Debug` and `Display` print `[REDACTED]`; [`expose`](Self::expose)
/// returns the value. It serializes as the plain string (requests carry it on the wire).
///
/// ```rust
/// use llm_tower::Secret;
///
/// let key = Secret::new("sk-1234");
/// assert_eq!(format!("{key} {key:?}"), "[REDACTED] [REDACTED]");
/// assert_eq!(key.expose(), "sk-1234");
/// ```
#[derive(Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Compare it in constant time when checking a client's key.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl fmt::Debug for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}

impl fmt::Display for Secret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("[REDACTED]")
    }
}
