//! [`Deadline`]: the instant by which a request must be answered, an extension every level
//! may read (a leaf: it knows nothing of the levels that read it).

use std::time::Duration;

use tokio::time::Instant;

/// The instant by which a request must be answered. The proxy sets it from
/// `request_timeout`; an application may insert one into a request's extensions (or a
/// typed request's [`RequestContext`](crate::RequestContext)). The upstream retry never
/// waits past it: when the wait would end later, the upstream's reply (a `429` with its
/// `Retry-After`) goes back to the client at once.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::Deadline;
///
/// let deadline = Deadline::after(Duration::from_secs(15));
/// assert!(deadline.remaining() <= Duration::from_secs(15));
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub struct Deadline(Instant);

impl Deadline {
    /// `timeout` from now (a timeout too long to represent is a deadline decades away).
    pub fn after(timeout: Duration) -> Self {
        let now = Instant::now();
        Self(
            now.checked_add(timeout)
                .unwrap_or_else(|| now + Duration::from_secs(30 * 365 * 86_400)),
        )
    }

    /// At `instant`.
    pub fn at(instant: Instant) -> Self {
        Self(instant)
    }

    /// The instant.
    pub fn instant(self) -> Instant {
        self.0
    }

    /// The time left (zero once it passed).
    pub fn remaining(self) -> Duration {
        self.0.saturating_duration_since(Instant::now())
    }
}
