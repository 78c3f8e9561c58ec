//! The request of `POST /v1/messages` (and of `/v1/messages/count_tokens`, which takes the
//! same body without `max_tokens`).

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::context::{Contextual, RequestContext};
use crate::openai::chat::{CacheControl, Extra};
use crate::openai::read::one_pass;
use crate::raw_json::RawJson;

/// A Messages API request.
///
/// ```
/// use llm_tower::anthropic::CreateMessage;
///
/// let request: CreateMessage = serde_json::from_str(
///     r#"{"model":"claude-sonnet-4","max_tokens":64,"messages":[{"role":"user","content":"Hi"}]}"#,
/// )?;
/// assert_eq!(request.max_tokens, Some(64));
/// assert!(request.extra.is_empty());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CreateMessage {
    /// A model name of the config (a `claude-…` alias works like any other name).
    pub model: String,
    /// The conversation, alternating `user` and `assistant` turns (consecutive messages of
    /// one role are one turn).
    pub messages: Vec<InputMessage>,
    /// Output token cap; required by `/v1/messages`, absent on `count_tokens`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<i64>,
    /// Instructions: a string or text blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system: Option<System>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Top-k sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_k: Option<u32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Stream the reply as events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// `metadata.user_id`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Metadata>,
    /// Tools the model may call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ToolDefinition>>,
    /// How the model should use the tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Extended thinking.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<ThinkingConfig>,
    /// Effort and structured output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_config: Option<OutputConfig>,
    /// Every other key, in the order sent (refused by name unless known to be harmless).
    #[serde(flatten)]
    pub extra: Extra,
    /// What the application attached to the HTTP request (its extensions). Not JSON.
    #[serde(skip)]
    pub context: crate::context::RequestContext,
}

one_pass!(CreateMessage, "a messages request object", {
    req model = "model",
    req messages = "messages",
    opt max_tokens = "max_tokens",
    opt system = "system",
    opt temperature = "temperature",
    opt top_p = "top_p",
    opt top_k = "top_k",
    opt stop_sequences = "stop_sequences",
    opt stream = "stream",
    opt metadata = "metadata",
    opt tools = "tools",
    opt tool_choice = "tool_choice",
    opt thinking = "thinking",
    opt output_config = "output_config",
}, skip context);

impl CreateMessage {
    /// Whether the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }
}

/// `metadata`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Metadata {
    /// An opaque id of the end user.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user_id: Option<String>,
}

/// `system`: a string or text blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum System {
    /// Plain text.
    Text(String),
    /// Text blocks, each may carry `cache_control`.
    Blocks(Vec<SystemBlock>),
}

/// One block of `system` (`{"type":"text","text":…}`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SystemBlock {
    /// `"text"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The text.
    pub text: String,
    /// Cache mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

/// The author of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum MessageRole {
    /// The user (and tool results).
    User,
    /// The model.
    Assistant,
    /// Instructions given mid-conversation (Claude Code sends them); they do not take part
    /// in the alternation of `user` and `assistant`.
    System,
}

/// One message of the conversation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputMessage {
    /// Author.
    pub role: MessageRole,
    /// Text or blocks.
    pub content: MessageContent,
}

/// A message's content: a string or blocks.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum MessageContent {
    /// Plain text.
    Text(String),
    /// Content blocks.
    Blocks(Vec<InputBlock>),
}

/// A content block of a request message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum InputBlock {
    /// Text.
    Text {
        /// The text.
        text: String,
        /// Cache mark.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    /// An image.
    Image {
        /// Where the image is.
        source: ImageSource,
        /// Cache mark.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    /// A document (PDF or text).
    Document {
        /// Where the document is.
        source: DocumentSource,
        /// Title (informational).
        #[serde(default, skip_serializing_if = "Option::is_none")]
        title: Option<String>,
        /// Cache mark.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        cache_control: Option<CacheControl>,
    },
    /// A call the assistant made (in an assistant message).
    ToolUse(ToolUseBlock),
    /// A call's result (in a user message).
    ToolResult(ToolResultBlock),
    /// The assistant's thinking, sent back as received.
    Thinking {
        /// Thought text.
        #[serde(default)]
        thinking: String,
        /// The signature received with it.
        #[serde(default)]
        signature: String,
    },
    /// Thinking the model's provider hid; sent back as received.
    RedactedThinking {
        /// Opaque data.
        #[serde(default)]
        data: String,
    },
}

/// `tool_use`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolUseBlock {
    /// Call id.
    pub id: String,
    /// Tool name.
    pub name: String,
    /// Arguments (a JSON object).
    #[serde(default)]
    pub input: Value,
    /// Cache mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

/// `tool_result`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolResultBlock {
    /// The `tool_use` it answers.
    pub tool_use_id: String,
    /// The result: text or text and image blocks.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<ToolResultContent>,
    /// The call failed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub is_error: Option<bool>,
    /// Cache mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
}

/// A tool result's content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolResultContent {
    /// Plain text.
    Text(String),
    /// Text, image and document blocks.
    Blocks(Vec<InputBlock>),
}

/// An image's source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum ImageSource {
    /// Inline bytes.
    Base64(Base64Source),
    /// A URL.
    Url {
        /// The URL.
        url: String,
    },
}

/// Inline bytes of an image or a PDF.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Base64Source {
    /// `image/png`, `application/pdf`, …
    pub media_type: String,
    /// Base64 bytes.
    pub data: String,
}

/// A document's source.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type", rename_all = "snake_case")]
#[non_exhaustive]
pub enum DocumentSource {
    /// Inline bytes (a PDF).
    Base64(Base64Source),
    /// Plain text.
    Text {
        /// `text/plain`.
        #[serde(default)]
        media_type: String,
        /// The text.
        data: String,
    },
    /// A URL of a PDF.
    Url {
        /// The URL.
        url: String,
    },
}

/// A tool: a client tool with `input_schema`, or one of Anthropic's server tools
/// (`type` set, such as `web_search_20250305`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ToolDefinition {
    /// Tool name.
    pub name: String,
    /// Server tool type (absent, or `"custom"`, on client tools).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the input, kept as the client's text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_schema: Option<RawJson>,
    /// Cache mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Other keys (a server tool's options).
    #[serde(flatten)]
    pub extra: Extra,
}

one_pass!(ToolDefinition, "a tool", {
    req name = "name",
    opt kind = "type",
    opt description = "description",
    opt input_schema = "input_schema",
    opt cache_control = "cache_control",
});

/// `tool_choice`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolChoice {
    /// `auto`, `any`, `tool` or `none`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The tool, for `tool`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// At most one call per turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub disable_parallel_tool_use: Option<bool>,
}

/// `output_config`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputConfig {
    /// `low`, `medium`, `high` or `max`: how much the model may spend.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub effort: Option<String>,
    /// `{"type":"json_schema","schema":{…}}`: structured output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<OutputFormat>,
}

/// `output_config.format`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputFormat {
    /// `json_schema`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The JSON Schema of the reply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
}

/// `thinking`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThinkingConfig {
    /// `enabled`, `adaptive` (the model decides) or `disabled`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Token budget, with `enabled`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<i64>,
}

/// The body of `POST /v1/messages/count_tokens`: a Messages request, whose `max_tokens`
/// is not needed.
///
/// ```
/// use llm_tower::anthropic::CountTokensRequest;
///
/// let request: CountTokensRequest = serde_json::from_str(
///     r#"{"model":"claude-sonnet-4","messages":[{"role":"user","content":"Hi"}]}"#,
/// )?;
/// assert_eq!(request.0.messages.len(), 1);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CountTokensRequest(pub CreateMessage);

impl Contextual for CreateMessage {
    fn context_mut(&mut self) -> &mut RequestContext {
        &mut self.context
    }
}

impl Contextual for CountTokensRequest {
    fn context_mut(&mut self) -> &mut RequestContext {
        &mut self.0.context
    }
}
