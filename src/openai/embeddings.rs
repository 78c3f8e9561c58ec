//! `POST /v1/embeddings`: the request and the reply, as OpenAI documents them, with
//! LiteLLM's additions (`input_type`, `drop_params`, client-side credentials).

use serde::{Deserialize, Serialize};

use super::chat::Extra;
use super::read::one_pass;
use crate::context::{Contextual, RequestContext};
use crate::upstream::secret::Secret;

/// An embeddings request.
///
/// ```
/// use llm_tower::openai::{EmbeddingInput, EmbeddingRequest};
///
/// let request: EmbeddingRequest = serde_json::from_str(
///     r#"{"model": "gemini/gemini-embedding-001", "input": ["a", "b"], "dimensions": 256}"#,
/// )?;
/// assert_eq!(request.input, EmbeddingInput::Texts(vec!["a".into(), "b".into()]));
/// assert_eq!(request.dimensions, Some(256));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, PartialEq, Serialize)]
#[non_exhaustive]
pub struct EmbeddingRequest {
    /// `provider/model` (routed) or a bare model id (after routing).
    pub model: String,
    /// What to embed.
    pub input: EmbeddingInput,
    /// `float` (the default) or `base64` (little-endian `f32`s).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub encoding_format: Option<EncodingFormat>,
    /// Length of each vector.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub dimensions: Option<u32>,
    /// An end-user id (OpenAI's abuse monitoring; Gemini has no such field).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// What the vectors are for (LiteLLM's name for Gemini's `taskType`:
    /// `RETRIEVAL_QUERY`, `RETRIEVAL_DOCUMENT`, `SEMANTIC_SIMILARITY`, …).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_type: Option<String>,
    /// The document title, with `RETRIEVAL_DOCUMENT`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Drop unsupported params instead of refusing them.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub drop_params: Option<bool>,
    /// A per-request upstream key; see [`ChatRequest::api_key`](super::ChatRequest).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub api_key: Option<Secret>,
    /// A per-request upstream base URL; see [`ChatRequest::api_base`](super::ChatRequest).
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

one_pass!(EmbeddingRequest, "an embeddings request object", {
    req model = "model",
    req input = "input",
    opt encoding_format = "encoding_format",
    opt dimensions = "dimensions",
    opt user = "user",
    opt input_type = "input_type" | "task_type",
    opt title = "title",
    opt drop_params = "drop_params",
    opt api_key = "api_key",
    opt api_base = "api_base",
}, skip context);

impl EmbeddingRequest {
    /// A request for `model` with `input` and nothing else.
    pub fn new(model: impl Into<String>, input: impl Into<EmbeddingInput>) -> Self {
        Self {
            model: model.into(),
            input: input.into(),
            encoding_format: None,
            dimensions: None,
            user: None,
            input_type: None,
            title: None,
            drop_params: None,
            api_key: None,
            api_base: None,
            extra: Extra::new(),
            context: RequestContext::default(),
        }
    }
}

/// The `input` of an embeddings request: text, or token ids (which Gemini does not take).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingInput {
    /// One string.
    Text(String),
    /// Several strings, one vector each.
    Texts(Vec<String>),
    /// One string as token ids.
    Tokens(Vec<u32>),
    /// Several strings as token ids.
    TokenLists(Vec<Vec<u32>>),
}

/// Most inputs in one embeddings request: OpenAI's own limit.
pub const MAX_EMBEDDING_INPUTS: usize = 2048;

impl EmbeddingInput {
    /// How many vectors the input asks for.
    ///
    /// ```
    /// use llm_tower::openai::EmbeddingInput;
    /// assert_eq!(EmbeddingInput::from("one").len(), 1);
    /// assert_eq!(EmbeddingInput::TokenLists(vec![vec![1], vec![2, 3]]).len(), 2);
    /// ```
    pub fn len(&self) -> usize {
        match self {
            Self::Text(_) | Self::Tokens(_) => 1,
            Self::Texts(texts) => texts.len(),
            Self::TokenLists(lists) => lists.len(),
        }
    }

    /// Whether the input asks for no vector at all (an empty list).
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Refuses more than [`MAX_EMBEDDING_INPUTS`] inputs with a 400 naming `input`, before
    /// anything is sent.
    ///
    /// ```
    /// use llm_tower::openai::EmbeddingInput;
    ///
    /// let error = EmbeddingInput::Texts(vec![String::new(); 2049]).check_len().unwrap_err();
    /// assert_eq!((error.status().as_u16(), error.param()), (400, Some("input")));
    /// ```
    pub fn check_len(&self) -> Result<(), crate::Error> {
        let count = self.len();
        if count > MAX_EMBEDDING_INPUTS {
            return Err(crate::Error::invalid_param(
                "input",
                format!(
                    "input has {count} items; at most {MAX_EMBEDDING_INPUTS} are allowed in one request"
                ),
            ));
        }
        Ok(())
    }
}

impl From<&str> for EmbeddingInput {
    fn from(text: &str) -> Self {
        Self::Text(text.to_owned())
    }
}

impl From<String> for EmbeddingInput {
    fn from(text: String) -> Self {
        Self::Text(text)
    }
}

impl From<Vec<String>> for EmbeddingInput {
    fn from(texts: Vec<String>) -> Self {
        Self::Texts(texts)
    }
}

/// How vectors are written in the reply.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum EncodingFormat {
    /// JSON numbers.
    #[default]
    Float,
    /// Base64 of the little-endian `f32` bytes.
    Base64,
}

/// The reply: `{"object": "list", "data": […], "model", "usage"}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingResponse {
    /// Always `list`.
    pub object: String,
    /// One embedding per input, in input order.
    pub data: Vec<Embedding>,
    /// The model as the client named it.
    pub model: String,
    /// Token counts, where the upstream reports them.
    pub usage: EmbeddingUsage,
}

/// One vector.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Embedding {
    /// Always `embedding`.
    pub object: String,
    /// Position of its input.
    pub index: usize,
    /// The vector.
    pub embedding: EmbeddingVector,
}

/// A vector as numbers or as base64.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum EmbeddingVector {
    /// `encoding_format: float`.
    Float(Vec<f32>),
    /// `encoding_format: base64`.
    Base64(String),
}

/// Token counts of an embeddings request, and its cost where the model's price is known.
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct EmbeddingUsage {
    /// Input tokens.
    pub prompt_tokens: u64,
    /// The same (embeddings produce no output tokens).
    pub total_tokens: u64,
    /// What the request cost, in US dollars (LiteLLM's `usage.cost`): its input tokens at
    /// the model's `input_cost_per_token`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl Contextual for EmbeddingRequest {
    fn context_mut(&mut self) -> &mut RequestContext {
        &mut self.context
    }
}
