//! The failover loop of one request: calls in its model group (another deployment, or the
//! same one after a wait, while the failure's class earns retries and the request's
//! [`SendBudget`] lasts), then its fallback groups in order, each with retries of its own.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::time::Instant;
use tower::{Service, ServiceExt};

use super::Inner;
use super::class::ErrorClass;
use super::fallback::RequestRouting;
use super::group::{Excluded, Group, Unavailable};
use super::reply::{Reply, Routable};
use super::report::RouteReport;
use super::state::InFlight;
use super::strategy::Strategy;
use crate::Deadline;
use crate::error::{Error, ErrorKind};
use crate::store::minute_of;
use crate::upstream::SendBudget;

/// Serves `request` from `group` (for a wildcard group, `rest` is the provider's model),
/// falling back as configured; see the [module](self).
///
/// An `async` block rather than an `async fn`: the block works on the request it captured,
/// where an `async fn` would keep a second copy of it (a moved argument is a new local).
#[allow(
    clippy::manual_async_fn,
    reason = "an async fn would hold the request twice"
)]
pub(crate) fn serve<R: Routable>(
    router: Arc<Inner>,
    group: Arc<Group>,
    rest: Option<String>,
    mut request: R,
) -> impl Future<Output = Result<R::Reply, Error>> + Send {
    async move {
        let routing = RequestRouting::take(request.extra_mut(), &group.name)?;
        // Only the router reads it: the copies sent to deployments go without.
        let report = request.context_mut().remove::<RouteReport>();
        let deadline = request.context_mut().get::<Deadline>().copied();
        let fallbacks = &router.settings.fallbacks;
        // Made on the first fallback: a request served by its own group allocates neither.
        let mut visited: Vec<Arc<str>> = Vec::new();
        let mut pending: VecDeque<Arc<Group>> = VecDeque::new();
        // A reply blocked for safety, kept while fallbacks try to do better.
        let mut blocked: Option<Box<R::Reply>> = None;
        let mut tried_fallbacks = 0_u32;
        let mut current = group;
        let mut original = true;
        loop {
            let call = Call {
                router: &router,
                group: &current,
                rest: rest.as_deref().filter(|_| original),
                routing: &routing,
                original,
                deadline,
                report: report.as_ref(),
            };
            let error = match call.run(&request).await {
                Ok(reply) => return Ok(reply),
                Err(Failed {
                    error,
                    blocked: reply,
                }) => {
                    blocked = reply.or(blocked);
                    error
                }
            };
            // What the client gets when no fallback does better: the blocked answer, else
            // the last error.
            let give_up =
                |error, blocked: Option<Box<R::Reply>>| blocked.map(|reply| *reply).ok_or(error);
            let class = ErrorClass::of(&error);
            if routing.disable_fallbacks || tried_fallbacks as usize >= fallbacks.max() {
                return give_up(error, blocked);
            }
            let list = match routing.for_failure(class).filter(|_| original) {
                Some(list) => list,
                None => fallbacks.for_failure(&current.name, class),
            };
            if visited.is_empty() {
                visited.push(current.name.clone());
            }
            // Depth first: a fallback's own fallbacks come before the next of this list.
            let mut insert_at = 0;
            for name in list {
                if visited.iter().any(|seen| **seen == **name) {
                    continue;
                }
                match router.groups.get(name.as_str()) {
                    Some(fallback) => {
                        visited.push(fallback.name.clone());
                        pending.insert(insert_at, fallback.clone());
                        insert_at += 1;
                    }
                    None => {
                        tracing::debug!(fallback = %name, "not a configured model name; skipped")
                    }
                }
            }
            let Some(next) = pending.pop_front() else {
                return give_up(error, blocked);
            };
            tried_fallbacks += 1;
            tracing::warn!(
                from = %current.name,
                to = %next.name,
                error = class.litellm_name(),
                status = error.status().as_u16(),
                "model group failed; falling back"
            );
            if let Some(observer) = &router.observer {
                observer.fell_back(&current.name, &next.name);
            }
            if let Some(report) = &report {
                report.update(|route| route.fallbacks = tried_fallbacks);
            }
            current = next;
            original = false;
        }
    }
}

/// Why a group gave up on a request: its last error, and a reply blocked for safety
/// that a fallback was to improve on.
struct Failed<Reply> {
    error: Error,
    blocked: Option<Box<Reply>>,
}

impl<Reply> From<Error> for Failed<Reply> {
    fn from(error: Error) -> Self {
        Self {
            error,
            blocked: None,
        }
    }
}

/// The calls of one request in one group.
struct Call<'a> {
    router: &'a Inner,
    group: &'a Arc<Group>,
    rest: Option<&'a str>,
    routing: &'a RequestRouting,
    original: bool,
    deadline: Option<Deadline>,
    report: Option<&'a RouteReport>,
}

impl Call<'_> {
    async fn run<R: Routable>(&self, request: &R) -> Result<R::Reply, Failed<R::Reply>> {
        let settings = &self.router.settings;
        if self.original
            && let Some(class) = self.routing.mock_failure
        {
            return Err(mock_failure(class).into());
        }
        let retries = match self.routing.num_retries.filter(|_| self.original) {
            Some(count) => settings.retries.with_num_retries(count),
            None => settings.retries,
        };
        let budget = SendBudget::new(retries.most());
        let strategy = &settings.strategy;
        let window = strategy.latency_window();
        let usage_based = matches!(strategy, Strategy::UsageBased);
        let counts_shared = self.router.shared.is_some() && usage_based;
        let reroutes_blocked = !self.routing.disable_fallbacks
            && (self.group.reroutes_blocked
                || (self.original && self.routing.content_policy_fallbacks.is_some()));
        let mut excluded = Excluded::new(self.group.len());
        let mut last: Option<Error> = None;
        let mut calls = 0_u32;
        loop {
            let now = Instant::now();
            let (minute, next_minute) = minute_now();
            let shared = match &self.router.shared {
                Some(shared) if self.group.len() > 1 || self.group.limited => {
                    shared.load(&self.group.ids, minute).await
                }
                _ => None,
            };
            let chosen = self.group.choose(
                strategy,
                |deployment| R::service(deployment).is_some(),
                &excluded,
                shared.as_deref(),
                minute,
                next_minute,
                now,
            );
            let position = match chosen {
                Ok(position) => position,
                Err(why) => {
                    let error = last.unwrap_or_else(|| unavailable(&self.group.name, why, R::WHAT));
                    return Err(error.into());
                }
            };
            let deployment = &self.group.deployments[position];
            let id = &self.group.ids[position];
            let state = &self.group.states[position];
            if excluded.was_tried(position) {
                // Nothing untried is left: the same deployment again, after a wait.
                let wait = retries.wait(calls - 1, last.as_ref().and_then(Error::retry_after));
                if self
                    .deadline
                    .is_some_and(|deadline| deadline.remaining() <= wait)
                {
                    let error = last.unwrap_or_else(|| {
                        unavailable(&self.group.name, Unavailable::None, R::WHAT)
                    });
                    return Err(error.into());
                }
                tokio::time::sleep(wait).await;
            }
            // Requests are counted where a limit or the strategy reads them.
            let admitted = match &self.router.shared {
                Some(shared) if deployment.rpm.is_some() || counts_shared => {
                    match shared.take_request(id, minute, deployment.rpm).await {
                        Some(true) => state.take_request(minute, None),
                        Some(false) => false,
                        None => state.take_request(minute, deployment.rpm),
                    }
                }
                _ if deployment.rpm.is_some() || usage_based => {
                    state.take_request(minute, deployment.rpm)
                }
                _ => true,
            };
            if !admitted {
                excluded.mark_full(position);
                continue;
            }
            excluded.mark_tried(position);
            let Some(mut service) = R::service(deployment).cloned() else {
                unreachable!("choose takes only deployments that serve the request");
            };
            self.group.report(self.report, position, calls);
            let in_flight = matches!(strategy, Strategy::LeastBusy).then(|| state.call_started());
            let started = Instant::now();
            // The copy is made once the service is ready and goes into its call at once,
            // so this future never holds it beside the original.
            let called = service.ready().await.map(|service| {
                let mut leg = request.clone();
                self.group.prepare(&mut leg, position, self.rest);
                leg.context_mut().insert(budget.clone());
                service.call(leg)
            });
            let settled = match called {
                Ok(called) => match called.await {
                    Ok(reply) => reply.settle().await,
                    Err(error) => Err(error),
                },
                Err(error) => Err(error),
            };
            let now = Instant::now();
            let error = match settled {
                Ok((settled, blocked)) => {
                    state.succeeded(minute, now - started, window, now);
                    let counts_tokens = deployment.tpm.is_some() || usage_based;
                    let on_end = (counts_tokens || in_flight.is_some())
                        .then(|| self.on_end(position, minute, counts_tokens, in_flight));
                    let reply = R::Reply::finish(settled, on_end);
                    if !(blocked && reroutes_blocked) {
                        return Ok(reply);
                    }
                    // Blocked for safety, and a fallback may serve instead.
                    return Err(Failed {
                        error: Error::new(
                            ErrorKind::ContentPolicyViolation,
                            "Response output was blocked.",
                        ),
                        blocked: Some(Box::new(reply)),
                    });
                }
                Err(error) => error,
            };
            drop(in_flight);
            calls += 1;
            let class = ErrorClass::of(&error);
            // Only failures that say something of the deployment's health count (a bad
            // request does not).
            if class.counts_toward_cooldown() {
                let counts = state.failed(minute, class == ErrorClass::Timeout, window, now);
                if settings
                    .cooldowns
                    .should_cool(class, counts, self.group.len() == 1)
                {
                    let time = settings
                        .cooldowns
                        .length(deployment.cooldown_time, error.retry_after());
                    // Boxed: a rare wait that would otherwise enlarge every call's future.
                    Box::pin(self.cool_down(position, time)).await;
                }
            }
            if class == ErrorClass::Authentication {
                // A refused key is never sent again to the same deployment.
                excluded.untried_only = true;
            }
            // A deployment alone in its group is resent only by the HTTP-seam retry (the
            // same bytes, its `Retry-After` honoured); the router has nowhere else to go.
            if self.group.len() == 1 || budget.taken() >= retries.for_class(class) || !budget.take()
            {
                return Err(error.into());
            }
            tracing::debug!(group = %self.group.name, deployment = %id, error = class.litellm_name(), "retrying in the model group");
            if let Some(observer) = &self.router.observer {
                observer.retried(&self.group.name, id);
            }
            last = Some(error);
        }
    }

    /// Takes deployment `position` out of rotation for `time`, here and in the shared store.
    async fn cool_down(&self, position: usize, time: Duration) {
        if time.is_zero() {
            return;
        }
        let id = &self.group.ids[position];
        self.group.states[position].cool_until(Instant::now() + time);
        tracing::info!(group = %self.group.name, deployment = %id, seconds = time.as_secs_f64(), "deployment cooling down");
        if let Some(observer) = &self.router.observer {
            observer.cooled_down(&self.group.name, id, time);
        }
        if let Some(shared) = &self.router.shared {
            shared.cool_down(id, time).await;
        }
    }

    /// What runs once a reply of deployment `position` ended: its tokens counted (when
    /// `counts_tokens`: a `tpm` limit or usage-based routing reads them), here and in the
    /// shared store, and its place among the calls in flight given back.
    fn on_end(
        &self,
        position: usize,
        minute: u64,
        counts_tokens: bool,
        in_flight: Option<InFlight>,
    ) -> impl FnOnce(u64) + Send + 'static {
        let group = self.group.clone();
        let shared = self.router.shared.clone().filter(|_| counts_tokens);
        move |tokens| {
            drop(in_flight);
            if !counts_tokens || tokens == 0 {
                return;
            }
            group.states[position].add_tokens(minute, tokens);
            if let Some(shared) = shared
                && let Ok(runtime) = tokio::runtime::Handle::try_current()
            {
                let id = group.ids[position].clone();
                runtime.spawn(async move { shared.add_tokens(&id, minute, tokens).await });
            }
        }
    }
}

/// The current minute since the Unix epoch, and the time until the next.
fn minute_now() -> (u64, Duration) {
    let now = SystemTime::now();
    let seconds = now.duration_since(UNIX_EPOCH).unwrap_or_default();
    let into = Duration::from_millis(u64::try_from(seconds.as_millis() % 60_000).unwrap_or(0));
    (minute_of(now), Duration::from_secs(60).saturating_sub(into))
}

/// The error of a group none of whose deployments can take the request.
fn unavailable(group: &str, why: Unavailable, what: &str) -> Error {
    let rounded = |wait: Duration| wait.as_secs() + u64::from(wait.subsec_nanos() > 0);
    match why {
        Unavailable::CoolingDown(wait) => Error::new(
            ErrorKind::RateLimit,
            format!(
                "No deployments available for selected model, Try again in {} seconds. Passed model={group}: every deployment is cooling down after failures",
                rounded(wait).max(1)
            ),
        )
        .with_retry_after(wait.max(Duration::from_secs(1))),
        Unavailable::AtLimit(wait) => Error::new(
            ErrorKind::RateLimit,
            format!(
                "No deployments available for selected model, Try again in {} seconds. Passed model={group}: every deployment is at its rpm or tpm limit for this minute",
                rounded(wait).max(1)
            ),
        )
        .with_retry_after(wait.max(Duration::from_secs(1))),
        Unavailable::None => Error::invalid_param(
            "model",
            format!("model {group:?} does not serve {what} requests"),
        ),
    }
}

/// The simulated failure a request's `mock_testing_*` switch asks for.
fn mock_failure(class: ErrorClass) -> Error {
    let kind = match class {
        ErrorClass::ContextWindowExceeded => ErrorKind::ContextWindowExceeded,
        ErrorClass::ContentPolicyViolation => ErrorKind::ContentPolicyViolation,
        ErrorClass::RateLimit => ErrorKind::RateLimit,
        _ => ErrorKind::Api,
    };
    Error::new(
        kind,
        format!("a simulated {} (mock_testing)", class.litellm_name()),
    )
}
