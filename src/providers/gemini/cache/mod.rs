//! [`ContextCacheLayer`]: explicit context caching. When a request marks the head of its
//! conversation with `cache_control` (see [`CachePlan`](super::CachePlan)), the head
//! (system instruction, leading turns, tools and tool config) goes into a `cachedContents`
//! entry, and the call is sent with `cachedContent: <name>` and only the rest of the
//! conversation.
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
//!    and creation (single flight); across processes, the creator first takes a claim in
//!    the store (`SET NX` of a random token of its own), renews it while its create is in
//!    flight (so a create slower than the claim's [`claim_ttl`](ContextCacheLayer::claim_ttl)
//!    still happens once), and deletes it only if it is still its own; the others wait up
//!    to [`claim_wait`](ContextCacheLayer::claim_wait) for its entry, then go on uncached
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
//! # Vertex AI
//!
//! The same layer serves Vertex AI's `projects/{p}/locations/{l}/cachedContents`: the
//! provider gives the model's resource name ([`model_prefix`](ContextCacheLayer::model_prefix)),
//! and Vertex's cache names (`projects/{number}/locations/{l}/cachedContents/{id}`) and its
//! messages for a gone cache (`Not found: cached content metadata for …`, `Cache content …
//! is expired.`) are understood beside AI Studio's.
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
//!
//! # Files
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`ContextCacheLayer`], its settings, the [`ContextCache`] service |
//! | `head.rs` | the head split out of the call, its key, the call rebuilt |
//! | `calls.rs` | one marked request's calls: find or create, refresh, send, resend |
//! | `store.rs` | the store side: lookups, entries, claims, the store timeout |
//! | `flight.rs` | single flight per head in this process |
//! | `size.rs` | the head's size against the model's minimum |
//! | `report.rs` | the outcome events and the store's failures, logged |

mod calls;
mod flight;
mod head;
mod report;
mod size;
mod store;

use std::pin::Pin;
use std::sync::{Arc, OnceLock};
use std::task::{Context, Poll};
use std::time::Duration;

use pin_project_lite::pin_project;
use tower_layer::Layer;
use tower_service::Service;

use super::call::{Call, Method, Reply};
use super::error::Error;
use crate::store::{CacheStore, MemoryCacheStore};
use calls::Cached;
use flight::Flights;
pub(crate) use head::sha256_hex;
pub use report::TARGET as EVENT_TARGET;
use report::{Outcome, StoreErrors};

/// Google's lifetime for a cache created without `ttl`.
const DEFAULT_TTL: Duration = Duration::from_secs(3600);

/// How long a refusal is remembered.
const REFUSAL_MEMORY: Duration = Duration::from_secs(600);

/// Prefix of the display name of the caches this layer creates.
const DISPLAY_PREFIX: &str = "llm-tower:";

/// How long a creator's claim lasts unless renewed (see [`ContextCacheLayer::claim_ttl`]).
const CLAIM_TTL: Duration = Duration::from_secs(30);

/// The shortest claim lifetime taken (it is renewed every third of it).
const MIN_CLAIM_TTL: Duration = Duration::from_millis(100);

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
    /// What a cache's `model` is, before the model id.
    models: Arc<str>,
    state: Arc<State>,
    settings: Settings,
}

/// What the layer's clones and services share.
///
/// Its caches are made on first use: a deployment that never sees a marked request pays
/// nothing for them (a `moka` cache takes about 32 KB before it holds anything, and a
/// proxy may configure thousands of deployments).
struct State {
    /// What this process found or created, used when the store fails.
    local: OnceLock<MemoryCacheStore>,
    /// Heads already looked up in Google's list.
    listed: OnceLock<moka::sync::Cache<String, ()>>,
    /// Lookups and creations in progress.
    flights: Flights<Resolved>,
    errors: StoreErrors,
    /// The minimum Google named when it refused a head, by model.
    minimums: OnceLock<moka::sync::Cache<String, u64>>,
}

impl State {
    fn local(&self) -> &MemoryCacheStore {
        self.local
            .get_or_init(|| MemoryCacheStore::new(LOCAL_CAPACITY))
    }

    fn listed(&self) -> &moka::sync::Cache<String, ()> {
        self.listed
            .get_or_init(|| moka::sync::Cache::new(LISTED_CAPACITY))
    }

    fn minimums(&self) -> &moka::sync::Cache<String, u64> {
        self.minimums
            .get_or_init(|| moka::sync::Cache::new(LEARNED_CAPACITY))
    }

    /// The minimum learned for `model`, if any (without making the cache).
    fn learned_minimum(&self, model: &str) -> Option<u64> {
        self.minimums.get().and_then(|minimums| minimums.get(model))
    }
}

#[derive(Clone, Copy)]
struct Settings {
    claim_ttl: Duration,
    claim_wait: Duration,
    store_timeout: Duration,
    refresh: bool,
}

impl ContextCacheLayer {
    /// Remembers caches in `store`, under keys that also hash `namespace` (something that
    /// tells apart the providers sharing a store: their endpoint and key).
    pub fn new(store: Arc<dyn CacheStore>, namespace: impl AsRef<str>) -> Self {
        Self {
            store,
            namespace: namespace.as_ref().into(),
            models: "models/".into(),
            state: Arc::new(State {
                local: OnceLock::new(),
                listed: OnceLock::new(),
                flights: Flights::new(),
                errors: StoreErrors::new(Duration::from_secs(60)),
                minimums: OnceLock::new(),
            }),
            settings: Settings {
                claim_ttl: CLAIM_TTL,
                claim_wait: Duration::from_secs(3),
                store_timeout: Duration::from_millis(250),
                refresh: true,
            },
        }
    }

    /// How long a creator's claim lasts unless renewed (default: 30 s; at least 100 ms).
    /// The claim is renewed every third of this while its lookup and create are in flight,
    /// so a create slower than this still keeps the other processes waiting rather than
    /// creating a second cache; a process that dies holding a claim holds it this long at
    /// most.
    pub fn claim_ttl(mut self, ttl: Duration) -> Self {
        self.settings.claim_ttl = ttl.max(MIN_CLAIM_TTL);
        self
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

    /// What comes before the model id in a cache's `model` (default: AI Studio's
    /// `models/`). Vertex AI names the model by its full resource name,
    /// `projects/{project}/locations/{location}/publishers/google/models/`, and its
    /// `cachedContents` live under the same `projects/{project}/locations/{location}` as
    /// its models, so the HTTP level's base URL serves both.
    ///
    /// ```
    /// use llm_tower::gemini::ContextCacheLayer;
    ///
    /// let _vertex = ContextCacheLayer::default()
    ///     .model_prefix("projects/my-project/locations/us-central1/publishers/google/models/");
    /// ```
    pub fn model_prefix(mut self, prefix: impl AsRef<str>) -> Self {
        self.models = prefix.as_ref().into();
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
            .field("claim_ttl", &self.settings.claim_ttl)
            .field("claim_wait", &self.settings.claim_wait)
            .field("store_timeout", &self.settings.store_timeout)
            .field("refresh_ttl", &self.settings.refresh)
            .field("model_prefix", &self.models)
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

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
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
