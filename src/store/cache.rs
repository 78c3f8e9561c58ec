//! The context-cache registry: a [`CacheStore`] maps the hash of a conversation head
//! (model, system instruction, cached turns, tools, credentials) to the `cachedContents`
//! entry Google holds for it, so the next request with the same head reuses it instead of
//! creating another.
//!
//! [`MemoryCacheStore`](super::MemoryCacheStore) keeps the map in the process;
//! [`RedisCacheStore`](super::RedisCacheStore) (feature `redis`) shares it between the
//! replicas of a gateway. A store is a best-effort index: its caller treats an error as
//! "not found" and goes on, so a store never fails a request.

use std::pin::Pin;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The future of a store operation.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// The future of a [`CacheStore`] operation: the store may fail (the caller treats that as
/// a miss).
pub type CacheFuture<'a, T> = StoreFuture<'a, Result<T, StoreError>>;

/// What a store holds for one head.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum CacheEntry {
    /// Google holds the head as `name` (`cachedContents/{id}`) until `expire_time`.
    Cached {
        /// The resource name.
        name: String,
        /// When Google drops it (its `expireTime`).
        expire_time: SystemTime,
    },
    /// Google will not cache the head (below the model's minimum size): while this entry
    /// lasts, the head is sent uncached without asking again.
    Refused,
}

impl CacheEntry {
    /// The entry as one line of text (how [`RedisCacheStore`](super::RedisCacheStore)
    /// stores it): `cached {unix milliseconds} {name}` or `refused`.
    ///
    /// ```
    /// use std::time::{Duration, UNIX_EPOCH};
    /// use llm_tower::store::CacheEntry;
    ///
    /// let entry = CacheEntry::Cached {
    ///     name: "cachedContents/abc".to_owned(),
    ///     expire_time: UNIX_EPOCH + Duration::from_millis(1_700_000_000_123),
    /// };
    /// assert_eq!(entry.encode(), "cached 1700000000123 cachedContents/abc");
    /// assert_eq!(CacheEntry::decode(&entry.encode()), Some(entry));
    /// assert_eq!(CacheEntry::decode("refused"), Some(CacheEntry::Refused));
    /// assert_eq!(CacheEntry::decode("cached soon x"), None);
    /// ```
    pub fn encode(&self) -> String {
        match self {
            Self::Cached { name, expire_time } => {
                let millis = expire_time
                    .duration_since(UNIX_EPOCH)
                    .unwrap_or_default()
                    .as_millis();
                format!("cached {millis} {name}")
            }
            Self::Refused => "refused".to_owned(),
        }
    }

    /// Reads [`encode`](Self::encode)'s text; `None` for anything else.
    pub fn decode(text: &str) -> Option<Self> {
        if text == "refused" {
            return Some(Self::Refused);
        }
        let (millis, name) = text.strip_prefix("cached ")?.split_once(' ')?;
        let millis: u64 = millis.parse().ok()?;
        Some(Self::Cached {
            name: name.to_owned(),
            expire_time: UNIX_EPOCH + Duration::from_millis(millis),
        })
    }
}

/// A store that could not answer (unreachable, timed out, a reply it did not understand).
///
/// ```
/// use llm_tower::store::StoreError;
/// let error = StoreError::new("connection refused");
/// assert_eq!(error.to_string(), "store: connection refused");
/// ```
#[derive(Debug, thiserror::Error)]
#[error("store: {0}")]
pub struct StoreError(Box<dyn std::error::Error + Send + Sync>);

impl StoreError {
    /// Wraps the store's own error.
    pub fn new(error: impl Into<Box<dyn std::error::Error + Send + Sync>>) -> Self {
        Self(error.into())
    }
}

/// Maps conversation-head hashes to [`CacheEntry`]s with a lifetime, and hands out short
/// claims so that only one of several processes creates the cache of a head.
///
/// A claim has an owner: the random token its taker chose. Only that owner extends or
/// releases it, so a process whose claim ran out never ends the claim another took since.
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use llm_tower::store::{CacheEntry, CacheStore, MemoryCacheStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), llm_tower::store::StoreError> {
/// let store = MemoryCacheStore::new(1000);
/// let entry = CacheEntry::Cached {
///     name: "cachedContents/abc".to_owned(),
///     expire_time: SystemTime::now() + Duration::from_secs(3600),
/// };
/// let ttl = Duration::from_secs(10);
/// assert!(store.claim("head-hash", "token-a", ttl).await?);
/// assert!(!store.claim("head-hash", "token-b", ttl).await?, "claimed already");
/// store.release("head-hash", "token-b").await?; // not b's to release
/// assert!(!store.extend("head-hash", "token-b", ttl).await?);
/// assert!(store.extend("head-hash", "token-a", ttl).await?);
/// store.put("head-hash", &entry, Duration::from_secs(60)).await?;
/// store.release("head-hash", "token-a").await?;
/// assert!(store.claim("head-hash", "token-b", ttl).await?, "released by its owner");
/// assert_eq!(store.get("head-hash").await?, Some(entry));
/// store.remove("head-hash").await?;
/// assert_eq!(store.get("head-hash").await?, None);
/// # Ok(()) }
/// ```
pub trait CacheStore: Send + Sync + 'static {
    /// The entry stored under `key`, unless its lifetime ended.
    fn get<'a>(&'a self, key: &'a str) -> CacheFuture<'a, Option<CacheEntry>>;

    /// Stores `entry` under `key` for `ttl`.
    fn put<'a>(&'a self, key: &'a str, entry: &'a CacheEntry, ttl: Duration)
    -> CacheFuture<'a, ()>;

    /// Forgets `key` (Google no longer has its cache).
    fn remove<'a>(&'a self, key: &'a str) -> CacheFuture<'a, ()>;

    /// Claims the right to create the cache of `key` for `ttl`, for `owner` (a random
    /// token of the caller's): `true` for the first caller, `false` while someone else's
    /// claim lasts (Redis: `SET … NX PX`).
    fn claim<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CacheFuture<'a, bool>;

    /// Makes `owner`'s claim of `key` last `ttl` from now: `false` (and nothing changed)
    /// when the claim is not `owner`'s any more (it ran out, and perhaps another took it).
    fn extend<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CacheFuture<'a, bool>;

    /// Ends `owner`'s claim of `key` before its time (the creator is done, or failed); a
    /// claim of another owner is left alone (Redis: compare and delete, in one script).
    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> CacheFuture<'a, ()>;
}
