//! The OpenAI side of a stream: `data: {json}\n\n` per chunk, `data: [DONE]\n\n` at the end.

use bytes::{BufMut, Bytes, BytesMut};
use serde::Serialize;

/// The event that ends a clean OpenAI stream.
pub const DONE_EVENT: &[u8] = b"data: [DONE]\n\n";

/// Serializes `value` as one SSE `data:` event.
///
/// ```
/// use llm_tower::sse::encode_data;
/// let event = encode_data(&serde_json::json!({"a": 1}))?;
/// assert_eq!(&event[..], b"data: {\"a\":1}\n\n");
/// # Ok::<(), serde_json::Error>(())
/// ```
pub fn encode_data<T: Serialize + ?Sized>(value: &T) -> Result<Bytes, serde_json::Error> {
    let mut buffer = BytesMut::with_capacity(256).writer();
    std::io::Write::write_all(&mut buffer, b"data: ").map_err(serde_json::Error::io)?;
    serde_json::to_writer(&mut buffer, value)?;
    std::io::Write::write_all(&mut buffer, b"\n\n").map_err(serde_json::Error::io)?;
    Ok(buffer.into_inner().freeze())
}
