//! Downloading `image_url` / file URLs so their bytes can be sent inline.
//!
//! Gemini (AI Studio) cannot fetch arbitrary `http(s)` URLs, so when an
//! OpenAI message part carries `{"type":"image_url","image_url":{"url":"https://…"}}`
//! the provider downloads the body with a [`MediaFetcher`] and sends it as
//! base64 `inlineData` with the media type the server reported. Unlike
//! LiteLLM, the download is fully asynchronous, bounded in time and size, and
//! guarded against server-side request forgery (SSRF).
//!
//! # The SSRF guard
//!
//! A URL supplied by an API client must not make the proxy talk to itself,
//! to the local network or to a cloud metadata service
//! (`http://169.254.169.254/…`). Every address a request would connect to is
//! therefore checked, and the request is refused with
//! [`FetchError::HostNotAllowed`] if **any** address of the host is loopback,
//! private (RFC 1918, `fc00::/7`, site-local), link-local (`169.254/16`,
//! `fe80::/10`), unspecified / "this network" (`0/8`, `::`), shared CGNAT
//! space (`100.64/10`), broadcast, multicast, documentation, benchmarking or
//! otherwise reserved — including the IPv4-mapped (`::ffff:a.b.c.d`),
//! IPv4-compatible, NAT64 (`64:ff9b::/96`) and 6to4 (`2002::/16`) IPv6 forms
//! of those IPv4 ranges. Hosts listed in [`FetchPolicy::allowed_hosts`] (exact
//! name or IP literal, optionally with `:port`) skip the check.
//!
//! How the check is wired, and why it is sound:
//!
//! * **Host names** are checked inside the DNS resolver of the HTTP client:
//!   [`MediaFetcher`] builds its own [`reqwest::Client`] with a custom
//!   [`reqwest::dns::Resolve`] that resolves asynchronously with
//!   [`tokio::net::lookup_host`] and fails if any returned address is
//!   forbidden. The addresses it returns are exactly the ones the connector
//!   uses, so there is no second lookup a malicious DNS server could answer
//!   differently (no DNS-rebinding window).
//! * **IP literals** (`http://10.0.0.1/`, `http://[::1]/`) never reach a
//!   resolver, so they are checked directly before the request is sent.
//! * **Allowed hosts** are matched on the URL's host and port before sending.
//!   Because a resolver only sees the host name, never the port, allowed
//!   requests go through a second client with the ordinary resolver; every
//!   other request goes through the guarded client.
//! * **Redirects** are not followed by the client
//!   (`redirect::Policy::none()`); [`MediaFetcher::fetch`] follows at most
//!   [`MAX_REDIRECTS`] of them itself, re-applying the scheme, allowed-host,
//!   literal and resolver checks to every hop.
//! * **Proxies** from the environment (`HTTP_PROXY`, …) are ignored: through a
//!   proxy only the proxy's address would be checked, not the target's.
//!
//! # Limits
//!
//! * Only `https`, and `http` when [`FetchPolicy::allow_http`] is set.
//! * [`FetchPolicy::timeout`] bounds the whole download: every redirect hop,
//!   connecting, TLS, headers and body.
//! * [`FetchPolicy::max_bytes`] bounds the body: a larger `Content-Length` is
//!   refused before the body is read, and otherwise the body is streamed and
//!   abandoned as soon as it would exceed the limit, so at most `max_bytes`
//!   plus one network chunk is ever held in memory.
//!
//! # Media type
//!
//! The response `Content-Type` (lowercased, parameters dropped) is used unless
//! it is missing or generic (`application/octet-stream`,
//! `binary/octet-stream`); then the file extension of the URL path decides
//! (see [`mime_from_extension`]).
//!
//! # Secrets in URLs
//!
//! Signed URLs carry credentials in the query string or in userinfo. Errors
//! never contain them: every URL in a [`FetchError`] passes through
//! [`redact_url`] first, and transport errors are rendered without the URL
//! reqwest attaches.

use std::error::Error as StdError;
use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use reqwest::dns::{Addrs, Name, Resolve, Resolving};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use url::{Host, Url};

use crate::upstream::redact::{redact, redact_url};

/// Default for [`FetchPolicy::max_bytes`]: 20 MiB.
pub const DEFAULT_MAX_BYTES: usize = 20 * 1024 * 1024;

/// Default for [`FetchPolicy::timeout`]: 10 seconds.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(10);

/// How many redirects [`MediaFetcher::fetch`] follows before giving up.
pub const MAX_REDIRECTS: usize = 3;

/// Initial body buffer never exceeds this, whatever `Content-Length` claims.
const MAX_INITIAL_CAPACITY: usize = 1024 * 1024;

const USER_AGENT: &str = concat!("llm-tower/", env!("CARGO_PKG_VERSION"));

/// Where a download may go and how big it may be.
///
/// # Example
///
/// ```
/// use std::time::Duration;
/// use llm_tower::layers::media::FetchPolicy;
///
/// let policy = FetchPolicy {
///     // An internal object store, reachable although it is on a private network.
///     allowed_hosts: vec!["minio.internal:9000".into()],
///     timeout: Duration::from_secs(5),
///     ..FetchPolicy::default()
/// };
/// assert_eq!(policy.max_bytes, 20 * 1024 * 1024);
/// assert!(policy.allow_http);
/// ```
#[derive(Debug, Clone)]
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
/// URLs in these errors have been passed through [`redact_url`]: no userinfo,
/// query string or fragment.
#[derive(Debug, thiserror::Error)]
pub enum FetchError {
    /// The URL could not be parsed, or a redirect pointed nowhere sensible.
    /// Also returned by [`MediaFetcher::new`] for a malformed
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

/// Downloads URLs under a [`FetchPolicy`], with the SSRF guard described in
/// the [module documentation](self).
///
/// Cheap to clone: clones share the connection pools and the policy.
///
/// # Example
///
/// ```
/// use llm_tower::layers::media::{FetchError, FetchPolicy, MediaFetcher};
///
/// # async fn demo() -> Result<(), FetchError> {
/// let fetcher = MediaFetcher::new(FetchPolicy::default())?;
/// let image = fetcher.fetch("https://example.com/cat.png").await?;
/// println!("{} bytes of {}", image.data.len(), image.mime_type);
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
pub struct MediaFetcher {
    /// Resolves through [`GuardedResolver`]; used for everything not allowed.
    client: reqwest::Client,
    /// Ordinary resolver; used only for hosts in `allowed_hosts`.
    trusted_client: reqwest::Client,
    allowed: Arc<[AllowEntry]>,
    policy: Arc<FetchPolicy>,
}

impl MediaFetcher {
    /// Builds a fetcher with its own HTTP clients (the SSRF guard lives in
    /// the client's DNS resolver, so a caller-supplied client cannot be used).
    ///
    /// Fails with [`FetchError::InvalidUrl`] for a malformed
    /// `allowed_hosts` entry, or [`FetchError::Transport`] (empty `url`) if
    /// the TLS backend cannot be initialised.
    ///
    /// # Example
    ///
    /// ```
    /// use llm_tower::layers::media::{FetchError, FetchPolicy, MediaFetcher};
    ///
    /// let policy = FetchPolicy { allowed_hosts: vec!["[::1]:8080".into()], ..FetchPolicy::default() };
    /// assert!(MediaFetcher::new(policy).is_ok());
    ///
    /// let bad = FetchPolicy { allowed_hosts: vec!["host:port".into()], ..FetchPolicy::default() };
    /// assert!(matches!(MediaFetcher::new(bad), Err(FetchError::InvalidUrl { .. })));
    /// ```
    pub fn new(policy: FetchPolicy) -> Result<Self, FetchError> {
        let allowed = policy
            .allowed_hosts
            .iter()
            .map(|entry| {
                AllowEntry::parse(entry).map_err(|reason| FetchError::InvalidUrl {
                    url: entry.clone(),
                    reason: format!("invalid allowed_hosts entry: {reason}"),
                })
            })
            .collect::<Result<Vec<_>, _>>()?;
        let client = client_builder()
            .dns_resolver(Arc::new(GuardedResolver))
            .build()
            .map_err(client_build_error)?;
        let trusted_client = client_builder().build().map_err(client_build_error)?;
        Ok(Self {
            client,
            trusted_client,
            allowed: allowed.into(),
            policy: Arc::new(policy),
        })
    }

    /// The policy this fetcher enforces.
    ///
    /// # Example
    ///
    /// ```
    /// use llm_tower::layers::media::{FetchError, FetchPolicy, MediaFetcher};
    ///
    /// let fetcher = MediaFetcher::new(FetchPolicy::default())?;
    /// assert_eq!(fetcher.policy().max_bytes, 20 * 1024 * 1024);
    /// # Ok::<(), FetchError>(())
    /// ```
    pub fn policy(&self) -> &FetchPolicy {
        &self.policy
    }

    /// Downloads `url` and determines its media type.
    ///
    /// Follows up to [`MAX_REDIRECTS`] redirects, each checked like the
    /// original URL; the whole call is bounded by [`FetchPolicy::timeout`].
    ///
    /// # Example
    ///
    /// ```
    /// use llm_tower::layers::media::{FetchError, FetchPolicy, MediaFetcher};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), FetchError> {
    /// let fetcher = MediaFetcher::new(FetchPolicy::default())?;
    /// // The cloud metadata service is refused without any connection attempt.
    /// let result = fetcher.fetch("http://169.254.169.254/latest/meta-data/").await;
    /// assert!(matches!(result, Err(FetchError::HostNotAllowed { reason: "link-local", .. })));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn fetch(&self, url: &str) -> Result<Fetched, FetchError> {
        match tokio::time::timeout(self.policy.timeout, self.fetch_unbounded(url)).await {
            Ok(result) => result,
            Err(_elapsed) => Err(FetchError::Timeout {
                url: redact_url(url),
            }),
        }
    }

    /// [`Self::fetch`] without the overall timeout.
    async fn fetch_unbounded(&self, url: &str) -> Result<Fetched, FetchError> {
        let original = Url::parse(url).map_err(|e| FetchError::InvalidUrl {
            url: redact_url(url),
            reason: e.to_string(),
        })?;
        let mut current = original.clone();
        let mut redirects = 0;
        let response = loop {
            let client = self.client_for(&current)?;
            let response = client
                .get(current.clone())
                .send()
                .await
                .map_err(|e| send_error(&current, e))?;
            if !matches!(response.status().as_u16(), 301 | 302 | 303 | 307 | 308) {
                break response;
            }
            // A redirect without Location is reported as a status error below.
            let Some(location) = response.headers().get(LOCATION) else {
                break response;
            };
            if redirects == MAX_REDIRECTS {
                return Err(FetchError::Transport {
                    url: redact(&original),
                    message: format!("more than {MAX_REDIRECTS} redirects"),
                });
            }
            let location = location.to_str().map_err(|_| FetchError::InvalidUrl {
                url: redact(&current),
                reason: "redirect Location header is not valid text".into(),
            })?;
            current = current.join(location).map_err(|e| FetchError::InvalidUrl {
                url: redact_url(location),
                reason: format!("bad redirect target: {e}"),
            })?;
            redirects += 1;
        };

        let status = response.status();
        if !status.is_success() {
            return Err(FetchError::Status {
                url: redact(&current),
                status: status.as_u16(),
            });
        }
        let mime_type = media_type(&response, &current, &original)?;
        let data = read_capped(response, &current, self.policy.max_bytes).await?;
        Ok(Fetched { mime_type, data })
    }

    /// Applies the scheme, allowed-host and IP-literal checks to one hop and
    /// picks the client for it.
    fn client_for(&self, url: &Url) -> Result<&reqwest::Client, FetchError> {
        match url.scheme() {
            "https" => {}
            "http" if self.policy.allow_http => {}
            _ => return Err(FetchError::UnsupportedScheme { url: redact(url) }),
        }
        let (Some(host), Some(port)) = (url.host(), url.port_or_known_default()) else {
            return Err(FetchError::InvalidUrl {
                url: redact(url),
                reason: "URL has no host".into(),
            });
        };
        if self.allowed.iter().any(|entry| entry.matches(&host, port)) {
            return Ok(&self.trusted_client);
        }
        let ip = match host {
            // Checked by `GuardedResolver` on the addresses actually used.
            Host::Domain(_) => return Ok(&self.client),
            Host::Ipv4(ip) => IpAddr::V4(ip),
            Host::Ipv6(ip) => IpAddr::V6(ip),
        };
        match blocked_reason(ip) {
            Some(reason) => Err(FetchError::HostNotAllowed {
                host: url.host_str().unwrap_or_default().to_owned(),
                reason,
            }),
            None => Ok(&self.client),
        }
    }
}

/// The media type for a path's file extension, for the formats Gemini takes.
///
/// `path` may be a bare path or a whole URL (including `gs://` URIs); a query
/// string and fragment are ignored, the extension is case-insensitive.
///
/// # Example
///
/// ```
/// use llm_tower::layers::media::fetch::mime_from_extension;
///
/// assert_eq!(mime_from_extension("https://example.com/cat.PNG?sig=abc"), Some("image/png"));
/// assert_eq!(mime_from_extension("gs://bucket/report.pdf"), Some("application/pdf"));
/// assert_eq!(mime_from_extension("/download?file=x.png"), None);
/// ```
pub fn mime_from_extension(path: &str) -> Option<&'static str> {
    const EXTENSIONS: &[(&str, &str)] = &[
        ("png", "image/png"),
        ("jpg", "image/jpeg"),
        ("jpeg", "image/jpeg"),
        ("webp", "image/webp"),
        ("gif", "image/gif"),
        ("heic", "image/heic"),
        ("heif", "image/heif"),
        ("pdf", "application/pdf"),
        ("mp3", "audio/mp3"),
        ("wav", "audio/wav"),
        ("ogg", "audio/ogg"),
        ("flac", "audio/flac"),
        ("aac", "audio/aac"),
        ("mp4", "video/mp4"),
        ("mov", "video/mov"),
        ("webm", "video/webm"),
        ("txt", "text/plain"),
    ];
    let path = path.split(['?', '#']).next().unwrap_or(path);
    let file_name = path.rsplit('/').next().unwrap_or(path);
    let (_, extension) = file_name.rsplit_once('.')?;
    EXTENSIONS
        .iter()
        .find(|(ext, _)| ext.eq_ignore_ascii_case(extension))
        .map(|&(_, mime)| mime)
}

fn client_builder() -> reqwest::ClientBuilder {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .no_proxy()
        .user_agent(USER_AGENT)
}

fn client_build_error(error: reqwest::Error) -> FetchError {
    FetchError::Transport {
        url: String::new(),
        message: format!(
            "cannot build HTTP client: {}",
            crate::error::error_chain(&error)
        ),
    }
}

/// Maps a send error, recognising a refusal by [`GuardedResolver`].
fn send_error(url: &Url, error: reqwest::Error) -> FetchError {
    let mut source: Option<&(dyn StdError + 'static)> = Some(&error);
    while let Some(err) = source {
        if let Some(blocked) = err.downcast_ref::<Blocked>() {
            return FetchError::HostNotAllowed {
                host: blocked.host.clone(),
                reason: blocked.reason,
            };
        }
        source = err.source();
    }
    transport_error(url, error)
}

fn transport_error(url: &Url, error: reqwest::Error) -> FetchError {
    FetchError::Transport {
        url: redact(url),
        // reqwest prints the full URL (query included) unless told not to.
        message: crate::error::error_chain(&error.without_url()),
    }
}

fn media_type(
    response: &reqwest::Response,
    current: &Url,
    original: &Url,
) -> Result<String, FetchError> {
    let from_header = response
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|value| value.to_str().ok())
        .map(|value| {
            let essence = value.split_once(';').map_or(value, |(essence, _)| essence);
            essence.trim().to_ascii_lowercase()
        })
        .filter(|mime| {
            mime.contains('/')
                && mime != "application/octet-stream"
                && mime != "binary/octet-stream"
        });
    match from_header {
        Some(mime) => Ok(mime),
        None => mime_from_extension(current.path())
            .or_else(|| mime_from_extension(original.path()))
            .map(str::to_owned)
            .ok_or_else(|| FetchError::UnknownMediaType {
                url: redact(current),
            }),
    }
}

/// Reads the body, never holding more than `max` bytes plus one chunk.
async fn read_capped(
    mut response: reqwest::Response,
    url: &Url,
    max: usize,
) -> Result<Bytes, FetchError> {
    let too_large = || FetchError::TooLarge {
        url: redact(url),
        limit: max,
    };
    let declared = response.content_length();
    if declared.is_some_and(|len| len > max as u64) {
        return Err(too_large());
    }
    let capacity = declared
        .and_then(|len| usize::try_from(len).ok())
        .unwrap_or(0)
        .min(MAX_INITIAL_CAPACITY);
    let mut body = BytesMut::with_capacity(capacity);
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| transport_error(url, e))?
    {
        // `body.len() <= max` holds throughout, so this cannot underflow.
        if chunk.len() > max - body.len() {
            return Err(too_large());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

/// DNS resolver of the guarded client: resolves asynchronously and refuses
/// the name if any of its addresses is forbidden.
struct GuardedResolver;

impl Resolve for GuardedResolver {
    fn resolve(&self, name: Name) -> Resolving {
        let host = name.as_str().to_owned();
        Box::pin(async move {
            // Port 0 is replaced by the URL's port by the connector.
            let addrs: Vec<SocketAddr> =
                tokio::net::lookup_host((host.as_str(), 0)).await?.collect();
            if let Some(reason) = addrs.iter().find_map(|addr| blocked_reason(addr.ip())) {
                return Err(Box::new(Blocked { host, reason }) as _);
            }
            let addrs: Addrs = Box::new(addrs.into_iter());
            Ok(addrs)
        })
    }
}

/// Error returned by [`GuardedResolver`], recognised by [`send_error`].
#[derive(Debug)]
struct Blocked {
    host: String,
    reason: &'static str,
}

impl fmt::Display for Blocked {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} resolves to a {} address", self.host, self.reason)
    }
}

impl StdError for Blocked {}

/// Why the guard refuses `ip`, or `None` if it is a public unicast address.
fn blocked_reason(ip: IpAddr) -> Option<&'static str> {
    match ip {
        IpAddr::V4(ip) => blocked_reason_v4(ip),
        IpAddr::V6(ip) => blocked_reason_v6(ip),
    }
}

fn blocked_reason_v4(ip: Ipv4Addr) -> Option<&'static str> {
    let [a, b, c, _] = ip.octets();
    let reason = if a == 0 {
        "unspecified" // 0.0.0.0/8, "this network"
    } else if ip.is_loopback() {
        "loopback"
    } else if ip.is_private() {
        "private"
    } else if ip.is_link_local() {
        "link-local"
    } else if a == 100 && b & 0xc0 == 64 {
        "cgnat" // 100.64.0.0/10
    } else if ip.is_broadcast() {
        "broadcast"
    } else if ip.is_multicast() {
        "multicast"
    } else if ip.is_documentation() {
        "documentation"
    } else if a == 198 && b & 0xfe == 18 {
        "benchmarking" // 198.18.0.0/15
    } else if a >= 240 || (a, b, c) == (192, 0, 0) {
        "reserved" // 240.0.0.0/4, IETF protocol assignments 192.0.0.0/24
    } else {
        return None;
    };
    Some(reason)
}

fn blocked_reason_v6(ip: Ipv6Addr) -> Option<&'static str> {
    if let Some(v4) = ip.to_ipv4_mapped() {
        return blocked_reason_v4(v4);
    }
    let o = ip.octets();
    let s = ip.segments();
    let reason = if ip.is_unspecified() {
        "unspecified"
    } else if ip.is_loopback() {
        "loopback"
    } else if s[..6] == [0; 6] {
        "reserved" // deprecated IPv4-compatible ::/96
    } else if s[..6] == [0x64, 0xff9b, 0, 0, 0, 0] {
        // NAT64 64:ff9b::/96 reaches the embedded IPv4 address.
        return blocked_reason_v4(Ipv4Addr::new(o[12], o[13], o[14], o[15]));
    } else if s[0] == 0x2002 {
        // 6to4 2002::/16 embeds an IPv4 address in bits 16..48.
        return blocked_reason_v4(Ipv4Addr::new(o[2], o[3], o[4], o[5]));
    } else if s[..3] == [0x64, 0xff9b, 1] || s[0] & 0xfe00 == 0xfc00 || s[0] & 0xffc0 == 0xfec0 {
        "private" // NAT64 local-use, unique local fc00::/7, deprecated site-local
    } else if s[0] & 0xffc0 == 0xfe80 {
        "link-local"
    } else if s[0] & 0xff00 == 0xff00 {
        "multicast"
    } else if s[..2] == [0x2001, 0xdb8] || (s[0] == 0x3fff && s[1] & 0xf000 == 0) {
        "documentation" // 2001:db8::/32, 3fff::/20
    } else if s[..4] == [0x100, 0, 0, 0] {
        "reserved" // discard-only 100::/64
    } else {
        return None;
    };
    Some(reason)
}

/// One parsed [`FetchPolicy::allowed_hosts`] entry.
#[derive(Debug, Clone, PartialEq, Eq)]
struct AllowEntry {
    host: AllowedHost,
    port: Option<u16>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
enum AllowedHost {
    Ip(IpAddr),
    /// Lowercase, without a trailing dot.
    Name(String),
}

impl AllowEntry {
    fn parse(entry: &str) -> Result<Self, String> {
        let entry = entry.trim().to_ascii_lowercase();
        if let Some(rest) = entry.strip_prefix('[') {
            let (inner, after) = rest
                .split_once(']')
                .ok_or_else(|| "missing `]`".to_owned())?;
            let ip: Ipv6Addr = inner
                .parse()
                .map_err(|_| format!("`{inner}` is not an IPv6 address"))?;
            let port = match after {
                "" => None,
                _ => {
                    let port = after
                        .strip_prefix(':')
                        .ok_or_else(|| format!("unexpected `{after}` after `]`"))?;
                    Some(parse_port(port)?)
                }
            };
            return Ok(Self {
                host: AllowedHost::Ip(IpAddr::V6(ip)),
                port,
            });
        }
        if let Ok(ip) = entry.parse::<IpAddr>() {
            return Ok(Self {
                host: AllowedHost::Ip(ip),
                port: None,
            });
        }
        let (host, port) = match entry.rsplit_once(':') {
            Some((host, port)) => (host, Some(parse_port(port)?)),
            None => (entry.as_str(), None),
        };
        let host = host.trim_end_matches('.');
        if host.is_empty() || host.contains(['/', '@', '?', '#', ':', '[', ']']) {
            return Err(format!("`{host}` is not a host name or IP address"));
        }
        let host = match host.parse::<Ipv4Addr>() {
            Ok(ip) => AllowedHost::Ip(IpAddr::V4(ip)),
            Err(_) => AllowedHost::Name(host.to_owned()),
        };
        Ok(Self { host, port })
    }

    fn matches(&self, host: &Host<&str>, port: u16) -> bool {
        if self.port.is_some_and(|allowed| allowed != port) {
            return false;
        }
        let ip = match (&self.host, host) {
            (AllowedHost::Name(name), Host::Domain(domain)) => {
                return name.eq_ignore_ascii_case(domain.trim_end_matches('.'));
            }
            (AllowedHost::Name(_), _) => return false,
            (AllowedHost::Ip(_), Host::Domain(_)) => return false,
            (AllowedHost::Ip(_), Host::Ipv4(ip)) => IpAddr::V4(*ip),
            (AllowedHost::Ip(_), Host::Ipv6(ip)) => IpAddr::V6(*ip),
        };
        matches!(&self.host, AllowedHost::Ip(allowed) if allowed.to_canonical() == ip.to_canonical())
    }
}

fn parse_port(port: &str) -> Result<u16, String> {
    port.parse()
        .map_err(|_| format!("`{port}` is not a port number"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::io::{Read, Write};
    use std::time::Instant;
    use wiremock::matchers::{method, path};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    fn fetcher(policy: FetchPolicy) -> MediaFetcher {
        MediaFetcher::new(policy).expect("fetcher")
    }

    fn allowing(hosts: &[&str]) -> FetchPolicy {
        FetchPolicy {
            allowed_hosts: hosts.iter().map(|host| (*host).to_owned()).collect(),
            ..FetchPolicy::default()
        }
    }

    async fn serve(route: &str, response: ResponseTemplate) -> MockServer {
        let server = MockServer::start().await;
        Mock::given(method("GET"))
            .and(path(route))
            .respond_with(response)
            .mount(&server)
            .await;
        server
    }

    async fn request_count(server: &MockServer) -> usize {
        server
            .received_requests()
            .await
            .expect("recording enabled")
            .len()
    }

    fn png(body: &'static [u8]) -> ResponseTemplate {
        ResponseTemplate::new(200).set_body_raw(body, "image/png")
    }

    /// A raw HTTP/1.1 server answering one request with a chunked body of
    /// 1 KiB chunks and no Content-Length: `Some(n)` chunks, or endless.
    fn chunked_server(chunks: Option<usize>) -> SocketAddr {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("local addr");
        std::thread::spawn(move || {
            let Ok((mut stream, _)) = listener.accept() else {
                return;
            };
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let mut write = |bytes: &[u8]| stream.write_all(bytes).is_ok();
            if !write(
                b"HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ntransfer-encoding: chunked\r\n\r\n",
            ) {
                return;
            }
            let mut sent = 0;
            while chunks.is_none_or(|n| sent < n) {
                // Stops when the client hangs up.
                if !(write(b"400\r\n") && write(&[b'x'; 1024]) && write(b"\r\n")) {
                    return;
                }
                sent += 1;
            }
            write(b"0\r\n\r\n");
        });
        addr
    }

    fn closed_port() -> u16 {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
        listener.local_addr().expect("local addr").port()
    }

    #[test]
    fn policy_defaults() {
        let policy = FetchPolicy::default();
        assert_eq!(policy.max_bytes, 20 * 1024 * 1024);
        assert_eq!(policy.timeout, Duration::from_secs(10));
        assert!(policy.allowed_hosts.is_empty());
        assert!(policy.allow_http);
    }

    #[tokio::test]
    async fn loopback_refused_by_default_without_request() {
        let server = serve("/cat.png", png(b"meow")).await;
        let err = fetcher(FetchPolicy::default())
            .fetch(&format!("{}/cat.png", server.uri()))
            .await
            .expect_err("loopback must be refused");
        assert!(
            matches!(&err, FetchError::HostNotAllowed { host, reason: "loopback" } if host == "127.0.0.1"),
            "{err:?}"
        );
        assert_eq!(request_count(&server).await, 0);
    }

    #[tokio::test]
    async fn allowed_host_is_fetched_with_header_mime() {
        let server = serve(
            "/cat",
            ResponseTemplate::new(200).set_body_raw(&b"meow"[..], "Image/PNG; charset=binary"),
        )
        .await;
        let fetched = fetcher(allowing(&["127.0.0.1"]))
            .fetch(&format!("{}/cat", server.uri()))
            .await
            .expect("allowed");
        assert_eq!(
            fetched,
            Fetched {
                mime_type: "image/png".into(),
                data: Bytes::from_static(b"meow"),
            }
        );
    }

    #[tokio::test]
    async fn allowed_host_with_port_only_allows_that_port() {
        let server = serve("/cat.png", png(b"meow")).await;
        let port = server.address().port();
        let url = format!("{}/cat.png", server.uri());
        let ok = fetcher(allowing(&[&format!("127.0.0.1:{port}")]))
            .fetch(&url)
            .await;
        assert_eq!(ok.expect("allowed").data, Bytes::from_static(b"meow"));
        let other_port = if port == 1 { 2 } else { port - 1 };
        let err = fetcher(allowing(&[&format!("127.0.0.1:{other_port}")]))
            .fetch(&url)
            .await
            .expect_err("other port");
        assert!(matches!(err, FetchError::HostNotAllowed { .. }), "{err:?}");
        assert_eq!(request_count(&server).await, 1);
    }

    #[tokio::test]
    async fn localhost_name_refused_by_resolver() {
        let server = serve("/cat.png", png(b"meow")).await;
        let url = format!("http://localhost:{}/cat.png", server.address().port());
        let err = fetcher(FetchPolicy::default())
            .fetch(&url)
            .await
            .expect_err("localhost must be refused");
        assert!(
            matches!(&err, FetchError::HostNotAllowed { host, reason: "loopback" } if host == "localhost"),
            "{err:?}"
        );
        assert_eq!(request_count(&server).await, 0);

        let fetched = fetcher(allowing(&["LOCALHOST"]))
            .fetch(&url)
            .await
            .expect("allowed by name");
        assert_eq!(fetched.mime_type, "image/png");
    }

    #[tokio::test]
    async fn ip_literals_refused_without_connecting() {
        let fetcher = fetcher(FetchPolicy::default());
        let cases = [
            ("http://10.0.0.1/a.png", "private"),
            ("http://192.168.1.1/a.png", "private"),
            ("https://169.254.169.254/latest/meta-data/", "link-local"),
            ("http://[::1]/a.png", "loopback"),
            ("http://[::ffff:127.0.0.1]/a.png", "loopback"),
            ("http://[::ffff:169.254.169.254]/", "link-local"),
            ("http://0.0.0.0/", "unspecified"),
            ("http://[::]/", "unspecified"),
            ("http://100.64.1.1/", "cgnat"),
            ("http://[fd00::1]/", "private"),
            ("http://[fe80::1]/", "link-local"),
            ("http://0x7f.1/", "loopback"),
            ("http://2130706433/", "loopback"),
        ];
        let start = Instant::now();
        for (url, expected) in cases {
            let err = fetcher.fetch(url).await.expect_err(url);
            assert!(
                matches!(err, FetchError::HostNotAllowed { reason, .. } if reason == expected),
                "{url}: {err:?}"
            );
        }
        assert!(start.elapsed() < Duration::from_secs(2));

        // The mapped form of the mock server's own address never reaches it.
        let server = serve("/cat.png", png(b"meow")).await;
        let url = format!(
            "http://[::ffff:127.0.0.1]:{}/cat.png",
            server.address().port()
        );
        let err = fetcher.fetch(&url).await.expect_err("mapped loopback");
        assert!(matches!(
            err,
            FetchError::HostNotAllowed {
                reason: "loopback",
                ..
            }
        ));
        assert_eq!(request_count(&server).await, 0);
    }

    #[tokio::test]
    async fn mime_from_extension_when_header_is_generic() {
        let server = MockServer::start().await;
        for (route, content_type) in [
            ("/photo.JPG", "application/octet-stream"),
            ("/clip.mp4", "binary/octet-stream; x=y"),
            ("/blob", "application/octet-stream"),
        ] {
            Mock::given(method("GET"))
                .and(path(route))
                .respond_with(ResponseTemplate::new(200).set_body_raw(&b"data"[..], content_type))
                .mount(&server)
                .await;
        }
        let fetcher = fetcher(allowing(&["127.0.0.1"]));
        let photo = fetcher
            .fetch(&format!("{}/photo.JPG?token=x.gif", server.uri()))
            .await
            .expect("photo");
        assert_eq!(photo.mime_type, "image/jpeg");
        let clip = fetcher
            .fetch(&format!("{}/clip.mp4", server.uri()))
            .await
            .expect("clip");
        assert_eq!(clip.mime_type, "video/mp4");
        let err = fetcher
            .fetch(&format!("{}/blob?sig=secret", server.uri()))
            .await
            .expect_err("unknown");
        assert!(matches!(&err, FetchError::UnknownMediaType { url } if url.ends_with("/blob")));
        assert!(!err.to_string().contains("secret"));
    }

    #[tokio::test]
    async fn too_large_by_content_length() {
        let server = serve("/big.png", png(&[0u8; 100])).await;
        let policy = FetchPolicy {
            max_bytes: 99,
            ..allowing(&["127.0.0.1"])
        };
        let err = fetcher(policy)
            .fetch(&format!("{}/big.png", server.uri()))
            .await
            .expect_err("too large");
        assert!(
            matches!(err, FetchError::TooLarge { limit: 99, .. }),
            "{err:?}"
        );

        let exact = FetchPolicy {
            max_bytes: 100,
            ..allowing(&["127.0.0.1"])
        };
        let fetched = fetcher(exact)
            .fetch(&format!("{}/big.png", server.uri()))
            .await
            .expect("exactly at the limit");
        assert_eq!(fetched.data.len(), 100);
    }

    #[tokio::test]
    async fn too_large_chunked_body_is_abandoned_early() {
        let addr = chunked_server(None);
        let policy = FetchPolicy {
            max_bytes: 64 * 1024,
            ..allowing(&["127.0.0.1"])
        };
        let err = fetcher(policy)
            .fetch(&format!("http://{addr}/endless.png"))
            .await
            .expect_err("endless body");
        assert!(
            matches!(err, FetchError::TooLarge { limit: 65536, .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn chunked_body_within_limit() {
        let addr = chunked_server(Some(3));
        let policy = FetchPolicy {
            max_bytes: 3 * 1024,
            ..allowing(&["127.0.0.1"])
        };
        let fetched = fetcher(policy)
            .fetch(&format!("http://{addr}/three"))
            .await
            .expect("3 KiB");
        assert_eq!(fetched.mime_type, "image/png");
        assert_eq!(fetched.data.len(), 3 * 1024);
    }

    #[tokio::test]
    async fn not_found_is_status_error() {
        let server = MockServer::start().await;
        let err = fetcher(allowing(&["127.0.0.1"]))
            .fetch(&format!("{}/missing.png?key=secret", server.uri()))
            .await
            .expect_err("404");
        assert!(
            matches!(&err, FetchError::Status { status: 404, url } if !url.contains('?')),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn slow_server_times_out() {
        let server = serve("/slow.png", png(b"meow").set_delay(Duration::from_secs(5))).await;
        let policy = FetchPolicy {
            timeout: Duration::from_millis(200),
            ..allowing(&["127.0.0.1"])
        };
        let start = Instant::now();
        let err = fetcher(policy)
            .fetch(&format!("{}/slow.png", server.uri()))
            .await
            .expect_err("timeout");
        assert!(matches!(err, FetchError::Timeout { .. }), "{err:?}");
        assert!(start.elapsed() < Duration::from_secs(2));
    }

    #[tokio::test]
    async fn unsupported_schemes_and_bad_urls() {
        let fetcher = fetcher(FetchPolicy::default());
        for url in [
            "ftp://example.com/a.png",
            "file:///etc/passwd",
            "gs://bucket/a.png",
            "data:image/png;base64,AAAA",
        ] {
            let err = fetcher.fetch(url).await.expect_err(url);
            assert!(
                matches!(err, FetchError::UnsupportedScheme { .. }),
                "{url}: {err:?}"
            );
        }
        let err = fetcher.fetch("not a url").await.expect_err("garbage");
        assert!(matches!(err, FetchError::InvalidUrl { .. }), "{err:?}");

        let https_only = MediaFetcher::new(FetchPolicy {
            allow_http: false,
            ..FetchPolicy::default()
        })
        .expect("fetcher");
        let err = https_only
            .fetch("http://example.com/a.png")
            .await
            .expect_err("http disabled");
        assert!(
            matches!(err, FetchError::UnsupportedScheme { .. }),
            "{err:?}"
        );
    }

    #[tokio::test]
    async fn redirects_are_followed_and_rechecked() {
        let server = MockServer::start().await;
        let port = server.address().port();
        let redirect = |to: String| ResponseTemplate::new(302).insert_header("location", to);
        for (route, response) in [
            ("/start", redirect("/cat.png".into())),
            ("/cat.png", png(b"meow")),
            (
                "/to-localhost",
                redirect(format!("http://localhost:{port}/cat.png")),
            ),
            (
                "/to-mapped",
                redirect(format!("http://[::ffff:7f00:2]:{port}/cat.png")),
            ),
            ("/to-metadata", redirect("http://169.254.169.254/".into())),
            ("/to-file", redirect("file:///etc/passwd".into())),
            ("/loop", redirect("/loop".into())),
        ] {
            Mock::given(method("GET"))
                .and(path(route))
                .respond_with(response)
                .mount(&server)
                .await;
        }
        let fetcher = fetcher(allowing(&["127.0.0.1"]));
        let base = server.uri();

        let fetched = fetcher
            .fetch(&format!("{base}/start"))
            .await
            .expect("relative redirect");
        assert_eq!(fetched.mime_type, "image/png");

        for (route, reason) in [
            ("/to-localhost", "loopback"),
            ("/to-mapped", "loopback"),
            ("/to-metadata", "link-local"),
        ] {
            let err = fetcher
                .fetch(&format!("{base}{route}"))
                .await
                .expect_err(route);
            assert!(
                matches!(err, FetchError::HostNotAllowed { reason: r, .. } if r == reason),
                "{route}: {err:?}"
            );
        }
        let err = fetcher
            .fetch(&format!("{base}/to-file"))
            .await
            .expect_err("file");
        assert!(
            matches!(err, FetchError::UnsupportedScheme { .. }),
            "{err:?}"
        );

        let before = request_count(&server).await;
        let err = fetcher
            .fetch(&format!("{base}/loop"))
            .await
            .expect_err("loop");
        assert!(
            matches!(&err, FetchError::Transport { message, .. } if message.contains("redirects")),
            "{err:?}"
        );
        assert_eq!(request_count(&server).await - before, MAX_REDIRECTS + 1);

        // Only /start, /cat.png and the refused redirects' first hops arrived.
        let cat_hits = server
            .received_requests()
            .await
            .expect("recording enabled")
            .iter()
            .filter(|request| request.url.path() == "/cat.png")
            .count();
        assert_eq!(cat_hits, 1);
    }

    #[tokio::test]
    async fn transport_error_hides_credentials() {
        let url = format!(
            "http://user:hunter2@127.0.0.1:{}/a.png?key=secret#frag",
            closed_port()
        );
        let err = fetcher(allowing(&["127.0.0.1"]))
            .fetch(&url)
            .await
            .expect_err("connection refused");
        assert!(matches!(err, FetchError::Transport { .. }), "{err:?}");
        let shown = format!("{err} {err:?}");
        assert!(!shown.contains("hunter2"), "{shown}");
        assert!(!shown.contains("secret"), "{shown}");
        assert!(!shown.contains("frag"), "{shown}");
    }

    #[test]
    fn mime_from_extension_table() {
        let cases = [
            ("a.png", Some("image/png")),
            ("/x/a.JPG", Some("image/jpeg")),
            ("a.jpeg", Some("image/jpeg")),
            ("a.webp", Some("image/webp")),
            ("a.gif", Some("image/gif")),
            ("a.heic", Some("image/heic")),
            ("a.heif", Some("image/heif")),
            ("gs://b/doc.pdf", Some("application/pdf")),
            ("a.mp3", Some("audio/mp3")),
            ("a.wav", Some("audio/wav")),
            ("a.ogg", Some("audio/ogg")),
            ("a.flac", Some("audio/flac")),
            ("a.aac", Some("audio/aac")),
            ("a.mp4", Some("video/mp4")),
            ("a.mov", Some("video/mov")),
            ("a.webm", Some("video/webm")),
            ("notes.txt", Some("text/plain")),
            ("https://h/a.png?b=c.pdf", Some("image/png")),
            ("https://h/a.webp#frag.txt", Some("image/webp")),
            ("https://h/download?file=a.png", None),
            ("https://h.png/", None),
            ("https://h/archive.tar.gz", None),
            ("noextension", None),
            ("", None),
        ];
        for (input, expected) in cases {
            assert_eq!(mime_from_extension(input), expected, "{input}");
        }
    }

    #[test]
    fn blocked_reason_ranges() {
        let cases: [(&str, Option<&str>); 28] = [
            ("8.8.8.8", None),
            ("1.1.1.1", None),
            ("2606:4700:4700::1111", None),
            ("64:ff9b::808:808", None),
            ("2002:808:808::1", None),
            ("0.1.2.3", Some("unspecified")),
            ("127.0.0.2", Some("loopback")),
            ("10.1.2.3", Some("private")),
            ("172.16.0.1", Some("private")),
            ("172.31.255.255", Some("private")),
            ("172.32.0.1", None),
            ("192.168.0.1", Some("private")),
            ("169.254.169.254", Some("link-local")),
            ("100.64.0.1", Some("cgnat")),
            ("100.127.255.255", Some("cgnat")),
            ("100.128.0.1", None),
            ("255.255.255.255", Some("broadcast")),
            ("224.0.0.1", Some("multicast")),
            ("203.0.113.5", Some("documentation")),
            ("198.18.0.1", Some("benchmarking")),
            ("240.0.0.1", Some("reserved")),
            ("::ffff:10.0.0.1", Some("private")),
            ("::127.0.0.1", Some("reserved")),
            ("64:ff9b::a9fe:a9fe", Some("link-local")),
            ("2002:7f00:1::", Some("loopback")),
            ("fc00::1", Some("private")),
            ("ff02::1", Some("multicast")),
            ("2001:db8::1", Some("documentation")),
        ];
        for (ip, expected) in cases {
            let parsed: IpAddr = ip.parse().expect(ip);
            assert_eq!(blocked_reason(parsed), expected, "{ip}");
        }
    }

    #[test]
    fn allow_entries_parse_and_match() {
        let entry = |text: &str| AllowEntry::parse(text).expect(text);
        let name = |text: &str| AllowedHost::Name(text.into());
        let ip = |text: &str| AllowedHost::Ip(text.parse().expect(text));
        assert_eq!(
            entry(" LocalHost "),
            AllowEntry {
                host: name("localhost"),
                port: None
            }
        );
        assert_eq!(
            entry("minio.internal.:9000"),
            AllowEntry {
                host: name("minio.internal"),
                port: Some(9000)
            }
        );
        assert_eq!(
            entry("127.0.0.1:8080"),
            AllowEntry {
                host: ip("127.0.0.1"),
                port: Some(8080)
            }
        );
        assert_eq!(
            entry("::1"),
            AllowEntry {
                host: ip("::1"),
                port: None
            }
        );
        assert_eq!(
            entry("[::1]:9000"),
            AllowEntry {
                host: ip("::1"),
                port: Some(9000)
            }
        );
        assert_eq!(
            entry("[::1]"),
            AllowEntry {
                host: ip("::1"),
                port: None
            }
        );
        for bad in [
            "",
            ":80",
            "host:port",
            "[::1",
            "[zz]",
            "[::1]x",
            "http://host",
            "a:b:c:d",
        ] {
            assert!(
                AllowEntry::parse(bad).is_err(),
                "{bad:?} should be rejected"
            );
        }

        let v4 = Host::Ipv4(Ipv4Addr::LOCALHOST);
        let mapped = Host::Ipv6(Ipv4Addr::LOCALHOST.to_ipv6_mapped());
        assert!(entry("127.0.0.1").matches(&v4, 80));
        assert!(entry("127.0.0.1").matches(&mapped, 80));
        assert!(entry("[::ffff:127.0.0.1]").matches(&v4, 80));
        assert!(!entry("127.0.0.1:81").matches(&v4, 80));
        assert!(!entry("127.0.0.1").matches(&Host::Domain("localhost"), 80));
        assert!(entry("minio.internal").matches(&Host::Domain("minio.internal."), 443));
        assert!(!entry("minio.internal").matches(&Host::Domain("evil.minio.internal"), 443));
        assert!(!entry("localhost").matches(&v4, 80));
    }
}
