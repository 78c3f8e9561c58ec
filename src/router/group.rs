//! [`Group`]: the deployments of one model name, each with its own state, and the choice
//! of the deployment that takes the next call: not cooling down, within its `rpm`/`tpm`,
//! of the lowest `order`, then by the [`Strategy`].

use std::sync::Arc;
use std::time::Duration;

use smallvec::{SmallVec, smallvec};
use tokio::time::Instant;

use super::deployment::Deployment;
use super::fallback::Fallbacks;
use super::reply::Routable;
use super::report::RouteReport;
use super::state::DeploymentState;
use super::strategy::{Candidate, Strategy};
use crate::store::DeploymentLoad;

/// The deployments of one model name; see the [module](self).
pub(crate) struct Group {
    pub(crate) name: Arc<str>,
    pub(crate) deployments: Box<[Deployment]>,
    /// Each deployment's id (its own, else `{name}/{position}`).
    pub(crate) ids: Arc<[Arc<str>]>,
    pub(crate) states: Box<[DeploymentState]>,
    /// What `simple-shuffle` weighs each deployment by.
    weights: Box<[f64]>,
    /// Whether any deployment has an `rpm` or `tpm` limit.
    pub(crate) limited: bool,
    /// Whether a failure can go to a fallback group (fixed when the router is built).
    pub(crate) can_fall_back: bool,
    /// Whether a reply blocked for safety is a failure that a fallback may serve.
    pub(crate) reroutes_blocked: bool,
}

/// Why no deployment can take a call now.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Unavailable {
    /// Every deployment that serves the request is cooling down; the first is back after
    /// the wait.
    CoolingDown(Duration),
    /// Every one is at its `rpm` or `tpm` limit (or cooling down) until the next minute.
    AtLimit(Duration),
    /// None serves this kind of request, or every one was tried already.
    None,
}

/// Which deployments a choice may not take, by position.
#[derive(Debug)]
pub(crate) struct Excluded {
    /// Tried by this request already: passed over while untried ones remain.
    tried: Positions,
    /// At its limit in the shared store for this request.
    full: Positions,
    /// Only untried deployments may take it (a refused key is not sent again).
    pub(crate) untried_only: bool,
}

impl Excluded {
    pub(crate) fn new(deployments: usize) -> Self {
        Self {
            tried: Positions::new(deployments),
            full: Positions::new(deployments),
            untried_only: false,
        }
    }

    pub(crate) fn mark_tried(&mut self, position: usize) {
        self.tried.insert(position);
    }

    pub(crate) fn was_tried(&self, position: usize) -> bool {
        self.tried.contains(position)
    }

    pub(crate) fn mark_full(&mut self, position: usize) {
        self.full.insert(position);
    }

    fn is_full(&self, position: usize) -> bool {
        self.full.contains(position)
    }
}

/// A set of positions in a group, a bit each: inline for groups of up to 64 deployments,
/// so a request's failover allocates nothing for it.
#[derive(Debug)]
struct Positions(SmallVec<[u64; 1]>);

impl Positions {
    fn new(len: usize) -> Self {
        Self(smallvec![0; len.div_ceil(64)])
    }

    fn insert(&mut self, position: usize) {
        self.0[position / 64] |= 1 << (position % 64);
    }

    fn contains(&self, position: usize) -> bool {
        self.0[position / 64] & (1 << (position % 64)) != 0
    }
}

impl Group {
    pub(crate) fn new(name: &str, deployments: Vec<Deployment>, fallbacks: &Fallbacks) -> Self {
        let ids: Arc<[Arc<str>]> = deployments
            .iter()
            .enumerate()
            .map(|(position, deployment)| {
                deployment
                    .id
                    .clone()
                    .unwrap_or_else(|| format!("{name}/{position}").into())
            })
            .collect();
        let weight_of: fn(&Deployment) -> Option<f64> = if deployments
            .iter()
            .any(|deployment| deployment.weight.is_some())
        {
            |deployment| deployment.weight
        } else if deployments
            .iter()
            .any(|deployment| deployment.rpm.is_some())
        {
            |deployment| deployment.rpm.map(|rpm| rpm as f64)
        } else if deployments
            .iter()
            .any(|deployment| deployment.tpm.is_some())
        {
            |deployment| deployment.tpm.map(|tpm| tpm as f64)
        } else {
            |_| Some(1.0)
        };
        let weights = deployments
            .iter()
            .map(|deployment| weight_of(deployment).unwrap_or(0.0))
            .collect();
        let limited = deployments
            .iter()
            .any(|deployment| deployment.rpm.is_some() || deployment.tpm.is_some());
        Self {
            name: name.into(),
            states: deployments
                .iter()
                .map(|_| DeploymentState::default())
                .collect(),
            deployments: deployments.into(),
            ids,
            weights,
            limited,
            can_fall_back: fallbacks.any_for(name),
            reroutes_blocked: fallbacks.reroutes_blocked(name),
        }
    }

    /// Makes `request` ready for deployment `position`: its model (a wildcard keeps the
    /// requested one, `rest`) and its params.
    pub(crate) fn prepare<R: Routable>(
        &self,
        request: &mut R,
        position: usize,
        rest: Option<&str>,
    ) {
        let deployment = &self.deployments[position];
        match rest {
            Some(rest) if deployment.model == "*" => request.set_model(rest.to_owned()),
            _ if deployment.model == "*" => {}
            _ => request.set_model(deployment.model.clone()),
        }
        request.apply(deployment);
    }

    /// Tells `report` that deployment `position` takes the call, after `retries`.
    pub(crate) fn report(&self, report: Option<&RouteReport>, position: usize, retries: u32) {
        if let Some(report) = report {
            report.update(|route| {
                route.model_group = Some(self.name.clone());
                route.model_id = Some(self.ids[position].clone());
                route.retries = retries;
            });
        }
    }

    pub(crate) fn len(&self) -> usize {
        self.deployments.len()
    }

    /// The deployment that takes the next call, by position; or why none can.
    #[expect(clippy::too_many_arguments, reason = "one choice, all of its inputs")]
    pub(crate) fn choose(
        &self,
        strategy: &Strategy,
        serves: impl Fn(&Deployment) -> bool,
        excluded: &Excluded,
        shared: Option<&[DeploymentLoad]>,
        minute: u64,
        next_minute: Duration,
        now: Instant,
    ) -> Result<usize, Unavailable> {
        let window = strategy.latency_window().unwrap_or_default();
        let mut candidates: SmallVec<[Candidate; 4]> = SmallVec::new();
        let mut cooling_until: Option<Instant> = None;
        let mut at_limit = false;
        for (position, deployment) in self.deployments.iter().enumerate() {
            if !serves(deployment) {
                continue;
            }
            let mut view = self.states[position].view(minute, window, now);
            let load = shared.map(|loads| loads[position]).unwrap_or_default();
            view.requests = view.requests.max(load.requests);
            view.tokens = view.tokens.max(load.tokens);
            if let Some(until) = view.cooling_until {
                cooling_until = Some(cooling_until.map_or(until, |known| known.min(until)));
                continue;
            }
            if load.cooling_down {
                // The store does not say when: the router's cooldown stands in.
                cooling_until.get_or_insert(now + Duration::from_secs(1));
                continue;
            }
            let full = excluded.is_full(position)
                || deployment.rpm.is_some_and(|rpm| view.requests >= rpm)
                || deployment.tpm.is_some_and(|tpm| view.tokens >= tpm);
            if full {
                at_limit = true;
                continue;
            }
            candidates.push(Candidate {
                position,
                view,
                weight: self.weights[position],
                cost: deployment.cost,
            });
        }
        let untried = candidates
            .iter()
            .any(|candidate| !excluded.was_tried(candidate.position));
        if untried || excluded.untried_only {
            candidates.retain(|candidate| !excluded.was_tried(candidate.position));
        }
        let lowest_order = candidates
            .iter()
            .map(|candidate| self.deployments[candidate.position].order.unwrap_or(0))
            .min();
        if let Some(order) = lowest_order {
            candidates.retain(|candidate| {
                self.deployments[candidate.position].order.unwrap_or(0) == order
            });
        }
        if candidates.is_empty() {
            return Err(if at_limit {
                Unavailable::AtLimit(next_minute)
            } else if let Some(until) = cooling_until {
                Unavailable::CoolingDown(until.saturating_duration_since(now))
            } else {
                Unavailable::None
            });
        }
        Ok(candidates[strategy.choose(&candidates)].position)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Error;
    use crate::openai::ChatRequest;
    use crate::provider::{ChatResponse, ChatService};

    fn deployment() -> Deployment {
        let service = ChatService::new(tower::service_fn(|_: ChatRequest| async {
            Err::<ChatResponse, _>(Error::invalid_request("unused"))
        }));
        Deployment::new(service, "m")
    }

    fn choose(group: &Group, excluded: &Excluded, now: Instant) -> Result<usize, Unavailable> {
        group.choose(
            &Strategy::LeastBusy,
            |_| true,
            excluded,
            None,
            1,
            Duration::from_secs(30),
            now,
        )
    }

    #[tokio::test(start_paused = true)]
    async fn cooling_and_full_deployments_are_passed_over() {
        let group = Group::new(
            "g",
            vec![deployment().with_rpm(1), deployment(), deployment()],
            &Fallbacks::new(),
        );
        let now = Instant::now();
        assert!(group.states[0].take_request(1, Some(1)));
        group.states[1].cool_until(now + Duration::from_secs(3));
        assert_eq!(choose(&group, &Excluded::new(3), now), Ok(2));
        let mut excluded = Excluded::new(3);
        excluded.mark_tried(2);
        excluded.untried_only = true;
        assert_eq!(
            choose(&group, &excluded, now),
            Err(Unavailable::AtLimit(Duration::from_secs(30)))
        );
        let cooling = Group::new("c", vec![deployment()], &Fallbacks::new());
        cooling.states[0].cool_until(now + Duration::from_secs(3));
        assert_eq!(
            choose(&cooling, &Excluded::new(1), now),
            Err(Unavailable::CoolingDown(Duration::from_secs(3)))
        );
    }

    #[test]
    fn the_lowest_order_serves_first_and_tried_ones_last() {
        let group = Group::new(
            "g",
            vec![
                deployment().with_order(2),
                deployment().with_order(1),
                deployment().with_order(1),
            ],
            &Fallbacks::new(),
        );
        let now = Instant::now();
        let mut excluded = Excluded::new(3);
        excluded.mark_tried(1);
        assert_eq!(choose(&group, &excluded, now), Ok(2));
        excluded.mark_tried(2);
        assert_eq!(
            choose(&group, &excluded, now),
            Ok(0),
            "order 2 once order 1 is tried"
        );
    }

    #[test]
    fn positions_past_the_inline_word_are_kept() {
        let tried = [0, 63, 64, 129];
        let mut excluded = Excluded::new(130);
        for position in tried {
            excluded.mark_tried(position);
        }
        excluded.mark_full(100);
        for position in 0..130 {
            assert_eq!(excluded.was_tried(position), tried.contains(&position));
            assert_eq!(excluded.is_full(position), position == 100);
        }
    }

    #[test]
    fn ids_default_to_the_name_and_position() {
        let group = Group::new(
            "g",
            vec![deployment().with_id("own"), deployment()],
            &Fallbacks::new(),
        );
        assert_eq!(&*group.ids[0], "own");
        assert_eq!(&*group.ids[1], "g/1");
    }
}
