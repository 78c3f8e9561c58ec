//! [`FileRegistry`]: what the files and batches services share: the providers that hold
//! files (by deployment name), the id signer, the store of small per-id records, and the
//! size limit of an upload.
//!
//! Records are JSON under `files:{deployment}:{provider name}` (a file's name, size,
//! purpose and the lines refused at upload; a batch's endpoint, input and metadata), and
//! each owner's ids under `files-of:{owner}` and `batches-of:{owner}` (newest first, at
//! most [`MAX_LISTED`]). A record the store lost leaves the object readable, with less
//! said about it; the lists are best-effort: two replicas adding at the same instant may
//! lose one entry of a list, never an object.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::Serialize;
use serde::de::DeserializeOwned;

use super::ids::{IdKind, IdParts, IdSigner};
use super::provider::FileProvider;
use crate::error::{Error, ErrorKind};
use crate::store::ResponseStore;

/// The largest upload unless set otherwise: 200 MB, OpenAI's limit for a batch file.
pub const DEFAULT_MAX_FILE_BYTES: usize = 200 * 1024 * 1024;

/// How many ids an owner's list keeps.
pub const MAX_LISTED: usize = 1000;

/// Providers, signer and store of the files and batches services.
///
/// ```
/// use std::sync::Arc;
/// use llm_tower::layers::files::{FileRegistry, ids::IdSigner};
/// use llm_tower::store::MemoryResponseStore;
///
/// let registry = FileRegistry::new(IdSigner::new(b"master key"), Arc::new(MemoryResponseStore::default()))
///     .max_file_bytes(1024 * 1024);
/// assert_eq!(registry.deployments().count(), 0);
/// ```
pub struct FileRegistry {
    providers: BTreeMap<String, Arc<dyn FileProvider>>,
    signer: IdSigner,
    store: Arc<dyn ResponseStore>,
    max_file_bytes: usize,
}

impl std::fmt::Debug for FileRegistry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FileRegistry")
            .field("deployments", &self.providers.keys().collect::<Vec<_>>())
            .field("max_file_bytes", &self.max_file_bytes)
            .finish_non_exhaustive()
    }
}

impl FileRegistry {
    /// No providers yet; ids signed by `signer`, records in `store`.
    pub fn new(signer: IdSigner, store: Arc<dyn ResponseStore>) -> Self {
        Self {
            providers: BTreeMap::new(),
            signer,
            store,
            max_file_bytes: DEFAULT_MAX_FILE_BYTES,
        }
    }

    /// Serves the files of `deployment` with `provider`.
    pub fn provider(
        mut self,
        deployment: impl Into<String>,
        provider: Arc<dyn FileProvider>,
    ) -> Self {
        self.providers.insert(deployment.into(), provider);
        self
    }

    /// Refuses uploads larger than `bytes` (413).
    pub fn max_file_bytes(mut self, bytes: usize) -> Self {
        self.max_file_bytes = bytes;
        self
    }

    /// The largest upload.
    pub fn file_limit(&self) -> usize {
        self.max_file_bytes
    }

    /// The deployments that hold files.
    pub fn deployments(&self) -> impl Iterator<Item = &str> {
        self.providers.keys().map(String::as_str)
    }

    /// The deployment named `asked`, else the only one there is.
    pub(crate) fn choose(&self, asked: Option<&str>) -> Result<&str, Error> {
        match asked {
            Some(name) => self
                .providers
                .get_key_value(name)
                .map(|(name, _)| name.as_str())
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::InvalidRequest,
                        format!(
                            "no deployment named `{name}` can hold files; those that can: {}",
                            self.names()
                        ),
                    )
                }),
            None if self.providers.len() == 1 => Ok(self
                .providers
                .keys()
                .next()
                .map(String::as_str)
                .unwrap_or_default()),
            None => Err(Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "name the deployment that holds the file with the `target_model_names` (or `model`) field; those that can: {}",
                    self.names()
                ),
            )),
        }
    }

    fn names(&self) -> String {
        if self.providers.is_empty() {
            return "none is configured".to_owned();
        }
        self.providers
            .keys()
            .map(|name| format!("`{name}`"))
            .collect::<Vec<_>>()
            .join(", ")
    }

    /// The provider of `deployment`.
    pub(crate) fn provider_of(&self, deployment: &str) -> Result<&Arc<dyn FileProvider>, Error> {
        self.providers.get(deployment).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "the deployment of this id is no longer configured",
            )
        })
    }

    /// Signs an id.
    pub(crate) fn sign(&self, parts: &IdParts) -> String {
        self.signer.sign(parts)
    }

    /// What `id` says, if it is of `kinds` and `owner`'s; else 404, whatever is wrong
    /// with it (another key's id is not told apart from an unknown one).
    pub(crate) fn read(
        &self,
        id: &str,
        kinds: &[IdKind],
        owner: &str,
        what: &str,
    ) -> Result<IdParts, Error> {
        self.signer
            .read(id)
            .filter(|parts| kinds.contains(&parts.kind) && parts.owner == owner)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("No {what} found with id '{id}'"),
                )
            })
    }

    /// The record of an object.
    pub(crate) async fn record<T: DeserializeOwned>(
        &self,
        deployment: &str,
        upstream: &str,
    ) -> Option<T> {
        let text = self.store.get(&record_key(deployment, upstream)).await?;
        serde_json::from_str(&text).ok()
    }

    /// Keeps the record of an object.
    pub(crate) async fn keep<T: Serialize>(&self, deployment: &str, upstream: &str, record: &T) {
        if let Ok(text) = serde_json::to_string(record) {
            self.store
                .put(&record_key(deployment, upstream), text)
                .await;
        }
    }

    /// Forgets the record of an object.
    pub(crate) async fn forget(&self, deployment: &str, upstream: &str) {
        self.store.remove(&record_key(deployment, upstream)).await;
    }

    /// The ids in `owner`'s list `list`, newest first.
    pub(crate) async fn listed(&self, list: &str, owner: &str) -> Vec<String> {
        let Some(text) = self.store.get(&format!("{list}-of:{owner}")).await else {
            return Vec::new();
        };
        serde_json::from_str(&text).unwrap_or_default()
    }

    /// Puts `id` first in `owner`'s list `list` (or takes it out).
    pub(crate) async fn list(&self, list: &str, owner: &str, id: &str, add: bool) {
        let mut ids = self.listed(list, owner).await;
        ids.retain(|listed| listed != id);
        if add {
            ids.insert(0, id.to_owned());
            ids.truncate(MAX_LISTED);
        }
        if let Ok(text) = serde_json::to_string(&ids) {
            self.store.put(&format!("{list}-of:{owner}"), text).await;
        }
    }
}

fn record_key(deployment: &str, upstream: &str) -> String {
    format!("files:{deployment}:{upstream}")
}
