//! [`Saturated`]: a call that got no permit in time.

use std::time::Duration;

/// Every permit of an [`InFlightLimit`](super::InFlightLimit) stayed taken for as long as
/// the call could wait; the call was not sent. Clients see a `429` with `Retry-After`.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::upstream::Saturated;
///
/// let error = Saturated::new(2, Duration::from_secs(1));
/// assert_eq!(error.limit(), 2);
/// assert_eq!(error.retry_after(), Duration::from_secs(1));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("all {limit} upstream calls allowed in flight at once are taken; try again shortly")]
pub struct Saturated {
    limit: usize,
    retry_after: Duration,
}

impl Saturated {
    /// No permit of `limit` came free; try again after `retry_after`.
    pub fn new(limit: usize, retry_after: Duration) -> Self {
        Self { limit, retry_after }
    }

    /// The limit of calls in flight.
    pub fn limit(&self) -> usize {
        self.limit
    }

    /// When to try again.
    pub fn retry_after(&self) -> Duration {
        self.retry_after
    }
}
