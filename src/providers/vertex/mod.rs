//! The Vertex AI provider: Gemini on Google Cloud.
//!
//! Vertex's request and reply bodies are Gemini's, so the provider is the Gemini stack
//! ([`GeminiBuilder`](crate::gemini::GeminiBuilder)'s layers and translation) with three
//! differences: the URLs ([`api_base`]), OAuth access tokens in `Authorization: Bearer`
//! instead of an API key ([`auth`]), and model paths under `publishers/google/`.
//!
//! ```text
//! https://{location}-aiplatform.googleapis.com/v1/projects/{project}/locations/{location}
//!     /publishers/google/models/{model}:generateContent
//!     /publishers/google/models/{model}:streamGenerateContent?alt=sse
//!     /publishers/google/models/{model}:countTokens
//!     /publishers/google/models/{model}:predict                 (embeddings)
//! https://aiplatform.googleapis.com/v1/projects/{project}/locations/global/…   (global)
//! ```
//!
//! Sources (Google's Vertex AI reference):
//! - <https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.publishers.models/generateContent>
//! - <https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.publishers.models/streamGenerateContent>
//! - <https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.publishers.models/countTokens>
//! - <https://cloud.google.com/vertex-ai/generative-ai/docs/learn/locations> (the `global`
//!   endpoint's host)
//! - <https://cloud.google.com/vertex-ai/docs/reference/rest/v1/projects.locations.cachedContents>
//!
//! Embeddings go to `publishers/google/models/{model}:predict` ([`predict`]). Context
//! caches live in `{base}/cachedContents` and name the model
//! `projects/{project}/locations/{location}/publishers/google/models/{model}` (the
//! [`ContextCacheLayer`](crate::gemini::ContextCacheLayer)'s
//! [`model_prefix`](crate::gemini::ContextCacheLayer::model_prefix)); a cache's own name,
//! `projects/{number}/locations/{location}/cachedContents/{id}`, is a path under the
//! host's `/v1`.

pub mod auth;
mod builder;
pub mod predict;

pub use auth::{Bearer, BearerLayer, Credentials, CredentialsError, TokenError, TokenSource};
#[cfg(feature = "proxy")]
pub(crate) use builder::resolve_project;
pub use builder::{BuildError, VertexBuilder, default_location};

use crate::provider::{ChatService, EmbeddingService, Provider};

/// The location used when none is set (LiteLLM's default too).
pub const DEFAULT_LOCATION: &str = "us-central1";

/// The base of a project's models: `{host}/v1/projects/{project}/locations/{location}`,
/// where the host is `https://{location}-aiplatform.googleapis.com`,
/// `https://aiplatform.googleapis.com` for `global`, or `host` when given (a LiteLLM
/// `api_base`).
///
/// ```
/// use llm_tower::vertex::api_base;
///
/// assert_eq!(
///     api_base(None, "my-project", "europe-west4"),
///     "https://europe-west4-aiplatform.googleapis.com/v1/projects/my-project/locations/europe-west4"
/// );
/// assert_eq!(
///     api_base(None, "my-project", "global"),
///     "https://aiplatform.googleapis.com/v1/projects/my-project/locations/global"
/// );
/// ```
pub fn api_base(host: Option<&str>, project: &str, location: &str) -> String {
    let host = endpoint(host, location);
    format!("{host}/v1/projects/{project}/locations/{location}")
}

/// The host a location's calls go to: `host` when given (a LiteLLM `api_base`), else
/// `https://{location}-aiplatform.googleapis.com` (`https://aiplatform.googleapis.com`
/// for `global`).
///
/// ```
/// use llm_tower::vertex::endpoint;
///
/// assert_eq!(endpoint(None, "europe-west4"), "https://europe-west4-aiplatform.googleapis.com");
/// assert_eq!(endpoint(None, "global"), "https://aiplatform.googleapis.com");
/// assert_eq!(endpoint(Some("http://localhost:8080/"), "global"), "http://localhost:8080");
/// ```
pub fn endpoint(host: Option<&str>, location: &str) -> String {
    match host {
        Some(host) => host.trim_end_matches('/').to_owned(),
        None if location == "global" => "https://aiplatform.googleapis.com".to_owned(),
        None => format!("https://{location}-aiplatform.googleapis.com"),
    }
}

/// The Vertex AI provider.
///
/// ```no_run
/// use llm_tower::vertex::{Credentials, Vertex};
///
/// let vertex = Vertex::builder()
///     .credentials(Credentials::from_file("service-account.json")?)
///     .project("my-project")
///     .location("europe-west4")
///     .build()?;
/// let client = llm_tower::Client::new(vertex.chat_service());
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Vertex {
    service: ChatService,
    embeddings: EmbeddingService,
}

impl Vertex {
    /// A builder with the defaults: application default credentials
    /// ([`Credentials::from_env`]), the project from `VERTEXAI_PROJECT` (else
    /// `GOOGLE_CLOUD_PROJECT`, else the key file's), the location from `VERTEXAI_LOCATION`
    /// (else [`DEFAULT_LOCATION`]).
    pub fn builder() -> VertexBuilder {
        VertexBuilder::default()
    }

    /// The whole stack as a boxed chat service.
    pub fn chat_service(&self) -> ChatService {
        self.service.clone()
    }

    /// The embeddings service (`:predict`, see [`predict`]).
    pub fn embedding_service(&self) -> EmbeddingService {
        self.embeddings.clone()
    }
}

impl Provider for Vertex {
    fn chat_service(&self) -> ChatService {
        self.service.clone()
    }

    fn embedding_service(&self) -> Option<EmbeddingService> {
        Some(self.embeddings.clone())
    }
}

impl std::fmt::Debug for Vertex {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vertex").finish_non_exhaustive()
    }
}
