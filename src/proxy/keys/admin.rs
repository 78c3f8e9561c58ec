//! The master key's routes for keys, teams and spend, with LiteLLM's request and reply
//! shapes: `POST /key/generate`, `/key/update`, `/key/delete`, `/key/regenerate`,
//! `GET /key/info?key=`, `/key/list`; `POST /team/new`, `/team/update`, `/team/delete`,
//! `GET /team/info?team_id=`; `GET /user/info?user_id=`; `GET /spend/logs`. A body that does not fit is a 400 naming
//! its field. LiteLLM's `/key/{key}/regenerate` is not served: a key never goes in a
//! path, which is logged.

use std::sync::Arc;
use std::time::{Duration, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, StatusCode};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::store::{KeyFilter, KeyRow, LogFilter, LogRow, MAX_ROWS, TeamRow, Terms};
use super::{Keys, KeysError, duration, timed, token, unix_now};
use crate::edge::{EdgeBody, json_response};
use crate::error::{Error, ErrorKind};

/// The longest alias, id or model name taken.
const MAX_NAME: usize = 256;
/// The most models one key or team lists.
const MAX_MODELS: usize = 256;
/// The largest `metadata`, as JSON.
const MAX_METADATA: usize = 16 * 1024;
/// `/key/list`'s page size unless `size` says otherwise (LiteLLM's), and its largest.
const PAGE_SIZE: i64 = 10;
const MAX_PAGE_SIZE: i64 = 100;

/// Whether `path` is one of the routes of this module (the master key's alone).
pub(crate) fn is_admin_route(path: &str) -> bool {
    path.starts_with("/key/")
        || path.starts_with("/team/")
        || matches!(path, "/spend/logs" | "/user/info")
}

/// Every field the routes' bodies take; each route reads its own.
#[derive(Debug, Default, Deserialize)]
#[serde(default)]
struct Body {
    key: Option<String>,
    keys: Option<Vec<String>>,
    key_aliases: Option<Vec<String>>,
    key_alias: Option<String>,
    duration: Option<String>,
    team_id: Option<String>,
    team_ids: Option<Vec<String>>,
    team_alias: Option<String>,
    user_id: Option<String>,
    models: Option<Vec<String>>,
    max_budget: Option<f64>,
    budget_duration: Option<String>,
    rpm_limit: Option<u64>,
    tpm_limit: Option<u64>,
    max_parallel_requests: Option<u64>,
    metadata: Option<Map<String, Value>>,
}

/// A key as the routes show it (`key` only when it is made).
#[derive(Debug, Serialize)]
struct KeyView<'a> {
    #[serde(skip_serializing_if = "Option::is_none")]
    key: Option<&'a str>,
    token: &'a str,
    key_name: &'a str,
    key_alias: Option<&'a str>,
    expires: Option<String>,
    team_id: Option<&'a str>,
    user_id: Option<&'a str>,
    created_at: String,
    #[serde(flatten)]
    terms: TermsView<'a>,
}

/// A team as the routes show it.
#[derive(Debug, Serialize)]
struct TeamView<'a> {
    team_id: &'a str,
    team_alias: Option<&'a str>,
    created_at: String,
    #[serde(flatten)]
    terms: TermsView<'a>,
}

#[derive(Debug, Serialize)]
struct TermsView<'a> {
    models: &'a [String],
    spend: f64,
    max_budget: Option<f64>,
    budget_duration: Option<&'a str>,
    budget_reset_at: Option<String>,
    rpm_limit: Option<i64>,
    tpm_limit: Option<i64>,
    max_parallel_requests: Option<i64>,
    metadata: &'a Map<String, Value>,
}

/// One spend log row as `/spend/logs` shows it (LiteLLM's names).
#[derive(Debug, Serialize)]
struct LogView<'a> {
    request_id: &'a str,
    api_key: &'a str,
    key_alias: Option<&'a str>,
    team_id: Option<&'a str>,
    user: Option<&'a str>,
    model: &'a str,
    prompt_tokens: i64,
    completion_tokens: i64,
    total_tokens: i64,
    spend: f64,
    #[serde(rename = "startTime")]
    start_time: String,
    #[serde(rename = "endTime")]
    end_time: String,
}

impl<'a> TermsView<'a> {
    fn of(terms: &'a Terms) -> Self {
        Self {
            models: &terms.models,
            spend: terms.spend,
            max_budget: terms.max_budget,
            budget_duration: terms.budget_duration.as_deref(),
            budget_reset_at: terms.budget_reset_at.map(rfc3339),
            rpm_limit: terms.rpm_limit,
            tpm_limit: terms.tpm_limit,
            max_parallel_requests: terms.max_parallel_requests,
            metadata: &terms.metadata,
        }
    }
}

impl<'a> KeyView<'a> {
    fn of(row: &'a KeyRow, key: Option<&'a str>) -> Self {
        Self {
            key,
            token: &row.token,
            key_name: &row.key_name,
            key_alias: row.key_alias.as_deref(),
            expires: row.expires.map(rfc3339),
            team_id: row.team_id.as_deref(),
            user_id: row.user_id.as_deref(),
            created_at: rfc3339(row.created_at),
            terms: TermsView::of(&row.terms),
        }
    }
}

impl<'a> TeamView<'a> {
    fn of(row: &'a TeamRow) -> Self {
        Self {
            team_id: &row.team_id,
            team_alias: row.team_alias.as_deref(),
            created_at: rfc3339(row.created_at),
            terms: TermsView::of(&row.terms),
        }
    }
}

impl<'a> LogView<'a> {
    fn of(row: &'a LogRow) -> Self {
        let time = |ms: i64| {
            humantime::format_rfc3339_millis(
                UNIX_EPOCH + Duration::from_millis(u64::try_from(ms).unwrap_or(0)),
            )
            .to_string()
        };
        Self {
            request_id: &row.request_id,
            api_key: &row.api_key,
            key_alias: row.key_alias.as_deref(),
            team_id: row.team_id.as_deref(),
            user: row.user_id.as_deref(),
            model: &row.model,
            prompt_tokens: row.prompt_tokens,
            completion_tokens: row.completion_tokens,
            total_tokens: row.prompt_tokens.saturating_add(row.completion_tokens),
            spend: row.spend,
            start_time: time(row.start_ms),
            end_time: time(row.end_ms),
        }
    }
}

/// A Unix time in seconds as RFC 3339 (UTC).
pub(crate) fn rfc3339(seconds: i64) -> String {
    let since = Duration::from_secs(u64::try_from(seconds).unwrap_or(0));
    humantime::format_rfc3339_seconds(UNIX_EPOCH + since).to_string()
}

impl Keys {
    /// Answers one of this module's routes (the caller checked the master key).
    pub(crate) async fn admin(
        self: &Arc<Self>,
        method: &Method,
        path: &str,
        query: Option<&str>,
        body: Bytes,
    ) -> Result<http::Response<EdgeBody>, Error> {
        self.start_flusher();
        let params = |name: &str| {
            url::form_urlencoded::parse(query.unwrap_or_default().as_bytes())
                .find(|(key, _)| key == name)
                .map(|(_, value)| value.into_owned())
        };
        match (method, path) {
            (&Method::POST, "/key/generate") => self.generate(parse(&body)?).await,
            (&Method::POST, "/key/update") => self.update_key(parse(&body)?).await,
            (&Method::POST, "/key/delete") => self.delete_keys(parse(&body)?).await,
            (&Method::POST, "/key/regenerate") => {
                let body: Body = parse(&body)?;
                let key = required(body.key, "key")?;
                self.regenerate(&key).await
            }
            (&Method::GET, "/key/info") => {
                let key = required(params("key"), "key")?;
                let row = self.key_row(&token::stored_form(&key)).await?;
                Ok(json_response(
                    StatusCode::OK,
                    &serde_json::json!({"key": row.token, "info": KeyView::of(&row, None)}),
                ))
            }
            (&Method::GET, "/key/list") => {
                let number = |name: &str, default: i64| -> Result<i64, Error> {
                    params(name).map_or(Ok(default), |value| {
                        value
                            .parse::<i64>()
                            .ok()
                            .filter(|n| *n >= 1)
                            .ok_or_else(|| field_error(name, "expected a whole number from 1"))
                    })
                };
                let page = number("page", 1)?;
                let size = number("size", PAGE_SIZE)?.min(MAX_PAGE_SIZE);
                let full = params("return_full_object").is_some_and(|value| value == "true");
                let team = params("team_id");
                let alias = params("key_alias");
                let filter = KeyFilter {
                    team_id: team.as_deref(),
                    key_alias: alias.as_deref(),
                    user_id: None,
                };
                let (rows, total) =
                    timed(self.db.keys(&filter, (page - 1).saturating_mul(size), size)).await?;
                let keys: Vec<Value> = rows
                    .iter()
                    .map(|row| {
                        if full {
                            serde_json::to_value(KeyView::of(row, None)).unwrap_or_default()
                        } else {
                            Value::String(row.token.clone())
                        }
                    })
                    .collect();
                Ok(json_response(
                    StatusCode::OK,
                    &serde_json::json!({
                        "keys": keys,
                        "total_count": total,
                        "current_page": page,
                        "total_pages": (total + size - 1) / size,
                    }),
                ))
            }
            (&Method::POST, "/team/new") => self.new_team(parse(&body)?).await,
            (&Method::POST, "/team/update") => self.update_team(parse(&body)?).await,
            (&Method::POST, "/team/delete") => {
                let body: Body = parse(&body)?;
                let ids = required(body.team_ids, "team_ids")?;
                bounded_list(&ids, "team_ids")?;
                let (teams, keys) = timed(self.db.delete_teams(&ids)).await?;
                if teams.is_empty() {
                    return Err(not_found(format!("no team of team_ids {ids:?}")));
                }
                for token in &keys {
                    self.gate.forget(token);
                }
                self.gate.forget_all();
                self.changes.announce().await;
                Ok(json_response(
                    StatusCode::OK,
                    &serde_json::json!({"deleted_teams": teams, "deleted_keys": keys.len()}),
                ))
            }
            (&Method::GET, "/team/info") => {
                let team_id = required(params("team_id"), "team_id")?;
                let team = self.team_row(&team_id).await?;
                let filter = KeyFilter {
                    team_id: Some(&team_id),
                    ..KeyFilter::default()
                };
                let (keys, _) = timed(self.db.keys(&filter, 0, MAX_ROWS)).await?;
                let keys: Vec<KeyView<'_>> =
                    keys.iter().map(|row| KeyView::of(row, None)).collect();
                Ok(json_response(
                    StatusCode::OK,
                    &serde_json::json!({
                        "team_id": team.team_id,
                        "team_info": TeamView::of(&team),
                        "keys": keys,
                    }),
                ))
            }
            (&Method::GET, "/user/info") => {
                let user_id = required(params("user_id"), "user_id")?;
                self.user_info(&user_id).await
            }
            (&Method::GET, "/spend/logs") => {
                let date = |name: &str| -> Result<Option<i64>, Error> {
                    params(name).map(|value| date_ms(&value, name)).transpose()
                };
                let filter = LogFilter {
                    api_key: params("api_key").map(|key| token::stored_form(&key)),
                    request_id: params("request_id"),
                    since_ms: date("start_date")?,
                    until_ms: date("end_date")?,
                };
                let rows = timed(self.db.logs(&filter)).await?;
                let rows: Vec<LogView<'_>> = rows.iter().map(LogView::of).collect();
                Ok(json_response(StatusCode::OK, &rows))
            }
            (method, path) => Err(not_found(format!("no route for {method} {path}"))),
        }
    }

    /// LiteLLM's `/user/info`: the user's spend (of every key naming it), its keys and
    /// their teams; 404 for a user no key names and nothing was spent by.
    async fn user_info(&self, user_id: &str) -> Result<http::Response<EdgeBody>, Error> {
        let filter = KeyFilter {
            user_id: Some(user_id),
            ..KeyFilter::default()
        };
        let (keys, _) = timed(self.db.keys(&filter, 0, MAX_ROWS)).await?;
        let spend = timed(self.db.user_spend(user_id)).await?;
        if keys.is_empty() && spend.is_none() {
            return Err(not_found(format!("no user with user_id {user_id}")));
        }
        let mut team_ids: Vec<&str> = keys
            .iter()
            .filter_map(|key| key.team_id.as_deref())
            .collect();
        team_ids.sort_unstable();
        team_ids.dedup();
        let mut teams = Vec::with_capacity(team_ids.len());
        for team_id in &team_ids {
            if let Some(team) = timed(self.db.team(team_id)).await? {
                teams.push(team);
            }
        }
        let keys: Vec<KeyView<'_>> = keys.iter().map(|row| KeyView::of(row, None)).collect();
        let teams: Vec<TeamView<'_>> = teams.iter().map(TeamView::of).collect();
        Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({
                "user_id": user_id,
                "user_info": {"user_id": user_id, "spend": spend.unwrap_or(0.0), "teams": team_ids},
                "keys": keys,
                "teams": teams,
            }),
        ))
    }

    async fn key_row(&self, token: &str) -> Result<KeyRow, Error> {
        timed(self.db.key(token))
            .await?
            .ok_or_else(|| not_found("no such key".to_owned()))
    }

    async fn team_row(&self, team_id: &str) -> Result<TeamRow, Error> {
        timed(self.db.team(team_id))
            .await?
            .ok_or_else(|| not_found(format!("no team with team_id {team_id}")))
    }

    async fn generate(&self, body: Body) -> Result<http::Response<EdgeBody>, Error> {
        let now = unix_now();
        let key = match body.key.clone() {
            Some(key) => {
                if !key.starts_with(token::PREFIX) || !(8..=MAX_NAME).contains(&key.len()) {
                    return Err(field_error(
                        "key",
                        "a key starts with sk- and has 8 to 256 characters",
                    ));
                }
                key
            }
            None => token::generate()
                .ok_or_else(|| Error::new(ErrorKind::Api, "no random source for a new key"))?,
        };
        if let Some(team_id) = &body.team_id {
            self.team_row(team_id)
                .await
                .map_err(|_| field_error("team_id", &format!("no team with team_id {team_id}")))?;
        }
        let mut row = KeyRow {
            token: token::hash(&key),
            key_name: token::abbreviate(&key),
            key_alias: None,
            expires: None,
            team_id: None,
            user_id: None,
            created_at: now,
            terms: Terms::default(),
        };
        apply_key(&mut row, body, now)?;
        timed(self.db.insert_key(row.clone()))
            .await
            .map_err(|error| conflict(error, "key", "the key exists already"))?;
        Ok(json_response(
            StatusCode::OK,
            &KeyView::of(&row, Some(&key)),
        ))
    }

    async fn update_key(&self, mut body: Body) -> Result<http::Response<EdgeBody>, Error> {
        let presented = required(body.key.take(), "key")?;
        let mut row = self.key_row(&token::stored_form(&presented)).await?;
        if let Some(team_id) = &body.team_id {
            self.team_row(team_id)
                .await
                .map_err(|_| field_error("team_id", &format!("no team with team_id {team_id}")))?;
        }
        apply_key(&mut row, body, unix_now())?;
        if !timed(self.db.update_key(row.clone())).await? {
            return Err(not_found("no such key".to_owned()));
        }
        self.gate.forget(&row.token);
        self.changes.announce().await;
        Ok(json_response(StatusCode::OK, &KeyView::of(&row, None)))
    }

    async fn delete_keys(&self, body: Body) -> Result<http::Response<EdgeBody>, Error> {
        let (named, tokens) = match (body.keys, body.key_aliases) {
            (Some(keys), _) => {
                bounded_list(&keys, "keys")?;
                let tokens = keys.iter().map(|key| token::stored_form(key)).collect();
                (keys, tokens)
            }
            (None, Some(aliases)) => {
                bounded_list(&aliases, "key_aliases")?;
                let tokens = timed(self.db.tokens_of_aliases(&aliases)).await?;
                (aliases, tokens)
            }
            (None, None) => return Err(field_error("keys", "name the keys to delete")),
        };
        let deleted = timed(self.db.delete_keys(&tokens)).await?;
        if deleted.is_empty() {
            return Err(not_found(format!(
                "none of the {} keys named exists",
                named.len()
            )));
        }
        for token in &deleted {
            self.gate.forget(token);
        }
        self.changes.announce().await;
        let deleted_keys: Vec<&String> = named
            .iter()
            .zip(&tokens)
            .filter(|(_, token)| deleted.contains(token))
            .map(|(name, _)| name)
            .collect();
        let deleted_keys = if deleted_keys.is_empty() {
            named.iter().collect()
        } else {
            deleted_keys
        };
        Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({"deleted_keys": deleted_keys}),
        ))
    }

    async fn regenerate(&self, presented: &str) -> Result<http::Response<EdgeBody>, Error> {
        let old = token::stored_form(presented);
        let key = token::generate()
            .ok_or_else(|| Error::new(ErrorKind::Api, "no random source for a new key"))?;
        let (hash, name) = (token::hash(&key), token::abbreviate(&key));
        if !timed(self.db.rekey(&old, &hash, &name)).await? {
            return Err(not_found("no such key".to_owned()));
        }
        self.gate.forget(&old);
        self.changes.announce().await;
        let row = self.key_row(&hash).await?;
        Ok(json_response(
            StatusCode::OK,
            &KeyView::of(&row, Some(&key)),
        ))
    }

    async fn new_team(&self, mut body: Body) -> Result<http::Response<EdgeBody>, Error> {
        let now = unix_now();
        let team_id = match body.team_id.take() {
            Some(id) => name(id, "team_id")?,
            None => format!("team-{:032x}", fastrand::u128(..)),
        };
        let mut row = TeamRow {
            team_id,
            team_alias: None,
            created_at: now,
            terms: Terms::default(),
        };
        apply_team(&mut row, body, now)?;
        timed(self.db.insert_team(row.clone()))
            .await
            .map_err(|error| conflict(error, "team_id", "a team of this team_id exists already"))?;
        Ok(json_response(StatusCode::OK, &TeamView::of(&row)))
    }

    async fn update_team(&self, mut body: Body) -> Result<http::Response<EdgeBody>, Error> {
        let team_id = required(body.team_id.take(), "team_id")?;
        let mut row = self.team_row(&team_id).await?;
        apply_team(&mut row, body, unix_now())?;
        if !timed(self.db.update_team(row.clone())).await? {
            return Err(not_found(format!("no team with team_id {team_id}")));
        }
        // Its keys' grants hold the team's terms.
        self.gate.forget_all();
        self.changes.announce().await;
        Ok(json_response(
            StatusCode::OK,
            &serde_json::json!({"team_id": row.team_id, "data": TeamView::of(&row)}),
        ))
    }
}

/// The body as `T`, or a 400 naming the field that does not fit.
fn parse<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, Error> {
    let bytes: &[u8] = if body.is_empty() { b"{}" } else { body };
    let mut deserializer = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut deserializer).map_err(|error| {
        let path = error.path().to_string();
        let message = error.into_inner().to_string();
        if path == "." {
            Error::invalid_request(format!(
                "the body is not a JSON object of the route's fields: {message}"
            ))
        } else {
            field_error(&path, &message)
        }
    })
}

fn field_error(field: &str, message: &str) -> Error {
    Error::invalid_param(field, format!("{field}: {message}"))
}

fn required<T>(value: Option<T>, field: &str) -> Result<T, Error> {
    value.ok_or_else(|| field_error(field, "required"))
}

fn not_found(message: String) -> Error {
    Error::new(ErrorKind::NotFound, message)
}

/// A unique-key violation as a 400 on `field`; any other failure as itself.
fn conflict(error: KeysError, field: &str, message: &str) -> Error {
    match &error {
        KeysError::Query(sqlx::Error::Database(db)) if db.is_unique_violation() => {
            field_error(field, message)
        }
        _ => error.into(),
    }
}

fn name(value: String, field: &str) -> Result<String, Error> {
    if value.is_empty() || value.len() > MAX_NAME {
        return Err(field_error(field, "expected 1 to 256 characters"));
    }
    Ok(value)
}

fn bounded_list(values: &[String], field: &str) -> Result<(), Error> {
    if values.is_empty() || values.len() > MAX_ROWS as usize {
        return Err(field_error(field, "expected 1 to 1000 entries"));
    }
    Ok(())
}

/// A `YYYY-MM-DD` date (or an RFC 3339 time) in Unix milliseconds.
fn date_ms(value: &str, field: &str) -> Result<i64, Error> {
    let text = if value.len() == 10 {
        format!("{value}T00:00:00Z")
    } else {
        value.to_owned()
    };
    let time = humantime::parse_rfc3339_weak(&text)
        .map_err(|_| field_error(field, "expected a date, YYYY-MM-DD"))?;
    let ms = time
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_millis();
    Ok(i64::try_from(ms).unwrap_or(i64::MAX))
}

/// Applies the fields keys and teams share.
fn apply_terms(terms: &mut Terms, body: &mut Body, now: i64) -> Result<(), Error> {
    if let Some(models) = body.models.take() {
        if models.len() > MAX_MODELS || models.iter().any(|m| m.is_empty() || m.len() > MAX_NAME) {
            return Err(field_error("models", "expected up to 256 model names"));
        }
        terms.models = models;
    }
    if let Some(max) = body.max_budget.take() {
        if !max.is_finite() || max < 0.0 {
            return Err(field_error(
                "max_budget",
                "expected a number of dollars, 0 or more",
            ));
        }
        terms.max_budget = Some(max);
    }
    if let Some(text) = body.budget_duration.take() {
        let seconds =
            duration::seconds(&text).map_err(|why| field_error("budget_duration", &why))?;
        let seconds = i64::try_from(seconds).unwrap_or(i64::MAX);
        terms.budget_duration = Some(text);
        terms.budget_duration_secs = Some(seconds);
        terms.budget_reset_at = Some(now.saturating_add(seconds));
    }
    let limit = |value: u64| i64::try_from(value).unwrap_or(i64::MAX);
    if let Some(rpm) = body.rpm_limit.take() {
        terms.rpm_limit = Some(limit(rpm));
    }
    if let Some(tpm) = body.tpm_limit.take() {
        terms.tpm_limit = Some(limit(tpm));
    }
    if let Some(parallel) = body.max_parallel_requests.take() {
        terms.max_parallel_requests = Some(limit(parallel));
    }
    if let Some(metadata) = body.metadata.take() {
        if Value::Object(metadata.clone()).to_string().len() > MAX_METADATA {
            return Err(field_error("metadata", "larger than 16 KiB"));
        }
        terms.metadata = metadata;
    }
    Ok(())
}

fn apply_key(row: &mut KeyRow, mut body: Body, now: i64) -> Result<(), Error> {
    apply_terms(&mut row.terms, &mut body, now)?;
    if let Some(alias) = body.key_alias {
        row.key_alias = Some(name(alias, "key_alias")?);
    }
    if let Some(text) = body.duration {
        let seconds = duration::seconds(&text).map_err(|why| field_error("duration", &why))?;
        row.expires = Some(now.saturating_add(i64::try_from(seconds).unwrap_or(i64::MAX)));
    }
    if let Some(team_id) = body.team_id {
        row.team_id = Some(name(team_id, "team_id")?);
    }
    if let Some(user_id) = body.user_id {
        row.user_id = Some(name(user_id, "user_id")?);
    }
    Ok(())
}

fn apply_team(row: &mut TeamRow, mut body: Body, now: i64) -> Result<(), Error> {
    apply_terms(&mut row.terms, &mut body, now)?;
    if let Some(alias) = body.team_alias {
        row.team_alias = Some(name(alias, "team_alias")?);
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_field_that_does_not_fit_is_named() {
        let error = parse::<Body>(&Bytes::from_static(br#"{"max_budget": "ten"}"#)).unwrap_err();
        assert_eq!(error.param(), Some("max_budget"));
        let error = parse::<Body>(&Bytes::from_static(br#"{"rpm_limit": -1}"#)).unwrap_err();
        assert_eq!(error.param(), Some("rpm_limit"));
        let error = parse::<Body>(&Bytes::from_static(b"[1]")).unwrap_err();
        assert_eq!(error.status(), StatusCode::BAD_REQUEST);
        let mut body = Body {
            budget_duration: Some("soon".into()),
            ..Body::default()
        };
        let error = apply_terms(&mut Terms::default(), &mut body, 0).unwrap_err();
        assert_eq!(error.param(), Some("budget_duration"));
    }

    #[test]
    fn dates_of_spend_logs() {
        assert_eq!(date_ms("1970-01-02", "start_date"), Ok(86_400_000));
        assert!(date_ms("yesterday", "start_date").is_err());
    }
}
