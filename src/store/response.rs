//! Where stored responses are kept: a [`ResponseStore`] maps a key (the owner's namespace
//! and the response id) to the stored record of a response (the response object, its input
//! items and the conversation so far, as JSON text), so that `previous_response_id`,
//! `GET /v1/responses/{id}` and `input_items` can find it.
//! [`MemoryResponseStore`](super::MemoryResponseStore) keeps them in the process, bounded
//! in bytes, with a time to live; implement the trait over a shared store so that several
//! proxy replicas see each other's responses.
//!
//! A store is best-effort, as the context-cache store is: a failure to read is a miss (the
//! client is told the response is not found), a failure to write loses the record, and
//! neither fails the request that produced it.

use super::StoreFuture;

/// Maps keys to stored response records.
///
/// ```
/// use llm_tower::store::{MemoryResponseStore, ResponseStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let store = MemoryResponseStore::default();
/// store.put("owner:resp_1", "{}".to_owned()).await;
/// assert_eq!(store.get("owner:resp_1").await.as_deref(), Some("{}"));
/// assert!(store.remove("owner:resp_1").await);
/// assert_eq!(store.get("owner:resp_1").await, None);
/// # }
/// ```
pub trait ResponseStore: Send + Sync + 'static {
    /// The record stored under `key`, unless it expired or was evicted.
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>>;

    /// Stores `record` under `key`, for the store's time to live.
    fn put<'a>(&'a self, key: &'a str, record: String) -> StoreFuture<'a, ()>;

    /// Forgets `key`; whether it was there.
    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool>;
}
