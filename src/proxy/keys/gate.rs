//! The door for virtual keys: a presented key → its [`Grant`] (the key's row and its
//! team's), kept in memory for [`CACHE_TTL`] so most requests read no database, or the
//! error the request answers with: unknown, expired, over budget.

use std::sync::Arc;
use std::time::Duration;

use super::store::{KeyRow, TeamRow, Terms};
use super::{Keys, timed, token, unix_now};
use crate::error::{Error, ErrorKind};

/// How long a key's row is used before it is read again: a key deleted or changed on
/// another replica stops (or changes) within this bound.
pub const CACHE_TTL: Duration = Duration::from_secs(5);

/// Keys (and unknown keys) remembered at most.
const CACHE_CAPACITY: u64 = 10_000;

/// The model name that lets a key call every model (LiteLLM's).
const ALL_MODELS: &str = "all-proxy-models";

/// What a virtual key may do: its row and its team's.
#[derive(Debug)]
pub(crate) struct Grant {
    pub(crate) key: KeyRow,
    pub(crate) team: Option<TeamRow>,
}

/// The cache of presented keys: a hash → its grant, or `None` for no such key.
#[derive(Debug)]
pub(crate) struct Gate {
    cache: moka::sync::Cache<String, Option<Arc<Grant>>>,
}

impl Default for Gate {
    fn default() -> Self {
        Self {
            cache: moka::sync::Cache::builder()
                .max_capacity(CACHE_CAPACITY)
                .time_to_live(CACHE_TTL)
                .support_invalidation_closures()
                .build(),
        }
    }
}

impl Gate {
    /// Reads the key with hash `token` again on its next use.
    pub(crate) fn forget(&self, token: &str) {
        self.cache.invalidate(token);
    }

    /// Forgets every key (a team changed: its keys' grants hold it).
    pub(crate) fn forget_all(&self) {
        self.cache.invalidate_all();
    }

    /// Forgets the keys of the teams `ids` (their spend changed), and no other.
    pub(crate) fn forget_teams(&self, ids: Vec<String>) {
        let of_team = move |_: &String, grant: &Option<Arc<Grant>>| {
            grant
                .as_ref()
                .and_then(|grant| grant.team.as_ref())
                .is_some_and(|team| ids.contains(&team.team_id))
        };
        // Refused only by a cache built without invalidation closures; this one has them.
        if self.cache.invalidate_entries_if(of_team).is_err() {
            self.cache.invalidate_all();
        }
    }
}

impl Keys {
    /// The grant of `presented`, checked: known, not expired, within its budgets.
    pub(crate) async fn admit(&self, presented: &str) -> Result<Arc<Grant>, Error> {
        let hash = token::hash(presented);
        let grant = match self.gate.cache.get(&hash) {
            Some(grant) => grant,
            None => {
                let grant = timed(self.grant(&hash)).await?.map(Arc::new);
                self.gate.cache.insert(hash, grant.clone());
                grant
            }
        };
        let grant = grant.ok_or_else(unknown_key)?;
        let now = unix_now();
        if let Some(expires) = grant.key.expires
            && expires <= now
        {
            return Err(Error::new(
                ErrorKind::Authentication,
                format!(
                    "Authentication Error - Expired Key. Key Expiry time {} and current time {}",
                    super::admin::rfc3339(expires),
                    super::admin::rfc3339(now)
                ),
            ));
        }
        let key = &grant.key;
        over_budget(&key.terms, self.book.key_pending(&key.token), now, "")?;
        if let Some(team) = &grant.team {
            let scope = format!("Team={} ", team.team_id);
            over_budget(
                &team.terms,
                self.book.team_pending(&team.team_id),
                now,
                &scope,
            )?;
        }
        Ok(grant)
    }

    async fn grant(&self, hash: &str) -> Result<Option<Grant>, super::KeysError> {
        let Some(key) = self.db.key(hash).await? else {
            return Ok(None);
        };
        let team = match &key.team_id {
            Some(team_id) => self.db.team(team_id).await?,
            None => None,
        };
        Ok(Some(Grant { key, team }))
    }
}

impl Grant {
    /// Whether the key and its team may call `model`.
    pub(crate) fn may_call(&self, model: &str) -> bool {
        allows(&self.key.terms.models, model)
            && self
                .team
                .as_ref()
                .is_none_or(|team| allows(&team.terms.models, model))
    }

    /// Whether the key (and its team) may call `model`: 403 naming the models it may.
    pub(crate) fn check_model(&self, model: &str) -> Result<(), Error> {
        let scopes = std::iter::once(("key", &self.key.terms.models))
            .chain(self.team.iter().map(|team| ("team", &team.terms.models)));
        for (scope, models) in scopes {
            if !allows(models, model) {
                return Err(Error::new(
                    ErrorKind::PermissionDenied,
                    format!(
                        "{scope} not allowed to access model. This {scope} can only access \
                         models={models:?}. Tried to access {model}"
                    ),
                )
                .with_param("model"));
            }
        }
        Ok(())
    }
}

impl Grant {
    /// On the Gemini pass-through (`path` after `/gemini`): a call of
    /// `models/{model}:…` needs the key to allow `{model}` or `gemini/{model}`; other
    /// calls (cached contents, files) are not a model's.
    pub(crate) fn check_passthrough(&self, path: &str) -> Result<(), Error> {
        let Some((_, rest)) = path.split_once("models/") else {
            return Ok(());
        };
        let model = rest.split([':', '/', '?']).next().unwrap_or_default();
        if self.check_model(model).is_ok() {
            return Ok(());
        }
        self.check_model(&format!("gemini/{model}"))
    }
}

impl Grant {
    /// On the Vertex AI pass-through (`path` after `/vertex_ai`): only a model's call
    /// (`…/publishers/google/models/{model}:{method}`), of a `{model}` or
    /// `vertex_ai/{model}` the key (and its team) may call; 403 otherwise.
    pub(crate) fn check_vertex(&self, path: &str) -> Result<(), Error> {
        let Some((_, rest)) = path.split_once("/publishers/google/models/") else {
            return Err(Error::new(
                ErrorKind::PermissionDenied,
                "a virtual key calls models only on the Vertex AI pass-through \
                 (…/publishers/google/models/{model}:{method})",
            ));
        };
        let model = rest.split([':', '/', '?']).next().unwrap_or_default();
        if self.check_model(model).is_ok() {
            return Ok(());
        }
        self.check_model(&format!("vertex_ai/{model}"))
    }
}

/// Whether `models` lets a key call `model`: empty, LiteLLM's `all-proxy-models`, the
/// name, or a `prefix/*` it falls under.
pub(crate) fn allows(models: &[String], model: &str) -> bool {
    models.is_empty()
        || models.iter().any(|allowed| {
            allowed == model
                || allowed == ALL_MODELS
                || allowed
                    .strip_suffix('*')
                    .is_some_and(|prefix| model.starts_with(prefix))
        })
}

/// LiteLLM's budget error when `terms`' spend (and `pending`, not yet written) reached
/// its `max_budget` in the current period.
fn over_budget(terms: &Terms, pending: f64, now: i64, scope: &str) -> Result<(), Error> {
    let Some(max) = terms.max_budget else {
        return Ok(());
    };
    let period_over = terms.budget_reset_at.is_some_and(|at| at <= now);
    let spend = if period_over { 0.0 } else { terms.spend } + pending;
    if spend >= max {
        return Err(Error::new(
            ErrorKind::InvalidRequest,
            format!("Budget has been exceeded! {scope}Current cost: {spend}, Max budget: {max}"),
        )
        .with_code("budget_exceeded"));
    }
    Ok(())
}

fn unknown_key() -> Error {
    Error::new(
        ErrorKind::Authentication,
        "Authentication Error: invalid or deleted key",
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn model_lists_as_litellm_reads_them() {
        let list = |names: &[&str]| {
            names
                .iter()
                .map(|name| name.to_string())
                .collect::<Vec<_>>()
        };
        assert!(allows(&[], "anything"));
        assert!(allows(&list(&["a", "b"]), "b"));
        assert!(!allows(&list(&["a", "b"]), "c"));
        assert!(allows(&list(&["all-proxy-models"]), "c"));
        assert!(allows(&list(&["gemini/*"]), "gemini/gemini-2.5-flash"));
        assert!(!allows(&list(&["gemini/*"]), "openai/gpt-4o"));
    }

    #[test]
    fn a_budget_holds_until_its_period_ends() {
        let terms = Terms {
            max_budget: Some(1.0),
            spend: 0.75,
            budget_reset_at: Some(100),
            ..Terms::default()
        };
        assert!(over_budget(&terms, 0.2, 50, "").is_ok());
        let error = over_budget(&terms, 0.25, 50, "").unwrap_err();
        assert_eq!(
            (error.status().as_u16(), error.code()),
            (400, "budget_exceeded")
        );
        assert!(
            over_budget(&terms, 0.25, 100, "").is_ok(),
            "the period ended"
        );
        assert!(
            over_budget(&Terms::default(), 1e9, 0, "").is_ok(),
            "no budget"
        );
    }
}
