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
//! LargeMediaLayer   Gemini   inline media past ~20 MB → Files API uploads, fileData parts
//! SseAdapterLayer   Gemini   text/event-stream body → typed events
//! GeminiHttpLayer   Gemini ⇄ HTTP     {api_base}/models/{model}:{method}, error bodies
//! ApiKeyLayer       HTTP     x-goog-api-key header (never the URL)
//! RetryLayer        HTTP     429/500/503 and connect failures, by the RetryPolicy
//! (your layers)     HTTP     tower's and tower-http's own: timeout, limits, tracing, …
//! HttpTransport     HTTP     shared connection pool (HTTP/1.1 and HTTP/2, rustls)
//! ```
//!
//! [`Gemini::builder`] assembles it, with layers of your own at the HTTP level
//! ([`GeminiBuilder::http_layer`]) and the OpenAI level ([`GeminiBuilder::layer`]); every
//! layer is public for users who assemble their own.

pub(crate) mod auth;
mod builder;
pub(crate) mod cache;
pub(crate) mod call;
pub(crate) mod embed;
pub(crate) mod error;
pub mod facts;
pub mod files;
pub(crate) mod http;
pub(crate) mod large_media;
pub(crate) mod map;
pub(crate) mod model;
pub mod pricing;
pub(crate) mod sse;
pub mod translate;
pub mod wire;

pub use auth::{API_KEY_HEADER, ApiKeyFuture, ApiKeyLayer, ApiKeyService, api_key_from_env};
pub use builder::{
    ChatStack, EmbeddingStack, GeminiBuilder, GeminiServices, HttpStack, cache_namespace,
};
pub use cache::{ContextCache, ContextCacheFuture, ContextCacheLayer, EVENT_TARGET};
pub use call::{CacheWrite, Call, EventStream, Method, Reply};
pub use embed::{EmbedMap, EmbedMapFuture, EmbedMapLayer};
pub use error::{Error, InvalidCall, MalformedReply, MissingApiKey};
pub use http::{DEFAULT_API_BASE, GeminiHttp, GeminiHttpFuture, GeminiHttpLayer};
pub use large_media::{
    DEFAULT_INLINE_LIMIT, DEFAULT_PROCESSING_WAIT, LargeMedia, LargeMediaFuture, LargeMediaLayer,
};
pub use map::{DROPPED_TOOLS_HEADER, ParamMap, ParamMapFuture, ParamMapLayer};
pub use model::{ModelInfo, SizeClass};
pub use sse::{GeminiEvents, SseAdapter, SseAdapterFuture, SseAdapterLayer};
pub use translate::CachePlan;

use std::time::Duration;

use crate::provider::{ChatService, EmbeddingService, Provider};

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

/// Why a [`GeminiBuilder`] could not build.
#[derive(Debug, thiserror::Error)]
pub enum BuildError {
    /// The HTTP client could not be created (TLS roots, proxy settings).
    #[error("cannot create the HTTP client: {0}")]
    Client(#[from] crate::upstream::BuildError),
    /// The image fetch policy is invalid (a malformed allowed host).
    #[error(transparent)]
    FetchPolicy(#[from] crate::layers::media::FetchError),
    /// The transport cannot be used as configured.
    #[error("{0}")]
    Transport(&'static str),
}
