//! The router's state that replicas share: which deployments are cooling down, and each
//! deployment's requests and tokens in the current minute (what `rpm` and `tpm` limits and
//! usage-based routing read).
//!
//! A [`RouterStore`] is optional: a [`ModelRouter`](crate::router::ModelRouter) keeps the same facts
//! in its own memory and routes on them alone when it has no store. With a store (the
//! [`MemoryRouterStore`](super::MemoryRouterStore) several routers of one process share, or
//! [`RedisRouterStore`](super::RedisRouterStore) across replicas), a cooldown one router
//! starts is seen by all, and a deployment's `rpm` is counted once for all of them. A store
//! that fails or is slow is passed over: the router goes on with what it knows itself.
//!
//! The same store counts requests in flight against a limit ([`RouterStore::hold`]):
//! places are leases, given back when the request ends and free again when their holder
//! stops renewing them (a replica that crashed holds none for long).

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use super::{StoreError, StoreFuture};

/// The future of a [`RouterStore`] operation.
pub type RouterStoreFuture<'a, T> = StoreFuture<'a, Result<T, StoreError>>;

/// What a store knows of one deployment now.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct DeploymentLoad {
    /// Out of rotation until its cooldown ends.
    pub cooling_down: bool,
    /// Requests counted in the current minute.
    pub requests: u64,
    /// Tokens counted in the current minute.
    pub tokens: u64,
}

impl DeploymentLoad {
    /// A load of `requests` and `tokens`, not cooling down.
    pub fn new(requests: u64, tokens: u64) -> Self {
        Self {
            cooling_down: false,
            requests,
            tokens,
        }
    }

    /// The same load, cooling down or not.
    pub fn cooling_down(mut self, cooling_down: bool) -> Self {
        self.cooling_down = cooling_down;
        self
    }
}

/// The minute `time` falls in, counted from the Unix epoch: the window of `rpm` and `tpm`
/// counts, the same on every replica whose clock is right.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use llm_tower::store::minute_of;
///
/// assert_eq!(minute_of(UNIX_EPOCH + Duration::from_secs(119)), 1);
/// ```
pub fn minute_of(time: SystemTime) -> u64 {
    time.duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs()
        / 60
}

/// Cooldowns and per-minute counts of deployments, shared by routers; see the
/// [store module](crate::store). Deployments are named by their id (LiteLLM's `model_info.id`).
///
/// ```
/// use std::sync::Arc;
/// use std::time::Duration;
/// use llm_tower::store::{MemoryRouterStore, RouterStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), llm_tower::store::StoreError> {
/// let store = MemoryRouterStore::default();
/// let ids: Vec<Arc<str>> = vec!["a".into(), "b".into()];
/// assert!(store.take_request("a", 7, Some(1)).await?);
/// assert!(!store.take_request("a", 7, Some(1)).await?, "the limit of one is reached");
/// store.add_tokens("b", 7, 120).await?;
/// store.cool_down("b", Duration::from_secs(5)).await?;
/// let loads = store.load(&ids, 7).await?;
/// assert_eq!((loads[0].requests, loads[0].cooling_down), (1, false));
/// assert_eq!((loads[1].tokens, loads[1].cooling_down), (120, true));
/// # Ok(()) }
/// ```
pub trait RouterStore: Send + Sync + 'static {
    /// The load of each of `deployments` (in their order) in `minute`.
    fn load<'a>(
        &'a self,
        deployments: &'a [std::sync::Arc<str>],
        minute: u64,
    ) -> RouterStoreFuture<'a, Vec<DeploymentLoad>>;

    /// Takes `deployment` out of rotation for `time`.
    fn cool_down<'a>(&'a self, deployment: &'a str, time: Duration) -> RouterStoreFuture<'a, ()>;

    /// Counts one request of `minute` on `deployment`, unless `limit` requests are counted
    /// already: whether it was counted. Atomic, so callers together never count more than
    /// `limit`.
    fn take_request<'a>(
        &'a self,
        deployment: &'a str,
        minute: u64,
        limit: Option<u64>,
    ) -> RouterStoreFuture<'a, bool>;

    /// Adds `tokens` to the count of `deployment` in `minute`.
    fn add_tokens<'a>(
        &'a self,
        deployment: &'a str,
        minute: u64,
        tokens: u64,
    ) -> RouterStoreFuture<'a, ()>;

    /// Takes a place for `holder` among the requests in flight of every counter of
    /// `counters` (`(id, limit)` pairs), unless one of them has `limit` places held
    /// already: whether it was taken. Atomic, so callers together never hold more than a
    /// limit. A place neither given back ([`release`](Self::release)) nor renewed
    /// ([`renew`](Self::renew)) within `lease` is free again.
    ///
    /// A store without places answers an error (this default): the caller counts on its
    /// own then.
    ///
    /// ```
    /// use std::time::Duration;
    /// use llm_tower::store::{MemoryRouterStore, RouterStore};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), llm_tower::store::StoreError> {
    /// let store = MemoryRouterStore::default();
    /// let lease = Duration::from_secs(30);
    /// let counters = [("key:a".to_owned(), 1)];
    /// assert!(store.hold(&counters, "request-1", lease).await?);
    /// assert!(!store.hold(&counters, "request-2", lease).await?, "one place only");
    /// store.release(&["key:a".to_owned()], "request-1").await?;
    /// assert!(store.hold(&counters, "request-2", lease).await?);
    /// # Ok(()) }
    /// ```
    fn hold<'a>(
        &'a self,
        counters: &'a [(String, u64)],
        holder: &'a str,
        lease: Duration,
    ) -> RouterStoreFuture<'a, bool> {
        let _ = (counters, holder, lease);
        Box::pin(std::future::ready(Err(StoreError::new(
            "this store does not count requests in flight",
        ))))
    }

    /// Extends `holder`'s places in `counters` to `lease` from now.
    fn renew<'a>(
        &'a self,
        counters: &'a [String],
        holder: &'a str,
        lease: Duration,
    ) -> RouterStoreFuture<'a, ()> {
        let _ = (counters, holder, lease);
        Box::pin(std::future::ready(Ok(())))
    }

    /// Gives back `holder`'s places in `counters`.
    fn release<'a>(&'a self, counters: &'a [String], holder: &'a str) -> RouterStoreFuture<'a, ()> {
        let _ = (counters, holder);
        Box::pin(std::future::ready(Ok(())))
    }
}
