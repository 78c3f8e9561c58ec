//! [`MemoryCacheStore`]: the in-process [`CacheStore`], bounded in entries.

use std::collections::HashMap;
use std::sync::Mutex;
use std::time::{Duration, Instant};

use super::{CacheStore, StoreFuture};

/// A [`CacheStore`] in this process's memory. When full, expired entries go first, then
/// the ones closest to expiring.
#[derive(Debug)]
pub struct MemoryCacheStore {
    entries: Mutex<HashMap<String, (String, Instant)>>,
    capacity: usize,
}

impl MemoryCacheStore {
    /// Holds at most `capacity` entries (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    fn entries(&self) -> std::sync::MutexGuard<'_, HashMap<String, (String, Instant)>> {
        // A panic while holding the lock cannot leave the map inconsistent: every update
        // is a single insert or remove.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for MemoryCacheStore {
    /// Ten thousand entries.
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl CacheStore for MemoryCacheStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        let found = {
            let mut entries = self.entries();
            match entries.get(key) {
                Some((name, expires)) if *expires > Instant::now() => Some(name.clone()),
                Some(_) => {
                    entries.remove(key);
                    None
                }
                None => None,
            }
        };
        Box::pin(std::future::ready(found))
    }

    fn put<'a>(&'a self, key: &'a str, name: &'a str, ttl: Duration) -> StoreFuture<'a, ()> {
        let now = Instant::now();
        let mut entries = self.entries();
        if entries.len() >= self.capacity && !entries.contains_key(key) {
            entries.retain(|_, (_, expires)| *expires > now);
            if entries.len() >= self.capacity {
                let soonest = entries
                    .iter()
                    .min_by_key(|(_, (_, expires))| *expires)
                    .map(|(key, _)| key.clone());
                if let Some(soonest) = soonest {
                    entries.remove(&soonest);
                }
            }
        }
        entries.insert(key.to_owned(), (name.to_owned(), now + ttl));
        Box::pin(std::future::ready(()))
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()> {
        self.entries().remove(key);
        Box::pin(std::future::ready(()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn expired_entries_are_misses_and_a_full_store_drops_the_soonest_to_expire() {
        let store = MemoryCacheStore::new(2);
        store.put("gone", "cachedContents/0", Duration::ZERO).await;
        assert_eq!(store.get("gone").await, None);
        store
            .put("a", "cachedContents/a", Duration::from_secs(10))
            .await;
        store
            .put("b", "cachedContents/b", Duration::from_secs(100))
            .await;
        store
            .put("c", "cachedContents/c", Duration::from_secs(50))
            .await;
        assert_eq!(store.get("a").await, None);
        assert_eq!(store.get("b").await.as_deref(), Some("cachedContents/b"));
        assert_eq!(store.get("c").await.as_deref(), Some("cachedContents/c"));
    }
}
