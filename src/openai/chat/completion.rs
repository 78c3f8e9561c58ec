//! The non-streaming `chat.completion` reply: choices, the assistant message, annotations
//! and log probabilities.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::message::{FunctionCall, ImageOutput, ThinkingBlock, ToolCall};
use super::usage::Usage;

/// The non-streaming reply: `chat.completion`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatCompletion {
    /// Reply id.
    pub id: String,
    /// `"chat.completion"`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The model as requested.
    pub model: String,
    /// One per candidate.
    pub choices: Vec<Choice>,
    /// Token counts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Gemini `groundingMetadata` of every candidate (LiteLLM's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_ai_grounding_metadata: Option<Vec<Value>>,
    /// Gemini `urlContextMetadata` of every candidate (LiteLLM's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_ai_url_context_metadata: Option<Vec<Value>>,
    /// Gemini `safetyRatings` of every candidate (LiteLLM's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_ai_safety_results: Option<Vec<Value>>,
    /// Gemini `citationMetadata` of every candidate (LiteLLM's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_ai_citation_metadata: Option<Vec<Value>>,
}

/// One choice of a reply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Choice {
    /// Position.
    pub index: u32,
    /// The assistant message.
    pub message: ResponseMessage,
    /// `stop`, `length`, `tool_calls`, `content_filter`, `function_call`.
    pub finish_reason: Option<String>,
    /// Token log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Logprobs>,
    /// The provider's own finish reason (and message) beside the OpenAI one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_specific_fields: Option<ChoiceProviderFields>,
}

/// The provider's finish reason and message beside the OpenAI one, under LiteLLM's names.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChoiceProviderFields {
    /// Gemini's `finishReason` as sent (`STOP`, `MAX_TOKENS`, `SAFETY`,
    /// `MALFORMED_FUNCTION_CALL`, …).
    pub native_finish_reason: String,
    /// Gemini's `finishMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_message: Option<String>,
}

/// The assistant message of a choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponseMessage {
    /// `"assistant"`.
    pub role: String,
    /// Visible text.
    pub content: Option<String>,
    /// Thought summaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Thought summaries with signatures (LiteLLM's shape).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_blocks: Option<Vec<ThinkingBlock>>,
    /// Function calls.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCall>>,
    /// Legacy function call (when the request used `functions`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// Generated images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<ImageOutput>>,
    /// Generated audio (`modalities: ["audio"]`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioOutput>,
    /// Citations from grounding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<Annotation>>,
    /// Thought signatures and code execution parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_specific_fields: Option<MessageProviderFields>,
}

/// What a Gemini reply carries beyond OpenAI's message fields.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MessageProviderFields {
    /// Every `thoughtSignature` of the candidate, in order (LiteLLM's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signatures: Option<Vec<String>>,
    /// `executableCode` and `codeExecutionResult` parts, in order.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_execution: Option<Vec<Value>>,
    /// Parts of a kind this version does not know, kept as sent.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub other_parts: Option<Vec<Value>>,
}

impl MessageProviderFields {
    /// Whether nothing is set.
    pub fn is_empty(&self) -> bool {
        self.thought_signatures.is_none()
            && self.code_execution.is_none()
            && self.other_parts.is_none()
    }
}

/// A generated audio clip, in OpenAI's shape plus its media type.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct AudioOutput {
    /// Clip id.
    pub id: String,
    /// Base64 audio.
    pub data: String,
    /// Unix seconds until which the clip may be referred to.
    pub expires_at: u64,
    /// Transcript (Gemini sends none with the audio).
    pub transcript: String,
    /// Media type as Gemini gave it (e.g. `audio/L16;codec=pcm;rate=24000`).
    pub mime_type: String,
}

/// A citation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Annotation {
    /// `"url_citation"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The cited span and source.
    pub url_citation: UrlCitation,
}

/// Span and source of a citation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UrlCitation {
    /// Start of the span in `content`, in characters.
    pub start_index: u64,
    /// End of the span in `content`, in characters.
    pub end_index: u64,
    /// Source URL.
    pub url: String,
    /// Source title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
}

/// Log probabilities of a choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Logprobs {
    /// One entry per output token.
    pub content: Vec<TokenLogprob>,
}

/// One token's log probability and alternatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TokenLogprob {
    /// The token.
    pub token: String,
    /// Its log probability.
    pub logprob: f64,
    /// UTF-8 bytes of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
    /// Alternatives.
    #[serde(default)]
    pub top_logprobs: Vec<TopLogprob>,
}

/// An alternative token.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TopLogprob {
    /// The token.
    pub token: String,
    /// Its log probability.
    pub logprob: f64,
    /// UTF-8 bytes of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
}
