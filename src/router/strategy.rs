//! [`Strategy`]: how the router chooses among the deployments of a model group that are
//! not cooling down and not at their limits (LiteLLM's `routing_strategy`).

use std::str::FromStr;
use std::time::Duration;

use super::state::{LatencyWindow, View};

/// LiteLLM's routing strategies.
///
/// ```
/// use llm_tower::router::Strategy;
///
/// assert_eq!("simple-shuffle".parse(), Ok(Strategy::SimpleShuffle));
/// assert_eq!("least-busy".parse(), Ok(Strategy::LeastBusy));
/// assert!("round-robin-ish".parse::<Strategy>().is_err());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq)]
#[non_exhaustive]
pub enum Strategy {
    /// A random deployment, weighted by `weight`, else by `rpm`, else by `tpm`, else
    /// uniform (LiteLLM's default).
    #[default]
    SimpleShuffle,
    /// The deployment with the fewest calls in flight (ties at random).
    LeastBusy,
    /// The deployment with the lowest mean of its recent latencies (time to the first
    /// event of a stream, the whole call otherwise), at random among those within
    /// `buffer` of the lowest; deployments not yet measured first.
    LatencyBased(LatencyArgs),
    /// The deployment with the fewest tokens this minute (ties: fewest requests, then at
    /// random); LiteLLM's `usage-based-routing-v2` (and `usage-based-routing`).
    UsageBased,
    /// The deployment with the lowest price per token (unpriced ones last).
    CostBased,
}

/// `routing_strategy_args` of `latency-based-routing`.
#[derive(Clone, Copy, Debug, PartialEq)]
#[non_exhaustive]
pub struct LatencyArgs {
    /// How long a latency sample counts (`ttl`, default an hour).
    pub ttl: Duration,
    /// Deployments within this fraction of the lowest latency share the traffic
    /// (`lowest_latency_buffer`, default 0).
    pub buffer: f64,
    /// Samples kept per deployment (`max_latency_list_size`, default 10).
    pub samples: usize,
}

impl Default for LatencyArgs {
    fn default() -> Self {
        let window = LatencyWindow::default();
        Self {
            ttl: window.ttl,
            buffer: 0.0,
            samples: window.samples,
        }
    }
}

/// A strategy name LiteLLM does not have.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown routing strategy {0:?}: expected simple-shuffle, least-busy, latency-based-routing, usage-based-routing-v2, usage-based-routing or cost-based-routing"
)]
pub struct UnknownStrategy(pub String);

impl FromStr for Strategy {
    type Err = UnknownStrategy;

    fn from_str(name: &str) -> Result<Self, UnknownStrategy> {
        Ok(match name {
            "simple-shuffle" => Self::SimpleShuffle,
            "least-busy" => Self::LeastBusy,
            "latency-based-routing" => Self::LatencyBased(LatencyArgs::default()),
            "usage-based-routing-v2" | "usage-based-routing" => Self::UsageBased,
            "cost-based-routing" => Self::CostBased,
            other => return Err(UnknownStrategy(other.to_owned())),
        })
    }
}

/// A deployment that may take the request, as a strategy sees it.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Candidate {
    /// Its position in the group.
    pub(crate) position: usize,
    pub(crate) view: View,
    pub(crate) weight: f64,
    pub(crate) cost: Option<f64>,
}

impl Strategy {
    /// The latency samples this strategy needs kept, if any.
    pub(crate) fn latency_window(&self) -> Option<LatencyWindow> {
        match self {
            Self::LatencyBased(args) => Some(LatencyWindow {
                samples: args.samples,
                ttl: args.ttl,
            }),
            _ => None,
        }
    }

    /// Which of `candidates` (not empty) takes the request: an index into it.
    pub(crate) fn choose(&self, candidates: &[Candidate]) -> usize {
        match self {
            Self::SimpleShuffle => weighted(candidates),
            Self::LeastBusy => lowest(candidates, |candidate| candidate.view.in_flight as f64),
            Self::LatencyBased(args) => {
                let latency = |candidate: &Candidate| candidate.view.latency.unwrap_or(0.0);
                let best = candidates.iter().map(latency).fold(f64::INFINITY, f64::min);
                let bound = best * (1.0 + args.buffer.max(0.0));
                random_among(candidates, |candidate| latency(candidate) <= bound)
            }
            Self::UsageBased => lowest(candidates, |candidate| {
                // Tokens first; requests break ties (a fraction never outweighs a token).
                candidate.view.tokens as f64 + candidate.view.requests as f64 / 1e9
            }),
            Self::CostBased => lowest(candidates, |candidate| {
                candidate.cost.unwrap_or(f64::INFINITY)
            }),
        }
    }
}

/// At random, in proportion to the weights; uniform when none is positive.
fn weighted(candidates: &[Candidate]) -> usize {
    let total: f64 = candidates
        .iter()
        .map(|candidate| candidate.weight.max(0.0))
        .sum();
    if !(total > 0.0 && total.is_finite()) {
        return fastrand::usize(..candidates.len());
    }
    let mut point = fastrand::f64() * total;
    for (index, candidate) in candidates.iter().enumerate() {
        point -= candidate.weight.max(0.0);
        if point < 0.0 {
            return index;
        }
    }
    candidates.len() - 1
}

/// The lowest by `key`, ties at random.
fn lowest(candidates: &[Candidate], key: impl Fn(&Candidate) -> f64) -> usize {
    let best = candidates.iter().map(&key).fold(f64::INFINITY, f64::min);
    random_among(candidates, |candidate| key(candidate) <= best)
}

/// At random among the candidates `keep` accepts (the first if it accepts none).
fn random_among(candidates: &[Candidate], keep: impl Fn(&Candidate) -> bool) -> usize {
    let count = candidates
        .iter()
        .filter(|candidate| keep(candidate))
        .count();
    if count == 0 {
        return 0;
    }
    let pick = fastrand::usize(..count);
    candidates
        .iter()
        .enumerate()
        .filter(|(_, candidate)| keep(candidate))
        .nth(pick)
        .map_or(0, |(index, _)| index)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn candidate(position: usize, weight: f64) -> Candidate {
        Candidate {
            position,
            view: View::default(),
            weight,
            cost: None,
        }
    }

    fn histogram(strategy: Strategy, candidates: &[Candidate], draws: usize) -> Vec<usize> {
        let mut counts = vec![0; candidates.len()];
        for _ in 0..draws {
            counts[strategy.choose(candidates)] += 1;
        }
        counts
    }

    #[test]
    fn simple_shuffle_follows_the_weights() {
        fastrand::seed(7);
        let candidates = [candidate(0, 1.0), candidate(1, 3.0), candidate(2, 0.0)];
        let counts = histogram(Strategy::SimpleShuffle, &candidates, 40_000);
        assert_eq!(counts[2], 0, "a zero weight takes nothing");
        let share = counts[1] as f64 / 40_000.0;
        assert!((share - 0.75).abs() < 0.02, "{counts:?}");
    }

    #[test]
    fn no_positive_weight_is_uniform() {
        fastrand::seed(9);
        let candidates = [candidate(0, 0.0), candidate(1, 0.0)];
        let counts = histogram(Strategy::SimpleShuffle, &candidates, 10_000);
        assert!(counts.iter().all(|count| *count > 4_500), "{counts:?}");
    }

    #[test]
    fn least_busy_latency_usage_and_cost_take_the_lowest() {
        let mut candidates = [candidate(0, 1.0), candidate(1, 1.0), candidate(2, 1.0)];
        candidates[0].view.in_flight = 3;
        candidates[1].view.in_flight = 1;
        candidates[2].view.in_flight = 2;
        assert_eq!(Strategy::LeastBusy.choose(&candidates), 1);
        candidates[0].view.latency = Some(0.2);
        candidates[1].view.latency = Some(0.5);
        candidates[2].view.latency = Some(0.1);
        let latency = Strategy::LatencyBased(LatencyArgs::default());
        assert_eq!(latency.choose(&candidates), 2);
        candidates[2].view.latency = None;
        assert_eq!(latency.choose(&candidates), 2, "unmeasured first");
        candidates[0].view.tokens = 10;
        candidates[1].view.tokens = 5;
        candidates[2].view.tokens = 5;
        candidates[2].view.requests = 1;
        assert_eq!(Strategy::UsageBased.choose(&candidates), 1);
        candidates[0].cost = Some(2e-6);
        candidates[1].cost = Some(1e-6);
        assert_eq!(Strategy::CostBased.choose(&candidates), 1);
    }

    #[test]
    fn the_latency_buffer_spreads_traffic_over_near_ties() {
        fastrand::seed(3);
        let mut candidates = [candidate(0, 1.0), candidate(1, 1.0)];
        candidates[0].view.latency = Some(1.0);
        candidates[1].view.latency = Some(1.1);
        let args = LatencyArgs {
            buffer: 0.2,
            ..LatencyArgs::default()
        };
        let counts = histogram(Strategy::LatencyBased(args), &candidates, 2_000);
        assert!(counts.iter().all(|count| *count > 800), "{counts:?}");
    }
}
