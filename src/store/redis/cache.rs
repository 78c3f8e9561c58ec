//! [`RedisCacheStore`]: a [`CacheStore`] in Redis, shared by every replica pointed at it
//! (its keys: `{prefix}cc:` and `{prefix}cc-claim:`, see the [module](super)), and the
//! handle the [`RedisResponseStore`] on the same connection is made from.

use std::sync::LazyLock;
use std::time::Duration;

use redis::aio::MultiplexedConnection;

use super::connection::{Connection, millis};
use super::{RedisResponseStore, RedisRouterStore};
use crate::store::{CacheEntry, CacheFuture, CacheStore, DEFAULT_RESPONSE_TTL, StoreError};

/// Deletes a claim if its owner asks: `KEYS[1]` the claim, `ARGV[1]` the owner's token.
const RELEASE: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('DEL', KEYS[1]) end
return 0
";

/// Makes a claim last longer if its owner asks: `KEYS[1]` the claim, `ARGV[1]` the
/// owner's token, `ARGV[2]` the new lifetime in ms. `1` when extended.
const EXTEND: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then return redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
return 0
";

/// The scripts, hashed once per process (sent as `EVALSHA`, loaded when Redis lacks them).
static RELEASE_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(RELEASE));
static EXTEND_SCRIPT: LazyLock<redis::Script> = LazyLock::new(|| redis::Script::new(EXTEND));

/// A [`CacheStore`] in Redis.
///
/// ```no_run
/// use std::sync::Arc;
/// use llm_tower::store::RedisCacheStore;
/// use llm_tower::gemini::Gemini;
///
/// let store = RedisCacheStore::open("redis://:secret@10.0.0.5:6379/0")?;
/// let gemini = Gemini::builder().cache_store(Arc::new(store)).build();
/// # Ok::<(), llm_tower::store::StoreError>(())
/// ```
#[derive(Clone)]
pub struct RedisCacheStore {
    pub(super) connection: Connection,
}

impl RedisCacheStore {
    /// A store at `url` (`redis://[:password@]host[:port][/db]`, `rediss://` for TLS, or
    /// `redis+unix:///path`); the connection opens on first use, so a Redis that is down at
    /// startup is not an error here.
    ///
    /// # Errors
    ///
    /// A URL Redis's client does not accept (the error never quotes the password).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        Ok(Self {
            connection: Connection::open(url)?,
        })
    }

    /// Keys start with `prefix` instead (several deployments sharing one Redis database).
    pub fn with_prefix(mut self, prefix: impl AsRef<str>) -> Self {
        self.connection = self.connection.with_prefix(prefix.as_ref());
        self
    }

    /// The [`RedisResponseStore`] in the same Redis, under the same prefix and over the
    /// same connection, keeping records for [`DEFAULT_RESPONSE_TTL`]
    /// ([`RedisResponseStore::with_ttl`] changes it).
    ///
    /// ```no_run
    /// use std::sync::Arc;
    /// use std::time::Duration;
    /// use llm_tower::layers::responses::ResponsesLayer;
    /// use llm_tower::store::RedisCacheStore;
    ///
    /// let caches = RedisCacheStore::open("redis://10.0.0.5:6379/0")?;
    /// let responses = caches.response_store().with_ttl(Duration::from_secs(3600));
    /// let layer = ResponsesLayer::new().store(Arc::new(responses));
    /// # let _ = layer;
    /// # Ok::<(), llm_tower::store::StoreError>(())
    /// ```
    pub fn response_store(&self) -> RedisResponseStore {
        RedisResponseStore::new(self.connection.clone(), "resp", DEFAULT_RESPONSE_TTL)
    }

    /// A [`RedisResponseStore`] of cached chat and embeddings replies (the proxy's
    /// response cache), keyed `{prefix}reply:{key}` in the same Redis, over the same
    /// connection; [`RedisResponseStore::put_for`] gives each reply its own time to live.
    pub fn reply_store(&self) -> RedisResponseStore {
        RedisResponseStore::new(self.connection.clone(), "reply", DEFAULT_RESPONSE_TTL)
    }

    /// The [`RedisRouterStore`] in the same Redis, under the same prefix and over the same
    /// connection: cooldowns and `rpm`/`tpm` counts shared by replicas.
    pub fn router_store(&self) -> RedisRouterStore {
        RedisRouterStore::new(self.connection.clone())
    }

    /// Adds one to the counter `{prefix}{name}`: how replicas tell each other that
    /// something they keep changed.
    #[cfg(feature = "proxy")]
    pub(crate) async fn bump(&self, name: &str) -> Result<(), StoreError> {
        let mut command = redis::cmd("INCR");
        command.arg(format!("{}{name}", self.connection.prefix()));
        self.connection.query::<i64>(command).await.map(drop)
    }

    /// The counter `{prefix}{name}` (0 before its first [`bump`](Self::bump)).
    #[cfg(feature = "proxy")]
    pub(crate) async fn count(&self, name: &str) -> Result<u64, StoreError> {
        let mut command = redis::cmd("GET");
        command.arg(format!("{}{name}", self.connection.prefix()));
        let count: Option<u64> = self.connection.query(command).await?;
        Ok(count.unwrap_or(0))
    }

    /// The connection (opened on first use, shared by clones of this store and its
    /// [`response_store`](Self::response_store)), for other state kept in the same Redis.
    ///
    /// A command of yours that fails on it does not mark it broken: it is replaced when a
    /// store's own command finds it broken, so ask for it again after a failure rather
    /// than keeping it, and send a command again yourself if that is safe for it.
    ///
    /// # Errors
    ///
    /// Redis could not be reached (or refused the connection's authentication).
    pub async fn connection(&self) -> Result<MultiplexedConnection, StoreError> {
        self.connection.multiplexed().await
    }

    fn entry_key(&self, key: &str) -> String {
        self.connection.key("cc", key)
    }

    fn claim_key(&self, key: &str) -> String {
        self.connection.key("cc-claim", key)
    }
}

impl std::fmt::Debug for RedisCacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCacheStore")
            .field("prefix", &self.connection.prefix())
            .finish_non_exhaustive()
    }
}

impl CacheStore for RedisCacheStore {
    fn get<'a>(&'a self, key: &'a str) -> CacheFuture<'a, Option<CacheEntry>> {
        Box::pin(async move {
            let text: Option<String> = self
                .connection
                .query(redis::cmd("GET").arg(self.entry_key(key)).clone())
                .await?;
            match text {
                None => Ok(None),
                Some(text) => CacheEntry::decode(&text)
                    .map(Some)
                    .ok_or_else(|| StoreError::new("an entry that is not one of ours")),
            }
        })
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        entry: &'a CacheEntry,
        ttl: Duration,
    ) -> CacheFuture<'a, ()> {
        Box::pin(async move {
            let mut command = redis::cmd("SET");
            command
                .arg(self.entry_key(key))
                .arg(entry.encode())
                .arg("PX")
                .arg(millis(ttl));
            self.connection.query::<()>(command).await
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> CacheFuture<'a, ()> {
        Box::pin(async move {
            let mut command = redis::cmd("DEL");
            command.arg(self.entry_key(key));
            self.connection.query::<()>(command).await
        })
    }

    fn claim<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CacheFuture<'a, bool> {
        Box::pin(async move {
            let mut command = redis::cmd("SET");
            command
                .arg(self.claim_key(key))
                .arg(owner)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl));
            // `OK` when set, nil when the key exists.
            let set: Option<String> = self.connection.query(command).await?;
            Ok(set.is_some())
        })
    }

    fn extend<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CacheFuture<'a, bool> {
        Box::pin(async move {
            let mut invocation = EXTEND_SCRIPT.key(self.claim_key(key));
            invocation.arg(owner).arg(millis(ttl));
            let extended: u8 = self.connection.invoke(invocation).await?;
            Ok(extended == 1)
        })
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> CacheFuture<'a, ()> {
        Box::pin(async move {
            let mut invocation = RELEASE_SCRIPT.key(self.claim_key(key));
            invocation.arg(owner);
            self.connection.invoke::<()>(invocation).await
        })
    }
}
