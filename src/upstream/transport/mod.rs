//! [`HttpTransport`]: the innermost service, sending `http::Request<Full<Bytes>>` (the
//! seam's one request type) over a shared pool of connections (HTTP/1.1 and HTTP/2, rustls
//! with Mozilla's roots).
//!
//! It is hyper-util's pooled client, the one reqwest is built on, used directly: the
//! requests arrive as `http::Request`s with their URI already built, so reqwest's per-call
//! work (re-parsing the URI into a `Url` and back, its redirect and retry machinery) would
//! be pure overhead on the hot path. Through the proxy that overhead was about a quarter of
//! the CPU per chat request (`benches/load.sh`).
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | the service and its builder |
//! | `future.rs` | the named response future, with the reply-head deadline |
//! | `connect.rs` | TCP, or a CONNECT tunnel through `HTTPS_PROXY` |
//! | `idle.rs` | the body wrapper that ends a reply which pauses too long |

mod connect;
mod future;
mod idle;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper_util::client::legacy::Client;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::{TokioExecutor, TokioTimer};
use tower::ServiceExt;
use tower_service::Service;

use self::connect::{Connector, ProxyConnector};
pub use self::future::ResponseFuture;
pub use self::idle::IdleTimeout;
use super::body::UpstreamBody;
use super::context::CallContext;
use super::error::{BuildError, Error};
use super::redact::redact_url;

/// How long an unused pooled connection is kept.
const POOL_IDLE: Duration = Duration::from_secs(90);

/// Sends requests over a shared connection pool. Clones share the pool.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::upstream::HttpTransport;
///
/// let transport = HttpTransport::builder()
///     .connect_timeout(Duration::from_secs(10))
///     .build()?;
/// // A deployment that must answer faster shares the pool with its own limit.
/// let impatient = transport.clone().with_timeout(Duration::from_secs(30));
/// # let _ = impatient;
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
#[derive(Clone)]
pub struct HttpTransport {
    client: Client<Connector, Full<Bytes>>,
    timeout: Option<Duration>,
}

impl HttpTransport {
    /// A builder: no timeouts, proxies from the environment.
    pub fn builder() -> HttpTransportBuilder {
        HttpTransportBuilder::default()
    }

    /// The same pool, with an upstream silence limit: the reply head must arrive within
    /// `timeout` of sending (connecting included), and the body may pause no longer than
    /// `timeout` between chunks. Past it the call fails with an [`Error`] of kind
    /// [`Timeout`](super::error::ErrorKind::Timeout). A long stream that keeps sending is
    /// never cut off.
    pub fn with_timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// The silence limit, if any.
    pub fn timeout(&self) -> Option<Duration> {
        self.timeout
    }

    /// Sends `request`, its reply's head awaited at most `time` (the body goes on under
    /// the silence limit): a call with a bound of its own beside that limit, such as an
    /// upload or a poll of a batch. Past `time` it fails with a
    /// [`Timeout`](super::error::ErrorKind::Timeout) error.
    pub(crate) async fn send_within(
        &self,
        request: http::Request<Full<Bytes>>,
        time: Duration,
    ) -> Result<http::Response<UpstreamBody>, Error> {
        tokio::time::timeout(time, self.clone().oneshot(request))
            .await
            .map_err(|_| Error::timeout())?
    }
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

/// The one request type of the HTTP seam: every provider's HTTP level sends a [`Full`]
/// body, a [`Body`](http_body::Body) tower-http's layers accept between the providers and
/// the transport, and one a retry clones in O(1).
impl Service<http::Request<Full<Bytes>>> for HttpTransport {
    type Response = http::Response<UpstreamBody>;
    type Error = Error;
    type Future = ResponseFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: http::Request<Full<Bytes>>) -> ResponseFuture {
        let watch = CallContext::start_call(&mut request);
        ResponseFuture::new(self.client.request(request), self.timeout, watch)
    }
}

/// The transport a provider builder builds on: the one given, or a new [`HttpTransport`].
/// An [`HttpTransport`] gets the silence limit (`timeout`, else `default_timeout`);
/// another transport type has no such limit, so a `timeout` set for it is a
/// [`BuildError::Transport`] (tower's `TimeoutLayer` at the HTTP level is its limit).
pub(crate) fn resolve_transport<T: 'static>(
    transport: Option<T>,
    timeout: Option<Duration>,
    default_timeout: Duration,
) -> Result<T, BuildError> {
    let mut transport = transport;
    // Only a builder whose transport type is still the default starts without one.
    if let Some(pooled) =
        (&mut transport as &mut dyn std::any::Any).downcast_mut::<Option<HttpTransport>>()
    {
        let shared = match pooled.take() {
            Some(shared) => shared,
            None => HttpTransport::builder().build()?,
        };
        *pooled = Some(shared.with_timeout(timeout.unwrap_or(default_timeout)));
    } else if timeout.is_some() {
        return Err(BuildError::Transport(
            "the silence limit (timeout) is HttpTransport's; for another transport, add tower's TimeoutLayer with http_layer",
        ));
    }
    transport.ok_or(BuildError::Transport("no transport"))
}

/// Which proxy the transport tunnels `https` calls through.
#[derive(Default)]
enum ProxyChoice {
    /// `HTTPS_PROXY` / `ALL_PROXY`, minus `NO_PROXY` (the curl conventions).
    #[default]
    FromEnv,
    /// This proxy for every `https` host.
    Url(String),
    /// Always connect directly.
    None,
}

/// Configures an [`HttpTransport`].
#[derive(Default)]
pub struct HttpTransportBuilder {
    connect_timeout: Option<Duration>,
    timeout: Option<Duration>,
    proxy: ProxyChoice,
}

impl std::fmt::Debug for HttpTransportBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // A proxy URL may carry a password.
        let proxy = match &self.proxy {
            ProxyChoice::FromEnv => "from the environment".to_owned(),
            ProxyChoice::Url(url) => redact_url(url),
            ProxyChoice::None => "none".to_owned(),
        };
        f.debug_struct("HttpTransportBuilder")
            .field("connect_timeout", &self.connect_timeout)
            .field("timeout", &self.timeout)
            .field("proxy", &proxy)
            .finish()
    }
}

impl HttpTransportBuilder {
    /// Limit on opening a TCP connection (default: the operating system's).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = Some(timeout);
        self
    }

    /// The upstream silence limit; see [`HttpTransport::with_timeout`].
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Tunnels every `https` call through this HTTP proxy (`http://[user:pass@]host:port`)
    /// with `CONNECT`, instead of reading `HTTPS_PROXY`, `ALL_PROXY` and `NO_PROXY`. Another
    /// scheme (`socks5://`, `https://`) or a URL without a host is a build error.
    pub fn proxy(mut self, url: impl Into<String>) -> Self {
        self.proxy = ProxyChoice::Url(url.into());
        self
    }

    /// Connects directly, whatever the environment says.
    pub fn no_proxy(mut self) -> Self {
        self.proxy = ProxyChoice::None;
        self
    }

    /// Builds the transport and its (empty) pool.
    pub fn build(self) -> Result<HttpTransport, BuildError> {
        let mut tcp = HttpConnector::new();
        tcp.enforce_http(false);
        tcp.set_nodelay(true);
        tcp.set_connect_timeout(self.connect_timeout);
        let proxies = match self.proxy {
            ProxyChoice::FromEnv => proxy_from_env(),
            ProxyChoice::Url(url) => {
                check_proxy_url(&url).map_err(BuildError::Proxy)?;
                Some(Matcher::builder().https(url).build())
            }
            ProxyChoice::None => None,
        };
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let tls = hyper_rustls::HttpsConnectorBuilder::new()
            .with_provider_and_webpki_roots(provider)
            .map_err(|error| BuildError::Tls(error.to_string()))?
            .https_or_http()
            .enable_all_versions()
            .wrap_connector(ProxyConnector::new(tcp, proxies.map(Arc::new)));
        let client = Client::builder(TokioExecutor::new())
            .pool_idle_timeout(POOL_IDLE)
            .pool_timer(TokioTimer::new())
            .build(tls);
        Ok(HttpTransport {
            client,
            timeout: self.timeout,
        })
    }
}

/// The proxy for `https` calls from `HTTPS_PROXY` (else `ALL_PROXY`), minus `NO_PROXY`, in
/// either case. One this transport cannot use (a SOCKS or TLS proxy) is reported and not
/// used, rather than making every call fail.
fn proxy_from_env() -> Option<Matcher> {
    let read = |names: [&str; 2]| {
        names
            .into_iter()
            .find_map(|name| std::env::var(name).ok().filter(|value| !value.is_empty()))
    };
    let proxy =
        read(["HTTPS_PROXY", "https_proxy"]).or_else(|| read(["ALL_PROXY", "all_proxy"]))?;
    if let Err(why) = check_proxy_url(&proxy) {
        tracing::warn!("ignoring the proxy from the environment: {why}");
        return None;
    }
    let no_proxy = read(["NO_PROXY", "no_proxy"]).unwrap_or_default();
    Some(Matcher::builder().https(proxy).no(no_proxy).build())
}

/// An HTTP proxy URL: `http://host[:port]`, or `host[:port]` as curl reads it.
fn check_proxy_url(url: &str) -> Result<(), String> {
    let shown = redact_url(url);
    let with_scheme = if url.contains("://") {
        url.to_owned()
    } else {
        format!("http://{url}")
    };
    let uri: http::Uri = with_scheme
        .parse()
        .map_err(|_| format!("{shown} is not a proxy URL"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!(
            "{shown}: only http:// proxies are supported (CONNECT tunnels)"
        ));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{shown} has no host"));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::upstream::error::ErrorKind;

    #[tokio::test]
    async fn a_reply_head_later_than_its_bound_is_a_timeout() {
        // A server that takes the connection and never answers.
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        let held = tokio::spawn(async move {
            let (_connection, _) = listener.accept().await.unwrap();
            std::future::pending::<()>().await;
        });
        let transport = HttpTransport::builder().no_proxy().build().unwrap();
        let request = http::Request::get(format!("http://{address}/files/x"))
            .body(Full::new(Bytes::new()))
            .unwrap();
        let error = transport
            .send_within(request, Duration::from_millis(100))
            .await
            .expect_err("no answer");
        assert_eq!(error.kind(), ErrorKind::Timeout);
        held.abort();
    }
}
