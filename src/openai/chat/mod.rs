//! `POST /v1/chat/completions`: the request, its messages and tools, and the
//! non-streaming `chat.completion` reply.
//!
//! | file | what |
//! |---|---|
//! | `request.rs` | [`ChatRequest`] and its params |
//! | `read.rs` | how requests, messages and content parts are read, in one pass |
//! | `message.rs` | [`Message`] of every role, content parts, tool calls |
//! | `completion.rs` | [`ChatCompletion`], its choices and annotations |
//! | `usage.rs` | [`Usage`] and its details |

mod completion;
mod message;
mod read;
mod request;
mod usage;

pub use super::extra::Extra;
pub use completion::*;
pub use message::*;
pub use request::*;
pub use usage::*;
