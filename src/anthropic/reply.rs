//! The reply of `POST /v1/messages` (`"type": "message"`) and of
//! `POST /v1/messages/count_tokens`.

use serde::{Deserialize, Serialize};
use serde_json::Value;

/// A whole reply.
///
/// ```
/// use llm_tower::anthropic::{MessageReply, OutputBlock};
///
/// let reply: MessageReply = serde_json::from_value(serde_json::json!({
///     "id": "msg_1", "type": "message", "role": "assistant", "model": "m",
///     "content": [{"type": "text", "text": "Hi"}],
///     "stop_reason": "end_turn", "stop_sequence": null,
///     "usage": {"input_tokens": 3, "output_tokens": 1}
/// }))?;
/// assert!(matches!(&reply.content[0], OutputBlock::Text { text } if text == "Hi"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageReply {
    /// `msg_…`.
    pub id: String,
    /// `"message"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `"assistant"`.
    pub role: String,
    /// The model as requested.
    pub model: String,
    /// Thinking, text and tool calls, in order.
    pub content: Vec<OutputBlock>,
    /// `end_turn`, `max_tokens`, `stop_sequence`, `tool_use`, `refusal` (`null` in
    /// `message_start`).
    pub stop_reason: Option<String>,
    /// The stop sequence that ended the reply, when known.
    pub stop_sequence: Option<String>,
    /// Token counts.
    pub usage: MessageUsage,
}

impl MessageReply {
    /// An empty reply of `model`, as `message_start` announces it.
    pub fn new(id: String, model: String) -> Self {
        Self {
            id,
            kind: "message".to_owned(),
            role: "assistant".to_owned(),
            model,
            content: Vec::new(),
            stop_reason: None,
            stop_sequence: None,
            usage: MessageUsage::default(),
        }
    }
}

/// A content block of a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum OutputBlock {
    /// Text.
    Text {
        /// The text.
        text: String,
    },
    /// Thinking, with the signature to send back.
    Thinking {
        /// Thought text.
        thinking: String,
        /// Opaque; send it back unchanged.
        signature: String,
    },
    /// A tool call.
    ToolUse {
        /// Call id.
        id: String,
        /// Tool name.
        name: String,
        /// Arguments (`{}` in `content_block_start`).
        input: Value,
    },
}

/// Token counts. `input_tokens` excludes the tokens read from or written to a cache, as
/// Anthropic counts them: the three input counts add up to the prompt.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageUsage {
    /// Input tokens neither read from nor written to a cache.
    pub input_tokens: u64,
    /// Output tokens (thinking included).
    pub output_tokens: u64,
    /// Input tokens written to a cache this request created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// Input tokens read from a cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
}

/// The reply of `POST /v1/messages/count_tokens`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenCount {
    /// Input tokens of the request.
    pub input_tokens: u64,
}

impl TokenCount {
    /// A count of `input_tokens`.
    pub fn new(input_tokens: u64) -> Self {
        Self { input_tokens }
    }
}
