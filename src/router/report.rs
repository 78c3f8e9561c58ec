//! What the router tells about a request: [`RouteReport`], found in the request's context,
//! for the answer's headers (LiteLLM's `x-litellm-model-group`, `x-litellm-model-id`,
//! `x-litellm-attempted-retries`, `x-litellm-attempted-fallbacks`), and
//! [`RouterObserver`], told of every retry, fallback and cooldown (for metrics).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

/// How a request was routed, as far as it went.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// The model group of the last deployment called.
    pub model_group: Option<Arc<str>>,
    /// That deployment's id.
    pub model_id: Option<Arc<str>>,
    /// Calls after the first within the groups tried.
    pub retries: u32,
    /// Fallback groups tried.
    pub fallbacks: u32,
}

/// A slot the router fills with the [`Route`] of one request. Put one in a request's
/// context (its HTTP extensions, before an edge) and read it once the answer is there;
/// without one the router reports nothing.
///
/// ```
/// use llm_tower::openai::ChatRequest;
/// use llm_tower::router::RouteReport;
///
/// let report = RouteReport::default();
/// let mut request = ChatRequest::new("flash", Vec::new());
/// request.context.insert(report.clone());
/// // … the router serves `request` …
/// assert_eq!(report.route().retries, 0);
/// ```
#[derive(Clone, Debug, Default)]
pub struct RouteReport(Arc<Mutex<Route>>);

impl RouteReport {
    /// What was reported so far.
    pub fn route(&self) -> Route {
        self.0
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .clone()
    }

    pub(crate) fn update(&self, change: impl FnOnce(&mut Route)) {
        change(&mut self.0.lock().unwrap_or_else(PoisonError::into_inner));
    }
}

/// Told of what the router does beside serving requests; every method does nothing unless
/// implemented. Labels are configured group names and deployment ids, so they are a
/// bounded set.
pub trait RouterObserver: Send + Sync + 'static {
    /// A failed call of `deployment` in `group` is sent again.
    fn retried(&self, group: &str, deployment: &str) {
        let _ = (group, deployment);
    }

    /// A request that failed in `from` goes to `to`.
    fn fell_back(&self, from: &str, to: &str) {
        let _ = (from, to);
    }

    /// `deployment` of `group` leaves the rotation for `time`.
    fn cooled_down(&self, group: &str, deployment: &str, time: Duration) {
        let _ = (group, deployment, time);
    }

    /// The shared [`RouterStore`](crate::store::RouterStore) failed or was slow; the router
    /// routes on what it knows itself.
    fn store_failed(&self) {}
}
