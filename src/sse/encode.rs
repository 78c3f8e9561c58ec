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
    let mut buffer = BytesMut::with_capacity(256);
    put_data(value, &mut buffer)?;
    Ok(buffer.freeze())
}

/// Appends `value` as one SSE `data:` event to `buffer`; on an error, what was appended is
/// taken back.
pub(crate) fn put_data<T: Serialize + ?Sized>(
    value: &T,
    buffer: &mut BytesMut,
) -> Result<(), serde_json::Error> {
    let start = buffer.len();
    buffer.put_slice(b"data: ");
    let mut writer = buffer.writer();
    let written = serde_json::to_writer(&mut writer, value);
    let buffer = writer.into_inner();
    match written {
        Ok(()) => {
            buffer.put_slice(b"\n\n");
            Ok(())
        }
        Err(error) => {
            buffer.truncate(start);
            Err(error)
        }
    }
}
