//! [`Cached`]: the calls one marked request makes: the store lookup, the single-flight
//! find-or-create under the store's claim (Google's list, `countTokens`, the create), the
//! TTL refresh, and the call naming the cache, resent uncached when the cache is gone.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use tower::ServiceExt;
use tower_service::Service;

use super::head::{Head, rejoined, uncached, with_cache};
use super::report::{self, Outcome};
use super::size::Size;
use super::store::claim_token;
use super::{
    ContextCacheLayer, EVENT_TARGET, MAX_LIST_PAGES, REFRESH_CLAIM_TTL, REFUSAL_MEMORY, Resolved,
};
use crate::providers::gemini::call::{CacheWrite, Call, Method, Reply};
use crate::providers::gemini::error::{Error, InvalidCall, MalformedReply};
use crate::providers::gemini::translate::CachePlan;
use crate::providers::gemini::wire::{
    CachedContent, CachedContentUpdate, CountTokensRequest, GoogleStatus,
};
use crate::store::CacheEntry;

/// One cached call's state.
pub(super) struct Cached<S> {
    pub(super) inner: S,
    pub(super) layer: ContextCacheLayer,
    /// Tokens of the cache this call created (what its reply's usage reports as written).
    pub(super) written: Option<u64>,
}

impl<S> Cached<S>
where
    S: Service<Call, Response = Reply, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    pub(super) async fn send(mut self, call: Call, plan: CachePlan) -> Result<Reply, Error> {
        let (head, live) = match self.layer.split(call, &plan) {
            Ok(parts) => parts,
            Err(call) => return self.inner.oneshot(uncached(*call, &plan)).await,
        };
        let name = match self.layer.lookup(&head.key).await {
            Some(CacheEntry::Refused) => {
                report::outcome(Outcome::TooSmall, &live);
                return self.inner.oneshot(rejoined(head, live, &plan)).await;
            }
            Some(CacheEntry::Cached { name, expire_time })
                if head.usable(expire_time) && valid_name(&name) =>
            {
                self.refresh_if_due(&live, &head, &name, expire_time).await;
                Some(name)
            }
            _ => None,
        };
        // A hit is reported once its cache was used.
        let hit = name.is_some();
        let cache = match name {
            Some(cache) => cache,
            None => match self.resolve(&live, &head).await? {
                Some(cache) => cache,
                None => return self.inner.oneshot(rejoined(head, live, &plan)).await,
            },
        };
        // The live part (without the head) is kept for a resend when the cache is gone.
        match self.inner.clone().oneshot(with_cache(&live, &cache)).await {
            Err(error) if cache_gone(&error) => {
                tracing::debug!(target: EVENT_TARGET, "context cache gone upstream; forgotten, the call resent uncached");
                report::outcome(Outcome::Gone, &live);
                self.layer.forget(&head.key).await;
                self.inner.oneshot(rejoined(head, live, &plan)).await
            }
            reply => {
                if hit {
                    report::outcome(Outcome::Hit, &live);
                }
                let written = self.written.take();
                reply.map(|reply| written_by(reply, written, head.ttl))
            }
        }
    }

    /// The cache for a head the store does not know: looked up or created by one call per
    /// process (and, through the store's claim, per set of processes sharing it). `None`:
    /// send the call uncached. The error is the creating call's own.
    async fn resolve(&mut self, call: &Call, head: &Head) -> Result<Option<String>, Error> {
        if head.size == Size::Small {
            report::outcome(Outcome::TooSmall, call);
            return Ok(None);
        }
        let (mut ran, mut own) = (false, None);
        let state = Arc::clone(&self.layer.state);
        let (name, outcome) = state
            .flights
            .run(&head.key, || async {
                ran = true;
                self.lead(call, head).await.unwrap_or_else(|error| {
                    own = Some(error);
                    (None, Outcome::Failed)
                })
            })
            .await;
        // A caller that joined another's flight got its result: it waited for it, or (a
        // failure is the creating caller's own error) goes on uncached.
        let outcome = match (ran, &name, outcome) {
            (false, Some(_), _) => Outcome::Waited,
            (false, None, Outcome::Failed) => Outcome::Uncached,
            (_, _, outcome) => outcome,
        };
        report::outcome(outcome, call);
        match own {
            Some(error) => Err(error),
            None => Ok(name),
        }
    }

    /// The work of the first caller of a flight: under a claim of its own in the store,
    /// renewed while the lookup and create last, released (if still its own) after.
    async fn lead(&mut self, call: &Call, head: &Head) -> Result<Resolved, Error> {
        let store = Arc::clone(&self.layer.store);
        let owner = claim_token();
        let ttl = self.layer.settings.claim_ttl;
        match self
            .layer
            .store_op("claim", store.claim(&head.key, &owner, ttl))
            .await
        {
            Some(true) => {}
            Some(false) => return Ok(self.layer.wait_for_winner(head).await),
            // A store that fails cannot arbitrate: create (this process remembers it).
            None => return self.find_or_create(call, head).await,
        }
        let layer = self.layer.clone();
        let result = tokio::select! {
            biased;
            result = self.find_or_create(call, head) => result,
            never = layer.keep_claim(&head.key, &owner) => match never {},
        };
        self.layer
            .store_op("release", store.release(&head.key, &owner))
            .await;
        result
    }

    async fn find_or_create(&mut self, call: &Call, head: &Head) -> Result<Resolved, Error> {
        let first_lookup = self
            .layer
            .state
            .listed()
            .entry_by_ref(&head.key)
            .or_insert(())
            .is_fresh();
        if first_lookup {
            match self.find_listed(call, head).await {
                Ok(Some(found)) => {
                    let name = self.layer.remember_cache(head, found).await;
                    return Ok((Some(name), Outcome::Found));
                }
                Ok(None) => {}
                Err(error) => {
                    tracing::debug!(target: EVENT_TARGET, %error, "listing context caches failed; creating");
                }
            }
        }
        if head.size == Size::Near
            && let Some(tokens) = self.count_tokens(call, head).await
            && tokens < head.minimum
        {
            self.layer
                .remember(&head.key, &CacheEntry::Refused, REFUSAL_MEMORY)
                .await;
            return Ok((None, Outcome::TooSmall));
        }
        let created = match self.create(call, head).await {
            Ok(created) => created,
            Err(error) if uncached_fails_too(&error) => return Err(error),
            Err(error) => {
                tracing::debug!(target: EVENT_TARGET, %error, "creating a context cache failed; sending uncached");
                return Ok((None, Outcome::Failed));
            }
        };
        match created {
            Some(created) => {
                self.written = created
                    .usage_metadata
                    .as_ref()
                    .map(|usage| usage.total_token_count);
                let name = self.layer.remember_cache(head, created).await;
                Ok((Some(name), Outcome::Created))
            }
            None => {
                self.layer
                    .remember(&head.key, &CacheEntry::Refused, REFUSAL_MEMORY)
                    .await;
                Ok((None, Outcome::TooSmall))
            }
        }
    }

    /// Looks for the head's display name among the project's caches.
    async fn find_listed(
        &mut self,
        call: &Call,
        head: &Head,
    ) -> Result<Option<CachedContent>, Error> {
        let display = head.display_name();
        let mut page_token = None;
        for _ in 0..MAX_LIST_PAGES {
            let list = Call {
                model: call.model.clone(),
                method: Method::ListCachedContents { page_token },
                options: call.options.clone(),
                cache: None,
                context: call.context.clone(),
            };
            let Reply::CachedContents(page) = self.inner.clone().oneshot(list).await? else {
                return Err(Error::Decode(MalformedReply::OtherReply("listing caches")));
            };
            let found = page.cached_contents.into_iter().find(|cache| {
                cache.display_name.as_deref() == Some(display.as_str())
                    && cache.model.as_deref().map(model_id) == Some(call.model.as_str())
                    && head.usable(head.expire_time(cache))
            });
            if found.is_some() {
                return Ok(found);
            }
            page_token = page.next_page_token.filter(|token| !token.is_empty());
            if page_token.is_none() {
                break;
            }
        }
        Ok(None)
    }

    /// The head's tokens, counted by Google; `None` when the count failed (the create
    /// call then decides).
    async fn count_tokens(&mut self, call: &Call, head: &Head) -> Option<u64> {
        let mut body = head.body.clone();
        body.ttl = None;
        let count = Call {
            model: call.model.clone(),
            method: Method::CountTokens(CountTokensRequest {
                generate_content_request: body,
            }),
            options: call.options.clone(),
            cache: None,
            context: call.context.clone(),
        };
        match self.inner.clone().oneshot(count).await {
            Ok(Reply::TokenCount(count)) => Some(count.total_tokens),
            Ok(_) => None,
            Err(error) => {
                tracing::debug!(target: EVENT_TARGET, %error, "counting a head's tokens failed; creating");
                None
            }
        }
    }

    /// Creates the cache; `None` when Google will not cache this head.
    async fn create(&mut self, call: &Call, head: &Head) -> Result<Option<CachedContent>, Error> {
        let mut body = head.body.clone();
        body.display_name = Some(head.display_name());
        let create = Call {
            model: call.model.clone(),
            method: Method::CreateCachedContent(body),
            options: call.options.clone(),
            cache: None,
            context: call.context.clone(),
        };
        match self.inner.clone().oneshot(create).await {
            Ok(Reply::CachedContent(created)) => Ok(Some(created)),
            Ok(_) => Err(Error::InvalidCall(InvalidCall::OtherReply(
                "creating a context cache",
            ))),
            // A head Google will not cache (too small, a model without caching); a bad key
            // fails the same way uncached, so it is the caller's error at once.
            Err(Error::Upstream {
                status,
                google,
                message,
                ..
            }) if status == http::StatusCode::BAD_REQUEST
                && google.as_ref().and_then(GoogleStatus::reason) != Some("API_KEY_INVALID") =>
            {
                tracing::debug!(target: EVENT_TARGET, %message, "context cache not created; sending uncached");
                if let Some(minimum) = refused_minimum(&message) {
                    self.layer
                        .state
                        .minimums()
                        .insert(call.model.clone(), minimum);
                }
                Ok(None)
            }
            Err(error) => Err(error),
        }
    }

    /// Extends a cache in its last quarter of life (one caller per head at a time).
    async fn refresh_if_due(
        &mut self,
        call: &Call,
        head: &Head,
        name: &str,
        expire_time: SystemTime,
    ) {
        let left = expire_time
            .duration_since(SystemTime::now())
            .unwrap_or_default();
        if !self.layer.settings.refresh || left >= head.ttl / 4 || !valid_name(name) {
            return;
        }
        let claim = format!("{}:refresh", head.key);
        let store = Arc::clone(&self.layer.store);
        let owner = claim_token();
        if self
            .layer
            .store_op("claim", store.claim(&claim, &owner, REFRESH_CLAIM_TTL))
            .await
            != Some(true)
        {
            return;
        }
        let update = Call {
            model: call.model.clone(),
            method: Method::UpdateCachedContent(CachedContentUpdate {
                name: name.to_owned(),
                ttl: format!("{}s", head.ttl.as_secs_f64()),
            }),
            options: call.options.clone(),
            cache: None,
            context: call.context.clone(),
        };
        match self.inner.clone().oneshot(update).await {
            Ok(Reply::CachedContent(updated)) => {
                tracing::debug!(target: EVENT_TARGET, outcome = "refreshed", model = call.model, "context cache");
                self.layer.remember_cache(head, updated).await;
            }
            Ok(_) => {}
            Err(error) => {
                tracing::debug!(target: EVENT_TARGET, %error, "extending a context cache failed");
            }
        }
    }
}

/// The reply of a call that created a cache of `tokens` (when Google said how many).
fn written_by(reply: Reply, tokens: Option<u64>, ttl: Duration) -> Reply {
    match tokens {
        Some(tokens) => Reply::CacheWritten {
            reply: Box::new(reply),
            write: CacheWrite { tokens, ttl },
        },
        None => reply,
    }
}

/// `cachedContents/{id}` with an id of Google's characters (a name read from a shared
/// store goes into a URL path).
/// AI Studio's `cachedContents/{id}`, or Vertex AI's
/// `projects/{project}/locations/{location}/cachedContents/{id}`: safe segments only, as
/// the name becomes a URL path.
fn valid_name(name: &str) -> bool {
    let segment = |value: &str| {
        !value.is_empty()
            && value
                .bytes()
                .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'_'))
    };
    let rest = match name.strip_prefix("projects/") {
        Some(rest) => {
            let mut parts = rest.splitn(4, '/');
            match (parts.next(), parts.next(), parts.next(), parts.next()) {
                (Some(project), Some("locations"), Some(location), Some(rest))
                    if segment(project) && segment(location) =>
                {
                    rest
                }
                _ => return false,
            }
        }
        None => name,
    };
    rest.strip_prefix("cachedContents/").is_some_and(segment)
}

/// Whether Google says the named cache does not exist (any more): AI Studio's 403/404
/// `CachedContent not found`, Vertex AI's 404 `Not found: cached content metadata for
/// {id}.` and 400 `Cache content {id} is expired.`.
fn cache_gone(error: &Error) -> bool {
    let Error::Upstream {
        status, message, ..
    } = error
    else {
        return false;
    };
    match *status {
        http::StatusCode::FORBIDDEN => message.contains("CachedContent not found"),
        http::StatusCode::NOT_FOUND => {
            message.contains("CachedContent not found")
                || message.contains("cached content metadata")
        }
        http::StatusCode::BAD_REQUEST => {
            message.starts_with("Cache content ") && message.contains(" is expired")
        }
        _ => false,
    }
}

/// Whether a failed create would fail the call uncached too: no key, or a key Google
/// refused.
fn uncached_fails_too(error: &Error) -> bool {
    match error {
        Error::MissingApiKey(_) => true,
        Error::Upstream { status, google, .. } => {
            *status == http::StatusCode::UNAUTHORIZED
                || *status == http::StatusCode::FORBIDDEN
                || google.as_ref().and_then(GoogleStatus::reason) == Some("API_KEY_INVALID")
        }
        _ => false,
    }
}

/// The model id at the end of a cache's `model` (`models/{id}`, or Vertex AI's
/// `projects/{project}/locations/{location}/publishers/google/models/{id}`, whose project
/// may come back as its number).
fn model_id(resource: &str) -> &str {
    resource
        .rsplit_once("models/")
        .map_or(resource, |(_, id)| id)
}

/// The minimum a refusal names: `Cached content is too small. total_token_count=97,
/// min_total_token_count=1024`.
fn refused_minimum(message: &str) -> Option<u64> {
    let (_, rest) = message.split_once("min_total_token_count=")?;
    let digits = rest.bytes().take_while(u8::is_ascii_digit).count();
    rest[..digits].parse().ok().filter(|minimum| *minimum > 0)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_of_ai_studio_and_vertex_caches_are_valid_and_nothing_else() {
        for name in [
            "cachedContents/abc-1_2",
            "projects/123456/locations/us-central1/cachedContents/789",
            "projects/acme-prod/locations/global/cachedContents/789",
        ] {
            assert!(valid_name(name), "{name}");
        }
        for name in [
            "cachedContents/",
            "cachedContents/a/../b",
            "projects/p/locations/l/cachedContents/a?b",
            "projects/p/zones/l/cachedContents/a",
            "projects//locations/l/cachedContents/a",
            "projects/p/locations/l/models/a",
            "https://evil.test/cachedContents/a",
        ] {
            assert!(!valid_name(name), "{name}");
        }
    }

    #[test]
    fn vertex_s_gone_caches_are_recognised_and_a_missing_model_is_not() {
        let error = |status: u16, message: &str| Error::Upstream {
            status: http::StatusCode::from_u16(status).expect("status"),
            google: None,
            message: message.to_owned(),
            retry_after: None,
        };
        assert!(cache_gone(&error(
            404,
            "Not found: cached content metadata for 6116704758662168576."
        )));
        assert!(cache_gone(&error(
            400,
            "Cache content 7016131366404227072 is expired."
        )));
        assert!(cache_gone(&error(
            403,
            "CachedContent not found (or permission denied)"
        )));
        assert!(!cache_gone(&error(
            404,
            "Publisher Model `gemini-x` was not found"
        )));
        assert!(!cache_gone(&error(
            400,
            "Request contains an invalid argument."
        )));
    }

    #[test]
    fn a_cache_s_model_id_is_the_end_of_its_resource_name() {
        assert_eq!(model_id("models/gemini-2.5-flash"), "gemini-2.5-flash");
        assert_eq!(
            model_id(
                "projects/123/locations/us-central1/publishers/google/models/gemini-2.5-flash"
            ),
            "gemini-2.5-flash"
        );
    }

    #[test]
    fn the_minimum_a_refusal_names() {
        let refusal =
            "Cached content is too small. total_token_count=97, min_total_token_count=1024";
        assert_eq!(refused_minimum(refusal), Some(1024));
        assert_eq!(
            refused_minimum("min_total_token_count=4096 and more"),
            Some(4096)
        );
        assert_eq!(refused_minimum("Cached content is too small."), None);
        assert_eq!(refused_minimum("min_total_token_count=0"), None);
        assert_eq!(
            refused_minimum("min_total_token_count=99999999999999999999999"),
            None
        );
    }
}
