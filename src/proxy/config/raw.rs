//! The file as written: the raw YAML shapes (unknown keys kept to be reported), the
//! parser's budgets and error positions, and their resolution into a [`Config`]
//! (`os.environ/` references, timeouts, limits, API bases).

use std::collections::BTreeMap;
use std::num::NonZeroUsize;
use std::time::Duration;

use serde::Deserialize;
use serde::de::IgnoredAny;

use super::{
    Config, ConfigError, DeploymentRouting, ENV_PREFIX, GeneralSettings, LitellmParams,
    LitellmSettings, MAX_REQUEST_SIZE_MB, ModelEntry, Routing, Secret, VertexParams, cache, params,
    router, routing, unserved,
};

/// Deepest nesting a config file may have; LiteLLM's configs need five or six levels.
const MAX_YAML_DEPTH: usize = 32;

/// Largest config file read.
pub(super) const MAX_CONFIG_BYTES: u64 = 4 * 1024 * 1024;

/// The YAML parser's settings: serde-saphyr's budgets (nodes, aliases, scalar bytes) with
/// a small depth, so a hostile or broken file is refused in microseconds, and errors
/// without a source snippet (the position is reported separately).
pub(super) fn yaml_options() -> serde_saphyr::Options {
    let mut options = serde_saphyr::Options::default();
    options.with_snippet = false;
    if let Some(budget) = options.budget.as_mut() {
        budget.max_depth = MAX_YAML_DEPTH;
    }
    options
}

/// Turns a YAML error at `key_path` into [`ConfigError::Parse`], moving its position from
/// the message into `line`/`column`.
pub(super) fn parse_error(path: &str, key_path: &str, err: &serde_saphyr::Error) -> ConfigError {
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
pub(super) type UnknownKeys = BTreeMap<String, IgnoredAny>;

/// The file as written. Every section may be missing or null.
#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping with model_list, litellm_settings, general_settings")]
pub(super) struct RawConfig {
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
    #[serde(default)]
    database_url: Option<String>,
    #[serde(default)]
    database_path: Option<std::path::PathBuf>,
    #[serde(default)]
    max_file_size_mb: Option<u64>,
    #[serde(default)]
    max_request_size_mb: Option<u64>,
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
pub(super) struct Resolver<'a> {
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
    pub(super) fn resolve_param(
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
pub(super) fn warn_unknown(prefix: &str, unknown: &UnknownKeys, warnings: &mut Vec<String>) {
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
pub(super) fn seconds(
    field: &str,
    value: Option<serde_json::Value>,
) -> Result<Option<Duration>, ConfigError> {
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
pub(super) fn call_limit(
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
    pub(super) fn resolve(
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
            database_url: database_url(&resolver, general_settings.database_url)?,
            database_path: general_settings.database_path,
            max_file_size_mb: general_settings.max_file_size_mb,
            max_request_size_mb: request_size(general_settings.max_request_size_mb)?,
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
    required_setting(resolver, "general_settings.master_key", raw, |key| {
        key.is_empty()
            .then_some("empty master key; remove the setting to run without one")
    })
}

/// `general_settings.max_request_size_mb`: 1 to [`MAX_REQUEST_SIZE_MB`].
fn request_size(raw: Option<u64>) -> Result<Option<u64>, ConfigError> {
    match raw {
        Some(mb) if mb == 0 || mb > MAX_REQUEST_SIZE_MB => Err(ConfigError::Invalid {
            field: "general_settings.max_request_size_mb".to_owned(),
            message: format!("{mb}: give 1 to {MAX_REQUEST_SIZE_MB} (megabytes)"),
        }),
        other => Ok(other),
    }
}

/// `general_settings.database_url`: `postgresql://…`, `postgres://…` or `sqlite:…`; an
/// unset variable is an error (keys would silently go to another database).
fn database_url(
    resolver: &Resolver<'_>,
    raw: Option<String>,
) -> Result<Option<Secret>, ConfigError> {
    required_setting(resolver, "general_settings.database_url", raw, |url| {
        let served = ["postgresql://", "postgres://", "sqlite:"]
            .iter()
            .any(|scheme| url.starts_with(scheme));
        (!served).then_some("expected a postgresql://… or sqlite:… URL")
    })
}

/// A secret setting whose `os.environ/NAME` must be set, and whose value `invalid`
/// finds nothing wrong with.
fn required_setting(
    resolver: &Resolver<'_>,
    field: &str,
    raw: Option<String>,
    invalid: impl Fn(&str) -> Option<&'static str>,
) -> Result<Option<Secret>, ConfigError> {
    let Some(raw) = raw else {
        return Ok(None);
    };
    match resolver.resolve(field, raw)? {
        Resolved::Missing { var } => Err(ConfigError::MissingEnv {
            field: field.to_string(),
            var,
        }),
        Resolved::Value(value) => match invalid(&value) {
            Some(message) => Err(ConfigError::Invalid {
                field: field.to_string(),
                message: message.to_string(),
            }),
            None => Ok(Some(Secret::new(value))),
        },
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
