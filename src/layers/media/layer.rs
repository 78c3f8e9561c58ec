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
use tower::ServiceExt;
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

/// Most bytes downloaded for one request, all images together. Past Gemini's 20 MB a
/// request, the largest go through the Files API (see
/// [`LargeMediaLayer`](crate::gemini::LargeMediaLayer)); this bounds what one request holds.
pub const MAX_TOTAL_BYTES: usize = 64 * 1024 * 1024;

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

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
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
        // The downloads may take seconds. The ready service is let go at once: kept across
        // them, it would hold its slot of a concurrency limit below (and every request
        // behind it would wait on this one's images). A clone is made ready once the
        // request is.
        let fresh = self.inner.clone();
        drop(std::mem::replace(&mut self.inner, fresh));
        let inner = self.inner.clone();
        let fetcher = self.fetcher.clone();
        MediaFetchFuture::Fetching {
            future: Box::pin(async move {
                let request = inline_remote_images(request, &fetcher).await?;
                inner.oneshot(request).await
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

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::sync::oneshot;
    use tower::limit::ConcurrencyLimitLayer;
    use tower::{ServiceBuilder, ServiceExt};

    use super::*;
    use crate::layers::media::FetchPolicy;

    /// A one-pixel PNG's first bytes (the fetcher checks nothing more).
    const IMAGE: &[u8] = b"\x89PNG\r\n\x1a\n";

    /// An image server that answers its one request only when `release` fires, and says
    /// on `arrived` that the request came.
    async fn held_image(arrived: oneshot::Sender<()>, release: oneshot::Receiver<()>) -> String {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
            .await
            .expect("bind");
        let address = listener.local_addr().expect("local address");
        tokio::spawn(async move {
            let (mut stream, _) = listener.accept().await.expect("accept");
            let mut head = Vec::new();
            let mut buffer = [0; 1024];
            while !head.windows(4).any(|window| window == b"\r\n\r\n") {
                let read = stream.read(&mut buffer).await.expect("read");
                assert!(read > 0, "the client hung up");
                head.extend_from_slice(&buffer[..read]);
            }
            assert!(head.starts_with(b"GET /cat.png HTTP/1.1\r\n"));
            let _ = arrived.send(());
            let _ = release.await;
            let response = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: image/png\r\ncontent-length: {}\r\n\r\n",
                IMAGE.len()
            );
            stream.write_all(response.as_bytes()).await.expect("write");
            stream.write_all(IMAGE).await.expect("write");
        });
        format!("http://{address}/cat.png")
    }

    fn request(content: serde_json::Value) -> ChatRequest {
        serde_json::from_value(serde_json::json!({
            "model": "gemini-2.5-flash",
            "messages": [{"role": "user", "content": content}]
        }))
        .expect("a chat request")
    }

    /// The first image URL of `request`'s first message.
    fn image_url(request: &ChatRequest) -> Option<String> {
        match &request.messages[0].content {
            Some(Content::Parts(parts)) => Some(parts[0].image_url.as_ref()?.url().to_owned()),
            _ => None,
        }
    }

    #[tokio::test]
    async fn a_download_holds_no_slot_of_a_concurrency_limit_below() {
        let (arrived_tx, arrived) = oneshot::channel();
        let (release, release_rx) = oneshot::channel();
        let url = held_image(arrived_tx, release_rx).await;
        let fetcher = MediaFetcher::new(FetchPolicy::allowing(["127.0.0.1"])).expect("fetcher");
        let mut service = ServiceBuilder::new()
            .layer(MediaFetchLayer::new(fetcher))
            .layer(ConcurrencyLimitLayer::new(1))
            .service_fn(|request: ChatRequest| async move { Ok::<_, Error>(image_url(&request)) });

        let with_image = request(serde_json::json!([
            {"type": "image_url", "image_url": {"url": url}}
        ]));
        let downloading = service.ready().await.expect("ready").call(with_image);
        let downloading = tokio::spawn(downloading);
        arrived.await.expect("the download started");

        // The only slot below is free while the image is on its way: a request without
        // images goes through (the bound turns a regression into a failure, not a hang).
        let plain = tokio::time::timeout(Duration::from_secs(5), async {
            service
                .ready()
                .await
                .expect("ready")
                .call(request(serde_json::json!("hello")))
                .await
        })
        .await
        .expect("not blocked behind the download")
        .expect("answered");
        assert_eq!(plain, None);

        release.send(()).expect("the server waits");
        let inlined = downloading.await.expect("joined").expect("answered");
        assert_eq!(
            inlined.as_deref(),
            Some("data:image/png;base64,iVBORw0KGgo=")
        );
    }
}
