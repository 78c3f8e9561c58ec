//! Virtual keys, teams and budgets, as LiteLLM's proxy has them: the master key makes
//! keys (`/key/generate`) and teams (`/team/new`) with the models they may call, a budget
//! and rate limits; clients call the OpenAI, Anthropic and Gemini routes with a key; each
//! request's cost is added to its key's, team's and user's spend and logged
//! (`/spend/logs`; a user's spend and keys in `/user/info`).
//!
//! Keys live in a database (`store.rs`): PostgreSQL when `general_settings.database_url`
//! names one (every replica shares it), else an SQLite file
//! (`general_settings.database_path`, default [`DEFAULT_DATABASE_PATH`]) created by the
//! first key or team made. Only hashes of keys are stored.
//!
//! | file | what |
//! |---|---|
//! | `store.rs` | the database: schema, migrations, queries |
//! | `token.rs` | making keys, hashing them |
//! | `duration.rs` | `30d`, `1h`: LiteLLM's durations |
//! | `gate.rs` | a presented key → its grant (cached for [`CACHE_TTL`]), or why not |
//! | `changes.rs` | a key or team changed: every replica sharing Redis forgets its keys |
//! | `guard.rs` | at the OpenAI level: the key's models, and a ticket that adds the reply's cost to its spend |
//! | `limits.rs` | `rpm_limit`, `tpm_limit`, `max_parallel_requests` of keys and teams |
//! | `metrics.rs` | requests and spend by key alias and team in `/metrics` |
//! | `spend.rs` | spend waiting to be written, written in batches off the request path |
//! | `admin.rs` | the `/key/…`, `/team/…` and `/spend/logs` routes |

mod admin;
mod changes;
mod duration;
pub(crate) mod gate;
pub(crate) mod guard;
mod limits;
mod metrics;
mod spend;
mod store;
mod token;

use std::path::PathBuf;
use std::sync::{Arc, Once, Weak};
use std::time::Duration;

use crate::error::{Error, ErrorKind};
use crate::store::{RedisCacheStore, RouterStore};

pub(crate) use self::admin::is_admin_route;
use self::changes::Changes;
pub use self::gate::CACHE_TTL;
use self::guard::KeyCall;
use self::limits::Limits;
pub use self::metrics::{KeyMetrics, MAX_LABEL_SETS};
use self::spend::SpendBook;
use self::store::{Database, Location};
use super::config::Config;

/// The SQLite file keys are kept in when `general_settings.database_url` names no
/// database, relative to the working directory.
pub const DEFAULT_DATABASE_PATH: &str = "llm-tower-keys.db";

/// How often waiting spend is written, at most.
const FLUSH_INTERVAL: Duration = Duration::from_secs(1);

/// How often budget periods that ended are reset.
const RESET_INTERVAL: Duration = Duration::from_secs(30);

/// How long one database call on a request's path may take before the request is a 503.
const QUERY_TIMEOUT: Duration = Duration::from_secs(5);

/// Why the key database cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum KeysError {
    /// It cannot be opened or migrated.
    #[error("the key database ({database}) cannot be used: {message}")]
    Database {
        /// Which database (without its password).
        database: String,
        /// Why.
        message: String,
    },
    /// A query failed.
    #[error("key database: {0}")]
    Query(#[from] sqlx::Error),
    /// It did not answer in time.
    #[error("the key database did not answer within {} s", QUERY_TIMEOUT.as_secs())]
    Timeout,
}

impl From<KeysError> for Error {
    fn from(error: KeysError) -> Self {
        tracing::warn!(%error, "key database");
        Error::new(
            ErrorKind::ServiceUnavailable,
            "the key database is unavailable; the master key still works",
        )
        .with_retry_after(Duration::from_secs(1))
    }
}

/// The virtual keys of one proxy; see the [module](self).
#[derive(Debug)]
pub(crate) struct Keys {
    db: Database,
    gate: gate::Gate,
    changes: Changes,
    limits: Limits,
    metrics: Option<Arc<KeyMetrics>>,
    book: SpendBook,
    /// Held while a batch is written: a flush waits for the one under way, so that spend
    /// is in the database when it returns.
    flushing: tokio::sync::Mutex<()>,
    flusher: Once,
}

impl Keys {
    /// The keys of `config`, counting their rate limits in `counters` (the router's
    /// store), telling other replicas of changes through `redis`, and counting their
    /// requests and spend in `metrics`: `None` without a master key (nobody could make
    /// one).
    pub(crate) fn from_config(
        config: &Config,
        counters: Arc<dyn RouterStore>,
        redis: Option<RedisCacheStore>,
        metrics: Option<Arc<KeyMetrics>>,
    ) -> Option<Arc<Self>> {
        let general = &config.general_settings;
        general.master_key.as_ref()?;
        let location = match &general.database_url {
            Some(url) => Location::Url(url.clone()),
            None => Location::File(
                general
                    .database_path
                    .clone()
                    .unwrap_or_else(|| PathBuf::from(DEFAULT_DATABASE_PATH)),
            ),
        };
        Some(Arc::new(Self {
            db: Database::new(location),
            gate: gate::Gate::default(),
            changes: Changes::new(redis),
            limits: Limits::new(counters),
            metrics,
            book: SpendBook::default(),
            flushing: tokio::sync::Mutex::new(()),
            flusher: Once::new(),
        }))
    }

    /// Opens the database (migrating it) and starts writing spend, unless it is the default
    /// file and no key was made yet. An error names the database, never its password.
    pub(crate) async fn open(self: &Arc<Self>) -> Result<(), KeysError> {
        if !self.db.untouched() {
            self.db.pool().await?;
        }
        self.start_flusher();
        Ok(())
    }

    /// The call of a request presenting virtual key `presented`: admitted (known, not
    /// expired, within its budgets and rate limits), or why not.
    pub(crate) async fn enter(self: &Arc<Self>, presented: &str) -> Result<KeyCall, Error> {
        let grant = self.admit(presented).await?;
        let slot = self.limits.admit(&grant).await?.map(Arc::new);
        if let Some(metrics) = &self.metrics {
            metrics.admitted(&grant);
        }
        Ok(KeyCall {
            keys: self.clone(),
            grant,
            _slot: slot,
        })
    }

    /// What the startup log says of the database.
    pub(crate) fn describe(&self) -> String {
        self.db.location().describe()
    }

    /// Writes the spend waiting to be written (after any write under way).
    pub(crate) async fn flush(&self) {
        let _writing = self.flushing.lock().await;
        let pending = self.book.take();
        if pending.is_empty() {
            return;
        }
        let (keys, teams, users) = pending.totals();
        let written = timed(self.db.add_spend(&keys, &teams, &users, &pending.logs)).await;
        match written {
            Ok(()) => {
                // The next request of these keys reads their spend again (before the
                // batch stops counting as being written: never counted too little).
                for (token, _) in &keys {
                    self.gate.forget(token);
                }
                if !teams.is_empty() {
                    self.gate
                        .forget_teams(teams.into_iter().map(|(team, _)| team).collect());
                }
            }
            Err(error) => {
                tracing::warn!(%error, "spend not written yet; retrying");
                self.book.restore(pending);
            }
        }
        self.book.written();
    }

    /// Starts the task that writes spend every [`FLUSH_INTERVAL`] (sooner when much is
    /// waiting) and resets ended budget periods, and the one that watches for changes
    /// made on other replicas; they stop when the keys are dropped.
    fn start_flusher(self: &Arc<Self>) {
        self.flusher.call_once(|| {
            let weak: Weak<Self> = Arc::downgrade(self);
            self.changes.watch(weak.clone());
            tokio::spawn(async move {
                let mut last_reset = None::<tokio::time::Instant>;
                loop {
                    let Some(keys) = weak.upgrade() else { return };
                    let wake = keys.book.woken();
                    tokio::select! {
                        () = tokio::time::sleep(FLUSH_INTERVAL) => {}
                        () = wake => {}
                    }
                    keys.flush().await;
                    if last_reset.is_none_or(|at| at.elapsed() >= RESET_INTERVAL) {
                        last_reset = Some(tokio::time::Instant::now());
                        if let Err(error) = timed(keys.db.reset_budgets(unix_now())).await {
                            tracing::warn!(%error, "budget periods not reset yet");
                        }
                    }
                }
            });
        });
    }
}

/// `call`, bounded by [`QUERY_TIMEOUT`].
async fn timed<T>(call: impl Future<Output = Result<T, KeysError>>) -> Result<T, KeysError> {
    tokio::time::timeout(QUERY_TIMEOUT, call)
        .await
        .unwrap_or(Err(KeysError::Timeout))
}

/// Seconds since the Unix epoch, as the key tables store them.
fn unix_now() -> i64 {
    i64::try_from(crate::unix_time::seconds()).unwrap_or(i64::MAX)
}
