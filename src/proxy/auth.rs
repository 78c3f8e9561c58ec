//! The proxy's door: the master key, presented the ways LiteLLM accepts it —
//! `Authorization: Bearer …` (or a bare `Authorization: sk-…`), `x-api-key` (Anthropic's
//! SDKs), `api-key` (Azure's SDKs) and `x-litellm-api-key` (and, on the Gemini
//! pass-through, `x-goog-api-key` or `?key=` as Google's SDKs send it) — compared in
//! constant time.

use http::HeaderMap;
use subtle::{Choice, ConstantTimeEq};

use super::config::Secret;

/// Headers that carry the key as their whole value.
const KEY_HEADERS: [&str; 3] = ["x-api-key", "api-key", "x-litellm-api-key"];

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
///
/// let mut azure = http::HeaderMap::new();
/// azure.insert("api-key", "sk-1234".parse().unwrap());
/// assert!(door.admits(&azure, None, false));
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

    /// Whether the request presents the master key in any of the accepted places.
    /// `google_forms` also accepts `x-goog-api-key` and the `key` query parameter (the
    /// pass-through). Every presented value is compared, so the time taken does not say
    /// which header (if any) matched.
    pub fn admits(&self, headers: &HeaderMap, query: Option<&str>, google_forms: bool) -> bool {
        let Some(expected) = &self.key else {
            return true;
        };
        let expected = expected.expose().as_bytes();
        let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
        let authorization = header(http::header::AUTHORIZATION.as_str()).map(strip_scheme);
        let google_header = google_forms.then(|| header("x-goog-api-key")).flatten();
        let google_query = google_forms.then(|| query.and_then(key_param)).flatten();
        let matched = KEY_HEADERS
            .iter()
            .map(|name| header(name))
            .chain([authorization, google_header, google_query.as_deref()])
            .flatten()
            .fold(Choice::from(0), |matched, presented| {
                matched | presented.trim().as_bytes().ct_eq(expected)
            });
        bool::from(matched)
    }
}

/// The key a request presents, for the virtual-key lookup when it is not the master key:
/// the first of `Authorization`, `x-api-key`, `api-key`, `x-litellm-api-key` (and, with
/// `google_forms`, `x-goog-api-key` and `?key=`).
pub(crate) fn presented(
    headers: &HeaderMap,
    query: Option<&str>,
    google_forms: bool,
) -> Option<String> {
    let header = |name: &str| headers.get(name).and_then(|value| value.to_str().ok());
    let authorization = header(http::header::AUTHORIZATION.as_str()).map(strip_scheme);
    let google_header = google_forms.then(|| header("x-goog-api-key")).flatten();
    [authorization]
        .into_iter()
        .chain(KEY_HEADERS.iter().map(|name| header(name)))
        .chain([google_header])
        .flatten()
        .map(|value| value.trim().to_owned())
        .find(|value| !value.is_empty())
        .or_else(|| google_forms.then(|| query.and_then(key_param)).flatten())
}

/// The token of an `Authorization` value: after `Bearer ` (any case), else the whole value
/// (LiteLLM accepts a bare `Authorization: sk-…`).
fn strip_scheme(value: &str) -> &str {
    match value.split_once(' ') {
        Some((scheme, token)) if scheme.eq_ignore_ascii_case("bearer") => token,
        _ => value,
    }
}

/// The `key` parameter of a query string.
pub(crate) fn key_param(query: &str) -> Option<String> {
    url::form_urlencoded::parse(query.as_bytes())
        .find(|(name, _)| name == "key")
        .map(|(_, value)| value.into_owned())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn door() -> MasterKey {
        MasterKey::new(Some(Secret::new("sk-1234")))
    }

    fn with(name: &'static str, value: &str) -> HeaderMap {
        let mut headers = HeaderMap::new();
        headers.insert(name, value.parse().unwrap());
        headers
    }

    #[test]
    fn every_litellm_header_form_is_admitted() {
        for (name, value) in [
            ("authorization", "Bearer sk-1234"),
            ("authorization", "bearer sk-1234"),
            ("authorization", "BEARER sk-1234"),
            ("authorization", "sk-1234"),
            ("x-api-key", "sk-1234"),
            ("api-key", "sk-1234"),
            ("x-litellm-api-key", "sk-1234"),
            ("x-litellm-api-key", " sk-1234 "),
        ] {
            assert!(
                door().admits(&with(name, value), None, false),
                "{name}: {value}"
            );
        }
    }

    #[test]
    fn wrong_or_partial_keys_are_refused() {
        for (name, value) in [
            ("authorization", "Bearer sk-123"),
            ("authorization", "Bearer sk-12345"),
            ("authorization", "Basic sk-1234"),
            ("authorization", "Bearer"),
            ("api-key", "Bearer sk-1234"),
            ("x-litellm-api-key", ""),
            ("x-goog-api-key", "sk-1234"),
            ("openai-api-key", "sk-1234"),
        ] {
            assert!(
                !door().admits(&with(name, value), None, false),
                "{name}: {value}"
            );
        }
        assert!(!door().admits(&HeaderMap::new(), Some("key=sk-1234"), false));
    }

    #[test]
    fn one_right_header_among_wrong_ones_is_admitted() {
        let mut headers = with("authorization", "Bearer wrong");
        headers.insert("api-key", "also-wrong".parse().unwrap());
        headers.insert("x-litellm-api-key", "sk-1234".parse().unwrap());
        assert!(door().admits(&headers, None, false));
    }

    #[test]
    fn google_forms_only_where_asked_for() {
        let headers = with("x-goog-api-key", "sk-1234");
        assert!(door().admits(&headers, None, true));
        assert!(door().admits(&HeaderMap::new(), Some("alt=sse&key=sk-1234"), true));
        assert!(!door().admits(&HeaderMap::new(), Some("key=nope"), true));
    }

    #[test]
    fn the_presented_key_is_found_where_litellm_looks() {
        assert_eq!(
            presented(&with("authorization", "Bearer sk-a"), None, false).as_deref(),
            Some("sk-a")
        );
        assert_eq!(
            presented(&with("x-api-key", " sk-b "), None, false).as_deref(),
            Some("sk-b")
        );
        assert_eq!(
            presented(&with("x-goog-api-key", "sk-c"), None, false),
            None
        );
        assert_eq!(
            presented(&with("x-goog-api-key", "sk-c"), None, true).as_deref(),
            Some("sk-c")
        );
        assert_eq!(
            presented(&HeaderMap::new(), Some("key=sk-d"), true).as_deref(),
            Some("sk-d")
        );
        assert_eq!(presented(&HeaderMap::new(), Some("key=sk-d"), false), None);
    }

    #[test]
    fn no_master_key_admits_everyone() {
        assert!(MasterKey::new(None).admits(&HeaderMap::new(), None, false));
    }
}
