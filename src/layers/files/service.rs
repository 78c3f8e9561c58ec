//! [`Files`]: OpenAI's `/v1/files` over any [`FileProvider`]: uploads (a `batch` file
//! checked and translated line by line as it arrives), retrieval, the owner's list,
//! content and deletion; ids signed by the [`FileRegistry`].

use std::collections::BTreeMap;
use std::sync::Arc;

use bytes::Bytes;
use serde::{Deserialize, Serialize};

use super::ids::{IdKind, IdParts};
use super::page::Page;
use super::registry::FileRegistry;
use crate::error::{Error, ErrorKind};
use crate::layers::batches::input::{self, Refused};
use crate::layers::batches::output;
use crate::openai::batches::BatchEndpoint;
use crate::openai::files::{FileDeleted, FileList, FileObject, FilePurpose};

/// What a file's record keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct FileRecord {
    pub(crate) filename: String,
    pub(crate) bytes: u64,
    pub(crate) created_at: u64,
    pub(crate) expires_at: Option<u64>,
    pub(crate) purpose: FilePurpose,
    /// A `batch` file's endpoint, model, translated lines and refused lines.
    #[serde(default)]
    pub(crate) batch: Option<BatchInput>,
}

/// What a `batch` file's record keeps of its lines.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BatchInput {
    pub(crate) endpoint: BatchEndpoint,
    pub(crate) model: Option<String>,
    /// Lines the provider took.
    pub(crate) translated: u64,
    /// Lines its translation refused.
    pub(crate) refused: Vec<Refused>,
    /// Input tokens the provider's results will not count, by `custom_id`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) input_tokens: BTreeMap<String, u64>,
}

/// An upload, as the edge read it.
#[derive(Debug, Clone)]
pub struct NewFile {
    /// The file's name.
    pub filename: String,
    /// Its media type.
    pub mime: String,
    /// Its bytes.
    pub bytes: Bytes,
    /// What it is for.
    pub purpose: FilePurpose,
    /// The deployment asked for (`target_model_names`, `model`).
    pub deployment: Option<String>,
}

/// The files service.
///
/// ```
/// use std::sync::Arc;
/// use llm_tower::layers::files::{FileRegistry, Files, ids::IdSigner};
/// use llm_tower::store::MemoryResponseStore;
///
/// let registry = FileRegistry::new(IdSigner::new(b"k"), Arc::new(MemoryResponseStore::default()));
/// let files = Files::new(Arc::new(registry));
/// # let _ = files;
/// ```
#[derive(Clone, Debug)]
pub struct Files {
    registry: Arc<FileRegistry>,
}

impl Files {
    /// Files of `registry`'s providers.
    pub fn new(registry: Arc<FileRegistry>) -> Self {
        Self { registry }
    }

    /// The registry.
    pub fn registry(&self) -> &Arc<FileRegistry> {
        &self.registry
    }

    /// The deployment an upload goes to: the one asked for, else (for a batch file) the
    /// model its lines name when a deployment has that name, else the only one.
    pub fn deployment_of(&self, file: &NewFile) -> Result<String, Error> {
        // With one deployment there is nothing to infer (and the file is read once).
        let several = self.registry.deployments().nth(1).is_some();
        let asked = file.deployment.clone().or_else(|| {
            (several && file.purpose == FilePurpose::Batch)
                .then(|| input::check(&file.bytes).ok()?.model)
                .flatten()
                .filter(|model| self.registry.deployments().any(|name| name == model))
        });
        self.registry.choose(asked.as_deref()).map(str::to_owned)
    }

    /// Uploads `file` for `owner` to `deployment` (from [`deployment_of`](Self::deployment_of)).
    pub async fn create(
        &self,
        file: NewFile,
        deployment: &str,
        owner: &str,
    ) -> Result<FileObject, Error> {
        if file.bytes.len() > self.registry.file_limit() {
            return Err(Error::new(
                ErrorKind::PayloadTooLarge,
                format!(
                    "the file is larger than {} bytes",
                    self.registry.file_limit()
                ),
            ));
        }
        let provider = self.registry.provider_of(deployment)?;
        let size = file.bytes.len() as u64;
        let (bytes, mime, batch) = match file.purpose {
            FilePurpose::Batch => {
                let checked = input::check(&file.bytes)?;
                let translated = input::translate(provider.as_ref(), &checked);
                let batch = BatchInput {
                    endpoint: checked.endpoint,
                    model: checked.model,
                    translated: translated.count,
                    refused: translated.refused,
                    input_tokens: translated.input_tokens,
                };
                (
                    Bytes::from(translated.file),
                    "application/jsonl".to_owned(),
                    Some(batch),
                )
            }
            _ => (file.bytes, file.mime, None),
        };
        let uploaded = provider
            .upload(&file.filename, &mime, file.purpose, bytes)
            .await?;
        let record = FileRecord {
            filename: file.filename,
            bytes: size,
            created_at: crate::unix_time::seconds(),
            expires_at: uploaded.expires_at,
            purpose: file.purpose,
            batch,
        };
        self.registry
            .keep(deployment, &uploaded.name, &record)
            .await;
        let id = self.registry.sign(&IdParts {
            kind: IdKind::File,
            deployment: deployment.to_owned(),
            upstream: uploaded.name,
            owner: owner.to_owned(),
        });
        self.registry.list("files", owner, &id, true).await;
        Ok(object(id, &record))
    }

    /// The file `id` of `owner`.
    pub async fn retrieve(&self, id: &str, owner: &str) -> Result<FileObject, Error> {
        let parts = self.read(id, owner)?;
        if parts.kind != IdKind::File {
            return Ok(generated(id.to_owned(), 0));
        }
        match self
            .registry
            .record::<FileRecord>(&parts.deployment, &parts.upstream)
            .await
        {
            Some(record) => Ok(object(id.to_owned(), &record)),
            None => {
                // The record is gone (another replica's memory, an eviction): the
                // provider says whether the file still is.
                let file = self
                    .registry
                    .provider_of(&parts.deployment)?
                    .file(&parts.upstream)
                    .await?;
                let mut object = generated(id.to_owned(), 0);
                object.purpose = FilePurpose::UserData;
                object.expires_at = file.expires_at;
                Ok(object)
            }
        }
    }

    /// `owner`'s uploaded files of `purpose` (any, when `None`), newest first: the
    /// `page` of them.
    pub async fn list(
        &self,
        owner: &str,
        page: &Page,
        purpose: Option<FilePurpose>,
    ) -> Result<FileList, Error> {
        let ids = self.registry.listed("files", owner).await;
        let mut rest = page.rest(&ids).iter();
        let mut data = Vec::new();
        while data.len() < page.limit
            && let Some(id) = rest.next()
        {
            let Ok(parts) = self.read(id, owner) else {
                continue;
            };
            if let Some(record) = self
                .registry
                .record::<FileRecord>(&parts.deployment, &parts.upstream)
                .await
                .filter(|record| purpose.is_none_or(|purpose| record.purpose == purpose))
            {
                data.push(object(id.clone(), &record));
            }
        }
        Ok(FileList {
            object: "list".to_owned(),
            first_id: data.first().map(|file| file.id.clone()),
            last_id: data.last().map(|file| file.id.clone()),
            data,
            has_more: rest.next().is_some(),
        })
    }

    /// The bytes of a batch's output or error file.
    pub async fn content(&self, id: &str, owner: &str) -> Result<Bytes, Error> {
        let parts = self.read(id, owner)?;
        match parts.kind {
            IdKind::Output | IdKind::Errors => output::content(&self.registry, &parts).await,
            _ => Err(Error::new(
                ErrorKind::InvalidRequest,
                "the provider does not give back the bytes of an uploaded file; the content of a batch's output and error files is served",
            )),
        }
    }

    /// Deletes the file `id` at the provider, and its record.
    pub async fn delete(&self, id: &str, owner: &str) -> Result<FileDeleted, Error> {
        let parts = self.read(id, owner)?;
        if parts.kind != IdKind::File {
            return Err(Error::invalid_request(
                "a batch's output and error files go with the batch; there is nothing to delete",
            ));
        }
        self.registry
            .provider_of(&parts.deployment)?
            .delete(&parts.upstream)
            .await?;
        self.registry
            .forget(&parts.deployment, &parts.upstream)
            .await;
        self.registry.list("files", owner, id, false).await;
        Ok(FileDeleted {
            id: id.to_owned(),
            object: "file".to_owned(),
            deleted: true,
        })
    }

    fn read(&self, id: &str, owner: &str) -> Result<IdParts, Error> {
        self.registry.read(
            id,
            &[IdKind::File, IdKind::Output, IdKind::Errors],
            owner,
            "file",
        )
    }
}

fn object(id: String, record: &FileRecord) -> FileObject {
    FileObject {
        id,
        object: "file".to_owned(),
        bytes: record.bytes,
        created_at: record.created_at,
        expires_at: record.expires_at,
        filename: record.filename.clone(),
        purpose: record.purpose,
        status: "processed".to_owned(),
    }
}

/// A batch's output or error file.
fn generated(id: String, bytes: u64) -> FileObject {
    FileObject {
        id,
        object: "file".to_owned(),
        bytes,
        created_at: crate::unix_time::seconds(),
        expires_at: None,
        filename: "batch_output.jsonl".to_owned(),
        purpose: FilePurpose::BatchOutput,
        status: "processed".to_owned(),
    }
}
