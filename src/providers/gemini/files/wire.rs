//! Gemini's Files API and Batch Mode shapes, as Google's references give them
//! (<https://ai.google.dev/api/files>, <https://ai.google.dev/api/batch-mode>): the `File`
//! resource, a page of files, the long-running `Operation` a batch is, and the lines of a
//! batch's input and output files.

use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::raw_json::RawJson;

/// A file held by the Files API (`files/{id}`); it expires (`expirationTime`, 48 hours).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct File {
    /// `files/{id}`.
    pub name: String,
    /// The name given at upload.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub display_name: Option<String>,
    /// The file's media type.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub mime_type: Option<String>,
    /// Its size; an int64, sent as a string.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub size_bytes: Option<String>,
    /// When it was made (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub create_time: Option<String>,
    /// When Google deletes it (RFC 3339).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expiration_time: Option<String>,
    /// The URI a `fileData` part names.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub uri: Option<String>,
    /// `PROCESSING`, `ACTIVE` or `FAILED`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    /// `UPLOADED` or `GENERATED` (a batch's output).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

impl File {
    /// The size in bytes, when Google gave it.
    pub fn size(&self) -> Option<u64> {
        self.size_bytes.as_deref()?.parse().ok()
    }
}

/// The reply of a finished upload: `{"file": File}`.
#[derive(Debug, Clone, Deserialize)]
pub(crate) struct UploadedFile {
    pub(crate) file: File,
}

/// The body of `models/{model}:batchGenerateContent` (and `:asyncBatchEmbedContent`).
#[derive(Debug, Clone, Serialize)]
pub(crate) struct CreateBatch<'a> {
    pub(crate) batch: NewBatch<'a>,
}

/// The batch of a [`CreateBatch`], with its input in a file.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct NewBatch<'a> {
    pub(crate) display_name: &'a str,
    pub(crate) input_config: InputConfig<'a>,
}

/// Where a batch's requests are: a Files API file of JSONL lines.
#[derive(Debug, Clone, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct InputConfig<'a> {
    pub(crate) file_name: &'a str,
}

/// A batch as the long-running operation Google answers with (`batches/{id}`): its
/// `metadata` is the batch, its `response` (once done) names the output.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct Operation {
    /// `batches/{id}`.
    pub name: String,
    /// The batch.
    pub metadata: BatchMetadata,
    /// Whether the batch reached an end state.
    pub done: bool,
    /// The output, on success.
    pub response: Option<BatchOutput>,
    /// Why the operation failed, when it did.
    pub error: Option<Status>,
}

/// A batch (`GenerateContentBatch`, or `EmbedContentBatch` for embeddings).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchMetadata {
    /// `batches/{id}`.
    pub name: Option<String>,
    /// `models/{model}`.
    pub model: Option<String>,
    /// `BATCH_STATE_PENDING`, `_RUNNING`, `_SUCCEEDED`, `_FAILED`, `_CANCELLED`, `_EXPIRED`.
    pub state: Option<String>,
    /// Request counts.
    pub batch_stats: BatchStats,
    /// When it was made (RFC 3339).
    pub create_time: Option<String>,
    /// When it ended (RFC 3339).
    pub end_time: Option<String>,
    /// The output, as the batch resource carries it.
    pub output: Option<BatchOutput>,
}

/// How many requests a batch has and how they went; int64s sent as strings.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchStats {
    /// Every request.
    pub request_count: Option<Count>,
    /// Those that succeeded.
    pub successful_request_count: Option<Count>,
    /// Those that failed.
    pub failed_request_count: Option<Count>,
    /// Those not run yet.
    pub pending_request_count: Option<Count>,
}

/// An int64 as Google sends it: a string (a number is taken too).
#[derive(Debug, Clone, Copy, Default, PartialEq, Deserialize)]
#[serde(try_from = "Value")]
pub struct Count(pub u64);

impl TryFrom<Value> for Count {
    type Error = String;

    fn try_from(value: Value) -> Result<Self, String> {
        match &value {
            Value::String(text) => text.parse().map(Count).map_err(|error| error.to_string()),
            Value::Number(number) => number
                .as_u64()
                .map(Count)
                .ok_or_else(|| format!("not a count: {number}")),
            other => Err(format!("not a count: {other}")),
        }
    }
}

/// A batch's output: the `files/{id}` of its results (`responsesFile`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
pub struct BatchOutput {
    /// The JSONL file of results.
    pub responses_file: Option<String>,
}

/// `google.rpc.Status`: an error of an operation or of one result line.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct Status {
    /// The gRPC code.
    pub code: i32,
    /// Google's message.
    pub message: String,
}

/// One line of a batch's input file: `{"key", "request"}`.
#[derive(Debug, Serialize)]
pub(crate) struct InputLine<'a, T> {
    pub(crate) key: &'a str,
    pub(crate) request: &'a T,
}

/// One line of a batch's results: the request's key and its response or error.
#[derive(Debug, Deserialize)]
pub(crate) struct ResultLine {
    #[serde(default)]
    pub(crate) key: Option<String>,
    #[serde(default)]
    pub(crate) response: Option<RawJson>,
    #[serde(default, alias = "status")]
    pub(crate) error: Option<Status>,
}
