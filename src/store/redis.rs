//! [`RedisCacheStore`]: a [`CacheStore`] in Redis, shared by every replica pointed at it.
//!
//! Keys (`{prefix}` is `llm-tower:` unless set):
//!
//! | key | value | lifetime |
//! |---|---|---|
//! | `{prefix}cc:{head hash}` | [`CacheEntry::encode`]: `cached {expire ms} cachedContents/{id}` or `refused` | the entry's: a margin before Google's `expireTime`; ten minutes for `refused` |
//! | `{prefix}cc-claim:{head hash}` | `1` | the claim's (`SET … NX PX`), deleted when its creator is done |
//!
//! Nothing else is stored: no prompt text, no key (the hash covers them, one way).
//! The connection is a [`redis::aio::ConnectionManager`]: one multiplexed connection,
//! opened on first use (a Redis that is down at startup is not an error) and reopened in
//! the background after a failure; connecting and every command have short timeouts, so
//! a dead or slow Redis costs a request milliseconds, not a hang.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use super::{CacheEntry, CacheFuture, CacheStore, StoreError};

/// How long a command may wait for Redis's answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long opening a connection may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);

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
    client: redis::Client,
    /// Made on first use, inside the runtime (opening needs none: `--check-config` builds
    /// the store without one).
    connection: Arc<OnceCell<ConnectionManager>>,
    prefix: Arc<str>,
}

impl RedisCacheStore {
    /// A store at `url` (`redis://[:password@]host[:port][/db]`); the connection opens on
    /// first use, so a Redis that is down at startup is not an error here.
    ///
    /// # Errors
    ///
    /// A URL Redis's client does not accept (the error never quotes the password).
    pub fn open(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|error| StoreError::new(format!("invalid Redis URL: {}", error.category())))?;
        Ok(Self {
            client,
            connection: Arc::new(OnceCell::new()),
            prefix: "llm-tower:".into(),
        })
    }

    /// Keys start with `prefix` instead (several deployments sharing one Redis database).
    pub fn with_prefix(mut self, prefix: impl AsRef<str>) -> Self {
        self.prefix = prefix.as_ref().into();
        self
    }

    /// The connection (opened on first use and reopened in the background after a
    /// failure, shared by clones of this store), for other state kept in the same Redis.
    ///
    /// # Errors
    ///
    /// The client refused its settings (it does not with these).
    pub async fn connection(&self) -> Result<ConnectionManager, StoreError> {
        self.connection
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
            .map_err(StoreError::new)
    }

    fn entry_key(&self, key: &str) -> String {
        format!("{}cc:{key}", self.prefix)
    }

    fn claim_key(&self, key: &str) -> String {
        format!("{}cc-claim:{key}", self.prefix)
    }

    async fn query<T: redis::FromRedisValue>(&self, command: redis::Cmd) -> Result<T, StoreError> {
        let mut connection = self.connection().await?;
        command
            .query_async(&mut connection)
            .await
            .map_err(StoreError::new)
    }
}

impl std::fmt::Debug for RedisCacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisCacheStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Milliseconds for `PX`, at least one (Redis refuses zero).
fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

impl CacheStore for RedisCacheStore {
    fn get<'a>(&'a self, key: &'a str) -> CacheFuture<'a, Option<CacheEntry>> {
        Box::pin(async move {
            let text: Option<String> = self
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
            self.query::<()>(command).await
        })
    }

    fn remove<'a>(&'a self, key: &'a str) -> CacheFuture<'a, ()> {
        Box::pin(async move {
            let mut command = redis::cmd("DEL");
            command.arg(self.entry_key(key));
            self.query::<()>(command).await
        })
    }

    fn claim<'a>(&'a self, key: &'a str, ttl: Duration) -> CacheFuture<'a, bool> {
        Box::pin(async move {
            let mut command = redis::cmd("SET");
            command
                .arg(self.claim_key(key))
                .arg(1)
                .arg("NX")
                .arg("PX")
                .arg(millis(ttl));
            // `OK` when set, nil when the key exists.
            let set: Option<String> = self.query(command).await?;
            Ok(set.is_some())
        })
    }

    fn release<'a>(&'a self, key: &'a str) -> CacheFuture<'a, ()> {
        Box::pin(async move {
            let mut command = redis::cmd("DEL");
            command.arg(self.claim_key(key));
            self.query::<()>(command).await
        })
    }
}
