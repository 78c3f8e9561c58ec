//! `litellm_settings.cache` and `litellm_settings.cache_params`: LiteLLM's response cache.
//!
//! | key | becomes |
//! |---|---|
//! | `cache: true` | [`LitellmSettings::cache`](super::LitellmSettings::cache) is set (without it, `cache_params` is ignored with a warning) |
//! | `cache_params.type` | `local` (the default: in this process's memory) or `redis`; any other (`s3`, `gcs`, `disk`, `redis-semantic`, ...) is refused |
//! | `cache_params.host`, `port`, `password`, `url` | the Redis of `type: redis`; without them, `router_settings`' Redis |
//! | `cache_params.ttl` | [`CacheSettings::ttl`], seconds above 0 |
//! | `cache_params.namespace` | [`CacheSettings::namespace`] |
//! | `cache_params.supported_call_types` | [`CacheSettings::chat`], [`CacheSettings::embeddings`]; other LiteLLM call types are accepted with a warning |

use std::time::Duration;

use serde::Deserialize;

use super::router::{RedisKeys, redis_url};
use super::{ConfigError, Resolver, UnknownKeys, warn_unknown};
use crate::upstream::Secret;

/// How long a reply stays in the in-memory cache unless `ttl` says otherwise (LiteLLM's
/// in-memory default). Redis keeps a reply without a `ttl` until Redis evicts it, as
/// LiteLLM's Redis cache does.
pub const DEFAULT_LOCAL_TTL: Duration = Duration::from_secs(600);

/// The call types LiteLLM names in `supported_call_types` that llm-tower takes without
/// caching their replies (accepted with a warning).
const UNCACHED_CALL_TYPES: [&str; 10] = [
    "text_completion",
    "atext_completion",
    "transcription",
    "atranscription",
    "responses",
    "aresponses",
    "rerank",
    "arerank",
    "speech",
    "aspeech",
];

/// Where cached replies live.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum CacheBackend {
    /// In this process's memory, bounded in bytes (`type: local`).
    Local,
    /// In Redis (`type: redis`): `cache_params`' own Redis, else (`None`) the one of
    /// `router_settings`.
    Redis(Option<Secret>),
}

/// The response cache: `litellm_settings.cache: true` with its `cache_params`.
///
/// ```rust
/// use std::time::Duration;
/// use llm_tower::proxy::config::{CacheBackend, Config};
///
/// let yaml = "litellm_settings:\n  cache: true\n  cache_params: {type: local, ttl: 60, namespace: team-a}\n";
/// let (config, _) = Config::from_yaml(yaml, "config.yaml", &|_: &str| None)?;
/// let cache = config.litellm_settings.cache.expect("caching is on");
/// assert_eq!(cache.backend, CacheBackend::Local);
/// assert_eq!(cache.ttl, Some(Duration::from_secs(60)));
/// assert_eq!(cache.namespace.as_deref(), Some("team-a"));
/// assert!(cache.chat && cache.embeddings);
/// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct CacheSettings {
    /// Where replies are kept.
    pub backend: CacheBackend,
    /// How long a reply is kept; `None`: [`DEFAULT_LOCAL_TTL`] in memory, until evicted
    /// in Redis.
    pub ttl: Option<Duration>,
    /// Keys start with `{namespace}:`.
    pub namespace: Option<String>,
    /// `/v1/chat/completions` replies are cached (`completion`, `acompletion`).
    pub chat: bool,
    /// `/v1/embeddings` replies are cached (`embedding`, `aembedding`).
    pub embeddings: bool,
}

/// `cache_params` as written.
#[derive(Deserialize, Default)]
#[serde(expecting = "a mapping of cache params")]
pub(super) struct RawCacheParams {
    #[serde(default, rename = "type")]
    kind: Option<String>,
    #[serde(default)]
    host: Option<String>,
    #[serde(default)]
    port: Option<serde_json::Value>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    url: Option<String>,
    #[serde(default)]
    ttl: Option<serde_json::Value>,
    #[serde(default)]
    namespace: Option<String>,
    #[serde(default)]
    supported_call_types: Option<Vec<String>>,
    #[serde(flatten)]
    unknown: UnknownKeys,
}

/// The response cache of `cache` and `cache_params`; `None` when `cache` is not true.
pub(super) fn resolve(
    cache: Option<bool>,
    params: Option<RawCacheParams>,
    resolver: &Resolver<'_>,
    warnings: &mut Vec<String>,
) -> Result<Option<CacheSettings>, ConfigError> {
    if cache != Some(true) {
        if params.is_some() {
            warnings.push(
                "litellm_settings.cache_params: ignored without litellm_settings.cache: true"
                    .to_string(),
            );
        }
        return Ok(None);
    }
    let params = params.unwrap_or_default();
    warn_unknown("litellm_settings.cache_params.", &params.unknown, warnings);
    let backend = match params.kind.as_deref().map(str::trim) {
        None | Some("local") => CacheBackend::Local,
        Some("redis") => {
            let keys = RedisKeys {
                url: params.url,
                host: params.host,
                port: params.port,
                password: params.password,
            };
            let url = redis_url("litellm_settings.cache_params.", keys, resolver, warnings)?;
            CacheBackend::Redis(url.map(Secret::new))
        }
        Some(other) => {
            return Err(ConfigError::Invalid {
                field: "litellm_settings.cache_params.type".to_string(),
                message: format!(
                    "cache type \"{other}\" is not available in llm-tower (it has local and redis)"
                ),
            });
        }
    };
    let ttl = super::seconds("litellm_settings.cache_params.ttl", params.ttl)?;
    let (mut chat, mut embeddings) = (true, true);
    if let Some(types) = params.supported_call_types {
        (chat, embeddings) = (false, false);
        for name in types {
            match name.as_str() {
                "completion" | "acompletion" => chat = true,
                "embedding" | "aembedding" => embeddings = true,
                other if UNCACHED_CALL_TYPES.contains(&other) => warnings.push(format!(
                    "litellm_settings.cache_params.supported_call_types: \"{other}\" replies are not cached by llm-tower"
                )),
                other => warnings.push(format!(
                    "litellm_settings.cache_params.supported_call_types: unknown call type \"{other}\", ignored"
                )),
            }
        }
    }
    Ok(Some(CacheSettings {
        backend,
        ttl,
        namespace: params.namespace.filter(|namespace| !namespace.is_empty()),
        chat,
        embeddings,
    }))
}

#[cfg(test)]
mod tests {
    use super::super::{Config, ConfigError};
    use super::CacheBackend;

    fn parse(yaml: &str) -> Result<(Config, Vec<String>), ConfigError> {
        Config::from_yaml(yaml, "config.yaml", &|_: &str| None)
    }

    #[test]
    fn caching_is_off_unless_cache_is_true() {
        let (config, warnings) = parse("litellm_settings: {cache_params: {type: local}}").unwrap();
        assert!(config.litellm_settings.cache.is_none());
        assert_eq!(
            warnings,
            ["litellm_settings.cache_params: ignored without litellm_settings.cache: true"]
        );
    }

    #[test]
    fn redis_takes_its_own_host_or_none() {
        let yaml = "litellm_settings:\n  cache: true\n  cache_params: {type: redis, host: cache, port: 6380, password: 'p@ss'}\n";
        let (config, _) = parse(yaml).unwrap();
        let cache = config.litellm_settings.cache.unwrap();
        let CacheBackend::Redis(Some(url)) = cache.backend else {
            panic!("{cache:?}");
        };
        assert_eq!(url.expose(), "redis://:p%40ss@cache:6380/");
        let (config, _) =
            parse("litellm_settings: {cache: true, cache_params: {type: redis}}").unwrap();
        assert_eq!(
            config.litellm_settings.cache.unwrap().backend,
            CacheBackend::Redis(None)
        );
    }

    #[test]
    fn call_types_choose_the_routes_and_others_are_named() {
        let yaml = "litellm_settings:\n  cache: true\n  cache_params: {supported_call_types: [acompletion, atranscription, nope]}\n";
        let (config, warnings) = parse(yaml).unwrap();
        let cache = config.litellm_settings.cache.unwrap();
        assert!(cache.chat && !cache.embeddings);
        assert_eq!(warnings.len(), 2, "{warnings:?}");
        assert!(warnings[0].contains("\"atranscription\" replies are not cached"));
        assert!(warnings[1].contains("unknown call type \"nope\""));
    }

    #[test]
    fn unavailable_types_and_non_positive_ttls_are_refused() {
        for (yaml, field) in [
            (
                "litellm_settings: {cache: true, cache_params: {type: s3}}",
                "litellm_settings.cache_params.type",
            ),
            (
                "litellm_settings: {cache: true, cache_params: {ttl: 0}}",
                "litellm_settings.cache_params.ttl",
            ),
            (
                "litellm_settings: {cache: true, cache_params: {ttl: -5}}",
                "litellm_settings.cache_params.ttl",
            ),
        ] {
            let error = parse(yaml).unwrap_err();
            assert!(
                matches!(&error, ConfigError::Invalid { field: f, .. } if f == field),
                "{yaml}: {error}"
            );
        }
    }
}
