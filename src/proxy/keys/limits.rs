//! [`Limits`]: a virtual key's (and its team's) `rpm_limit`, `tpm_limit` and
//! `max_parallel_requests`. Requests and tokens per minute are counted in the router's
//! [`RouterStore`] — Redis when `router_settings` names one, so every replica counts
//! against one limit; this process's memory otherwise — under `key:{hash}` and
//! `team:{id}`. Requests in flight are places held in the same store
//! ([`RouterStore::hold`]): leases of [`LEASE`], renewed while the request lasts and given
//! back when it ends, so a replica that stops holds its places no longer than a lease.
//! Past a limit, a 429 with `Retry-After`. A store that fails is passed over for the
//! per-minute limits (the request goes on), as the router does; requests in flight are
//! then counted on this replica alone.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use futures_util::FutureExt as _;

use super::gate::Grant;
use super::store::Terms;
use crate::error::{Error, ErrorKind};
use crate::store::{MemoryRouterStore, RouterStore, minute_of};

/// How long a place among requests in flight is held unless renewed.
const LEASE: Duration = Duration::from_secs(30);

/// How often a request renews its place while it lasts.
const RENEW_EVERY: Duration = Duration::from_secs(10);

/// The counters of virtual keys; see the [module](self).
pub(crate) struct Limits {
    store: Arc<dyn RouterStore>,
    /// Where places are held while `store` fails: this replica alone.
    local: Arc<dyn RouterStore>,
}

impl std::fmt::Debug for Limits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Limits").finish_non_exhaustive()
    }
}

/// A request's place among its key's (and team's) requests in flight, renewed while it
/// is held and given back when dropped.
#[derive(Debug)]
pub(crate) struct Slot {
    place: Arc<Place>,
    renewal: Option<tokio::task::AbortHandle>,
}

/// Who holds a place, in which counters, in which store.
struct Place {
    store: Arc<dyn RouterStore>,
    counters: Vec<String>,
    holder: String,
}

impl std::fmt::Debug for Place {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Place")
            .field("counters", &self.counters.len())
            .finish_non_exhaustive()
    }
}

impl Slot {
    /// Holds `place`, renewing it every [`RENEW_EVERY`] (on a runtime).
    fn new(place: Place) -> Self {
        let place = Arc::new(place);
        let renewal = tokio::runtime::Handle::try_current().ok().map(|runtime| {
            let held = place.clone();
            runtime
                .spawn(async move {
                    loop {
                        tokio::time::sleep(RENEW_EVERY).await;
                        let renewed = held.store.renew(&held.counters, &held.holder, LEASE);
                        if let Err(error) = renewed.await {
                            tracing::warn!(%error, "key limits: place not renewed");
                        }
                    }
                })
                .abort_handle()
        });
        Self { place, renewal }
    }
}

impl Drop for Slot {
    fn drop(&mut self) {
        if let Some(renewal) = &self.renewal {
            renewal.abort();
        }
        let place = self.place.clone();
        let mut release = Box::pin(async move {
            let released = place.store.release(&place.counters, &place.holder);
            if let Err(error) = released.await {
                tracing::warn!(%error, "key limits: place not given back (its lease ends it)");
            }
        });
        // In memory it is given back at once; a shared store's answer is not waited for.
        if (&mut release).now_or_never().is_none()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            runtime.spawn(release);
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
    /// Limits counted in `store` (the router's Redis, shared by the replicas), and in
    /// this replica's memory while the store does not answer.
    pub(crate) fn new(store: Arc<dyn RouterStore>) -> Self {
        Self {
            store,
            local: Arc::new(MemoryRouterStore::default()),
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
        let counters: Vec<(String, u64)> = scopes
            .iter()
            .filter_map(|(id, terms)| {
                let max = terms.max_parallel_requests?;
                Some((id.clone(), u64::try_from(max).unwrap_or(0)))
            })
            .collect();
        if counters.is_empty() {
            return Ok(None);
        }
        let holder = format!("{:016x}{:016x}", fastrand::u64(..), fastrand::u64(..));
        let (store, taken) = match self.store.hold(&counters, &holder, LEASE).await {
            Ok(taken) => (self.store.clone(), taken),
            Err(error) => {
                tracing::warn!(%error, "key limits: store unavailable; counting on this replica");
                let taken = self.local.hold(&counters, &holder, LEASE).await;
                (self.local.clone(), taken.unwrap_or(true))
            }
        };
        if !taken {
            let max = counters.iter().map(|(_, max)| *max).min().unwrap_or(0);
            return Err(Error::new(
                ErrorKind::RateLimit,
                format!("Rate limit exceeded: max_parallel_requests of {max} in flight"),
            )
            .with_retry_after(Duration::from_secs(1)));
        }
        Ok(Some(Slot::new(Place {
            store,
            counters: counters.into_iter().map(|(id, _)| id).collect(),
            holder,
        })))
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
