//! `router_settings`: the Redis LiteLLM's router shares state through, which llm-tower
//! uses to share context caches and stored responses between replicas (see
//! [`crate::store::RedisCacheStore`] and [`crate::store::RedisResponseStore`]).
//!
//! | key | meaning |
//! |---|---|
//! | `router_settings.redis_url` | `redis://[:password@]host[:port][/db]`; wins over the three below |
//! | `router_settings.redis_host` | host name or address |
//! | `router_settings.redis_port` | port (default 6379) |
//! | `router_settings.redis_password` | password |
//! | `router_settings.default_max_parallel_requests` | most upstream calls in flight per deployment that sets no `max_parallel_requests` (a whole number from 1) |
//!
//! Each may be `os.environ/NAME`. A variable that is not set leaves its setting out with a
//! warning, like `litellm_params`: without a host or URL the proxy keeps its caches in
//! memory. Other `router_settings` keys are reported as unknown.

use std::num::NonZeroUsize;

use serde::Deserialize;

use super::{ConfigError, Resolver, UnknownKeys};
use crate::upstream::Secret;

/// What llm-tower reads of `router_settings`.
///
/// ```rust
/// use llm_tower::proxy::config::Config;
///
/// let yaml = "
/// router_settings:
///   redis_host: os.environ/REDIS_HOST
///   redis_port: 6380
///   redis_password: os.environ/REDIS_PASSWORD
/// ";
/// let env = |name: &str| match name {
///     "REDIS_HOST" => Some("10.0.0.5".to_string()),
///     "REDIS_PASSWORD" => Some("p@ss word".to_string()),
///     _ => None,
/// };
/// let (config, warnings) = Config::from_yaml(yaml, "config.yaml", &env)?;
/// assert!(warnings.is_empty());
/// let url = config.router_settings.redis_url.as_ref().map(|url| url.expose());
/// assert_eq!(url, Some("redis://:p%40ss%20word@10.0.0.5:6380/"));
/// let shown = format!("{:?}", config.router_settings);
/// assert!(!shown.contains("p@ss") && !shown.contains("p%40ss"));
/// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, Default)]
#[non_exhaustive]
pub struct RouterSettings {
    /// The Redis to share context caches and stored responses through (a secret: it may
    /// hold the password); `None` keeps them in each process's memory.
    pub redis_url: Option<Secret>,
    /// Most upstream calls in flight for each deployment without its own
    /// [`max_parallel_requests`](super::LitellmParams::max_parallel_requests); `None` leaves
    /// the proxy's default.
    pub default_max_parallel_requests: Option<NonZeroUsize>,
    /// The router's keys, over those of `litellm_settings`.
    pub routing: super::Routing,
}

/// `router_settings` as written.
#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping of router settings")]
pub(super) struct RawRouterSettings {
    #[serde(default)]
    redis_url: Option<String>,
    #[serde(default)]
    redis_host: Option<String>,
    #[serde(default)]
    redis_port: Option<serde_json::Value>,
    #[serde(default)]
    redis_password: Option<String>,
    #[serde(default)]
    default_max_parallel_requests: Option<serde_json::Value>,
    #[serde(default)]
    pub(super) num_retries: Option<u32>,
    #[serde(flatten)]
    pub(super) routing: super::routing::RawRouting,
    #[serde(flatten)]
    pub(super) unknown: UnknownKeys,
}

impl RawRouterSettings {
    pub(super) fn resolve(
        self,
        resolver: &Resolver<'_>,
        warnings: &mut Vec<String>,
    ) -> Result<RouterSettings, ConfigError> {
        let redis_url = redis_url(
            "router_settings.redis_",
            RedisKeys {
                url: self.redis_url,
                host: self.redis_host,
                port: self.redis_port,
                password: self.redis_password,
            },
            resolver,
            warnings,
        )?;
        Ok(RouterSettings {
            routing: super::Routing::default(),
            redis_url: redis_url.map(Secret::new),
            default_max_parallel_requests: super::call_limit(
                "router_settings.default_max_parallel_requests",
                self.default_max_parallel_requests,
            )?,
        })
    }
}

/// LiteLLM's Redis keys of one section, as written: a URL, or a host, port and password.
pub(super) struct RedisKeys {
    pub(super) url: Option<String>,
    pub(super) host: Option<String>,
    pub(super) port: Option<serde_json::Value>,
    pub(super) password: Option<String>,
}

/// The Redis URL `keys` name (`{prefix}url` wins over `{prefix}host`, `port` and
/// `password`), with `os.environ/NAME` values resolved; `None` when they name none.
pub(super) fn redis_url(
    prefix: &str,
    keys: RedisKeys,
    resolver: &Resolver<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<String>, ConfigError> {
    let mut setting = |key: &str, value: Option<String>| match value {
        Some(value) => resolver.resolve_param(&format!("{prefix}{key}"), value, warnings),
        None => Ok(None),
    };
    let url = setting("url", keys.url)?;
    let host = setting("host", keys.host)?;
    let password = setting("password", keys.password)?;
    let port = match keys.port {
        None | Some(serde_json::Value::Null) => None,
        Some(serde_json::Value::Number(number)) => Some(number.to_string()),
        Some(serde_json::Value::String(text)) => setting("port", Some(text))?,
        Some(_) => Some(String::new()),
    };
    Ok(match (url, host) {
        (Some(url), _) if !url.is_empty() => Some(url),
        (_, Some(host)) if !host.is_empty() => {
            Some(build_url(&format!("{prefix}port"), &host, port, password)?)
        }
        _ => None,
    })
}

/// `redis://[:password@]host:port/` from LiteLLM's separate keys.
fn build_url(
    port_field: &str,
    host: &str,
    port: Option<String>,
    password: Option<String>,
) -> Result<String, ConfigError> {
    let port = match port {
        None => 6379,
        Some(port) => port
            .trim()
            .parse::<u16>()
            .ok()
            .filter(|port| *port != 0)
            .ok_or_else(|| ConfigError::Invalid {
                field: port_field.to_string(),
                message: "expected a port number from 1 to 65535".to_string(),
            })?,
    };
    let host = if host.contains(':') && !host.starts_with('[') {
        format!("[{host}]")
    } else {
        host.to_owned()
    };
    let auth = match password.filter(|password| !password.is_empty()) {
        Some(password) => format!(
            ":{}@",
            percent_encoding::utf8_percent_encode(&password, percent_encoding::NON_ALPHANUMERIC)
        ),
        None => String::new(),
    };
    Ok(format!("redis://{auth}{host}:{port}/"))
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn parse(yaml: &str, vars: &[(&str, &str)]) -> (Option<String>, Vec<String>) {
        let env = |name: &str| {
            vars.iter()
                .find(|(var, _)| *var == name)
                .map(|(_, value)| (*value).to_string())
        };
        let (config, warnings) = Config::from_yaml(yaml, "config.yaml", &env).expect("parses");
        let url = config
            .router_settings
            .redis_url
            .map(|url| url.expose().to_string());
        (url, warnings)
    }

    #[test]
    fn a_url_wins_and_hosts_default_to_port_6379() {
        let (url, warnings) = parse(
            "router_settings: {redis_url: os.environ/REDIS_URL, redis_host: other}",
            &[("REDIS_URL", "redis://cache:6379/2")],
        );
        assert_eq!(url.as_deref(), Some("redis://cache:6379/2"));
        assert!(warnings.is_empty(), "{warnings:?}");
        let (url, _) = parse(
            "router_settings: {redis_host: '::1', redis_port: '7000'}",
            &[],
        );
        assert_eq!(url.as_deref(), Some("redis://[::1]:7000/"));
        let (url, _) = parse("router_settings: {redis_host: cache}", &[]);
        assert_eq!(url.as_deref(), Some("redis://cache:6379/"));
    }

    #[test]
    fn unset_variables_leave_redis_out_with_a_warning_and_other_keys_are_unknown() {
        let (url, warnings) = parse(
            "router_settings: {redis_host: os.environ/NOPE, cache_responses: true}",
            &[],
        );
        assert_eq!(url, None);
        assert_eq!(
            warnings,
            [
                "router_settings.cache_responses: unknown key, ignored",
                "router_settings.redis_host: environment variable `NOPE` is not set; the setting is left out",
            ]
        );
    }

    #[test]
    fn a_bad_port_is_refused_by_name() {
        let env = |_: &str| None;
        for port in ["0", "http", "70000", "[1]"] {
            let yaml = format!("router_settings: {{redis_host: cache, redis_port: {port}}}");
            let error = Config::from_yaml(&yaml, "config.yaml", &env).expect_err(port);
            assert!(
                error.to_string().contains("router_settings.redis_port"),
                "{port}: {error}"
            );
        }
    }
}
