//! The resolved entries of a config: [`ModelEntry`] and its [`LitellmParams`], and the
//! proxy-wide [`LitellmSettings`] and [`GeneralSettings`].

use std::fmt;
use std::num::NonZeroUsize;
use std::time::Duration;

use super::{CacheSettings, DeploymentRouting, Secret};

/// One `model_list` entry: a client-facing model name and the upstream
/// deployment that serves it.
///
/// ```rust
/// use llm_tower::proxy::config::Config;
///
/// let config = Config::default_gemini();
/// let entry = &config.model_list[0];
/// assert_eq!(entry.model_name, "gemini/*");
/// assert_eq!(entry.litellm_params.model, "gemini/*");
/// assert!(entry.model_info.is_none());
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ModelEntry {
    /// The name clients send in a request's `model`.
    pub model_name: String,
    /// How to reach the upstream model.
    pub litellm_params: LitellmParams,
    /// LiteLLM's free-form metadata (`id`, `mode`, costs, ...), kept as it
    /// is and not interpreted.
    pub model_info: Option<serde_json::Value>,
}

/// An entry's `litellm_params`: the upstream model and how to call it.
///
/// ```rust
/// use llm_tower::proxy::config::Config;
///
/// let yaml = "
/// model_list:
///   - model_name: flash
///     litellm_params:
///       model: gemini/gemini-2.5-flash
///       timeout: 30
///       reasoning_effort: low
/// ";
/// let (config, _) = Config::from_yaml(yaml, "config.yaml", &|_: &str| None)?;
/// let params = &config.model_list[0].litellm_params;
/// assert_eq!(params.provider(), "gemini");
/// assert_eq!(params.model_id(), "gemini-2.5-flash");
/// assert_eq!(params.timeout, Some(std::time::Duration::from_secs(30)));
/// assert_eq!(params.extra["reasoning_effort"], "low");
/// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
/// ```
#[derive(Clone, Default)]
#[non_exhaustive]
pub struct LitellmParams {
    /// `provider/model`, e.g. `gemini/gemini-2.5-flash`, or `gemini/*` for a
    /// wildcard entry. Always contains a `/` when parsed from a file; any
    /// provider parses, the proxy decides which it serves.
    pub model: String,
    /// The upstream API key; `None` when not given or when its
    /// `os.environ/` variable is unset.
    pub api_key: Option<Secret>,
    /// The variable `api_key` names (`os.environ/NAME`) when it is unset: the deployment is
    /// then served as unavailable, its requests answered with a 401 naming the variable.
    pub api_key_unset: Option<String>,
    /// The upstream base URL; `None` means the provider's default.
    pub api_base: Option<String>,
    /// `organization`: the `OpenAI-Organization` header of an `openai/` deployment (ignored,
    /// with a warning, elsewhere).
    pub organization: Option<String>,
    /// Timeout for one upstream request.
    pub timeout: Option<Duration>,
    /// Retries for this deployment, overriding
    /// [`LitellmSettings::num_retries`].
    pub max_retries: Option<u32>,
    /// Most upstream calls of this deployment in flight at once, overriding
    /// [`RouterSettings::default_max_parallel_requests`]; `0` and negative numbers are
    /// refused.
    ///
    /// [`RouterSettings::default_max_parallel_requests`]: super::RouterSettings::default_max_parallel_requests
    pub max_parallel_requests: Option<NonZeroUsize>,
    /// The router's params of this deployment (`rpm`, `tpm`, `weight`, `order`,
    /// `cooldown_time`, and `model_info.id`), taken out of the provider params.
    pub routing: DeploymentRouting,
    /// A `vertex_ai/…` deployment's Google Cloud settings.
    pub vertex: VertexParams,
    /// The other keys llm-tower knows, in file order, with `os.environ/` strings resolved
    /// and null values left out: provider params merged into each request
    /// (`safety_settings`, `thinking`, `drop_params`, `reasoning_effort`, `temperature`,
    /// `top_k`, ...), other keys of LiteLLM's router (`tags`, ...; never sent) and prices
    /// (`input_cost_per_token`, ...). Any other key is dropped with a warning: nothing
    /// unknown reaches an upstream.
    pub extra: serde_json::Map<String, serde_json::Value>,
}

/// Provider params may hold values read from the environment (credentials of other
/// providers), so `Debug` names them without their values.
impl fmt::Debug for LitellmParams {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LitellmParams")
            .field("model", &self.model)
            .field("api_key", &self.api_key)
            .field("api_key_unset", &self.api_key_unset)
            .field("organization", &self.organization)
            .field(
                "api_base",
                &self.api_base.as_deref().map(crate::upstream::redact_url),
            )
            .field("timeout", &self.timeout)
            .field("max_retries", &self.max_retries)
            .field("max_parallel_requests", &self.max_parallel_requests)
            .field("routing", &self.routing)
            .field("vertex", &self.vertex)
            .field("extra", &self.extra.keys().collect::<Vec<_>>())
            .finish()
    }
}

/// LiteLLM's Vertex AI keys of a deployment, `os.environ/` resolved; unset ones fall back
/// to `VERTEXAI_PROJECT`, `VERTEXAI_LOCATION` and `GOOGLE_APPLICATION_CREDENTIALS` when the
/// provider is built.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct VertexParams {
    /// `vertex_project`.
    pub project: Option<String>,
    /// `vertex_location`: a region or `global`.
    pub location: Option<String>,
    /// `vertex_credentials`: a key file's path or its JSON text (hidden in `Debug`).
    pub credentials: Option<Secret>,
}

impl LitellmParams {
    /// The provider prefix of [`model`](Self::model): `gemini` for
    /// `gemini/gemini-2.5-flash`; empty if the model has no `/`.
    ///
    /// ```rust
    /// use llm_tower::proxy::config::LitellmParams;
    ///
    /// let mut params = LitellmParams::default();
    /// params.model = "gemini/gemini-2.5-pro".into();
    /// assert_eq!(params.provider(), "gemini");
    /// ```
    pub fn provider(&self) -> &str {
        self.model
            .split_once('/')
            .map_or("", |(provider, _)| provider)
    }

    /// [`model`](Self::model) without its provider prefix:
    /// `gemini-2.5-flash` for `gemini/gemini-2.5-flash`, `*` for a wildcard
    /// entry; the whole model if it has no `/`.
    ///
    /// ```rust
    /// use llm_tower::proxy::config::LitellmParams;
    ///
    /// let mut params = LitellmParams::default();
    /// params.model = "gemini/*".into();
    /// assert_eq!(params.model_id(), "*");
    /// ```
    pub fn model_id(&self) -> &str {
        self.model.split_once('/').map_or(&self.model, |(_, id)| id)
    }
}

/// `litellm_settings`: proxy-wide defaults.
///
/// ```rust
/// use llm_tower::proxy::config::Config;
///
/// let yaml = "litellm_settings: {drop_params: true, num_retries: 3, request_timeout: 600}";
/// let (config, _) = Config::from_yaml(yaml, "config.yaml", &|_: &str| None)?;
/// let settings = &config.litellm_settings;
/// assert!(settings.drop_params);
/// assert_eq!(settings.num_retries, Some(3));
/// assert_eq!(settings.request_timeout, Some(std::time::Duration::from_secs(600)));
/// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct LitellmSettings {
    /// Drop request params the provider cannot take instead of rejecting the
    /// request.
    pub drop_params: bool,
    /// Default number of retries for a failed upstream request.
    pub num_retries: Option<u32>,
    /// Longest time from a request's arrival until its reply starts (the headers, or a
    /// stream's first event); then 504.
    pub request_timeout: Option<Duration>,
    /// Hosts the proxy may fetch user-supplied URLs (e.g. images) from.
    pub user_url_allowed_hosts: Vec<String>,
    /// The response cache (`cache: true` with its `cache_params`); `None`: off.
    pub cache: Option<CacheSettings>,
}

/// `general_settings`: server settings.
///
/// ```rust
/// use llm_tower::proxy::config::Config;
///
/// let yaml = "general_settings: {master_key: sk-1234}";
/// let (config, _) = Config::from_yaml(yaml, "config.yaml", &|_: &str| None)?;
/// let key = config.general_settings.master_key.as_ref().map(|k| k.expose());
/// assert_eq!(key, Some("sk-1234"));
/// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct GeneralSettings {
    /// The key clients must present (`Authorization: Bearer <key>`); `None`
    /// runs the proxy without authentication.
    pub master_key: Option<Secret>,
    /// Let clients send `api_key` / `api_base` in request bodies (LiteLLM's
    /// `allow_client_side_credentials`); off by default, because a client-chosen
    /// `api_base` makes the proxy call hosts the client picks.
    pub allow_client_side_credentials: bool,
    /// Where virtual keys, teams and spend are kept (`database_url`, LiteLLM's):
    /// `postgresql://…` (shared by replicas) or `sqlite://path`. With a master key and no
    /// URL, they are kept in the SQLite file [`database_path`](Self::database_path).
    pub database_url: Option<Secret>,
    /// The SQLite file of virtual keys when no `database_url` is set (`database_path`,
    /// llm-tower's own): default `llm-tower-keys.db` in the working directory, created by
    /// the first key or team made.
    pub database_path: Option<std::path::PathBuf>,
    /// The largest file `POST /v1/files` takes, in megabytes (`max_file_size_mb`,
    /// llm-tower's own): default 200, OpenAI's limit for a batch file; larger is a 413.
    pub max_file_size_mb: Option<u64>,
    /// The largest request body of the API routes, in MiB (`max_request_size_mb`,
    /// LiteLLM's): default 32 ([`DEFAULT_BODY_LIMIT`](crate::edge::DEFAULT_BODY_LIMIT));
    /// 1 to [`MAX_REQUEST_SIZE_MB`]; larger is a 413. Inline media past Gemini's 20 MB go
    /// through the Files API, so a request may carry more: raise it for larger media.
    pub max_request_size_mb: Option<u64>,
}

/// The largest [`max_request_size_mb`](GeneralSettings::max_request_size_mb) a config may
/// set: a bound on what one request holds in memory.
pub const MAX_REQUEST_SIZE_MB: u64 = 256;
