//! [`MediaFetchLayer`]: downloads the http(s) `image_url`s of a chat request (a few at a
//! time, on the async runtime, never blocking it; at most [`MAX_IMAGES`] images and
//! [`MAX_TOTAL_BYTES`] in all) and replaces each with a `data:` URI of the
//! served content type, before the request is translated.
//!
//! URLs on Google's own API host (Files API URIs) are left alone: Gemini reads those
//! itself. A refused host (private or loopback, unless allowed), an oversize body or a
//! failed download is a 400 naming the message and part; nothing is sent upstream.

use std::pin::Pin;
use std::task::{Context, Poll};

use base64::Engine;
use futures_util::StreamExt;
use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::fetch::MediaFetcher;
use super::policy::FetchError;
use crate::error::Error;
use crate::openai::ChatRequest;
use crate::openai::chat::Content;

/// Most image URLs downloaded for one request.
pub const MAX_IMAGES: usize = 16;

/// Downloads in flight for one request.
pub const CONCURRENT_DOWNLOADS: usize = 4;

/// Most bytes downloaded for one request, all images together (Gemini takes 20 MB inline).
pub const MAX_TOTAL_BYTES: usize = 20 * 1024 * 1024;

/// Host whose URLs Gemini fetches itself.
const GOOGLE_API_HOST: &str = "generativelanguage.googleapis.com";

/// Inlines remote images.
///
/// ```
/// use llm_tower::layers::media::{FetchPolicy, MediaFetchLayer, MediaFetcher};
/// let fetcher = MediaFetcher::new(FetchPolicy::default())?;
/// let _layer = MediaFetchLayer::new(fetcher);
/// # Ok::<(), llm_tower::layers::media::FetchError>(())
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
    type Future = MediaFetchFuture<S::Future, S::Response>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: ChatRequest) -> Self::Future {
        if remote_images(&request).next().is_none() {
            // The common case: nothing to download, no allocation.
            return MediaFetchFuture::Direct {
                inner: self.inner.call(request),
            };
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let fetcher = self.fetcher.clone();
        MediaFetchFuture::Fetching {
            future: Box::pin(async move {
                let request = inline_remote_images(request, &fetcher).await?;
                inner.call(request).await
            }),
        }
    }
}

pin_project! {
    /// Future of [`MediaFetchService`].
    #[project = MediaFetchFutureProj]
    pub enum MediaFetchFuture<F, R> {
        /// No download: the inner call itself.
        Direct {
            #[pin]
            inner: F,
        },
        /// Downloading, then calling the inner service.
        Fetching {
            future: Pin<Box<dyn Future<Output = Result<R, Error>> + Send>>,
        },
    }
}

impl<F, R> Future for MediaFetchFuture<F, R>
where
    F: Future<Output = Result<R, Error>>,
{
    type Output = Result<R, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            MediaFetchFutureProj::Direct { inner } => inner.poll(cx),
            MediaFetchFutureProj::Fetching { future } => future.as_mut().poll(cx),
        }
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
    if targets.len() > MAX_IMAGES {
        return Err(Error::invalid_param(
            "messages",
            format!(
                "{} image URLs in one request; at most {MAX_IMAGES} are downloaded (send the others inline)",
                targets.len()
            ),
        ));
    }
    // A few downloads at a time, and a budget for all of them together, so that one
    // request cannot hold hundreds of megabytes.
    let downloads: Vec<_> = targets
        .iter()
        .map(|(message, part, url)| {
            let (fetcher, url, message, part) = (fetcher.clone(), url.clone(), *message, *part);
            async move {
                fetcher
                    .fetch(&url)
                    .await
                    .map_err(|error| fetch_error(error, message, part))
            }
        })
        .collect();
    let mut downloads = futures_util::stream::iter(downloads).buffered(CONCURRENT_DOWNLOADS);
    let mut fetched = Vec::with_capacity(targets.len());
    let mut total = 0;
    while let Some(image) = downloads.next().await {
        let image = image?;
        total += image.data.len();
        if total > MAX_TOTAL_BYTES {
            return Err(Error::invalid_param(
                "messages",
                format!("the images of one request may total at most {MAX_TOTAL_BYTES} bytes"),
            ));
        }
        fetched.push(image);
    }
    for ((message, part, _), fetched) in targets.into_iter().zip(fetched) {
        let data_uri = format!(
            "data:{};base64,{}",
            fetched.mime_type,
            base64::engine::general_purpose::STANDARD.encode(&fetched.data)
        );
        if let Some(Content::Parts(parts)) = &mut request.messages[message].content
            && let Some(image) = parts[part].image_url.as_mut()
        {
            image.set_url(data_uri);
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
