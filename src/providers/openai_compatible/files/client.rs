//! [`OpenAiFiles`]: an OpenAI-compatible server's Files and Batch API, each call with the
//! key as `Authorization: Bearer` (never in the URL), bounded in the bytes it reads and the
//! time it takes.
//!
//! | call | request |
//! |---|---|
//! | [`upload`](OpenAiFiles::upload) | `POST {api_base}/files`, multipart: `purpose`, `file` |
//! | [`get`](OpenAiFiles::get), [`delete`](OpenAiFiles::delete) | `GET`, `DELETE {api_base}/files/{id}` |
//! | [`content`](OpenAiFiles::content) | `GET {api_base}/files/{id}/content` |
//! | [`create_batch`](OpenAiFiles::create_batch) | `POST {api_base}/batches` |
//! | [`batch`](OpenAiFiles::batch), [`cancel_batch`](OpenAiFiles::cancel_batch) | `GET {api_base}/batches/{id}`, `POST {api_base}/batches/{id}/cancel` |

use std::sync::Arc;
use std::time::Duration;

use bytes::{BufMut, Bytes, BytesMut};
use http::header::{AUTHORIZATION, CONTENT_TYPE};
use http::{HeaderValue, Method};
use http_body_util::Full;
use serde::de::DeserializeOwned;

use super::wire::{NewBatch, UpstreamBatch, UpstreamFile};
use crate::error::{Error, ErrorKind};
use crate::openai::files::FilePurpose;
use crate::providers::openai_compatible::error::upstream_error;
use crate::upstream::reply::{MAX_REPLY_BYTES, read_body, read_error_body};
use crate::upstream::{HttpTransport, Secret};

/// How long one call other than an upload or a download may take.
pub const CALL_TIME: Duration = Duration::from_secs(60);

/// How long an upload or a download may take.
pub const TRANSFER_TIME: Duration = Duration::from_secs(600);

/// The largest file [`content`](OpenAiFiles::content) reads.
pub const MAX_DOWNLOAD_BYTES: usize = 256 * 1024 * 1024;

/// The Files and Batch API of one OpenAI-compatible endpoint and key.
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::providers::openai_compatible::files::OpenAiFiles;
/// use llm_tower::upstream::HttpTransport;
///
/// let files = OpenAiFiles::new(
///     HttpTransport::builder().build()?,
///     "https://api.openai.com/v1/",
///     Some(Secret::new("sk-…")),
/// );
/// assert_eq!(files.api_base(), "https://api.openai.com/v1");
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
#[derive(Clone)]
pub struct OpenAiFiles {
    transport: HttpTransport,
    base: Arc<str>,
    key: Option<Secret>,
    organization: Option<HeaderValue>,
}

impl std::fmt::Debug for OpenAiFiles {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiFiles")
            .field("api_base", &crate::upstream::redact_url(&self.base))
            .finish_non_exhaustive()
    }
}

impl OpenAiFiles {
    /// Calls `api_base` (`…/v1`) with `key`, if the server needs one.
    pub fn new(transport: HttpTransport, api_base: &str, key: Option<Secret>) -> Self {
        Self {
            transport,
            base: api_base.trim_end_matches('/').into(),
            key,
            organization: None,
        }
    }

    /// Sends `organization` as the `OpenAI-Organization` header.
    pub fn organization(mut self, organization: HeaderValue) -> Self {
        self.organization = Some(organization);
        self
    }

    /// The base URL.
    pub fn api_base(&self) -> &str {
        &self.base
    }

    /// Uploads `bytes` as a file named `filename` of type `mime`, for `purpose`.
    pub async fn upload(
        &self,
        filename: &str,
        mime: &str,
        purpose: FilePurpose,
        bytes: Bytes,
    ) -> Result<UpstreamFile, Error> {
        let purpose = match purpose {
            FilePurpose::Batch => "batch",
            FilePurpose::BatchOutput | FilePurpose::UserData => "user_data",
        };
        let boundary = format!(
            "llm-tower-{:016x}{:016x}",
            fastrand::u64(..),
            fastrand::u64(..)
        );
        let form = form(&boundary, purpose, filename, mime, &bytes);
        let request = self.request(Method::POST, "files").header(
            CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        );
        let reply = self.send(request, form, TRANSFER_TIME).await?;
        read_json(reply).await
    }

    /// The file `id`.
    pub async fn get(&self, id: &str) -> Result<UpstreamFile, Error> {
        self.call_json(Method::GET, &format!("files/{id}"), None)
            .await
    }

    /// Deletes the file `id`.
    pub async fn delete(&self, id: &str) -> Result<(), Error> {
        let request = self.request(Method::DELETE, &format!("files/{id}"));
        let reply = self.send(request, Bytes::new(), CALL_TIME).await?;
        read_bytes(reply, MAX_REPLY_BYTES).await.map(drop)
    }

    /// The bytes of the file `id`, up to [`MAX_DOWNLOAD_BYTES`].
    pub async fn content(&self, id: &str) -> Result<Bytes, Error> {
        let request = self.request(Method::GET, &format!("files/{id}/content"));
        let reply = self.send(request, Bytes::new(), TRANSFER_TIME).await?;
        read_bytes(reply, MAX_DOWNLOAD_BYTES).await
    }

    /// Starts a batch of `endpoint` (`/v1/chat/completions`) over the file `input`.
    pub async fn create_batch(&self, endpoint: &str, input: &str) -> Result<UpstreamBatch, Error> {
        let body = serde_json::to_vec(&NewBatch {
            input_file_id: input,
            endpoint,
            completion_window: "24h",
        })
        .map_err(|error| Error::new(ErrorKind::Api, error.to_string()))?;
        self.call_json(Method::POST, "batches", Some(Bytes::from(body)))
            .await
    }

    /// The batch `id`.
    pub async fn batch(&self, id: &str) -> Result<UpstreamBatch, Error> {
        self.call_json(Method::GET, &format!("batches/{id}"), None)
            .await
    }

    /// Asks the server to cancel the batch `id`.
    pub async fn cancel_batch(&self, id: &str) -> Result<UpstreamBatch, Error> {
        self.call_json(Method::POST, &format!("batches/{id}/cancel"), None)
            .await
    }

    fn request(&self, method: Method, path: &str) -> http::request::Builder {
        http::Request::builder()
            .method(method)
            .uri(format!("{}/{path}", self.base))
    }

    async fn call_json<T: DeserializeOwned>(
        &self,
        method: Method,
        path: &str,
        body: Option<Bytes>,
    ) -> Result<T, Error> {
        let mut request = self.request(method, path);
        if body.is_some() {
            request = request.header(CONTENT_TYPE, "application/json");
        }
        let reply = self
            .send(request, body.unwrap_or_default(), CALL_TIME)
            .await?;
        read_json(reply).await
    }

    /// Sends one request with the key header, within `time`; an error status becomes the
    /// server's error, with the key redacted from it.
    async fn send(
        &self,
        request: http::request::Builder,
        body: Bytes,
        time: Duration,
    ) -> Result<http::Response<crate::upstream::UpstreamBody>, Error> {
        let mut request = request
            .body(Full::new(body))
            .map_err(|_| Error::new(ErrorKind::Api, "not a valid Files API URL"))?;
        if let Some(key) = &self.key {
            let value = key.bearer_header_value().ok_or_else(|| {
                Error::new(
                    ErrorKind::Authentication,
                    "the configured API key is not a valid header value",
                )
            })?;
            request.headers_mut().insert(AUTHORIZATION, value);
            if let Some(organization) = &self.organization {
                request
                    .headers_mut()
                    .insert("openai-organization", organization.clone());
            }
        }
        let reply = self.transport.send_within(request, time).await?;
        if reply.status().is_success() {
            return Ok(reply);
        }
        let (parts, body) = reply.into_parts();
        let body = read_error_body(body).await;
        Err(upstream_error(
            parts.status,
            &parts.headers,
            &body,
            self.key.as_ref(),
        ))
    }
}

/// A multipart form of the `purpose` field and the `file`.
fn form(boundary: &str, purpose: &str, filename: &str, mime: &str, bytes: &[u8]) -> Bytes {
    // A quote or line break in a header value would end it early.
    let safe = |text: &str| -> String {
        text.chars()
            .map(|c| {
                if matches!(c, '"' | '\r' | '\n' | '\\') {
                    '_'
                } else {
                    c
                }
            })
            .collect()
    };
    let (filename, mime) = (safe(filename), safe(mime));
    let mut form = BytesMut::with_capacity(bytes.len() + 512);
    form.put_slice(
        format!(
            "--{boundary}\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\n{purpose}\r\n\
             --{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\n\
             Content-Type: {mime}\r\n\r\n"
        )
        .as_bytes(),
    );
    form.put_slice(bytes);
    form.put_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
    form.freeze()
}

/// The body of a successful reply, up to `limit` bytes.
async fn read_bytes(
    reply: http::Response<crate::upstream::UpstreamBody>,
    limit: usize,
) -> Result<Bytes, Error> {
    Ok(read_body(reply.into_body(), limit).await?)
}

async fn read_json<T: DeserializeOwned>(
    reply: http::Response<crate::upstream::UpstreamBody>,
) -> Result<T, Error> {
    let bytes = read_bytes(reply, MAX_REPLY_BYTES).await?;
    serde_json::from_slice(&bytes).map_err(|error| {
        Error::new(
            ErrorKind::Api,
            format!("the Files API answered something else than its JSON: {error}"),
        )
    })
}

#[cfg(test)]
mod tests {
    use super::form;

    #[test]
    fn a_form_carries_the_purpose_and_the_file_under_a_safe_name() {
        let form = form("b", "batch", "a\"b\r\n.jsonl", "application/jsonl", b"{}\n");
        assert_eq!(
            std::str::from_utf8(&form).unwrap(),
            "--b\r\nContent-Disposition: form-data; name=\"purpose\"\r\n\r\nbatch\r\n\
             --b\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a_b__.jsonl\"\r\n\
             Content-Type: application/jsonl\r\n\r\n{}\n\r\n--b--\r\n"
        );
    }
}
