//! Provider-agnostic layers at the OpenAI level: each works over any chat service, so every
//! provider (and the [`ModelRouter`](crate::ModelRouter)) can use it.
//!
//! | module | what |
//! |---|---|
//! | [`validate`] | [`SchemaValidationLayer`]: `enforce_validation` of structured replies |
//! | [`media`] | [`MediaFetchLayer`]: downloads image URLs (SSRF-guarded) and inlines them |
//! | [`completions`] | [`CompletionsLayer`]: legacy `/v1/completions` over chat |
//! | [`responses`] | [`ResponsesLayer`]: the Responses API (`/v1/responses`) over chat |
//! | [`messages`] | [`MessagesLayer`]: Anthropic's Messages API (`/v1/messages`) over chat |
//! | [`files`], [`batches`] | OpenAI's `/v1/files` and `/v1/batches` over any provider that holds files |
//! | [`fan_out`] | bounded fan-out: one request's several upstream calls, at most `k` at a time |
//! | [`refusable`] | [`Refusable`]: the named future of a layer that may refuse a request before calling its inner service |

pub mod batches;
mod chat_params;
pub mod completions;
pub mod fan_out;
pub mod files;
pub mod media;
pub mod messages;
pub mod refusable;
pub mod responses;
pub mod validate;

pub use completions::CompletionsLayer;
pub use media::MediaFetchLayer;
pub use messages::MessagesLayer;
pub use refusable::Refusable;
pub use responses::ResponsesLayer;
pub use validate::SchemaValidationLayer;

use crate::error::{Error, ErrorKind};

/// The error of a chat service that answered with `answered` (a stream, a whole
/// completion) where `asked` was asked for.
fn mismatch(answered: &str, asked: &str) -> Error {
    Error::new(
        ErrorKind::Api,
        format!("the chat service answered with {answered} where {asked} was asked for"),
    )
}
