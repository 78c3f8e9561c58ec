//! [`ReqwestTransport`]: the innermost service, sending `http::Request<Bytes>` with a shared
//! `reqwest::Client` (connection pooling, HTTP/2, rustls).

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body_util::BodyExt;
use tower_service::Service;

use super::call::UpstreamBody;
use super::error::Error;

/// Sends requests with a `reqwest::Client`.
///
/// ```
/// use llm_tower::gemini::ReqwestTransport;
/// let transport = ReqwestTransport::new(reqwest::Client::new());
/// # let _ = transport;
/// ```
#[derive(Clone, Debug)]
pub struct ReqwestTransport {
    client: reqwest::Client,
}

impl ReqwestTransport {
    /// Uses `client`; clone one client across providers to share its pool.
    pub fn new(client: reqwest::Client) -> Self {
        Self { client }
    }

    /// The client.
    pub fn client(&self) -> &reqwest::Client {
        &self.client
    }
}

impl Default for ReqwestTransport {
    fn default() -> Self {
        Self::new(reqwest::Client::new())
    }
}

impl Service<http::Request<Bytes>> for ReqwestTransport {
    type Response = http::Response<UpstreamBody>;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<Self::Response, Error>> + Send>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Bytes>) -> Self::Future {
        let client = self.client.clone();
        Box::pin(async move {
            let request = reqwest::Request::try_from(request)?;
            let response = client.execute(request).await?;
            let response: http::Response<reqwest::Body> = response.into();
            Ok(response.map(|body| body.map_err(Into::into).boxed_unsync()))
        })
    }
}
