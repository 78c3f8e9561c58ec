//! Reading an upstream reply: the whole body up to a size cap ([`read_body`]), and the start
//! of an error body within a deadline ([`read_error_body`]). `Retry-After` is read by
//! [`parse_retry_after`](super::retry::parse_retry_after).

use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http_body::Body;
use http_body_util::BodyExt;

use super::Error;

/// Largest JSON reply read into memory by default (Gemini's generated images are inline
/// base64).
pub const MAX_REPLY_BYTES: usize = 64 * 1024 * 1024;

/// Reads a whole reply body, refusing more than `limit` bytes with
/// an [`Error`] of kind [`TooLarge`](super::error::ErrorKind::TooLarge).
///
/// ```
/// use http_body_util::Full;
/// use llm_tower::upstream::{Error, error::ErrorKind, reply::read_body};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let body = Full::new(bytes::Bytes::from_static(b"{\"ok\":true}"));
/// assert_eq!(read_body(body.clone(), 1024).await?, "{\"ok\":true}");
/// let error = read_body(body, 4).await.unwrap_err();
/// assert_eq!(error.kind(), ErrorKind::TooLarge { limit: 4 });
/// # Ok::<(), Error>(())
/// # }).unwrap();
/// ```
pub async fn read_body<B>(body: B, limit: usize) -> Result<Bytes, Error>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut body = std::pin::pin!(body);
    let mut buffer = BytesMut::new();
    while let Some(frame) = body.frame().await {
        let frame = frame.map_err(Error::reading_body)?;
        if let Ok(data) = frame.into_data() {
            if buffer.len() + data.len() > limit {
                return Err(Error::too_large(limit));
            }
            buffer.extend_from_slice(&data);
        }
    }
    Ok(buffer.freeze())
}

/// Most of an error body read: APIs' error bodies are a few hundred bytes.
pub const MAX_ERROR_BYTES: usize = 64 * 1024;

/// Longest time spent reading an error body: one that trickles in is cut off, not waited
/// for byte by byte.
pub const ERROR_BODY_DEADLINE: Duration = Duration::from_secs(5);

/// Reads what an error body sends within [`ERROR_BODY_DEADLINE`], up to
/// [`MAX_ERROR_BYTES`]; what arrived by then is the body (an error status is reported
/// either way, so a body that breaks off is no further error).
///
/// ```
/// use http_body_util::Full;
/// use llm_tower::upstream::reply::read_error_body;
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// let body = Full::new(bytes::Bytes::from_static(b"{\"error\":{}}"));
/// assert_eq!(read_error_body(body).await, "{\"error\":{}}");
/// # });
/// ```
pub async fn read_error_body<B>(body: B) -> Bytes
where
    B: Body<Data = Bytes>,
{
    let mut body = std::pin::pin!(body);
    let mut buffer = BytesMut::new();
    let reading = async {
        while let Some(Ok(frame)) = body.frame().await {
            if let Ok(data) = frame.into_data() {
                let room = MAX_ERROR_BYTES - buffer.len();
                buffer.extend_from_slice(&data[..data.len().min(room)]);
                if buffer.len() == MAX_ERROR_BYTES {
                    break;
                }
            }
        }
    };
    let _ = tokio::time::timeout(ERROR_BODY_DEADLINE, reading).await;
    buffer.freeze()
}
