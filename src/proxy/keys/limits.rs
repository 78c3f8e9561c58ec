//! [`Limits`]: a virtual key's (and its team's) `rpm_limit`, `tpm_limit` and
//! `max_parallel_requests`. Requests and tokens per minute are counted in the router's
//! [`RouterStore`] — Redis when `router_settings` names one, so every replica counts
//! against one limit; this process's memory otherwise — under `key:{hash}` and
//! `team:{id}`. Requests in flight are counted per replica. Past a limit, a 429 with
//! `Retry-After`. A store that fails is passed over (the request goes on), as the router
//! does.

use std::collections::HashMap;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, SystemTime};

use super::gate::Grant;
use super::store::Terms;
use crate::error::{Error, ErrorKind};
use crate::store::{RouterStore, minute_of};

/// The counters of virtual keys; see the [module](self).
pub(crate) struct Limits {
    store: Arc<dyn RouterStore>,
    /// Requests in flight per counter id, on this replica.
    in_flight: Arc<Mutex<HashMap<String, i64>>>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").finish_non_exhaustive()
    }
}

/// A request's place among its key's (and team's) requests in flight, given back when
/// dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    in_flight: Arc<Mutex<HashMap<String, i64>>>,
    ids: Vec<String>,
}

impl Drop for Slot {
    fn drop(&mut self) {
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        for id in &self.ids {
            if let Some(count) = in_flight.get_mut(id) {
                *count -= 1;
                if *count <= 0 {
                    in_flight.remove(id);
                }
            }
        }
    }
}

/// The counter ids and terms of a grant: its key's, then its team's.
fn scopes(grant: &Grant) -> Vec<(String, &Terms)> {
    std::iter::once((format!("key:{}", grant.key.token), &grant.key.terms))
        .chain(
            grant
                .team
                .iter()
                .map(|team| (format!("team:{}", team.team_id), &team.terms)),
        )
        .collect()
}

/// A limit reached: LiteLLM's message, and when the next minute starts.
fn limited(what: &str, limit: i64, retry_after: Duration) -> Error {
    Error::new(
        ErrorKind::RateLimit,
        format!(
            "Rate limit exceeded: {what} limit of {limit} reached; retry after the current minute"
        ),
    )
    .with_retry_after(retry_after)
}

impl Limits {
    pub(crate) fn new(store: Arc<dyn RouterStore>) -> Self {
        Self {
            store,
            in_flight: Arc::default(),
        }
    }

    /// Counts one request of `grant`, or the 429 of the first limit it reaches.
    pub(crate) async fn admit(&self, grant: &Grant) -> Result<Option<Slot>, Error> {
        let now = SystemTime::now();
        let minute = minute_of(now);
        let retry_after = Duration::from_secs(
            60 - now
                .duration_since(SystemTime::UNIX_EPOCH)
                .unwrap_or_default()
                .as_secs()
                % 60,
        );
        let scopes = scopes(grant);
        for (id, terms) in &scopes {
            if let Some(tpm) = terms.tpm_limit {
                let ids = [Arc::<str>::from(id.as_str())];
                let tokens = match self.store.load(&ids, minute).await {
                    Ok(loads) => loads.first().map_or(0, |load| load.tokens),
                    Err(error) => {
                        tracing::warn!(%error, "key limits: store unavailable");
                        0
                    }
                };
                if tokens >= u64::try_from(tpm).unwrap_or(0) {
                    return Err(limited("tpm", tpm, retry_after));
                }
            }
            if let Some(rpm) = terms.rpm_limit {
                let limit = u64::try_from(rpm).unwrap_or(0);
                match self.store.take_request(id, minute, Some(limit)).await {
                    Ok(true) => {}
                    Ok(false) => return Err(limited("rpm", rpm, retry_after)),
                    Err(error) => tracing::warn!(%error, "key limits: store unavailable"),
                }
            }
        }
        let parallel: Vec<(String, i64)> = scopes
            .iter()
            .filter_map(|(id, terms)| terms.max_parallel_requests.map(|max| (id.clone(), max)))
            .collect();
        if parallel.is_empty() {
            return Ok(None);
        }
        let mut in_flight = self
            .in_flight
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        if let Some((_, max)) = parallel
            .iter()
            .find(|(id, max)| in_flight.get(id).copied().unwrap_or(0) >= *max)
        {
            return Err(Error::new(
                ErrorKind::RateLimit,
                format!("Rate limit exceeded: max_parallel_requests of {max} in flight"),
            )
            .with_retry_after(Duration::from_secs(1)));
        }
        for (id, _) in &parallel {
            *in_flight.entry(id.clone()).or_default() += 1;
        }
        Ok(Some(Slot {
            in_flight: self.in_flight.clone(),
            ids: parallel.into_iter().map(|(id, _)| id).collect(),
        }))
    }

    /// Adds a finished request's `tokens` to its key's and team's minute (in the
    /// background: the request does not wait for the store).
    pub(crate) fn add_tokens(&self, grant: &Grant, tokens: u64) {
        let ids: Vec<String> = scopes(grant)
            .into_iter()
            .filter(|(_, terms)| terms.tpm_limit.is_some())
            .map(|(id, _)| id)
            .collect();
        if ids.is_empty() || tokens == 0 {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        let store = self.store.clone();
        let minute = minute_of(SystemTime::now());
        runtime.spawn(async move {
            for id in ids {
                if let Err(error) = store.add_tokens(&id, minute, tokens).await {
                    tracing::warn!(%error, "key limits: tokens not counted");
                }
            }
        });
    }
}
