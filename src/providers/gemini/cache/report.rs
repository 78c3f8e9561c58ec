//! What the layer tells the operator: one `tracing` event per cached call naming its
//! outcome (target `llm_tower::context_cache`), the same outcome to the request's
//! [`UpstreamObserver`](crate::upstream::context::UpstreamObserver) (the proxy counts it
//! in `/metrics`), and store failures logged
//! at most once per interval (a dead Redis must not flood the log at every request).

use std::time::{Duration, Instant};

use crate::providers::gemini::call::Call;
use crate::store::StoreError;
use crate::store::log_limit::LogLimit;
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
    /// Creating the cache failed (not a refusal): sent uncached, or, for a missing or
    /// refused key, the error is this call's.
    Failed,
    /// The named cache was gone upstream (expired early, deleted): forgotten, and the call
    /// sent again uncached.
    Gone,
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
            Self::Gone => "gone",
        }
    }
}

/// Reports how `call` went.
pub(super) fn outcome(outcome: Outcome, call: &Call) {
    let model = call.model.as_str();
    tracing::debug!(target: TARGET, outcome = outcome.as_str(), model, "context cache");
    CallContext::note_context_cache(&call.context, outcome.as_str());
}

/// Logs store failures at most once per interval, counting the ones it left out.
pub(super) struct StoreErrors {
    limit: LogLimit,
}

impl StoreErrors {
    pub(super) fn new(interval: Duration) -> Self {
        Self {
            limit: LogLimit::new(interval),
        }
    }

    /// Records a failure of `operation`; logs it unless one was logged within the interval.
    pub(super) fn record(&self, operation: &'static str, error: &StoreError) {
        if let Some(suppressed) = self.limit.due(Instant::now()) {
            tracing::warn!(
                target: TARGET,
                operation,
                %error,
                suppressed,
                "context-cache store failed; treated as a miss (logged once per {:?})",
                self.limit.interval()
            );
        }
    }
}
