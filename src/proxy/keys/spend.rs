//! [`SpendBook`]: what requests spent and the database has not been told yet. Requests
//! add to it without waiting (a lock held for a few additions); the keys' flusher takes
//! it every second and writes it in one transaction. Totals per key, team and user are summed
//! here, so they never grow with the number of requests and are never dropped; log rows
//! are bounded ([`MAX_PENDING_LOGS`]), past which a row is counted as dropped, not kept.

use std::collections::HashMap;
use std::sync::{Mutex, MutexGuard, PoisonError};

use tokio::sync::Notify;

use super::gate::Grant;
use super::store::LogRow;

/// Log rows waiting at most; the flusher is woken at half of it.
pub(crate) const MAX_PENDING_LOGS: usize = 20_000;

/// Spend not written yet; see the [module](self).
#[derive(Debug, Default)]
pub(crate) struct SpendBook {
    pending: Mutex<Pending>,
    /// The totals of the batch being written: still counted against budgets until the
    /// database has them.
    writing: Mutex<(HashMap<String, f64>, HashMap<String, f64>)>,
    wake: Notify,
}

/// Spend per id (a key's hash, or a team id).
pub(crate) type Totals = Vec<(String, f64)>;

/// One batch of spend.
#[derive(Debug, Default)]
pub(crate) struct Pending {
    keys: HashMap<String, f64>,
    teams: HashMap<String, f64>,
    users: HashMap<String, f64>,
    pub(crate) logs: Vec<LogRow>,
    /// Log rows dropped because too many were waiting.
    dropped: u64,
}

impl Pending {
    pub(crate) fn is_empty(&self) -> bool {
        self.keys.is_empty()
            && self.teams.is_empty()
            && self.users.is_empty()
            && self.logs.is_empty()
    }

    /// The spend per key hash, per team and per user.
    pub(crate) fn totals(&self) -> (Totals, Totals, Totals) {
        let list = |map: &HashMap<String, f64>| {
            map.iter().map(|(id, spent)| (id.clone(), *spent)).collect()
        };
        (list(&self.keys), list(&self.teams), list(&self.users))
    }
}

impl SpendBook {
    fn pending(&self) -> MutexGuard<'_, Pending> {
        self.pending.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Adds one request of `grant`.
    pub(crate) fn record(&self, grant: &Grant, log: LogRow) {
        let mut pending = self.pending();
        if log.spend > 0.0 {
            *pending.keys.entry(grant.key.token.clone()).or_default() += log.spend;
            if let Some(team) = &grant.team {
                *pending.teams.entry(team.team_id.clone()).or_default() += log.spend;
            }
            if let Some(user_id) = &grant.key.user_id {
                *pending.users.entry(user_id.clone()).or_default() += log.spend;
            }
        }
        if pending.logs.len() < MAX_PENDING_LOGS {
            pending.logs.push(log);
        } else {
            pending.dropped += 1;
        }
        if pending.logs.len() >= MAX_PENDING_LOGS / 2 {
            self.wake.notify_one();
        }
    }

    fn writing(&self) -> MutexGuard<'_, (HashMap<String, f64>, HashMap<String, f64>)> {
        self.writing.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Spend of the key with hash `token` not written yet.
    pub(crate) fn key_pending(&self, token: &str) -> f64 {
        let waiting = self.pending().keys.get(token).copied().unwrap_or(0.0);
        waiting + self.writing().0.get(token).copied().unwrap_or(0.0)
    }

    /// Spend of `team_id` not written yet.
    pub(crate) fn team_pending(&self, team_id: &str) -> f64 {
        let waiting = self.pending().teams.get(team_id).copied().unwrap_or(0.0);
        waiting + self.writing().1.get(team_id).copied().unwrap_or(0.0)
    }

    /// The batch being written is in the database (or back in the book): it no longer
    /// counts as being written.
    pub(crate) fn written(&self) {
        *self.writing() = Default::default();
    }

    /// Resolves when much is waiting.
    pub(crate) fn woken(&self) -> tokio::sync::futures::Notified<'_> {
        self.wake.notified()
    }

    /// Everything waiting, leaving the book empty; its totals count as being written
    /// until [`written`](Self::written).
    pub(crate) fn take(&self) -> Pending {
        let pending = std::mem::take(&mut *self.pending());
        *self.writing() = (pending.keys.clone(), pending.teams.clone());
        if pending.dropped > 0 {
            tracing::warn!(
                dropped = pending.dropped,
                "spend log rows dropped: more than {MAX_PENDING_LOGS} were waiting (key and team totals are kept)"
            );
        }
        pending
    }

    /// Puts back a batch the database did not take (its log rows as room allows).
    pub(crate) fn restore(&self, batch: Pending) {
        let mut pending = self.pending();
        for (token, spent) in batch.keys {
            *pending.keys.entry(token).or_default() += spent;
        }
        for (team, spent) in batch.teams {
            *pending.teams.entry(team).or_default() += spent;
        }
        for (user, spent) in batch.users {
            *pending.users.entry(user).or_default() += spent;
        }
        let room = MAX_PENDING_LOGS.saturating_sub(pending.logs.len());
        let kept = batch.logs.len().min(room);
        pending.dropped += (batch.logs.len() - kept) as u64;
        let mut logs = batch.logs;
        logs.truncate(kept);
        logs.append(&mut pending.logs);
        pending.logs = logs;
    }
}
