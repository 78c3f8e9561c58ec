//! The proxy's configuration file, in LiteLLM's `config.yaml` shape.
//!
//! `llm-tower --config config.yaml` reads the file a LiteLLM proxy reads, so a
//! LiteLLM user can switch without rewriting it. This module turns that file
//! into a [`Config`]: which client-facing `model_name` goes to which upstream
//! `provider/model`, with what key, endpoint, timeout and provider params, plus
//! the few proxy-wide settings llm-tower implements. It only parses and
//! validates; routing, retries and authentication are the proxy's business.
//!
//! ```yaml
//! model_list:
//!   - model_name: gemini-flash              # what clients send as `model`
//!     litellm_params:
//!       model: gemini/gemini-2.5-flash      # provider/model
//!       api_key: os.environ/GEMINI_API_KEY
//!       thinking: {type: enabled, budget_tokens: 1024}   # a provider param
//! litellm_settings:
//!   drop_params: true
//! general_settings:
//!   master_key: os.environ/LITELLM_MASTER_KEY
//! ```
//!
//! # Understood keys
//!
//! | key | becomes |
//! |---|---|
//! | `model_list[].model_name` | [`ModelEntry::model_name`]; a name may repeat (load-balanced deployments) |
//! | `model_list[].litellm_params.model` | [`LitellmParams::model`], `provider/model`; `gemini/*` is a wildcard entry |
//! | `model_list[].litellm_params.api_key` | [`LitellmParams::api_key`] |
//! | `model_list[].litellm_params.api_base` | [`LitellmParams::api_base`] |
//! | `model_list[].litellm_params.timeout` | [`LitellmParams::timeout`], seconds |
//! | `model_list[].litellm_params.max_retries` | [`LitellmParams::max_retries`] |
//! | `model_list[].litellm_params.max_parallel_requests` | [`LitellmParams::max_parallel_requests`], a whole number from 1 |
//! | any other key of `litellm_params` | [`LitellmParams::extra`]: provider params merged into each request (`safety_settings`, `thinking`, `reasoning_effort`, `drop_params`, `temperature`, `top_k`, ...) |
//! | `model_list[].model_info` | [`ModelEntry::model_info`], kept as raw JSON |
//! | `litellm_settings.drop_params` | [`LitellmSettings::drop_params`] |
//! | `litellm_settings.num_retries` | [`LitellmSettings::num_retries`] |
//! | `litellm_settings.request_timeout` | [`LitellmSettings::request_timeout`], seconds |
//! | `litellm_settings.user_url_allowed_hosts` | [`LitellmSettings::user_url_allowed_hosts`] |
//! | `litellm_settings.cache`, `cache_params` | [`LitellmSettings::cache`] (see [`CacheSettings`]) |
//! | `general_settings.master_key` | [`GeneralSettings::master_key`] |
//! | `general_settings.allow_client_side_credentials` | [`GeneralSettings::allow_client_side_credentials`] |
//! | `router_settings.redis_url`, `redis_host`, `redis_port`, `redis_password` | [`RouterSettings::redis_url`]: the Redis replicas share context caches and stored responses through |
//! | `router_settings.default_max_parallel_requests` | [`RouterSettings::default_max_parallel_requests`] |
//! | `environment_variables` | [`Config::environment_variables`] |
//!
//! Timeouts are a number of seconds (integer or fractional) or a string
//! holding one (`"30"`); anything else is [`ConfigError::Invalid`]. A null
//! provider param (`temperature: ~`) means "not set" and is left out of
//! [`LitellmParams::extra`], as LiteLLM ignores `None` params.
//!
//! # Unknown keys
//!
//! Any other key at the top level, in `router_settings` (`routing_strategy`, ...), in
//! `litellm_settings` (`success_callback`, `set_verbose`, ...), in
//! `general_settings` (`database_url`, ...) or in a `model_list` entry is
//! ignored and reported as one warning naming its full path, e.g.
//! `litellm_settings.success_callback: unknown key, ignored`. So a LiteLLM
//! config with callbacks, caching or a database still loads. Keys inside
//! `litellm_params` are never unknown: they are provider params.
//!
//! # Providers llm-tower does not have
//!
//! A deployment of a provider other than those in [`SERVED_PROVIDERS`]
//! (`bedrock/…`, `anthropic/…`) is kept in the config and reported as one
//! warning naming its provider, e.g. `model_list[2].litellm_params.model:
//! provider "anthropic" is not available in llm-tower (it serves gemini/…, openai/…
//! and vertex_ai/…); the deployment of "claude" is skipped`. The proxy starts
//! without it and answers requests for it with a 404 saying why.
//!
//! # `os.environ/NAME` references
//!
//! A string value `os.environ/NAME` at the top level of `litellm_params`
//! (`api_key`, `api_base` and provider params, as in LiteLLM) or in
//! `general_settings.master_key` is replaced by the variable `NAME`, looked up
//! first in the file's `environment_variables` table and then in the
//! environment ([`std::env::var`] for [`Config::load`], the given lookup for
//! [`Config::from_yaml`]). The process environment is never modified.
//!
//! When `NAME` is set in neither:
//! - in `litellm_params`, the proxy still starts, like LiteLLM: a warning is
//!   reported and the value is treated as absent. A deployment whose `api_key`
//!   variable is unset is served as unavailable (its name in
//!   [`LitellmParams::api_key_unset`]): its requests answer 401 naming the
//!   variable, and `/health` lists it as unhealthy, while the other deployments
//!   serve. Without `api_base` a deployment uses the provider's default
//!   endpoint; a provider param is left out. [`Config::unset_keys`] lists the
//!   unset key variables (`llm-tower --check-config` reports them as errors).
//! - in `master_key`, loading fails with [`ConfigError::MissingEnv`]: a proxy
//!   meant to require a key must not start open because a variable was
//!   forgotten. An empty `master_key` is [`ConfigError::Invalid`] for the same
//!   reason; leave the key out to run without one.
//!
//! # Errors
//!
//! A YAML syntax error or a value of the wrong type is [`ConfigError::Parse`],
//! with the 1-based line and column and, when known, the key path:
//! `config.yaml:7:20: model_list[0].litellm_params.max_retries: invalid type: ...`.
//! An empty file, or one without `model_list`, is a valid config with no
//! models (the proxy warns about it).

mod cache;
mod params;
mod router;
mod routing;

pub use crate::upstream::secret::Secret;
pub use cache::{CacheBackend, CacheSettings, DEFAULT_LOCAL_TTL};
pub(crate) use params::is_provider_param;
pub use router::RouterSettings;
pub use routing::{DeploymentRouting, Routing};
use std::collections::BTreeMap;
use std::fmt;
use std::num::NonZeroUsize;
use std::path::Path;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;

/// The prefix of a string value that names an environment variable.
const ENV_PREFIX: &str = "os.environ/";

/// The providers llm-tower serves, by their LiteLLM prefix (`gemini/…`, `openai/…`).
pub const SERVED_PROVIDERS: &[&str] = &["gemini", "openai", "vertex_ai"];

/// Why llm-tower cannot serve `model` (`provider/model`), or `None` if it can. A config may
/// list deployments of other providers (`bedrock/…`, `anthropic/…`): the proxy starts
/// without them.
///
/// ```rust
/// use llm_tower::proxy::config::unserved;
///
/// assert_eq!(unserved("openai/gpt-4o-mini"), None);
/// assert_eq!(
///     unserved("anthropic/claude-sonnet-4-5").as_deref(),
///     Some("provider \"anthropic\" is not available in llm-tower (it serves gemini/…, openai/… and vertex_ai/…)")
/// );
/// ```
pub fn unserved(model: &str) -> Option<String> {
    let provider = model
        .split_once('/')
        .map_or(model, |(provider, _)| provider);
    if SERVED_PROVIDERS.contains(&provider) {
        return None;
    }
    let served: Vec<String> = SERVED_PROVIDERS
        .iter()
        .map(|served| format!("{served}/…"))
        .collect();
    let (last, others) = served.split_last()?;
    Some(format!(
        "provider {provider:?} is not available in llm-tower (it serves {} and {last})",
        others.join(", ")
    ))
}

/// The variable holding the Gemini API key in [`Config::default_gemini`].
const GEMINI_API_KEY_VAR: &str = "GEMINI_API_KEY";

/// A parsed and resolved proxy configuration.
///
/// ```rust
/// use llm_tower::proxy::config::Config;
///
/// let yaml = "
/// model_list:
///   - model_name: gemini-flash
///     litellm_params:
///       model: gemini/gemini-2.5-flash
///       api_key: os.environ/GEMINI_API_KEY
/// ";
/// let env = |name: &str| (name == "GEMINI_API_KEY").then(|| "k-123".to_string());
/// let (config, warnings) = Config::from_yaml(yaml, "config.yaml", &env)?;
/// assert!(warnings.is_empty());
/// let entry = &config.model_list[0];
/// assert_eq!(entry.model_name, "gemini-flash");
/// assert_eq!(entry.litellm_params.api_key.as_ref().map(|k| k.expose()), Some("k-123"));
/// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct Config {
    /// The deployments, in file order. Several entries may share a
    /// `model_name`: they are deployments of one model to balance across.
    pub model_list: Vec<ModelEntry>,
    /// Proxy-wide defaults (`litellm_settings`).
    pub litellm_settings: LitellmSettings,
    /// Server settings (`general_settings`).
    pub general_settings: GeneralSettings,
    /// The Redis shared by replicas (`router_settings`).
    pub router_settings: RouterSettings,
    /// The file's `environment_variables` table, consulted before the process
    /// environment when resolving `os.environ/NAME`. Values are kept as
    /// secrets since they often hold keys; numbers and booleans are kept as
    /// their text (`6379`, `true`).
    pub environment_variables: BTreeMap<String, Secret>,
}

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
}

/// Why a config could not be loaded.
///
/// ```rust
/// use llm_tower::proxy::config::{Config, ConfigError};
///
/// let yaml = "model_list:\n  - model_name: flash\n    litellm_params: {model: gemini-2.5-flash}\n";
/// let err = Config::from_yaml(yaml, "config.yaml", &|_: &str| None).unwrap_err();
/// assert!(matches!(&err, ConfigError::Invalid { field, .. }
///     if field == "model_list[0].litellm_params.model"));
/// ```
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The file could not be read.
    #[error("{path}: cannot read config: {source}")]
    Io {
        /// The file.
        path: String,
        /// The read error.
        source: std::io::Error,
    },
    /// A YAML syntax error, or a value of the wrong type.
    #[error("{path}{}: {message}", location(*.line, *.column))]
    Parse {
        /// The file, as given to [`Config::from_yaml`].
        path: String,
        /// 1-based line; 0 when the parser gave no position.
        line: usize,
        /// 1-based column; 0 when the parser gave no position.
        column: usize,
        /// What is wrong, starting with the key path when known, e.g.
        /// `model_list[0].model_name: invalid type: ...`.
        message: String,
    },
    /// An `os.environ/NAME` reference that must resolve did not.
    #[error("{field}: environment variable `{var}` is not set (referenced as os.environ/{var})")]
    MissingEnv {
        /// The setting, e.g. `general_settings.master_key`.
        field: String,
        /// The variable's name.
        var: String,
    },
    /// A value of the right type that llm-tower cannot use.
    #[error("{field}: {message}")]
    Invalid {
        /// The setting, e.g. `model_list[2].litellm_params.model`.
        field: String,
        /// What is wrong with it.
        message: String,
    },
}

/// `:line:column`, or nothing when the position is unknown.
fn location(line: usize, column: usize) -> String {
    if line == 0 {
        String::new()
    } else {
        format!(":{line}:{column}")
    }
}

impl Config {
    /// Parses a config from YAML text.
    ///
    /// `path_for_errors` names the file in [`ConfigError::Parse`]; `env`
    /// looks up variables for `os.environ/NAME` after the file's
    /// `environment_variables`. Returns the config and warnings: one per
    /// unknown key (named by its path) and one per unset variable in
    /// `litellm_params`.
    ///
    /// ```rust
    /// use llm_tower::proxy::config::Config;
    ///
    /// let yaml = "
    /// model_list:
    ///   - model_name: gemini-flash
    ///     litellm_params: {model: gemini/gemini-2.5-flash}
    /// router_settings: {cache_responses: true}
    /// ";
    /// let (config, warnings) = Config::from_yaml(yaml, "config.yaml", &|_: &str| None)?;
    /// assert_eq!(config.model_list.len(), 1);
    /// assert_eq!(warnings, ["router_settings.cache_responses: unknown key, ignored"]);
    /// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
    /// ```
    pub fn from_yaml(
        text: &str,
        path_for_errors: &str,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        // An empty document (or one of only comments) is null: no settings.
        // The key path of a bad value goes in front of the parser's message.
        let mut key_path = String::new();
        let raw: Option<RawConfig> = serde_saphyr::with_deserializer_from_str_with_options(
            text,
            yaml_options(),
            |deserializer| {
                serde_path_to_error::deserialize(deserializer).map_err(|error| {
                    key_path = error.path().to_string();
                    error.into_inner()
                })
            },
        )
        .map_err(|error| parse_error(path_for_errors, &key_path, &error))?;
        raw.unwrap_or_default().resolve(env)
    }

    /// Reads and parses the config file at `path`, resolving
    /// `os.environ/NAME` from the process environment.
    ///
    /// ```rust,no_run
    /// use llm_tower::proxy::config::Config;
    ///
    /// let (config, warnings) = Config::load("config.yaml".as_ref())?;
    /// for warning in &warnings {
    ///     eprintln!("config.yaml: {warning}");
    /// }
    /// println!("{} models", config.model_list.len());
    /// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
    /// ```
    pub fn load(path: &Path) -> Result<(Config, Vec<String>), ConfigError> {
        Self::load_with(path, &|name| std::env::var(name).ok())
    }

    /// [`load`](Self::load), resolving `os.environ/NAME` with `env` instead of the process
    /// environment.
    ///
    /// ```rust,no_run
    /// use llm_tower::proxy::config::Config;
    ///
    /// let env = |name: &str| std::env::var(name).ok();
    /// let (config, _warnings) = Config::load_with("config.yaml".as_ref(), &env)?;
    /// # let _ = config;
    /// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
    /// ```
    pub fn load_with(
        path: &Path,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let display = path.display().to_string();
        let io = |source| ConfigError::Io {
            path: display.clone(),
            source,
        };
        // A FIFO or a device would block startup or never end: only regular files.
        let metadata = std::fs::metadata(path).map_err(io)?;
        if !metadata.is_file() {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidInput,
                "not a regular file",
            )));
        }
        if metadata.len() > MAX_CONFIG_BYTES {
            return Err(io(std::io::Error::new(
                std::io::ErrorKind::InvalidData,
                format!("larger than {MAX_CONFIG_BYTES} bytes"),
            )));
        }
        let text = std::fs::read_to_string(path).map_err(io)?;
        Self::from_yaml(&text, &display, env)
    }

    /// The deployments served as unavailable because their `api_key` names an unset
    /// variable: `(field, variable)` pairs, e.g.
    /// `("model_list[1].litellm_params.api_key", "OPENAI_API_KEY")`. The proxy starts
    /// without them; `llm-tower --check-config` reports each as an error.
    ///
    /// ```rust
    /// use llm_tower::proxy::config::Config;
    ///
    /// let yaml = "
    /// model_list:
    ///   - {model_name: a, litellm_params: {model: gemini/gemini-2.5-flash, api_key: os.environ/SET}}
    ///   - {model_name: b, litellm_params: {model: openai/gpt-4o, api_key: os.environ/UNSET}}
    /// ";
    /// let env = |name: &str| (name == "SET").then(|| "key".to_owned());
    /// let (config, _) = Config::from_yaml(yaml, "config.yaml", &env)?;
    /// let unset: Vec<_> = config.unset_keys().collect();
    /// assert_eq!(unset, [("model_list[1].litellm_params.api_key".to_owned(), "UNSET")]);
    /// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
    /// ```
    pub fn unset_keys(&self) -> impl Iterator<Item = (String, &str)> {
        self.model_list
            .iter()
            .enumerate()
            .filter_map(|(index, entry)| {
                let var = entry.litellm_params.api_key_unset.as_deref()?;
                Some((format!("model_list[{index}].litellm_params.api_key"), var))
            })
    }

    /// The config used without `--config`: one wildcard entry, `gemini/*`
    /// served by `gemini/*`, with its key from `GEMINI_API_KEY` (`None` when
    /// unset, left for the proxy to resolve per request), and default
    /// settings (no master key).
    ///
    /// ```rust
    /// use llm_tower::proxy::config::Config;
    ///
    /// let config = Config::default_gemini();
    /// assert_eq!(config.model_list.len(), 1);
    /// assert_eq!(config.model_list[0].litellm_params.provider(), "gemini");
    /// assert!(config.general_settings.master_key.is_none());
    /// ```
    pub fn default_gemini() -> Config {
        Self::default_gemini_with(&|name| std::env::var(name).ok())
    }

    fn default_gemini_with(env: &dyn Fn(&str) -> Option<String>) -> Config {
        let wildcard = "gemini/*".to_string();
        Config {
            model_list: vec![ModelEntry {
                model_name: wildcard.clone(),
                litellm_params: LitellmParams {
                    model: wildcard,
                    api_key: env(GEMINI_API_KEY_VAR).map(Secret::new),
                    ..LitellmParams::default()
                },
                model_info: None,
            }],
            ..Config::default()
        }
    }
}

/// Deepest nesting a config file may have; LiteLLM's configs need five or six levels.
const MAX_YAML_DEPTH: usize = 32;

/// Largest config file read.
const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// The YAML parser's settings: serde-saphyr's budgets (nodes, aliases, scalar bytes) with
/// a small depth, so a hostile or broken file is refused in microseconds, and errors
/// without a source snippet (the position is reported separately).
fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    if let Some(budget) = options.budget.as_mut() {
        budget.max_depth = MAX_YAML_DEPTH;
    }
    options
}

/// Turns a YAML error at `key_path` into [`ConfigError::Parse`], moving its position from
/// the message into `line`/`column`.
fn parse_error(path: &str, key_path: &str, err: &serde_saphyr::Error) -> ConfigError {
    let (line, column) = err.location().map_or((0, 0), |location| {
        (
            usize::try_from(location.line()).unwrap_or(usize::MAX),
            usize::try_from(location.column()).unwrap_or(usize::MAX),
        )
    });
    let mut message = err.to_string();
    for prefix in ["error: ", &format!("line {line} column {column}: ")] {
        if let Some(rest) = message.strip_prefix(prefix) {
            message = rest.to_owned();
        }
    }
    if let Some(rest) = message.strip_suffix(&format!(" at line {line}, column {column}")) {
        message = rest.to_owned();
    }
    if !key_path.is_empty() && key_path != "." {
        message = format!("{key_path}: {message}");
    }
    ConfigError::Parse {
        path: path.to_string(),
        line,
        column,
        message,
    }
}

/// Unknown keys of one mapping; only their names are kept.
type UnknownKeys = BTreeMap<String, IgnoredAny>;

/// The file as written. Every section may be missing or null.
#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping with model_list, litellm_settings, general_settings")]
struct RawConfig {
    #[serde(default)]
    model_list: Option<Vec<RawModelEntry>>,
    #[serde(default)]
    litellm_settings: Option<RawLitellmSettings>,
    #[serde(default)]
    general_settings: Option<RawGeneralSettings>,
    #[serde(default)]
    router_settings: Option<router::RawRouterSettings>,
    #[serde(default)]
    environment_variables: Option<BTreeMap<String, serde_json::Value>>,
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Deserialize)]
#[serde(expecting = "a mapping with model_name and litellm_params")]
struct RawModelEntry {
    model_name: String,
    litellm_params: RawLitellmParams,
    #[serde(default)]
    model_info: Option<serde_json::Value>,
    /// LiteLLM also reads a deployment's limits beside its `litellm_params`.
    #[serde(default)]
    rpm: Option<serde_json::Value>,
    #[serde(default)]
    tpm: Option<serde_json::Value>,
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Deserialize)]
#[serde(expecting = "a mapping with model and provider params")]
struct RawLitellmParams {
    model: String,
    #[serde(default)]
    api_key: Option<String>,
    #[serde(default)]
    api_base: Option<String>,
    #[serde(default)]
    timeout: Option<serde_json::Value>,
    #[serde(default)]
    max_retries: Option<u32>,
    #[serde(default)]
    max_parallel_requests: Option<serde_json::Value>,
    #[serde(default)]
    organization: Option<String>,
    #[serde(default)]
    vertex_project: Option<String>,
    #[serde(default)]
    vertex_location: Option<String>,
    #[serde(default)]
    vertex_credentials: Option<String>,
    #[serde(flatten)]
    extra: serde_json::Map<String, serde_json::Value>,
}

#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping of LiteLLM settings")]
struct RawLitellmSettings {
    #[serde(default)]
    drop_params: Option<bool>,
    #[serde(default)]
    num_retries: Option<u32>,
    #[serde(default)]
    request_timeout: Option<serde_json::Value>,
    #[serde(default)]
    user_url_allowed_hosts: Option<Vec<String>>,
    #[serde(default)]
    cache: Option<bool>,
    #[serde(default)]
    cache_params: Option<cache::RawCacheParams>,
    #[serde(flatten)]
    routing: routing::RawRouting,
    #[serde(flatten)]
    unknown: UnknownKeys,
}

#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping of general settings")]
struct RawGeneralSettings {
    #[serde(default)]
    master_key: Option<String>,
    #[serde(default)]
    allow_client_side_credentials: bool,
    #[serde(flatten)]
    unknown: UnknownKeys,
}

/// The value of a string setting after `os.environ/` resolution.
enum Resolved {
    Value(String),
    /// It named a variable that is not set.
    Missing {
        var: String,
    },
}

/// Resolves `os.environ/NAME`: the file's table first, then the environment.
struct Resolver<'a> {
    table: &'a BTreeMap<String, Secret>,
    env: &'a dyn Fn(&str) -> Option<String>,
}

impl Resolver<'_> {
    fn resolve(&self, field: &str, value: String) -> Result<Resolved, ConfigError> {
        let Some(var) = value.strip_prefix(ENV_PREFIX) else {
            return Ok(Resolved::Value(value));
        };
        if var.is_empty() {
            return Err(ConfigError::Invalid {
                field: field.to_string(),
                message: format!("`{ENV_PREFIX}` must be followed by a variable name"),
            });
        }
        let found = match self.table.get(var) {
            Some(secret) => Some(secret.expose().to_string()),
            None => (self.env)(var),
        };
        Ok(match found {
            Some(value) => Resolved::Value(value),
            None => Resolved::Missing {
                var: var.to_string(),
            },
        })
    }

    /// Resolves a `litellm_params` value: an unset variable is a warning and
    /// leaves the setting out.
    fn resolve_param(
        &self,
        field: &str,
        value: String,
        warnings: &mut Vec<String>,
    ) -> Result<Option<String>, ConfigError> {
        Ok(match self.resolve(field, value)? {
            Resolved::Value(value) => Some(value),
            Resolved::Missing { var } => {
                warnings.push(format!(
                    "{field}: environment variable `{var}` is not set; the setting is left out"
                ));
                None
            }
        })
    }
}

/// Adds one warning per unknown key, prefixed with the mapping's path.
fn warn_unknown(prefix: &str, unknown: &UnknownKeys, warnings: &mut Vec<String>) {
    warnings.extend(
        unknown
            .keys()
            .map(|key| format!("{prefix}{key}: unknown key, ignored")),
    );
}

/// An upstream base URL: `http://` or `https://` with a host.
fn check_api_base(base: &str) -> Result<(), String> {
    let shown = crate::upstream::redact_url(base);
    let uri: http::Uri = base
        .parse()
        .map_err(|_| format!("{shown} is not a URL (expected e.g. https://host/v1beta)"))?;
    if !matches!(uri.scheme_str(), Some("http" | "https")) {
        return Err(format!("{shown}: expected an http:// or https:// URL"));
    }
    if uri.host().is_none_or(str::is_empty) {
        return Err(format!("{shown} has no host"));
    }
    Ok(())
}

/// A timeout in seconds: a positive number, or a string holding one.
fn seconds(field: &str, value: Option<serde_json::Value>) -> Result<Option<Duration>, ConfigError> {
    let secs = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_f64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<f64>().ok(),
        Some(_) => None,
    };
    secs.and_then(|secs| Duration::try_from_secs_f64(secs).ok())
        .filter(|duration| !duration.is_zero())
        .map(Some)
        .ok_or_else(|| ConfigError::Invalid {
            field: field.to_string(),
            message: "expected a positive number of seconds, e.g. 30 or 2.5".to_string(),
        })
}

/// A limit of calls in flight: a whole number from 1 (or a string holding one); null is
/// "not set".
fn call_limit(
    field: &str,
    value: Option<serde_json::Value>,
) -> Result<Option<NonZeroUsize>, ConfigError> {
    let limit = match value {
        None | Some(serde_json::Value::Null) => return Ok(None),
        Some(serde_json::Value::Number(n)) => n.as_u64(),
        Some(serde_json::Value::String(s)) => s.trim().parse::<u64>().ok(),
        Some(_) => None,
    };
    limit
        .filter(|limit| *limit <= MAX_CALL_LIMIT)
        .and_then(|limit| usize::try_from(limit).ok())
        .and_then(NonZeroUsize::new)
        .map(Some)
        .ok_or_else(|| ConfigError::Invalid {
            field: field.to_string(),
            message: format!(
                "expected a whole number of calls in flight, from 1 to {MAX_CALL_LIMIT}"
            ),
        })
}

/// The largest `max_parallel_requests` taken: far above any upstream's quota.
const MAX_CALL_LIMIT: u64 = 1_000_000;

impl RawConfig {
    fn resolve(
        self,
        env: &dyn Fn(&str) -> Option<String>,
    ) -> Result<(Config, Vec<String>), ConfigError> {
        let mut warnings = Vec::new();
        warn_unknown("", &self.unknown, &mut warnings);

        let environment_variables = environment_table(self.environment_variables)?;
        let resolver = Resolver {
            table: &environment_variables,
            env,
        };

        let mut raw_router = self.router_settings.unwrap_or_default();
        warn_unknown("router_settings.", &raw_router.unknown, &mut warnings);
        let mut litellm_settings = self.litellm_settings.unwrap_or_default();
        let mut routing = Routing::default();
        std::mem::take(&mut litellm_settings.routing).apply(
            routing::Section::Litellm,
            &mut routing,
            &mut warnings,
        )?;
        std::mem::take(&mut raw_router.routing).apply(
            routing::Section::Router,
            &mut routing,
            &mut warnings,
        )?;
        routing.num_retries = raw_router.num_retries.or(litellm_settings.num_retries);
        let mut router_settings = raw_router.resolve(&resolver, &mut warnings)?;

        warn_unknown(
            "litellm_settings.",
            &litellm_settings.unknown,
            &mut warnings,
        );
        let cache = cache::resolve(
            litellm_settings.cache,
            litellm_settings.cache_params,
            &resolver,
            &mut warnings,
        )?;
        let litellm_settings = LitellmSettings {
            cache,
            drop_params: litellm_settings.drop_params.unwrap_or(false),
            num_retries: litellm_settings.num_retries,
            request_timeout: seconds(
                "litellm_settings.request_timeout",
                litellm_settings.request_timeout,
            )?,
            user_url_allowed_hosts: litellm_settings.user_url_allowed_hosts.unwrap_or_default(),
        };

        let general_settings = self.general_settings.unwrap_or_default();
        warn_unknown(
            "general_settings.",
            &general_settings.unknown,
            &mut warnings,
        );
        let general_settings = GeneralSettings {
            master_key: master_key(&resolver, general_settings.master_key)?,
            allow_client_side_credentials: general_settings.allow_client_side_credentials,
        };

        let model_list = self
            .model_list
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(index, entry)| entry.resolve(index, &resolver, &mut warnings))
            .collect::<Result<Vec<_>, _>>()?;

        routing::check_names(&routing, &model_list)?;
        router_settings.routing = routing;
        let config = Config {
            model_list,
            litellm_settings,
            general_settings,
            router_settings,
            environment_variables,
        };
        Ok((config, warnings))
    }
}

/// `environment_variables` as text: strings, numbers and booleans.
fn environment_table(
    raw: Option<BTreeMap<String, serde_json::Value>>,
) -> Result<BTreeMap<String, Secret>, ConfigError> {
    raw.unwrap_or_default()
        .into_iter()
        .map(|(name, value)| {
            let text = match value {
                serde_json::Value::String(s) => s,
                serde_json::Value::Number(n) => n.to_string(),
                serde_json::Value::Bool(b) => b.to_string(),
                _ => {
                    return Err(ConfigError::Invalid {
                        field: format!("environment_variables.{name}"),
                        message: "expected a string, number or boolean".to_string(),
                    });
                }
            };
            Ok((name, Secret::new(text)))
        })
        .collect()
}

/// `general_settings.master_key`: an unset variable or an empty key is an
/// error, never a silently open proxy.
fn master_key(resolver: &Resolver<'_>, raw: Option<String>) -> Result<Option<Secret>, ConfigError> {
    const FIELD: &str = "general_settings.master_key";
    let Some(raw) = raw else {
        return Ok(None);
    };
    match resolver.resolve(FIELD, raw)? {
        Resolved::Missing { var } => Err(ConfigError::MissingEnv {
            field: FIELD.to_string(),
            var,
        }),
        Resolved::Value(key) if key.is_empty() => Err(ConfigError::Invalid {
            field: FIELD.to_string(),
            message: "empty master key; remove the setting to run without one".to_string(),
        }),
        Resolved::Value(key) => Ok(Some(Secret::new(key))),
    }
}

impl RawModelEntry {
    fn resolve(
        self,
        index: usize,
        resolver: &Resolver<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<ModelEntry, ConfigError> {
        let entry = format!("model_list[{index}]");
        warn_unknown(&format!("{entry}."), &self.unknown, warnings);
        let params = self.litellm_params;
        let field = |key: &str| format!("{entry}.litellm_params.{key}");

        let has_provider = params
            .model
            .split_once('/')
            .is_some_and(|(provider, id)| !provider.is_empty() && !id.is_empty());
        if !has_provider {
            return Err(ConfigError::Invalid {
                field: field("model"),
                message: "expected provider/model, e.g. gemini/gemini-2.5-flash".to_string(),
            });
        }
        if let Some(why) = unserved(&params.model) {
            // Nothing else of it is used: its key variables need not be set, nor its
            // settings valid for llm-tower.
            warnings.push(format!(
                "{}: {why}; the deployment of {:?} is skipped",
                field("model"),
                self.model_name
            ));
            return Ok(ModelEntry {
                model_name: self.model_name,
                litellm_params: LitellmParams {
                    model: params.model,
                    ..LitellmParams::default()
                },
                model_info: self.model_info,
            });
        }

        // As in LiteLLM, a key that names an unset variable does not stop the proxy: the
        // deployment is served as unavailable (401 naming the variable, unhealthy in
        // `/health`), and `--check-config` reports it as an error.
        let mut api_key_unset = None;
        let api_key = match params.api_key {
            Some(raw) => match resolver.resolve(&field("api_key"), raw)? {
                Resolved::Value(key) => Some(Secret::new(key)),
                Resolved::Missing { var } => {
                    warnings.push(format!(
                        "{}: environment variable `{var}` is not set; the deployment of {:?} \
                         is served as unavailable (its requests answer 401 naming `{var}`)",
                        field("api_key"),
                        self.model_name
                    ));
                    api_key_unset = Some(var);
                    None
                }
            },
            None => None,
        };
        let api_base = match params.api_base {
            Some(raw) => resolver.resolve_param(&field("api_base"), raw, warnings)?,
            None => None,
        };
        if let Some(base) = &api_base {
            check_api_base(base).map_err(|message| ConfigError::Invalid {
                field: field("api_base"),
                message,
            })?;
        }

        // `organization` is a header of OpenAI's, not a param of Gemini's.
        let organization = match params.organization {
            Some(raw) if params.model.starts_with("openai/") => {
                resolver.resolve_param(&field("organization"), raw, warnings)?
            }
            Some(_) => {
                warnings.push(format!(
                    "{}: OpenAI's organization header, used by openai/ deployments only; ignored",
                    field("organization")
                ));
                None
            }
            None => None,
        };
        let vertex = VertexParams {
            project: match params.vertex_project {
                Some(raw) => resolver.resolve_param(&field("vertex_project"), raw, warnings)?,
                None => None,
            },
            location: match params.vertex_location {
                Some(raw) => resolver.resolve_param(&field("vertex_location"), raw, warnings)?,
                None => None,
            },
            credentials: match params.vertex_credentials {
                Some(raw) => match resolver.resolve(&field("vertex_credentials"), raw)? {
                    Resolved::Value(value) => Some(Secret::new(value)),
                    Resolved::Missing { var } => {
                        return Err(ConfigError::MissingEnv {
                            field: field("vertex_credentials"),
                            var,
                        });
                    }
                },
                None => None,
            },
        };

        let mut extra = serde_json::Map::with_capacity(params.extra.len());
        let mut raw_extra = params.extra;
        for (key, value) in [("rpm", self.rpm), ("tpm", self.tpm)] {
            if let Some(value) = value {
                raw_extra.entry(key).or_insert(value);
            }
        }
        let routing = DeploymentRouting::take(&entry, &mut raw_extra, self.model_info.as_ref())?;
        for (key, value) in raw_extra {
            if !params::is_kept(&key) {
                warnings.push(format!(
                    "{}: not a param llm-tower knows; dropped, never sent upstream",
                    field(&key)
                ));
                continue;
            }
            let value = match value {
                serde_json::Value::Null => None,
                serde_json::Value::String(raw) => resolver
                    .resolve_param(&field(&key), raw, warnings)?
                    .map(serde_json::Value::String),
                other => Some(other),
            };
            if let Some(value) = value {
                extra.insert(key, value);
            }
        }

        Ok(ModelEntry {
            model_name: self.model_name,
            litellm_params: LitellmParams {
                model: params.model,
                api_key,
                api_key_unset,
                api_base,
                organization,
                timeout: seconds(&field("timeout"), params.timeout)?,
                max_retries: params.max_retries,
                max_parallel_requests: call_limit(
                    &field("max_parallel_requests"),
                    params.max_parallel_requests,
                )?,
                routing,
                vertex,
                extra,
            },
            model_info: self.model_info,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const BASIC: &str = include_str!("../../tests/fixtures/config/gemini_basic.yaml");
    const SAFETY_THINKING: &str =
        include_str!("../../tests/fixtures/config/gemini_safety_thinking.yaml");
    const LOAD_BALANCED: &str = include_str!("../../tests/fixtures/config/load_balanced.yaml");
    const WILDCARD: &str = include_str!("../../tests/fixtures/config/wildcard.yaml");
    const MASTER_KEY_ENV: &str = include_str!("../../tests/fixtures/config/master_key_env.yaml");
    const LITELLM_EXTRAS: &str = include_str!("../../tests/fixtures/config/litellm_extras.yaml");

    #[test]
    fn max_parallel_requests_is_a_whole_number_from_one_named_when_wrong() {
        let env = |_: &str| None;
        let yaml = |params: &str, router: &str| {
            format!(
                "model_list:\n  - model_name: flash\n    litellm_params: {{model: gemini/gemini-2.5-flash{params}}}\nrouter_settings: {{{router}}}\n"
            )
        };
        let (config, warnings) = Config::from_yaml(
            &yaml(
                ", max_parallel_requests: 8",
                "default_max_parallel_requests: '32'",
            ),
            "config.yaml",
            &env,
        )
        .expect("parses");
        assert!(warnings.is_empty(), "{warnings:?}");
        let params = &config.model_list[0].litellm_params;
        assert_eq!(params.max_parallel_requests.map(NonZeroUsize::get), Some(8));
        assert!(!params.extra.contains_key("max_parallel_requests"));
        assert_eq!(
            config
                .router_settings
                .default_max_parallel_requests
                .map(NonZeroUsize::get),
            Some(32)
        );
        for bad in ["0", "-1", "2.5", "many", "[2]", "2305843009213693952"] {
            let error = Config::from_yaml(
                &yaml(&format!(", max_parallel_requests: {bad}"), ""),
                "config.yaml",
                &env,
            )
            .expect_err(bad)
            .to_string();
            assert!(
                error.contains("model_list[0].litellm_params.max_parallel_requests")
                    && error.contains("from 1 to 1000000"),
                "{bad}: {error}"
            );
            let error = Config::from_yaml(
                &yaml("", &format!("default_max_parallel_requests: {bad}")),
                "config.yaml",
                &env,
            )
            .expect_err(bad)
            .to_string();
            assert!(
                error.contains("router_settings.default_max_parallel_requests"),
                "{bad}: {error}"
            );
        }
    }
    const BROKEN: &str = include_str!("../../tests/fixtures/config/broken.yaml");
    const BAD_TYPE: &str = include_str!("../../tests/fixtures/config/bad_type.yaml");

    /// An environment holding exactly `vars`.
    fn env_of(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let vars: Vec<(String, String)> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |name| vars.iter().find(|(k, _)| k == name).map(|(_, v)| v.clone())
    }

    fn parse(text: &str, vars: &[(&str, &str)]) -> Result<(Config, Vec<String>), ConfigError> {
        Config::from_yaml(text, "config.yaml", &env_of(vars))
    }

    fn parse_ok(text: &str, vars: &[(&str, &str)]) -> (Config, Vec<String>) {
        match parse(text, vars) {
            Ok(parsed) => parsed,
            Err(err) => panic!("config should parse: {err}"),
        }
    }

    fn key(secret: &Option<Secret>) -> Option<&str> {
        secret.as_ref().map(Secret::expose)
    }

    /// A one-entry config whose `litellm_params` has `params` besides `model`.
    fn with_params(params: &str) -> String {
        format!(
            "model_list:\n  - model_name: m\n    litellm_params:\n      model: gemini/gemini-2.5-flash\n{}",
            params
                .lines()
                .map(|line| format!("      {line}\n"))
                .collect::<String>()
        )
    }

    #[test]
    fn basic_gemini_example() {
        let (config, warnings) = parse_ok(BASIC, &[("GEMINI_API_KEY", "AIza-test")]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(config.model_list.len(), 1);
        let entry = &config.model_list[0];
        assert_eq!(entry.model_name, "gemini-pro");
        let params = &entry.litellm_params;
        assert_eq!(params.model, "gemini/gemini-1.5-pro");
        assert_eq!(params.provider(), "gemini");
        assert_eq!(params.model_id(), "gemini-1.5-pro");
        assert_eq!(key(&params.api_key), Some("AIza-test"));
        assert_eq!(params.api_base, None);
        assert_eq!(params.timeout, None);
        assert_eq!(params.max_retries, None);
        assert!(params.extra.is_empty());
        assert!(entry.model_info.is_none());
        assert!(!config.litellm_settings.drop_params);
        assert!(config.general_settings.master_key.is_none());
    }

    #[test]
    fn safety_settings_thinking_and_drop_params_are_provider_params_in_order() {
        let (config, warnings) = parse_ok(SAFETY_THINKING, &[("GEMINI_API_KEY", "k")]);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert!(config.litellm_settings.drop_params);

        let flash = &config.model_list[0].litellm_params;
        let keys: Vec<&str> = flash.extra.keys().map(String::as_str).collect();
        assert_eq!(keys, ["safety_settings", "thinking", "drop_params"]);
        let safety = flash.extra["safety_settings"]
            .as_array()
            .expect("safety_settings is a list");
        assert_eq!(safety.len(), 4);
        assert_eq!(
            safety[0],
            serde_json::json!({"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"})
        );
        assert_eq!(
            flash.extra["thinking"],
            serde_json::json!({"type": "enabled", "budget_tokens": 1024})
        );
        assert_eq!(flash.extra["drop_params"], serde_json::json!(true));

        let pro = &config.model_list[1].litellm_params;
        let keys: Vec<&str> = pro.extra.keys().map(String::as_str).collect();
        assert_eq!(keys, ["reasoning_effort", "temperature", "top_k"]);
        assert_eq!(pro.extra["reasoning_effort"], "low");
        assert_eq!(pro.extra["temperature"], serde_json::json!(0.2));
        assert_eq!(pro.extra["top_k"], serde_json::json!(40));
    }

    #[test]
    fn load_balanced_deployments_share_a_model_name() {
        let vars = [
            ("GEMINI_API_KEY_1", "key-one"),
            ("GEMINI_API_KEY_2", "key-two"),
        ];
        let (config, warnings) = parse_ok(LOAD_BALANCED, &vars);
        assert!(warnings.is_empty(), "{warnings:?}");
        let [first, second] = config.model_list.as_slice() else {
            panic!("expected two deployments, got {:?}", config.model_list);
        };
        assert_eq!(first.model_name, "gemini-flash");
        assert_eq!(second.model_name, "gemini-flash");

        assert_eq!(key(&first.litellm_params.api_key), Some("key-one"));
        assert_eq!(first.litellm_params.api_base, None);
        assert_eq!(first.litellm_params.timeout, Some(Duration::from_secs(30)));
        assert_eq!(first.litellm_params.max_retries, Some(2));

        assert_eq!(key(&second.litellm_params.api_key), Some("key-two"));
        assert_eq!(
            second.litellm_params.api_base.as_deref(),
            Some("http://127.0.0.1:8081")
        );
        assert_eq!(
            second.litellm_params.timeout,
            Some(Duration::from_millis(12_500))
        );
        assert_eq!(second.litellm_params.max_retries, Some(0));

        assert_eq!(config.litellm_settings.num_retries, Some(3));
        assert_eq!(
            config.litellm_settings.request_timeout,
            Some(Duration::from_secs(600))
        );
    }

    #[test]
    fn wildcard_entry() {
        let (config, warnings) = parse_ok(WILDCARD, &[("GEMINI_API_KEY", "k")]);
        assert!(warnings.is_empty(), "{warnings:?}");
        let params = &config.model_list[0].litellm_params;
        assert_eq!(config.model_list[0].model_name, "gemini/*");
        assert_eq!(params.model, "gemini/*");
        assert_eq!(params.provider(), "gemini");
        assert_eq!(params.model_id(), "*");
    }

    #[test]
    fn master_key_from_env_and_environment_variables_come_first() {
        let vars = [
            ("LITELLM_MASTER_KEY", "sk-from-env"),
            ("GEMINI_API_KEY", "from-process-env"),
        ];
        let (config, warnings) = parse_ok(MASTER_KEY_ENV, &vars);
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            key(&config.general_settings.master_key),
            Some("sk-from-env")
        );
        // The file's environment_variables win over the process environment.
        assert_eq!(
            key(&config.model_list[0].litellm_params.api_key),
            Some("from-config-file")
        );
        assert_eq!(
            config
                .environment_variables
                .get("GEMINI_API_KEY")
                .map(Secret::expose),
            Some("from-config-file")
        );
    }

    #[test]
    fn missing_master_key_variable_is_an_error() {
        let err = parse(MASTER_KEY_ENV, &[]).expect_err("unset master key variable");
        match &err {
            ConfigError::MissingEnv { field, var } => {
                assert_eq!(field, "general_settings.master_key");
                assert_eq!(var, "LITELLM_MASTER_KEY");
            }
            other => panic!("expected MissingEnv, got {other:?}"),
        }
        assert_eq!(
            err.to_string(),
            "general_settings.master_key: environment variable `LITELLM_MASTER_KEY` is not set \
             (referenced as os.environ/LITELLM_MASTER_KEY)"
        );
    }

    #[test]
    fn empty_master_key_is_invalid() {
        let err = parse("general_settings:\n  master_key: \"\"\n", &[]).expect_err("empty key");
        assert!(
            matches!(&err, ConfigError::Invalid { field, .. } if field == "general_settings.master_key"),
            "{err:?}"
        );
    }

    #[test]
    fn litellm_only_settings_load_with_one_warning_per_unknown_key() {
        let (config, warnings) = parse_ok(LITELLM_EXTRAS, &[("GEMINI_API_KEY", "k")]);
        assert_eq!(
            warnings,
            [
                "litellm_settings.callbacks: unknown key, ignored",
                "litellm_settings.set_verbose: unknown key, ignored",
                "litellm_settings.success_callback: unknown key, ignored",
                "general_settings.database_url: unknown key, ignored",
            ]
        );
        assert_eq!(
            config.model_list[0].litellm_params.routing.tpm,
            Some(100_000)
        );
        assert!(config.litellm_settings.drop_params);
        assert_eq!(
            config.litellm_settings.user_url_allowed_hosts,
            ["localhost", "127.0.0.1", "images.example.com"]
        );
        assert_eq!(key(&config.general_settings.master_key), Some("sk-1234"));
        assert_eq!(
            config.model_list[0].model_info,
            Some(serde_json::json!({"id": "flash-1", "mode": "chat"}))
        );
    }

    #[test]
    fn syntax_error_reports_line_and_column() {
        let err =
            Config::from_yaml(BROKEN, "broken.yaml", &|_: &str| None).expect_err("broken YAML");
        let ConfigError::Parse {
            path, line, column, ..
        } = &err
        else {
            panic!("expected Parse, got {err:?}");
        };
        assert_eq!(path, "broken.yaml");
        assert_eq!((*line, *column), (8, 6), "{err}");
        assert!(err.to_string().starts_with("broken.yaml:8:6: "), "{err}");
    }

    #[test]
    fn type_error_reports_line_column_and_key_path() {
        let err = parse(BAD_TYPE, &[]).expect_err("bad type");
        let ConfigError::Parse {
            line,
            column,
            message,
            ..
        } = &err
        else {
            panic!("expected Parse, got {err:?}");
        };
        assert_eq!((*line, *column), (7, 20), "{err}");
        assert!(
            message.starts_with("model_list[0].litellm_params.max_retries: invalid"),
            "{message}"
        );
        assert!(!message.contains(" at line "), "{message}");
        assert!(
            err.to_string()
                .starts_with("config.yaml:7:20: model_list[0].litellm_params.max_retries: "),
            "{err}"
        );
    }

    #[test]
    fn wrong_shapes_are_parse_errors_naming_the_key() {
        let cases = [
            ("model_list: {a: 1}\n", 1, "model_list: "),
            (
                "model_list:\n  - model_name: [a, b]\n    litellm_params: {model: gemini/x}\n",
                2,
                "model_list[0].model_name: ",
            ),
            (
                "model_list:\n  - model_name: m\n",
                2,
                "model_list[0]: missing field `litellm_params`",
            ),
            (
                "model_list:\n  - model_name: m\n    litellm_params: {api_key: k}\n",
                3,
                "model_list[0].litellm_params: missing field `model`",
            ),
            (
                "litellm_settings:\n  drop_params: sometimes\n",
                2,
                "litellm_settings.drop_params: ",
            ),
            (
                "litellm_settings:\n  num_retries: -1\n",
                2,
                "litellm_settings.num_retries: ",
            ),
        ];
        for (yaml, want_line, want_prefix) in cases {
            match parse(yaml, &[]) {
                Err(ConfigError::Parse { line, message, .. }) => {
                    assert_eq!(line, want_line, "{yaml}: {message}");
                    assert!(message.starts_with(want_prefix), "{yaml}: {message}");
                }
                other => panic!("{yaml}: expected Parse, got {other:?}"),
            }
        }
    }

    #[test]
    fn model_without_provider_is_invalid_naming_the_entry() {
        let yaml = "model_list:
  - {model_name: a, litellm_params: {model: gemini/gemini-2.5-flash}}
  - {model_name: b, litellm_params: {model: gemini/gemini-2.5-pro}}
  - {model_name: c, litellm_params: {model: gemini-2.5-flash}}
";
        let err = parse(yaml, &[]).expect_err("model without provider");
        assert_eq!(
            err.to_string(),
            "model_list[2].litellm_params.model: expected provider/model, e.g. gemini/gemini-2.5-flash"
        );
        for bad in ["/gemini-2.5-flash", "gemini/"] {
            let yaml = with_params("").replace("gemini/gemini-2.5-flash", bad);
            assert!(
                matches!(parse(&yaml, &[]), Err(ConfigError::Invalid { .. })),
                "{bad}"
            );
        }
    }

    #[test]
    fn other_providers_parse() {
        let yaml = with_params("").replace("gemini/gemini-2.5-flash", "openai/gpt-4o");
        let (config, warnings) = parse_ok(&yaml, &[]);
        assert_eq!(config.model_list[0].litellm_params.provider(), "openai");
        assert!(warnings.is_empty(), "{warnings:?}");
    }

    #[test]
    fn providers_llm_tower_does_not_have_are_kept_with_one_warning_each() {
        let yaml = "model_list:
  - {model_name: flash, litellm_params: {model: gemini/gemini-2.5-flash}}
  - {model_name: claude, litellm_params: {model: anthropic/claude-sonnet-4-5, api_key: os.environ/ANTHROPIC_API_KEY, max_tokens: 4096}}
  - {model_name: titan, litellm_params: {model: bedrock/amazon.titan-text-express-v1}}
";
        let (config, warnings) = parse_ok(yaml, &[]);
        assert_eq!(config.model_list.len(), 3);
        assert_eq!(
            warnings,
            [
                "model_list[1].litellm_params.model: provider \"anthropic\" is not available in llm-tower (it serves gemini/…, openai/… and vertex_ai/…); the deployment of \"claude\" is skipped",
                "model_list[2].litellm_params.model: provider \"bedrock\" is not available in llm-tower (it serves gemini/…, openai/… and vertex_ai/…); the deployment of \"titan\" is skipped",
            ]
        );
    }

    #[test]
    fn env_refs_resolve_in_api_base_and_provider_params() {
        let yaml = with_params(
            "api_base: os.environ/GEMINI_BASE\nuser: os.environ/LABEL\nservice_tier: os.environ\nresponse_format: {x: os.environ/LABEL}",
        );
        let vars = [
            ("GEMINI_BASE", "http://localhost:9000"),
            ("LABEL", "team-a"),
        ];
        let (config, warnings) = parse_ok(&yaml, &vars);
        assert!(warnings.is_empty(), "{warnings:?}");
        let params = &config.model_list[0].litellm_params;
        assert_eq!(params.api_base.as_deref(), Some("http://localhost:9000"));
        assert_eq!(params.extra["user"], "team-a");
        assert_eq!(params.extra["service_tier"], "os.environ");
        // Like LiteLLM, only top-level values are references.
        assert_eq!(
            params.extra["response_format"],
            serde_json::json!({"x": "os.environ/LABEL"})
        );
    }

    #[test]
    fn unknown_params_are_dropped_with_a_warning_and_organization_is_typed() {
        let yaml = "model_list:
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o
      organization: os.environ/ORG
      tags: [free]
      rpm: 10
      temperature: 0.1
      api_version: '2024-10-01'
      extra_headers: {x-a: b}
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.5-flash, organization: org-1}
";
        let (config, warnings) = parse_ok(yaml, &[("ORG", "org-42")]);
        let gpt = &config.model_list[0].litellm_params;
        assert_eq!(gpt.organization.as_deref(), Some("org-42"));
        let kept: Vec<&str> = gpt.extra.keys().map(String::as_str).collect();
        assert_eq!(kept, ["tags", "temperature"]);
        assert_eq!(gpt.routing.rpm, Some(10));
        assert_eq!(config.model_list[1].litellm_params.organization, None);
        assert_eq!(
            warnings,
            [
                "model_list[0].litellm_params.api_version: not a param llm-tower knows; dropped, never sent upstream",
                "model_list[0].litellm_params.extra_headers: not a param llm-tower knows; dropped, never sent upstream",
                "model_list[1].litellm_params.organization: OpenAI's organization header, used by openai/ deployments only; ignored",
            ]
        );
    }

    #[test]
    fn only_regular_files_are_loaded() {
        for path in ["/dev/null", env!("CARGO_MANIFEST_DIR")] {
            let error = Config::load(path.as_ref()).expect_err(path);
            assert!(error.to_string().contains("not a regular file"), "{error}");
        }
    }

    #[test]
    fn an_unset_api_key_variable_leaves_the_deployment_unavailable() {
        let yaml = with_params("api_key: os.environ/NOPE_KEY");
        let (config, warnings) = parse_ok(&yaml, &[]);
        let params = &config.model_list[0].litellm_params;
        assert!(params.api_key.is_none());
        assert_eq!(params.api_key_unset.as_deref(), Some("NOPE_KEY"));
        assert_eq!(
            warnings,
            [
                "model_list[0].litellm_params.api_key: environment variable `NOPE_KEY` is not set; \
                 the deployment of \"m\" is served as unavailable (its requests answer 401 naming `NOPE_KEY`)"
            ]
        );
        assert_eq!(
            config.unset_keys().collect::<Vec<_>>(),
            [(
                "model_list[0].litellm_params.api_key".to_owned(),
                "NOPE_KEY"
            )]
        );
        let (config, _) = parse_ok(&yaml, &[("NOPE_KEY", "k")]);
        assert_eq!(config.unset_keys().count(), 0);
    }

    #[test]
    fn unusable_timeouts_and_api_bases_are_refused() {
        for params in [
            "timeout: 0",
            "timeout: -1",
            "timeout: soon",
            "api_base: not a url",
            "api_base: ftp://example.com/v1beta",
            "api_base: /v1beta",
        ] {
            let error = parse(&with_params(params), &[]).expect_err(params);
            let key = params.split(':').next().unwrap();
            assert!(
                matches!(&error, ConfigError::Invalid { field, .. } if field.ends_with(key)),
                "{params}: {error}"
            );
        }
    }

    #[test]
    fn deep_yaml_is_refused_quickly_with_its_position() {
        let yaml = format!("model_list: {}{}", "[".repeat(50_000), "]".repeat(50_000));
        let started = std::time::Instant::now();
        let error = parse(&yaml, &[]).expect_err("deep");
        assert!(started.elapsed() < std::time::Duration::from_secs(1));
        let ConfigError::Parse { line, column, .. } = error else {
            panic!("{error}");
        };
        assert_eq!(line, 1);
        assert!(column > 0);
    }

    #[test]
    fn unset_param_variables_warn_and_leave_the_setting_out() {
        let yaml = with_params("api_base: os.environ/NOPE_BASE\nuser: os.environ/NOPE_LABEL");
        let (config, warnings) = parse_ok(&yaml, &[]);
        let params = &config.model_list[0].litellm_params;
        assert!(params.api_base.is_none());
        assert!(!params.extra.contains_key("user"));
        assert_eq!(
            warnings,
            [
                "model_list[0].litellm_params.api_base: environment variable `NOPE_BASE` is not set; the setting is left out",
                "model_list[0].litellm_params.user: environment variable `NOPE_LABEL` is not set; the setting is left out",
            ]
        );
    }

    #[test]
    fn literal_api_key_and_empty_variable_name() {
        let (config, _) = parse_ok(&with_params("api_key: AIza-literal"), &[]);
        assert_eq!(
            key(&config.model_list[0].litellm_params.api_key),
            Some("AIza-literal")
        );
        let err = parse(&with_params("api_key: os.environ/"), &[]).expect_err("no var name");
        assert!(
            matches!(&err, ConfigError::Invalid { field, .. }
                if field == "model_list[0].litellm_params.api_key"),
            "{err:?}"
        );
    }

    #[test]
    fn environment_variables_accept_scalars_only() {
        let yaml = "environment_variables:\n  REDIS_PORT: 6379\n  FLAG: true\n  NAME: x\n";
        let (config, _) = parse_ok(yaml, &[]);
        let text = |name: &str| config.environment_variables.get(name).map(Secret::expose);
        assert_eq!(text("REDIS_PORT"), Some("6379"));
        assert_eq!(text("FLAG"), Some("true"));
        assert_eq!(text("NAME"), Some("x"));

        let err = parse("environment_variables:\n  LIST: [1, 2]\n", &[]).expect_err("a list");
        assert!(
            matches!(&err, ConfigError::Invalid { field, .. } if field == "environment_variables.LIST"),
            "{err:?}"
        );
    }

    #[test]
    fn null_provider_params_are_left_out() {
        let (config, _) = parse_ok(&with_params("temperature: ~\ntop_p: 0.9"), &[]);
        let keys: Vec<&String> = config.model_list[0].litellm_params.extra.keys().collect();
        assert_eq!(keys, ["top_p"]);
    }

    #[test]
    fn secrets_are_redacted_in_debug_and_display() {
        let secret = Secret::new("AIza-very-secret");
        assert_eq!(format!("{secret:?}"), "[REDACTED]");
        assert_eq!(secret.to_string(), "[REDACTED]");
        assert_eq!(secret.expose(), "AIza-very-secret");

        let (config, _) = parse_ok(MASTER_KEY_ENV, &[("LITELLM_MASTER_KEY", "sk-hidden")]);
        let debug = format!("{config:?}");
        assert!(!debug.contains("sk-hidden"), "{debug}");
        assert!(!debug.contains("from-config-file"), "{debug}");
        assert!(debug.contains("[REDACTED]"), "{debug}");
    }

    #[test]
    fn timeouts_accept_numbers_and_numeric_strings() {
        let cases = [
            ("30", Duration::from_secs(30)),
            ("2.5", Duration::from_millis(2_500)),
            ("\"45\"", Duration::from_secs(45)),
            ("'0.25'", Duration::from_millis(250)),
        ];
        for (value, want) in cases {
            let (config, _) = parse_ok(&with_params(&format!("timeout: {value}")), &[]);
            assert_eq!(
                config.model_list[0].litellm_params.timeout,
                Some(want),
                "{value}"
            );
            let yaml = format!("litellm_settings:\n  request_timeout: {value}\n");
            let (config, _) = parse_ok(&yaml, &[]);
            assert_eq!(
                config.litellm_settings.request_timeout,
                Some(want),
                "{value}"
            );
        }
        let (config, _) = parse_ok(&with_params("timeout: null"), &[]);
        assert_eq!(config.model_list[0].litellm_params.timeout, None);
    }

    #[test]
    fn bad_timeouts_are_invalid_naming_the_field() {
        for value in ["soon", "-1", "0", "[30]", "{s: 30}", "true"] {
            let err = parse(&with_params(&format!("timeout: {value}")), &[]).expect_err(value);
            assert!(
                matches!(&err, ConfigError::Invalid { field, .. }
                    if field == "model_list[0].litellm_params.timeout"),
                "{value}: {err:?}"
            );
            let yaml = format!("litellm_settings:\n  request_timeout: {value}\n");
            let err = parse(&yaml, &[]).expect_err(value);
            assert!(
                matches!(&err, ConfigError::Invalid { field, .. }
                    if field == "litellm_settings.request_timeout"),
                "{value}: {err:?}"
            );
        }
        // Non-finite numbers are refused by the parser itself, still naming the key.
        for value in [".nan", ".inf"] {
            let err = parse(&with_params(&format!("timeout: {value}")), &[]).expect_err(value);
            assert!(
                matches!(&err, ConfigError::Parse { message, .. }
                    if message.starts_with("model_list[0].litellm_params.timeout: ")),
                "{value}: {err:?}"
            );
        }
    }

    #[test]
    fn empty_file_or_no_model_list_is_an_empty_config() {
        for yaml in [
            "",
            "# only a comment\n",
            "model_list:\n",
            "model_list: []\n",
            "litellm_settings:\n",
        ] {
            let (config, warnings) = parse_ok(yaml, &[]);
            assert!(config.model_list.is_empty(), "{yaml:?}");
            assert!(warnings.is_empty(), "{yaml:?}: {warnings:?}");
        }
        let (config, _) = parse_ok("litellm_settings: {drop_params: true}\n", &[]);
        assert!(config.model_list.is_empty());
        assert!(config.litellm_settings.drop_params);
    }

    #[test]
    fn top_level_must_be_a_mapping() {
        let err = parse("- a\n- b\n", &[]).expect_err("a list");
        assert!(matches!(err, ConfigError::Parse { line: 1, .. }), "{err:?}");
    }

    #[test]
    fn default_gemini_is_one_wildcard_entry() {
        let config = Config::default_gemini_with(&env_of(&[("GEMINI_API_KEY", "AIza-env")]));
        assert_eq!(config.model_list.len(), 1);
        let entry = &config.model_list[0];
        assert_eq!(entry.model_name, "gemini/*");
        assert_eq!(entry.litellm_params.model, "gemini/*");
        assert_eq!(key(&entry.litellm_params.api_key), Some("AIza-env"));
        assert!(config.general_settings.master_key.is_none());

        let config = Config::default_gemini_with(&env_of(&[]));
        assert!(config.model_list[0].litellm_params.api_key.is_none());
    }

    #[test]
    fn load_reads_files_and_reports_io_errors() {
        let file =
            std::env::temp_dir().join(format!("llm-tower-config-{}.yaml", std::process::id()));
        std::fs::write(&file, with_params("api_key: AIza-literal")).expect("write temp config");
        let loaded = Config::load(&file);
        std::fs::remove_file(&file).expect("remove temp config");
        let (config, warnings) = loaded.expect("config loads");
        assert!(warnings.is_empty(), "{warnings:?}");
        assert_eq!(
            key(&config.model_list[0].litellm_params.api_key),
            Some("AIza-literal")
        );

        let missing = std::env::temp_dir().join("llm-tower-no-such-config.yaml");
        let err = Config::load(&missing).expect_err("missing file");
        assert!(matches!(&err, ConfigError::Io { .. }), "{err:?}");
        assert!(
            err.to_string().starts_with(&missing.display().to_string()),
            "{err}"
        );
    }
}
