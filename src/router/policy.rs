//! What the router does after a failed call: [`Retries`] (how many more sends a class of
//! failure earns, and how long to wait when no other deployment is left) and
//! [`Cooldowns`] (when a deployment leaves the rotation, and for how long). LiteLLM's
//! `num_retries`, `retry_policy`, `retry_after`, `allowed_fails`, `allowed_fails_policy`,
//! `cooldown_time` and `disable_cooldowns`.

use std::time::Duration;

use super::class::{ErrorClass, PerClass};

/// LiteLLM's default `num_retries` for its router.
pub const DEFAULT_NUM_RETRIES: u32 = 2;

/// LiteLLM's default `cooldown_time`.
pub const DEFAULT_COOLDOWN_TIME: Duration = Duration::from_secs(5);

/// The longest cooldown an upstream's `Retry-After` may set.
pub const MAX_COOLDOWN_FROM_RETRY_AFTER: Duration = Duration::from_secs(600);

/// The first backoff when the retry goes to a deployment that just failed.
const INITIAL_BACKOFF: Duration = Duration::from_millis(500);

/// The longest backoff (LiteLLM's `MAX_RETRY_DELAY`).
const MAX_BACKOFF: Duration = Duration::from_secs(8);

/// The longest `Retry-After` honoured before a retry (LiteLLM's).
const MAX_HONOURED_RETRY_AFTER: Duration = Duration::from_secs(60);

/// Retries across the deployments of a model group.
///
/// Without a `retry_policy`, rate limits, timeouts, server errors and (on another
/// deployment only) a refused key are retried `num_retries` times; a bad request, an
/// unknown model, a context-window or content-policy refusal are not (the same request
/// fails the same way: LiteLLM retries them, llm-tower sends them to a fallback group at
/// once). A `retry_policy` sets the count per class, the bad request included.
///
/// ```
/// use llm_tower::router::{ErrorClass, PerClass, Retries};
///
/// let retries = Retries::new(2).policy(PerClass::new().set(ErrorClass::RateLimit, 5));
/// assert_eq!(retries.for_class(ErrorClass::RateLimit), 5);
/// assert_eq!(retries.for_class(ErrorClass::Timeout), 2);
/// assert_eq!(retries.for_class(ErrorClass::BadRequest), 0);
/// assert_eq!(retries.most(), 5);
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Retries {
    num_retries: u32,
    policy: PerClass,
    min_wait: Duration,
}

impl Default for Retries {
    fn default() -> Self {
        Self::new(DEFAULT_NUM_RETRIES)
    }
}

impl Retries {
    /// `num_retries` retries of the classes retried by default.
    pub fn new(num_retries: u32) -> Self {
        Self {
            num_retries,
            policy: PerClass::new(),
            min_wait: Duration::ZERO,
        }
    }

    /// The same, with `num_retries` retries (a request's own `num_retries`).
    pub fn with_num_retries(mut self, num_retries: u32) -> Self {
        self.num_retries = num_retries;
        self
    }

    /// Per-class counts (LiteLLM's `retry_policy`), over `num_retries`.
    pub fn policy(mut self, policy: PerClass) -> Self {
        self.policy = policy;
        self
    }

    /// The shortest wait before retrying a deployment that just failed (LiteLLM's
    /// `retry_after`).
    pub fn min_wait(mut self, wait: Duration) -> Self {
        self.min_wait = wait;
        self
    }

    /// The retries a failure of `class` earns.
    pub fn for_class(&self, class: ErrorClass) -> u32 {
        self.policy.get(class).unwrap_or(match class {
            ErrorClass::RateLimit
            | ErrorClass::Timeout
            | ErrorClass::InternalServer
            | ErrorClass::Authentication => self.num_retries,
            ErrorClass::BadRequest
            | ErrorClass::NotFound
            | ErrorClass::ContextWindowExceeded
            | ErrorClass::ContentPolicyViolation => 0,
        })
    }

    /// The most retries any class earns: the request's send budget.
    pub fn most(&self) -> u32 {
        self.policy
            .max()
            .map_or(self.num_retries, |most| most.max(self.num_retries))
    }

    /// The wait before retry number `retry` (from 0) when it goes to a deployment that
    /// just failed: the upstream's `Retry-After` up to a minute, else a backoff doubling
    /// from half a second to eight, with jitter; never less than [`min_wait`](Self::min_wait).
    pub(crate) fn wait(&self, retry: u32, retry_after: Option<Duration>) -> Duration {
        let base = match retry_after.filter(|wait| *wait <= MAX_HONOURED_RETRY_AFTER) {
            Some(wait) => wait,
            None => INITIAL_BACKOFF
                .saturating_mul(1 << retry.min(5))
                .min(MAX_BACKOFF),
        };
        let jitter = base.mul_f64(fastrand::f64() * 0.25);
        (base + jitter).max(self.min_wait)
    }
}

/// When a deployment leaves the rotation.
///
/// By default LiteLLM's rule: in a group of several deployments, a deployment cools down
/// on a 429, a 401 or 404, or when more than half of its calls this minute failed (five
/// calls at least); a deployment alone in its group cools down only when all of a
/// thousand calls or more this minute failed, since there is nothing to send its
/// requests to instead. With `allowed_fails` (or an `allowed_fails_policy`), a deployment
/// cools down once its failures this minute exceed the number allowed for the class.
///
/// A cooldown lasts the deployment's own `cooldown_time`, else the upstream's
/// `Retry-After` (up to ten minutes), else the router's `cooldown_time` (5 s).
///
/// ```
/// use std::time::Duration;
/// use llm_tower::router::Cooldowns;
///
/// let cooldowns = Cooldowns::new().allowed_fails(3).cooldown_time(Duration::from_secs(30));
/// assert_eq!(cooldowns.time(), Duration::from_secs(30));
/// assert!(!Cooldowns::disabled().is_enabled());
/// ```
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Cooldowns {
    enabled: bool,
    time: Duration,
    allowed_fails: Option<u32>,
    policy: PerClass,
}

impl Default for Cooldowns {
    fn default() -> Self {
        Self::new()
    }
}

/// What a deployment did this minute, for [`Cooldowns::should_cool`].
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub(crate) struct Minute {
    pub(crate) successes: u64,
    pub(crate) failures: u64,
}

/// Failures this minute, all of them failing, that cool down a deployment alone in its
/// group (LiteLLM's `SINGLE_DEPLOYMENT_TRAFFIC_FAILURE_THRESHOLD`).
const LONE_DEPLOYMENT_FAILURES: u64 = 1000;

/// Calls this minute before the failure rate counts (LiteLLM's
/// `DEFAULT_FAILURE_THRESHOLD_MINIMUM_REQUESTS`).
const MIN_CALLS_FOR_RATE: u64 = 5;

impl Cooldowns {
    /// LiteLLM's defaults.
    pub fn new() -> Self {
        Self {
            enabled: true,
            time: DEFAULT_COOLDOWN_TIME,
            allowed_fails: None,
            policy: PerClass::new(),
        }
    }

    /// No cooldowns (`disable_cooldowns`).
    pub fn disabled() -> Self {
        Self {
            enabled: false,
            ..Self::new()
        }
    }

    /// Whether deployments cool down at all.
    pub fn is_enabled(&self) -> bool {
        self.enabled
    }

    /// How long a cooldown lasts unless the deployment or the upstream says otherwise.
    pub fn cooldown_time(mut self, time: Duration) -> Self {
        self.time = time;
        self
    }

    /// The cooldown's length.
    pub fn time(&self) -> Duration {
        self.time
    }

    /// Failures allowed in a minute before a cooldown (LiteLLM's `allowed_fails`).
    pub fn allowed_fails(mut self, allowed: u32) -> Self {
        self.allowed_fails = Some(allowed);
        self
    }

    /// Failures allowed per class (`allowed_fails_policy`).
    pub fn policy(mut self, policy: PerClass) -> Self {
        self.policy = policy;
        self
    }

    /// Whether a deployment whose minute now reads `minute` (the failure of `class`
    /// included) leaves the rotation; `lone` when it is its group's only deployment.
    pub(crate) fn should_cool(&self, class: ErrorClass, minute: Minute, lone: bool) -> bool {
        if !self.enabled || !class.counts_toward_cooldown() {
            return false;
        }
        if self.allowed_fails.is_some() || !self.policy.is_empty() {
            let allowed = self
                .policy
                .get(class)
                .or(self.allowed_fails)
                .unwrap_or(u32::MAX);
            return minute.failures > u64::from(allowed);
        }
        let calls = minute.failures + minute.successes;
        if lone {
            return minute.successes == 0 && minute.failures >= LONE_DEPLOYMENT_FAILURES;
        }
        matches!(
            class,
            ErrorClass::RateLimit | ErrorClass::Authentication | ErrorClass::NotFound
        ) || (calls >= MIN_CALLS_FOR_RATE && minute.failures * 2 > calls)
    }

    /// How long a cooldown lasts: `own` (the deployment's `cooldown_time`), else the
    /// upstream's `retry_after` (bounded), else the router's.
    pub(crate) fn length(&self, own: Option<Duration>, retry_after: Option<Duration>) -> Duration {
        own.or_else(|| retry_after.map(|wait| wait.min(MAX_COOLDOWN_FROM_RETRY_AFTER)))
            .unwrap_or(self.time)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn minute(successes: u64, failures: u64) -> Minute {
        Minute {
            successes,
            failures,
        }
    }

    #[test]
    fn litellm_default_rule() {
        let rule = Cooldowns::new();
        assert!(rule.should_cool(ErrorClass::RateLimit, minute(100, 1), false));
        assert!(!rule.should_cool(ErrorClass::RateLimit, minute(0, 50), true));
        assert!(rule.should_cool(ErrorClass::Authentication, minute(9, 1), false));
        assert!(!rule.should_cool(ErrorClass::InternalServer, minute(2, 2), false));
        assert!(rule.should_cool(ErrorClass::InternalServer, minute(2, 3), false));
        assert!(!rule.should_cool(ErrorClass::InternalServer, minute(0, 4), false));
        assert!(!rule.should_cool(ErrorClass::BadRequest, minute(0, 100), false));
        assert!(rule.should_cool(ErrorClass::Timeout, minute(0, 1000), true));
        assert!(!rule.should_cool(ErrorClass::Timeout, minute(1, 1000), true));
        assert!(!Cooldowns::disabled().should_cool(ErrorClass::RateLimit, minute(0, 9), false));
    }

    #[test]
    fn allowed_fails_count_failures_per_class_of_policy() {
        let rule = Cooldowns::new()
            .allowed_fails(2)
            .policy(PerClass::new().set(ErrorClass::RateLimit, 0));
        assert!(!rule.should_cool(ErrorClass::Timeout, minute(0, 2), true));
        assert!(rule.should_cool(ErrorClass::Timeout, minute(0, 3), true));
        assert!(rule.should_cool(ErrorClass::RateLimit, minute(50, 1), false));
    }

    #[test]
    fn the_cooldown_is_the_deployments_then_the_upstreams_then_the_routers() {
        let rule = Cooldowns::new();
        let hour = Duration::from_secs(3600);
        assert_eq!(
            rule.length(Some(Duration::ZERO), Some(hour)),
            Duration::ZERO
        );
        assert_eq!(rule.length(None, Some(hour)), MAX_COOLDOWN_FROM_RETRY_AFTER);
        assert_eq!(rule.length(None, None), DEFAULT_COOLDOWN_TIME);
    }

    #[test]
    fn waits_honour_a_short_retry_after_and_double_otherwise() {
        let retries = Retries::new(3).min_wait(Duration::from_millis(700));
        let named = retries.wait(0, Some(Duration::from_secs(2)));
        assert!(named >= Duration::from_secs(2) && named <= Duration::from_millis(2500));
        let first = retries.wait(0, None);
        assert!(first >= Duration::from_millis(700), "{first:?}");
        let late = retries.wait(9, Some(Duration::from_secs(3600)));
        assert!(late >= MAX_BACKOFF && late <= MAX_BACKOFF.mul_f64(1.25));
    }
}
