//! `chat.completion.chunk`: one server-sent event of a streamed chat reply.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::chat::{
    Annotation, AudioOutput, ChoiceProviderFields, ImageOutput, Logprobs, MessageProviderFields,
    ThinkingBlock, ToolCall, Usage,
};

/// One streamed chunk.
///
/// ```
/// use llm_tower::openai::ChatCompletionChunk;
///
/// let chunk: ChatCompletionChunk = serde_json::from_str(
///     r#"{"id":"c","object":"chat.completion.chunk","created":1,"model":"m","choices":[{"index":0,"delta":{"content":"Hi"},"finish_reason":null}]}"#,
/// )?;
/// assert_eq!(chunk.choices[0].delta.content.as_deref(), Some("Hi"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChatCompletionChunk {
    /// Same for every chunk of a stream.
    pub id: String,
    /// `"chat.completion.chunk"`.
    pub object: String,
    /// Unix seconds, same for every chunk.
    pub created: u64,
    /// The model as requested.
    pub model: String,
    /// Deltas; empty on the usage chunk.
    pub choices: Vec<ChunkChoice>,
    /// Only on the last chunk, with `stream_options.include_usage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
    /// Gemini `groundingMetadata`, on the chunk that carried it (LiteLLM's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_ai_grounding_metadata: Option<Vec<Value>>,
    /// Gemini `urlContextMetadata`, on the chunk that carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_ai_url_context_metadata: Option<Vec<Value>>,
    /// The final `safetyRatings` of each choice, on the finish chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_ai_safety_results: Option<Vec<Value>>,
    /// Gemini `citationMetadata`, on the chunk that carried it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub vertex_ai_citation_metadata: Option<Vec<Value>>,
}

/// The delta of one choice.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ChunkChoice {
    /// Choice position.
    pub index: u32,
    /// What is new.
    pub delta: Delta,
    /// Set on the choice's last chunk.
    pub finish_reason: Option<String>,
    /// Token log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<Logprobs>,
    /// Gemini's own finish reason and message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_specific_fields: Option<ChoiceProviderFields>,
}

/// New content of a choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Delta {
    /// `"assistant"` on the first chunk.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Text delta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<String>,
    /// Thought summary delta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_content: Option<String>,
    /// Thought summaries with signatures.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_blocks: Option<Vec<ThinkingBlock>>,
    /// Tool call deltas.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_calls: Option<Vec<ToolCallDelta>>,
    /// Legacy function call (when the request used `functions`), whole in one delta.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionDelta>,
    /// Generated images.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub images: Option<Vec<ImageOutput>>,
    /// Generated audio.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio: Option<AudioOutput>,
    /// Citations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub annotations: Option<Vec<Annotation>>,
    /// Thought signatures and code execution parts.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_specific_fields: Option<MessageProviderFields>,
}

/// A tool call delta; Gemini sends each call whole, so one delta carries all of it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ToolCallDelta {
    /// Stable position of the call in the stream.
    pub index: u32,
    /// Call id (first delta of the call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `"function"` (first delta of the call).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Name and arguments.
    pub function: FunctionDelta,
    /// LiteLLM provider fields (`thought_signature`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_specific_fields: Option<Value>,
}

impl ToolCallDelta {
    /// A whole tool call as the one delta of the call at `index`.
    ///
    /// ```
    /// use llm_tower::openai::ToolCallDelta;
    /// use llm_tower::openai::chat::ToolCall;
    ///
    /// let call: ToolCall = serde_json::from_str(
    ///     r#"{"id":"call_1","type":"function","function":{"name":"f","arguments":"{}"}}"#,
    /// )?;
    /// let delta = ToolCallDelta::whole(0, call);
    /// assert_eq!(delta.function.name.as_deref(), Some("f"));
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn whole(index: u32, call: ToolCall) -> Self {
        Self {
            index,
            id: Some(call.id),
            kind: Some(call.kind),
            function: FunctionDelta {
                name: Some(call.function.name),
                arguments: Some(call.function.arguments),
            },
            provider_specific_fields: call.provider_specific_fields,
        }
    }
}

/// Function name and argument text of a tool call delta.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionDelta {
    /// Name (first delta of the call).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Argument JSON text.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
}
