//! `POST /v1/completions` (OpenAI's legacy text completions): the request, and the reply,
//! which is also the shape of each streamed chunk.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::chat::{Extra, Stop, StreamOptions, Usage};
use super::read::one_pass;
use crate::context::{Contextual, RequestContext};

/// A legacy completions request. Keys it does not name (`safety_settings`,
/// `reasoning_effort`, `top_k`, …) are kept in `extra` and mean what they mean in a chat
/// request.
///
/// ```
/// use llm_tower::openai::{CompletionRequest, Prompt};
///
/// let request: CompletionRequest = serde_json::from_str(
///     r#"{"model": "gemini/gemini-2.5-flash", "prompt": "Once upon a time", "max_tokens": 16}"#,
/// )?;
/// assert_eq!(request.prompt, Prompt::Text("Once upon a time".into()));
/// assert_eq!(request.max_tokens, Some(16));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct CompletionRequest {
    /// `provider/model` (routed) or a bare model id (after routing).
    pub model: String,
    /// The text to continue.
    pub prompt: Prompt,
    /// Text after the completion (insertion); few models take it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub suffix: Option<String>,
    /// Most tokens to generate.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_tokens: Option<u32>,
    /// Sampling temperature.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub temperature: Option<f64>,
    /// Nucleus sampling.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub top_p: Option<f64>,
    /// Completions per prompt.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub n: Option<u32>,
    /// Stream chunks as server-sent events.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream: Option<bool>,
    /// `include_usage` for streams.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stream_options: Option<StreamOptions>,
    /// Log probabilities of this many most likely tokens at each position.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logprobs: Option<u32>,
    /// Put the prompt in front of the completion.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub echo: Option<bool>,
    /// Stop sequences.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub stop: Option<Stop>,
    /// Presence penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub presence_penalty: Option<f64>,
    /// Frequency penalty.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub frequency_penalty: Option<f64>,
    /// Candidates generated server-side to return the best `n` of.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub best_of: Option<u32>,
    /// Token biases.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub logit_bias: Option<Map<String, Value>>,
    /// Sampling seed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub seed: Option<i64>,
    /// An end-user id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// Everything else, in the order sent: chat params.
    #[serde(flatten)]
    pub extra: Extra,
    /// What the application attached to the HTTP request this came from (its
    /// extensions; see [`RequestContext`]). Not part of the JSON.
    #[serde(skip)]
    pub context: RequestContext,
}

one_pass!(CompletionRequest, "a completion request object", {
    req model = "model",
    req prompt = "prompt",
    opt suffix = "suffix",
    opt max_tokens = "max_tokens",
    opt temperature = "temperature",
    opt top_p = "top_p",
    opt n = "n",
    opt stream = "stream",
    opt stream_options = "stream_options",
    opt logprobs = "logprobs",
    opt echo = "echo",
    opt stop = "stop",
    opt presence_penalty = "presence_penalty",
    opt frequency_penalty = "frequency_penalty",
    opt best_of = "best_of",
    opt logit_bias = "logit_bias",
    opt seed = "seed",
    opt user = "user",
}, skip context);

impl CompletionRequest {
    /// A request for `model` with `prompt` and nothing else.
    pub fn new(model: impl Into<String>, prompt: impl Into<String>) -> Self {
        Self {
            model: model.into(),
            prompt: Prompt::Text(prompt.into()),
            suffix: None,
            max_tokens: None,
            temperature: None,
            top_p: None,
            n: None,
            stream: None,
            stream_options: None,
            logprobs: None,
            echo: None,
            stop: None,
            presence_penalty: None,
            frequency_penalty: None,
            best_of: None,
            logit_bias: None,
            seed: None,
            user: None,
            extra: Extra::new(),
            context: RequestContext::default(),
        }
    }
}

/// The `prompt` of a completions request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Prompt {
    /// One prompt.
    Text(String),
    /// Several prompts, completed independently.
    Texts(Vec<String>),
    /// One prompt as token ids.
    Tokens(Vec<u32>),
    /// Several prompts as token ids.
    TokenLists(Vec<Vec<u32>>),
}

/// A `text_completion`: the whole reply, or one streamed chunk.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextCompletion {
    /// Reply id, the same on every chunk of a stream.
    pub id: String,
    /// `"text_completion"`.
    pub object: String,
    /// Unix seconds.
    pub created: u64,
    /// The model.
    pub model: String,
    /// `n` per prompt, prompt by prompt; empty on a stream's usage chunk.
    pub choices: Vec<TextChoice>,
    /// Token counts (on a stream, only on the last chunk, with `include_usage`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub usage: Option<Usage>,
}

/// One completion (or, in a stream, the next piece of it).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextChoice {
    /// The text.
    pub text: String,
    /// `prompt index × n + completion index`.
    pub index: u32,
    /// With `logprobs`.
    pub logprobs: Option<TextLogprobs>,
    /// `stop`, `length`, `content_filter`; `null` until a stream's last chunk.
    pub finish_reason: Option<String>,
}

/// Legacy log probabilities: parallel lists, one entry per token.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct TextLogprobs {
    /// The tokens.
    pub tokens: Vec<String>,
    /// Their log probabilities.
    pub token_logprobs: Vec<f64>,
    /// The most likely tokens at each position, token → log probability.
    pub top_logprobs: Vec<Map<String, Value>>,
    /// Character offset of each token in the text.
    pub text_offset: Vec<usize>,
}

impl Contextual for CompletionRequest {
    fn context_mut(&mut self) -> &mut RequestContext {
        &mut self.context
    }
}
