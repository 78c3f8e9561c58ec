//! [`LogLimit`]: at most one log line per interval for a failure that repeats at every
//! request (a dead Redis must not flood the log), counting the ones left out.

use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

/// Says when a repeated failure is due to be logged again.
#[derive(Debug)]
pub(crate) struct LogLimit {
    interval: Duration,
    state: Mutex<(Option<Instant>, u64)>,
}

impl LogLimit {
    /// One log per `interval`.
    pub(crate) fn new(interval: Duration) -> Self {
        Self {
            interval,
            state: Mutex::new((None, 0)),
        }
    }

    /// The interval.
    pub(crate) fn interval(&self) -> Duration {
        self.interval
    }

    /// `Some(failures not logged since the last log)` when a log is due at `now`.
    pub(crate) fn due(&self, now: Instant) -> Option<u64> {
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
        let limit = LogLimit::new(Duration::from_secs(60));
        let start = Instant::now();
        assert_eq!(limit.due(start), Some(0));
        assert_eq!(limit.due(start + Duration::from_secs(1)), None);
        assert_eq!(limit.due(start + Duration::from_secs(59)), None);
        assert_eq!(limit.due(start + Duration::from_secs(60)), Some(2));
        assert_eq!(limit.due(start + Duration::from_secs(61)), None);
    }
}
