//! [`Changes`]: how replicas tell each other that a key or team changed. With Redis
//! (`router_settings.redis_url`), each change adds one to the count `{prefix}keys-changed`;
//! every replica reads it every [`POLL_INTERVAL`] and, when it moved (or Redis came back
//! after failing), forgets every key it holds, so a key deleted or changed on one replica
//! stops or changes on every replica within about that. Without Redis, or while it fails,
//! [`CACHE_TTL`](super::CACHE_TTL) is the bound.

use std::sync::Weak;
use std::time::Duration;

use super::Keys;
use crate::store::RedisCacheStore;

/// How often a replica reads the count of changes.
pub(crate) const POLL_INTERVAL: Duration = Duration::from_millis(250);

/// The count's name under the Redis prefix.
const COUNT: &str = "keys-changed";

/// Where changes are announced: Redis, or nowhere (one replica, or the cache's bound).
#[derive(Clone, Default)]
pub(crate) struct Changes {
    redis: Option<RedisCacheStore>,
}

impl std::fmt::Debug for Changes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Changes")
            .field("shared", &self.redis.is_some())
            .finish()
    }
}

impl Changes {
    /// Changes announced through `redis`'s counter; without Redis, announced nowhere: the
    /// other replicas read a changed key again when their cached grant expires.
    pub(crate) fn new(redis: Option<RedisCacheStore>) -> Self {
        Self { redis }
    }

    /// Tells every replica that a key or team changed (this one forgot it already).
    pub(crate) async fn announce(&self) {
        if let Some(redis) = &self.redis
            && let Err(error) = redis.bump(COUNT).await
        {
            tracing::warn!(%error, "key change not announced; other replicas see it within the cache's bound");
        }
    }

    /// Starts reading the count for `keys`, until they are dropped.
    pub(crate) fn watch(&self, keys: Weak<Keys>) {
        let Some(redis) = self.redis.clone() else {
            return;
        };
        tokio::spawn(async move {
            let mut seen = None;
            let mut lost = false;
            loop {
                tokio::time::sleep(POLL_INTERVAL).await;
                let count = redis.count(COUNT).await;
                let Some(keys) = keys.upgrade() else { return };
                match count {
                    Ok(count) => {
                        if lost || seen.is_some_and(|seen| seen != count) {
                            keys.gate.forget_all();
                        }
                        (seen, lost) = (Some(count), false);
                    }
                    Err(_) => lost = seen.is_some(),
                }
            }
        });
    }
}
