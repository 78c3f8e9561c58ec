//! Server-sent events: an incremental decoder for upstream `text/event-stream` bodies (and
//! [`SseBody`], its stream over an HTTP body) and the encoder for the OpenAI side.

pub mod body;
pub mod decode;
pub mod encode;

pub use body::{SseBody, SseBodyError};
pub use decode::{SseDecoder, SseError, SseEvent};
pub(crate) use encode::put_data;
pub use encode::{DONE_EVENT, encode_data};
