//! [`GeminiFiles`]: the Files API and Batch Mode calls, each with the key in the
//! `x-goog-api-key` header (never the URL), bounded in the bytes it reads and the time it
//! takes.
//!
//! | call | request |
//! |---|---|
//! | [`upload`](GeminiFiles::upload) | `POST {root}/upload/{version}/files` with `X-Goog-Upload-Protocol: resumable`, `X-Goog-Upload-Command: start`; then the bytes to the `X-Goog-Upload-URL` it answers, with `X-Goog-Upload-Command: upload, finalize` and `X-Goog-Upload-Offset: 0` |
//! | [`get`](GeminiFiles::get), [`delete`](GeminiFiles::delete) | `GET`, `DELETE {base}/files/{id}` |
//! | [`download`](GeminiFiles::download) | `GET {root}/download/{version}/files/{id}:download?alt=media` (generated files: a batch's results) |
//! | [`create_batch`](GeminiFiles::create_batch) | `POST {base}/models/{model}:batchGenerateContent` or `:asyncBatchEmbedContent` |
//! | [`batch`](GeminiFiles::batch), [`cancel_batch`](GeminiFiles::cancel_batch) | `GET {base}/batches/{id}`, `POST {base}/batches/{id}:cancel` |
//!
//! An upload whose session was started but whose bytes did not arrive leaves nothing
//! behind: Google makes the file only when the finalizing request succeeds.

use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::Method;
use http::header::CONTENT_TYPE;
use http_body_util::Full;
use serde::de::DeserializeOwned;

use super::wire::{CreateBatch, File, InputConfig, NewBatch, Operation, UploadedFile};
use crate::error::{Error, ErrorKind};
use crate::providers::gemini::auth::API_KEY_HEADER;
use crate::providers::gemini::http::upstream_error;
use crate::upstream::reply::{MAX_REPLY_BYTES, read_body, read_error_body};
use crate::upstream::{HttpTransport, Secret};

/// How long one call other than an upload or a download may take.
pub const CALL_TIME: Duration = Duration::from_secs(60);

/// How long an upload or a download may take.
pub const TRANSFER_TIME: Duration = Duration::from_secs(600);

/// The largest file [`download`](GeminiFiles::download) reads.
pub const MAX_DOWNLOAD_BYTES: usize = 256 * 1024 * 1024;

const UPLOAD_URL: &str = "x-goog-upload-url";

/// Which batch method a batch is made with.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BatchMethod {
    /// `batchGenerateContent`.
    Generate,
    /// `asyncBatchEmbedContent`.
    Embed,
}

/// A Files API and Batch Mode client for one key and endpoint.
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::gemini::files::GeminiFiles;
/// use llm_tower::upstream::HttpTransport;
///
/// let files = GeminiFiles::new(
///     HttpTransport::builder().build()?,
///     "https://generativelanguage.googleapis.com/v1beta",
///     Secret::new("AIza…"),
/// );
/// assert_eq!(files.api_base(), "https://generativelanguage.googleapis.com/v1beta");
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
#[derive(Clone)]
pub struct GeminiFiles {
    transport: HttpTransport,
    /// `{scheme}://{host}` and any path before the version.
    root: Arc<str>,
    /// `v1beta`.
    version: Arc<str>,
    key: Secret,
}

impl std::fmt::Debug for GeminiFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiFiles")
            .field("api_base", &crate::upstream::redact_url(&self.api_base()))
            .finish_non_exhaustive()
    }
}

impl GeminiFiles {
    /// Calls `api_base` (`…/v1beta`, its last segment the version) with `key`.
    pub fn new(transport: HttpTransport, api_base: &str, key: Secret) -> Self {
        let base = api_base.trim_end_matches('/');
        let (root, version) = base.rsplit_once('/').unwrap_or((base, "v1beta"));
        Self {
            transport,
            root: root.into(),
            version: version.into(),
            key,
        }
    }

    /// The base URL, version included.
    pub fn api_base(&self) -> String {
        format!("{}/{}", self.root, self.version)
    }

    /// Uploads `bytes` as a file named `display_name` of type `mime`.
    pub async fn upload(
        &self,
        display_name: &str,
        mime: &str,
        bytes: Bytes,
    ) -> Result<File, Error> {
        let start_url = format!("{}/upload/{}/files", self.root, self.version);
        let metadata = serde_json::json!({"file": {"display_name": display_name}});
        let start = self
            .request(Method::POST, &start_url)
            .header("x-goog-upload-protocol", "resumable")
            .header("x-goog-upload-command", "start")
            .header("x-goog-upload-header-content-length", bytes.len())
            .header("x-goog-upload-header-content-type", mime)
            .header(CONTENT_TYPE, "application/json");
        let started = self
            .send(start, Bytes::from(metadata.to_string()), CALL_TIME)
            .await?;
        let (parts, body) = started.into_parts();
        if !parts.status.is_success() {
            let body = read_error_body(body).await;
            return Err(upstream_error(parts.status, &parts.headers, &body).into());
        }
        let session = parts
            .headers
            .get(UPLOAD_URL)
            .and_then(|value| value.to_str().ok())
            .ok_or_else(|| Error::new(ErrorKind::Api, "Gemini started no upload session"))?
            .to_owned();
        // The bytes go to the host the key was sent to, nowhere else.
        if !session.starts_with(&format!("{}/", self.root)) {
            return Err(Error::new(
                ErrorKind::Api,
                "Gemini's upload session is on another host",
            ));
        }
        let upload = self
            .request(Method::POST, &session)
            .header("x-goog-upload-command", "upload, finalize")
            .header("x-goog-upload-offset", 0);
        let reply = self.send(upload, bytes, TRANSFER_TIME).await?;
        Ok(read_json::<UploadedFile>(reply).await?.file)
    }

    /// The file `name` (`files/{id}`).
    pub async fn get(&self, name: &str) -> Result<File, Error> {
        self.call_json(Method::GET, &self.url(name), None).await
    }

    /// Deletes the file `name`.
    pub async fn delete(&self, name: &str) -> Result<(), Error> {
        let reply = self
            .send(
                self.request(Method::DELETE, &self.url(name)),
                Bytes::new(),
                CALL_TIME,
            )
            .await?;
        read_bytes(reply, MAX_REPLY_BYTES).await.map(drop)
    }

    /// The bytes of a generated file `name` (a batch's results), up to
    /// [`MAX_DOWNLOAD_BYTES`].
    pub async fn download(&self, name: &str) -> Result<Bytes, Error> {
        let url = format!(
            "{}/download/{}/{name}:download?alt=media",
            self.root, self.version
        );
        let reply = self
            .send(self.request(Method::GET, &url), Bytes::new(), TRANSFER_TIME)
            .await?;
        read_bytes(reply, MAX_DOWNLOAD_BYTES).await
    }

    /// Starts a batch of `model` (bare id) over the JSONL file `input` (`files/{id}`).
    pub async fn create_batch(
        &self,
        model: &str,
        method: BatchMethod,
        display_name: &str,
        input: &str,
    ) -> Result<Operation, Error> {
        let verb = match method {
            BatchMethod::Generate => "batchGenerateContent",
            BatchMethod::Embed => "asyncBatchEmbedContent",
        };
        let body = CreateBatch {
            batch: NewBatch {
                display_name,
                input_config: InputConfig { file_name: input },
            },
        };
        let body = serde_json::to_vec(&body)
            .map_err(|error| Error::new(ErrorKind::Api, error.to_string()))?;
        let url = self.url(&format!("models/{model}:{verb}"));
        self.call_json(Method::POST, &url, Some(Bytes::from(body)))
            .await
    }

    /// The batch `name` (`batches/{id}`).
    pub async fn batch(&self, name: &str) -> Result<Operation, Error> {
        self.call_json(Method::GET, &self.url(name), None).await
    }

    /// Asks Google to cancel the batch `name`.
    pub async fn cancel_batch(&self, name: &str) -> Result<(), Error> {
        let url = self.url(&format!("{name}:cancel"));
        let reply = self
            .send(
                self.request(Method::POST, &url)
                    .header(CONTENT_TYPE, "application/json"),
                Bytes::from_static(b"{}"),
                CALL_TIME,
            )
            .await?;
        read_bytes(reply, MAX_REPLY_BYTES).await.map(drop)
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{}/{path}", self.root, self.version)
    }

    fn request(&self, method: Method, url: &str) -> http::request::Builder {
        http::Request::builder().method(method).uri(url)
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        url: &str,
        body: Option<Bytes>,
    ) -> Result<T, Error> {
        let mut request = self.request(method, url);
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let reply = self
            .send(request, body.unwrap_or_default(), CALL_TIME)
            .await?;
        read_json(reply).await
    }

    /// Sends one request with the key header, within `time`.
    async fn send(
        &self,
        request: http::request::Builder,
        body: Bytes,
        time: Duration,
    ) -> Result<http::Response<crate::upstream::UpstreamBody>, Error> {
        let key = self.key.header_value().ok_or_else(|| {
            Error::new(
                ErrorKind::Authentication,
                "the configured Gemini API key is not a valid header value",
            )
        })?;
        let mut request = request
            .body(Full::new(body))
            .map_err(|_| Error::new(ErrorKind::Api, "not a valid Files API URL"))?;
        request.headers_mut().insert(API_KEY_HEADER, key);
        Ok(self.transport.send_within(request, time).await?)
    }
}

/// The body of a successful reply (up to `limit` bytes), or Google's error.
async fn read_bytes(
    reply: http::Response<crate::upstream::UpstreamBody>,
    limit: usize,
) -> Result<Bytes, Error> {
    let (parts, body) = reply.into_parts();
    if !parts.status.is_success() {
        let body = read_error_body(body).await;
        return Err(upstream_error(parts.status, &parts.headers, &body).into());
    }
    Ok(read_body(body, limit).await?)
}

async fn read_json<T: DeserializeOwned>(
    reply: http::Response<crate::upstream::UpstreamBody>,
) -> Result<T, Error> {
    let bytes = read_bytes(reply, MAX_REPLY_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|error| {
        Error::new(
            ErrorKind::Api,
            format!("Gemini's Files API answered something else than its JSON: {error}"),
        )
    })
}
