//! [`ResponseCacheLayer`]: LiteLLM's response cache (`litellm_settings.cache: true`) in
//! front of the chat and embeddings services. A request whose key (a SHA-256 of the
//! request without the fields that do not change the answer: the `key` module) was
//! answered before, within the reply's time to live, is answered from the cache without
//! an upstream call: the same reply, its cost 0. A streamed request that hits is replayed
//! as a stream (the `replay` module); a streamed request that misses is not stored (only
//! whole replies are). Errors are never stored; a store that fails is a miss.
//!
//! The request's `cache` object (LiteLLM's per-request controls) is taken out of the
//! request here, so it never reaches an upstream, cache on or off:
//!
//! | field | type | what |
//! |---|---|---|
//! | `no-cache` | bool | do not look the request up (the reply is still stored) |
//! | `no-store` | bool | do not store the reply |
//! | `ttl` | seconds | keep this reply that long instead |
//! | `s-maxage` | seconds | accept only a stored reply at most that old |
//! | `namespace` | string | keep and look up under this namespace instead |
//!
//! A field of the wrong type is a 400 naming it (`cache.ttl`). Every answer of a cached
//! route carries its key in `x-litellm-cache-key`.

mod key;
mod replay;
mod store;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use futures_util::future::{BoxFuture, Either};
use http::{HeaderName, HeaderValue};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use tower_layer::Layer;
use tower_service::Service;

use store::ReplyStore;

use super::config::{CacheBackend, CacheSettings, DEFAULT_LOCAL_TTL};
use super::observe::record::Record;
use crate::context::{Contextual, ResponseNotes};
use crate::error::Error;
use crate::layers::refusable::{Refusable, Unchanged};
use crate::openai::chat::Extra;
use crate::openai::{ChatCompletion, ChatRequest, EmbeddingRequest, EmbeddingResponse};
use crate::provider::ChatResponse;
use crate::store::RedisCacheStore;

/// LiteLLM's header naming the cache key of a request.
pub const CACHE_KEY_HEADER: HeaderName = HeaderName::from_static("x-litellm-cache-key");

/// The settings and store every clone of a [`ResponseCache`] shares.
#[derive(Debug)]
struct Shared {
    store: ReplyStore,
    ttl: Option<Duration>,
    namespace: Option<String>,
    chat: bool,
    embeddings: bool,
}

/// Why a response cache could not be set up.
#[derive(Debug, thiserror::Error)]
pub enum SetupError {
    /// `type: redis` names no Redis, and `router_settings` has none either.
    #[error(
        "litellm_settings.cache_params: type redis needs cache_params.host (or url) or router_settings.redis_host (or redis_url)"
    )]
    NoRedis,
    /// The Redis URL of `cache_params` is not one Redis's client takes.
    #[error("litellm_settings.cache_params: {0}")]
    Redis(crate::store::StoreError),
}

/// Puts the response cache in front of a chat or embeddings service.
#[derive(Clone, Debug)]
pub struct ResponseCacheLayer {
    shared: Option<Arc<Shared>>,
}

impl ResponseCacheLayer {
    /// No cache: the layer only takes the `cache` field out of requests.
    pub fn off() -> Self {
        Self { shared: None }
    }

    /// The cache `settings` describe (off for `None`); `redis` is the proxy's Redis
    /// (`router_settings`), used by `type: redis` without a Redis of its own.
    ///
    /// # Errors
    ///
    /// `type: redis` without any Redis, or with a URL Redis's client does not take.
    pub fn new(
        settings: Option<&CacheSettings>,
        redis: Option<&RedisCacheStore>,
    ) -> Result<Self, SetupError> {
        let Some(settings) = settings else {
            return Ok(Self::off());
        };
        let (store, ttl) = match &settings.backend {
            CacheBackend::Local => (
                ReplyStore::memory(),
                Some(settings.ttl.unwrap_or(DEFAULT_LOCAL_TTL)),
            ),
            CacheBackend::Redis(url) => {
                let redis = match url {
                    Some(url) => RedisCacheStore::open(url.expose()).map_err(SetupError::Redis)?,
                    None => redis.ok_or(SetupError::NoRedis)?.clone(),
                };
                (ReplyStore::Redis(redis.reply_store()), settings.ttl)
            }
        };
        Ok(Self {
            shared: Some(Arc::new(Shared {
                store,
                ttl,
                namespace: settings.namespace.clone(),
                chat: settings.chat,
                embeddings: settings.embeddings,
            })),
        })
    }
}

impl<S> Layer<S> for ResponseCacheLayer {
    type Service = ResponseCache<S>;

    fn layer(&self, inner: S) -> ResponseCache<S> {
        ResponseCache {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service of [`ResponseCacheLayer`], over a chat service ([`ChatRequest`] →
/// [`ChatResponse`]) or an embeddings one ([`EmbeddingRequest`] → [`EmbeddingResponse`]).
#[derive(Clone, Debug)]
pub struct ResponseCache<S> {
    inner: S,
    shared: Option<Arc<Shared>>,
}

/// A request the cache knows: its endpoint, its `cache` field and whether it streams.
pub trait Cacheable: Contextual + Serialize + Send + 'static {
    /// The reply its service gives.
    type Reply: Send + 'static;
    /// The reply as kept in the store.
    type Kept: Serialize + DeserializeOwned + Send;

    /// The endpoint in the key: `chat`, `embeddings`.
    const ENDPOINT: &'static str;

    /// The model it names (a hit is counted under it in `/metrics`).
    fn model(&self) -> &str;
    /// Keys not typed by the request.
    fn extra_mut(&mut self) -> &mut Extra;
    /// Whether its route is cached, given whether chat and embeddings replies are.
    fn served(chat: bool, embeddings: bool) -> bool;
    /// What of `reply` is kept; `None` for a reply that is not (a stream).
    fn kept(reply: &Self::Reply) -> Option<&Self::Kept>;
    /// The reply to this request from a kept one: its cost 0, a stream when it streams.
    fn replay(&self, kept: Self::Kept) -> Self::Reply;
}

impl Cacheable for ChatRequest {
    type Reply = ChatResponse;
    type Kept = ChatCompletion;
    const ENDPOINT: &'static str = "chat";

    fn model(&self) -> &str {
        &self.model
    }

    fn extra_mut(&mut self) -> &mut Extra {
        &mut self.extra
    }

    fn served(chat: bool, _: bool) -> bool {
        chat
    }

    fn kept(reply: &ChatResponse) -> Option<&ChatCompletion> {
        match reply {
            ChatResponse::Completion(completion) => Some(completion),
            ChatResponse::Stream(_) => None,
        }
    }

    fn replay(&self, mut kept: ChatCompletion) -> ChatResponse {
        if let Some(usage) = &mut kept.usage {
            usage.cost = Some(0.0);
        }
        if self.is_stream() {
            let usage = self
                .stream_options
                .as_ref()
                .is_some_and(|options| options.include_usage == Some(true));
            ChatResponse::Stream(replay::chunks(kept, usage))
        } else {
            ChatResponse::Completion(kept)
        }
    }
}

impl Cacheable for EmbeddingRequest {
    type Reply = EmbeddingResponse;
    type Kept = EmbeddingResponse;
    const ENDPOINT: &'static str = "embeddings";

    fn model(&self) -> &str {
        &self.model
    }

    fn extra_mut(&mut self) -> &mut Extra {
        &mut self.extra
    }

    fn served(_: bool, embeddings: bool) -> bool {
        embeddings
    }

    fn kept(reply: &EmbeddingResponse) -> Option<&EmbeddingResponse> {
        Some(reply)
    }

    fn replay(&self, mut kept: EmbeddingResponse) -> EmbeddingResponse {
        // A reply from the cache cost nothing, as a chat reply's.
        if kept.usage.cost.is_some() {
            kept.usage.cost = Some(0.0);
        }
        kept
    }
}

/// The request's `cache` object.
#[derive(Debug, Default, Deserialize)]
struct Control {
    #[serde(default, rename = "no-cache")]
    no_cache: bool,
    #[serde(default, rename = "no-store")]
    no_store: bool,
    #[serde(default)]
    ttl: Option<f64>,
    #[serde(default, rename = "s-maxage", alias = "s-max-age")]
    s_maxage: Option<f64>,
    #[serde(default)]
    namespace: Option<String>,
}

impl Control {
    /// The `cache` field of `extra`, taken out; a 400 naming the field when it is wrong.
    fn take(extra: &mut Extra) -> Result<Self, Error> {
        let Some(value) = extra.remove("cache").map(|value| value.to_value()) else {
            return Ok(Self::default());
        };
        if value.is_null() {
            return Ok(Self::default());
        }
        if !value.is_object() {
            return Err(Error::invalid_param("cache", "cache: expected an object"));
        }
        let control: Self = serde_path_to_error::deserialize(value).map_err(|error| {
            let field = format!("cache.{}", error.path());
            Error::invalid_param(field.clone(), format!("{field}: {}", error.inner()))
        })?;
        for (field, seconds) in [
            ("cache.ttl", control.ttl),
            ("cache.s-maxage", control.s_maxage),
        ] {
            if seconds.is_some_and(|seconds| Duration::try_from_secs_f64(seconds).is_err()) {
                return Err(Error::invalid_param(
                    field,
                    format!("{field}: expected a number of seconds from 0"),
                ));
            }
        }
        Ok(control)
    }
}

/// A reply as kept, with when it was stored.
#[derive(Serialize, Deserialize)]
struct Stored<T> {
    /// Unix milliseconds.
    stored_at: u64,
    reply: T,
}

impl<S, Req> Service<Req> for ResponseCache<S>
where
    Req: Cacheable,
    S: Service<Req, Response = Req::Reply, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Req::Reply;
    type Error = Error;
    type Future = ResponseCacheFuture<S::Future, Req::Reply>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: Req) -> Self::Future {
        let control = match Control::take(request.extra_mut()) {
            Ok(control) => control,
            Err(error) => return Refusable::refused(error),
        };
        let shared = match &self.shared {
            Some(shared) if Req::served(shared.chat, shared.embeddings) => shared.clone(),
            _ => return Refusable::called(Either::Left(self.inner.call(request)), Unchanged),
        };
        let namespace = control.namespace.as_deref().or(shared.namespace.as_deref());
        let Some(key) = key::of(Req::ENDPOINT, namespace, &request) else {
            return Refusable::called(Either::Left(self.inner.call(request)), Unchanged);
        };
        if let (Some(notes), Ok(value)) = (
            request.context_mut().get::<ResponseNotes>(),
            HeaderValue::try_from(key.as_str()),
        ) {
            notes.add(CACHE_KEY_HEADER, value);
        }
        let ready = self.inner.clone();
        let inner = std::mem::replace(&mut self.inner, ready);
        let call = Call {
            shared,
            key,
            control,
            record: Record::of(request.context_mut()),
        };
        Refusable::called(
            Either::Right(Box::pin(lookup(call, request, inner))),
            Unchanged,
        )
    }
}

/// What a cached call needs beside its request and service.
struct Call {
    shared: Arc<Shared>,
    key: String,
    control: Control,
    /// The request's record in the proxy's metrics.
    record: Option<Arc<Record>>,
}

/// Answers `request` from the store, else from `inner` (and stores the reply).
async fn lookup<S, Req>(call: Call, request: Req, mut inner: S) -> Result<Req::Reply, Error>
where
    Req: Cacheable,
    S: Service<Req, Response = Req::Reply, Error = Error>,
{
    let Call {
        shared,
        key,
        control,
        record,
    } = call;
    if !control.no_cache
        && let Some(text) = shared.store.get(&key).await
        && let Ok(stored) = serde_json::from_str::<Stored<Req::Kept>>(&text)
        && control.s_maxage.is_none_or(|max| {
            crate::unix_time::millis().saturating_sub(stored.stored_at) as f64 <= max * 1000.0
        })
    {
        if let Some(record) = &record {
            record.response_cache(request.model(), "hit");
        }
        return Ok(request.replay(stored.reply));
    }
    if let Some(record) = &record {
        record.response_cache(request.model(), "miss");
    }
    let reply = inner.call(request).await?;
    let ttl = control.ttl.map(Duration::from_secs_f64).or(shared.ttl);
    let text = Req::kept(&reply)
        .filter(|_| !control.no_store && ttl.is_none_or(|ttl| !ttl.is_zero()))
        .and_then(|kept| {
            let stored = Stored {
                stored_at: crate::unix_time::millis(),
                reply: kept,
            };
            serde_json::to_string(&stored).ok()
        });
    if let Some(text) = text {
        shared.store.put(&key, text, ttl).await;
    }
    Ok(reply)
}

/// The future of [`ResponseCache`]: the inner call itself when the route is not cached,
/// the boxed lookup and call when it is, or a 400 for a wrong `cache` field.
pub type ResponseCacheFuture<F, R> = Refusable<Either<F, BoxFuture<'static, Result<R, Error>>>>;

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::Control;

    fn take(cache: serde_json::Value) -> Result<Control, String> {
        let mut extra = crate::openai::chat::Extra::new();
        extra.insert("cache", cache.into());
        let taken = Control::take(&mut extra)
            .map_err(|error| format!("{}|{}", error.param().unwrap_or_default(), error.message()));
        assert!(extra.is_empty(), "the field is taken out");
        taken
    }

    #[test]
    fn the_cache_object_is_read_and_wrong_fields_are_named() {
        let control =
            take(json!({"no-cache": true, "ttl": 5, "s-maxage": 1.5, "namespace": "a"})).unwrap();
        assert!(control.no_cache && !control.no_store);
        assert_eq!((control.ttl, control.s_maxage), (Some(5.0), Some(1.5)));
        assert_eq!(control.namespace.as_deref(), Some("a"));
        for (cache, param) in [
            (json!({"no-store": "yes"}), "cache.no-store"),
            (json!({"ttl": "soon"}), "cache.ttl"),
            (json!({"ttl": -1}), "cache.ttl"),
            (json!({"namespace": 3}), "cache.namespace"),
            (json!(true), "cache"),
        ] {
            let error = take(cache.clone()).unwrap_err();
            assert!(
                error.starts_with(&format!("{param}|{param}: ")),
                "{cache}: {error}"
            );
        }
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn responsecachelayer() -> Result<(), Box<dyn std::error::Error>> {
        use crate::proxy::config::Config;
        use crate::proxy::response_cache::ResponseCacheLayer;

        let yaml = "litellm_settings: {cache: true, cache_params: {type: local, ttl: 60}}";
        let (config, _) = Config::from_yaml(yaml, "config.yaml", &|_: &str| None)?;
        let settings = config.litellm_settings.cache.as_ref();
        let layer = ResponseCacheLayer::new(settings, None)?;
        assert!(layer.shared.is_some());
        assert!(ResponseCacheLayer::off().shared.is_none());
        Ok(())
    }
}
