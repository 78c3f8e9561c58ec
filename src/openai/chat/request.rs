//! The chat request: params, tools, `response_format`, and LiteLLM's extensions.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::Extra;
use super::message::Message;
use crate::context::{Contextual, RequestContext};
use crate::openai::read::one_pass;
use crate::raw_json::RawJson;
use crate::upstream::Secret;

/// A chat completion request, as OpenAI documents it plus LiteLLM's extensions
/// (`thinking`, `safety_settings`, `drop_params`, …).
///
/// Keys that are not typed here land in [`ChatRequest::extra`], in the order the
/// client sent them, as JSON text. It is read in one pass over the JSON (see `read.rs`:
/// serde's derive would buffer every unknown key as a tree first).
///
/// ```
/// use llm_tower::openai::ChatRequest;
///
/// let request: ChatRequest = serde_json::from_str(
///     r#"{"model":"gemini/gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}],"top_k":4}"#,
/// )?;
/// assert_eq!(request.messages.len(), 1);
/// assert_eq!(request.extra.get("top_k").map(|value| value.get()), Some("4"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
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
    /// What the application attached to the HTTP request this came from (its
    /// extensions; see [`RequestContext`]). Not part of the JSON.
    #[serde(skip)]
    pub context: RequestContext,
}

impl ChatRequest {
    /// A request for `model` with `messages` and no other params.
    ///
    /// ```
    /// use llm_tower::openai::{ChatRequest, Message, Role};
    ///
    /// let mut request = ChatRequest::new("gemini-2.5-flash", vec![Message::text(Role::User, "Hi")]);
    /// request.temperature = Some(0.2);
    /// assert!(!request.is_stream());
    /// ```
    pub fn new(model: impl Into<String>, messages: Vec<Message>) -> Self {
        Self {
            model: model.into(),
            messages,
            ..Self::default()
        }
    }

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
    /// assert_eq!(request.extra.get("top_k").map(|value| value.get()), Some("40"));
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
            // The context is the request's own, never a deployment's.
            context: _,
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
        self.extra.fill_from(extra);
    }
}

/// `stream_options`.
#[derive(Debug, Clone, Default, PartialEq, Serialize)]
#[non_exhaustive]
pub struct StreamOptions {
    /// Send a last chunk with usage.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub include_usage: Option<bool>,
    /// Unknown keys.
    #[serde(flatten)]
    pub extra: Extra,
}

one_pass!(StreamOptions, "stream options", {
    opt include_usage = "include_usage",
});

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
#[non_exhaustive]
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
#[non_exhaustive]
pub struct FunctionName {
    /// Function name.
    pub name: String,
}

/// `reasoning_effort`: a level, or the OpenAI Agents SDK's `{"effort": …}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
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
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
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

one_pass!(Thinking, "a thinking object", {
    req kind = "type",
    opt budget_tokens = "budget_tokens",
});

/// One Gemini safety setting.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct SafetySetting {
    /// `HARM_CATEGORY_…`.
    pub category: String,
    /// `BLOCK_…` / `OFF`.
    pub threshold: String,
    /// Other keys (e.g. `method`), sent as given.
    #[serde(flatten)]
    pub extra: Extra,
}

one_pass!(SafetySetting, "a safety setting", {
    req category = "category",
    req threshold = "threshold",
});

/// `response_format`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
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

one_pass!(ResponseFormat, "a response format", {
    req kind = "type",
    opt json_schema = "json_schema",
    opt response_schema = "response_schema",
    opt enforce_validation = "enforce_validation",
});

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
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
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

one_pass!(JsonSchemaFormat, "a json_schema object", {
    opt name = "name",
    opt schema = "schema",
    opt strict = "strict",
});

/// A tool: `{"type":"function","function":{…}}`, or a provider built-in such as
/// `{"googleSearch":{}}` or `{"type":"web_search"}`.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
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

one_pass!(Tool, "a tool", {
    opt kind = "type",
    opt function = "function",
});

/// A function the model may call.
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
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

one_pass!(FunctionDefinition, "a function definition", {
    req name = "name",
    opt description = "description",
    opt parameters = "parameters",
    opt strict = "strict",
});

impl Contextual for ChatRequest {
    fn context_mut(&mut self) -> &mut RequestContext {
        &mut self.context
    }
}
