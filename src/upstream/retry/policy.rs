//! [`RetryPolicy`]: which failures are retried, how long to wait before the next attempt,
//! and the budget that stops retries from multiplying the load on an upstream in trouble.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::StatusCode;
use http::header::RETRY_AFTER;
use tower::retry::budget::{Budget, TpsBudget};

/// Reads a retry delay from an error body (Google's `RetryInfo.retryDelay`, …).
pub type DelayInBody = fn(&[u8]) -> Option<Duration>;

/// When and how the [`Retry`](super::Retry) service tries an upstream call again.
///
/// Retried: `429`, `500` and `503` replies, and calls that could not connect. Never
/// retried: any other status (a `200` whose body turns out broken included: a reply that
/// arrived is never sent again), a timeout waiting for the reply head unless
/// [`retry_timeouts`](Self::retry_timeouts) allows it (the upstream may be generating,
/// and billing, the answer), and anything once [`max_retries`](Self::new) is reached.
///
/// The wait before an attempt is the upstream's `Retry-After` (seconds or an HTTP date),
/// or a delay found in the error body by [`delay_in_body`](Self::delay_in_body), else an
/// exponential backoff with jitter. A wait longer than [`max_wait`](Self::max_wait), or
/// one that would end past the request's [`Deadline`](crate::deadline::Deadline), is not waited: the
/// upstream's reply (a `429` with its `Retry-After`) goes back to the client instead. A
/// shared [`TpsBudget`] caps retries at a fraction of the calls (default: 20 % over ten
/// seconds, plus ten a second), so a failing upstream is not hit with a multiple of the
/// traffic.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::upstream::RetryPolicy;
///
/// let policy = RetryPolicy::new(2)
///     .backoff(Duration::from_millis(200), Duration::from_secs(5))
///     .max_wait(Duration::from_secs(10));
/// assert_eq!(policy.max_retries(), 2);
/// ```
#[derive(Clone)]
#[non_exhaustive]
pub struct RetryPolicy {
    max_retries: u32,
    base_delay: Duration,
    max_delay: Duration,
    max_wait: Duration,
    retry_timeouts: bool,
    budget: Arc<TpsBudget>,
    delay_in_body: Option<DelayInBody>,
}

/// Default first backoff step.
const BASE_DELAY: Duration = Duration::from_millis(500);
/// Default longest backoff step.
const MAX_DELAY: Duration = Duration::from_secs(8);
/// Default longest wait an upstream may ask for.
const MAX_WAIT: Duration = Duration::from_secs(30);

impl RetryPolicy {
    /// Up to `max_retries` retries per call (0: none), with the defaults: backoff from
    /// 0.5 s doubling up to 8 s, upstream waits up to 30 s, no timeout retries, tower's
    /// default [`TpsBudget`].
    pub fn new(max_retries: u32) -> Self {
        Self {
            max_retries,
            base_delay: BASE_DELAY,
            max_delay: MAX_DELAY,
            max_wait: MAX_WAIT,
            retry_timeouts: false,
            budget: Arc::new(TpsBudget::default()),
            delay_in_body: None,
        }
    }

    /// No retries: every call is sent once.
    pub fn none() -> Self {
        Self::new(0)
    }

    /// The exponential backoff: the `n`th retry waits between half and all of
    /// `base × 2ⁿ`, at most `max`.
    pub fn backoff(mut self, base: Duration, max: Duration) -> Self {
        self.base_delay = base;
        self.max_delay = max.max(base);
        self
    }

    /// The longest wait an upstream's `Retry-After` may ask for; a longer one is not
    /// waited and the reply goes back to the client with its `Retry-After`.
    pub fn max_wait(mut self, max_wait: Duration) -> Self {
        self.max_wait = max_wait;
        self
    }

    /// Whether a call that timed out waiting for the reply head is retried (default:
    /// no; the upstream may have been generating the answer, and a retry bills it again).
    /// A call that could not connect in time is a connect failure and is retried anyway.
    pub fn retry_timeouts(mut self, retry: bool) -> Self {
        self.retry_timeouts = retry;
        self
    }

    /// Shares `budget` (see [`TpsBudget::new`]) instead of a budget of this policy's own.
    pub fn budget(mut self, budget: Arc<TpsBudget>) -> Self {
        self.budget = budget;
        self
    }

    /// Reads a delay from the body of a `429` without `Retry-After` (the body is buffered,
    /// at most [`MAX_ERROR_BODY`](super::MAX_ERROR_BODY) bytes for at most
    /// [`MAX_ERROR_BODY_TIME`](super::MAX_ERROR_BODY_TIME), and handed on unchanged).
    pub fn delay_in_body(mut self, read: DelayInBody) -> Self {
        self.delay_in_body = Some(read);
        self
    }

    /// Whether a delay reader is set.
    pub(crate) fn reads_body_delay(&self) -> Option<DelayInBody> {
        self.delay_in_body
    }

    /// How many retries a call may get.
    pub fn max_retries(&self) -> u32 {
        self.max_retries
    }

    /// Whether a reply with `status` is worth another attempt.
    pub(crate) fn retries_status(status: StatusCode) -> bool {
        matches!(
            status,
            StatusCode::TOO_MANY_REQUESTS
                | StatusCode::INTERNAL_SERVER_ERROR
                | StatusCode::SERVICE_UNAVAILABLE
        )
    }

    /// Whether a failed call is worth another attempt.
    pub(crate) fn retries_error(&self, error: &(dyn std::error::Error + 'static)) -> bool {
        match super::classify(error) {
            super::Failure::Connect => true,
            super::Failure::Timeout => self.retry_timeouts,
            super::Failure::Other => false,
        }
    }

    /// The wait before retry number `retry` (0-based) when the upstream named none.
    pub(crate) fn backoff_delay(&self, retry: u32) -> Duration {
        let step = self
            .base_delay
            .saturating_mul(2u32.saturating_pow(retry))
            .min(self.max_delay);
        let half = step / 2;
        half + half.mul_f64(fastrand::f64())
    }

    /// Whether the upstream's own wait is short enough to honour.
    pub(crate) fn honours(&self, wait: Duration) -> bool {
        wait <= self.max_wait
    }

    /// Counts a call for the budget.
    pub(crate) fn deposit(&self) {
        self.budget.deposit();
    }

    /// Takes one retry out of the budget; `false` when it is spent.
    pub(crate) fn withdraw(&self) -> bool {
        self.budget.withdraw()
    }
}

impl std::fmt::Debug for RetryPolicy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RetryPolicy")
            .field("max_retries", &self.max_retries)
            .field("base_delay", &self.base_delay)
            .field("max_delay", &self.max_delay)
            .field("max_wait", &self.max_wait)
            .field("retry_timeouts", &self.retry_timeouts)
            .field("delay_in_body", &self.delay_in_body.is_some())
            .finish_non_exhaustive()
    }
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self::none()
    }
}

/// The `Retry-After` of a reply, if it has a usable one.
pub(crate) fn header_delay(headers: &http::HeaderMap) -> Option<Duration> {
    headers
        .get(RETRY_AFTER)
        .and_then(|value| value.to_str().ok())
        .and_then(|value| parse_retry_after(value, SystemTime::now()))
}

/// A `Retry-After` value: delay-seconds, or an HTTP date (a date already past is no
/// delay at all).
///
/// ```
/// use std::time::{Duration, SystemTime};
/// use llm_tower::upstream::retry::parse_retry_after;
///
/// assert_eq!(parse_retry_after("17", SystemTime::now()), Some(Duration::from_secs(17)));
/// assert_eq!(parse_retry_after("soon", SystemTime::now()), None);
/// ```
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    match value.parse::<u64>() {
        Ok(seconds) => Some(Duration::from_secs(seconds)),
        Err(_) => httpdate::parse_http_date(value)
            .ok()
            .map(|date| date.duration_since(now).unwrap_or_default()),
    }
}

#[cfg(test)]
mod tests {
    use std::time::{Duration, SystemTime};

    use super::{RetryPolicy, parse_retry_after};

    #[test]
    fn retry_after_is_seconds_or_an_http_date() {
        let now = httpdate::parse_http_date("Thu, 26 Nov 2026 10:00:00 GMT").expect("date");
        assert_eq!(
            parse_retry_after(" 17 ", now),
            Some(Duration::from_secs(17))
        );
        assert_eq!(
            parse_retry_after("Thu, 26 Nov 2026 10:01:30 GMT", now),
            Some(Duration::from_secs(90))
        );
        assert_eq!(
            parse_retry_after("Thu, 26 Nov 2026 09:59:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", SystemTime::UNIX_EPOCH), None);
    }

    #[test]
    fn backoff_doubles_with_jitter_up_to_the_cap() {
        let policy =
            RetryPolicy::new(5).backoff(Duration::from_millis(100), Duration::from_millis(350));
        for _ in 0..100 {
            let first = policy.backoff_delay(0);
            assert!(first >= Duration::from_millis(50) && first <= Duration::from_millis(100));
            let second = policy.backoff_delay(1);
            assert!(second >= Duration::from_millis(100) && second <= Duration::from_millis(200));
            let capped = policy.backoff_delay(10);
            assert!(capped >= Duration::from_millis(175) && capped <= Duration::from_millis(350));
        }
    }

    #[test]
    fn only_429_500_and_503_are_retried() {
        for status in [429, 500, 503] {
            let status = http::StatusCode::from_u16(status).expect("status");
            assert!(RetryPolicy::retries_status(status), "{status}");
        }
        for status in [200, 400, 401, 403, 404, 408, 502, 504] {
            let status = http::StatusCode::from_u16(status).expect("status");
            assert!(!RetryPolicy::retries_status(status), "{status}");
        }
    }

    #[test]
    fn the_budget_runs_out() {
        let policy = RetryPolicy::new(3).budget(std::sync::Arc::new(
            tower::retry::budget::TpsBudget::new(Duration::from_secs(1), 1, 0.0),
        ));
        assert!(policy.withdraw());
        assert!(!policy.withdraw());
    }
}
