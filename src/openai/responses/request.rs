//! [`CreateResponse`]: the `POST /v1/responses` body, with its input items and content
//! parts, tools, tool choice, output format and reasoning options.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use super::summary::SummaryText;
use crate::context::{Contextual, RequestContext};
use crate::openai::chat::Extra;
use crate::openai::read::one_pass;
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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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
    /// Key-value pairs kept with the response (not sent upstream): at most 16, each a
    /// string of at most 512 characters, as OpenAI documents.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Extra>,
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

one_pass!(CreateResponse, "a responses request object", {
    req model = "model",
    opt input = "input",
    opt instructions = "instructions",
    opt previous_response_id = "previous_response_id",
    opt tools = "tools",
    opt tool_choice = "tool_choice",
    opt parallel_tool_calls = "parallel_tool_calls",
    opt text = "text",
    opt reasoning = "reasoning",
    opt max_output_tokens = "max_output_tokens",
    opt temperature = "temperature",
    opt top_p = "top_p",
    opt top_logprobs = "top_logprobs",
    opt metadata = "metadata",
    opt user = "user",
    opt safety_identifier = "safety_identifier",
    opt prompt_cache_key = "prompt_cache_key",
    opt store = "store",
    opt stream = "stream",
    opt truncation = "truncation",
    opt include = "include",
    opt drop_params = "drop_params",
}, skip context);

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
#[derive(Debug, Clone, PartialEq, Serialize)]
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

one_pass!(ResponseTool, "a tool", {
    req kind = "type",
    opt name = "name",
    opt description = "description",
    opt parameters = "parameters",
    opt strict = "strict",
});

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
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct TextConfig {
    /// `{"type":"text"}`, `{"type":"json_object"}` or `{"type":"json_schema",…}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub format: Option<TextFormat>,
    /// Unknown keys (`verbosity`).
    #[serde(flatten)]
    pub extra: Extra,
}

one_pass!(TextConfig, "a text object", {
    opt format = "format",
});

/// `text.format`.
#[derive(Debug, Clone, PartialEq, Serialize)]
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

one_pass!(TextFormat, "a text format", {
    req kind = "type",
    opt name = "name",
    opt schema = "schema",
    opt strict = "strict",
    opt description = "description",
});

/// `reasoning`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
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

one_pass!(ReasoningConfig, "a reasoning object", {
    opt effort = "effort",
    opt summary = "summary",
    opt generate_summary = "generate_summary",
});

impl Default for ResponseToolChoice {
    fn default() -> Self {
        Self::Mode("auto".to_owned())
    }
}

impl Contextual for CreateResponse {
    fn context_mut(&mut self) -> &mut RequestContext {
        &mut self.context
    }
}
