//! [`MemoryResponseStore`]: the in-process [`ResponseStore`], bounded in bytes, each record
//! kept for a time to live. It is a [`moka`] cache: concurrent, and when full it evicts
//! the records least likely to be used again.

use std::sync::Arc;
use std::time::Duration;

use super::{ResponseStore, StoreFuture};

/// Bytes of records a default store holds: 128 MiB.
pub const DEFAULT_RESPONSE_STORE_BYTES: u64 = 128 * 1024 * 1024;

/// How long a default store keeps a record: one day.
pub const DEFAULT_RESPONSE_TTL: Duration = Duration::from_secs(24 * 60 * 60);

/// A [`ResponseStore`] in this process's memory.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::store::MemoryResponseStore;
///
/// let store = MemoryResponseStore::new(64 * 1024 * 1024, Duration::from_secs(3600));
/// # let _ = store;
/// ```
#[derive(Clone)]
pub struct MemoryResponseStore {
    records: moka::sync::Cache<String, Arc<str>>,
}

impl MemoryResponseStore {
    /// Holds at most `capacity` bytes of keys and records, each for `ttl`.
    pub fn new(capacity: u64, ttl: Duration) -> Self {
        let records = moka::sync::Cache::builder()
            .max_capacity(capacity)
            .weigher(|key: &String, record: &Arc<str>| {
                u32::try_from(key.len() + record.len()).unwrap_or(u32::MAX)
            })
            .time_to_live(ttl)
            .build();
        Self { records }
    }
}

impl Default for MemoryResponseStore {
    /// [`DEFAULT_RESPONSE_STORE_BYTES`] for [`DEFAULT_RESPONSE_TTL`].
    fn default() -> Self {
        Self::new(DEFAULT_RESPONSE_STORE_BYTES, DEFAULT_RESPONSE_TTL)
    }
}

impl std::fmt::Debug for MemoryResponseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryResponseStore")
            .field("entries", &self.records.entry_count())
            .field("bytes", &self.records.weighted_size())
            .finish()
    }
}

impl ResponseStore for MemoryResponseStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        let found = self.records.get(key).map(|record| record.to_string());
        Box::pin(std::future::ready(found))
    }

    fn put<'a>(&'a self, key: &'a str, record: String) -> StoreFuture<'a, ()> {
        self.records.insert(key.to_owned(), Arc::from(record));
        Box::pin(std::future::ready(()))
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        let removed = self.records.remove(key).is_some();
        Box::pin(std::future::ready(removed))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn records_expire_and_a_full_store_evicts() {
        let store = MemoryResponseStore::new(1024, Duration::from_millis(50));
        store.put("a", "x".repeat(100)).await;
        assert_eq!(store.get("a").await.map(|record| record.len()), Some(100));
        tokio::time::sleep(Duration::from_millis(80)).await;
        assert_eq!(store.get("a").await, None, "expired");

        let store = MemoryResponseStore::new(1024, Duration::from_secs(60));
        for index in 0..50 {
            store.put(&format!("k{index}"), "y".repeat(100)).await;
        }
        store.records.run_pending_tasks();
        assert!(store.records.weighted_size() <= 1024, "bounded in bytes");
        assert!(!store.remove("missing").await);
    }
}
