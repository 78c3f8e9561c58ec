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
//! # Its own HTTP client
//!
//! The fetcher does not share the upstream [`HttpTransport`](crate::upstream::HttpTransport):
//! that one honours the environment's proxy and pools connections to the configured
//! upstreams, both wrong for hosts a client named. The fetcher's client is reqwest's,
//! because reqwest takes the guarded resolver above as a hook
//! ([`reqwest::dns::Resolve`]) and turns redirects off per client; hyper-util's
//! `HttpConnector::new_with_resolver` could carry the same resolver, which would make both
//! one client stack (one HTTP client crate) with two pools, at the cost of re-doing here
//! the request building and error mapping reqwest gives.
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
use std::net::IpAddr;
use std::sync::Arc;

use bytes::{Bytes, BytesMut};
use reqwest::header::{CONTENT_TYPE, LOCATION};
use url::{Host, Url};

use super::guard::{AllowEntry, Blocked, GuardedResolver, blocked_reason};
use super::policy::{FetchError, FetchPolicy, Fetched};
use crate::mime::mime_from_extension;
use crate::upstream::redact::{redact, redact_url};

/// How many redirects [`MediaFetcher::fetch`] follows before giving up.
pub const MAX_REDIRECTS: usize = 3;

/// Initial body buffer never exceeds this, whatever `Content-Length` claims.
const MAX_INITIAL_CAPACITY: usize = 1024 * 1024;

const USER_AGENT: &str = concat!("llm-tower/", env!("CARGO_PKG_VERSION"));

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
    /// let policy = FetchPolicy::allowing(["[::1]:8080"]);
    /// assert!(MediaFetcher::new(policy).is_ok());
    ///
    /// let bad = FetchPolicy::allowing(["host:port"]);
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
pub(super) fn send_error(url: &Url, error: reqwest::Error) -> FetchError {
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
