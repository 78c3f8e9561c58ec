//! The events of a streamed reply, in Anthropic's order: `message_start`, then per block
//! `content_block_start`, `content_block_delta`…, `content_block_stop`; `ping` after the
//! first block opens; `message_delta` (stop reason, usage) and `message_stop` at the end,
//! or `error` instead.

use serde::{Deserialize, Serialize};

use super::error::ErrorObject;
use super::reply::{MessageReply, MessageUsage, OutputBlock};

/// One event; its `type` is also the SSE `event:` name.
///
/// ```
/// use llm_tower::anthropic::StreamEvent;
///
/// let event = StreamEvent::ContentBlockStop { index: 0 };
/// assert_eq!(event.name(), "content_block_stop");
/// assert_eq!(serde_json::to_string(&event)?, r#"{"type":"content_block_stop","index":0}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum StreamEvent {
    /// The reply, empty.
    MessageStart {
        /// `content` empty, `stop_reason` null, the input usage known so far.
        message: MessageReply,
    },
    /// A block opens.
    ContentBlockStart {
        /// Position in `content`.
        index: usize,
        /// The block, empty.
        content_block: OutputBlock,
    },
    /// Keep-alive.
    Ping,
    /// More of a block.
    ContentBlockDelta {
        /// Position in `content`.
        index: usize,
        /// What to add.
        delta: BlockDelta,
    },
    /// A block is complete.
    ContentBlockStop {
        /// Position in `content`.
        index: usize,
    },
    /// The end of the reply: stop reason and usage.
    MessageDelta {
        /// Stop reason and sequence.
        delta: MessageDelta,
        /// The final counts.
        usage: MessageUsage,
    },
    /// The stream is complete.
    MessageStop,
    /// The stream failed.
    Error {
        /// What failed.
        error: ErrorObject,
    },
}

impl StreamEvent {
    /// The SSE `event:` name (the JSON `type`).
    pub fn name(&self) -> &'static str {
        match self {
            Self::MessageStart { .. } => "message_start",
            Self::ContentBlockStart { .. } => "content_block_start",
            Self::Ping => "ping",
            Self::ContentBlockDelta { .. } => "content_block_delta",
            Self::ContentBlockStop { .. } => "content_block_stop",
            Self::MessageDelta { .. } => "message_delta",
            Self::MessageStop => "message_stop",
            Self::Error { .. } => "error",
        }
    }
}

/// What a `content_block_delta` adds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum BlockDelta {
    /// Text of a `text` block.
    TextDelta {
        /// The text.
        text: String,
    },
    /// Argument JSON of a `tool_use` block, in pieces.
    InputJsonDelta {
        /// The next piece.
        partial_json: String,
    },
    /// Text of a `thinking` block.
    ThinkingDelta {
        /// The text.
        thinking: String,
    },
    /// The signature of a `thinking` block (just before it stops).
    SignatureDelta {
        /// The signature.
        signature: String,
    },
}

/// `message_delta.delta`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageDelta {
    /// Why the reply ended.
    pub stop_reason: Option<String>,
    /// The stop sequence, when known.
    pub stop_sequence: Option<String>,
}
