//! [`LargeMediaLayer`]: media too large to send inline go through the Files API.
//!
//! Gemini refuses a request whose size passes about 20 MB, and inline media (`inlineData`:
//! images, audio, video, PDFs) are most of a large request. When the inline data of one
//! `generateContent` call (streamed or not) pass the layer's [`limit`](LargeMediaLayer::limit),
//! the largest parts are uploaded first ([`GeminiFiles::upload`], the resumable upload)
//! until the rest is under it, and each uploaded part is sent as
//! `fileData {mimeType, fileUri}` instead. A file Google still reads (`PROCESSING`) is
//! waited for, up to [`processing_wait`](LargeMediaLayer::processing_wait), until it is
//! `ACTIVE`.
//!
//! The uploaded files are deleted once the reply is over (a whole reply read, or a stream
//! ended or dropped), in a spawned task, best effort: a failed delete is logged, and Google
//! deletes any file after 48 hours anyway. A failed upload is the call's error, with the
//! status Google answered (the files already uploaded for it are deleted the same way).
//!
//! AI Studio only: Vertex AI does not read AI Studio's file URIs.

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use base64::Engine;
use bytes::Bytes;
use futures_util::StreamExt;
use futures_util::future::Either;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::call::{Call, Method, Reply};
use super::error::Error;
use super::files::GeminiFiles;
use super::files::wire::File;
use super::wire::{FileData, GenerateContentRequest};
use crate::error::{Error as ApiError, ErrorKind};
use crate::providers::BoxCall;
use crate::upstream::{HttpTransport, Secret};

/// The default [`limit`](LargeMediaLayer::limit): Google's 20 MB for a whole request, less
/// 1 MB for the rest of it (text, tools, settings), counted in the base64 text sent.
pub const DEFAULT_INLINE_LIMIT: usize = 19 * 1024 * 1024;

/// The default [`processing_wait`](LargeMediaLayer::processing_wait).
pub const DEFAULT_PROCESSING_WAIT: Duration = Duration::from_secs(120);

/// How often a `PROCESSING` file is looked at again.
const POLL_EVERY: Duration = Duration::from_secs(1);

/// Uploads the largest inline media of a call through the Files API when the call's inline
/// data pass a limit.
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::gemini::LargeMediaLayer;
/// use llm_tower::upstream::HttpTransport;
///
/// let layer = LargeMediaLayer::new(
///     HttpTransport::builder().build()?,
///     "https://generativelanguage.googleapis.com/v1beta",
///     Some(Secret::new("AIza…")),
/// )
/// .limit(8 * 1024 * 1024);
/// assert_eq!(layer.inline_limit(), 8 * 1024 * 1024);
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
#[derive(Clone, Debug)]
pub struct LargeMediaLayer {
    uploads: Option<Arc<Uploads>>,
    limit: usize,
    processing_wait: Duration,
}

/// Where uploads go: the transport, base URL and key of the calls that carry none.
struct Uploads {
    transport: HttpTransport,
    api_base: String,
    api_key: Option<Secret>,
}

impl std::fmt::Debug for Uploads {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Uploads")
            .field("api_base", &crate::upstream::redact_url(&self.api_base))
            .finish_non_exhaustive()
    }
}

impl LargeMediaLayer {
    /// Uploads through `transport` to the Files API of `api_base` (`…/v1beta`), with the
    /// call's own key, else `api_key`.
    pub fn new(transport: HttpTransport, api_base: &str, api_key: Option<Secret>) -> Self {
        Self {
            uploads: Some(Arc::new(Uploads {
                transport,
                api_base: api_base.to_owned(),
                api_key,
            })),
            limit: DEFAULT_INLINE_LIMIT,
            processing_wait: DEFAULT_PROCESSING_WAIT,
        }
    }

    /// A layer that sends every call as it is (where file URIs cannot be used).
    pub fn disabled() -> Self {
        Self {
            uploads: None,
            limit: DEFAULT_INLINE_LIMIT,
            processing_wait: DEFAULT_PROCESSING_WAIT,
        }
    }

    /// The most inline data (base64 text, all parts together) one call sends; beyond it,
    /// the largest parts are uploaded (default [`DEFAULT_INLINE_LIMIT`]).
    pub fn limit(mut self, bytes: usize) -> Self {
        self.limit = bytes;
        self
    }

    /// The limit set.
    pub fn inline_limit(&self) -> usize {
        self.limit
    }

    /// How long an uploaded file may stay `PROCESSING` before the call fails with 504
    /// (default [`DEFAULT_PROCESSING_WAIT`]).
    pub fn processing_wait(mut self, wait: Duration) -> Self {
        self.processing_wait = wait;
        self
    }
}

impl<S> Layer<S> for LargeMediaLayer {
    type Service = LargeMedia<S>;

    fn layer(&self, inner: S) -> Self::Service {
        LargeMedia {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`LargeMediaLayer`].
#[derive(Clone, Debug)]
pub struct LargeMedia<S> {
    inner: S,
    layer: LargeMediaLayer,
}

impl<S> LargeMedia<S> {
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

/// The future of [`LargeMedia`]: the inner service's own when nothing is uploaded.
pub type LargeMediaFuture<F> = Either<F, BoxCall<Reply, Error>>;

impl<S> Service<Call> for LargeMedia<S>
where
    S: Service<Call, Response = Reply, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Reply;
    type Error = Error;
    type Future = LargeMediaFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: Call) -> Self::Future {
        let Some(uploads) = &self.layer.uploads else {
            return Either::Left(self.inner.call(call));
        };
        let chosen = match &call.method {
            Method::Generate(body) | Method::StreamGenerate(body) => {
                too_large(body, self.layer.limit)
            }
            _ => Vec::new(),
        };
        if chosen.is_empty() {
            return Either::Left(self.inner.call(call));
        }
        let key = call
            .options
            .api_key
            .clone()
            .or_else(|| uploads.api_key.clone());
        let Some(key) = key else {
            // Without a key the call fails below, as any other call does.
            return Either::Left(self.inner.call(call));
        };
        let api_base = call
            .options
            .api_base
            .as_deref()
            .unwrap_or(&uploads.api_base);
        let files = GeminiFiles::new(uploads.transport.clone(), api_base, key);
        let wait = self.layer.processing_wait;
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Either::Right(Box::pin(async move {
            let mut uploaded = Uploaded {
                files,
                names: Vec::new(),
            };
            if let Method::Generate(body) | Method::StreamGenerate(body) = &mut call.method {
                upload_parts(body, &chosen, &mut uploaded, wait)
                    .await
                    .map_err(|error| Error::Files(Box::new(error)))?;
            }
            let reply = inner.ready().await?.call(call).await?;
            Ok(match reply {
                // A stream reads the files until it ends: they go when it is dropped.
                Reply::Stream(events) => Reply::Stream(Box::pin(events.map(move |event| {
                    let _keep = &uploaded;
                    event
                }))),
                other => other,
            })
        }))
    }
}

/// Where an inline part is: content, part.
type PartAt = (usize, usize);

/// The inline parts to upload, largest first, until what stays inline is within `limit`.
fn too_large(body: &GenerateContentRequest, limit: usize) -> Vec<PartAt> {
    let mut inline: Vec<(usize, PartAt)> = body
        .contents
        .iter()
        .enumerate()
        .flat_map(|(content, turn)| {
            turn.parts.iter().enumerate().filter_map(move |(part, p)| {
                p.inline_data
                    .as_ref()
                    .map(|blob| (blob.data.len(), (content, part)))
            })
        })
        .collect();
    let mut total: usize = inline.iter().map(|(size, _)| size).sum();
    inline.sort_by_key(|(size, _)| std::cmp::Reverse(*size));
    let mut chosen = Vec::new();
    for (size, at) in inline {
        if total <= limit {
            break;
        }
        total -= size;
        chosen.push(at);
    }
    chosen
}

/// Uploads the parts at `chosen` and points them at their files.
async fn upload_parts(
    body: &mut GenerateContentRequest,
    chosen: &[PartAt],
    uploaded: &mut Uploaded,
    wait: Duration,
) -> Result<(), ApiError> {
    for (index, &(content, part)) in chosen.iter().enumerate() {
        let part = &mut body.contents[content].parts[part];
        let Some(blob) = part.inline_data.take() else {
            continue;
        };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(blob.data.as_bytes())
            .map_err(|_| {
                ApiError::invalid_param("messages", "an inline media part is not valid base64")
            })?;
        let name = format!("media-{}", index + 1);
        let file = uploaded
            .files
            .upload(&name, &blob.mime_type, Bytes::from(bytes))
            .await?;
        uploaded.names.push(file.name.clone());
        let file = active(&uploaded.files, file, wait).await?;
        let Some(uri) = file.uri else {
            return Err(ApiError::new(
                ErrorKind::BadGateway,
                "Gemini's Files API gave the uploaded media no URI",
            ));
        };
        part.file_data = Some(FileData {
            mime_type: Some(blob.mime_type),
            file_uri: uri,
        });
    }
    Ok(())
}

/// The file once Google has read it (`ACTIVE`), within `wait`.
async fn active(files: &GeminiFiles, mut file: File, wait: Duration) -> Result<File, ApiError> {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match file.state.as_deref() {
            Some("PROCESSING") => {}
            Some("FAILED") => {
                return Err(ApiError::invalid_param(
                    "messages",
                    "Gemini could not process an uploaded media part",
                ));
            }
            _ => return Ok(file),
        }
        if tokio::time::Instant::now() + POLL_EVERY > deadline {
            return Err(ApiError::new(
                ErrorKind::Timeout,
                format!(
                    "an uploaded media part was still being processed after {} s",
                    wait.as_secs()
                ),
            ));
        }
        tokio::time::sleep(POLL_EVERY).await;
        file = files.get(&file.name).await?;
    }
}

/// The files uploaded for one call: deleted when it is dropped.
struct Uploaded {
    files: GeminiFiles,
    names: Vec<String>,
}

impl Drop for Uploaded {
    fn drop(&mut self) {
        let names = std::mem::take(&mut self.names);
        if names.is_empty() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            tracing::warn!(files = ?names, "no runtime to delete uploaded media files on");
            return;
        };
        let files = self.files.clone();
        runtime.spawn(async move {
            for name in names {
                if let Err(error) = files.delete(&name).await {
                    tracing::warn!(file = %name, %error, "could not delete an uploaded media file");
                }
            }
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::gemini::wire::{Blob, Content, Part};

    fn inline(size: usize) -> Part {
        Part {
            inline_data: Some(Blob {
                mime_type: "image/png".to_owned(),
                data: "A".repeat(size),
            }),
            ..Part::default()
        }
    }

    #[test]
    fn the_largest_parts_go_first_until_the_rest_fits() {
        let body = GenerateContentRequest {
            contents: vec![
                Content {
                    parts: vec![inline(10), inline(40)],
                    ..Content::default()
                },
                Content {
                    parts: vec![inline(30)],
                    ..Content::default()
                },
            ],
            ..GenerateContentRequest::default()
        };
        assert_eq!(too_large(&body, 80), Vec::<PartAt>::new());
        assert_eq!(too_large(&body, 45), vec![(0, 1)]);
        assert_eq!(too_large(&body, 20), vec![(0, 1), (1, 0)]);
    }
}
