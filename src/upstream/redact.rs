//! [`redact_url`]: a URL as it may appear in logs, errors and `/health`: no userinfo, no
//! query string (signed URLs carry their signature there), no fragment, cut to a bounded
//! length (think `data:` URLs). [`redact_secret`]: text an upstream wrote (an error
//! message) without anything that looks like the key it was called with.

use std::borrow::Cow;

use url::Url;

/// What stands in for a redacted key.
const REDACTED: &str = "[redacted]";

/// The shortest key prefix that marks a word as the key (a key quoted in part).
const KEY_PREFIX: usize = 8;

/// `text` with every word that looks like `secret` replaced by `[redacted]`: the key
/// itself, or any word holding its first eight characters (an upstream quoting the key
/// cut or masked). Keys shorter than eight characters are replaced only whole.
///
/// ```
/// use llm_tower::upstream::redact::redact_secret;
///
/// let key = "sk-live-0123456789abcdef";
/// assert_eq!(
///     redact_secret("Incorrect API key provided: sk-live-0123456789abcdef.", key),
///     "Incorrect API key provided: [redacted]",
/// );
/// assert_eq!(redact_secret("key sk-live-01234***cdef is wrong", key), "key [redacted] is wrong");
/// assert_eq!(redact_secret("nothing to see", key), "nothing to see");
/// ```
pub fn redact_secret<'a>(text: &'a str, secret: &str) -> Cow<'a, str> {
    if secret.is_empty() {
        return Cow::Borrowed(text);
    }
    let marker = match secret.char_indices().nth(KEY_PREFIX) {
        Some((end, _)) => &secret[..end],
        None => secret,
    };
    if !text.contains(marker) {
        return Cow::Borrowed(text);
    }
    let mut redacted = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(found) = rest.find(marker) {
        // The word around the match: back to the last separator, on to the next one.
        let start = rest[..found].rfind(separator).map_or(0, |at| {
            at + rest[at..].chars().next().map_or(1, char::len_utf8)
        });
        let end = rest[found..]
            .find(separator)
            .map_or(rest.len(), |at| found + at);
        redacted.push_str(&rest[..start]);
        redacted.push_str(REDACTED);
        rest = &rest[end..];
    }
    redacted.push_str(rest);
    Cow::Owned(redacted)
}

/// What ends a word in an error message: space, quotes and JSON's punctuation.
fn separator(c: char) -> bool {
    c.is_whitespace()
        || matches!(
            c,
            '"' | '\'' | '`' | ',' | ';' | '(' | ')' | '[' | ']' | '{' | '}' | '<' | '>' | '\\'
        )
}

/// URLs are cut to this many bytes.
const MAX_REDACTED_LEN: usize = 256;

/// `url` with userinfo, query string and fragment removed, fit for logs and
/// error messages. Long results (e.g. `data:` URLs) are cut to 256 bytes and
/// end in `…`. Unparseable input is cleaned on a best-effort basis.
///
/// # Example
///
/// ```
/// use llm_tower::upstream::redact_url;
///
/// assert_eq!(
///     redact_url("https://user:pw@bucket.example.com/a.png?X-Amz-Signature=s3cr3t#frag"),
///     "https://bucket.example.com/a.png",
/// );
/// ```
pub fn redact_url(url: &str) -> String {
    match Url::parse(url) {
        Ok(parsed) => redact(&parsed),
        Err(_) => truncate(redact_unparsed(url)),
    }
}

/// [`redact_url`] of a parsed URL.
pub(crate) fn redact(url: &Url) -> String {
    let mut url = url.clone();
    url.set_query(None);
    url.set_fragment(None);
    // These fail only for URLs without a host, which have no userinfo anyway.
    let _ = url.set_username("");
    let _ = url.set_password(None);
    truncate(url.into())
}

fn redact_unparsed(url: &str) -> String {
    let url = url.split(['?', '#']).next().unwrap_or(url);
    let Some((scheme, rest)) = url.split_once("://") else {
        return url.to_owned();
    };
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    format!("{scheme}://{host}{path}")
}

fn truncate(mut text: String) -> String {
    if text.len() > MAX_REDACTED_LEN {
        let mut end = MAX_REDACTED_LEN;
        while !text.is_char_boundary(end) {
            end -= 1;
        }
        text.truncate(end);
        text.push('…');
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redact_url_strips_secrets() {
        assert_eq!(
            redact_url("https://user:pw@example.com:8443/a/b.png?sig=1&x=2#f"),
            "https://example.com:8443/a/b.png"
        );
        assert_eq!(redact_url("http://example.com"), "http://example.com/");
        assert_eq!(redact_url("gs://bucket/obj.pdf?x=1"), "gs://bucket/obj.pdf");
        assert_eq!(
            redact_url("http://user:pw@exa mple.com/a?token=1"),
            "http://exa mple.com/a"
        );
        assert_eq!(redact_url("not a url?secret"), "not a url");
        let long = format!("data:image/png;base64,{}", "é".repeat(400));
        let redacted = redact_url(&long);
        assert!(redacted.len() <= MAX_REDACTED_LEN + '…'.len_utf8());
        assert!(redacted.ends_with('…'));
    }
}
