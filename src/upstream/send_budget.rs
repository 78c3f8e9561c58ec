//! [`SendBudget`]: how many more times one request may be sent upstream, shared by every
//! level that retries it.
//!
//! A request can be retried at two levels: the [`Retry`](super::Retry) layer at the HTTP
//! seam resends the same bytes to one deployment, and the router
//! ([`crate::router`]) sends the request to another deployment of its model group. Each
//! level alone is bounded; together they would multiply. A `SendBudget` in the request's
//! extensions is the one count both levels take from: whoever retries takes a send out of
//! it first, and nobody retries once it is spent. So a request with a budget of
//! `num_retries` is sent upstream at most `1 + num_retries` times in all, however the
//! retries fall between the levels.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

/// The retries left to one request; clones share the count. See the [module](self).
///
/// ```
/// use llm_tower::upstream::SendBudget;
///
/// let budget = SendBudget::new(2);
/// let shared = budget.clone();
/// assert!(budget.take());
/// assert!(shared.take());
/// assert!(!budget.take(), "two retries, both taken");
/// assert_eq!(shared.taken(), 2);
/// ```
#[derive(Clone)]
pub struct SendBudget {
    counts: Arc<Counts>,
}

struct Counts {
    retries: u32,
    taken: AtomicU32,
}

impl SendBudget {
    /// A budget of `retries` sends after the first.
    pub fn new(retries: u32) -> Self {
        Self {
            counts: Arc::new(Counts {
                retries,
                taken: AtomicU32::new(0),
            }),
        }
    }

    /// Takes one retry: `false` (and nothing taken) when none is left.
    pub fn take(&self) -> bool {
        self.counts
            .taken
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |taken| {
                (taken < self.counts.retries).then_some(taken + 1)
            })
            .is_ok()
    }

    /// The retries taken so far, by every level.
    pub fn taken(&self) -> u32 {
        self.counts.taken.load(Ordering::Acquire)
    }
}

impl fmt::Debug for SendBudget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SendBudget")
            .field("retries", &self.counts.retries)
            .field("taken", &self.taken())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::SendBudget;

    #[test]
    fn a_budget_of_none_allows_no_retry() {
        let budget = SendBudget::new(0);
        assert!(!budget.take());
        assert_eq!(budget.taken(), 0);
    }

    #[test]
    fn concurrent_takers_never_take_more_than_the_budget() {
        let budget = SendBudget::new(100);
        let taken: usize = std::thread::scope(|scope| {
            let handles: Vec<_> = (0..8)
                .map(|_| {
                    let budget = budget.clone();
                    scope.spawn(move || (0..50).filter(|_| budget.take()).count())
                })
                .collect();
            handles
                .into_iter()
                .map(|handle| handle.join().unwrap())
                .sum()
        });
        assert_eq!(taken, 100);
        assert_eq!(budget.taken(), 100);
    }
}
