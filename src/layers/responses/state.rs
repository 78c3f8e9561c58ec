//! Stored responses: unguessable ids, owners' namespaces, and the record kept per
//! response in a [`ResponseStore`].
//!
//! A response id is `resp_` and 128 random bits from the operating system's generator. A
//! record is stored under the owner's namespace (a hash of the key that created it) and
//! the id, so another key cannot read, continue or delete it even when it knows the id.
//! A record holds the whole conversation so far, so it grows with each continuation; one
//! larger than the limit ([`DEFAULT_MAX_RECORD_BYTES`] unless set) is not stored (and
//! logged), so that clients cannot fill a shared store with ever-longer chains.

use std::sync::Arc;

use ring::rand::{SecureRandom, SystemRandom};
use serde::{Deserialize, Serialize};

use crate::error::{Error, ErrorKind};
use crate::openai::Message;
use crate::openai::responses::{InputItem, InputItemList, Response};
use crate::store::{ResponseStore, StoreFuture};

/// Most items one `input_items` page holds.
pub const MAX_PAGE: usize = 100;

/// The largest record stored by default, in bytes of JSON: 32 MiB, the largest request
/// body the proxy takes.
pub const DEFAULT_MAX_RECORD_BYTES: usize = 32 * 1024 * 1024;

/// What is kept per response.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct StoredResponse {
    /// The response object.
    pub response: Response,
    /// The request's input items, with ids.
    pub input_items: Vec<InputItem>,
    /// The conversation up to and including this response, as chat messages (instructions
    /// excluded): what `previous_response_id` continues.
    pub conversation: Vec<Message>,
}

/// A new response id: `resp_` and 32 hex digits of OS randomness.
pub fn new_response_id() -> Result<String, Error> {
    let mut bytes = [0u8; 16];
    SystemRandom::new()
        .fill(&mut bytes)
        .map_err(|_| Error::new(ErrorKind::Api, "no randomness for a response id"))?;
    let mut id = String::with_capacity(5 + 32);
    id.push_str("resp_");
    for byte in bytes {
        id.push_str(&format!("{byte:02x}"));
    }
    Ok(id)
}

/// Whether `id` has the shape of an id made here (so odd input never reaches the store).
fn well_formed(id: &str) -> bool {
    id.strip_prefix("resp_")
        .is_some_and(|hex| hex.len() == 32 && hex.bytes().all(|byte| byte.is_ascii_hexdigit()))
}

/// The namespace of the records created with `key` (the master key today): a hash, so the
/// key itself is never part of a store key.
pub fn namespace(key: &str) -> String {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("llm-tower responses\0{key}").as_bytes(),
    );
    digest.as_ref()[..16]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// The records of one namespace.
#[derive(Clone)]
pub struct Records {
    store: Arc<dyn ResponseStore>,
    namespace: Arc<str>,
    max_bytes: usize,
}

impl std::fmt::Debug for Records {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Records").finish_non_exhaustive()
    }
}

impl Records {
    /// The records of `namespace` in `store`, each at most `max_bytes` of JSON.
    pub fn new(store: Arc<dyn ResponseStore>, namespace: String, max_bytes: usize) -> Self {
        Self {
            store,
            namespace: namespace.into(),
            max_bytes,
        }
    }

    /// The store's key: `{namespace}:{id}`.
    fn key(&self, id: &str) -> String {
        format!("{}:{id}", self.namespace)
    }

    /// The record of `id`, if this namespace has it (and it is within the size limit).
    pub async fn load(&self, id: &str) -> Option<StoredResponse> {
        self.load_previous(id).await.ok()
    }

    /// The record `previous_response_id` names, or the 400 saying why there is none: not
    /// in this namespace, or larger than the size limit (written by a replica with a larger
    /// one), which is refused before it is parsed.
    pub async fn load_previous(&self, id: &str) -> Result<StoredResponse, Error> {
        if !well_formed(id) {
            return Err(previous_not_found(id));
        }
        let text = self
            .store
            .get(&self.key(id))
            .await
            .ok_or_else(|| previous_not_found(id))?;
        if text.len() > self.max_bytes {
            return Err(Error::invalid_param(
                "previous_response_id",
                format!(
                    "the conversation of `previous_response_id` is {} bytes, more than the \
                     limit of {} per request; start a new conversation",
                    text.len(),
                    self.max_bytes
                ),
            ));
        }
        serde_json::from_str(&text).map_err(|_| previous_not_found(id))
    }

    /// Stores `record` (a write that fails, or a record over the limit, is a lost record,
    /// not an error).
    pub fn save(&self, record: &StoredResponse) -> StoreFuture<'static, ()> {
        let Ok(text) = serde_json::to_string(record) else {
            return Box::pin(std::future::ready(()));
        };
        if text.len() > self.max_bytes {
            tracing::warn!(
                target: "llm_tower::responses",
                bytes = text.len(),
                limit = self.max_bytes,
                "stored response over the size limit; not stored"
            );
            return Box::pin(std::future::ready(()));
        }
        let (store, key) = (self.store.clone(), self.key(&record.response.id));
        Box::pin(async move { store.put(&key, text).await })
    }

    /// Deletes the record of `id`; whether there was one.
    pub async fn remove(&self, id: &str) -> bool {
        well_formed(id) && self.store.remove(&self.key(id)).await
    }
}

/// The 404 for an id this namespace does not have.
pub fn not_found(id: &str) -> Error {
    Error::new(
        ErrorKind::NotFound,
        format!("No response found with id '{}'.", printable(id)),
    )
}

/// The 400 for a `previous_response_id` this namespace does not have.
pub fn previous_not_found(id: &str) -> Error {
    Error::invalid_param(
        "previous_response_id",
        format!("Previous response with id '{}' not found.", printable(id)),
    )
    .with_code("previous_response_not_found")
}

/// At most 64 characters of a client-given id, for messages.
fn printable(id: &str) -> String {
    id.chars().take(64).collect()
}

/// `GET /v1/responses/{id}/input_items` paging: `limit` (1 to 100, default 20), `order`
/// (`desc`, the default, or `asc`), `after` (an item id).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ItemsQuery {
    /// Items per page.
    pub limit: Option<usize>,
    /// `asc` or `desc`.
    pub order: Option<String>,
    /// Start after this item.
    pub after: Option<String>,
}

impl ItemsQuery {
    /// Reads a URL query string (`limit=2&order=asc`); unknown keys are ignored.
    pub fn parse(query: Option<&str>) -> Result<Self, Error> {
        let mut parsed = Self::default();
        for (key, value) in url::form_urlencoded::parse(query.unwrap_or("").as_bytes()) {
            match &*key {
                "limit" => {
                    let limit = value
                        .parse::<usize>()
                        .ok()
                        .filter(|limit| (1..=MAX_PAGE).contains(limit));
                    parsed.limit = Some(limit.ok_or_else(|| {
                        Error::invalid_param("limit", format!("limit must be from 1 to {MAX_PAGE}"))
                    })?);
                }
                "order" if value == "asc" || value == "desc" => {
                    parsed.order = Some(value.into_owned())
                }
                "order" => return Err(Error::invalid_param("order", "order must be asc or desc")),
                "after" => parsed.after = Some(value.into_owned()),
                _ => {}
            }
        }
        Ok(parsed)
    }

    /// One page of `items` (in request order).
    pub fn page(&self, mut items: Vec<InputItem>) -> InputItemList {
        if self.order.as_deref() != Some("asc") {
            items.reverse();
        }
        let start = self
            .after
            .as_deref()
            .and_then(|after| {
                items
                    .iter()
                    .position(|item| item.id.as_deref() == Some(after))
            })
            .map_or(0, |position| position + 1);
        let limit = self.limit.unwrap_or(20);
        let rest = items.len().saturating_sub(start);
        let data: Vec<InputItem> = items.into_iter().skip(start).take(limit).collect();
        InputItemList {
            object: "list".to_owned(),
            first_id: data.first().and_then(|item| item.id.clone()),
            last_id: data.last().and_then(|item| item.id.clone()),
            has_more: rest > data.len(),
            data,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_random_and_well_formed() {
        let (a, b) = (new_response_id().unwrap(), new_response_id().unwrap());
        assert_ne!(a, b);
        assert!(well_formed(&a), "{a}");
        assert!(!well_formed("resp_../../etc"));
        assert_ne!(namespace("sk-one"), namespace("sk-two"));
        assert_eq!(namespace("sk-one").len(), 32);
    }

    #[test]
    fn pages_go_newest_first_by_default() {
        let items: Vec<InputItem> = (0..5)
            .map(|index| InputItem {
                id: Some(format!("i{index}")),
                ..InputItem::default()
            })
            .collect();
        let query = ItemsQuery::parse(Some("limit=2")).unwrap();
        let page = query.page(items.clone());
        assert_eq!(
            (
                page.first_id.as_deref(),
                page.last_id.as_deref(),
                page.has_more
            ),
            (Some("i4"), Some("i3"), true)
        );
        let query = ItemsQuery::parse(Some("order=asc&after=i3")).unwrap();
        let page = query.page(items);
        assert_eq!(page.data.len(), 1);
        assert!(!page.has_more);
        assert_eq!(
            ItemsQuery::parse(Some("limit=0")).unwrap_err().param(),
            Some("limit")
        );
    }
}
