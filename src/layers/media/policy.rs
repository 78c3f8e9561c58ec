//! What a download may do ([`FetchPolicy`]), what it returns ([`Fetched`]) and how it fails
//! ([`FetchError`]).

use std::time::Duration;

use bytes::Bytes;

/// Default for [`FetchPolicy::max_bytes`]: 20 MiB.
pub const DEFAULT_MAX_BYTES: usize = 20 * 1024 * 1024;

/// Default for [`FetchPolicy::timeout`]: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// Where a download may go and how big it may be.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use llm_tower::layers::media::FetchPolicy;
///
/// let mut policy = FetchPolicy::default();
/// // An internal object store, reachable although it is on a private network.
/// policy.allowed_hosts = vec!["minio.internal:9000".into()];
/// policy.timeout = Duration::from_secs(5);
/// assert_eq!(policy.max_bytes, 20 * 1024 * 1024);
/// assert!(policy.allow_http);
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct FetchPolicy {
    /// Largest body accepted, in bytes. Default 20 MiB.
    pub max_bytes: usize,
    /// Time allowed for the whole download, redirects included. Default 10 s.
    pub timeout: Duration,
    /// Hosts that may be fetched even when they are private, loopback, etc.:
    /// exact host names or IP literals, case-insensitive, optionally as
    /// `host:port` (IPv6 as `[::1]:port`) to allow only that port. A name
    /// entry allows that name, not other names resolving to the same address.
    pub allowed_hosts: Vec<String>,
    /// Whether plain `http` URLs may be fetched. Default `true`.
    pub allow_http: bool,
}

impl FetchPolicy {
    /// The default policy, also allowing `hosts` (see
    /// [`allowed_hosts`](Self::allowed_hosts)).
    ///
    /// ```
    /// use llm_tower::layers::media::FetchPolicy;
    ///
    /// let policy = FetchPolicy::allowing(["minio.internal:9000"]);
    /// assert_eq!(policy.allowed_hosts, ["minio.internal:9000"]);
    /// ```
    pub fn allowing<I>(hosts: I) -> Self
    where
        I: IntoIterator,
        I::Item: Into<String>,
    {
        Self {
            allowed_hosts: hosts.into_iter().map(Into::into).collect(),
            ..Self::default()
        }
    }
}

impl Default for FetchPolicy {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            timeout: DEFAULT_TIMEOUT,
            allowed_hosts: Vec::new(),
            allow_http: true,
        }
    }
}

/// A downloaded body and its media type.
///
/// # Example
///
/// ```
/// use llm_tower::layers::media::Fetched;
///
/// let fetched = Fetched {
///     mime_type: "image/png".into(),
///     data: bytes::Bytes::from_static(b"\x89PNG"),
/// };
/// assert_eq!(fetched.data.len(), 4);
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Fetched {
    /// Media type, e.g. `image/png`, lowercased and without parameters.
    pub mime_type: String,
    /// The response body.
    pub data: Bytes,
}

/// Why a download failed.
///
/// URLs in these errors have been passed through [`redact_url`](crate::upstream::redact_url): no userinfo,
/// query string or fragment.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum FetchError {
    /// The URL could not be parsed, or a redirect pointed nowhere sensible.
    /// Also returned by [`MediaFetcher::new`](super::MediaFetcher::new) for a malformed
    /// [`FetchPolicy::allowed_hosts`] entry (then `url` is that entry).
    #[error("invalid URL {url}: {reason}")]
    InvalidUrl {
        /// The offending URL, redacted.
        url: String,
        /// What is wrong with it.
        reason: String,
    },
    /// The scheme is not `https`, or not `http` while plain HTTP is allowed.
    #[error("cannot download {url}: only http(s) URLs can be fetched")]
    UnsupportedScheme {
        /// The offending URL, redacted.
        url: String,
    },
    /// The host is, or resolves to, an address the SSRF guard refuses.
    #[error(
        "refusing to download from {host}: it is or resolves to a {reason} address (list it in allowed_hosts to permit)"
    )]
    HostNotAllowed {
        /// The host as written in the URL.
        host: String,
        /// The kind of address: `"loopback"`, `"private"`, `"link-local"`,
        /// `"unspecified"`, `"cgnat"`, `"broadcast"`, `"multicast"`,
        /// `"documentation"`, `"benchmarking"` or `"reserved"`.
        reason: &'static str,
    },
    /// The body is larger than [`FetchPolicy::max_bytes`].
    #[error("download from {url} exceeds the limit of {limit} bytes")]
    TooLarge {
        /// The URL, redacted.
        url: String,
        /// The limit that was exceeded, in bytes.
        limit: usize,
    },
    /// The download did not finish within [`FetchPolicy::timeout`].
    #[error("download from {url} timed out")]
    Timeout {
        /// The URL as requested, redacted.
        url: String,
    },
    /// The server answered with a non-success status.
    #[error("download from {url} failed with HTTP status {status}")]
    Status {
        /// The URL that answered, redacted.
        url: String,
        /// The HTTP status code.
        status: u16,
    },
    /// Connecting, TLS, or reading the response failed, redirects looped,
    /// or (with an empty `url`) the HTTP client could not be built.
    #[error("download from {url} failed: {message}")]
    Transport {
        /// The URL, redacted.
        url: String,
        /// What went wrong, free of URLs.
        message: String,
    },
    /// Neither `Content-Type` nor the file extension gives a media type.
    #[error(
        "cannot tell the media type of {url}: no usable Content-Type and no known file extension"
    )]
    UnknownMediaType {
        /// The URL, redacted.
        url: String,
    },
}
