//! Where context caches are remembered: a [`CacheStore`] maps the hash of a conversation
//! head (model, system instruction, cached turns, tools, credentials) to the name of the
//! `cachedContents` entry Google holds for it, so the next request with the same head
//! reuses it instead of creating another. [`MemoryCacheStore`] keeps the map in the
//! process; implement the trait over a shared store so several proxy replicas reuse each
//! other's caches.
//!
//! A store is a best-effort index: a failure to read or write it must behave as a miss
//! (the cache is created again), never fail a request. An empty name records that Google
//! refused to cache a head (too small), so it is not offered again for a while.
//!
//! Stored responses of the Responses API are kept the same way: a [`ResponseStore`] maps
//! an owner's namespace and a response id to the stored record, and
//! [`MemoryResponseStore`] (bounded in bytes, with a time to live) is the default.

mod memory;
mod memory_response;
mod response;

use std::pin::Pin;
use std::time::Duration;

pub use memory::MemoryCacheStore;
pub use memory_response::{
    DEFAULT_RESPONSE_STORE_BYTES, DEFAULT_RESPONSE_TTL, MemoryResponseStore,
};
pub use response::ResponseStore;

/// The future of a [`CacheStore`] operation.
pub type StoreFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Maps conversation-head hashes to `cachedContents/{id}` names, with an expiry.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::store::{CacheStore, MemoryCacheStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let store = MemoryCacheStore::new(1000);
/// store.put("head-hash", "cachedContents/abc", Duration::from_secs(60)).await;
/// assert_eq!(store.get("head-hash").await.as_deref(), Some("cachedContents/abc"));
/// store.remove("head-hash").await;
/// assert_eq!(store.get("head-hash").await, None);
/// # }
/// ```
pub trait CacheStore: Send + Sync + 'static {
    /// The name stored under `key`, unless it expired.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>>;

    /// Stores `name` under `key` for `ttl`.
    fn put<'a>(&'a self, key: &'a str, name: &'a str, ttl: Duration) -> StoreFuture<'a, ()>;

    /// Forgets `key` (Google no longer has its cache).
    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, ()>;
}
