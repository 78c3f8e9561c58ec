//! `POST /v1/chat/completions`: the request, its messages and tools, and the
//! non-streaming `chat.completion` reply.

use crate::raw_json::RawJson;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::secret::Secret;

/// Unknown keys kept beside the typed fields of a wire struct.
pub type Extra = Map<String, Value>;

/// A chat completion request, as OpenAI documents it plus LiteLLM's extensions
/// (`thinking`, `safety_settings`, `drop_params`, …).
///
/// Keys that are not typed here land in [`ChatRequest::extra`], in the order the
/// client sent them.
///
/// ```
/// use llm_tower::openai::ChatRequest;
///
/// let request: ChatRequest = serde_json::from_str(
///     r#"{"model":"gemini/gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}],"top_k":4}"#,
/// )?;
/// assert_eq!(request.messages.len(), 1);
/// assert_eq!(request.extra["top_k"], 4);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ChatRequest {
    /// `provider/model` (routed) or a bare model id (after routing).
    pub model: String,
    /// The conversation.
    pub messages: Vec<Message>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Number of choices.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Stream the reply as server-sent events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// Streaming options (`include_usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Output token cap (legacy name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Output token cap.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_completion_tokens: Option<u32>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Token biases (no Gemini equivalent).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Map<String, Value>>,
    /// Return log probabilities.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<bool>,
    /// Number of alternatives per token with `logprobs`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_logprobs: Option<u32>,
    /// Sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// End-user id (accepted, not sent upstream).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Function tools and provider built-in tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tools: Option<Vec<Tool>>,
    /// `"auto"`, `"none"`, `"required"` or `{"type":"function","function":{"name":…}}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub tool_choice: Option<ToolChoice>,
    /// Allow several calls in one turn.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parallel_tool_calls: Option<bool>,
    /// Legacy function definitions.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub functions: Option<Vec<FunctionDefinition>>,
    /// Legacy `function_call` choice.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function_call: Option<ToolChoice>,
    /// `text`, `json_object` or `json_schema` output.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_format: Option<ResponseFormat>,
    /// Output modalities (`text`, `image`, `audio`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub modalities: Option<Vec<String>>,
    /// `minimal`, `low`, `medium`, `high`, `none`, `disable`, or `{"effort": …}`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_effort: Option<ReasoningEffort>,
    /// Anthropic-style thinking (`{"type":"enabled","budget_tokens":1024}`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub thinking: Option<Thinking>,
    /// Gemini safety settings, sent as given.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub safety_settings: Option<Vec<SafetySetting>>,
    /// Drop unsupported params instead of refusing them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_params: Option<bool>,
    /// A per-request upstream key (LiteLLM's `api_key`); refused unless the provider allows
    /// client-side credentials. Never printed by `Debug`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// A per-request upstream base URL (LiteLLM's `api_base`); refused unless the provider
    /// allows client-side credentials, and then only with its own `api_key`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_base: Option<String>,
    /// Everything else, in the order sent.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ChatRequest {
    /// Whether the client asked for a stream.
    pub fn is_stream(&self) -> bool {
        self.stream == Some(true)
    }

    /// Fills every param this request does not set from `defaults` (a deployment's
    /// params); `model` and `messages` stay the request's own.
    ///
    /// ```
    /// use llm_tower::openai::ChatRequest;
    ///
    /// let mut request: ChatRequest = serde_json::from_str(r#"{"model":"m","messages":[],"temperature":0.9}"#)?;
    /// let defaults: ChatRequest = serde_json::from_str(r#"{"model":"","messages":[],"temperature":0.2,"top_k":40}"#)?;
    /// request.fill_defaults(&defaults);
    /// assert_eq!(request.temperature, Some(0.9));
    /// assert_eq!(request.extra["top_k"], 40);
    /// # Ok::<(), serde_json::Error>(())
    /// ```
    pub fn fill_defaults(&mut self, defaults: &ChatRequest) {
        // Destructured so that a new field cannot be forgotten here.
        let ChatRequest {
            model: _,
            messages: _,
            temperature,
            top_p,
            n,
            stream,
            stream_options,
            stop,
            max_tokens,
            max_completion_tokens,
            presence_penalty,
            frequency_penalty,
            logit_bias,
            logprobs,
            top_logprobs,
            seed,
            user,
            tools,
            tool_choice,
            parallel_tool_calls,
            functions,
            function_call,
            response_format,
            modalities,
            reasoning_effort,
            thinking,
            safety_settings,
            drop_params,
            api_key,
            api_base,
            extra,
        } = defaults;
        fn fill<T: Clone>(field: &mut Option<T>, default: &Option<T>) {
            if field.is_none() {
                field.clone_from(default);
            }
        }
        fill(&mut self.temperature, temperature);
        fill(&mut self.top_p, top_p);
        fill(&mut self.n, n);
        fill(&mut self.stream, stream);
        fill(&mut self.stream_options, stream_options);
        fill(&mut self.stop, stop);
        fill(&mut self.max_tokens, max_tokens);
        fill(&mut self.max_completion_tokens, max_completion_tokens);
        fill(&mut self.presence_penalty, presence_penalty);
        fill(&mut self.frequency_penalty, frequency_penalty);
        fill(&mut self.logit_bias, logit_bias);
        fill(&mut self.logprobs, logprobs);
        fill(&mut self.top_logprobs, top_logprobs);
        fill(&mut self.seed, seed);
        fill(&mut self.user, user);
        fill(&mut self.tools, tools);
        fill(&mut self.tool_choice, tool_choice);
        fill(&mut self.parallel_tool_calls, parallel_tool_calls);
        fill(&mut self.functions, functions);
        fill(&mut self.function_call, function_call);
        fill(&mut self.response_format, response_format);
        fill(&mut self.modalities, modalities);
        fill(&mut self.reasoning_effort, reasoning_effort);
        fill(&mut self.thinking, thinking);
        fill(&mut self.safety_settings, safety_settings);
        fill(&mut self.drop_params, drop_params);
        fill(&mut self.api_key, api_key);
        fill(&mut self.api_base, api_base);
        for (key, value) in extra {
            self.extra
                .entry(key.clone())
                .or_insert_with(|| value.clone());
        }
    }
}

/// `stream_options`.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct StreamOptions {
    /// Send a last chunk with usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `stop`: one sequence or several.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Stop {
    /// A single stop sequence.
    One(String),
    /// Several stop sequences.
    Many(Vec<String>),
}

/// `tool_choice` / `function_call`: a mode string or a named function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ToolChoice {
    /// `"auto"`, `"none"`, `"required"` (or another string, refused by name).
    Mode(String),
    /// `{"type":"function","function":{"name":…}}`, or legacy `{"name":…}`.
    Named(NamedToolChoice),
}

/// A forced function.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct NamedToolChoice {
    /// `"function"`.
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The function (OpenAI form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionName>,
    /// The function name (legacy `function_call` form).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

impl NamedToolChoice {
    /// The named function, whichever form was used.
    pub fn function_name(&self) -> Option<&str> {
        self.function
            .as_ref()
            .map(|f| f.name.as_str())
            .or(self.name.as_deref())
    }
}

/// `{"name": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionName {
    /// Function name.
    pub name: String,
}

/// `reasoning_effort`: a level, or the OpenAI Agents SDK's `{"effort": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum ReasoningEffort {
    /// `"low"`, …
    Level(String),
    /// `{"effort": "low"}`.
    Object {
        /// The level.
        effort: String,
    },
}

impl ReasoningEffort {
    /// The level string, whichever form was used.
    pub fn level(&self) -> &str {
        match self {
            Self::Level(level) | Self::Object { effort: level } => level,
        }
    }
}

/// Anthropic-style `thinking`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Thinking {
    /// `"enabled"` or `"disabled"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Token budget.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub budget_tokens: Option<i64>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

/// One Gemini safety setting.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SafetySetting {
    /// `HARM_CATEGORY_…`.
    pub category: String,
    /// `BLOCK_…` / `OFF`.
    pub threshold: String,
    /// Other keys (e.g. `method`), sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

/// `response_format`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ResponseFormat {
    /// `text`, `json_object` or `json_schema`.
    #[serde(rename = "type")]
    pub kind: String,
    /// OpenAI's `json_schema` form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub json_schema: Option<JsonSchemaFormat>,
    /// LiteLLM's `{"type":"json_object","response_schema":{…}}` form.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub response_schema: Option<Value>,
    /// LiteLLM: validate the reply against the schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub enforce_validation: Option<bool>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

impl ResponseFormat {
    /// The requested schema, whichever form carried it.
    pub fn schema(&self) -> Option<&Value> {
        self.json_schema
            .as_ref()
            .and_then(|format| format.schema.as_ref())
            .or(self.response_schema.as_ref())
    }
}

/// `response_format.json_schema`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JsonSchemaFormat {
    /// Schema name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    /// The JSON Schema.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<Value>,
    /// OpenAI strict mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Unknown keys (`description`, …).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A tool: `{"type":"function","function":{…}}`, or a provider built-in such as
/// `{"googleSearch":{}}` or `{"type":"web_search"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Tool {
    /// `"function"`, `"web_search"`, … (absent on built-ins given in Gemini's form).
    #[serde(rename = "type", default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<String>,
    /// The function, for function tools.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub function: Option<FunctionDefinition>,
    /// Everything else (the built-in tool's own key).
    #[serde(flatten)]
    pub extra: Extra,
}

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FunctionDefinition {
    /// Function name.
    pub name: String,
    /// What it does.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// JSON Schema of the arguments, kept as the client's text (it is converted, and the
    /// conversion cached, by that text).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub parameters: Option<RawJson>,
    /// OpenAI strict mode.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub strict: Option<bool>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Content {
    /// Plain text.
    Text(String),
    /// Text, images, audio and files.
    Parts(Vec<ContentPart>),
}

/// One content part. `kind` says which of the optional fields is set
/// (`text`, `image_url`, `input_audio`, `file`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct InputAudio {
    /// Base64 audio.
    pub data: String,
    /// `wav`, `mp3`, …
    pub format: String,
}

/// `file`: a file id/URI or inline data.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// Anthropic-style `cache_control`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CacheControl {
    /// `"ephemeral"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// Time to live, e.g. `"300s"`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub ttl: Option<String>,
}

/// A call the assistant made.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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

/// The non-streaming reply: `chat.completion`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
    /// Gemini's own finish reason and message, when they say more than the OpenAI one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub provider_specific_fields: Option<ChoiceProviderFields>,
}

/// Gemini's finish reason and message beside the OpenAI one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ChoiceProviderFields {
    /// Gemini's `finishReason` (`MALFORMED_FUNCTION_CALL`, `SAFETY`, …).
    pub finish_reason: String,
    /// Gemini's `finishMessage`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub finish_message: Option<String>,
}

/// The assistant message of a choice.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
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
pub struct Annotation {
    /// `"url_citation"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The cited span and source.
    pub url_citation: UrlCitation,
}

/// Span and source of a citation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct Logprobs {
    /// One entry per output token.
    pub content: Vec<TokenLogprob>,
}

/// One token's log probability and alternatives.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
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
pub struct TopLogprob {
    /// The token.
    pub token: String,
    /// Its log probability.
    pub logprob: f64,
    /// UTF-8 bytes of the token.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<Vec<u8>>,
}

/// Token counts.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct Usage {
    /// Input tokens (cached ones included).
    pub prompt_tokens: u64,
    /// Output tokens (reasoning included).
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
    /// Input breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Output breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// Tokens read from a context cache, under LiteLLM's (Anthropic-style) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
}

/// Input token breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PromptTokensDetails {
    /// Tokens read from a context cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Text tokens not read from a cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    /// Audio tokens not read from a cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Image tokens not read from a cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
    /// Video tokens not read from a cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_tokens: Option<u64>,
    /// Google Search queries the model ran (LiteLLM's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_requests: Option<u64>,
}

/// Output token breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct CompletionTokensDetails {
    /// Thinking tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Text tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    /// Audio tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Image tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
}
