//! [`MemoryRouterStore`]: a [`RouterStore`] in this process's memory, for routers of one
//! process that share deployments (and for tests); Redis shares them between processes.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use moka::sync::Cache;
use tokio::time::Instant;

use super::router::{DeploymentLoad, RouterStore, RouterStoreFuture};

/// How long a minute's counts are kept (the current and the one before are read).
const COUNT_LIFETIME: Duration = Duration::from_secs(120);

/// Most deployments' counts and cooldowns kept.
const MAX_ENTRIES: u64 = 100_000;

/// Cooldowns and per-minute counts in memory, bounded in entries; clones share them.
///
/// ```
/// use llm_tower::store::{MemoryRouterStore, RouterStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), llm_tower::store::StoreError> {
/// let store = MemoryRouterStore::default();
/// let shared = store.clone();
/// assert!(store.take_request("a", 1, Some(1)).await?);
/// assert!(!shared.take_request("a", 1, Some(1)).await?);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct MemoryRouterStore {
    /// `(deployment, minute, what)` → count.
    counts: Cache<(Arc<str>, u64, Count), Arc<AtomicU64>>,
    /// deployment → end of its cooldown.
    cooldowns: Cache<Arc<str>, Instant>,
    /// Requests in flight: counter → holder → end of its lease.
    places: Arc<Mutex<HashMap<String, HashMap<String, Instant>>>>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
enum Count {
    Requests,
    Tokens,
}

impl Default for MemoryRouterStore {
    fn default() -> Self {
        Self {
            counts: Cache::builder()
                .max_capacity(MAX_ENTRIES)
                .time_to_live(COUNT_LIFETIME)
                .build(),
            cooldowns: Cache::builder().max_capacity(MAX_ENTRIES).build(),
            places: Arc::default(),
        }
    }
}

impl std::fmt::Debug for MemoryRouterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MemoryRouterStore")
            .field("counts", &self.counts.entry_count())
            .field("cooldowns", &self.cooldowns.entry_count())
            .finish()
    }
}

impl MemoryRouterStore {
    fn counter(&self, deployment: &str, minute: u64, count: Count) -> Arc<AtomicU64> {
        self.counts
            .get_with((deployment.into(), minute, count), Default::default)
    }

    fn places(&self) -> std::sync::MutexGuard<'_, HashMap<String, HashMap<String, Instant>>> {
        self.places.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn read(&self, deployment: &Arc<str>, minute: u64, count: Count) -> u64 {
        self.counts
            .get(&(deployment.clone(), minute, count))
            .map_or(0, |counter| counter.load(Ordering::Acquire))
    }
}

impl RouterStore for MemoryRouterStore {
    fn load<'a>(
        &'a self,
        deployments: &'a [Arc<str>],
        minute: u64,
    ) -> RouterStoreFuture<'a, Vec<DeploymentLoad>> {
        let now = Instant::now();
        let loads = deployments
            .iter()
            .map(|deployment| {
                let cooling = self
                    .cooldowns
                    .get(deployment)
                    .is_some_and(|until| until > now);
                DeploymentLoad::new(
                    self.read(deployment, minute, Count::Requests),
                    self.read(deployment, minute, Count::Tokens),
                )
                .cooling_down(cooling)
            })
            .collect();
        Box::pin(std::future::ready(Ok(loads)))
    }

    fn cool_down<'a>(&'a self, deployment: &'a str, time: Duration) -> RouterStoreFuture<'a, ()> {
        // A shorter cooldown never cuts a longer one short.
        let until = Instant::now() + time;
        self.cooldowns
            .entry(deployment.into())
            .and_upsert_with(|known| known.map_or(until, |known| until.max(*known.value())));
        Box::pin(std::future::ready(Ok(())))
    }

    fn take_request<'a>(
        &'a self,
        deployment: &'a str,
        minute: u64,
        limit: Option<u64>,
    ) -> RouterStoreFuture<'a, bool> {
        let counter = self.counter(deployment, minute, Count::Requests);
        let taken = counter
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
                limit.is_none_or(|limit| count < limit).then_some(count + 1)
            })
            .is_ok();
        Box::pin(std::future::ready(Ok(taken)))
    }

    fn add_tokens<'a>(
        &'a self,
        deployment: &'a str,
        minute: u64,
        tokens: u64,
    ) -> RouterStoreFuture<'a, ()> {
        let counter = self.counter(deployment, minute, Count::Tokens);
        let _ = counter.fetch_update(Ordering::AcqRel, Ordering::Acquire, |count| {
            Some(count.saturating_add(tokens))
        });
        Box::pin(std::future::ready(Ok(())))
    }

    fn hold<'a>(
        &'a self,
        counters: &'a [(String, u64)],
        holder: &'a str,
        lease: Duration,
    ) -> RouterStoreFuture<'a, bool> {
        let now = Instant::now();
        let mut places = self.places();
        let full = counters.iter().any(|(id, limit)| {
            // A limit of 0 admits nothing, as the Redis script's count of 0 >= 0 says.
            places.get_mut(id).map_or(*limit == 0, |held| {
                held.retain(|_, until| *until > now);
                held.len() as u64 >= *limit
            })
        });
        if !full {
            for (id, _) in counters {
                places
                    .entry(id.clone())
                    .or_default()
                    .insert(holder.to_owned(), now + lease);
            }
        }
        Box::pin(std::future::ready(Ok(!full)))
    }

    fn renew<'a>(
        &'a self,
        counters: &'a [String],
        holder: &'a str,
        lease: Duration,
    ) -> RouterStoreFuture<'a, ()> {
        let until = Instant::now() + lease;
        let mut places = self.places();
        for id in counters {
            if let Some(held) = places.get_mut(id).and_then(|held| held.get_mut(holder)) {
                *held = until;
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }

    fn release<'a>(&'a self, counters: &'a [String], holder: &'a str) -> RouterStoreFuture<'a, ()> {
        let mut places = self.places();
        for id in counters {
            if let Some(held) = places.get_mut(id) {
                held.remove(holder);
                if held.is_empty() {
                    places.remove(id);
                }
            }
        }
        Box::pin(std::future::ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn a_cooldown_ends_after_its_time() {
        let store = MemoryRouterStore::default();
        let ids: Vec<Arc<str>> = vec!["a".into()];
        store.cool_down("a", Duration::from_secs(5)).await.unwrap();
        assert!(store.load(&ids, 0).await.unwrap()[0].cooling_down);
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(!store.load(&ids, 0).await.unwrap()[0].cooling_down);
    }

    #[tokio::test(start_paused = true)]
    async fn a_shorter_cooldown_does_not_cut_a_longer_one_short() {
        let store = MemoryRouterStore::default();
        let ids: Vec<Arc<str>> = vec!["a".into()];
        store.cool_down("a", Duration::from_secs(60)).await.unwrap();
        store.cool_down("a", Duration::from_secs(5)).await.unwrap();
        tokio::time::advance(Duration::from_secs(6)).await;
        assert!(store.load(&ids, 0).await.unwrap()[0].cooling_down);
    }

    #[tokio::test(start_paused = true)]
    async fn a_place_not_renewed_is_free_after_its_lease() {
        let store = MemoryRouterStore::default();
        let lease = Duration::from_secs(30);
        let counters = [("key:a".to_owned(), 1), ("team:t".to_owned(), 2)];
        assert!(store.hold(&counters, "one", lease).await.unwrap());
        assert!(!store.hold(&counters, "two", lease).await.unwrap());
        tokio::time::advance(Duration::from_secs(20)).await;
        store
            .renew(&["key:a".to_owned()], "one", lease)
            .await
            .unwrap();
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(
            !store.hold(&counters, "two", lease).await.unwrap(),
            "renewed"
        );
        tokio::time::advance(Duration::from_secs(20)).await;
        assert!(
            store.hold(&counters, "two", lease).await.unwrap(),
            "expired"
        );
    }

    #[tokio::test]
    async fn a_limit_of_zero_admits_nothing() {
        let store = MemoryRouterStore::default();
        let counters = [("key:a".to_owned(), 0)];
        let lease = Duration::from_secs(30);
        assert!(!store.hold(&counters, "one", lease).await.unwrap());
    }

    #[tokio::test]
    async fn minutes_are_counted_apart() {
        let store = MemoryRouterStore::default();
        let ids: Vec<Arc<str>> = vec!["a".into()];
        assert!(store.take_request("a", 1, Some(1)).await.unwrap());
        assert!(store.take_request("a", 2, Some(1)).await.unwrap());
        store.add_tokens("a", 2, u64::MAX).await.unwrap();
        store.add_tokens("a", 2, 5).await.unwrap();
        let load = store.load(&ids, 2).await.unwrap()[0];
        assert_eq!((load.requests, load.tokens), (1, u64::MAX), "sums saturate");
    }
}
