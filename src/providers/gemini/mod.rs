//! The Gemini provider (Google AI Studio, `generativelanguage.googleapis.com/v1beta`).
//!
//! The provider is a stack of tower layers around the pure translation core, outer to
//! inner:
//!
//! ```text
//! SchemaValidationLayer OpenAI   with enforce_validation, check the reply against the schema
//! MediaFetchLayer   OpenAI   download http(s) image URLs (SSRF-guarded), inline them
//! ParamMapLayer     OpenAI ⇄ Gemini   translate::{request, response, stream}
//!                   (embeddings: EmbedMapLayer, translate::embed, then the layers below)
//! ContextCacheLayer Gemini   the cache_control-marked head → cachedContents, reused
//! SseAdapterLayer   Gemini   text/event-stream body → typed events
//! GeminiHttpLayer   Gemini ⇄ HTTP     {api_base}/models/{model}:{method}, error bodies
//! ApiKeyLayer       HTTP     x-goog-api-key header (never the URL)
//! HttpTransport     HTTP     shared connection pool (HTTP/1.1 and HTTP/2, rustls)
//! ```
//!
//! [`Gemini::builder`] assembles it; every layer is public for users who assemble their
//! own.

pub mod auth;
pub mod cache;
pub mod call;
pub mod embed;
pub mod error;
pub mod http;
pub mod map;
pub mod model;
pub mod pricing;
pub mod sse;
pub mod translate;
pub mod wire;

use std::sync::Arc;
use std::time::Duration;

use tower::ServiceBuilder;

pub use auth::{API_KEY_HEADER, ApiKeyLayer, ApiKeyService, api_key_from_env};
pub use cache::{ContextCache, ContextCacheLayer};
pub use call::{CachePlan, CacheWrite, Call, Method, Reply};
pub use embed::{EmbedMap, EmbedMapLayer};
pub use error::{Error, MissingApiKey};
pub use http::{DEFAULT_API_BASE, GeminiHttp, GeminiHttpLayer};
pub use map::{ParamMap, ParamMapLayer};
pub use model::ModelInfo;
pub use sse::{SseAdapter, SseAdapterLayer};
use translate::{IdSource, RandomIds, TranslateOptions};

use crate::layers::media::{FetchPolicy, MediaFetchLayer, MediaFetcher};
use crate::layers::validate::SchemaValidationLayer;
use crate::pricing::ModelPrice;
use crate::provider::{ChatService, EmbeddingService, Provider};
use crate::store::{CacheStore, MemoryCacheStore};
use crate::upstream::{HttpTransport, Secret};

/// The default upstream silence limit: ten minutes, as LiteLLM's default `timeout`.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(600);

/// The Gemini provider.
///
/// ```no_run
/// use llm_tower::Secret;
/// use llm_tower::gemini::Gemini;
///
/// let gemini = Gemini::builder()
///     .api_key(Secret::new("AIza…"))
///     .drop_params(true)
///     .build()?;
/// let client = llm_tower::Client::new(gemini.chat_service());
/// # Ok::<(), llm_tower::gemini::BuildError>(())
/// ```
#[derive(Clone)]
pub struct Gemini {
    service: ChatService,
    embeddings: EmbeddingService,
}

impl Gemini {
    /// A builder with the defaults: key from `GEMINI_API_KEY`, base URL from
    /// `GEMINI_API_BASE` or Google's endpoint, unsupported params refused.
    pub fn builder() -> GeminiBuilder {
        GeminiBuilder::default()
    }

    /// The whole stack as a boxed chat service.
    pub fn chat_service(&self) -> ChatService {
        self.service.clone()
    }

    /// The embeddings stack (`batchEmbedContents`) as a boxed service; it shares the
    /// chat stack's key, endpoint and connection pool.
    pub fn embedding_service(&self) -> EmbeddingService {
        self.embeddings.clone()
    }
}

impl Provider for Gemini {
    fn chat_service(&self) -> ChatService {
        self.service.clone()
    }

    fn embedding_service(&self) -> Option<EmbeddingService> {
        Some(self.embeddings.clone())
    }
}

impl std::fmt::Debug for Gemini {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Gemini").finish_non_exhaustive()
    }
}

/// Configures a [`Gemini`] provider.
#[derive(Default)]
pub struct GeminiBuilder {
    api_key: Option<Secret>,
    api_base: Option<String>,
    drop_params: bool,
    client_credentials: bool,
    transport: Option<HttpTransport>,
    timeout: Option<Duration>,
    fetch_policy: FetchPolicy,
    fetcher: Option<MediaFetcher>,
    ids: Option<Arc<dyn IdSource>>,
    cache_store: Option<Arc<dyn CacheStore>>,
    price: Option<ModelPrice>,
}

impl GeminiBuilder {
    /// The key used when a request carries none (default: `GEMINI_API_KEY`).
    pub fn api_key(mut self, key: Secret) -> Self {
        self.api_key = Some(key);
        self
    }

    /// The base URL including the version (default: `GEMINI_API_BASE`, else
    /// [`DEFAULT_API_BASE`]); a LiteLLM `api_base` works unchanged.
    pub fn api_base(mut self, base: impl Into<String>) -> Self {
        self.api_base = Some(base.into());
        self
    }

    /// Drop unsupported params instead of answering 400.
    pub fn drop_params(mut self, drop: bool) -> Self {
        self.drop_params = drop;
        self
    }

    /// Accept `api_key` / `api_base` in requests (LiteLLM's client-side credentials). Off
    /// by default: behind an HTTP edge, clients would choose which host the server calls.
    /// Turn it on where the callers are trusted (the [`crate::Client`] façade in your own
    /// code).
    pub fn client_credentials(mut self, allow: bool) -> Self {
        self.client_credentials = allow;
        self
    }

    /// Shares an [`HttpTransport`] (and its connection pool) across providers.
    pub fn transport(mut self, transport: HttpTransport) -> Self {
        self.transport = Some(transport);
        self
    }

    /// The upstream silence limit (default [`DEFAULT_TIMEOUT`]): a call fails with 504
    /// when Gemini sends nothing for this long before the reply, pauses this long inside
    /// it (see [`HttpTransport::with_timeout`]), or sends no stream event for this long
    /// (keep-alive comments do not count). It applies to a shared
    /// [`transport`](Self::transport) too, without changing the other users of its pool.
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = Some(timeout);
        self
    }

    /// Where image URLs may be downloaded from, and how much.
    pub fn fetch_policy(mut self, policy: FetchPolicy) -> Self {
        self.fetch_policy = policy;
        self
    }

    /// Shares an image fetcher (and its clients) across providers; overrides
    /// [`fetch_policy`](Self::fetch_policy).
    pub fn media_fetcher(mut self, fetcher: MediaFetcher) -> Self {
        self.fetcher = Some(fetcher);
        self
    }

    /// Remembers context caches in `store` (default: an in-memory store of this provider's
    /// own); share one store across providers and processes to share their caches.
    pub fn cache_store(mut self, store: Arc<dyn CacheStore>) -> Self {
        self.cache_store = Some(store);
        self
    }

    /// Uses `ids` for reply ids and timestamps (tests and examples use
    /// [`translate::SequentialIds`]).
    pub fn ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = Some(ids);
        self
    }

    /// Prices every reply at `price` (default: the bundled table's price of the model
    /// asked for, see [`pricing`]; a model it does not know gets no cost).
    pub fn price(mut self, price: ModelPrice) -> Self {
        self.price = Some(price);
        self
    }

    /// Assembles the stack.
    pub fn build(self) -> Result<Gemini, BuildError> {
        let api_base = self
            .api_base
            .or_else(|| {
                std::env::var("GEMINI_API_BASE")
                    .ok()
                    .filter(|base| !base.is_empty())
            })
            .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
        let timeout = self.timeout.unwrap_or(DEFAULT_TIMEOUT);
        let transport = match self.transport {
            Some(transport) => transport,
            None => HttpTransport::builder().build()?,
        }
        .with_timeout(timeout);
        let fetcher = match self.fetcher {
            Some(fetcher) => fetcher,
            None => MediaFetcher::new(self.fetch_policy)?,
        };
        let ids = self.ids.unwrap_or_else(|| Arc::new(RandomIds));
        let options = TranslateOptions {
            drop_params: self.drop_params,
            client_credentials: self.client_credentials,
        };
        let api_key = self.api_key.or_else(api_key_from_env);
        let caching = ContextCacheLayer::new(
            self.cache_store
                .unwrap_or_else(|| Arc::new(MemoryCacheStore::default())),
            cache_namespace(&api_base, api_key.as_ref()),
        );
        let http = GeminiHttpLayer::new(api_base);
        let key = ApiKeyLayer::new(api_key);
        let mut param_map = ParamMapLayer::new(options).with_ids(ids);
        if let Some(price) = self.price {
            param_map = param_map.with_price(price);
        }
        let service = ServiceBuilder::new()
            .layer(SchemaValidationLayer::new())
            .layer(MediaFetchLayer::new(fetcher))
            .layer(param_map)
            .layer(caching)
            .layer(SseAdapterLayer::new().event_timeout(timeout))
            .layer(http.clone())
            .layer(key.clone())
            .service(transport.clone());
        let embeddings = ServiceBuilder::new()
            .layer(EmbedMapLayer::new(options))
            .layer(http)
            .layer(key)
            .service(transport);
        Ok(Gemini {
            service: ChatService::new(service),
            embeddings: EmbeddingService::new(embeddings),
        })
    }
}

/// Tells apart the endpoints and keys sharing a cache store (a cache belongs to the project
/// of the key that created it): a hash, never the key itself.
fn cache_namespace(api_base: &str, key: Option<&Secret>) -> String {
    let key = key.map(Secret::expose).unwrap_or_default();
    cache::sha256_hex(&[api_base.as_bytes(), key.as_bytes()])
}

/// Why a [`GeminiBuilder`] could not build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The HTTP client could not be created (TLS roots, proxy settings).
    #[error("cannot create the HTTP client: {0}")]
    Client(#[from] crate::upstream::BuildError),
    /// The image fetch policy is invalid (a malformed allowed host).
    #[error(transparent)]
    FetchPolicy(#[from] crate::layers::media::FetchError),
}
