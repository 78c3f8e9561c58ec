//! [`MemoryCacheStore`]: the in-process [`CacheStore`], bounded in entries.

use std::sync::Arc;
use std::time::{Duration, Instant};

use moka::Expiry;
use moka::ops::compute::Op;
use moka::sync::Cache;

use super::{CacheEntry, CacheFuture, CacheStore};

/// A [`CacheStore`] in this process's memory: a [`moka`] cache holding at most `capacity`
/// entries (and as many claims), each dropped when its own lifetime ends; when full, the
/// entries least likely to be asked for again go first (TinyLFU admission, LRU eviction).
///
/// ```
/// use llm_tower::store::MemoryCacheStore;
/// let store = MemoryCacheStore::new(10_000);
/// # let _ = store;
/// ```
#[derive(Clone)]
pub struct MemoryCacheStore {
    entries: Cache<String, Timed<CacheEntry>>,
    /// Each claim's owner.
    claims: Cache<String, Timed<Arc<str>>>,
}

/// A value and the instant it stops being valid.
#[derive(Clone)]
struct Timed<T> {
    value: T,
    until: Instant,
}

/// Each entry lives until its own `until`.
struct UntilExpiry;

impl<T> Expiry<String, Timed<T>> for UntilExpiry {
    fn expire_after_create(
        &self,
        _key: &String,
        value: &Timed<T>,
        created_at: Instant,
    ) -> Option<Duration> {
        Some(value.until.saturating_duration_since(created_at))
    }

    fn expire_after_update(
        &self,
        _key: &String,
        value: &Timed<T>,
        updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        Some(value.until.saturating_duration_since(updated_at))
    }
}

impl MemoryCacheStore {
    /// Holds at most `capacity` entries (at least one).
    pub fn new(capacity: u64) -> Self {
        let capacity = capacity.max(1);
        Self {
            entries: Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExpiry)
                .build(),
            claims: Cache::builder()
                .max_capacity(capacity)
                .expire_after(UntilExpiry)
                .build(),
        }
    }
}

impl Default for MemoryCacheStore {
    /// Ten thousand entries.
    fn default() -> Self {
        Self::new(10_000)
    }
}

impl std::fmt::Debug for MemoryCacheStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryCacheStore")
            .field("entries", &self.entries.entry_count())
            .finish_non_exhaustive()
    }
}

impl CacheStore for MemoryCacheStore {
    fn get<'a>(&'a self, key: &'a str) -> CacheFuture<'a, Option<CacheEntry>> {
        let now = Instant::now();
        let found = self
            .entries
            .get(key)
            .filter(|timed| timed.until > now)
            .map(|timed| timed.value);
        Box::pin(std::future::ready(Ok(found)))
    }

    fn put<'a>(
        &'a self,
        key: &'a str,
        entry: &'a CacheEntry,
        ttl: Duration,
    ) -> CacheFuture<'a, ()> {
        let timed = Timed {
            value: entry.clone(),
            until: Instant::now() + ttl,
        };
        self.entries.insert(key.to_owned(), timed);
        Box::pin(std::future::ready(Ok(())))
    }

    fn remove<'a>(&'a self, key: &'a str) -> CacheFuture<'a, ()> {
        self.entries.invalidate(key);
        Box::pin(std::future::ready(Ok(())))
    }

    fn claim<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CacheFuture<'a, bool> {
        let until = Instant::now() + ttl;
        let won = self
            .claims
            .entry_by_ref(key)
            .or_insert_with_if(
                || Timed {
                    value: owner.into(),
                    until,
                },
                |held| held.until <= Instant::now(),
            )
            .is_fresh();
        Box::pin(std::future::ready(Ok(won)))
    }

    fn extend<'a>(&'a self, key: &'a str, owner: &'a str, ttl: Duration) -> CacheFuture<'a, bool> {
        let now = Instant::now();
        let mut extended = false;
        self.claims
            .entry_by_ref(key)
            .and_compute_with(|held| match held {
                Some(held) if held.value().until > now && &*held.value().value == owner => {
                    extended = true;
                    Op::Put(Timed {
                        value: held.into_value().value,
                        until: now + ttl,
                    })
                }
                _ => Op::Nop,
            });
        Box::pin(std::future::ready(Ok(extended)))
    }

    fn release<'a>(&'a self, key: &'a str, owner: &'a str) -> CacheFuture<'a, ()> {
        self.claims
            .entry_by_ref(key)
            .and_compute_with(|held| match held {
                Some(held) if &*held.value().value == owner => Op::Remove,
                _ => Op::Nop,
            });
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use std::time::SystemTime;

    use super::*;

    fn entry(name: &str) -> CacheEntry {
        CacheEntry::Cached {
            name: name.to_owned(),
            expire_time: SystemTime::now() + Duration::from_secs(3600),
        }
    }

    #[tokio::test]
    async fn entries_and_claims_end_with_their_lifetimes_and_the_store_is_bounded() {
        let store = MemoryCacheStore::new(2);
        store
            .put("gone", &entry("cachedContents/0"), Duration::ZERO)
            .await
            .expect("stored");
        assert_eq!(store.get("gone").await.expect("answers"), None);
        for key in ["a", "b", "c", "d"] {
            store
                .put(key, &entry(key), Duration::from_secs(60))
                .await
                .expect("stored");
        }
        store.entries.run_pending_tasks();
        assert!(store.entries.entry_count() <= 2);

        let ttl = Duration::from_secs(5);
        assert!(
            store
                .claim("k", "a", Duration::from_millis(30))
                .await
                .expect("answers")
        );
        assert!(!store.claim("k", "b", ttl).await.expect("answers"));
        tokio::time::sleep(Duration::from_millis(60)).await;
        assert!(
            !store.extend("k", "a", ttl).await.expect("answers"),
            "a's claim ran out"
        );
        assert!(
            store.claim("k", "b", ttl).await.expect("answers"),
            "expired"
        );
        // A late release by the owner whose claim ran out leaves b's claim alone.
        store.release("k", "a").await.expect("answers");
        assert!(!store.claim("k", "c", ttl).await.expect("answers"));
        assert!(store.extend("k", "b", ttl).await.expect("answers"));
        store.release("k", "b").await.expect("answers");
        assert!(
            store.claim("k", "c", ttl).await.expect("answers"),
            "released by its owner"
        );
    }

    #[tokio::test]
    async fn an_extended_claim_outlasts_its_first_lifetime() {
        let store = MemoryCacheStore::default();
        let short = Duration::from_millis(40);
        assert!(store.claim("k", "a", short).await.expect("answers"));
        tokio::time::sleep(Duration::from_millis(25)).await;
        assert!(
            store
                .extend("k", "a", Duration::from_secs(5))
                .await
                .expect("answers")
        );
        tokio::time::sleep(Duration::from_millis(40)).await;
        assert!(
            !store.claim("k", "b", short).await.expect("answers"),
            "still a's"
        );
    }
}
