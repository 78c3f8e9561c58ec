//! [`OpenAiCompatibleBuilder`]: assembles the OpenAI-compatible stack in the Gemini builder's shape,
//! with the user's own tower layers at the HTTP level ([`http_layer`](OpenAiCompatibleBuilder::http_layer))
//! and at the OpenAI level ([`layer`](OpenAiCompatibleBuilder::layer)), over the pooled transport or
//! any HTTP client service ([`transport`](OpenAiCompatibleBuilder::transport)).

use std::time::Duration;

use tower::layer::util::{Identity, Stack};
use tower::{BoxError, ServiceBuilder, ServiceExt as _};
use tower_layer::Layer;
use tower_service::Service;

use super::request::Options;
use super::{
    API_KEY_VAR, DEFAULT_API_BASE, DEFAULT_TIMEOUT, OpenAiCompatible, OpenAiCompatibleHttp,
    OpenAiCompatibleHttpLayer,
};
use crate::error::Error;
use crate::layers::validate::{SchemaValidation, SchemaValidationLayer};
use crate::openai::{ChatRequest, EmbeddingRequest, EmbeddingResponse};
use crate::pricing::ModelPrice;
use crate::provider::{ChatResponse, ChatService, EmbeddingService, Services};
use crate::upstream::transport::resolve_transport;
use crate::upstream::{BuildError, HttpTransport, Retry, RetryLayer, RetryPolicy, Secret};

/// The HTTP level under the OpenAI-compatible layers, for the HTTP service `S` (the
/// transport under the user's [`http_layer`](OpenAiCompatibleBuilder::http_layer)s): URL, JSON body,
/// key header, replies and error bodies, over the retry.
pub type HttpStack<S> = OpenAiCompatibleHttp<Retry<S>>;

/// The chat stack [`OpenAiCompatibleBuilder::build_service`] assembles over the HTTP service `S`.
pub type ChatStack<S> = SchemaValidation<HttpStack<S>>;

/// The embeddings stack [`OpenAiCompatibleBuilder::build_service`] assembles over the HTTP service
/// `S`.
pub type EmbeddingStack<S> = HttpStack<S>;

/// The unboxed services of an [`OpenAiCompatibleBuilder::build_service`].
pub type OpenAiCompatibleServices<C, E> = Services<C, E>;

/// Configures an [`OpenAiCompatible`] provider.
///
/// The type parameters are the layers and transport given so far: `H` the
/// [`http_layer`](Self::http_layer)s, `T` the [`transport`](Self::transport), `O` the
/// OpenAI-level [`layer`](Self::layer)s. The stack, outer to inner:
///
/// ```text
/// O  your layers         OpenAI level   (layer)
///    SchemaValidation                   (chat)
///    OpenAiCompatibleHttp          URL, JSON body, Bearer key, error bodies, price
///    Retry               RetryPolicy (retry)
/// H  your layers         HTTP level     (http_layer)
/// T  transport           HttpTransport, or any HTTP client service (transport)
/// ```
///
/// ```
/// use llm_tower::providers::openai_compatible::OpenAiCompatible;
/// use llm_tower::upstream::InFlightLimitLayer;
///
/// // At most 16 calls in flight to this server, streams included.
/// let local = OpenAiCompatible::builder()
///     .api_base("http://localhost:8000/v1")
///     .http_layer(InFlightLimitLayer::new(16))
///     .build()?;
/// # let _ = local;
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
pub struct OpenAiCompatibleBuilder<H = Identity, T = HttpTransport, O = Identity> {
    settings: Settings,
    transport: Option<T>,
    http_layers: H,
    layers: O,
}

/// Everything a builder holds besides its layers and transport.
#[derive(Default)]
struct Settings {
    api_key: Option<Secret>,
    price: Option<ModelPrice>,
    api_base: Option<String>,
    organization: Option<::http::HeaderValue>,
    options: Options,
    timeout: Option<Duration>,
    retry: RetryPolicy,
}

impl Default for OpenAiCompatibleBuilder {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            transport: None,
            http_layers: Identity::new(),
            layers: Identity::new(),
        }
    }
}

impl<H, T, O> std::fmt::Debug for OpenAiCompatibleBuilder<H, T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let settings = &self.settings;
        f.debug_struct("OpenAiCompatibleBuilder")
            .field("api_key", &settings.api_key)
            .field(
                "api_base",
                &settings
                    .api_base
                    .as_deref()
                    .map(crate::upstream::redact_url),
            )
            .field("timeout", &settings.timeout)
            .field("retry", &settings.retry)
            .finish_non_exhaustive()
    }
}

impl<H, T, O> OpenAiCompatibleBuilder<H, T, O> {
    /// The key, sent as `Authorization: Bearer …`. Without one, OpenAI's own endpoint uses
    /// `OPENAI_API_KEY`, and any other endpoint is called without a key (a local vLLM or
    /// Ollama): the environment's OpenAI key never goes to a server it was not meant for.
    pub fn api_key(mut self, key: Secret) -> Self {
        self.settings.api_key = Some(key);
        self
    }

    /// The base URL including the version (default: [`DEFAULT_API_BASE`]); a LiteLLM
    /// `api_base` works unchanged.
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.settings.api_base = Some(base.into());
        self
    }

    /// The `OpenAI-Organization` header sent with the configured key (LiteLLM's
    /// `organization` param): which organization OpenAI bills.
    pub fn organization(mut self, organization: ::http::HeaderValue) -> Self {
        self.settings.organization = Some(organization);
        self
    }

    /// Drop unsupported params (`thinking`, `safety_settings`, …) instead of answering 400.
    pub fn drop_params(mut self, drop: bool) -> Self {
        self.settings.options.drop_params = drop;
        self
    }

    /// Accept per-request credentials: `api_key` / `api_base` in the request body
    /// (LiteLLM's client-side credentials), and a [`Secret`] the application put in the
    /// request's extensions (a tenant's key; see [`RequestContext`](crate::RequestContext)),
    /// which is the key when the body names none. Off by default: behind an HTTP edge,
    /// clients would choose which host the server calls, and a request carrying a
    /// [`Secret`] is refused (401) rather than billed to the configured key.
    pub fn client_credentials(mut self, allow: bool) -> Self {
        self.settings.options.client_credentials = allow;
        self
    }

    /// The upstream silence limit (default [`DEFAULT_TIMEOUT`]): a call fails with 504 when
    /// the server sends nothing for this long, before the reply or within it (see
    /// [`HttpTransport::with_timeout`]), or sends no stream event for this long (keep-alive
    /// comments such as `: ping` do not count; see
    /// [`OpenAiCompatibleHttpLayer::event_timeout`]). It applies to a shared
    /// [`transport`](Self::transport) too, without changing the other users of its pool.
    /// A transport of another type has no such limit: setting one fails the build; put
    /// tower's `TimeoutLayer` in an [`http_layer`](Self::http_layer) instead (the stream
    /// event limit, [`DEFAULT_TIMEOUT`], applies whatever the transport).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// Retries failed calls at the HTTP level by `policy` (default: none): a retry resends
    /// the request's bytes, and nothing after a reply's first byte is retried.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry = policy;
        self
    }

    /// Prices replies with `price`: `usage.cost` is computed from it, whatever the upstream
    /// reported in its own `usage.cost` (LiteLLM's `input_cost_per_token` and the rest in a
    /// deployment's `litellm_params` or `model_info`).
    ///
    /// ```
    /// use llm_tower::pricing::ModelPrice;
    /// use llm_tower::providers::openai_compatible::OpenAiCompatible;
    ///
    /// let price = ModelPrice { input_cost_per_token: 1e-6, output_cost_per_token: 2e-6, ..Default::default() };
    /// let local = OpenAiCompatible::builder().api_base("http://127.0.0.1:8000/v1").price(price).build()?;
    /// # let _ = local;
    /// # Ok::<(), llm_tower::upstream::BuildError>(())
    /// ```
    pub fn price(mut self, price: ModelPrice) -> Self {
        self.settings.price = Some(price);
        self
    }

    /// Sends every upstream call through `transport`: a shared [`HttpTransport`] (and its
    /// connection pool), or any HTTP client service
    /// (`Service<http::Request<Full<Bytes>>, Response = http::Response<B>>`, `Clone`, with
    /// a response body of `Bytes` chunks; its errors and its body's errors convert into
    /// `tower::BoxError`): the request type every provider's HTTP level sends.
    pub fn transport<T2>(self, transport: T2) -> OpenAiCompatibleBuilder<H, T2, O> {
        OpenAiCompatibleBuilder {
            settings: self.settings,
            transport: Some(transport),
            http_layers: self.http_layers,
            layers: self.layers,
        }
    }

    /// Adds a layer at the HTTP level, between the retry and the transport, as
    /// [`GeminiBuilder::http_layer`](crate::gemini::GeminiBuilder::http_layer) does: an
    /// [`InFlightLimitLayer`](crate::upstream::InFlightLimitLayer), tower's
    /// `TimeoutLayer` (per attempt), `ConcurrencyLimitLayer`, `Buffer`, tower-http's
    /// `TraceLayer`, or your own. It wraps the transport of the chat and the embeddings
    /// stacks alike; layers added first are outermost. Their errors become OpenAI errors
    /// (see [`crate::Error`]'s `From<BoxError>`).
    ///
    /// ```
    /// use llm_tower::providers::openai_compatible::OpenAiCompatible;
    /// use tower_http::trace::TraceLayer;
    ///
    /// let traced = OpenAiCompatible::builder()
    ///     .api_base("http://localhost:8000/v1")
    ///     .http_layer(TraceLayer::new_for_http())
    ///     .build()?;
    /// # let _ = traced;
    /// # Ok::<(), llm_tower::upstream::BuildError>(())
    /// ```
    pub fn http_layer<L>(self, layer: L) -> OpenAiCompatibleBuilder<Stack<L, H>, T, O> {
        OpenAiCompatibleBuilder {
            settings: self.settings,
            transport: self.transport,
            http_layers: Stack::new(layer, self.http_layers),
            layers: self.layers,
        }
    }

    /// Adds a layer at the OpenAI level, outside the whole chat stack and the whole
    /// embeddings stack (it must take both request types; tower's layers do). Layers added
    /// first are outermost. Their errors become OpenAI errors (see [`crate::Error`]'s
    /// `From<BoxError>`).
    pub fn layer<L>(self, layer: L) -> OpenAiCompatibleBuilder<H, T, Stack<L, O>> {
        OpenAiCompatibleBuilder {
            settings: self.settings,
            transport: self.transport,
            http_layers: self.http_layers,
            layers: Stack::new(layer, self.layers),
        }
    }

    /// Assembles the stacks as named types (no boxing); see [`ChatStack`] and
    /// [`EmbeddingStack`] for what they are without OpenAI-level layers.
    ///
    /// ```
    /// use llm_tower::providers::openai_compatible::{ChatStack, OpenAiCompatible};
    /// use llm_tower::upstream::HttpTransport;
    ///
    /// let services = OpenAiCompatible::builder().api_base("http://localhost:8000/v1").build_service()?;
    /// let _chat: ChatStack<HttpTransport> = services.chat;
    /// # Ok::<(), llm_tower::upstream::BuildError>(())
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn build_service(
        self,
    ) -> Result<
        OpenAiCompatibleServices<
            <O as Layer<ChatStack<H::Service>>>::Service,
            <O as Layer<EmbeddingStack<H::Service>>>::Service,
        >,
        BuildError,
    >
    where
        T: Clone + 'static,
        H: Layer<T>,
        O: Layer<ChatStack<H::Service>> + Layer<EmbeddingStack<H::Service>>,
    {
        let settings = self.settings;
        let api_base = settings
            .api_base
            .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
        let api_key = settings.api_key.or_else(|| {
            (api_base.trim_end_matches('/') == DEFAULT_API_BASE)
                .then(|| std::env::var(API_KEY_VAR).ok())
                .flatten()
                .filter(|key| !key.is_empty())
                .map(Secret::new)
        });
        let timeout = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let transport = resolve_transport(self.transport, settings.timeout, timeout)?;
        let mut http = OpenAiCompatibleHttpLayer::with_options(api_base, api_key, settings.options)
            .event_timeout(timeout);
        if let Some(organization) = settings.organization {
            http = http.organization(organization);
        }
        if let Some(price) = settings.price {
            http = http.price(price);
        }
        // One retry layer: the chat and the embeddings stacks share its budget.
        let http = ServiceBuilder::new()
            .layer(http)
            .layer(RetryLayer::new(settings.retry));
        let chat = ServiceBuilder::new()
            .layer(SchemaValidationLayer::new())
            .layer(&http)
            .service(self.http_layers.layer(transport.clone()));
        let embeddings = http.service(self.http_layers.layer(transport));
        Ok(Services {
            chat: self.layers.layer(chat),
            embeddings: self.layers.layer(embeddings),
        })
    }

    /// Assembles the stacks, boxed as the [`ChatService`] and [`EmbeddingService`] of an
    /// [`OpenAiCompatible`] provider.
    pub fn build(self) -> Result<OpenAiCompatible, BuildError>
    where
        T: Clone + 'static,
        H: Layer<T>,
        O: Layer<ChatStack<H::Service>> + Layer<EmbeddingStack<H::Service>>,
        <O as Layer<ChatStack<H::Service>>>::Service:
            Service<ChatRequest, Response = ChatResponse> + Clone + Send + Sync + 'static,
        <<O as Layer<ChatStack<H::Service>>>::Service as Service<ChatRequest>>::Error:
            Into<BoxError>,
        <<O as Layer<ChatStack<H::Service>>>::Service as Service<ChatRequest>>::Future:
            Send + 'static,
        <O as Layer<EmbeddingStack<H::Service>>>::Service:
            Service<EmbeddingRequest, Response = EmbeddingResponse> + Clone + Send + Sync + 'static,
        <<O as Layer<EmbeddingStack<H::Service>>>::Service as Service<EmbeddingRequest>>::Error:
            Into<BoxError>,
        <<O as Layer<EmbeddingStack<H::Service>>>::Service as Service<EmbeddingRequest>>::Future:
            Send + 'static,
    {
        let services = self.build_service()?;
        Ok(OpenAiCompatible {
            chat: ChatService::new(services.chat.map_err(openai_error)),
            embeddings: EmbeddingService::new(services.embeddings.map_err(openai_error)),
        })
    }
}

/// An OpenAI-level error from the stack or a user's layer over it.
fn openai_error(error: impl Into<BoxError>) -> Error {
    Error::from(error.into())
}
