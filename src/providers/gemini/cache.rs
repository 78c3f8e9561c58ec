//! [`ContextCacheLayer`]: explicit context caching. When a request marks the head of its
//! conversation with `cache_control` (see [`CachePlan`]), the head (system instruction,
//! leading turns, tools and tool config) goes into a `cachedContents` entry, and the call
//! is sent with `cachedContent: <name>` and only the rest of the conversation.
//!
//! - The entry is found again by the SHA-256 of the head, the model and the credentials,
//!   through a [`CacheStore`]: a repeated head costs no call to Google (LiteLLM lists every
//!   cache of the project on every request).
//! - A cache Google no longer has (expired, deleted: 403/404 `CachedContent not found`) is
//!   forgotten, created again and the call resent, once.
//! - A head Google will not cache (below the model's minimum size, a model without
//!   caching: 400 on create) is sent uncached, as it came: the request still works, and the
//!   refusal is remembered for ten minutes so the same head is not offered at every request.
//! - A call that created its cache answers [`Reply::CacheWritten`], so that the reply's
//!   usage reports the write (`cache_creation_input_tokens`) and its cost.
//! - Calls without a plan pass straight through.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::call::{CachePlan, CacheWrite, Call, Method, Reply};
use super::error::Error;
use super::wire::{CachedContentRequest, GoogleStatus};
use crate::store::{CacheStore, MemoryCacheStore};

/// Google's lifetime for a cache created without `ttl`.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// What the store holds for a head Google refused to cache.
const REFUSED: &str = "";

/// How long a refusal is remembered.
const REFUSAL_MEMORY: Duration = Duration::from_secs(600);

/// Prefix of the display name of the caches this layer creates.
const DISPLAY_PREFIX: &str = "llm-tower:";

/// Caches marked conversation heads.
///
/// ```
/// use std::sync::Arc;
/// use llm_tower::store::MemoryCacheStore;
/// use llm_tower::gemini::ContextCacheLayer;
///
/// let _layer = ContextCacheLayer::new(Arc::new(MemoryCacheStore::default()), "project-a");
/// ```
#[derive(Clone)]
pub struct ContextCacheLayer {
    store: Arc<dyn CacheStore>,
    namespace: Arc<str>,
}

impl ContextCacheLayer {
    /// Remembers caches in `store`, under keys that also hash `namespace` (something that
    /// tells apart the providers sharing a store: their endpoint and key).
    pub fn new(store: Arc<dyn CacheStore>, namespace: impl AsRef<str>) -> Self {
        Self {
            store,
            namespace: namespace.as_ref().into(),
        }
    }
}

impl Default for ContextCacheLayer {
    /// An in-memory store of its own.
    fn default() -> Self {
        Self::new(Arc::new(MemoryCacheStore::default()), "")
    }
}

impl std::fmt::Debug for ContextCacheLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextCacheLayer").finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ContextCacheLayer {
    type Service = ContextCache<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ContextCache {
            inner,
            store: self.store.clone(),
            namespace: self.namespace.clone(),
        }
    }
}

/// The service of [`ContextCacheLayer`].
#[derive(Clone)]
pub struct ContextCache<S> {
    inner: S,
    store: Arc<dyn CacheStore>,
    namespace: Arc<str>,
}

impl<S> ContextCache<S> {
    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> std::fmt::Debug for ContextCache<S> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ContextCache").finish_non_exhaustive()
    }
}

impl<S> Service<Call> for ContextCache<S>
where
    S: Service<Call, Response = Reply, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = Reply;
    type Error = Error;
    type Future = ContextCacheFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut call: Call) -> Self::Future {
        let plan = match (call.cache.take(), &call.method) {
            (Some(plan), Method::Generate(_) | Method::StreamGenerate(_)) => plan,
            _ => {
                return ContextCacheFuture::Direct {
                    inner: self.inner.call(call),
                };
            }
        };
        // This call may make several upstream calls (find, create, send), each on a clone
        // made ready when it is sent. The ready service is let go at once: kept, it would
        // hold its slot of a concurrency limit below while a clone waits for another one.
        let fresh = self.inner.clone();
        drop(std::mem::replace(&mut self.inner, fresh));
        let cached = Cached {
            inner: self.inner.clone(),
            store: self.store.clone(),
            namespace: self.namespace.clone(),
        };
        ContextCacheFuture::Caching {
            future: Box::pin(cached.send(call, plan)),
        }
    }
}

pin_project! {
    /// Future of [`ContextCache`].
    #[project = ContextCacheFutureProj]
    pub enum ContextCacheFuture<F> {
        /// No cache involved.
        Direct { #[pin] inner: F },
        /// Finding or creating the cache, then the call (rare enough to box).
        Caching { future: Pin<Box<dyn Future<Output = Result<Reply, Error>> + Send>> },
    }
}

impl<F> Future for ContextCacheFuture<F>
where
    F: Future<Output = Result<Reply, Error>>,
{
    type Output = Result<Reply, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            ContextCacheFutureProj::Direct { inner } => inner.poll(cx),
            ContextCacheFutureProj::Caching { future } => future.as_mut().poll(cx),
        }
    }
}

/// One cached call's state.
struct Cached<S> {
    inner: S,
    store: Arc<dyn CacheStore>,
    namespace: Arc<str>,
}

impl<S> Cached<S>
where
    S: Service<Call, Response = Reply, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    async fn send(self, call: Call, plan: CachePlan) -> Result<Reply, Error> {
        let Some((head, live)) = split(&call, &plan) else {
            return self.inner.oneshot(call).await;
        };
        let key = self.key(&call, &head);
        let ttl = plan
            .ttl
            .as_deref()
            .and_then(ttl_seconds)
            .unwrap_or(DEFAULT_TTL);
        let (name, from_store, written) = match self.store.get(&key).await {
            Some(name) if name == REFUSED => return self.inner.oneshot(call).await,
            Some(name) => (name, true, None),
            None => {
                match create(self.inner.clone(), &*self.store, &call, &head, &key, ttl).await? {
                    Some((name, tokens)) => (name, false, tokens),
                    None => return self.inner.oneshot(call).await,
                }
            }
        };
        let reply = self.inner.clone().oneshot(with_cache(&live, &name)).await;
        match reply {
            Err(error) if from_store && cache_gone(&error) => {
                tracing::debug!("context cache gone upstream; creating it again");
                self.store.remove(&key).await;
                match create(self.inner.clone(), &*self.store, &call, &head, &key, ttl).await? {
                    Some((name, tokens)) => {
                        let reply = self.inner.oneshot(with_cache(&live, &name)).await;
                        reply.map(|reply| written_by(reply, tokens, ttl))
                    }
                    None => self.inner.oneshot(call).await,
                }
            }
            reply => reply.map(|reply| written_by(reply, written, ttl)),
        }
    }

    /// SHA-256 (hex) of the namespace, the call's own credentials and the head.
    fn key(&self, call: &Call, head: &CachedContentRequest) -> String {
        // Serializing a typed struct cannot fail.
        let head = serde_json::to_vec(head).unwrap_or_default();
        let api_key = call.options.api_key.as_ref().map(|key| key.expose());
        let api_base = call.options.api_base.as_deref();
        sha256_hex(&[
            self.namespace.as_bytes(),
            api_key.unwrap_or_default().as_bytes(),
            api_base.unwrap_or_default().as_bytes(),
            &head,
        ])
    }
}

/// The reply of a call that created a cache of `tokens` (when Google said how many).
fn written_by(reply: Reply, tokens: Option<u64>, ttl: Duration) -> Reply {
    match tokens {
        Some(tokens) => Reply::CacheWritten {
            reply: Box::new(reply),
            write: CacheWrite { tokens, ttl },
        },
        None => reply,
    }
}

/// Creates the cache: its name and size in tokens (if Google says); `None` when Google
/// will not cache this head (the call then goes uncached).
async fn create<S>(
    inner: S,
    store: &dyn CacheStore,
    call: &Call,
    head: &CachedContentRequest,
    key: &str,
    ttl: Duration,
) -> Result<Option<(String, Option<u64>)>, Error>
where
    S: Service<Call, Response = Reply, Error = Error>,
{
    let mut body = head.clone();
    body.display_name = Some(format!("{DISPLAY_PREFIX}{key}"));
    let create = Call {
        model: call.model.clone(),
        method: Method::CreateCachedContent(body),
        options: call.options.clone(),
        cache: None,
        context: call.context.clone(),
    };
    match inner.oneshot(create).await {
        Ok(Reply::CachedContent(created)) => {
            // Stop using it a little before Google drops it.
            let margin = (ttl / 10).min(Duration::from_secs(60));
            store.put(key, &created.name, ttl - margin).await;
            let tokens = created.usage_metadata.map(|usage| usage.total_token_count);
            Ok(Some((created.name, tokens)))
        }
        Ok(_) => Err(Error::InvalidCall(
            "creating a context cache was answered with another kind of reply".to_owned(),
        )),
        // A head Google will not cache (too small, a model without caching); a bad key
        // fails the same way uncached, so it is the caller's error at once.
        Err(Error::Upstream {
            status,
            google,
            message,
            ..
        }) if status == http::StatusCode::BAD_REQUEST
            && google.as_ref().and_then(GoogleStatus::reason) != Some("API_KEY_INVALID") =>
        {
            tracing::debug!(%message, "context cache not created; sending uncached");
            // Remembered, so the same head is not offered again at every request.
            store.put(key, REFUSED, REFUSAL_MEMORY).await;
            Ok(None)
        }
        Err(error) => Err(error),
    }
}

/// The cache's body (no display name yet: it is derived from the key) and the call without
/// the head; `None` for a call that is not a `generateContent`, or a plan that would leave
/// nothing to send.
fn split(call: &Call, plan: &CachePlan) -> Option<(CachedContentRequest, Call)> {
    let mut live = call.clone();
    let (Method::Generate(body) | Method::StreamGenerate(body)) = &mut live.method else {
        return None;
    };
    if plan.contents >= body.contents.len() {
        return None;
    }
    let head = CachedContentRequest {
        model: format!("models/{}", call.model),
        display_name: None,
        system_instruction: body.system_instruction.take(),
        contents: body.contents.drain(..plan.contents).collect(),
        tools: std::mem::take(&mut body.tools),
        tool_config: body.tool_config.take(),
        ttl: plan.ttl.clone(),
    };
    Some((head, live))
}

/// The live call naming the cache.
fn with_cache(live: &Call, name: &str) -> Call {
    let mut call = live.clone();
    if let Method::Generate(body) | Method::StreamGenerate(body) = &mut call.method {
        body.cached_content = Some(name.to_owned());
    }
    call
}

/// Whether Google says the named cache does not exist (any more).
fn cache_gone(error: &Error) -> bool {
    matches!(error, Error::Upstream { status, message, .. }
        if (*status == http::StatusCode::FORBIDDEN || *status == http::StatusCode::NOT_FOUND)
            && message.contains("CachedContent not found"))
}

/// `"300s"` → 300 s.
fn ttl_seconds(ttl: &str) -> Option<Duration> {
    let seconds: f64 = ttl.strip_suffix('s')?.parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// SHA-256 of `fields` (each followed by a NUL), in hex. The digest is ring's, which the TLS
/// stack already brings.
pub(crate) fn sha256_hex(fields: &[&[u8]]) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for field in fields {
        context.update(field);
        context.update(b"\0");
    }
    context
        .finish()
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}
