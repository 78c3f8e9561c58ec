//! What one router knows of each deployment on its own: this minute's requests, tokens,
//! successes and failures, its cooldown, the calls in flight and recent latencies. It is
//! enough to route alone; a [`RouterStore`](crate::store::RouterStore) adds what the other
//! replicas know.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use tokio::time::Instant;

use super::policy::Minute;

/// The state of one deployment; see the [module](self).
#[derive(Debug, Default)]
pub(crate) struct DeploymentState {
    slot: Mutex<Slot>,
    in_flight: Arc<AtomicUsize>,
}

#[derive(Debug, Default)]
struct Slot {
    minute: u64,
    requests: u64,
    tokens: u64,
    successes: u64,
    failures: u64,
    cooling_until: Option<Instant>,
    /// Recent latencies in seconds, newest last, with when they were taken.
    latencies: VecDeque<(Instant, f64)>,
}

impl Slot {
    /// Starts `minute`'s counts if it is later than the last call's. A result of a call
    /// that started in an earlier minute (a stream that ended later) counts into the
    /// current one rather than wiping it.
    fn at(&mut self, minute: u64) -> &mut Self {
        if minute > self.minute {
            self.minute = minute;
            self.requests = 0;
            self.tokens = 0;
            self.successes = 0;
            self.failures = 0;
        }
        self
    }
}

/// A copy of one deployment's state for choosing among deployments.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct View {
    pub(crate) cooling_until: Option<Instant>,
    pub(crate) requests: u64,
    pub(crate) tokens: u64,
    pub(crate) in_flight: usize,
    /// The mean of recent latencies, in seconds; `None` before the first.
    pub(crate) latency: Option<f64>,
}

/// How latencies are kept (LiteLLM's `routing_strategy_args` of `latency-based-routing`).
#[derive(Clone, Copy, Debug, PartialEq)]
pub(crate) struct LatencyWindow {
    /// Samples kept per deployment.
    pub(crate) samples: usize,
    /// How long a sample counts.
    pub(crate) ttl: Duration,
}

impl Default for LatencyWindow {
    fn default() -> Self {
        Self {
            samples: 10,
            ttl: Duration::from_secs(3600),
        }
    }
}

/// A call in flight, counted until dropped (for `least-busy`).
#[derive(Debug)]
pub(crate) struct InFlight(Arc<AtomicUsize>);

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::Relaxed);
    }
}

impl DeploymentState {
    fn slot(&self) -> MutexGuard<'_, Slot> {
        // Counts stay usable whatever panicked while holding them.
        self.slot.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub(crate) fn view(&self, minute: u64, window: LatencyWindow, now: Instant) -> View {
        let mut slot = self.slot();
        let slot = slot.at(minute);
        let fresh = slot
            .latencies
            .iter()
            .filter(|(at, _)| now.saturating_duration_since(*at) <= window.ttl)
            .map(|(_, latency)| *latency);
        let (sum, count) = fresh.fold((0.0, 0_u32), |(sum, count), latency| {
            (sum + latency, count + 1)
        });
        View {
            cooling_until: slot.cooling_until.filter(|until| *until > now),
            requests: slot.requests,
            tokens: slot.tokens,
            in_flight: self.in_flight.load(Ordering::Relaxed),
            latency: (count > 0).then(|| sum / f64::from(count)),
        }
    }

    /// Counts a request of `minute` unless `limit` are counted: whether it was.
    pub(crate) fn take_request(&self, minute: u64, limit: Option<u64>) -> bool {
        let mut slot = self.slot();
        let slot = slot.at(minute);
        if limit.is_some_and(|limit| slot.requests >= limit) {
            return false;
        }
        slot.requests += 1;
        true
    }

    pub(crate) fn add_tokens(&self, minute: u64, tokens: u64) {
        let mut slot = self.slot();
        let slot = slot.at(minute);
        slot.tokens = slot.tokens.saturating_add(tokens);
    }

    pub(crate) fn call_started(&self) -> InFlight {
        self.in_flight.fetch_add(1, Ordering::Relaxed);
        InFlight(self.in_flight.clone())
    }

    /// A call succeeded after `latency` (recorded when `window` is given).
    pub(crate) fn succeeded(
        &self,
        minute: u64,
        latency: Duration,
        window: Option<LatencyWindow>,
        now: Instant,
    ) {
        let mut slot = self.slot();
        slot.at(minute).successes += 1;
        if let Some(window) = window {
            record_latency(&mut slot.latencies, window, now, latency.as_secs_f64());
        }
    }

    /// A call failed: this minute's calls, the failure counted. A timeout counts as a
    /// very slow call for `latency-based-routing` (LiteLLM's 1,000 s).
    pub(crate) fn failed(
        &self,
        minute: u64,
        timed_out: bool,
        window: Option<LatencyWindow>,
        now: Instant,
    ) -> Minute {
        let mut slot = self.slot();
        let counts = slot.at(minute);
        counts.failures += 1;
        let minute = Minute {
            successes: counts.successes,
            failures: counts.failures,
        };
        if let Some(window) = window.filter(|_| timed_out) {
            record_latency(&mut slot.latencies, window, now, 1000.0);
        }
        minute
    }

    pub(crate) fn cool_until(&self, until: Instant) {
        let mut slot = self.slot();
        slot.cooling_until = Some(slot.cooling_until.map_or(until, |known| known.max(until)));
    }
}

fn record_latency(
    latencies: &mut VecDeque<(Instant, f64)>,
    window: LatencyWindow,
    now: Instant,
    latency: f64,
) {
    while latencies.len() >= window.samples.max(1) {
        latencies.pop_front();
    }
    latencies.push_back((now, latency));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn counts_start_again_each_minute_and_cooldowns_end() {
        let state = DeploymentState::default();
        let now = Instant::now();
        let window = LatencyWindow::default();
        assert!(state.take_request(1, Some(1)));
        assert!(!state.take_request(1, Some(1)));
        assert!(state.take_request(2, Some(1)), "a new minute");
        state.cool_until(now + Duration::from_secs(5));
        assert!(state.view(2, window, now).cooling_until.is_some());
        let later = now + Duration::from_secs(6);
        assert!(state.view(2, window, later).cooling_until.is_none());
    }

    #[test]
    fn a_late_result_counts_into_the_current_minute() {
        let state = DeploymentState::default();
        let window = LatencyWindow::default();
        assert!(state.take_request(2, Some(2)));
        // A stream that started in minute 1 ends now.
        state.add_tokens(1, 40);
        state.succeeded(1, Duration::from_millis(5), None, Instant::now());
        let view = state.view(2, window, Instant::now());
        assert_eq!((view.requests, view.tokens), (1, 40));
        assert!(state.take_request(2, Some(2)));
        assert!(!state.take_request(2, Some(2)), "the limit still holds");
    }

    #[test]
    fn the_latency_is_the_mean_of_the_freshest_samples() {
        let state = DeploymentState::default();
        let window = LatencyWindow {
            samples: 2,
            ttl: Duration::from_secs(60),
        };
        let now = Instant::now();
        for millis in [100, 200, 400] {
            state.succeeded(0, Duration::from_millis(millis), Some(window), now);
        }
        let latency = state.view(0, window, now).latency.unwrap();
        assert!((latency - 0.3).abs() < 1e-9, "{latency}");
        let stale = state.view(0, window, now + Duration::from_secs(61));
        assert_eq!(stale.latency, None);
    }

    #[test]
    fn calls_in_flight_are_counted_until_their_guard_drops() {
        let state = DeploymentState::default();
        let first = state.call_started();
        let _second = state.call_started();
        let view =
            |state: &DeploymentState| state.view(0, LatencyWindow::default(), Instant::now());
        assert_eq!(view(&state).in_flight, 2);
        drop(first);
        assert_eq!(view(&state).in_flight, 1);
    }
}
