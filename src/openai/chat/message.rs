//! Messages of every role and their content parts, tool calls and thinking blocks.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::Extra;
use crate::openai::read::one_pass;

/// Message author.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Role {
    /// Instructions.
    System,
    /// Instructions (newer name).
    Developer,
    /// The user.
    User,
    /// The model.
    Assistant,
    /// A tool result.
    Tool,
    /// A legacy function result.
    Function,
}

/// One message of the conversation, of any role.
///
/// ```
/// use llm_tower::openai::{Message, Role};
///
/// let message: Message = serde_json::from_str(r#"{"role":"tool","tool_call_id":"call_1","content":"42"}"#)?;
/// assert_eq!(message.role, Role::Tool);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct Message {
    /// Author.
    pub role: Role,
    /// Text or parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// Participant or function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Calls made by the assistant.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// The call a tool message answers.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_call_id: Option<String>,
    /// Legacy assistant function call.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// Reasoning text of an earlier assistant turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// LiteLLM thinking blocks of an earlier assistant turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_blocks: Option<Vec<ThinkingBlock>>,
    /// Generated images of an earlier assistant turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<ImageOutput>>,
    /// LiteLLM provider fields (`thought_signatures`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_specific_fields: Option<Value>,
    /// Anthropic-style cache mark on the whole message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

impl Message {
    /// A message with text content and nothing else.
    ///
    /// ```
    /// use llm_tower::openai::{Message, Role};
    /// let message = Message::text(Role::User, "Hello");
    /// assert_eq!(serde_json::to_string(&message)?, r#"{"role":"user","content":"Hello"}"#);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn text(role: Role, text: impl Into<String>) -> Self {
        Self {
            role,
            content: Some(Content::Text(text.into())),
            name: None,
            tool_calls: None,
            tool_call_id: None,
            function_call: None,
            reasoning_content: None,
            thinking_blocks: None,
            images: None,
            provider_specific_fields: None,
            cache_control: None,
            extra: Extra::new(),
        }
    }

    /// The `cache_control` marks of the message and of its parts.
    pub fn cache_controls(&self) -> impl Iterator<Item = &CacheControl> {
        let parts = match &self.content {
            Some(Content::Parts(parts)) => parts.as_slice(),
            _ => &[],
        };
        self.cache_control
            .iter()
            .chain(parts.iter().filter_map(|part| part.cache_control.as_ref()))
    }

    /// Whether this message (or one of its parts) carries a `cache_control` mark.
    pub fn has_cache_control(&self) -> bool {
        self.cache_controls().next().is_some()
    }
}

/// Message content: a string or a list of parts.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Text, images, audio and files.
    Parts(Vec<ContentPart>),
}

/// One content part. `kind` says which of the optional fields is set
/// (`text`, `image_url`, `input_audio`, `file`).
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct ContentPart {
    /// `text`, `image_url`, `input_audio` or `file`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of a `text` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Image of an `image_url` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<ImageUrl>,
    /// Audio of an `input_audio` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_audio: Option<InputAudio>,
    /// File of a `file` part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<FileInput>,
    /// Anthropic-style cache mark.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_control: Option<CacheControl>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `image_url`: a URL string or `{url, detail, format}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ImageUrl {
    /// Just the URL.
    Url(String),
    /// The object form.
    Object(ImageUrlObject),
}

impl ImageUrl {
    /// The URL (data URI, http(s) URL, `gs://` URI).
    pub fn url(&self) -> &str {
        match self {
            Self::Url(url) => url,
            Self::Object(object) => &object.url,
        }
    }

    /// The explicit media type, if the client gave one.
    pub fn format(&self) -> Option<&str> {
        match self {
            Self::Url(_) => None,
            Self::Object(object) => object.format.as_deref(),
        }
    }

    /// The requested detail (`low`, `high`, `auto`), if the client gave one.
    pub fn detail(&self) -> Option<&str> {
        match self {
            Self::Url(_) => None,
            Self::Object(object) => object.detail.as_deref(),
        }
    }

    /// Replaces the URL, keeping the other fields.
    pub fn set_url(&mut self, url: String) {
        match self {
            Self::Url(old) => *old = url,
            Self::Object(object) => object.url = url,
        }
    }
}

/// `{url, detail, format}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageUrlObject {
    /// The URL.
    pub url: String,
    /// `low`, `high`, `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// Media type (LiteLLM extension).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `input_audio`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputAudio {
    /// Base64 audio.
    pub data: String,
    /// `wav`, `mp3`, …
    pub format: String,
}

/// `file`: a file id/URI or inline data.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct FileInput {
    /// A `gs://` URI, an https URL or a Gemini Files API URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// A data URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
    /// File name (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<String>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

one_pass!(FileInput, "a file object", {
    opt file_id = "file_id",
    opt file_data = "file_data",
    opt filename = "filename",
    opt format = "format",
});

/// Anthropic-style `cache_control`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CacheControl {
    /// `"ephemeral"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Time to live, e.g. `"300s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

/// What separates a tool-call id from the Gemini thought signature riding after it
/// (LiteLLM's encoding, so that plain OpenAI clients send the signature back).
pub const THOUGHT_SEPARATOR: &str = "__thought__";

/// A tool-call id without the thought signature riding after [`THOUGHT_SEPARATOR`], and
/// that signature.
///
/// ```
/// use llm_tower::openai::chat::split_thought_id;
///
/// assert_eq!(split_thought_id("call_1__thought__c2ln"), ("call_1", Some("c2ln")));
/// assert_eq!(split_thought_id("call_1"), ("call_1", None));
/// ```
pub fn split_thought_id(id: &str) -> (&str, Option<&str>) {
    match id.split_once(THOUGHT_SEPARATOR) {
        Some((id, signature)) => (id, Some(signature)),
        None => (id, None),
    }
}

/// A call the assistant made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCall {
    /// Call id; a Gemini thought signature may ride after `__thought__`.
    pub id: String,
    /// `"function"`.
    #[serde(rename = "type", default = "function_kind")]
    pub kind: String,
    /// The call.
    pub function: FunctionCall,
    /// LiteLLM provider fields (`thought_signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_specific_fields: Option<Value>,
    /// Unknown keys (`index`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

fn function_kind() -> String {
    "function".to_owned()
}

/// Function name and JSON-encoded arguments.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionCall {
    /// Function name.
    pub name: String,
    /// Arguments as a JSON string.
    #[serde(default)]
    pub arguments: String,
    /// LiteLLM provider fields.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_specific_fields: Option<Value>,
}

/// LiteLLM's thinking block.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ThinkingBlock {
    /// `"thinking"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The thought text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<String>,
    /// The thought signature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub signature: Option<String>,
}

/// A generated image: `{"type":"image_url","image_url":{"url":"data:…"}, "index": 0}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ImageOutput {
    /// `"image_url"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The image as a data URL.
    pub image_url: ImageUrlObject,
    /// Position among the images.
    #[serde(default)]
    pub index: u32,
}
