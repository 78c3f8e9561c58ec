//! [`ContextCacheLayer`]: explicit context caching. When a request marks the head of its
//! conversation with `cache_control` (see [`CachePlan`]), the head (system instruction,
//! leading turns, tools and tool config) goes into a `cachedContents` entry, and the call
//! is sent with `cachedContent: <name>` and only the rest of the conversation.
//!
//! # Finding a head's cache
//!
//! A head is known by the SHA-256 of the head, the model and the credentials (its *key*).
//!
//! 1. **The store** ([`CacheStore`]) maps the key to the cache's name and Google's
//!    `expireTime`. A hit costs one store lookup and no call to Google. With a
//!    [`RedisCacheStore`](crate::store::RedisCacheStore), every replica sees every other's
//!    caches.
//! 2. **Google's list**: on a store miss, before creating, the layer looks for the key in
//!    the `displayName` of the project's caches (`GET cachedContents`, paged), once per
//!    head per process: a cache made before a restart, or by a replica with another
//!    store, is found instead of duplicated. A hit never lists.
//! 3. **Created once**: concurrent requests for one head in a process share one lookup
//!    and creation (single flight); across processes, the creator first takes a short
//!    claim in the store (`SET NX`), and the others wait up to
//!    [`claim_wait`](ContextCacheLayer::claim_wait) for its entry, then go on uncached
//!    rather than block.
//!
//! # Lifetimes
//!
//! An entry is used until a margin (a tenth of the cache's TTL, at most a minute) before
//! the `expireTime` Google gave; then the head is created again. A hit on an entry within
//! its last quarter of life extends the cache (`PATCH cachedContents/{id}?updateMask=ttl`,
//! one caller per head at a time), so a conversation in use keeps its cache; turn it off
//! with [`refresh_ttl`](ContextCacheLayer::refresh_ttl). A cache Google lost (403/404
//! `CachedContent not found`: it expired early or was deleted) is forgotten and the call
//! resent once, uncached; a stream's call is resent too, as its error comes before its
//! first byte. The next request creates the cache again.
//!
//! # What goes into the cache, and what Google is never sent
//!
//! The cache holds the head's `systemInstruction`, `tools` and `toolConfig` with its
//! turns; the call naming it carries none of the three. Google answers 400 to a
//! `generateContent` that names a `cachedContent` and also sets any of them, so they go
//! into the cache, or the call is sent uncached, whole.
//!
//! # Heads that go uncached
//!
//! A head below the model's minimum is sent uncached without a failed create call: the
//! minimum comes from the model table ([`facts`](crate::gemini::facts): 4,096 tokens for
//! the 3.x models), the head's size gives an upper bound of its tokens, and a head near
//! the minimum is counted with `:countTokens` first (see `size`). A model without context
//! caching in the table is never offered. When Google still refuses a head as too small,
//! the minimum its error names (`min_total_token_count=…`) is remembered for that model,
//! so a table that is wrong costs one failed create, once; the refused head itself is
//! remembered for ten minutes. An uncached call is exactly the call the request would
//! have made without `cache_control`.
//!
//! A create that fails for another reason (a 5xx, a 429, a timeout, a broken connection;
//! a failed list already goes on to create) sends the call uncached instead of failing
//! it. Only a failure the uncached call would meet too (no key, a refused key) is the
//! call's error.
//!
//! # A store that fails
//!
//! A store error or a store slower than [`store_timeout`](ContextCacheLayer::store_timeout)
//! is a miss: the request goes on. What this process found or created is also kept in a
//! small memory of its own, used while the store fails, so a dead Redis does not make a
//! replica create a cache per request. Failures are logged at most once a minute.
//!
//! A call that created its cache answers [`Reply::CacheWritten`], so that the reply's usage
//! reports the write (`cache_creation_input_tokens`) and its cost.
//!
//! # Events
//!
//! Each call with a marked head emits one `tracing` event at `DEBUG` with target
//! [`EVENT_TARGET`], an `outcome` field and the `model`: `hit` (the store knew it),
//! `found` (in Google's list), `created`, `waited` (another call or process created it),
//! `too_small` (estimated, counted, or refused by Google), `uncached` (another's claim
//! or creation did not come through in time), `failed` (creating failed: sent uncached,
//! or the key's error), `gone` (the named cache was gone upstream: sent again uncached).
//! A refreshed TTL emits `outcome = "refreshed"`. The proxy counts the outcomes in
//! `llm_tower_context_cache_total`.

mod flight;
mod report;
mod size;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::{Duration, Instant, SystemTime};

use pin_project_lite::pin_project;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use super::call::{CachePlan, CacheWrite, Call, Method, Reply};
use super::error::Error;
use super::facts::facts;
use super::translate::messages::join_split_turn;
use super::wire::{
    CachedContent, CachedContentRequest, CachedContentUpdate, CountTokensRequest, GoogleStatus,
};
use crate::store::{CacheEntry, CacheStore, MemoryCacheStore, StoreError};
use flight::Flights;
pub use report::TARGET as EVENT_TARGET;
use report::{Outcome, StoreErrors};
use size::Size;

/// Google's lifetime for a cache created without `ttl`.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// How long a refusal is remembered.
const REFUSAL_MEMORY: Duration = Duration::from_secs(600);

/// Prefix of the display name of the caches this layer creates.
const DISPLAY_PREFIX: &str = "llm-tower:";

/// How long a creator's claim lasts at most (it is released when the creator is done).
const CLAIM_TTL: Duration = Duration::from_secs(30);

/// How long one process's claim to refresh a head's TTL lasts (never released: at most
/// one refresh per head in this time).
const REFRESH_CLAIM_TTL: Duration = Duration::from_secs(60);

/// Most pages of `GET cachedContents` read for one head (1,000 caches a page).
const MAX_LIST_PAGES: usize = 20;

/// Heads this process remembers having looked up in Google's list.
const LISTED_CAPACITY: u64 = 100_000;

/// Entries this process keeps for itself, for when the store fails.
const LOCAL_CAPACITY: u64 = 10_000;

/// Models whose minimum this process learned from Google's refusals.
const LEARNED_CAPACITY: u64 = 1_000;

/// Caches marked conversation heads.
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use llm_tower::store::MemoryCacheStore;
/// use llm_tower::gemini::ContextCacheLayer;
///
/// let _layer = ContextCacheLayer::new(Arc::new(MemoryCacheStore::default()), "project-a")
///     .claim_wait(Duration::from_secs(2))
///     .refresh_ttl(false);
/// ```
#[derive(Clone)]
pub struct ContextCacheLayer {
    store: Arc<dyn CacheStore>,
    namespace: Arc<str>,
    state: Arc<State>,
    settings: Settings,
}

/// What the layer's clones and services share.
struct State {
    /// What this process found or created, used when the store fails.
    local: MemoryCacheStore,
    /// Heads already looked up in Google's list.
    listed: moka::sync::Cache<String, ()>,
    /// Lookups and creations in progress.
    flights: Flights<Resolved>,
    errors: StoreErrors,
    /// The minimum Google named when it refused a head, by model.
    minimums: moka::sync::Cache<String, u64>,
}

#[derive(Clone, Copy)]
struct Settings {
    claim_wait: Duration,
    store_timeout: Duration,
    refresh: bool,
    enabled: bool,
}

impl ContextCacheLayer {
    /// Remembers caches in `store`, under keys that also hash `namespace` (something that
    /// tells apart the providers sharing a store: their endpoint and key).
    pub fn new(store: Arc<dyn CacheStore>, namespace: impl AsRef<str>) -> Self {
        Self {
            store,
            namespace: namespace.as_ref().into(),
            state: Arc::new(State {
                local: MemoryCacheStore::new(LOCAL_CAPACITY),
                listed: moka::sync::Cache::new(LISTED_CAPACITY),
                flights: Flights::new(),
                errors: StoreErrors::new(Duration::from_secs(60)),
                minimums: moka::sync::Cache::new(LEARNED_CAPACITY),
            }),
            settings: Settings {
                claim_wait: Duration::from_secs(3),
                store_timeout: Duration::from_millis(250),
                refresh: true,
                enabled: true,
            },
        }
    }

    /// How long a request waits for another process that claimed the creation of its
    /// head's cache, before it goes on uncached (default: 3 s).
    pub fn claim_wait(mut self, wait: Duration) -> Self {
        self.settings.claim_wait = wait;
        self
    }

    /// How long a store operation may take before it counts as a miss (default: 250 ms).
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.settings.store_timeout = timeout;
        self
    }

    /// Whether a hit in the last quarter of a cache's life extends it (default: on).
    pub fn refresh_ttl(mut self, refresh: bool) -> Self {
        self.settings.refresh = refresh;
        self
    }

    /// Whether marked heads are cached at all (default: on). Off, every call goes out as
    /// if unmarked and no `cachedContents` call is made: for an upstream without Gemini's
    /// `cachedContents` (Vertex AI names a cache's model by its full resource name).
    pub fn enabled(mut self, enabled: bool) -> Self {
        self.settings.enabled = enabled;
        self
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
        f.debug_struct("ContextCacheLayer")
            .field("claim_wait", &self.settings.claim_wait)
            .field("store_timeout", &self.settings.store_timeout)
            .field("refresh_ttl", &self.settings.refresh)
            .field("enabled", &self.settings.enabled)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ContextCacheLayer {
    type Service = ContextCache<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ContextCache {
            inner,
            layer: self.clone(),
        }
    }
}

/// The service of [`ContextCacheLayer`].
#[derive(Clone)]
pub struct ContextCache<S> {
    inner: S,
    layer: ContextCacheLayer,
}

impl<S> ContextCache<S> {
    /// Wraps `inner` with `layer`'s store and settings.
    pub fn new(inner: S, layer: &ContextCacheLayer) -> Self {
        layer.layer(inner)
    }

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
            (Some(plan), Method::Generate(_) | Method::StreamGenerate(_))
                if !self.layer.settings.enabled =>
            {
                return ContextCacheFuture::Direct {
                    inner: self.inner.call(uncached(call, &plan)),
                };
            }
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
            layer: self.layer.clone(),
            written: None,
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

/// What a lookup or creation gave: the cache to name (`None`: send uncached) and how.
type Resolved = (Option<String>, Outcome);

/// A head to cache, as the layer works with it.
struct Head {
    /// The cache's body (its display name is derived from the key).
    body: CachedContentRequest,
    /// The store key and the hash in the display name.
    key: String,
    /// What the local size estimate says.
    size: Size,
    /// The fewest tokens the model caches (`u64::MAX`: none).
    minimum: u64,
    /// The cache's lifetime, as asked.
    ttl: Duration,
}

impl Head {
    /// The margin before `expireTime` at which an entry is treated as gone.
    fn margin(&self) -> Duration {
        (self.ttl / 10).min(Duration::from_secs(60))
    }

    /// Whether a cache expiring at `expire_time` may still be named.
    fn usable(&self, expire_time: SystemTime) -> bool {
        expire_time > SystemTime::now() + self.margin()
    }

    fn display_name(&self) -> String {
        format!("{DISPLAY_PREFIX}{}", self.key)
    }
}

/// One cached call's state.
struct Cached<S> {
    inner: S,
    layer: ContextCacheLayer,
    /// Tokens of the cache this call created (what its reply's usage reports as written).
    written: Option<u64>,
}

impl<S> Cached<S>
where
    S: Service<Call, Response = Reply, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    async fn send(mut self, call: Call, plan: CachePlan) -> Result<Reply, Error> {
        let Some((head, live)) = self.split(&call, &plan) else {
            return self.inner.oneshot(uncached(call, &plan)).await;
        };
        let name = match self.layer.lookup(&head.key).await {
            Some(CacheEntry::Refused) => {
                report::outcome(Outcome::TooSmall, &call);
                return self.inner.oneshot(uncached(call, &plan)).await;
            }
            Some(CacheEntry::Cached { name, expire_time })
                if head.usable(expire_time) && valid_name(&name) =>
            {
                self.refresh_if_due(&call, &head, &name, expire_time).await;
                Some(name)
            }
            _ => None,
        };
        // A hit is reported once its cache was used.
        let hit = name.is_some();
        let cache = match name {
            Some(cache) => cache,
            None => match self.resolve(&call, &head).await? {
                Some(cache) => cache,
                None => return self.inner.oneshot(uncached(call, &plan)).await,
            },
        };
        match self.inner.clone().oneshot(with_cache(&live, &cache)).await {
            Err(error) if cache_gone(&error) => {
                tracing::debug!(target: EVENT_TARGET, "context cache gone upstream; forgotten, the call resent uncached");
                report::outcome(Outcome::Gone, &call);
                self.layer.forget(&head.key).await;
                self.inner.oneshot(uncached(call, &plan)).await
            }
            reply => {
                if hit {
                    report::outcome(Outcome::Hit, &call);
                }
                let written = self.written.take();
                reply.map(|reply| written_by(reply, written, head.ttl))
            }
        }
    }

    /// The head and the call without it; `None` for a plan that would leave nothing to
    /// send.
    fn split(&self, call: &Call, plan: &CachePlan) -> Option<(Head, Call)> {
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
        // Serializing a typed struct cannot fail.
        let json = serde_json::to_vec(&head).unwrap_or_default();
        let api_key = call.options.api_key.as_ref().map(|key| key.expose());
        let api_base = call.options.api_base.as_deref();
        let key = sha256_hex(&[
            self.layer.namespace.as_bytes(),
            api_key.unwrap_or_default().as_bytes(),
            api_base.unwrap_or_default().as_bytes(),
            &json,
        ]);
        let minimum = self.layer.minimum(&call.model);
        let head = Head {
            size: size::judge(&head, json.len(), minimum),
            minimum: minimum.unwrap_or(u64::MAX),
            ttl: plan
                .ttl
                .as_deref()
                .and_then(ttl_seconds)
                .unwrap_or(DEFAULT_TTL),
            key,
            body: head,
        };
        Some((head, live))
    }

    /// The cache for a head the store does not know: looked up or created by one call per
    /// process (and, through the store's claim, per set of processes sharing it). `None`:
    /// send the call uncached. The error is the creating call's own.
    async fn resolve(&mut self, call: &Call, head: &Head) -> Result<Option<String>, Error> {
        if head.size == Size::Small {
            report::outcome(Outcome::TooSmall, call);
            return Ok(None);
        }
        let (mut ran, mut own) = (false, None);
        let state = Arc::clone(&self.layer.state);
        let (name, outcome) = state
            .flights
            .run(&head.key, || async {
                ran = true;
                self.lead(call, head).await.unwrap_or_else(|error| {
                    own = Some(error);
                    (None, Outcome::Failed)
                })
            })
            .await;
        // A caller that joined another's flight got its result: it waited for it, or (a
        // failure is the creating caller's own error) goes on uncached.
        let outcome = match (ran, &name, outcome) {
            (false, Some(_), _) => Outcome::Waited,
            (false, None, Outcome::Failed) => Outcome::Uncached,
            (_, _, outcome) => outcome,
        };
        report::outcome(outcome, call);
        match own {
            Some(error) => Err(error),
            None => Ok(name),
        }
    }

    /// The work of the first caller of a flight.
    async fn lead(&mut self, call: &Call, head: &Head) -> Result<Resolved, Error> {
        let store = Arc::clone(&self.layer.store);
        let claimed = match self
            .layer
            .store_op("claim", store.claim(&head.key, CLAIM_TTL))
            .await
        {
            Some(true) => true,
            Some(false) => return Ok(self.layer.wait_for_winner(head).await),
            // A store that fails cannot arbitrate: create (this process remembers it).
            None => false,
        };
        let result = self.find_or_create(call, head).await;
        if claimed {
            self.layer
                .store_op("release", store.release(&head.key))
                .await;
        }
        result
    }

    async fn find_or_create(&mut self, call: &Call, head: &Head) -> Result<Resolved, Error> {
        let first_lookup = self
            .layer
            .state
            .listed
            .entry_by_ref(&head.key)
            .or_insert(())
            .is_fresh();
        if first_lookup {
            match self.find_listed(call, head).await {
                Ok(Some(found)) => {
                    let name = self.layer.remember_cache(head, found).await;
                    return Ok((Some(name), Outcome::Found));
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!(target: EVENT_TARGET, %error, "listing context caches failed; creating");
                }
            }
        }
        if head.size == Size::Near
            && let Some(tokens) = self.count_tokens(call, head).await
            && tokens < head.minimum
        {
            self.layer
                .remember(&head.key, &CacheEntry::Refused, REFUSAL_MEMORY)
                .await;
            return Ok((None, Outcome::TooSmall));
        }
        let created = match self.create(call, head).await {
            Ok(created) => created,
            Err(error) if uncached_fails_too(&error) => return Err(error),
            Err(error) => {
                tracing::debug!(target: EVENT_TARGET, %error, "creating a context cache failed; sending uncached");
                return Ok((None, Outcome::Failed));
            }
        };
        match created {
            Some(created) => {
                self.written = created
                    .usage_metadata
                    .as_ref()
                    .map(|usage| usage.total_token_count);
                let name = self.layer.remember_cache(head, created).await;
                Ok((Some(name), Outcome::Created))
            }
            None => {
                self.layer
                    .remember(&head.key, &CacheEntry::Refused, REFUSAL_MEMORY)
                    .await;
                Ok((None, Outcome::TooSmall))
            }
        }
    }

    /// Looks for the head's display name among the project's caches.
    async fn find_listed(
        &mut self,
        call: &Call,
        head: &Head,
    ) -> Result<Option<CachedContent>, Error> {
        let display = head.display_name();
        let mut page_token = None;
        for _ in 0..MAX_LIST_PAGES {
            let list = Call {
                model: call.model.clone(),
                method: Method::ListCachedContents { page_token },
                options: call.options.clone(),
                cache: None,
                context: call.context.clone(),
            };
            let Reply::CachedContents(page) = self.inner.clone().oneshot(list).await? else {
                return Err(Error::Decode(
                    "listing caches was answered with another kind of reply".to_owned(),
                ));
            };
            let found = page.cached_contents.into_iter().find(|cache| {
                cache.display_name.as_deref() == Some(display.as_str())
                    && cache.model.as_deref() == Some(head.body.model.as_str())
                    && head.usable(expire_time(cache, head.ttl))
            });
            if found.is_some() {
                return Ok(found);
            }
            page_token = page.next_page_token.filter(|token| !token.is_empty());
            if page_token.is_none() {
                break;
            }
        }
        Ok(None)
    }

    /// The head's tokens, counted by Google; `None` when the count failed (the create
    /// call then decides).
    async fn count_tokens(&mut self, call: &Call, head: &Head) -> Option<u64> {
        let mut body = head.body.clone();
        body.ttl = None;
        let count = Call {
            model: call.model.clone(),
            method: Method::CountTokens(CountTokensRequest {
                generate_content_request: body,
            }),
            options: call.options.clone(),
            cache: None,
            context: call.context.clone(),
        };
        match self.inner.clone().oneshot(count).await {
            Ok(Reply::TokenCount(count)) => Some(count.total_tokens),
            Ok(_) => None,
            Err(error) => {
                tracing::debug!(target: EVENT_TARGET, %error, "counting a head's tokens failed; creating");
                None
            }
        }
    }

    /// Creates the cache; `None` when Google will not cache this head.
    async fn create(&mut self, call: &Call, head: &Head) -> Result<Option<CachedContent>, Error> {
        let mut body = head.body.clone();
        body.display_name = Some(head.display_name());
        let create = Call {
            model: call.model.clone(),
            method: Method::CreateCachedContent(body),
            options: call.options.clone(),
            cache: None,
            context: call.context.clone(),
        };
        match self.inner.clone().oneshot(create).await {
            Ok(Reply::CachedContent(created)) => Ok(Some(created)),
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
                tracing::debug!(target: EVENT_TARGET, %message, "context cache not created; sending uncached");
                if let Some(minimum) = refused_minimum(&message) {
                    self.layer
                        .state
                        .minimums
                        .insert(call.model.clone(), minimum);
                }
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Extends a cache in its last quarter of life (one caller per head at a time).
    async fn refresh_if_due(
        &mut self,
        call: &Call,
        head: &Head,
        name: &str,
        expire_time: SystemTime,
    ) {
        let left = expire_time
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        if !self.layer.settings.refresh || left >= head.ttl / 4 || !valid_name(name) {
            return;
        }
        let claim = format!("{}:refresh", head.key);
        let store = Arc::clone(&self.layer.store);
        if self
            .layer
            .store_op("claim", store.claim(&claim, REFRESH_CLAIM_TTL))
            .await
            != Some(true)
        {
            return;
        }
        let update = Call {
            model: call.model.clone(),
            method: Method::UpdateCachedContent(CachedContentUpdate {
                name: name.to_owned(),
                ttl: format!("{}s", head.ttl.as_secs_f64()),
            }),
            options: call.options.clone(),
            cache: None,
            context: call.context.clone(),
        };
        match self.inner.clone().oneshot(update).await {
            Ok(Reply::CachedContent(updated)) => {
                tracing::debug!(target: EVENT_TARGET, outcome = "refreshed", model = call.model, "context cache");
                self.layer.remember_cache(head, updated).await;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(target: EVENT_TARGET, %error, "extending a context cache failed");
            }
        }
    }
}

impl ContextCacheLayer {
    /// Another process claimed the head: its entry, if it comes within the claim wait.
    async fn wait_for_winner(&self, head: &Head) -> Resolved {
        let deadline = Instant::now() + self.settings.claim_wait;
        let mut pause = Duration::from_millis(20);
        loop {
            let now = Instant::now();
            if now >= deadline {
                return (None, Outcome::Uncached);
            }
            tokio::time::sleep(pause.min(deadline - now)).await;
            pause = (pause * 2).min(Duration::from_millis(250));
            match self.store_op("get", self.store.get(&head.key)).await {
                Some(Some(CacheEntry::Cached { name, expire_time }))
                    if head.usable(expire_time) =>
                {
                    return (Some(name), Outcome::Waited);
                }
                Some(Some(CacheEntry::Refused)) => return (None, Outcome::TooSmall),
                Some(_) => {}
                None => return (None, Outcome::Uncached),
            }
        }
    }

    /// The fewest tokens Google caches for `model`: the minimum its refusal named, else
    /// the model table's; `None` for a model without context caching.
    fn minimum(&self, model: &str) -> Option<u64> {
        self.state
            .minimums
            .get(model)
            .or_else(|| facts(model).cache_min_tokens)
    }

    /// The store's entry for `key`; when the store fails, this process's own.
    async fn lookup(&self, key: &str) -> Option<CacheEntry> {
        match self.store_op("get", self.store.get(key)).await {
            Some(entry) => entry,
            None => self.state.local.get(key).await.ok().flatten(),
        }
    }

    /// Stores the entry of a cache Google holds; returns its name.
    async fn remember_cache(&self, head: &Head, cache: CachedContent) -> String {
        let expire_time = expire_time(&cache, head.ttl);
        let keep = expire_time
            .duration_since(SystemTime::now())
            .unwrap_or_default()
            .saturating_sub(head.margin());
        if !keep.is_zero() {
            let entry = CacheEntry::Cached {
                name: cache.name.clone(),
                expire_time,
            };
            self.remember(&head.key, &entry, keep).await;
        }
        cache.name
    }

    async fn remember(&self, key: &str, entry: &CacheEntry, ttl: Duration) {
        let _ = self.state.local.put(key, entry, ttl).await;
        self.store_op("put", self.store.put(key, entry, ttl)).await;
    }

    async fn forget(&self, key: &str) {
        let _ = self.state.local.remove(key).await;
        self.store_op("remove", self.store.remove(key)).await;
    }

    /// Runs a store operation within the store timeout; `None` when it failed (logged).
    async fn store_op<T>(
        &self,
        operation: &'static str,
        future: impl Future<Output = Result<T, StoreError>>,
    ) -> Option<T> {
        let error = match tokio::time::timeout(self.settings.store_timeout, future).await {
            Ok(Ok(value)) => return Some(value),
            Ok(Err(error)) => error,
            Err(_) => StoreError::new("no answer within the store timeout"),
        };
        self.state.errors.record(operation, &error);
        None
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

/// When Google drops `cache`: its `expireTime`, else `ttl` from now.
fn expire_time(cache: &CachedContent, ttl: Duration) -> SystemTime {
    cache
        .expire_time
        .as_deref()
        .and_then(|time| humantime::parse_rfc3339_weak(time).ok())
        .unwrap_or_else(|| SystemTime::now() + ttl)
}

/// `cachedContents/{id}` with an id of Google's characters (a name read from a shared
/// store goes into a URL path).
fn valid_name(name: &str) -> bool {
    name.strip_prefix("cachedContents/").is_some_and(|id| {
        !id.is_empty()
            && id
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
    })
}

/// The call as it would be without `cache_control`: the turn the head boundary split is
/// one turn again.
fn uncached(mut call: Call, plan: &CachePlan) -> Call {
    if let Method::Generate(body) | Method::StreamGenerate(body) = &mut call.method
        && plan.split_turn
    {
        join_split_turn(&mut body.contents, plan.contents);
    }
    call
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

/// Whether a failed create would fail the call uncached too: no key, or a key Google
/// refused.
fn uncached_fails_too(error: &Error) -> bool {
    match error {
        Error::MissingApiKey(_) => true,
        Error::Upstream { status, google, .. } => {
            *status == http::StatusCode::UNAUTHORIZED
                || *status == http::StatusCode::FORBIDDEN
                || google.as_ref().and_then(GoogleStatus::reason) == Some("API_KEY_INVALID")
        }
        _ => false,
    }
}

/// The minimum a refusal names: `Cached content is too small. total_token_count=97,
/// min_total_token_count=1024`.
fn refused_minimum(message: &str) -> Option<u64> {
    let (_, rest) = message.split_once("min_total_token_count=")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok().filter(|minimum| *minimum > 0)
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_minimum_a_refusal_names() {
        let refusal =
            "Cached content is too small. total_token_count=97, min_total_token_count=1024";
        assert_eq!(refused_minimum(refusal), Some(1024));
        assert_eq!(
            refused_minimum("min_total_token_count=4096 and more"),
            Some(4096)
        );
        assert_eq!(refused_minimum("Cached content is too small."), None);
        assert_eq!(refused_minimum("min_total_token_count=0"), None);
        assert_eq!(
            refused_minimum("min_total_token_count=99999999999999999999999"),
            None
        );
    }
}
