//! State kept between requests, behind traits: the context-cache registry
//! ([`CacheStore`]) with its in-memory default ([`MemoryCacheStore`]) and, with the
//! `redis` feature, [`RedisCacheStore`] for several replicas sharing one set of caches.
//!
//! A store is a best-effort index: a failure to read or write it must behave as a miss,
//! never fail a request.
//!
//! Stored responses of the Responses API are kept the same way: a [`ResponseStore`] maps
//! an owner's namespace and a response id to the stored record, and
//! [`MemoryResponseStore`] (bounded in bytes, with a time to live) is the default;
//! [`RedisResponseStore`] (feature `redis`) shares them between replicas, over the
//! connection of the [`RedisCacheStore`] it is made from.
//!
//! The router's cooldowns and per-minute request and token counts are a [`RouterStore`]:
//! optional (a router keeps them in its own memory too), [`MemoryRouterStore`] for routers
//! of one process, [`RedisRouterStore`] (feature `redis`) for replicas.

mod cache;
pub(crate) mod log_limit;
mod memory;
mod memory_response;
mod memory_router;
#[cfg(feature = "redis")]
mod redis;
mod response;
mod router;

#[cfg(feature = "redis")]
pub use self::redis::{RedisCacheStore, RedisResponseStore, RedisRouterStore};
pub use cache::{CacheEntry, CacheFuture, CacheStore, StoreError, StoreFuture};
pub use memory::MemoryCacheStore;
pub use memory_response::{
    DEFAULT_RESPONSE_STORE_BYTES, DEFAULT_RESPONSE_TTL, MemoryResponseStore,
};
pub use memory_router::MemoryRouterStore;
pub use response::ResponseStore;
pub use router::{DeploymentLoad, RouterStore, RouterStoreFuture, minute_of};
