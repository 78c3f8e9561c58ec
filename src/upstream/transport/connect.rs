//! The transport's TCP connector: a direct connection, or a `CONNECT` tunnel through an
//! HTTP proxy for `https` destinations the proxy rules intercept. TLS is layered on top by
//! hyper-rustls, so inside a tunnel the proxy sees only the host name and port.
//!
//! Plain-`http` destinations (local stand-ins, test servers) are always connected directly.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::Uri;
use hyper_rustls::HttpsConnector;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::connect::proxy::Tunnel;
use hyper_util::client::proxy::matcher::Matcher;
use hyper_util::rt::TokioIo;
use tokio::net::TcpStream;
use tower_service::Service;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The whole connector stack: proxy-aware TCP, then TLS.
pub(super) type Connector = HttpsConnector<ProxyConnector>;

/// Opens TCP connections, through a proxy tunnel where the rules say so.
#[derive(Clone)]
pub(super) struct ProxyConnector {
    tcp: HttpConnector,
    proxies: Option<Arc<Matcher>>,
}

impl ProxyConnector {
    pub(super) fn new(tcp: HttpConnector, proxies: Option<Arc<Matcher>>) -> Self {
        Self { tcp, proxies }
    }
}

impl Service<Uri> for ProxyConnector {
    type Response = TokioIo<TcpStream>;
    type Error = BoxError;
    // Connections are pooled, so this runs once per connection, not per request.
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, BoxError>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), BoxError>> {
        self.tcp.poll_ready(cx).map_err(Into::into)
    }

    fn call(&mut self, destination: Uri) -> Self::Future {
        let intercept = match &self.proxies {
            Some(proxies) if destination.scheme() == Some(&http::uri::Scheme::HTTPS) => {
                proxies.intercept(&destination)
            }
            _ => None,
        };
        match intercept {
            Some(intercept) => {
                let mut tunnel = Tunnel::new(intercept.uri().clone(), self.tcp.clone());
                if let Some(credentials) = intercept.basic_auth() {
                    tunnel = tunnel.with_auth(credentials.clone());
                }
                Box::pin(async move { Ok(tunnel.call(destination).await?) })
            }
            None => {
                let connecting = self.tcp.call(destination);
                Box::pin(async move { Ok(connecting.await?) })
            }
        }
    }
}
