//! [`InFlightLimitLayer`]: how many calls may be in flight, how long a call waits for a
//! permit, and the permits its services share.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use tokio::sync::Semaphore;
use tower::BoxError;
use tower_layer::Layer;

use super::{InFlightLimit, Saturated};

/// How long a call waits for a permit unless [`InFlightLimitLayer::queue_wait`] says
/// otherwise: one second, long enough to ride out a burst of replies finishing, short
/// enough that a client told to come back (`Retry-After: 1`) loses little.
pub const DEFAULT_QUEUE_WAIT: Duration = Duration::from_secs(1);

/// What a refused call is told to wait before trying again.
const RETRY_AFTER: Duration = Duration::from_secs(1);

/// At most `max` calls in flight through the services this layer makes, together: every
/// service it wraps (a provider's chat and embeddings stacks) draws on the same permits.
/// At most `max` more calls wait in line, each up to the [`queue_wait`](Self::queue_wait).
///
/// ```
/// use std::time::Duration;
/// use llm_tower::gemini::Gemini;
/// use llm_tower::upstream::InFlightLimitLayer;
/// use llm_tower::Secret;
///
/// let gemini = Gemini::builder()
///     .api_key(Secret::new("AIza…"))
///     .http_layer(InFlightLimitLayer::new(64).queue_wait(Duration::from_millis(500)))
///     .build()?;
/// # let _ = gemini;
/// # Ok::<(), llm_tower::gemini::BuildError>(())
/// ```
#[derive(Clone, Debug)]
pub struct InFlightLimitLayer {
    permits: Arc<Permits>,
    queue_wait: Duration,
}

/// The permits and the line, shared by the layer and its services.
#[derive(Debug)]
pub(super) struct Permits {
    pub(super) semaphore: Arc<Semaphore>,
    pub(super) max: usize,
    /// Calls waiting in line now.
    waiting: AtomicUsize,
}

/// A place in line, given back when dropped.
pub(super) struct Place(Arc<Permits>);

impl Drop for Place {
    fn drop(&mut self) {
        self.0.waiting.fetch_sub(1, Ordering::AcqRel);
    }
}

impl Permits {
    /// A place in line, unless `max` calls wait already.
    pub(super) fn queue(self: &Arc<Self>) -> Option<Place> {
        self.waiting
            .fetch_update(Ordering::AcqRel, Ordering::Acquire, |waiting| {
                (waiting < self.max).then_some(waiting + 1)
            })
            .ok()
            .map(|_| Place(self.clone()))
    }

    /// The error of a call that got no permit in time.
    pub(super) fn saturated(&self) -> BoxError {
        Box::new(Saturated::new(self.max, RETRY_AFTER))
    }
}

impl InFlightLimitLayer {
    /// At most `max` calls in flight (zero is taken as one, and more than tokio's
    /// `Semaphore::MAX_PERMITS` as that), waiting up to
    /// [`DEFAULT_QUEUE_WAIT`] for a permit.
    pub fn new(max: usize) -> Self {
        let max = max.clamp(1, Semaphore::MAX_PERMITS);
        Self {
            permits: Arc::new(Permits {
                semaphore: Arc::new(Semaphore::new(max)),
                max,
                waiting: AtomicUsize::new(0),
            }),
            queue_wait: DEFAULT_QUEUE_WAIT,
        }
    }

    /// Waits up to `wait` for a permit (never past the request's
    /// [`Deadline`](crate::deadline::Deadline)); zero refuses at once.
    pub fn queue_wait(mut self, wait: Duration) -> Self {
        self.queue_wait = wait;
        self
    }

    /// The limit.
    pub fn max(&self) -> usize {
        self.permits.max
    }
}

impl<S> Layer<S> for InFlightLimitLayer {
    type Service = InFlightLimit<S>;

    fn layer(&self, inner: S) -> Self::Service {
        InFlightLimit {
            inner,
            permits: self.permits.clone(),
            queue_wait: self.queue_wait,
        }
    }
}
