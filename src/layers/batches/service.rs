//! [`Batches`]: OpenAI's `/v1/batches` over any [`FileProvider`]: a batch is made from a
//! `batch` file (already translated at upload), its status is the provider's state in
//! OpenAI's terms, and its request counts add the lines refused at upload to the
//! provider's failures.

use std::collections::BTreeMap;
use std::sync::Arc;

use serde::{Deserialize, Serialize};

use super::input::Refused;
use crate::error::{Error, ErrorKind};
use crate::layers::files::ids::{IdKind, IdParts};
use crate::layers::files::{
    BatchInput, FileRecord, FileRegistry, Page, ProviderBatch, ProviderState,
};
use crate::openai::batches::{
    Batch, BatchEndpoint, BatchErrors, BatchList, BatchStatus, CreateBatchRequest, LineError,
    RequestCounts,
};
use crate::openai::files::FilePurpose;

/// The most pairs of `metadata` (OpenAI's limit).
const MAX_METADATA: usize = 16;

/// What a batch's record keeps.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub(crate) struct BatchRecord {
    pub(crate) input_file_id: String,
    pub(crate) endpoint: BatchEndpoint,
    pub(crate) created_at: u64,
    pub(crate) metadata: Option<BTreeMap<String, String>>,
    /// Lines refused when the input was uploaded: they go to the error file.
    pub(crate) refused: Vec<Refused>,
    /// Input tokens the provider's results will not count, by `custom_id`.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub(crate) input_tokens: BTreeMap<String, u64>,
    /// Cancelling was asked for.
    #[serde(default)]
    pub(crate) cancelling: bool,
}

/// The batches service.
///
/// ```
/// use std::sync::Arc;
/// use llm_tower::layers::batches::Batches;
/// use llm_tower::layers::files::{FileRegistry, ids::IdSigner};
/// use llm_tower::store::MemoryResponseStore;
///
/// let registry = FileRegistry::new(IdSigner::new(b"k"), Arc::new(MemoryResponseStore::default()));
/// let batches = Batches::new(Arc::new(registry));
/// # let _ = batches;
/// ```
#[derive(Clone, Debug)]
pub struct Batches {
    registry: Arc<FileRegistry>,
}

impl Batches {
    /// Batches of `registry`'s providers.
    pub fn new(registry: Arc<FileRegistry>) -> Self {
        Self { registry }
    }

    /// Starts a batch over `owner`'s input file.
    pub async fn create(&self, request: CreateBatchRequest, owner: &str) -> Result<Batch, Error> {
        let endpoint = BatchEndpoint::parse(&request.endpoint).ok_or_else(|| {
            Error::new(
                ErrorKind::InvalidRequest,
                format!(
                    "endpoint `{}` is not served; batches run /v1/chat/completions and /v1/embeddings",
                    request.endpoint
                ),
            )
        })?;
        if let Some(window) = request
            .completion_window
            .as_deref()
            .filter(|window| *window != "24h")
        {
            return Err(Error::invalid_request(format!(
                "completion_window must be `24h`, not `{window}`"
            )));
        }
        if request
            .metadata
            .as_ref()
            .is_some_and(|pairs| pairs.len() > MAX_METADATA)
        {
            return Err(Error::invalid_request(format!(
                "metadata has more than {MAX_METADATA} pairs"
            )));
        }
        let input = self
            .registry
            .read(&request.input_file_id, &[IdKind::File], owner, "file")?;
        let record = self
            .registry
            .record::<FileRecord>(&input.deployment, &input.upstream)
            .await
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::NotFound,
                    format!("No file found with id '{}'", request.input_file_id),
                )
            })?;
        let lines: BatchInput = match (record.purpose, record.batch) {
            (FilePurpose::Batch, Some(lines)) => lines,
            _ => {
                return Err(Error::invalid_request(
                    "input_file_id names a file uploaded with purpose `user_data`; a batch reads a `batch` file",
                ));
            }
        };
        if lines.endpoint != endpoint {
            return Err(Error::invalid_request(format!(
                "the input file's lines call `{}`, not `{}`",
                lines.endpoint.path(),
                endpoint.path()
            )));
        }
        if lines.translated == 0 {
            let first = lines.refused.first().map_or(String::new(), |refused| {
                format!(
                    ": line {} {}",
                    refused.error.line.unwrap_or_default(),
                    refused.error.message
                )
            });
            return Err(Error::invalid_request(format!(
                "no line of the input file can be sent{first}"
            )));
        }
        let provider = self.registry.provider_of(&input.deployment)?;
        let started = provider
            .create_batch(endpoint, &request.input_file_id, &input.upstream)
            .await?;
        let record = BatchRecord {
            input_file_id: request.input_file_id,
            endpoint,
            created_at: crate::unix_time::seconds(),
            metadata: request.metadata,
            refused: lines.refused,
            input_tokens: lines.input_tokens,
            cancelling: false,
        };
        self.registry
            .keep(&input.deployment, &started.name, &record)
            .await;
        let parts = IdParts {
            kind: IdKind::Batch,
            deployment: input.deployment,
            upstream: started.name.clone(),
            owner: owner.to_owned(),
        };
        let batch = self.describe(&parts, &record, &started);
        self.registry.list("batches", owner, &batch.id, true).await;
        Ok(batch)
    }

    /// The batch `id` of `owner`, as the provider has it now.
    pub async fn retrieve(&self, id: &str, owner: &str) -> Result<Batch, Error> {
        let parts = self.read(id, owner)?;
        let record = self.record(&parts).await;
        let upstream = self
            .registry
            .provider_of(&parts.deployment)?
            .batch(&parts.upstream)
            .await?;
        Ok(self.describe(&parts, &record, &upstream))
    }

    /// Asks the provider to cancel the batch `id`.
    pub async fn cancel(&self, id: &str, owner: &str) -> Result<Batch, Error> {
        let parts = self.read(id, owner)?;
        let mut record = self.record(&parts).await;
        let provider = self.registry.provider_of(&parts.deployment)?;
        provider.cancel(&parts.upstream).await?;
        record.cancelling = true;
        self.registry
            .keep(&parts.deployment, &parts.upstream, &record)
            .await;
        let upstream = provider.batch(&parts.upstream).await?;
        Ok(self.describe(&parts, &record, &upstream))
    }

    /// `owner`'s batches, newest first: the `page` of them.
    pub async fn list(&self, owner: &str, page: &Page) -> Result<BatchList, Error> {
        let ids = self.registry.listed("batches", owner).await;
        let mut rest = page.rest(&ids).iter();
        let mut data = Vec::new();
        while data.len() < page.limit
            && let Some(id) = rest.next()
        {
            match self.retrieve(id, owner).await {
                Ok(batch) => data.push(batch),
                // A batch the provider no longer has leaves the list.
                Err(error) if error.kind() == ErrorKind::NotFound => {}
                Err(error) => return Err(error),
            }
        }
        Ok(BatchList {
            object: "list".to_owned(),
            first_id: data.first().map(|batch| batch.id.clone()),
            last_id: data.last().map(|batch| batch.id.clone()),
            data,
            has_more: rest.next().is_some(),
        })
    }

    fn read(&self, id: &str, owner: &str) -> Result<IdParts, Error> {
        self.registry.read(id, &[IdKind::Batch], owner, "batch")
    }

    /// The record, or what can be said without it (a store that lost it).
    async fn record(&self, parts: &IdParts) -> BatchRecord {
        self.registry
            .record(&parts.deployment, &parts.upstream)
            .await
            .unwrap_or_else(|| BatchRecord {
                input_file_id: String::new(),
                endpoint: BatchEndpoint::ChatCompletions,
                created_at: 0,
                metadata: None,
                refused: Vec::new(),
                input_tokens: BTreeMap::new(),
                cancelling: false,
            })
    }

    fn describe(&self, parts: &IdParts, record: &BatchRecord, upstream: &ProviderBatch) -> Batch {
        let sign = |kind| {
            self.registry.sign(&IdParts {
                kind,
                ..parts.clone()
            })
        };
        let status = status(upstream.state, record.cancelling);
        let ended = !matches!(
            upstream.state,
            ProviderState::Pending | ProviderState::Running
        );
        let refused = record.refused.len() as u64;
        let counts = RequestCounts {
            total: upstream.counts.total + refused,
            completed: upstream.counts.completed,
            failed: upstream.counts.failed + refused,
        };
        let errors = upstream.error.as_ref().map(|message| BatchErrors {
            object: "list".to_owned(),
            data: vec![LineError {
                code: match upstream.state {
                    ProviderState::Expired => "expired",
                    _ => "batch_failed",
                }
                .to_owned(),
                message: message.clone(),
                line: None,
            }],
        });
        Batch {
            id: sign(IdKind::Batch),
            object: "batch".to_owned(),
            endpoint: record.endpoint.path().to_owned(),
            errors,
            input_file_id: record.input_file_id.clone(),
            completion_window: "24h".to_owned(),
            status,
            output_file_id: upstream.results.as_ref().map(|_| sign(IdKind::Output)),
            error_file_id: (refused > 0
                || (ended && counts.failed > 0)
                || upstream.error.is_some())
            .then(|| sign(IdKind::Errors)),
            created_at: record.created_at,
            completed_at: upstream.ended_at,
            request_counts: counts,
            metadata: record.metadata.clone(),
        }
    }
}

/// OpenAI's status for a provider's state.
fn status(state: ProviderState, cancelling: bool) -> BatchStatus {
    match state {
        ProviderState::Pending | ProviderState::Running if cancelling => BatchStatus::Cancelling,
        ProviderState::Pending => BatchStatus::Validating,
        ProviderState::Running => BatchStatus::InProgress,
        ProviderState::Succeeded => BatchStatus::Completed,
        ProviderState::Failed => BatchStatus::Failed,
        ProviderState::Cancelled => BatchStatus::Cancelled,
        ProviderState::Expired => BatchStatus::Expired,
    }
}
