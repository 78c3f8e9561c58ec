//! [`redact_url`]: a URL as it may appear in logs, errors and `/health`: no userinfo, no
//! query string (signed URLs carry their signature there), no fragment, cut to a bounded
//! length (think `data:` URLs).

use url::Url;

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
