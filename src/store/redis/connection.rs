//! [`Connection`]: one Redis, shared by the stores kept in it: the client, the
//! connection (opened on first use), the key prefix and the timeouts.

use std::sync::Arc;
use std::time::Duration;

use redis::aio::{ConnectionManager, ConnectionManagerConfig};
use tokio::sync::OnceCell;

use crate::store::StoreError;

/// How long a command may wait for Redis's answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long opening a connection may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);

/// The key prefix unless one is set.
const DEFAULT_PREFIX: &str = "llm-tower:";

/// A Redis and the prefix of our keys in it; clones share one connection.
#[derive(Clone)]
pub(super) struct Connection {
    client: redis::Client,
    /// Made on first use, inside the runtime (opening needs none: `--check-config` builds
    /// the store without one).
    manager: Arc<OnceCell<ConnectionManager>>,
    prefix: Arc<str>,
}

impl Connection {
    /// Redis at `url`; nothing is opened yet.
    pub(super) fn open(url: &str) -> Result<Self, StoreError> {
        let client = redis::Client::open(url)
            .map_err(|error| StoreError::new(format!("invalid Redis URL: {}", error.category())))?;
        Ok(Self {
            client,
            manager: Arc::new(OnceCell::new()),
            prefix: DEFAULT_PREFIX.into(),
        })
    }

    /// Keys start with `prefix` instead.
    pub(super) fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        self
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `{prefix}{kind}:{key}`.
    pub(super) fn key(&self, kind: &str, key: &str) -> String {
        format!("{}{kind}:{key}", self.prefix)
    }

    /// The connection manager, made on first use.
    pub(super) async fn manager(&self) -> Result<ConnectionManager, StoreError> {
        self.manager
            .get_or_try_init(|| async {
                let config = ConnectionManagerConfig::new()
                    .set_connection_timeout(Some(CONNECTION_TIMEOUT))
                    .set_response_timeout(Some(RESPONSE_TIMEOUT))
                    .set_number_of_retries(1)
                    .set_max_delay(Duration::from_millis(200));
                ConnectionManager::new_lazy_with_config(self.client.clone(), config)
            })
            .await
            .cloned()
            .map_err(StoreError::new)
    }

    /// Runs `command`.
    pub(super) async fn query<T: redis::FromRedisValue>(
        &self,
        command: redis::Cmd,
    ) -> Result<T, StoreError> {
        let mut manager = self.manager().await?;
        command
            .query_async(&mut manager)
            .await
            .map_err(StoreError::new)
    }

    /// Whether `self` and `other` share one connection.
    #[cfg(test)]
    pub(super) fn shares_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.manager, &other.manager)
    }
}

/// Milliseconds for `PX`, at least one (Redis refuses zero).
pub(super) fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
