//! [`Response`]: the `response` object, with its output items (messages, reasoning,
//! function calls), their content and the token usage.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::request::{ReasoningConfig, ResponseTool, ResponseToolChoice, TextConfig};
use super::summary::SummaryText;

/// The `response` object.
///
/// ```
/// use llm_tower::openai::responses::Response;
///
/// let response: Response = serde_json::from_str(r#"{"id":"resp_1","object":"response",
///     "created_at":1,"status":"completed","model":"m","output":[]}"#)?;
/// assert_eq!(response.output_text(), "");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Response {
    /// `resp_…`.
    pub id: String,
    /// `"response"`.
    pub object: String,
    /// Unix seconds.
    pub created_at: u64,
    /// `in_progress`, `completed`, `incomplete` or `failed`.
    pub status: String,
    /// Why it failed.
    #[serde(default)]
    pub error: Option<ResponseError>,
    /// Why it is incomplete.
    #[serde(default)]
    pub incomplete_details: Option<IncompleteDetails>,
    /// The request's instructions.
    #[serde(default)]
    pub instructions: Option<String>,
    /// The request's output cap.
    #[serde(default)]
    pub max_output_tokens: Option<u32>,
    /// The model as requested.
    pub model: String,
    /// Reasoning, messages and function calls, in order.
    pub output: Vec<OutputItem>,
    /// Whether several calls in one turn were allowed.
    #[serde(default = "yes")]
    pub parallel_tool_calls: bool,
    /// The response this one continued.
    #[serde(default)]
    pub previous_response_id: Option<String>,
    /// The request's reasoning settings.
    #[serde(default)]
    pub reasoning: Option<ReasoningConfig>,
    /// Whether it is kept.
    #[serde(default = "yes")]
    pub store: bool,
    /// The request's temperature.
    #[serde(default)]
    pub temperature: Option<f64>,
    /// The request's output format.
    #[serde(default)]
    pub text: TextConfig,
    /// The request's tool choice (`"auto"` by default).
    #[serde(default)]
    pub tool_choice: ResponseToolChoice,
    /// The request's tools.
    #[serde(default)]
    pub tools: Vec<ResponseTool>,
    /// The request's `top_p`.
    #[serde(default)]
    pub top_p: Option<f64>,
    /// `"disabled"`.
    #[serde(default = "disabled")]
    pub truncation: String,
    /// Token counts (once finished).
    #[serde(default)]
    pub usage: Option<ResponseUsage>,
    /// The request's end-user id.
    #[serde(default)]
    pub user: Option<String>,
    /// The request's metadata.
    #[serde(default)]
    pub metadata: Map<String, Value>,
}

fn yes() -> bool {
    true
}

fn disabled() -> String {
    "disabled".to_owned()
}

impl Response {
    /// The text of every `output_text` part, joined (what the SDKs' `output_text` gives).
    pub fn output_text(&self) -> String {
        self.output
            .iter()
            .filter_map(|item| match item {
                OutputItem::Message(message) => Some(message),
                _ => None,
            })
            .flat_map(|message| &message.content)
            .map(|part| match part {
                OutputContent::OutputText(text) => text.text.as_str(),
            })
            .collect()
    }
}

/// `error` of a failed response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponseError {
    /// Machine-readable code.
    pub code: String,
    /// What went wrong.
    pub message: String,
}

/// `incomplete_details`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct IncompleteDetails {
    /// `max_output_tokens` or `content_filter`.
    pub reason: String,
}

/// One output item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum OutputItem {
    /// Thought summaries and the opaque state to send back.
    #[serde(rename = "reasoning")]
    Reasoning(ReasoningItem),
    /// An assistant message.
    #[serde(rename = "message")]
    Message(OutputMessage),
    /// A function call.
    #[serde(rename = "function_call")]
    FunctionCall(FunctionCallItem),
}

impl OutputItem {
    /// The item id.
    pub fn id(&self) -> &str {
        match self {
            Self::Reasoning(item) => &item.id,
            Self::Message(item) => &item.id,
            Self::FunctionCall(item) => &item.id,
        }
    }
}

/// A `reasoning` output item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningItem {
    /// `rs_…`.
    pub id: String,
    /// Thought summaries (with `reasoning.summary`).
    pub summary: Vec<SummaryText>,
    /// The provider's thought state (Gemini thought signatures), to send back as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    /// `in_progress` or `completed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
}

/// A `message` output item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputMessage {
    /// `msg_…`.
    pub id: String,
    /// `"assistant"`.
    pub role: String,
    /// `in_progress`, `completed` or `incomplete`.
    pub status: String,
    /// The text parts.
    pub content: Vec<OutputContent>,
}

/// A content part of an output message.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum OutputContent {
    /// Text with its citations.
    #[serde(rename = "output_text")]
    OutputText(OutputText),
}

/// `output_text`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputText {
    /// The text.
    pub text: String,
    /// URL citations (from grounding).
    pub annotations: Vec<UrlCitation>,
    /// Token log probabilities (with `include: ["message.output_text.logprobs"]`).
    #[serde(default)]
    pub logprobs: Vec<OutputLogprob>,
}

/// `{"type":"url_citation",…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct UrlCitation {
    /// `"url_citation"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Start of the cited span, in characters.
    pub start_index: u64,
    /// End of the cited span, in characters.
    pub end_index: u64,
    /// Source URL.
    pub url: String,
    /// Source title (empty when unknown).
    pub title: String,
}

/// One token's log probability.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputLogprob {
    /// The token.
    pub token: String,
    /// Its log probability.
    pub logprob: f64,
    /// Its UTF-8 bytes.
    pub bytes: Vec<u8>,
    /// Alternatives.
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
    /// Its UTF-8 bytes.
    pub bytes: Vec<u8>,
}

/// A `function_call` output item.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct FunctionCallItem {
    /// `fc_…`.
    pub id: String,
    /// The id a `function_call_output` answers (it may carry the provider's thought
    /// signature: send it back as given).
    pub call_id: String,
    /// Function name.
    pub name: String,
    /// Arguments as JSON text.
    pub arguments: String,
    /// `in_progress` or `completed`.
    pub status: String,
}

/// Token counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponseUsage {
    /// Input tokens (cached ones included).
    pub input_tokens: u64,
    /// Input breakdown.
    pub input_tokens_details: InputTokensDetails,
    /// Output tokens (reasoning included).
    pub output_tokens: u64,
    /// Output breakdown.
    pub output_tokens_details: OutputTokensDetails,
    /// Their sum.
    pub total_tokens: u64,
}

/// Input token breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputTokensDetails {
    /// Tokens read from a cache.
    pub cached_tokens: u64,
}

/// Output token breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct OutputTokensDetails {
    /// Thinking tokens.
    pub reasoning_tokens: u64,
}
