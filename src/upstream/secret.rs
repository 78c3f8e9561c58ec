//! [`Secret`]: a string that never shows itself in `Debug` or `Display` output: API keys,
//! the proxy's master key, credentials a client sends. It is the one secret type of the
//! crate; providers put it in their auth header with [`Secret::header_value`].

use std::fmt;
use std::sync::Arc;

use http::HeaderValue;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

/// A secret string: `Debug` and `Display` print `[REDACTED]`; [`expose`](Self::expose)
/// returns the value. Clones share the value. It serializes as the plain string (requests
/// carry it on the wire).
///
/// ```rust
/// use llm_tower::Secret;
///
/// let key = Secret::new("sk-1234");
/// assert_eq!(format!("{key} {key:?}"), "[REDACTED] [REDACTED]");
/// assert_eq!(key.expose(), "sk-1234");
/// assert!(key.header_value().unwrap().is_sensitive());
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(Arc<str>);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<Arc<str>>) -> Self {
        Self(value.into())
    }

    /// The secret value itself. Compare it in constant time when checking a client's key.
    pub fn expose(&self) -> &str {
        &self.0
    }

    /// The value as a header value marked sensitive (HTTP/2 never indexes it, and
    /// `Debug` hides it), or `None` if it cannot be a header value.
    pub fn header_value(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::from_str(&self.0).ok()?;
        value.set_sensitive(true);
        Some(value)
    }

    /// `Bearer {value}` as a sensitive header value, for `Authorization`.
    pub fn bearer_header_value(&self) -> Option<HeaderValue> {
        let mut value = HeaderValue::from_str(&format!("Bearer {}", self.0)).ok()?;
        value.set_sensitive(true);
        Some(value)
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

impl Serialize for Secret {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(&self.0)
    }
}

impl<'de> Deserialize<'de> for Secret {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        String::deserialize(deserializer).map(Self::new)
    }
}
