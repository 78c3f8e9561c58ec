//! The layer's side of the [`CacheStore`](crate::store::CacheStore): lookups and entries
//! (with this process's own memory for when the store fails), claims (taken with a token
//! of their own, renewed while a create is in flight), waiting for another process's
//! create, and the store timeout.

use std::time::{Duration, Instant, SystemTime};

use super::head::Head;
use super::report::Outcome;
use super::{ContextCacheLayer, EVENT_TARGET, Resolved};
use crate::providers::gemini::facts::facts;
use crate::providers::gemini::wire::CachedContent;
use crate::store::{CacheEntry, CacheStore, StoreError};

impl ContextCacheLayer {
    /// Renews `owner`'s claim of `key` every third of its lifetime, for as long as it is
    /// polled (a claim found lost is left alone: the create goes on, and the store's entry
    /// is written by whoever finishes).
    pub(super) async fn keep_claim(&self, key: &str, owner: &str) -> std::convert::Infallible {
        let ttl = self.settings.claim_ttl;
        loop {
            tokio::time::sleep(ttl / 3).await;
            let extended = self
                .store_op("extend", self.store.extend(key, owner, ttl))
                .await;
            if extended == Some(false) {
                tracing::debug!(target: EVENT_TARGET, "the claim to create a context cache ran out before the create ended");
                return std::future::pending().await;
            }
        }
    }

    /// Another process claimed the head: its entry, if it comes within the claim wait.
    pub(super) async fn wait_for_winner(&self, head: &Head) -> Resolved {
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
    pub(super) fn minimum(&self, model: &str) -> Option<u64> {
        self.state
            .learned_minimum(model)
            .or_else(|| facts(model).cache_min_tokens)
    }

    /// The store's entry for `key`; when the store fails, this process's own.
    pub(super) async fn lookup(&self, key: &str) -> Option<CacheEntry> {
        match self.store_op("get", self.store.get(key)).await {
            Some(entry) => entry,
            None => self.state.local().get(key).await.ok().flatten(),
        }
    }

    /// Stores the entry of a cache Google holds; returns its name.
    pub(super) async fn remember_cache(&self, head: &Head, cache: CachedContent) -> String {
        let expire_time = head.expire_time(&cache);
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

    pub(super) async fn remember(&self, key: &str, entry: &CacheEntry, ttl: Duration) {
        let _ = self.state.local().put(key, entry, ttl).await;
        self.store_op("put", self.store.put(key, entry, ttl)).await;
    }

    pub(super) async fn forget(&self, key: &str) {
        let _ = self.state.local().remove(key).await;
        self.store_op("remove", self.store.remove(key)).await;
    }

    /// Runs a store operation within the store timeout; `None` when it failed (logged).
    pub(super) async fn store_op<T>(
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

/// A claim's owner: a random token of 128 bits, told apart from every other claimant's.
pub(super) fn claim_token() -> String {
    format!("{:032x}", fastrand::u128(..))
}
