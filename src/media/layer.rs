//! [`MediaFetchLayer`]: downloads the http(s) `image_url`s of a chat request (concurrently,
//! on the async runtime, never blocking it) and replaces each with a `data:` URI of the
//! served content type, before the request is translated.
//!
//! URLs on Google's own API host (Files API URIs) are left alone: Gemini reads those
//! itself. A refused host (private or loopback, unless allowed), an oversize body or a
//! failed download is a 400 naming the message and part; nothing is sent upstream.

use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine;
use futures_util::future::try_join_all;
use tower_layer::Layer;
use tower_service::Service;

use super::fetch::{FetchError, MediaFetcher};
use crate::error::Error;
use crate::openai::ChatRequest;
use crate::openai::chat::Content;

/// Host whose URLs Gemini fetches itself.
const GOOGLE_API_HOST: &str = "generativelanguage.googleapis.com";

/// Inlines remote images.
///
/// ```
/// use llm_tower::media::{FetchPolicy, MediaFetchLayer, MediaFetcher};
/// let fetcher = MediaFetcher::new(FetchPolicy::default())?;
/// let _layer = MediaFetchLayer::new(fetcher);
/// # Ok::<(), llm_tower::media::FetchError>(())
/// ```
#[derive(Clone, Debug)]
pub struct MediaFetchLayer {
    fetcher: MediaFetcher,
}

impl MediaFetchLayer {
    /// Downloads with `fetcher`.
    pub fn new(fetcher: MediaFetcher) -> Self {
        Self { fetcher }
    }
}

impl<S> Layer<S> for MediaFetchLayer {
    type Service = MediaFetchService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        MediaFetchService::new(inner, self.fetcher.clone())
    }
}

/// The service of [`MediaFetchLayer`].
#[derive(Clone, Debug)]
pub struct MediaFetchService<S> {
    inner: S,
    fetcher: MediaFetcher,
}

impl<S> MediaFetchService<S> {
    /// Wraps `inner`.
    pub fn new(inner: S, fetcher: MediaFetcher) -> Self {
        Self { inner, fetcher }
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<ChatRequest> for MediaFetchService<S>
where
    S: Service<ChatRequest, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
    S::Response: Send,
{
    type Response = S::Response;
    type Error = Error;
    type Future = Pin<Box<dyn Future<Output = Result<S::Response, Error>> + Send>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: ChatRequest) -> Self::Future {
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        if remote_images(&request).next().is_none() {
            // The common case: no download, no extra allocation beyond the box.
            return Box::pin(inner.call(request));
        }
        let fetcher = self.fetcher.clone();
        Box::pin(async move {
            let request = inline_remote_images(request, &fetcher).await?;
            inner.call(request).await
        })
    }
}

/// `(message, part, url)` of every image to download.
fn remote_images(request: &ChatRequest) -> impl Iterator<Item = (usize, usize, &str)> {
    request
        .messages
        .iter()
        .enumerate()
        .flat_map(|(message_index, message)| {
            let parts = match &message.content {
                Some(Content::Parts(parts)) => parts.as_slice(),
                _ => &[],
            };
            parts
                .iter()
                .enumerate()
                .filter_map(move |(part_index, part)| {
                    let url = part.image_url.as_ref()?.url();
                    needs_download(url).then_some((message_index, part_index, url))
                })
        })
}

fn needs_download(url: &str) -> bool {
    let remote = url.starts_with("https://") || url.starts_with("http://");
    remote
        && url::Url::parse(url)
            .map(|parsed| parsed.host_str() != Some(GOOGLE_API_HOST))
            .unwrap_or(true)
}

async fn inline_remote_images(
    mut request: ChatRequest,
    fetcher: &MediaFetcher,
) -> Result<ChatRequest, Error> {
    let targets: Vec<(usize, usize, String)> = remote_images(&request)
        .map(|(message, part, url)| (message, part, url.to_owned()))
        .collect();
    let downloads = targets.iter().map(|(message, part, url)| async move {
        fetcher
            .fetch(url)
            .await
            .map_err(|error| fetch_error(error, *message, *part))
    });
    let fetched = try_join_all(downloads).await?;
    for ((message, part, _), fetched) in targets.into_iter().zip(fetched) {
        let data_uri = format!(
            "data:{};base64,{}",
            fetched.mime_type,
            base64::engine::general_purpose::STANDARD.encode(&fetched.data)
        );
        if let Some(Content::Parts(parts)) = &mut request.messages[message].content {
            if let Some(image) = parts[part].image_url.as_mut() {
                image.set_url(data_uri);
            }
        }
    }
    Ok(request)
}

fn fetch_error(error: FetchError, message: usize, part: usize) -> Error {
    let param = format!("messages[{message}].content[{part}].image_url.url");
    let text = match &error {
        FetchError::HostNotAllowed { host, reason } => format!(
            "{param}: refusing to fetch an image from {host} ({reason} address); allow the host with user_url_allowed_hosts"
        ),
        _ => format!("{param}: {error}"),
    };
    Error::invalid_param(param, text)
}
