//! [`VertexBuilder`]: the Gemini builder pointed at Vertex AI: a project, a location and
//! credentials instead of an API key; the user's layers and transport as in
//! [`GeminiBuilder`].

use std::sync::Arc;
use std::time::Duration;

use tower::BoxError;
use tower::layer::util::{Identity, Stack};
use tower_layer::Layer;
use tower_service::Service;

use super::auth::{BearerLayer, Credentials, CredentialsError, TokenSource};
use super::{DEFAULT_LOCATION, Vertex, api_base};
use crate::gemini::{ChatStack, EmbeddingStack, GeminiBuilder};
use crate::layers::media::MediaFetcher;
use crate::openai::{ChatRequest, EmbeddingRequest, EmbeddingResponse};
use crate::pricing::ModelPrice;
use crate::provider::ChatResponse;
use crate::store::CacheStore;
use crate::upstream::{HttpTransport, RetryPolicy};

/// Why a [`VertexBuilder`] could not build. No variant holds a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The Gemini stack under it could not be built.
    #[error(transparent)]
    Gemini(#[from] crate::gemini::BuildError),
    /// The credentials could not be read.
    #[error(transparent)]
    Credentials(#[from] CredentialsError),
    /// No project: none set, none in `VERTEXAI_PROJECT` or `GOOGLE_CLOUD_PROJECT`, none in
    /// the key file.
    #[error("no Vertex AI project: set vertex_project (or VERTEXAI_PROJECT)")]
    MissingProject,
    /// A project or location that cannot be part of a URL path.
    #[error("invalid Vertex AI {0}: use letters, digits, '-', '_' and '.'")]
    Invalid(&'static str),
}

/// Configures a [`Vertex`] provider; `H`, `T` and `O` as in [`GeminiBuilder`]. The
/// access tokens come in at the HTTP level, inside your
/// [`http_layer`](Self::http_layer)s (a timeout there bounds a token fetch too).
///
/// ```
/// use llm_tower::vertex::{Credentials, Vertex};
///
/// let key = r#"{"type": "authorized_user", "client_id": "id", "client_secret": "secret",
///               "refresh_token": "1//token"}"#;
/// let vertex = Vertex::builder()
///     .credentials(Credentials::from_json(key)?)
///     .project("my-project")
///     .location("global")
///     .build()?;
/// # let _ = vertex;
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub struct VertexBuilder<H = Identity, T = HttpTransport, O = Identity> {
    gemini: GeminiBuilder<H, T, O>,
    credentials: Option<Credentials>,
    tokens: Option<TokenSource>,
    project: Option<String>,
    location: Option<String>,
    host: Option<String>,
}

impl Default for VertexBuilder {
    fn default() -> Self {
        Self {
            gemini: GeminiBuilder::default(),
            credentials: None,
            tokens: None,
            project: None,
            location: None,
            host: None,
        }
    }
}

impl<H, T, O> std::fmt::Debug for VertexBuilder<H, T, O> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("VertexBuilder")
            .field("credentials", &self.credentials)
            .field("project", &self.project)
            .field("location", &self.location)
            .field("host", &self.host)
            .finish_non_exhaustive()
    }
}

impl<H, T, O> VertexBuilder<H, T, O> {
    /// The credentials (default: [`Credentials::from_env`]).
    pub fn credentials(mut self, credentials: Credentials) -> Self {
        self.credentials = Some(credentials);
        self
    }

    /// Shares a [`TokenSource`] (and its cached token) with other providers; overrides
    /// [`credentials`](Self::credentials).
    pub fn token_source(mut self, tokens: TokenSource) -> Self {
        self.tokens = Some(tokens);
        self
    }

    /// The Google Cloud project.
    pub fn project(mut self, project: impl Into<String>) -> Self {
        self.project = Some(project.into());
        self
    }

    /// A region (`us-central1`, `europe-west4`, …) or `global`.
    pub fn location(mut self, location: impl Into<String>) -> Self {
        self.location = Some(location.into());
        self
    }

    /// Another host (scheme, host, port) in place of Google's, as LiteLLM's `api_base`:
    /// the path `/v1/projects/{project}/locations/{location}/…` follows it.
    pub fn api_base(mut self, host: impl Into<String>) -> Self {
        self.host = Some(host.into());
        self
    }

    /// As [`GeminiBuilder::drop_params`].
    pub fn drop_params(self, drop: bool) -> Self {
        self.map(|gemini| gemini.drop_params(drop))
    }

    /// As [`GeminiBuilder::timeout`].
    pub fn timeout(self, timeout: Duration) -> Self {
        self.map(|gemini| gemini.timeout(timeout))
    }

    /// As [`GeminiBuilder::retry`].
    pub fn retry(self, policy: RetryPolicy) -> Self {
        self.map(|gemini| gemini.retry(policy))
    }

    /// As [`GeminiBuilder::fan_out`]: at most `limit` `:predict` calls of one embeddings
    /// request at a time.
    pub fn fan_out(self, limit: usize) -> Self {
        self.map(|gemini| gemini.fan_out(limit))
    }

    /// As [`GeminiBuilder::media_fetcher`].
    pub fn media_fetcher(self, fetcher: MediaFetcher) -> Self {
        self.map(|gemini| gemini.media_fetcher(fetcher))
    }

    /// As [`GeminiBuilder::cache_store`].
    pub fn cache_store(self, store: Arc<dyn CacheStore>) -> Self {
        self.map(|gemini| gemini.cache_store(store))
    }

    /// As [`GeminiBuilder::price`].
    pub fn price(self, price: ModelPrice) -> Self {
        self.map(|gemini| gemini.price(price))
    }

    /// As [`GeminiBuilder::ids`].
    pub fn ids(self, ids: Arc<dyn crate::gemini::translate::IdSource>) -> Self {
        self.map(|gemini| gemini.ids(ids))
    }

    /// As [`GeminiBuilder::transport`]; an [`HttpTransport`] also carries the token
    /// fetches (another transport type leaves them to a pool of their own).
    pub fn transport<T2>(self, transport: T2) -> VertexBuilder<H, T2, O> {
        self.swap(|gemini| gemini.transport(transport))
    }

    /// As [`GeminiBuilder::http_layer`].
    pub fn http_layer<L>(self, layer: L) -> VertexBuilder<Stack<L, H>, T, O> {
        self.swap(|gemini| gemini.http_layer(layer))
    }

    /// As [`GeminiBuilder::layer`].
    pub fn layer<L>(self, layer: L) -> VertexBuilder<H, T, Stack<L, O>> {
        self.swap(|gemini| gemini.layer(layer))
    }

    fn map(mut self, f: impl FnOnce(GeminiBuilder<H, T, O>) -> GeminiBuilder<H, T, O>) -> Self {
        self.gemini = f(self.gemini);
        self
    }

    fn swap<H2, T2, O2>(
        self,
        f: impl FnOnce(GeminiBuilder<H, T, O>) -> GeminiBuilder<H2, T2, O2>,
    ) -> VertexBuilder<H2, T2, O2> {
        VertexBuilder {
            gemini: f(self.gemini),
            credentials: self.credentials,
            tokens: self.tokens,
            project: self.project,
            location: self.location,
            host: self.host,
        }
    }

    /// Reads the credentials, checks the project and location, and assembles the stacks.
    pub fn build(self) -> Result<Vertex, BuildError>
    where
        T: Clone + 'static,
        H: Layer<T>,
        Stack<BearerLayer, H>: Layer<T>,
        O: Layer<ChatStack<<Stack<BearerLayer, H> as Layer<T>>::Service>>
            + Layer<EmbeddingStack<<Stack<BearerLayer, H> as Layer<T>>::Service>>,
        <O as Layer<ChatStack<<Stack<BearerLayer, H> as Layer<T>>::Service>>>::Service:
            Service<ChatRequest, Response = ChatResponse> + Clone + Send + Sync + 'static,
        <<O as Layer<ChatStack<<Stack<BearerLayer, H> as Layer<T>>::Service>>>::Service as Service<ChatRequest>>::Error:
            Into<BoxError>,
        <<O as Layer<ChatStack<<Stack<BearerLayer, H> as Layer<T>>::Service>>>::Service as Service<ChatRequest>>::Future:
            Send + 'static,
        <O as Layer<EmbeddingStack<<Stack<BearerLayer, H> as Layer<T>>::Service>>>::Service:
            Service<EmbeddingRequest, Response = EmbeddingResponse> + Clone + Send + Sync + 'static,
        <<O as Layer<EmbeddingStack<<Stack<BearerLayer, H> as Layer<T>>::Service>>>::Service as Service<EmbeddingRequest>>::Error:
            Into<BoxError>,
        <<O as Layer<EmbeddingStack<<Stack<BearerLayer, H> as Layer<T>>::Service>>>::Service as Service<EmbeddingRequest>>::Future:
            Send + 'static,
    {
        let gemini = self.gemini;
        let tokens = match self.tokens {
            Some(tokens) => tokens,
            None => {
                let credentials = match self.credentials {
                    Some(credentials) => credentials,
                    None => Credentials::from_env()?,
                };
                let client = match gemini.http_transport() {
                    Some(transport) => transport,
                    None => HttpTransport::builder()
                        .build()
                        .map_err(crate::gemini::BuildError::from)?,
                };
                TokenSource::new(credentials, client)
            }
        };
        let project = resolve_project(self.project, tokens.credentials())
            .ok_or(BuildError::MissingProject)?;
        let location = self.location.unwrap_or_else(default_location);
        check_segment(&project, "project")?;
        check_segment(&location, "location")?;
        let base = api_base(self.host.as_deref(), &project, &location);
        let gemini = gemini
            .google_cloud(format!("projects/{project}/locations/{location}/"))
            .api_base(base)
            .http_layer(BearerLayer::new(tokens))
            .build()?;
        Ok(Vertex {
            service: gemini.chat_service(),
            embeddings: gemini.embedding_service(),
        })
    }
}

/// The location used when none is given: `VERTEXAI_LOCATION`, else [`DEFAULT_LOCATION`].
///
/// ```
/// let location = llm_tower::vertex::default_location();
/// assert!(!location.is_empty());
/// ```
pub fn default_location() -> String {
    env("VERTEXAI_LOCATION").unwrap_or_else(|| DEFAULT_LOCATION.to_owned())
}

/// The project: `project` when set, else `VERTEXAI_PROJECT`, else `GOOGLE_CLOUD_PROJECT`,
/// else the key file's.
pub(crate) fn resolve_project(
    project: Option<String>,
    credentials: &Credentials,
) -> Option<String> {
    project
        .or_else(|| env("VERTEXAI_PROJECT"))
        .or_else(|| env("GOOGLE_CLOUD_PROJECT"))
        .or_else(|| credentials.project_id().map(str::to_owned))
}

/// A non-empty environment variable.
fn env(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|value| !value.is_empty())
}

/// A project or location that is one URL path segment of safe characters.
fn check_segment(value: &str, what: &'static str) -> Result<(), BuildError> {
    let safe = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    if value.is_empty() || value.len() > 128 || !value.chars().all(safe) {
        return Err(BuildError::Invalid(what));
    }
    Ok(())
}
