//! [`FileProvider`]: what a provider implements to serve OpenAI's files and batches. The
//! services above it ([`Files`](super::Files), [`Batches`](crate::layers::batches::Batches))
//! keep ids, owners, JSONL checks and status mapping; a provider only moves bytes and
//! translates one request or one result at a time.

use std::future::Future;
use std::pin::Pin;

use bytes::Bytes;

use crate::error::Error;
use crate::openai::batches::{BatchEndpoint, LineError, RequestCounts};
use crate::openai::files::FilePurpose;
use crate::raw_json::RawJson;

/// The future of a [`FileProvider`] call.
pub type ProviderFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, Error>> + Send + 'a>>;

/// A file as the provider holds it.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct ProviderFile {
    /// The provider's name of it (`files/…`).
    pub name: String,
    /// Unix seconds when the provider deletes it, if it does.
    pub expires_at: Option<u64>,
}

/// Where a provider's batch is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ProviderState {
    /// Queued.
    Pending,
    /// Running.
    Running,
    /// Done; results ready.
    Succeeded,
    /// Failed as a whole.
    Failed,
    /// Cancelled.
    Cancelled,
    /// Not done in time.
    Expired,
}

/// A provider's batch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProviderBatch {
    /// The provider's name of it (`batches/…`).
    pub name: String,
    /// Where it is.
    pub state: ProviderState,
    /// Its request counts, as the provider reports them.
    pub counts: RequestCounts,
    /// Unix seconds, when it ended.
    pub ended_at: Option<u64>,
    /// The provider's file of results, once there is one.
    pub results: Option<String>,
    /// Why it failed as a whole, when it did.
    pub error: Option<String>,
}

/// The outcome of one request of a batch, in OpenAI's terms.
#[derive(Debug, Clone, PartialEq)]
pub struct LineResult {
    /// The request's `custom_id`.
    pub custom_id: String,
    /// The body a live call would have answered (a `chat.completion`, an embeddings list),
    /// or why the request failed.
    pub outcome: Result<serde_json::Value, LineError>,
}

/// One request of a batch file as the provider's batch line.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchLine {
    /// The line, without its newline.
    pub line: String,
    /// The request's input tokens, when the provider's results will not say them (an
    /// estimate): the output line reports them, and their
    /// [`input_cost`](FileProvider::input_cost).
    pub input_tokens: Option<u64>,
}

/// A provider that holds files and runs batches.
pub trait FileProvider: Send + Sync + 'static {
    /// Translates one request of a batch file (`body`, the OpenAI request for `endpoint`)
    /// into the provider's batch line, with the live call's translation; an `Err` is
    /// that line's error, reported in the batch's error file.
    fn batch_line(
        &self,
        endpoint: BatchEndpoint,
        custom_id: &str,
        body: &RawJson,
    ) -> Result<BatchLine, Error>;

    /// What `tokens` input tokens of a batch cost (US dollars), if the provider knows its
    /// price: the `usage.cost` of an output line whose [`BatchLine::input_tokens`] were
    /// given.
    fn input_cost(&self, tokens: u64) -> Option<f64> {
        let _ = tokens;
        None
    }

    /// Uploads a file for `purpose` (a `batch` file: the translated
    /// [`batch_line`](Self::batch_line)s).
    fn upload<'a>(
        &'a self,
        filename: &'a str,
        mime: &'a str,
        purpose: FilePurpose,
        bytes: Bytes,
    ) -> ProviderFuture<'a, ProviderFile>;

    /// The file `name`, if the provider still has it.
    fn file<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ProviderFile>;

    /// Deletes the file `name`.
    fn delete<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ()>;

    /// Starts a batch of `endpoint` over the provider's file `input` (of
    /// [`batch_line`](Self::batch_line)s).
    fn create_batch<'a>(
        &'a self,
        endpoint: BatchEndpoint,
        display_name: &'a str,
        input: &'a str,
    ) -> ProviderFuture<'a, ProviderBatch>;

    /// The batch `name`.
    fn batch<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ProviderBatch>;

    /// Asks the provider to cancel the batch `name`.
    fn cancel<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ()>;

    /// The results of a batch of `endpoint`, from the provider's file `results`, each
    /// translated back as a live call's reply would be (with its cost at the batch rate).
    fn results<'a>(
        &'a self,
        endpoint: BatchEndpoint,
        results: &'a str,
    ) -> ProviderFuture<'a, Vec<LineResult>>;
}
