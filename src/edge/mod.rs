//! The HTTP edge: OpenAI JSON and SSE over HTTP ⇄ typed chat, completions, embeddings and
//! Responses services; Anthropic's Messages API ⇄ a Messages service ([`MessagesEdge`], which
//! writes Anthropic's error envelope instead).
//!
//! It decodes a request body once, encodes a reply once, and is the only place where an
//! [`Error`](crate::Error) becomes the OpenAI error envelope with its status. Streams are committed
//! late: the edge waits for the first chunk before it answers `200`, so an upstream error
//! before that is an ordinary HTTP error; after it, an error becomes one
//! `data: {"error": …}` event and the stream ends. A clean stream ends with
//! `data: [DONE]`. What one request may hold is bounded by [`RequestLimits`].

mod body;
mod commit;
mod decode;
mod messages;
#[cfg(feature = "proxy")]
pub(crate) mod multipart;
mod reply;
mod service;

pub use crate::openai::limits::{Bounded, Counts, RequestLimits};
#[cfg(feature = "proxy")]
pub(crate) use body::ErrorReply;
#[cfg(feature = "proxy")]
pub(crate) use body::bytes_response;
pub use body::{EdgeBody, error_response, json_response};
pub use decode::read_body;
pub use messages::{MessagesEdge, MessagesEdgeLayer, error_response as messages_error_response};
pub use reply::{EdgeReply, RESPONSE_COST_HEADER};
pub use service::{
    ChatEdge, ChatEdgeLayer, CompletionsEdge, CompletionsEdgeLayer, DEFAULT_BODY_LIMIT, Edge,
    EdgeLayer, EmbeddingsEdge, EmbeddingsEdgeLayer, ResponsesEdge, ResponsesEdgeLayer,
};
