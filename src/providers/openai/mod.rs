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
//! | the builder's [`organization`](OpenAiBuilder::organization) (LiteLLM's `organization`) | the `OpenAI-Organization` header, with the configured key only |
//! | any other key | sent as given (what LiteLLM does with `extra_body`: vLLM's `top_k`, …) |
//!
//! Embeddings follow the same rules; `input_type` and `title` (Gemini's) are refused by
//! name or dropped.
//!
//! The stack, outer to inner:
//!
//! ```text
//! SchemaValidationLayer OpenAI   with enforce_validation, check the reply against the schema
//! OpenAiHttpLayer   OpenAI ⇄ HTTP   {api_base}/chat/completions, /embeddings; Bearer key;
//!                                   JSON or SSE replies (no event for `timeout`: 504);
//!                                   error envelopes
//! RetryLayer        HTTP     RetryPolicy (retry)
//! your layers       HTTP     http_layer: an InFlightLimitLayer, tower's timeout, …
//! HttpTransport     HTTP     shared connection pool (HTTP/1.1 and HTTP/2, rustls)
//! ```
//!
//! Legacy `/v1/completions` reach it through the provider-agnostic
//! [`CompletionsLayer`](crate::layers::completions::CompletionsLayer), as for every chat
//! provider. Upstream errors keep the server's own message, `param` and `code`; the status
//! picks the kind (401 authentication, 429 rate limit with its `Retry-After` or
//! `retry-after-ms`, …), and a body that is not OpenAI's error JSON (a proxy's HTML page)
//! keeps a readable preview.

mod error;
mod http;
mod price;
mod request;
mod stream;

use std::time::Duration;

use bytes::Bytes;
use http_body::Body;
use tower::layer::util::{Identity, Stack};
use tower::{BoxError, ServiceBuilder, ServiceExt as _};
use tower_layer::Layer;
use tower_service::Service;

pub use self::http::{OpenAiHttp, OpenAiHttpLayer};
use self::request::Options;
pub use self::stream::ChunkEvents;
use crate::layers::validate::SchemaValidationLayer;
use crate::pricing::ModelPrice;
use crate::provider::{ChatService, EmbeddingService, Provider};
use crate::upstream::{HttpTransport, RetryLayer, RetryPolicy, Secret};

/// OpenAI's public endpoint.
pub const DEFAULT_API_BASE: &str = "https://api.openai.com/v1";

/// The upstream silence limit unless [`OpenAiBuilder::timeout`] sets one: ten minutes, as
/// for Gemini.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The variable holding the key for OpenAI's endpoint.
pub const API_KEY_VAR: &str = "OPENAI_API_KEY";

/// An OpenAI-compatible upstream.
///
/// ```no_run
/// use llm_tower::providers::openai::OpenAi;
/// use llm_tower::{Client, Router};
///
/// // A local vLLM (or Ollama: http://localhost:11434/v1) without a key.
/// let local = OpenAi::builder().api_base("http://localhost:8000/v1").build()?;
/// let router = Router::builder().provider("openai", &local).build();
/// let client = Client::new(llm_tower::ChatService::new(router));
/// # let _ = client;
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
#[derive(Clone)]
pub struct OpenAi {
    chat: ChatService,
    embeddings: EmbeddingService,
}

impl OpenAi {
    /// A builder with the defaults: OpenAI's endpoint with the key from `OPENAI_API_KEY`,
    /// unsupported params refused, client credentials refused.
    pub fn builder() -> OpenAiBuilder {
        OpenAiBuilder::default()
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

impl Provider for OpenAi {
    fn chat_service(&self) -> ChatService {
        self.chat.clone()
    }

    fn embedding_service(&self) -> Option<EmbeddingService> {
        Some(self.embeddings.clone())
    }
}

impl std::fmt::Debug for OpenAi {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAi").finish_non_exhaustive()
    }
}

/// Configures an [`OpenAi`] provider. `H` is the [`http_layer`](Self::http_layer)s given
/// so far.
///
/// ```
/// use llm_tower::providers::openai::OpenAi;
/// use llm_tower::upstream::InFlightLimitLayer;
///
/// // At most 16 calls in flight to this server, streams included.
/// let local = OpenAi::builder()
///     .api_base("http://localhost:8000/v1")
///     .http_layer(InFlightLimitLayer::new(16))
///     .build()?;
/// # let _ = local;
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
pub struct OpenAiBuilder<H = Identity> {
    api_key: Option<Secret>,
    price: Option<ModelPrice>,
    api_base: Option<String>,
    organization: Option<::http::HeaderValue>,
    options: Options,
    transport: Option<HttpTransport>,
    timeout: Option<Duration>,
    retry: RetryPolicy,
    http_layers: H,
}

impl Default for OpenAiBuilder {
    fn default() -> Self {
        Self {
            api_key: None,
            price: None,
            api_base: None,
            organization: None,
            options: Options::default(),
            transport: None,
            timeout: None,
            retry: RetryPolicy::default(),
            http_layers: Identity::new(),
        }
    }
}

impl<H> std::fmt::Debug for OpenAiBuilder<H> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OpenAiBuilder")
            .field("api_key", &self.api_key)
            .field(
                "api_base",
                &self.api_base.as_deref().map(crate::upstream::redact_url),
            )
            .field("timeout", &self.timeout)
            .field("retry", &self.retry)
            .finish_non_exhaustive()
    }
}

impl<H> OpenAiBuilder<H> {
    /// The key, sent as `Authorization: Bearer …`. Without one, OpenAI's own endpoint uses
    /// `OPENAI_API_KEY`, and any other endpoint is called without a key (a local vLLM or
    /// Ollama): the environment's OpenAI key never goes to a server it was not meant for.
    pub fn api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }

    /// The base URL including the version (default: [`DEFAULT_API_BASE`]); a LiteLLM
    /// `api_base` works unchanged.
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = Some(base.into());
        self
    }

    /// The `OpenAI-Organization` header sent with the configured key (LiteLLM's
    /// `organization` param): which organization OpenAI bills.
    pub fn organization(mut self, organization: ::http::HeaderValue) -> Self {
        self.organization = Some(organization);
        self
    }

    /// Drop unsupported params (`thinking`, `safety_settings`, …) instead of answering 400.
    pub fn drop_params(mut self, drop: bool) -> Self {
        self.options.drop_params = drop;
        self
    }

    /// Accept `api_key` / `api_base` in requests (LiteLLM's client-side credentials). Off
    /// by default: behind an HTTP edge, clients would choose which host the server calls.
    pub fn client_credentials(mut self, allow: bool) -> Self {
        self.options.client_credentials = allow;
        self
    }

    /// Shares an [`HttpTransport`] (and its connection pool) across providers.
    pub fn transport(mut self, transport: HttpTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The upstream silence limit (default [`DEFAULT_TIMEOUT`]): a call fails with 504 when
    /// the server sends nothing for this long, before the reply or within it (see
    /// [`HttpTransport::with_timeout`]), or sends no stream event for this long (keep-alive
    /// comments such as `: ping` do not count; see
    /// [`OpenAiHttpLayer::event_timeout`]). It applies to a shared
    /// [`transport`](Self::transport) too, without changing the other users of its pool.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Retries failed calls at the HTTP level by `policy` (default: none): a retry resends
    /// the request's bytes, and nothing after a reply's first byte is retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.retry = policy;
        self
    }

    /// Prices replies with `price`: `usage.cost` is computed from it, whatever the upstream
    /// reported in its own `usage.cost` (LiteLLM's `input_cost_per_token` and the rest in a
    /// deployment's `litellm_params` or `model_info`).
    ///
    /// ```
    /// use llm_tower::pricing::ModelPrice;
    /// use llm_tower::providers::openai::OpenAi;
    ///
    /// let price = ModelPrice { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6, ..Default::default() };
    /// let local = OpenAi::builder().api_base("http://127.0.0.1:8000/v1").price(price).build()?;
    /// # let _ = local;
    /// # Ok::<(), llm_tower::upstream::BuildError>(())
    /// ```
    pub fn price(mut self, price: ModelPrice) -> Self {
        self.price = Some(price);
        self
    }

    /// Adds a layer at the HTTP level, between the retry and the transport, as
    /// [`GeminiBuilder::http_layer`](crate::gemini::GeminiBuilder::http_layer) does: an
    /// [`InFlightLimitLayer`](crate::upstream::InFlightLimitLayer), tower's
    /// `TimeoutLayer` (per attempt), tower-http's `TraceLayer`, or your own. It wraps the
    /// transport of the chat and the embeddings stacks alike; layers added first are
    /// outermost. Their errors become OpenAI errors (see [`crate::Error`]'s
    /// `From<BoxError>`).
    pub fn http_layer<L>(self, layer: L) -> OpenAiBuilder<Stack<L, H>> {
        OpenAiBuilder {
            api_key: self.api_key,
            price: self.price,
            api_base: self.api_base,
            organization: self.organization,
            options: self.options,
            transport: self.transport,
            timeout: self.timeout,
            retry: self.retry,
            http_layers: Stack::new(layer, self.http_layers),
        }
    }

    /// Assembles the stack.
    pub fn build<B>(self) -> Result<OpenAi, crate::upstream::BuildError>
    where
        H: Layer<HttpTransport>,
        H::Service: Service<::http::Request<Bytes>, Response = ::http::Response<B>>
            + Clone
            + Send
            + Sync
            + 'static,
        <H::Service as Service<::http::Request<Bytes>>>::Error: Into<BoxError>,
        <H::Service as Service<::http::Request<Bytes>>>::Future: Send + 'static,
        B: Body<Data = Bytes> + Send + 'static,
        B::Error: Into<BoxError>,
    {
        let api_base = self.api_base.unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
        let api_key = self.api_key.or_else(|| {
            (api_base.trim_end_matches('/') == DEFAULT_API_BASE)
                .then(|| std::env::var(API_KEY_VAR).ok())
                .flatten()
                .filter(|key| !key.is_empty())
                .map(Secret::new)
        });
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let transport = match self.transport {
            Some(transport) => transport,
            None => HttpTransport::builder().build()?,
        }
        .with_timeout(timeout);
        let mut http =
            OpenAiHttpLayer::with_options(api_base, api_key, self.options).event_timeout(timeout);
        if let Some(organization) = self.organization {
            http = http.organization(organization);
        }
        let http = http.layer(RetryLayer::new(self.retry).layer(self.http_layers.layer(transport)));
        let chat = ServiceBuilder::new()
            .layer(SchemaValidationLayer::new())
            .service(http.clone());
        let chat = match self.price {
            Some(price) => {
                ChatService::new(chat.map_response(move |response| price::priced(response, price)))
            }
            None => ChatService::new(chat),
        };
        Ok(OpenAi {
            chat,
            embeddings: EmbeddingService::new(http),
        })
    }
}
