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
use crate::store::{DeploymentLoad, RouterStore, RouterStoreFuture};

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

    /// Runs `operation` within [`STORE_BUDGET`]; `None` when the store is resting (the
    /// operation is not even made), failed or was too slow.
    async fn bounded<'a, T>(
        &'a self,
        operation: impl FnOnce(&'a dyn RouterStore) -> RouterStoreFuture<'a, T>,
    ) -> Option<T> {
        if self.resting() {
            return None;
        }
        let failure = match tokio::time::timeout(STORE_BUDGET, operation(&*self.store)).await {
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
        self.bounded(|store| store.load(ids, minute))
            .await
            .filter(|loads| loads.len() == ids.len())
    }

    pub(crate) async fn cool_down(&self, id: &str, time: Duration) {
        self.bounded(|store| store.cool_down(id, time)).await;
    }

    /// Whether the store counted the request; `None` when it could not say.
    pub(crate) async fn take_request(
        &self,
        id: &str,
        minute: u64,
        limit: Option<u64>,
    ) -> Option<bool> {
        self.bounded(|store| store.take_request(id, minute, limit))
            .await
    }

    pub(crate) async fn add_tokens(&self, id: &str, minute: u64, tokens: u64) {
        self.bounded(|store| store.add_tokens(id, minute, tokens))
            .await;
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;
    use crate::store::StoreError;

    /// A store that fails (or, `slow`, never answers) and counts the calls it gets.
    #[derive(Default)]
    struct Broken {
        calls: AtomicUsize,
        slow: bool,
    }

    impl Broken {
        fn answer<'a, T: Send + 'a>(&'a self) -> RouterStoreFuture<'a, T> {
            self.calls.fetch_add(1, Ordering::SeqCst);
            let slow = self.slow;
            Box::pin(async move {
                if slow {
                    std::future::pending::<()>().await;
                }
                Err(StoreError::new("connection refused"))
            })
        }
    }

    impl RouterStore for Broken {
        fn load<'a>(
            &'a self,
            _: &'a [Arc<str>],
            _: u64,
        ) -> RouterStoreFuture<'a, Vec<DeploymentLoad>> {
            self.answer()
        }
        fn cool_down<'a>(&'a self, _: &'a str, _: Duration) -> RouterStoreFuture<'a, ()> {
            self.answer()
        }
        fn take_request<'a>(
            &'a self,
            _: &'a str,
            _: u64,
            _: Option<u64>,
        ) -> RouterStoreFuture<'a, bool> {
            self.answer()
        }
        fn add_tokens<'a>(&'a self, _: &'a str, _: u64, _: u64) -> RouterStoreFuture<'a, ()> {
            self.answer()
        }
    }

    #[derive(Default)]
    struct Failures(AtomicUsize);

    impl RouterObserver for Failures {
        fn store_failed(&self) {
            self.0.fetch_add(1, Ordering::SeqCst);
        }
    }

    #[tokio::test(start_paused = true)]
    async fn a_failing_store_is_left_alone_for_a_while_and_counted() {
        for slow in [false, true] {
            let store = Arc::new(Broken {
                slow,
                ..Broken::default()
            });
            let failures = Arc::new(Failures::default());
            let shared = SharedState::new(store.clone(), Some(failures.clone()));
            let ids: Vec<Arc<str>> = vec!["a".into()];
            let started = Instant::now();
            assert_eq!(shared.load(&ids, 0).await, None);
            assert!(
                started.elapsed() <= STORE_BUDGET,
                "bounded: {:?}",
                started.elapsed()
            );
            assert_eq!(shared.take_request("a", 0, Some(1)).await, None);
            shared.cool_down("a", Duration::from_secs(1)).await;
            assert_eq!(
                store.calls.load(Ordering::SeqCst),
                1,
                "rested after the failure"
            );
            assert_eq!(failures.0.load(Ordering::SeqCst), 1);
            tokio::time::advance(REST).await;
            assert_eq!(shared.load(&ids, 0).await, None);
            assert_eq!(
                store.calls.load(Ordering::SeqCst),
                2,
                "asked again after its rest"
            );
        }
    }
}
