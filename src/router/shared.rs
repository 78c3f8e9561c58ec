//! [`SharedState`]: the router's use of a [`RouterStore`], bounded in time. A store that
//! fails or is slow is left alone for a few seconds, logged once, and counted through the
//! [`RouterObserver`]: the router routes on its own state meanwhile, and no request fails
//! because the store did.

use std::sync::Arc;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use tokio::time::Instant;

use super::report::RouterObserver;
use crate::store::{DeploymentLoad, RouterStore, StoreError};

/// The longest a routing decision waits for the store.
pub const STORE_BUDGET: Duration = Duration::from_millis(100);

/// How long a store that failed is left alone.
const REST: Duration = Duration::from_secs(5);

/// A store, its health, and who hears of its failures.
pub(crate) struct SharedState {
    store: Arc<dyn RouterStore>,
    resting_until: Mutex<Option<Instant>>,
    down: AtomicBool,
    observer: Option<Arc<dyn RouterObserver>>,
}

impl SharedState {
    pub(crate) fn new(
        store: Arc<dyn RouterStore>,
        observer: Option<Arc<dyn RouterObserver>>,
    ) -> Self {
        Self {
            store,
            resting_until: Mutex::new(None),
            down: AtomicBool::new(false),
            observer,
        }
    }

    fn resting(&self) -> bool {
        let resting = self
            .resting_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        resting.is_some_and(|until| Instant::now() < until)
    }

    /// Runs `operation` within [`STORE_BUDGET`]; `None` when the store is resting, failed or
    /// was too slow.
    async fn bounded<T>(
        &self,
        operation: impl Future<Output = Result<T, StoreError>>,
    ) -> Option<T> {
        if self.resting() {
            return None;
        }
        let failure = match tokio::time::timeout(STORE_BUDGET, operation).await {
            Ok(Ok(value)) => {
                if self.down.swap(false, Ordering::Relaxed) {
                    tracing::info!("the router's shared store answers again");
                }
                return Some(value);
            }
            Ok(Err(error)) => error.to_string(),
            Err(_) => format!("no answer within {} ms", STORE_BUDGET.as_millis()),
        };
        *self
            .resting_until
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(Instant::now() + REST);
        if !self.down.swap(true, Ordering::Relaxed) {
            tracing::warn!(
                error = %failure,
                "the router's shared store failed: routing on this replica's own state"
            );
        }
        if let Some(observer) = &self.observer {
            observer.store_failed();
        }
        None
    }

    pub(crate) async fn load(&self, ids: &[Arc<str>], minute: u64) -> Option<Vec<DeploymentLoad>> {
        self.bounded(self.store.load(ids, minute))
            .await
            .filter(|loads| loads.len() == ids.len())
    }

    pub(crate) async fn cool_down(&self, id: &str, time: Duration) {
        self.bounded(self.store.cool_down(id, time)).await;
    }

    /// Whether the store counted the request; `None` when it could not say.
    pub(crate) async fn take_request(
        &self,
        id: &str,
        minute: u64,
        limit: Option<u64>,
    ) -> Option<bool> {
        self.bounded(self.store.take_request(id, minute, limit))
            .await
    }

    pub(crate) async fn add_tokens(&self, id: &str, minute: u64, tokens: u64) {
        self.bounded(self.store.add_tokens(id, minute, tokens))
            .await;
    }
}
