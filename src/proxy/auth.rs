//! The proxy's door: the master key, from `Authorization: Bearer …` or `x-api-key` (and,
//! on the Gemini pass-through, `x-goog-api-key` or `?key=` as Google's SDKs send it),
//! compared in constant time.

use http::HeaderMap;
use subtle::ConstantTimeEq;

use super::config::Secret;

/// Checks presented keys against the master key.
///
/// ```
/// use llm_tower::proxy::auth::MasterKey;
/// use llm_tower::proxy::config::Secret;
///
/// let door = MasterKey::new(Some(Secret::new("sk-1234")));
/// let mut headers = http::HeaderMap::new();
/// headers.insert("authorization", "Bearer sk-1234".parse().unwrap());
/// assert!(door.admits(&headers, None, false));
/// assert!(!MasterKey::new(Some(Secret::new("other"))).admits(&headers, None, false));
/// ```
#[derive(Clone, Debug)]
pub struct MasterKey {
    key: Option<Secret>,
}

impl MasterKey {
    /// `None` leaves the proxy open.
    pub fn new(key: Option<Secret>) -> Self {
        Self { key }
    }

    /// Whether a key is required.
    pub fn is_set(&self) -> bool {
        self.key.is_some()
    }

    /// Whether the request presents the master key. `google_forms` also accepts
    /// `x-goog-api-key` and the `key` query parameter (the pass-through).
    pub fn admits(&self, headers: &HeaderMap, query: Option<&str>, google_forms: bool) -> bool {
        let Some(expected) = &self.key else {
            return true;
        };
        let expected = expected.expose().as_bytes();
        let bearer = headers
            .get(http::header::AUTHORIZATION)
            .and_then(|value| value.to_str().ok())
            .and_then(|value| {
                value
                    .strip_prefix("Bearer ")
                    .or_else(|| value.strip_prefix("bearer "))
            });
        let api_key = headers
            .get("x-api-key")
            .and_then(|value| value.to_str().ok());
        let google_header = google_forms
            .then(|| {
                headers
                    .get("x-goog-api-key")
                    .and_then(|value| value.to_str().ok())
            })
            .flatten();
        let google_query = google_forms.then(|| query.and_then(key_param)).flatten();
        [bearer, api_key, google_header, google_query.as_deref()]
            .into_iter()
            .flatten()
            .any(|presented| bool::from(presented.trim().as_bytes().ct_eq(expected)))
    }
}

/// The `key` parameter of a query string.
pub(crate) fn key_param(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "key")
        .map(|(_, value)| value.into_owned())
}
