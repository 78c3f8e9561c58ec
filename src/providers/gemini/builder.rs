//! [`GeminiBuilder`]: assembles the Gemini stack, with the user's own tower layers at the
//! HTTP level ([`http_layer`](GeminiBuilder::http_layer)) and at the OpenAI level
//! ([`layer`](GeminiBuilder::layer)), over the pooled transport or any HTTP client service
//! ([`transport`](GeminiBuilder::transport)).

use std::any::Any;
use std::sync::Arc;
use std::time::Duration;

use tower::layer::util::{Identity, Stack};
use tower::{BoxError, ServiceBuilder, ServiceExt};
use tower_layer::Layer;
use tower_service::Service;

use super::auth::{ApiKeyLayer, ApiKeyService, api_key_from_env};
use super::cache::{self, ContextCache, ContextCacheLayer};
use super::embed::{EmbedMap, EmbedMapLayer};
use super::http::{DEFAULT_API_BASE, GeminiHttp, GeminiHttpLayer, retry_info_delay};
use super::large_media::{LargeMedia, LargeMediaLayer};
use super::map::{ParamMap, ParamMapLayer};
use super::sse::{SseAdapter, SseAdapterLayer};
use super::translate::{IdSource, RandomIds, TranslateOptions};
use super::{BuildError, DEFAULT_TIMEOUT, Gemini};
use crate::error::Error;
use crate::layers::media::{FetchPolicy, MediaFetchLayer, MediaFetchService, MediaFetcher};
use crate::layers::validate::{SchemaValidation, SchemaValidationLayer};
use crate::openai::{ChatRequest, EmbeddingRequest, EmbeddingResponse};
use crate::pricing::ModelPrice;
use crate::provider::{ChatResponse, ChatService, EmbeddingService, Services};
use crate::store::{CacheStore, MemoryCacheStore};
use crate::upstream::transport::resolve_transport;
use crate::upstream::{
    BuildError as UpstreamBuildError, HttpTransport, Retry, RetryLayer, RetryPolicy, Secret,
};

/// The HTTP level under the Gemini layers, for the HTTP service `S` (the transport under
/// the user's [`http_layer`](GeminiBuilder::http_layer)s): the URL and body of each call,
/// the key header, the retry.
pub type HttpStack<S> = GeminiHttp<ApiKeyService<Retry<S>>>;

/// The chat stack [`GeminiBuilder::build_service`] assembles over the HTTP service `S`.
pub type ChatStack<S> = SchemaValidation<
    MediaFetchService<ParamMap<ContextCache<LargeMedia<SseAdapter<HttpStack<S>>>>>>,
>;

/// The embeddings stack [`GeminiBuilder::build_service`] assembles over the HTTP service
/// `S`.
pub type EmbeddingStack<S> = EmbedMap<HttpStack<S>>;

/// The unboxed services of a [`GeminiBuilder::build_service`].
pub type GeminiServices<C, E> = Services<C, E>;

/// Configures a [`Gemini`] provider.
///
/// The type parameters are the layers and transport given so far: `H` the
/// [`http_layer`](Self::http_layer)s, `T` the [`transport`](Self::transport), `O` the
/// OpenAI-level [`layer`](Self::layer)s. The stack, outer to inner:
///
/// ```text
/// O  your layers         OpenAI level   (layer)
///    SchemaValidation, MediaFetch, ParamMap, ContextCache, LargeMedia,
///    SseAdapter                                                         (chat)
///    EmbedMap                                                           (embeddings)
///    GeminiHttp          URL, JSON body, error bodies
///    ApiKeyService       x-goog-api-key
///    Retry               RetryPolicy (retry)
/// H  your layers         HTTP level     (http_layer)
/// T  transport           HttpTransport, or any HTTP client service (transport)
/// ```
///
/// ```
/// use std::time::Duration;
/// use llm_tower::Secret;
/// use llm_tower::gemini::Gemini;
/// use llm_tower::upstream::RetryPolicy;
/// use tower::ServiceBuilder;
///
/// let gemini = Gemini::builder()
///     .api_key(Secret::new("AIza…"))
///     .retry(RetryPolicy::new(2))
///     // Each attempt: at most 10 s, at most 32 in flight, refused at once beyond that.
///     .http_layer(
///         ServiceBuilder::new()
///             .timeout(Duration::from_secs(10))
///             .load_shed()
///             .concurrency_limit(32),
///     )
///     .build()?;
/// # let _ = gemini;
/// # Ok::<(), llm_tower::gemini::BuildError>(())
/// ```
pub struct GeminiBuilder<H = Identity, T = HttpTransport, O = Identity> {
    settings: Settings,
    transport: Option<T>,
    http_layers: H,
    layers: O,
}

/// Everything a builder holds besides its layers and transport.
#[derive(Default)]
struct Settings {
    api_key: Option<Secret>,
    api_base: Option<String>,
    drop_params: bool,
    client_credentials: bool,
    timeout: Option<Duration>,
    retry: RetryPolicy,
    fetch_policy: FetchPolicy,
    fetcher: Option<MediaFetcher>,
    ids: Option<Arc<dyn IdSource>>,
    cache_store: Option<Arc<dyn CacheStore>>,
    price: Option<ModelPrice>,
    fan_out: Option<usize>,
    /// The inline media limit of a call, if not the default.
    inline_limit: Option<usize>,
    /// Media past the limit stay inline (Google refuses the call).
    keep_media_inline: bool,
    /// Vertex AI's wire (no API key, model paths under `publishers/google/`), with the
    /// project's resource name `projects/{project}/locations/{location}/`.
    google_cloud: Option<String>,
}

impl Default for GeminiBuilder {
    fn default() -> Self {
        Self {
            settings: Settings::default(),
            transport: None,
            http_layers: Identity::new(),
            layers: Identity::new(),
        }
    }
}

impl<H, T, O> std::fmt::Debug for GeminiBuilder<H, T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GeminiBuilder")
            .field(
                "api_base",
                &self
                    .settings
                    .api_base
                    .as_deref()
                    .map(crate::upstream::redact_url),
            )
            .field("retry", &self.settings.retry)
            .finish_non_exhaustive()
    }
}

impl<H, T, O> GeminiBuilder<H, T, O> {
    /// The key used when a request carries none (default: `GEMINI_API_KEY`).
    pub fn api_key(mut self, key: Secret) -> Self {
        self.settings.api_key = Some(key);
        self
    }

    /// The base URL including the version (default: `GEMINI_API_BASE`, else
    /// [`DEFAULT_API_BASE`]); a LiteLLM `api_base` works unchanged.
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.settings.api_base = Some(base.into());
        self
    }

    /// Drop unsupported params instead of answering 400.
    pub fn drop_params(mut self, drop: bool) -> Self {
        self.settings.drop_params = drop;
        self
    }

    /// Accept per-request credentials (LiteLLM's client-side credentials): `api_key` /
    /// `api_base` in the request body, and a [`Secret`] the application put in the request's
    /// extensions (see [`RequestContext`](crate::RequestContext)), which is the key when the
    /// body names none. Off by default: behind an HTTP edge, clients would choose which host
    /// the server calls. Turn it on where the callers are trusted (the [`crate::Client`]
    /// façade in your own code, an application that sets each tenant's key).
    pub fn client_credentials(mut self, allow: bool) -> Self {
        self.settings.client_credentials = allow;
        self
    }

    /// The upstream silence limit (default [`DEFAULT_TIMEOUT`]): a call fails with 504
    /// when Gemini sends nothing for this long before the reply, pauses this long inside
    /// it (see [`HttpTransport::with_timeout`]), or sends no stream event for this long
    /// (keep-alive comments do not count). It applies to a shared
    /// [`transport`](Self::transport) too, without changing the other users of its pool.
    /// A transport of another type has no such limit: setting one fails the build; put
    /// tower's `TimeoutLayer` in an [`http_layer`](Self::http_layer) instead (the stream
    /// event limit, [`DEFAULT_TIMEOUT`], applies whatever the transport).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.settings.timeout = Some(timeout);
        self
    }

    /// Retries upstream calls at the HTTP level by `policy` (default: no retries). A retry
    /// sends the same bytes again: nothing above the HTTP level (translation, image
    /// downloads, the context cache) runs twice. Unless the policy reads delays from error
    /// bodies already, it reads Google's `RetryInfo.retryDelay` from a `429`'s.
    pub fn retry(mut self, policy: RetryPolicy) -> Self {
        self.settings.retry = policy;
        self
    }

    /// Where image URLs may be downloaded from, and how much.
    pub fn fetch_policy(mut self, policy: FetchPolicy) -> Self {
        self.settings.fetch_policy = policy;
        self
    }

    /// Shares an image fetcher (and its clients) across providers; overrides
    /// [`fetch_policy`](Self::fetch_policy).
    pub fn media_fetcher(mut self, fetcher: MediaFetcher) -> Self {
        self.settings.fetcher = Some(fetcher);
        self
    }

    /// Remembers context caches in `store` (default: an in-memory store of this provider's
    /// own); share one store across providers and processes to share their caches.
    pub fn cache_store(mut self, store: Arc<dyn CacheStore>) -> Self {
        self.settings.cache_store = Some(store);
        self
    }

    /// Uses `ids` for reply ids and timestamps (tests and examples use
    /// [`SequentialIds`](super::translate::SequentialIds)).
    pub fn ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.settings.ids = Some(ids);
        self
    }

    /// Prices every reply at `price` (default: the bundled table's price of the model
    /// asked for, see [`pricing`](super::pricing); a model it does not know gets no cost).
    pub fn price(mut self, price: ModelPrice) -> Self {
        self.settings.price = Some(price);
        self
    }

    /// Sends at most `limit` `batchEmbedContents` calls of one embeddings request at a time
    /// (default: [`DEFAULT_FAN_OUT`](crate::layers::fan_out::DEFAULT_FAN_OUT)).
    pub fn fan_out(mut self, limit: usize) -> Self {
        self.settings.fan_out = Some(limit);
        self
    }

    /// Inline media (base64 text, all parts of a call together) past `bytes` go through
    /// the Files API, largest first (default
    /// [`DEFAULT_INLINE_LIMIT`](super::DEFAULT_INLINE_LIMIT), under Google's 20 MB per
    /// request); see [`LargeMediaLayer`].
    pub fn inline_limit(mut self, bytes: usize) -> Self {
        self.settings.inline_limit = Some(bytes);
        self
    }

    /// Uploads inline media past the [`inline_limit`](Self::inline_limit) through the
    /// Files API (default: on, with the pooled [`HttpTransport`]; a transport of another
    /// type, and Vertex AI, keep media inline).
    pub fn upload_large_media(mut self, upload: bool) -> Self {
        self.settings.keep_media_inline = !upload;
        self
    }

    /// The transport given, if it is an [`HttpTransport`] (to share its pool).
    pub(crate) fn http_transport(&self) -> Option<HttpTransport>
    where
        T: 'static,
    {
        (&self.transport as &dyn Any)
            .downcast_ref::<Option<HttpTransport>>()?
            .clone()
    }

    /// Speaks Vertex AI's wire instead of AI Studio's: no API key header (a layer at the
    /// HTTP level authenticates), model paths under `publishers/google/` of the base,
    /// embeddings through `:predict` in Vertex's batch sizes, context caches whose model
    /// is `{parent}publishers/google/models/{model}`, where `parent` is
    /// `projects/{project}/locations/{location}/`.
    pub(crate) fn google_cloud(mut self, parent: String) -> Self {
        self.settings.google_cloud = Some(parent);
        self
    }

    /// Sends every upstream call through `transport`: a shared [`HttpTransport`] (and its
    /// connection pool), or any HTTP client service
    /// (`Service<http::Request<Full<Bytes>>, Response = http::Response<B>>`, `Clone`, with
    /// a response body of `Bytes` chunks; its errors and its body's errors convert into
    /// `tower::BoxError`). The request body is a `Full<Bytes>`: a
    /// [`Body`](http_body::Body), so tower-http's layers fit, that a retry clones in O(1).
    pub fn transport<T2>(self, transport: T2) -> GeminiBuilder<H, T2, O> {
        GeminiBuilder {
            settings: self.settings,
            transport: Some(transport),
            http_layers: self.http_layers,
            layers: self.layers,
        }
    }

    /// Adds a layer at the HTTP level, between the retry and the transport: an
    /// [`InFlightLimitLayer`](crate::upstream::InFlightLimitLayer) (calls in flight,
    /// streams until they end), tower's `TimeoutLayer` (per attempt),
    /// `ConcurrencyLimitLayer`, `LoadShedLayer`, `Buffer` with `RateLimitLayer`,
    /// tower-http's `TraceLayer`, or your own. It wraps the transport of the chat and the
    /// embeddings stacks alike. Layers added first are outermost, as in
    /// [`ServiceBuilder`]. Their errors become Gemini errors: `Elapsed` a 504 timeout,
    /// `Overloaded` a 503, [`Saturated`](crate::upstream::Saturated) a 429 with
    /// `Retry-After`.
    pub fn http_layer<L>(self, layer: L) -> GeminiBuilder<Stack<L, H>, T, O> {
        GeminiBuilder {
            settings: self.settings,
            transport: self.transport,
            http_layers: Stack::new(layer, self.http_layers),
            layers: self.layers,
        }
    }

    /// Adds a layer at the OpenAI level, outside the whole chat stack and the whole
    /// embeddings stack (it must take both request types; tower's layers do). Layers added
    /// first are outermost. Their errors become OpenAI errors (`Elapsed` a 504 timeout,
    /// `Overloaded` a 503; see [`crate::Error`]'s `From<BoxError>`).
    pub fn layer<L>(self, layer: L) -> GeminiBuilder<H, T, Stack<L, O>> {
        GeminiBuilder {
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
    /// use llm_tower::Secret;
    /// use llm_tower::gemini::Gemini;
    ///
    /// let services = Gemini::builder().api_key(Secret::new("AIza…")).build_service()?;
    /// let _chat: llm_tower::gemini::ChatStack<llm_tower::upstream::HttpTransport> = services.chat;
    /// # Ok::<(), llm_tower::gemini::BuildError>(())
    /// ```
    #[allow(clippy::type_complexity)]
    pub fn build_service(
        self,
    ) -> Result<
        GeminiServices<
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
            .or_else(|| {
                std::env::var("GEMINI_API_BASE")
                    .ok()
                    .filter(|base| !base.is_empty())
            })
            .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
        let timeout = settings.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let transport =
            resolve_transport(self.transport, settings.timeout, timeout).map_err(|error| {
                match error {
                    UpstreamBuildError::Transport(why) => BuildError::Transport(why),
                    other => BuildError::Client(other),
                }
            })?;
        let fetcher = match settings.fetcher {
            Some(fetcher) => fetcher,
            None => MediaFetcher::new(settings.fetch_policy)?,
        };
        let ids = settings.ids.unwrap_or_else(|| Arc::new(RandomIds));
        let options = TranslateOptions {
            drop_params: settings.drop_params,
            client_credentials: settings.client_credentials,
            builtin_tools_with_functions: settings.google_cloud.is_none(),
        };
        let (api_key, key_layer, http_layer) = if settings.google_cloud.is_some() {
            let http = GeminiHttpLayer::new(&api_base).models_parent("publishers/google/");
            (None, ApiKeyLayer::disabled(), http)
        } else {
            let api_key = settings.api_key.or_else(api_key_from_env);
            let layer = ApiKeyLayer::new(api_key.clone());
            (api_key, layer, GeminiHttpLayer::new(&api_base))
        };
        let mut caching = ContextCacheLayer::new(
            settings
                .cache_store
                .unwrap_or_else(|| Arc::new(MemoryCacheStore::default())),
            cache_namespace(&api_base, api_key.as_ref()),
        );
        if let Some(parent) = &settings.google_cloud {
            caching = caching.model_prefix(format!("{parent}publishers/google/models/"));
        }
        // Vertex AI does not read AI Studio's file URIs (and has no `x-goog-api-key` for
        // the upload): there, media stay inline. Uploads go through the pooled transport,
        // so a transport of another type keeps them inline too.
        let pooled = (&transport as &dyn Any).downcast_ref::<HttpTransport>();
        let mut large_media = match pooled {
            Some(pooled) if settings.google_cloud.is_none() && !settings.keep_media_inline => {
                LargeMediaLayer::new(pooled.clone(), &api_base, api_key.clone())
            }
            _ => LargeMediaLayer::disabled(),
        };
        if let Some(limit) = settings.inline_limit {
            large_media = large_media.limit(limit);
        }
        let mut retry = settings.retry;
        if retry.reads_body_delay().is_none() {
            retry = retry.delay_in_body(retry_info_delay);
        }
        // One retry layer: the chat and the embeddings stacks share its budget.
        let http = ServiceBuilder::new()
            .layer(http_layer)
            .layer(key_layer)
            .layer(RetryLayer::new(retry));
        let mut param_map = ParamMapLayer::new(options).with_ids(ids);
        if let Some(price) = settings.price {
            param_map = param_map.with_price(price);
        }
        let chat = ServiceBuilder::new()
            .layer(SchemaValidationLayer::new())
            .layer(MediaFetchLayer::new(fetcher))
            .layer(param_map)
            .layer(caching)
            .layer(large_media)
            .layer(SseAdapterLayer::new().event_timeout(timeout))
            .layer(&http)
            .service(self.http_layers.layer(transport.clone()));
        let mut embed_map = EmbedMapLayer::new(options);
        if let Some(price) = settings.price {
            embed_map = embed_map.with_price(price);
        }
        if let Some(limit) = settings.fan_out {
            embed_map = embed_map.fan_out(limit);
        }
        if settings.google_cloud.is_some() {
            embed_map = embed_map.batch(crate::providers::vertex::predict::instances_per_call);
        }
        let embeddings = ServiceBuilder::new()
            .layer(embed_map)
            .layer(&http)
            .service(self.http_layers.layer(transport));
        Ok(Services {
            chat: self.layers.layer(chat),
            embeddings: self.layers.layer(embeddings),
        })
    }

    /// Assembles the stacks, boxed as the [`ChatService`] and [`EmbeddingService`] of a
    /// [`Gemini`] provider.
    pub fn build(self) -> Result<Gemini, BuildError>
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
        Ok(Gemini {
            service: ChatService::new(services.chat.map_err(openai_error)),
            embeddings: EmbeddingService::new(services.embeddings.map_err(openai_error)),
        })
    }
}

/// An OpenAI-level error from the stack or a user's layer over it.
fn openai_error(error: impl Into<BoxError>) -> Error {
    Error::from(error.into())
}

/// Tells apart the endpoints and keys sharing a cache store (a cache belongs to the project
/// of the key that created it): a hash, never the key itself. [`GeminiBuilder`] uses it
/// for its [`ContextCacheLayer`]; a hand-built stack passes it to
/// [`ContextCacheLayer::new`] to share a store with built ones.
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::gemini::{DEFAULT_API_BASE, cache_namespace};
///
/// let key = Secret::new("AIza…");
/// let namespace = cache_namespace(DEFAULT_API_BASE, Some(&key));
/// assert_eq!(namespace.len(), 64);
/// assert!(!namespace.contains("AIza"));
/// ```
pub fn cache_namespace(api_base: &str, key: Option<&Secret>) -> String {
    let key = key.map(Secret::expose).unwrap_or_default();
    cache::sha256_hex(&[api_base.as_bytes(), key.as_bytes()])
}
