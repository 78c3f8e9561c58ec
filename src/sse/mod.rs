//! Server-sent events: an incremental decoder for upstream `text/event-stream` bodies and
//! the encoder for the OpenAI side.

pub mod decode;
pub mod encode;

pub use decode::{SseDecoder, SseError, SseEvent};
pub use encode::{DONE_EVENT, encode_data};
