//! [`RedisResponseStore`]: a [`ResponseStore`] in Redis, so that a response made on one
//! replica is continued, read and deleted on any other. A record is one string,
//! `{prefix}resp:{key}`, set with a time to live (`SET … PX`).
//!
//! As the trait says, the store is best-effort: a read that fails (or takes more than a
//! second) is a miss and a write that fails is a lost record. Failures are logged (target `llm_tower::responses`) at most
//! once a minute, with the count of the ones left out; the URL and its password are never
//! part of them.

use std::sync::Arc;
use std::time::{Duration, Instant};

use super::connection::{Connection, millis};
use crate::store::log_limit::LogLimit;
use crate::store::{ResponseStore, StoreError, StoreFuture};

/// The `tracing` target of the store's failures.
const TARGET: &str = "llm_tower::responses";

/// How often a failure that repeats is logged.
const LOG_INTERVAL: Duration = Duration::from_secs(60);

/// How long one operation may take in all (connecting, a retry and the answer) before it
/// counts as failed.
const OPERATION_TIMEOUT: Duration = Duration::from_secs(1);

/// A [`ResponseStore`] in Redis, made with
/// [`RedisCacheStore::response_store`](super::RedisCacheStore::response_store) so that it
/// shares the cache store's connection and prefix.
///
/// ```no_run
/// use std::time::Duration;
/// use llm_tower::store::{RedisCacheStore, ResponseStore};
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), llm_tower::store::StoreError> {
/// let store = RedisCacheStore::open("redis://127.0.0.1:6379/")?
///     .response_store()
///     .with_ttl(Duration::from_secs(3600));
/// // Stored as `llm-tower:resp:owner:resp_1` for an hour.
/// store.put("owner:resp_1", "{}".to_owned()).await;
/// assert_eq!(store.get("owner:resp_1").await.as_deref(), Some("{}"));
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisResponseStore {
    pub(super) connection: Connection,
    /// The key kind: `resp` for stored responses, `reply` for cached chat replies.
    kind: &'static str,
    ttl: Duration,
    failures: Arc<LogLimit>,
}

impl RedisResponseStore {
    pub(super) fn new(connection: Connection, kind: &'static str, ttl: Duration) -> Self {
        Self {
            connection,
            kind,
            ttl,
            failures: Arc::new(LogLimit::new(LOG_INTERVAL)),
        }
    }

    /// Keeps each record for `ttl` instead (at least a millisecond).
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    fn record_key(&self, key: &str) -> String {
        self.connection.key(self.kind, key)
    }

    /// Stores `record` under `key` for `ttl`, or (`None`) until Redis evicts it; a
    /// failure loses the record, as [`put`](ResponseStore::put) does.
    ///
    /// ```no_run
    /// use std::time::Duration;
    /// use llm_tower::store::RedisCacheStore;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() -> Result<(), llm_tower::store::StoreError> {
    /// let replies = RedisCacheStore::open("redis://127.0.0.1:6379/")?.reply_store();
    /// // Stored as `llm-tower:reply:team-a:0f3c…` for a minute.
    /// replies.put_for("team-a:0f3c", "{}".to_owned(), Some(Duration::from_secs(60))).await;
    /// # Ok(()) }
    /// ```
    pub async fn put_for(&self, key: &str, record: String, ttl: Option<Duration>) {
        let mut command = redis::cmd("SET");
        command.arg(self.record_key(key)).arg(record);
        if let Some(ttl) = ttl {
            command.arg("PX").arg(millis(ttl));
        }
        self.query::<()>("put", command).await;
    }

    /// Runs `command` within [`OPERATION_TIMEOUT`]; a failure is logged (`operation`
    /// names it) and is `None`.
    async fn query<T: redis::FromRedisValue>(
        &self,
        operation: &'static str,
        command: redis::Cmd,
    ) -> Option<T> {
        let answer = tokio::time::timeout(OPERATION_TIMEOUT, self.connection.query(command))
            .await
            .unwrap_or_else(|_| Err(StoreError::new("timed out")));
        answer.map_err(|error| self.failed(operation, &error)).ok()
    }

    /// Logs a failure of `operation`, unless one was logged within the interval.
    fn failed(&self, operation: &'static str, error: &StoreError) {
        if let Some(suppressed) = self.failures.due(Instant::now()) {
            tracing::warn!(
                target: TARGET,
                operation,
                %error,
                suppressed,
                "response store failed; a read is a miss, a write is lost (logged once per {:?})",
                LOG_INTERVAL
            );
        }
    }
}

impl std::fmt::Debug for RedisResponseStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisResponseStore")
            .field("prefix", &self.connection.prefix())
            .field("kind", &self.kind)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

impl ResponseStore for RedisResponseStore {
    fn get<'a>(&'a self, key: &'a str) -> StoreFuture<'a, Option<String>> {
        Box::pin(async move {
            let mut command = redis::cmd("GET");
            command.arg(self.record_key(key));
            self.query::<Option<String>>("get", command).await.flatten()
        })
    }

    fn put<'a>(&'a self, key: &'a str, record: String) -> StoreFuture<'a, ()> {
        Box::pin(self.put_for(key, record, Some(self.ttl)))
    }

    fn remove<'a>(&'a self, key: &'a str) -> StoreFuture<'a, bool> {
        Box::pin(async move {
            let mut command = redis::cmd("DEL");
            command.arg(self.record_key(key));
            // The number of keys deleted.
            self.query::<u64>("remove", command)
                .await
                .is_some_and(|deleted| deleted > 0)
        })
    }
}

#[cfg(test)]
mod tests {
    use crate::store::RedisCacheStore;

    #[test]
    fn the_response_store_shares_the_cache_stores_connection_and_prefix() {
        let caches = RedisCacheStore::open("redis://:hunter2@127.0.0.1:1/")
            .expect("a valid URL")
            .with_prefix("test:");
        let responses = caches.response_store();
        assert!(responses.connection.shares_with(&caches.connection));
        assert_eq!(responses.record_key("ns:resp_1"), "test:resp:ns:resp_1");
        let debug = format!("{responses:?}");
        assert!(!debug.contains("hunter2"), "{debug}");
    }
}
