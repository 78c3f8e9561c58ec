//! [`Database`]: where keys, teams and the spend log are kept — PostgreSQL
//! (`general_settings.database_url`, shared by every replica) or an SQLite file (one
//! machine) — through one SQL text for both (sqlx's `Any` driver), with the schema's
//! migrations embedded in the binary and run when the database is first opened.

use std::borrow::Cow;
use std::path::PathBuf;
use std::time::Duration;

use futures_core::future::BoxFuture;
use serde_json::{Map, Value};
use sqlx::any::{AnyPoolOptions, AnyRow};
use sqlx::error::BoxDynError;
use sqlx::migrate::{Migration, MigrationSource, MigrationType, Migrator};
use sqlx::{AnyPool, Row};
use tokio::sync::OnceCell;

use super::KeysError;
use crate::upstream::Secret;

/// How long a request waits for a database connection before its answer is a 503.
pub(crate) const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(3);

/// The most rows one `/key/list` or `/spend/logs` answer holds.
pub(crate) const MAX_ROWS: i64 = 1_000;

/// Connections a replica keeps open at most.
const MAX_CONNECTIONS: u32 = 8;

/// The schema, in the order it is applied.
const MIGRATIONS: [(i64, &str, &str); 2] = [
    (
        1,
        "keys teams spend_logs",
        include_str!("migrations/0001_keys.sql"),
    ),
    (2, "users", include_str!("migrations/0002_users.sql")),
];

/// Where the database is.
#[derive(Clone, Debug)]
pub(crate) enum Location {
    /// A `postgresql://…` or `sqlite:…` URL (it may hold a password: never shown).
    Url(Secret),
    /// The default SQLite file, created by the first key or team made.
    File(PathBuf),
}

impl Location {
    fn url(&self) -> String {
        match self {
            Self::Url(url) => url.expose().to_owned(),
            Self::File(path) => format!("sqlite://{}?mode=rwc", path.display()),
        }
    }

    /// How the startup log names it: the scheme and host, or the file.
    pub(crate) fn describe(&self) -> String {
        match self {
            Self::Url(url) => crate::upstream::redact_url(url.expose()),
            Self::File(path) => format!("SQLite file {}", path.display()),
        }
    }
}

/// The database of keys, teams and spend; see the [module](self).
#[derive(Debug)]
pub(crate) struct Database {
    location: Location,
    pool: OnceCell<AnyPool>,
}

/// The terms keys and teams share: models, budget, limits, metadata.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct Terms {
    /// Models it may call; empty is every model.
    pub(crate) models: Vec<String>,
    pub(crate) max_budget: Option<f64>,
    pub(crate) spend: f64,
    pub(crate) budget_duration: Option<String>,
    pub(crate) budget_duration_secs: Option<i64>,
    /// When the spend next goes back to zero (Unix seconds).
    pub(crate) budget_reset_at: Option<i64>,
    pub(crate) rpm_limit: Option<i64>,
    pub(crate) tpm_limit: Option<i64>,
    pub(crate) max_parallel_requests: Option<i64>,
    pub(crate) metadata: Map<String, Value>,
}

/// The columns of [`Terms`] in the order [`Terms::bind`] binds them: all but `spend`,
/// which only requests add to (a new row's is 0).
const TERMS: &str = "models, max_budget, budget_duration, budget_duration_secs, \
                     budget_reset_at, rpm_limit, tpm_limit, max_parallel_requests, metadata";
const TERM_COUNT: usize = 9;

/// One virtual key, as stored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct KeyRow {
    /// The SHA-256 hex of the key.
    pub(crate) token: String,
    pub(crate) key_name: String,
    pub(crate) key_alias: Option<String>,
    /// Unix seconds; `None` never expires.
    pub(crate) expires: Option<i64>,
    pub(crate) team_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) terms: Terms,
}

const KEY_COLUMNS: &str = "token, key_name, key_alias, expires, team_id, user_id, created_at";

/// One team, as stored.
#[derive(Clone, Debug, PartialEq)]
pub(crate) struct TeamRow {
    pub(crate) team_id: String,
    pub(crate) team_alias: Option<String>,
    pub(crate) created_at: i64,
    pub(crate) terms: Terms,
}

const TEAM_COLUMNS: &str = "team_id, team_alias, created_at";

/// One request of a virtual key in the spend log.
#[derive(Clone, Debug, PartialEq, serde::Serialize)]
pub(crate) struct LogRow {
    pub(crate) request_id: String,
    /// The key's hash.
    pub(crate) api_key: String,
    pub(crate) key_alias: Option<String>,
    pub(crate) team_id: Option<String>,
    pub(crate) user_id: Option<String>,
    pub(crate) model: String,
    pub(crate) prompt_tokens: i64,
    pub(crate) completion_tokens: i64,
    pub(crate) spend: f64,
    pub(crate) start_ms: i64,
    pub(crate) end_ms: i64,
}

const LOG_COLUMNS: &str = "request_id, api_key, key_alias, team_id, user_id, model, \
                           prompt_tokens, completion_tokens, spend, start_ms, end_ms";
const LOG_COUNT: usize = 11;

/// Which keys to list: every one, or those of a team, an alias, a user.
#[derive(Debug, Default)]
pub(crate) struct KeyFilter<'a> {
    pub(crate) team_id: Option<&'a str>,
    pub(crate) key_alias: Option<&'a str>,
    pub(crate) user_id: Option<&'a str>,
}

/// Which spend log rows to read.
#[derive(Debug, Default)]
pub(crate) struct LogFilter {
    pub(crate) api_key: Option<String>,
    pub(crate) request_id: Option<String>,
    pub(crate) since_ms: Option<i64>,
    pub(crate) until_ms: Option<i64>,
}

/// The schema as sqlx's migrator reads it: from the binary, not from a folder.
#[derive(Debug)]
struct Embedded;

impl MigrationSource<'static> for Embedded {
    fn resolve(self) -> BoxFuture<'static, Result<Vec<Migration>, BoxDynError>> {
        Box::pin(async {
            Ok(MIGRATIONS
                .iter()
                .map(|(version, description, sql)| {
                    Migration::new(
                        *version,
                        Cow::Borrowed(*description),
                        MigrationType::Simple,
                        Cow::Borrowed(*sql),
                        false,
                    )
                })
                .collect())
        })
    }
}

/// `$first, $first+1, …` for `count` values.
fn placeholders(first: usize, count: usize) -> String {
    (first..first + count)
        .map(|n| format!("${n}"))
        .collect::<Vec<_>>()
        .join(", ")
}

/// `column = $n, …` for the columns of `list`, numbered from `first`.
fn assignments(list: &str, first: usize) -> String {
    list.split(',')
        .enumerate()
        .map(|(i, column)| format!("{} = ${}", column.trim(), first + i))
        .collect::<Vec<_>>()
        .join(", ")
}

type Query<'q> = sqlx::query::Query<'q, sqlx::Any, sqlx::any::AnyArguments<'q>>;

impl Terms {
    fn read(row: &AnyRow) -> Result<Self, sqlx::Error> {
        let json = |column: &str| -> Result<String, sqlx::Error> { row.try_get(column) };
        Ok(Self {
            models: serde_json::from_str(&json("models")?).unwrap_or_default(),
            max_budget: row.try_get("max_budget")?,
            spend: row.try_get("spend")?,
            budget_duration: row.try_get("budget_duration")?,
            budget_duration_secs: row.try_get("budget_duration_secs")?,
            budget_reset_at: row.try_get("budget_reset_at")?,
            rpm_limit: row.try_get("rpm_limit")?,
            tpm_limit: row.try_get("tpm_limit")?,
            max_parallel_requests: row.try_get("max_parallel_requests")?,
            metadata: serde_json::from_str(&json("metadata")?).unwrap_or_default(),
        })
    }

    fn bind(self, query: Query<'_>) -> Query<'_> {
        query
            .bind(serde_json::to_string(&self.models).unwrap_or_else(|_| "[]".into()))
            .bind(self.max_budget)
            .bind(self.budget_duration)
            .bind(self.budget_duration_secs)
            .bind(self.budget_reset_at)
            .bind(self.rpm_limit)
            .bind(self.tpm_limit)
            .bind(self.max_parallel_requests)
            .bind(Value::Object(self.metadata).to_string())
    }
}

impl KeyRow {
    fn read(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            token: row.try_get("token")?,
            key_name: row.try_get("key_name")?,
            key_alias: row.try_get("key_alias")?,
            expires: row.try_get("expires")?,
            team_id: row.try_get("team_id")?,
            user_id: row.try_get("user_id")?,
            created_at: row.try_get("created_at")?,
            terms: Terms::read(row)?,
        })
    }

    /// Binds the key's own columns (without `token`) then its terms.
    fn bind_fields(self, query: Query<'_>) -> Query<'_> {
        let query = query
            .bind(self.key_name)
            .bind(self.key_alias)
            .bind(self.expires)
            .bind(self.team_id)
            .bind(self.user_id)
            .bind(self.created_at);
        self.terms.bind(query)
    }
}

impl TeamRow {
    fn read(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            team_id: row.try_get("team_id")?,
            team_alias: row.try_get("team_alias")?,
            created_at: row.try_get("created_at")?,
            terms: Terms::read(row)?,
        })
    }

    fn bind_fields(self, query: Query<'_>) -> Query<'_> {
        let query = query.bind(self.team_alias).bind(self.created_at);
        self.terms.bind(query)
    }
}

impl LogRow {
    fn read(row: &AnyRow) -> Result<Self, sqlx::Error> {
        Ok(Self {
            request_id: row.try_get("request_id")?,
            api_key: row.try_get("api_key")?,
            key_alias: row.try_get("key_alias")?,
            team_id: row.try_get("team_id")?,
            user_id: row.try_get("user_id")?,
            model: row.try_get("model")?,
            prompt_tokens: row.try_get("prompt_tokens")?,
            completion_tokens: row.try_get("completion_tokens")?,
            spend: row.try_get("spend")?,
            start_ms: row.try_get("start_ms")?,
            end_ms: row.try_get("end_ms")?,
        })
    }
}

/// The columns a row of `KEY_COLUMNS` or `TEAM_COLUMNS` has after its first (its id).
fn without_id(columns: &str) -> &str {
    columns.split_once(", ").map_or("", |(_, rest)| rest)
}

impl Database {
    /// A database at `location`, opened by the first call that needs it.
    pub(crate) fn new(location: Location) -> Self {
        Self {
            location,
            pool: OnceCell::new(),
        }
    }

    /// Where it is.
    pub(crate) fn location(&self) -> &Location {
        &self.location
    }

    /// Whether the default file is still to be created: then no key exists yet.
    pub(crate) fn untouched(&self) -> bool {
        self.pool.get().is_none()
            && matches!(&self.location, Location::File(path) if !path.exists())
    }

    /// The pool, connected and migrated on first use.
    pub(crate) async fn pool(&self) -> Result<&AnyPool, KeysError> {
        self.pool
            .get_or_try_init(|| async {
                sqlx::any::install_default_drivers();
                let database = self.location.describe();
                let failed = |error: &dyn std::fmt::Display| KeysError::Database {
                    database: database.clone(),
                    message: error.to_string(),
                };
                let pool = AnyPoolOptions::new()
                    .max_connections(MAX_CONNECTIONS)
                    .acquire_timeout(ACQUIRE_TIMEOUT)
                    .connect(&self.location.url())
                    .await
                    .map_err(|error| failed(&error))?;
                if pool.connect_options().database_url.scheme() == "sqlite" {
                    // Readers never wait for the writer; a second replica's writes wait
                    // for the lock (sqlx's busy timeout, 5 s) instead of failing.
                    sqlx::query("PRAGMA journal_mode = WAL")
                        .execute(&pool)
                        .await
                        .map_err(|error| failed(&error))?;
                }
                let migrator = Migrator::new(Embedded)
                    .await
                    .map_err(|error| failed(&error))?;
                migrator.run(&pool).await.map_err(|error| failed(&error))?;
                Ok(pool)
            })
            .await
    }

    pub(crate) async fn insert_key(&self, key: KeyRow) -> Result<(), KeysError> {
        let sql = format!(
            "INSERT INTO llm_tower_keys ({KEY_COLUMNS}, {TERMS}) VALUES ({})",
            placeholders(1, 7 + TERM_COUNT)
        );
        let token = key.token.clone();
        let query = key.bind_fields(sqlx::query(&sql).bind(token));
        query.execute(self.pool().await?).await?;
        Ok(())
    }

    /// Rewrites a key's fields and terms (not its spend): whether it exists.
    pub(crate) async fn update_key(&self, key: KeyRow) -> Result<bool, KeysError> {
        let sql = format!(
            "UPDATE llm_tower_keys SET {}, {} WHERE token = $1",
            assignments(without_id(KEY_COLUMNS), 2),
            assignments(TERMS, 8)
        );
        let token = key.token.clone();
        let query = key.bind_fields(sqlx::query(&sql).bind(token));
        Ok(query.execute(self.pool().await?).await?.rows_affected() > 0)
    }

    pub(crate) async fn key(&self, token: &str) -> Result<Option<KeyRow>, KeysError> {
        if self.untouched() {
            return Ok(None);
        }
        let row = sqlx::query("SELECT * FROM llm_tower_keys WHERE token = $1")
            .bind(token)
            .fetch_optional(self.pool().await?)
            .await?;
        Ok(row.as_ref().map(KeyRow::read).transpose()?)
    }

    /// Keys, oldest first, `size` from `offset`; of one team, alias or user when named.
    pub(crate) async fn keys(
        &self,
        filter: &KeyFilter<'_>,
        offset: i64,
        size: i64,
    ) -> Result<(Vec<KeyRow>, i64), KeysError> {
        if self.untouched() {
            return Ok((Vec::new(), 0));
        }
        let pool = self.pool().await?;
        let matching = "($1 IS NULL OR team_id = $1) AND ($2 IS NULL OR key_alias = $2) \
                        AND ($3 IS NULL OR user_id = $3)";
        let total: i64 = sqlx::query(&format!(
            "SELECT COUNT(*) AS n FROM llm_tower_keys WHERE {matching}"
        ))
        .bind(filter.team_id)
        .bind(filter.key_alias)
        .bind(filter.user_id)
        .fetch_one(pool)
        .await?
        .try_get("n")?;
        let rows = sqlx::query(&format!(
            "SELECT * FROM llm_tower_keys WHERE {matching} \
             ORDER BY created_at, token LIMIT $4 OFFSET $5"
        ))
        .bind(filter.team_id)
        .bind(filter.key_alias)
        .bind(filter.user_id)
        .bind(size.clamp(0, MAX_ROWS))
        .bind(offset.max(0))
        .fetch_all(pool)
        .await?;
        let keys = rows.iter().map(KeyRow::read).collect::<Result<_, _>>()?;
        Ok((keys, total))
    }

    /// Deletes the keys with these hashes: the hashes that existed.
    pub(crate) async fn delete_keys(&self, tokens: &[String]) -> Result<Vec<String>, KeysError> {
        let mut deleted = Vec::new();
        let mut transaction = self.pool().await?.begin().await?;
        for token in tokens {
            let done = sqlx::query("DELETE FROM llm_tower_keys WHERE token = $1")
                .bind(token)
                .execute(&mut *transaction)
                .await?;
            if done.rows_affected() > 0 {
                deleted.push(token.clone());
            }
        }
        transaction.commit().await?;
        Ok(deleted)
    }

    /// The hashes of the keys with these aliases.
    pub(crate) async fn tokens_of_aliases(
        &self,
        aliases: &[String],
    ) -> Result<Vec<String>, KeysError> {
        let mut tokens = Vec::new();
        let pool = self.pool().await?;
        for alias in aliases {
            let rows = sqlx::query("SELECT token FROM llm_tower_keys WHERE key_alias = $1")
                .bind(alias)
                .fetch_all(pool)
                .await?;
            for row in rows {
                tokens.push(row.try_get("token")?);
            }
        }
        Ok(tokens)
    }

    /// Gives the key `old` a new hash and name: whether it existed.
    pub(crate) async fn rekey(
        &self,
        old: &str,
        token: &str,
        key_name: &str,
    ) -> Result<bool, KeysError> {
        let done =
            sqlx::query("UPDATE llm_tower_keys SET token = $1, key_name = $2 WHERE token = $3")
                .bind(token)
                .bind(key_name)
                .bind(old)
                .execute(self.pool().await?)
                .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn insert_team(&self, team: TeamRow) -> Result<(), KeysError> {
        let sql = format!(
            "INSERT INTO llm_tower_teams ({TEAM_COLUMNS}, {TERMS}) VALUES ({})",
            placeholders(1, 3 + TERM_COUNT)
        );
        let id = team.team_id.clone();
        team.bind_fields(sqlx::query(&sql).bind(id))
            .execute(self.pool().await?)
            .await?;
        Ok(())
    }

    pub(crate) async fn update_team(&self, team: TeamRow) -> Result<bool, KeysError> {
        let sql = format!(
            "UPDATE llm_tower_teams SET {}, {} WHERE team_id = $1",
            assignments(without_id(TEAM_COLUMNS), 2),
            assignments(TERMS, 4)
        );
        let id = team.team_id.clone();
        let done = team
            .bind_fields(sqlx::query(&sql).bind(id))
            .execute(self.pool().await?)
            .await?;
        Ok(done.rows_affected() > 0)
    }

    pub(crate) async fn team(&self, team_id: &str) -> Result<Option<TeamRow>, KeysError> {
        if self.untouched() {
            return Ok(None);
        }
        let row = sqlx::query("SELECT * FROM llm_tower_teams WHERE team_id = $1")
            .bind(team_id)
            .fetch_optional(self.pool().await?)
            .await?;
        Ok(row.as_ref().map(TeamRow::read).transpose()?)
    }

    /// Deletes the teams and their keys: the team ids that existed, and the hashes of the
    /// keys deleted with them.
    pub(crate) async fn delete_teams(
        &self,
        team_ids: &[String],
    ) -> Result<(Vec<String>, Vec<String>), KeysError> {
        let (mut teams, mut keys) = (Vec::new(), Vec::new());
        let mut transaction = self.pool().await?.begin().await?;
        for team_id in team_ids {
            let rows = sqlx::query("SELECT token FROM llm_tower_keys WHERE team_id = $1")
                .bind(team_id)
                .fetch_all(&mut *transaction)
                .await?;
            for row in rows {
                keys.push(row.try_get("token")?);
            }
            sqlx::query("DELETE FROM llm_tower_keys WHERE team_id = $1")
                .bind(team_id)
                .execute(&mut *transaction)
                .await?;
            let done = sqlx::query("DELETE FROM llm_tower_teams WHERE team_id = $1")
                .bind(team_id)
                .execute(&mut *transaction)
                .await?;
            if done.rows_affected() > 0 {
                teams.push(team_id.clone());
            }
        }
        transaction.commit().await?;
        Ok((teams, keys))
    }

    /// Adds what requests spent, in one transaction: to keys, teams and users, and their
    /// log rows. A key or team whose budget period ended starts the next one with this
    /// spend.
    pub(crate) async fn add_spend(
        &self,
        keys: &[(String, f64)],
        teams: &[(String, f64)],
        users: &[(String, f64)],
        logs: &[LogRow],
    ) -> Result<(), KeysError> {
        let now = super::unix_now();
        let mut transaction = self.pool().await?.begin().await?;
        for (table, id_column, rows) in [
            ("llm_tower_keys", "token", keys),
            ("llm_tower_teams", "team_id", teams),
        ] {
            // Spend after a budget period ended starts the next one (the periodic reset
            // may not have run yet).
            let sql = format!(
                "UPDATE {table} SET \
                 spend = CASE WHEN budget_reset_at <= $3 THEN $1 ELSE spend + $1 END, \
                 budget_reset_at = CASE WHEN budget_reset_at <= $3 \
                 THEN $3 + budget_duration_secs ELSE budget_reset_at END \
                 WHERE {id_column} = $2"
            );
            for (id, spent) in rows {
                sqlx::query(&sql)
                    .bind(*spent)
                    .bind(id.as_str())
                    .bind(now)
                    .execute(&mut *transaction)
                    .await?;
            }
        }
        for (user_id, spent) in users {
            sqlx::query(
                "INSERT INTO llm_tower_users (user_id, spend) VALUES ($1, $2) \
                 ON CONFLICT (user_id) DO UPDATE SET spend = llm_tower_users.spend + $2",
            )
            .bind(user_id.as_str())
            .bind(*spent)
            .execute(&mut *transaction)
            .await?;
        }
        for chunk in logs.chunks(50) {
            let values = (0..chunk.len())
                .map(|i| format!("({})", placeholders(1 + i * LOG_COUNT, LOG_COUNT)))
                .collect::<Vec<_>>()
                .join(", ");
            let sql = format!("INSERT INTO llm_tower_spend_logs ({LOG_COLUMNS}) VALUES {values}");
            let mut query = sqlx::query(&sql);
            for log in chunk {
                query = query
                    .bind(log.request_id.as_str())
                    .bind(log.api_key.as_str())
                    .bind(log.key_alias.as_deref())
                    .bind(log.team_id.as_deref())
                    .bind(log.user_id.as_deref())
                    .bind(log.model.as_str())
                    .bind(log.prompt_tokens)
                    .bind(log.completion_tokens)
                    .bind(log.spend)
                    .bind(log.start_ms)
                    .bind(log.end_ms);
            }
            query.execute(&mut *transaction).await?;
        }
        transaction.commit().await?;
        Ok(())
    }

    /// What `user_id`'s requests spent, if any request of theirs was recorded.
    pub(crate) async fn user_spend(&self, user_id: &str) -> Result<Option<f64>, KeysError> {
        if self.untouched() {
            return Ok(None);
        }
        let row = sqlx::query("SELECT spend FROM llm_tower_users WHERE user_id = $1")
            .bind(user_id)
            .fetch_optional(self.pool().await?)
            .await?;
        Ok(row.map(|row| row.try_get("spend")).transpose()?)
    }

    /// Sets to zero the spend of keys and teams whose budget period ended by `now`, and
    /// starts their next period.
    pub(crate) async fn reset_budgets(&self, now: i64) -> Result<(), KeysError> {
        if self.untouched() {
            return Ok(());
        }
        let pool = self.pool().await?;
        for table in ["llm_tower_keys", "llm_tower_teams"] {
            sqlx::query(&format!(
                "UPDATE {table} SET spend = 0, budget_reset_at = $1 + budget_duration_secs \
                 WHERE budget_reset_at IS NOT NULL AND budget_reset_at <= $1"
            ))
            .bind(now)
            .execute(pool)
            .await?;
        }
        Ok(())
    }

    /// Spend log rows, newest first, at most [`MAX_ROWS`].
    pub(crate) async fn logs(&self, filter: &LogFilter) -> Result<Vec<LogRow>, KeysError> {
        if self.untouched() {
            return Ok(Vec::new());
        }
        let rows = sqlx::query(
            "SELECT * FROM llm_tower_spend_logs WHERE ($1 IS NULL OR api_key = $1) \
             AND ($2 IS NULL OR request_id = $2) AND ($3 IS NULL OR start_ms >= $3) \
             AND ($4 IS NULL OR start_ms < $4) ORDER BY start_ms DESC LIMIT $5",
        )
        .bind(filter.api_key.as_deref())
        .bind(filter.request_id.as_deref())
        .bind(filter.since_ms)
        .bind(filter.until_ms)
        .bind(MAX_ROWS)
        .fetch_all(self.pool().await?)
        .await?;
        Ok(rows.iter().map(LogRow::read).collect::<Result<_, _>>()?)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(token: &str, reset_at: Option<i64>) -> KeyRow {
        KeyRow {
            token: token.into(),
            key_name: "sk-...abcd".into(),
            key_alias: None,
            expires: None,
            team_id: None,
            user_id: None,
            created_at: 0,
            terms: Terms {
                max_budget: Some(1.0),
                budget_duration: Some("1h".into()),
                budget_duration_secs: Some(3_600),
                budget_reset_at: reset_at,
                ..Terms::default()
            },
        }
    }

    #[tokio::test]
    async fn spend_adds_up_and_an_ended_period_starts_again_at_zero() {
        let dir = std::env::temp_dir().join(format!("llm-tower-store-{:x}", fastrand::u64(..)));
        std::fs::create_dir_all(&dir).unwrap();
        let db = Database::new(Location::File(dir.join("keys.db")));
        assert!(db.untouched());
        assert_eq!(
            db.key("a").await.unwrap(),
            None,
            "no file made for a lookup"
        );
        assert!(!dir.join("keys.db").exists());
        let now = super::super::unix_now();
        db.insert_key(key("ended", Some(now - 10))).await.unwrap();
        db.insert_key(key("running", Some(now + 100)))
            .await
            .unwrap();
        let spent = [("ended".to_owned(), 0.25), ("running".to_owned(), 0.5)];
        db.add_spend(&spent, &[], &[], &[]).await.unwrap();
        db.add_spend(&spent, &[], &[], &[]).await.unwrap();
        // Spend after its period ended started the next period.
        let ended = db.key("ended").await.unwrap().unwrap();
        assert_eq!(ended.terms.spend, 0.5);
        assert!(ended.terms.budget_reset_at >= Some(now + 3_600));
        let running = db.key("running").await.unwrap().unwrap();
        assert_eq!(
            (running.terms.spend, running.terms.budget_reset_at),
            (1.0, Some(now + 100))
        );
        // The periodic reset, once the running period ended.
        db.reset_budgets(now + 200).await.unwrap();
        let reset = db.key("running").await.unwrap().unwrap();
        assert_eq!(
            (reset.terms.spend, reset.terms.budget_reset_at),
            (0.0, Some(now + 3_800))
        );
        assert_eq!(db.key("ended").await.unwrap().unwrap().terms.spend, 0.5);
        // An update leaves the spend alone.
        let mut changed = running.clone();
        changed.terms.spend = 9.0;
        changed.key_alias = Some("renamed".into());
        assert!(db.update_key(changed).await.unwrap());
        let running = db.key("running").await.unwrap().unwrap();
        assert_eq!(
            (running.terms.spend, running.key_alias.as_deref()),
            (0.0, Some("renamed"))
        );
        std::fs::remove_dir_all(&dir).unwrap();
    }
}
