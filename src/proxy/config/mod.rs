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
//! | `general_settings.database_url`, `database_path` | [`GeneralSettings::database_url`], [`GeneralSettings::database_path`]: where virtual keys are kept |
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
//! `general_settings` (`alerting`, ...) or in a `model_list` entry is
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
//!
//! # Files
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`Config`]: loading, parsing, the default config |
//! | `model.rs` | [`ModelEntry`], [`LitellmParams`], [`LitellmSettings`], [`GeneralSettings`] |
//! | `error.rs` | [`ConfigError`] |
//! | `raw.rs` | the file's raw shapes, the parser's budgets, their resolution |
//! | `params.rs` | which `litellm_params` keys a deployment keeps |
//! | `routing.rs` | [`Routing`], [`DeploymentRouting`]: the router's settings |
//! | `router.rs` | [`RouterSettings`]: the shared Redis, the default bound on calls in flight |
//! | `cache.rs` | [`CacheSettings`]: the response cache |

mod cache;
mod error;
mod model;
mod params;
mod raw;
mod router;
mod routing;
#[cfg(test)]
mod tests;

pub use crate::upstream::secret::Secret;
pub use cache::{CacheBackend, CacheSettings, DEFAULT_LOCAL_TTL};
pub use error::ConfigError;
pub use model::{
    GeneralSettings, LitellmParams, LitellmSettings, MAX_REQUEST_SIZE_MB, ModelEntry, VertexParams,
};
pub(crate) use params::is_provider_param;
use raw::{
    MAX_CONFIG_BYTES, RawConfig, Resolver, UnknownKeys, call_limit, parse_error, seconds,
    warn_unknown, yaml_options,
};
pub use router::RouterSettings;
pub use routing::{DeploymentRouting, Routing};
use std::collections::BTreeMap;
use std::path::Path;

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
