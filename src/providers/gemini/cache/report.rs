//! What the layer tells the operator: one `tracing` event per cached call naming its
//! outcome (target `llm_tower::context_cache`), the same outcome to the request's
//! [`UpstreamObserver`](crate::upstream::context::UpstreamObserver) (the proxy counts it
//! in `/metrics`), and store failures logged
//! at most once per interval (a dead Redis must not flood the log at every request).

use std::sync::Mutex;
use std::sync::PoisonError;
use std::time::{Duration, Instant};

use crate::store::StoreError;
use crate::upstream::context::CallContext;

/// The `tracing` target of the layer's events.
pub const TARGET: &str = "llm_tower::context_cache";

/// How a call with a marked head went; the `outcome` field of its event.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Outcome {
    /// The store knew the cache.
    Hit,
    /// Google's list had it (made by another process, or before a restart).
    Found,
    /// This call created it.
    Created,
    /// Another process was creating it and this call got its result.
    Waited,
    /// Sent uncached: the head is below the model's minimum (estimated, counted, or
    /// Google's refusal, now or remembered).
    TooSmall,
    /// Sent uncached: another process held the claim and did not finish in time, the
    /// store failed while waiting for it, or another call's creation failed.
    Uncached,
    /// Creating the cache failed (not a refusal): the error is this call's.
    Failed,
}

impl Outcome {
    fn as_str(self) -> &'static str {
        match self {
            Self::Hit => "hit",
            Self::Found => "found",
            Self::Created => "created",
            Self::Waited => "waited",
            Self::TooSmall => "too_small",
            Self::Uncached => "uncached",
            Self::Failed => "failed",
        }
    }
}

/// Reports how one call went.
pub(super) fn outcome(outcome: Outcome, model: &str) {
    tracing::debug!(target: TARGET, outcome = outcome.as_str(), model, "context cache");
    CallContext::note_context_cache(outcome.as_str());
}

/// Logs store failures at most once per interval, counting the ones it left out.
pub(super) struct StoreErrors {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl StoreErrors {
    pub(super) fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// Records a failure of `operation`; logs it unless one was logged within the interval.
    pub(super) fn record(&self, operation: &'static str, error: &StoreError) {
        if let Some(suppressed) = self.due(Instant::now()) {
            tracing::warn!(
                target: TARGET,
                operation,
                %error,
                suppressed,
                "context-cache store failed; treated as a miss (logged once per {:?})",
                self.interval
            );
        }
    }

    /// `Some(failures not logged since the last log)` when a log is due at `now`.
    fn due(&self, now: Instant) -> Option<u64> {
        let mut state = self.state.lock().unwrap_or_else(PoisonError::into_inner);
        let (last, suppressed) = &mut *state;
        match last {
            Some(at) if now.duration_since(*at) < self.interval => {
                *suppressed += 1;
                None
            }
            _ => {
                *last = Some(now);
                Some(std::mem::take(suppressed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn one_log_per_interval_counting_the_rest() {
        let errors = StoreErrors::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(errors.due(start), Some(0));
        assert_eq!(errors.due(start + Duration::from_secs(1)), None);
        assert_eq!(errors.due(start + Duration::from_secs(59)), None);
        assert_eq!(errors.due(start + Duration::from_secs(60)), Some(2));
        assert_eq!(errors.due(start + Duration::from_secs(61)), None);
    }
}
