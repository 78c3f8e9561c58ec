//! `POST /v1/responses`: OpenAI's Responses API. The request ([`CreateResponse`]) with its
//! input items and tools, the `response` object ([`Response`]) with its output items, and
//! the typed stream events ([`ResponseEvent`]).
//!
//! Like the chat types, request structs keep unknown keys in a flattened `extra` map, so
//! that the conversion to chat can pass them on (the provider maps or refuses them by
//! name) instead of losing them. Input items and content parts are flat structs whose
//! `type` says which of the optional fields apply, as chat's
//! [`ContentPart`](super::ContentPart) is: clients send back the output items they
//! received, with fields of their own (`status`, `annotations`, `logprobs`), and those are
//! ignored rather than refused.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chat::Extra;
use crate::context::RequestContext;
use crate::raw_json::RawJson;

/// A `POST /v1/responses` body.
///
/// ```
/// use llm_tower::openai::responses::{CreateResponse, Input};
///
/// let request: CreateResponse = serde_json::from_str(
///     r#"{"model":"gemini/gemini-2.5-flash","input":"Hi","max_output_tokens":64}"#,
/// )?;
/// assert!(matches!(request.input, Some(Input::Text(ref text)) if text == "Hi"));
/// assert_eq!(request.max_output_tokens, Some(64));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CreateResponse {
    /// `provider/model` or a configured model name.
    pub model: String,
    /// A user message as text, or a list of input items.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input: Option<Input>,
    /// A system message put first (not carried over by `previous_response_id`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub instructions: Option<String>,
    /// The response whose conversation this one continues.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub previous_response_id: Option<String>,
    /// Function tools and `web_search`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<ResponseTool>>,
    /// `"auto"`, `"none"`, `"required"` or `{"type":"function","name":…}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ResponseToolChoice>,
    /// Allow several calls in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Output format (`text.format`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<TextConfig>,
    /// Reasoning effort and summaries.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning: Option<ReasoningConfig>,
    /// Output token cap (reasoning included).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Alternatives per token with `include: ["message.output_text.logprobs"]`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// Key-value pairs kept with the response (not sent upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// End-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// End-user id under its newer name; taken as `user`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_identifier: Option<String>,
    /// A caching hint; accepted and not sent upstream (Gemini caches implicitly).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_cache_key: Option<String>,
    /// Keep the response for `previous_response_id` and `GET` (default `true`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub store: Option<bool>,
    /// Stream typed events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// `"disabled"` (`"auto"` is refused: nothing is cut from the conversation here).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub truncation: Option<String>,
    /// Extra output: `reasoning.encrypted_content`, `message.output_text.logprobs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include: Option<Vec<String>>,
    /// Drop unsupported params instead of refusing them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_params: Option<bool>,
    /// Everything else, passed on as chat params of the same name.
    #[serde(flatten)]
    pub extra: Extra,
    /// What the application attached to the HTTP request this came from (its
    /// extensions; see [`RequestContext`]). Not part of the JSON.
    #[serde(skip)]
    pub context: RequestContext,
}

impl CreateResponse {
    /// Whether the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }
}

/// `input`: text (one user message) or items.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Input {
    /// One user message.
    Text(String),
    /// Messages, function calls and their outputs, reasoning.
    Items(Vec<InputItem>),
}

/// One input item. `kind` (`type`; a message when absent) says which fields apply:
///
/// | `type` | fields |
/// |---|---|
/// | `message` | `role`, `content` |
/// | `function_call` | `call_id`, `name`, `arguments` |
/// | `function_call_output` | `call_id`, `output` |
/// | `reasoning` | `summary`, `encrypted_content` |
///
/// ```
/// use llm_tower::openai::responses::InputItem;
///
/// let item: InputItem = serde_json::from_str(
///     r#"{"type":"function_call_output","call_id":"call_1","output":"42"}"#,
/// )?;
/// assert_eq!(item.kind(), "function_call_output");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputItem {
    /// The item type; absent means `message`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// Item id (ignored on input; given to stored input items).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub id: Option<String>,
    /// `user`, `assistant`, `system` or `developer` (messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub role: Option<String>,
    /// Text or parts (messages).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub content: Option<InputContent>,
    /// The call id (function calls and their outputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub call_id: Option<String>,
    /// Function name (function calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Arguments as JSON text (function calls).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub arguments: Option<String>,
    /// The function's result (function call outputs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output: Option<InputContent>,
    /// Reasoning summaries (reasoning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub summary: Option<Vec<SummaryText>>,
    /// Opaque reasoning state as this API returned it (reasoning).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encrypted_content: Option<String>,
    /// `completed`, … (ignored).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<String>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

impl InputItem {
    /// The item type, `message` when absent.
    pub fn kind(&self) -> &str {
        self.kind.as_deref().unwrap_or("message")
    }
}

/// Message content or a function output: text or parts.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum InputContent {
    /// Plain text.
    Text(String),
    /// Text, images and files.
    Parts(Vec<InputPart>),
}

/// One content part. `kind` says which fields apply: `input_text` / `output_text` (`text`),
/// `input_image` (`image_url` or `file_id`, `detail`), `input_file` (`file_data`,
/// `file_id` or `file_url`, `filename`), `refusal` (`refusal`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputPart {
    /// The part type.
    #[serde(rename = "type")]
    pub kind: String,
    /// Text of a text part.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text: Option<String>,
    /// Image URL or data URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_url: Option<String>,
    /// `low`, `high`, `auto`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// A file id or URI the provider can read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_id: Option<String>,
    /// A file as a data URI.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_data: Option<String>,
    /// A file URL.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file_url: Option<String>,
    /// File name (informational).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub filename: Option<String>,
    /// Refusal text of a replayed assistant message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub refusal: Option<String>,
    /// Unknown keys (`annotations`, `logprobs` of replayed output text, …).
    #[serde(flatten)]
    pub extra: Extra,
}

impl InputPart {
    /// An `input_text` part.
    pub fn input_text(text: impl Into<String>) -> Self {
        Self {
            kind: "input_text".to_owned(),
            text: Some(text.into()),
            image_url: None,
            detail: None,
            file_id: None,
            file_data: None,
            file_url: None,
            filename: None,
            refusal: None,
            extra: Extra::new(),
        }
    }
}

/// A tool: `{"type":"function","name",…}` or a hosted tool (`web_search`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ResponseTool {
    /// `function`, `web_search`, `web_search_preview`, …
    #[serde(rename = "type")]
    pub kind: String,
    /// Function name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// What the function does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<RawJson>,
    /// Strict arguments.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Unknown keys (`search_context_size`, `user_location`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `tool_choice`: a mode or a named tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum ResponseToolChoice {
    /// `"auto"`, `"none"`, `"required"`.
    Mode(String),
    /// `{"type":"function","name":…}` (or a hosted tool type).
    Named(NamedTool),
}

/// A forced tool.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct NamedTool {
    /// `function`, or a hosted tool type.
    #[serde(rename = "type")]
    pub kind: String,
    /// The function's name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `text`: the output format.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextConfig {
    /// `{"type":"text"}`, `{"type":"json_object"}` or `{"type":"json_schema",…}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    /// Unknown keys (`verbosity`).
    #[serde(flatten)]
    pub extra: Extra,
}

/// `text.format`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextFormat {
    /// `text`, `json_object` or `json_schema`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Schema name (`json_schema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The JSON Schema (`json_schema`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// Check the reply against the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// What the format is for.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `reasoning`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct ReasoningConfig {
    /// `none`, `minimal`, `low`, `medium`, `high`.
    #[serde(default)]
    pub effort: Option<String>,
    /// `auto`, `concise` or `detailed`: return thought summaries.
    #[serde(default)]
    pub summary: Option<String>,
    /// The older name of `summary`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub generate_summary: Option<String>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

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
    #[serde(default = "auto")]
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

fn auto() -> ResponseToolChoice {
    ResponseToolChoice::Mode("auto".to_owned())
}

fn disabled() -> String {
    "disabled".to_owned()
}

impl Default for ResponseToolChoice {
    fn default() -> Self {
        auto()
    }
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

/// `{"type":"summary_text","text":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SummaryText {
    /// `"summary_text"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The summary.
    pub text: String,
}

impl SummaryText {
    /// A summary part.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            kind: "summary_text".to_owned(),
            text: text.into(),
        }
    }
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

/// One streamed event; `sequence_number` counts from 0 in each stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum ResponseEvent {
    /// The response exists (`in_progress`, no output yet).
    #[serde(rename = "response.created")]
    Created {
        /// The response so far.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// Generation is under way.
    #[serde(rename = "response.in_progress")]
    InProgress {
        /// The response so far.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The whole response, finished.
    #[serde(rename = "response.completed")]
    Completed {
        /// The response.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The response stopped early (`incomplete_details` says why).
    #[serde(rename = "response.incomplete")]
    Incomplete {
        /// The response.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The response failed after it started (`error` says why).
    #[serde(rename = "response.failed")]
    Failed {
        /// The response.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// An output item starts.
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        /// Its position in `output`.
        output_index: u32,
        /// The item, empty so far.
        item: OutputItem,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// An output item is finished.
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        /// Its position in `output`.
        output_index: u32,
        /// The item.
        item: OutputItem,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A content part of a message starts.
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The part, empty so far.
        part: OutputContent,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A content part of a message is finished.
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The part.
        part: OutputContent,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// More text.
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The new text.
        delta: String,
        /// Log probabilities of the new tokens.
        logprobs: Vec<OutputLogprob>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The text part is finished.
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The whole text.
        text: String,
        /// Every log probability of the part.
        logprobs: Vec<OutputLogprob>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A citation of the text.
    #[serde(rename = "response.output_text.annotation.added")]
    OutputTextAnnotationAdded {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The annotation's position in `annotations`.
        annotation_index: u32,
        /// The citation.
        annotation: UrlCitation,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// More argument text of a function call.
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        /// The call item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The new argument text.
        delta: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The arguments are finished.
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        /// The call item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The function name.
        name: String,
        /// The whole argument text.
        arguments: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A summary part of a reasoning item starts.
    #[serde(rename = "response.reasoning_summary_part.added")]
    ReasoningSummaryPartAdded {
        /// The reasoning item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `summary`.
        summary_index: u32,
        /// The part, empty so far.
        part: SummaryText,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A summary part is finished.
    #[serde(rename = "response.reasoning_summary_part.done")]
    ReasoningSummaryPartDone {
        /// The reasoning item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `summary`.
        summary_index: u32,
        /// The part.
        part: SummaryText,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// More summary text.
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        /// The reasoning item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `summary`.
        summary_index: u32,
        /// The new text.
        delta: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The summary text is finished.
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        /// The reasoning item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `summary`.
        summary_index: u32,
        /// The whole text.
        text: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The stream failed; `response.failed` follows.
    #[serde(rename = "error")]
    Error {
        /// Machine-readable code.
        code: String,
        /// What went wrong.
        message: String,
        /// The parameter at fault.
        param: Option<String>,
        /// Position in the stream.
        sequence_number: u64,
    },
}

/// The page of `GET /v1/responses/{id}/input_items`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct InputItemList {
    /// `"list"`.
    pub object: String,
    /// The items of the page.
    pub data: Vec<InputItem>,
    /// Id of the first item of the page.
    pub first_id: Option<String>,
    /// Id of the last item of the page.
    pub last_id: Option<String>,
    /// Whether more items follow.
    pub has_more: bool,
}

/// The reply of `DELETE /v1/responses/{id}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct DeletedResponse {
    /// The id.
    pub id: String,
    /// `"response"`.
    pub object: String,
    /// `true`.
    pub deleted: bool,
}
