//! The OpenAI-compatible provider: OpenAI itself, and every server that speaks its API
//! (vLLM, Ollama, LM Studio, Together, llama.cpp's server, …).
//!
//! The client's request already is OpenAI's, so the translation is a pass-through. What
//! changes is only what llm-tower or LiteLLM added to it:
//!
//! | in the request | upstream |
//! |---|---|
//! | `model` | the upstream's model id (the router took the `openai/` prefix off) |
//! | `stream_options` | sent when the client streams (the usage chunk passes through); left out otherwise, as OpenAI refuses it without `stream` |
//! | `tools`, `tool_choice`, `response_format`, sampling params, `reasoning_effort` | sent as given (`{"effort": …}` as its level string) |
//! | `response_format.enforce_validation` | not sent: the schema validation layer checks the reply |
//! | LiteLLM's `{"type": "json_object", "response_schema": …}` | OpenAI's `{"type": "json_schema", "json_schema": {"name": "response", "schema": …}}` |
//! | `cache_control` marks, `thinking_blocks`, `provider_specific_fields` on messages | not sent (Anthropic's and LiteLLM's, not OpenAI's) |
//! | `thinking`, `safety_settings` | refused by name, dropped with `drop_params` |
//! | `drop_params`, `api_key`, `api_base` | not sent; a client's `api_key` / `api_base` only where client credentials are allowed |
//! | the builder's [`organization`](OpenAiCompatibleBuilder::organization) (LiteLLM's `organization`) | the `OpenAI-Organization` header, with the configured key only |
//! | any other key | sent as given (what LiteLLM does with `extra_body`: vLLM's `top_k`, …) |
//!
//! Embeddings follow the same rules; `input_type` and `title` (Gemini's) are refused by
//! name or dropped.
//!
//! The stack, outer to inner:
//!
//! ```text
//! your layers       OpenAI   layer: tower's timeout, rate limits, … around chat and embeddings
//! SchemaValidationLayer OpenAI   with enforce_validation, check the reply against the schema
//! OpenAiCompatibleHttpLayer   OpenAI ⇄ HTTP   {api_base}/chat/completions, /embeddings; Bearer key;
//!                                   JSON or SSE replies (no event for `timeout`: 504);
//!                                   error envelopes; the deployment's price
//! RetryLayer        HTTP     RetryPolicy (retry)
//! your layers       HTTP     http_layer: an InFlightLimitLayer, tower's and tower-http's own
//! transport         HTTP     HttpTransport (shared pool, HTTP/1.1 and HTTP/2, rustls), or
//!                            any Service<http::Request<Full<Bytes>>> (transport)
//! ```
//!
//! The HTTP level is the one every provider shares: requests are
//! `http::Request<Full<Bytes>>`, and a per-request key (a [`Secret`](crate::Secret) among a
//! request's extensions) follows the shared rule of
//! [`request_key`](crate::credentials::request_key): sent as this request's
//! `Authorization` where [`client_credentials`](OpenAiCompatibleBuilder::client_credentials) allows
//! it, refused otherwise.
//!
//! Legacy `/v1/completions` reach it through the provider-agnostic
//! [`CompletionsLayer`](crate::layers::completions::CompletionsLayer), as for every chat
//! provider. Upstream errors keep the server's own message, `param` and `code`; the status
//! picks the kind (401 authentication, 429 rate limit with its `Retry-After` or
//! `retry-after-ms`, …), and a body that is not OpenAI's error JSON (a proxy's HTML page)
//! keeps a readable preview.

mod builder;
mod error;
pub mod files;
mod http;
mod price;
mod request;
mod stream;

use std::time::Duration;

pub use self::builder::{
    ChatStack, EmbeddingStack, HttpStack, OpenAiCompatibleBuilder, OpenAiCompatibleServices,
};
pub use self::http::{OpenAiCompatibleFuture, OpenAiCompatibleHttp, OpenAiCompatibleHttpLayer};
pub use self::stream::ChunkEvents;
use crate::provider::{ChatService, EmbeddingService, Provider};

/// OpenAI's public endpoint.
pub const DEFAULT_API_BASE: &str = "https://api.openai.com/v1";

/// The upstream silence limit unless [`OpenAiCompatibleBuilder::timeout`] sets one: ten minutes, as
/// for Gemini.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The variable holding the key for OpenAI's endpoint.
pub const API_KEY_VAR: &str = "OPENAI_API_KEY";

/// An OpenAI-compatible upstream.
///
/// ```no_run
/// use llm_tower::providers::openai_compatible::OpenAiCompatible;
/// use llm_tower::{Client, ModelRouter};
///
/// // A local vLLM (or Ollama: http://localhost:11434/v1) without a key.
/// let local = OpenAiCompatible::builder().api_base("http://localhost:8000/v1").build()?;
/// let router = ModelRouter::builder().provider("openai", &local).build();
/// let client = Client::new(llm_tower::ChatService::new(router));
/// # let _ = client;
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
#[derive(Clone)]
pub struct OpenAiCompatible {
    chat: ChatService,
    embeddings: EmbeddingService,
}

impl OpenAiCompatible {
    /// A builder with the defaults: OpenAI's endpoint with the key from `OPENAI_API_KEY`,
    /// unsupported params refused, client credentials refused.
    pub fn builder() -> OpenAiCompatibleBuilder {
        OpenAiCompatibleBuilder::default()
    }

    /// The chat stack as a boxed service.
    pub fn chat_service(&self) -> ChatService {
        self.chat.clone()
    }

    /// The embeddings stack as a boxed service; it shares the chat stack's key, endpoint and
    /// connection pool.
    pub fn embedding_service(&self) -> EmbeddingService {
        self.embeddings.clone()
    }
}

impl Provider for OpenAiCompatible {
    fn chat_service(&self) -> ChatService {
        self.chat.clone()
    }

    fn embedding_service(&self) -> Option<EmbeddingService> {
        Some(self.embeddings.clone())
    }
}

impl std::fmt::Debug for OpenAiCompatible {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiCompatible").finish_non_exhaustive()
    }
}
