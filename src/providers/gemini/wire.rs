//! Gemini v1beta REST types (`generativelanguage.googleapis.com/v1beta`), camelCase on the
//! wire. Requests are built from these and serialized once; replies deserialize into them,
//! and fields this version does not know are kept as raw JSON rather than dropped.

use crate::raw_json::RawJson;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Unknown keys kept beside typed fields.
pub type Extra = Map<String, Value>;

/// `GenerateContentRequest`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GenerateContentRequest {
    /// The conversation.
    pub contents: Vec<Content>,
    /// System instructions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content>,
    /// Function declarations and built-in tools, one tool kind per entry.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Function calling mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    /// Safety thresholds.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub safety_settings: Vec<Value>,
    /// Sampling and output options.
    #[serde(default, skip_serializing_if = "GenerationConfig::is_empty")]
    pub generation_config: GenerationConfig,
    /// `cachedContents/<id>` holding the head of the conversation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_content: Option<String>,
}

/// A turn: a role and its parts (Gemini's `Content` has no other fields).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Content {
    /// `user` or `model` (absent on `systemInstruction`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// The parts.
    #[serde(default)]
    pub parts: Vec<Part>,
}

/// One part. Exactly one data field is set; `thought` and `thoughtSignature` may ride along.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Part {
    /// Text (a thought summary when `thought` is true).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Marks a thought summary.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought: Option<bool>,
    /// Opaque reasoning state to send back on the same part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thought_signature: Option<String>,
    /// Inline bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub inline_data: Option<Blob>,
    /// A file by URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<FileData>,
    /// A function call from the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<FunctionCall>,
    /// A function result for the model.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_response: Option<FunctionResponse>,
    /// Code the model ran (code execution tool).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub executable_code: Option<Value>,
    /// Its result.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code_execution_result: Option<Value>,
    /// How finely the model looks at this image (Gemini 3 and later).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub media_resolution: Option<MediaResolution>,
    /// Fields this version does not know (`videoMetadata`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

impl Part {
    /// A text part.
    pub fn text(text: impl Into<String>) -> Self {
        Self {
            text: Some(text.into()),
            ..Self::default()
        }
    }
}

/// A part's `mediaResolution`: `{"level": "MEDIA_RESOLUTION_LOW" | …}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct MediaResolution {
    /// `MEDIA_RESOLUTION_LOW`, `_MEDIUM`, `_HIGH` or `_ULTRA_HIGH`.
    pub level: String,
}

/// `inlineData`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Blob {
    /// Media type.
    pub mime_type: String,
    /// Standard base64.
    pub data: String,
}

/// `fileData`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FileData {
    /// Media type.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// File URI.
    pub file_uri: String,
}

/// `functionCall`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionCall {
    /// Call id (newer models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Function name.
    pub name: String,
    /// Arguments object.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub args: Option<Value>,
}

/// `functionResponse`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionResponse {
    /// Call id (newer models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// Function name.
    pub name: String,
    /// Result object.
    pub response: Value,
}

/// One `Tool` entry: function declarations, or one built-in tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Tool {
    /// Functions the model may call.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub function_declarations: Vec<FunctionDeclaration>,
    /// A built-in tool (`googleSearch`, `codeExecution`, `urlContext`, …), as given.
    #[serde(flatten)]
    pub builtin: Extra,
}

/// `FunctionDeclaration`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionDeclaration {
    /// Name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Arguments schema (OpenAPI subset), serialized; absent for functions without
    /// arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<RawJson>,
}

/// `toolConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ToolConfig {
    /// Function calling mode.
    pub function_calling_config: FunctionCallingConfig,
    /// Asks for the built-in tools' own calls and results as `toolCall` and `toolResponse`
    /// parts of the reply; the Gemini API needs it to run built-in tools beside function
    /// declarations (Vertex AI does not take it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_server_side_tool_invocations: Option<bool>,
}

impl ToolConfig {
    /// A config of one function calling `mode` (`AUTO`, `ANY`, `NONE`, `VALIDATED`) and
    /// nothing else.
    ///
    /// ```
    /// use llm_tower::gemini::wire::ToolConfig;
    ///
    /// let config = ToolConfig::mode("AUTO");
    /// assert_eq!(
    ///     serde_json::to_string(&config)?,
    ///     r#"{"functionCallingConfig":{"mode":"AUTO"}}"#
    /// );
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn mode(mode: &str) -> Self {
        Self {
            function_calling_config: FunctionCallingConfig {
                mode: mode.to_owned(),
                allowed_function_names: None,
            },
            include_server_side_tool_invocations: None,
        }
    }
}

/// `functionCallingConfig`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct FunctionCallingConfig {
    /// `AUTO`, `ANY`, `NONE`, `VALIDATED`.
    pub mode: String,
    /// With `ANY`: the only functions allowed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub allowed_function_names: Option<Vec<String>>,
}

/// `generationConfig`. Keys without a typed field (`topK`, `imageConfig`, …) go in `extra`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GenerationConfig {
    /// Temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Number of candidates.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub candidate_count: Option<u32>,
    /// Output token cap (thoughts count against it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop_sequences: Option<Vec<String>>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// Return log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_logprobs: Option<bool>,
    /// Alternatives per token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<u32>,
    /// `text/plain`, `application/json`, `text/x.enum`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_mime_type: Option<String>,
    /// OpenAPI-subset schema of the output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<Value>,
    /// JSON Schema of the output (newer models).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_json_schema: Option<Value>,
    /// `TEXT`, `IMAGE`, `AUDIO`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_modalities: Option<Vec<String>>,
    /// Thinking budget or level.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_config: Option<ThinkingConfig>,
    /// Other GenerationConfig keys, passed through.
    #[serde(flatten)]
    pub extra: Extra,
}

impl GenerationConfig {
    /// Whether nothing is set (then the key is left out of the request).
    pub fn is_empty(&self) -> bool {
        *self == Self::default()
    }
}

/// `thinkingConfig`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ThinkingConfig {
    /// Return thought summaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_thoughts: Option<bool>,
    /// Token budget (Gemini 2.5): 0 off, -1 dynamic.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_budget: Option<i64>,
    /// `minimal`, `low`, `medium`, `high` (Gemini 3).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking_level: Option<String>,
}

/// `GenerateContentResponse` (also one streamed event).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GenerateContentResponse {
    /// Candidates; absent when the prompt was blocked.
    #[serde(default)]
    pub candidates: Vec<Candidate>,
    /// Why the prompt was blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_feedback: Option<PromptFeedback>,
    /// Token counts (cumulative in streams).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageMetadata>,
    /// Model version that answered.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model_version: Option<String>,
    /// Reply id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_id: Option<String>,
}

/// One candidate.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Candidate {
    /// The content (may be missing on safety stops).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<Content>,
    /// `STOP`, `MAX_TOKENS`, `SAFETY`, … (kept as data, never a parse error).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_reason: Option<String>,
    /// Google's explanation of the finish reason.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_message: Option<String>,
    /// Candidate position (missing means 0).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub index: Option<u32>,
    /// Safety ratings.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_ratings: Option<Value>,
    /// Citations.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub citation_metadata: Option<Value>,
    /// Google Search grounding.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub grounding_metadata: Option<Value>,
    /// URL context retrievals.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub url_context_metadata: Option<Value>,
    /// Token log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs_result: Option<LogprobsResult>,
}

/// `promptFeedback`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct PromptFeedback {
    /// Why the prompt was blocked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub block_reason: Option<String>,
    /// Safety ratings of the prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_ratings: Option<Value>,
}

/// `logprobsResult`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LogprobsResult {
    /// Alternatives per output token.
    #[serde(default)]
    pub top_candidates: Vec<TopCandidates>,
    /// The chosen token per output token.
    #[serde(default)]
    pub chosen_candidates: Vec<LogprobCandidate>,
}

/// Alternatives for one token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TopCandidates {
    /// The alternatives.
    #[serde(default)]
    pub candidates: Vec<LogprobCandidate>,
}

/// A token and its log probability.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct LogprobCandidate {
    /// The token.
    #[serde(default)]
    pub token: String,
    /// Its log probability.
    #[serde(default)]
    pub log_probability: f64,
}

/// `usageMetadata`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct UsageMetadata {
    /// Prompt tokens, cached ones included.
    #[serde(default)]
    pub prompt_token_count: u64,
    /// Tokens read from a context cache.
    #[serde(default)]
    pub cached_content_token_count: u64,
    /// Visible output tokens.
    #[serde(default)]
    pub candidates_token_count: u64,
    /// Thinking tokens (billed as output, not in candidatesTokenCount).
    #[serde(default)]
    pub thoughts_token_count: u64,
    /// Tokens of tool results fed back to the model (search, code execution).
    #[serde(default)]
    pub tool_use_prompt_token_count: u64,
    /// Everything.
    #[serde(default)]
    pub total_token_count: u64,
    /// Prompt tokens by modality (cached ones included).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub prompt_tokens_details: Vec<ModalityTokenCount>,
    /// Cached prompt tokens by modality.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub cache_tokens_details: Vec<ModalityTokenCount>,
    /// Output tokens by modality.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub candidates_tokens_details: Vec<ModalityTokenCount>,
}

/// Tokens of one modality (`TEXT`, `IMAGE`, `AUDIO`, `VIDEO`, `DOCUMENT`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ModalityTokenCount {
    /// The modality.
    #[serde(default)]
    pub modality: String,
    /// Its tokens.
    #[serde(default)]
    pub token_count: u64,
}

/// `POST cachedContents` body: the head of a conversation, stored by Google.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CachedContentRequest {
    /// `models/{model}`: the cache can only be used with this model.
    pub model: String,
    /// A name to recognise it by.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// System instructions (they cannot be sent beside a cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub system_instruction: Option<Content>,
    /// The cached turns (none when the cache holds only instructions and tools).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub contents: Vec<Content>,
    /// Tools (they cannot be sent beside a cache).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub tools: Vec<Tool>,
    /// Function calling mode (it cannot be sent beside a cache).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_config: Option<ToolConfig>,
    /// Lifetime, `"{seconds}s"` (Google's default: one hour).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

/// A `CachedContent` resource as Google returns it.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CachedContent {
    /// `cachedContents/{id}`.
    pub name: String,
    /// `models/{model}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub model: Option<String>,
    /// The name it was given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// When it expires (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub expire_time: Option<String>,
    /// Its size (`totalTokenCount`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageMetadata>,
}

/// `GET cachedContents` reply: one page of the project's caches.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ListCachedContentsResponse {
    /// The caches on this page.
    #[serde(default)]
    pub cached_contents: Vec<CachedContent>,
    /// The token of the next page; absent on the last.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_page_token: Option<String>,
}

/// `PATCH cachedContents/{id}?updateMask=ttl`: a new lifetime for a cache.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CachedContentUpdate {
    /// `cachedContents/{id}` (in the path, not the body).
    #[serde(skip)]
    pub name: String,
    /// The lifetime from now, `"{seconds}s"`.
    pub ttl: String,
}

/// `models/{model}:countTokens` body, counting what a cache of `generate_content_request`
/// would hold (its model, system instruction, contents, tools and tool config).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CountTokensRequest {
    /// The request to count.
    pub generate_content_request: CachedContentRequest,
}

/// `countTokens` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct CountTokensResponse {
    /// Tokens of the whole request.
    #[serde(default)]
    pub total_tokens: u64,
}

/// `batchEmbedContents` body: up to 100 requests, answered in order.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct BatchEmbedContentsRequest {
    /// One per text.
    pub requests: Vec<EmbedContentRequest>,
}

/// One text to embed.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct EmbedContentRequest {
    /// `models/{model}`.
    pub model: String,
    /// The text, as one part.
    pub content: Content,
    /// `RETRIEVAL_QUERY`, `RETRIEVAL_DOCUMENT`, `SEMANTIC_SIMILARITY`, …
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub task_type: Option<String>,
    /// The document title, with `RETRIEVAL_DOCUMENT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Truncate each vector to this length.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_dimensionality: Option<u32>,
}

/// `batchEmbedContents` reply.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct BatchEmbedContentsResponse {
    /// One per request, in order.
    #[serde(default)]
    pub embeddings: Vec<ContentEmbedding>,
    /// Token counts, when the model reports them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage_metadata: Option<UsageMetadata>,
}

/// One vector.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ContentEmbedding {
    /// The numbers.
    #[serde(default)]
    pub values: Vec<f32>,
}

/// Google's error body: `{"error": {"code", "message", "status", "details"}}`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ErrorBody {
    /// The error.
    pub error: GoogleStatus,
}

/// `google.rpc.Status`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct GoogleStatus {
    /// HTTP status.
    #[serde(default)]
    pub code: u16,
    /// Message.
    #[serde(default)]
    pub message: String,
    /// `INVALID_ARGUMENT`, `RESOURCE_EXHAUSTED`, …
    #[serde(default)]
    pub status: String,
    /// `ErrorInfo`, `RetryInfo`, … as sent.
    #[serde(default)]
    pub details: Vec<Value>,
}

impl GoogleStatus {
    /// `ErrorInfo.reason` (e.g. `API_KEY_INVALID`).
    pub fn reason(&self) -> Option<&str> {
        self.details
            .iter()
            .find_map(|detail| detail.get("reason")?.as_str())
    }

    /// `RetryInfo.retryDelay` (e.g. `"17s"`) in seconds.
    pub fn retry_delay(&self) -> Option<std::time::Duration> {
        self.details.iter().find_map(|detail| {
            let delay = detail.get("retryDelay")?.as_str()?;
            let seconds: f64 = delay.strip_suffix('s')?.parse().ok()?;
            // Refuses negative, infinite and absurdly large delays instead of panicking.
            std::time::Duration::try_from_secs_f64(seconds).ok()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn status_with_delay(delay: &str) -> GoogleStatus {
        GoogleStatus {
            details: vec![serde_json::json!({
                "@type": "type.googleapis.com/google.rpc.RetryInfo",
                "retryDelay": delay
            })],
            ..GoogleStatus::default()
        }
    }

    #[test]
    fn retry_delays() {
        let delay = |text| status_with_delay(text).retry_delay();
        assert_eq!(delay("17s"), Some(std::time::Duration::from_secs(17)));
        assert_eq!(delay("0.5s"), Some(std::time::Duration::from_millis(500)));
        for unusable in ["1e30s", "-3s", "NaNs", "infs", "17", "soon"] {
            assert_eq!(delay(unusable), None, "{unusable}");
        }
    }
}
