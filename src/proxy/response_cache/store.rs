//! Where cached replies are kept: in this process's memory (`type: local`, bounded in
//! bytes, each reply expiring after its own time to live) or in Redis (`type: redis`,
//! shared by every replica). Both are best-effort: a Redis that fails or is slow is a
//! miss, and the failure is logged at most once a minute.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;

use crate::store::RedisResponseStore;

/// The most bytes of replies (and their keys) kept in memory.
pub const MEMORY_BYTES: u64 = 64 * 1024 * 1024;

/// A reply in memory and how long it lives.
#[derive(Clone)]
pub(super) struct Kept {
    record: Arc<str>,
    ttl: Duration,
}

/// Each reply expires after its own time to live.
struct KeptFor;

impl Expiry<String, Kept> for KeptFor {
    fn expire_after_create(&self, _: &String, kept: &Kept, _: Instant) -> Option<Duration> {
        Some(kept.ttl)
    }
}

/// The replies' store.
#[derive(Clone)]
pub(super) enum ReplyStore {
    /// In memory, bounded by [`MEMORY_BYTES`].
    Memory(moka::sync::Cache<String, Kept>),
    /// In Redis, as `{prefix}reply:{key}`.
    Redis(RedisResponseStore),
}

impl ReplyStore {
    /// An empty in-memory store.
    pub(super) fn memory() -> Self {
        Self::Memory(
            moka::sync::Cache::builder()
                .max_capacity(MEMORY_BYTES)
                .weigher(|key: &String, kept: &Kept| {
                    u32::try_from(key.len() + kept.record.len()).unwrap_or(u32::MAX)
                })
                .expire_after(KeptFor)
                .build(),
        )
    }

    /// The record kept under `key`.
    pub(super) async fn get(&self, key: &str) -> Option<Arc<str>> {
        match self {
            Self::Memory(cache) => cache.get(key).map(|kept| kept.record),
            Self::Redis(redis) => {
                use crate::store::ResponseStore as _;
                redis.get(key).await.map(Arc::from)
            }
        }
    }

    /// Keeps `record` under `key` for `ttl` (in Redis, `None` keeps it until evicted;
    /// in memory a time to live is always given).
    pub(super) async fn put(&self, key: &str, record: String, ttl: Option<Duration>) {
        match self {
            Self::Memory(cache) => {
                if let Some(ttl) = ttl {
                    let record = Arc::from(record);
                    cache.insert(key.to_owned(), Kept { record, ttl });
                }
            }
            Self::Redis(redis) => redis.put_for(key, record, ttl).await,
        }
    }
}

impl std::fmt::Debug for ReplyStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Memory(cache) => f
                .debug_struct("Memory")
                .field("bytes", &cache.weighted_size())
                .finish(),
            Self::Redis(redis) => f.debug_tuple("Redis").field(redis).finish(),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::ReplyStore;

    #[tokio::test]
    async fn memory_keeps_each_reply_for_its_own_time() {
        let store = ReplyStore::memory();
        store
            .put("short", "a".to_owned(), Some(Duration::from_millis(30)))
            .await;
        store
            .put("long", "b".to_owned(), Some(Duration::from_secs(60)))
            .await;
        assert_eq!(store.get("short").await.as_deref(), Some("a"));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert_eq!(store.get("short").await, None);
        assert_eq!(store.get("long").await.as_deref(), Some("b"));
    }
}
