//! Anthropic's Messages API wire types (`POST /v1/messages` and
//! `POST /v1/messages/count_tokens`), as Anthropic documents them: the request, the
//! `message` reply, the stream events and the error envelope.
//!
//! Requests keep unknown top-level keys in a flattened map, so the
//! [`MessagesLayer`](crate::layers::messages::MessagesLayer) can refuse them by name;
//! unknown keys inside a content block are ignored, so a client may send back what it
//! received. Replies serialize exactly the fields Anthropic's SDKs read.
//!
//! | file | what |
//! |---|---|
//! | `request.rs` | [`CreateMessage`], its messages, content blocks, tools and options |
//! | `reply.rs` | [`MessageReply`], its content blocks and [`MessageUsage`] |
//! | `events.rs` | [`StreamEvent`]: the stream, event by event |
//! | `error.rs` | [`ErrorEnvelope`]: errors in Anthropic's shape and status |

mod error;
mod events;
mod reply;
mod request;

pub use error::{ErrorEnvelope, ErrorObject, error_type, status};
pub use events::{BlockDelta, MessageDelta, StreamEvent};
pub use reply::{MessageReply, MessageUsage, OutputBlock, TokenCount};
pub use request::{
    Base64Source, CountTokensRequest, CreateMessage, DocumentSource, ImageSource, InputBlock,
    InputMessage, MessageContent, MessageRole, Metadata, OutputConfig, OutputFormat, System,
    SystemBlock, ThinkingConfig, ToolChoice, ToolDefinition, ToolResultBlock, ToolResultContent,
    ToolUseBlock,
};
