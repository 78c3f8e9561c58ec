//! Single flight: concurrent requests for one head in this process share one lookup or
//! creation of its cache instead of each making their own.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError, Weak};

use tokio::sync::OnceCell;

/// Flights in progress, by head key. A flight lives as long as a request waits on it;
/// the map keeps only weak references, so an abandoned flight leaves nothing behind but
/// its key, swept when the map grows.
pub(super) struct Flights<T> {
    flights: Mutex<HashMap<String, Weak<OnceCell<T>>>>,
}

/// Past this many keys, dead ones are swept before a new flight is added.
const SWEEP_AT: usize = 256;

impl<T: Clone> Flights<T> {
    pub(super) fn new() -> Self {
        Self {
            flights: Mutex::new(HashMap::new()),
        }
    }

    /// The value of the flight for `key`: `work`'s, if this caller is the first (or the
    /// first left after the caller before it gave up), else the one the first computed.
    pub(super) async fn run<F>(&self, key: &str, work: impl FnOnce() -> F) -> T
    where
        F: Future<Output = T>,
    {
        let flight = self.join(key);
        let value = flight.get_or_init(work).await.clone();
        let mut flights = self.lock();
        if flights
            .get(key)
            .is_some_and(|current| std::ptr::eq(current.as_ptr(), Arc::as_ptr(&flight)))
        {
            flights.remove(key);
        }
        value
    }

    fn join(&self, key: &str) -> Arc<OnceCell<T>> {
        let mut flights = self.lock();
        if let Some(flight) = flights.get(key).and_then(Weak::upgrade) {
            return flight;
        }
        if flights.len() >= SWEEP_AT {
            flights.retain(|_, flight| flight.strong_count() > 0);
        }
        let flight = Arc::new(OnceCell::new());
        flights.insert(key.to_owned(), Arc::downgrade(&flight));
        flight
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<String, Weak<OnceCell<T>>>> {
        // Every update is one insert, remove or retain: a panic cannot leave it half-done.
        self.flights.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Flights in the map (tests).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.lock().len()
    }
}

#[cfg(test)]
mod tests {
    use std::sync::atomic::{AtomicUsize, Ordering};

    use super::*;

    #[tokio::test]
    async fn concurrent_callers_share_one_run_and_the_flight_ends() {
        let flights = Arc::new(Flights::<usize>::new());
        let runs = Arc::new(AtomicUsize::new(0));
        let tasks: Vec<_> = (0..20)
            .map(|_| {
                let (flights, runs) = (flights.clone(), runs.clone());
                tokio::spawn(async move {
                    flights
                        .run("head", || async {
                            tokio::time::sleep(std::time::Duration::from_millis(20)).await;
                            runs.fetch_add(1, Ordering::SeqCst) + 7
                        })
                        .await
                })
            })
            .collect();
        for task in tasks {
            assert_eq!(task.await.expect("joined"), 7);
        }
        assert_eq!(runs.load(Ordering::SeqCst), 1);
        assert_eq!(flights.len(), 0);
        // A later call starts a new flight.
        assert_eq!(flights.run("head", || async { 9 }).await, 9);
    }

    #[tokio::test]
    async fn a_caller_that_gives_up_hands_the_work_to_the_next() {
        let flights = Arc::new(Flights::<u8>::new());
        let first = {
            let flights = flights.clone();
            tokio::spawn(async move { flights.run("head", std::future::pending::<u8>).await })
        };
        tokio::task::yield_now().await;
        first.abort();
        let _ = first.await;
        assert_eq!(flights.run("head", || async { 3 }).await, 3);
    }
}
