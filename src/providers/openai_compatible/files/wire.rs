//! The shapes an OpenAI-compatible server's Files and Batch API send and take, as far as
//! llm-tower reads them (<https://platform.openai.com/docs/api-reference/batch>): every
//! field not needed is ignored, every optional one may be missing.

use serde::{Deserialize, Serialize};

use crate::openai::batches::RequestCounts;
use crate::raw_json::RawJson;

/// A file object.
#[derive(Debug, Clone, Deserialize)]
pub struct UpstreamFile {
    /// `file-…`.
    pub id: String,
    /// Unix seconds when the server deletes it, if it does.
    #[serde(default)]
    pub expires_at: Option<u64>,
}

/// The body of `POST /batches`.
#[derive(Debug, Serialize)]
pub struct NewBatch<'a> {
    /// The file of request lines.
    pub input_file_id: &'a str,
    /// `/v1/chat/completions` or `/v1/embeddings`.
    pub endpoint: &'a str,
    /// Always `24h`.
    pub completion_window: &'a str,
}

/// A batch object.
#[derive(Debug, Clone, Deserialize)]
pub struct UpstreamBatch {
    /// `batch_…`.
    pub id: String,
    /// OpenAI's status name (`validating`, `in_progress`, `finalizing`, `completed`, …).
    pub status: String,
    /// The results of the lines that succeeded.
    #[serde(default)]
    pub output_file_id: Option<String>,
    /// The lines that failed.
    #[serde(default)]
    pub error_file_id: Option<String>,
    /// Its request counts.
    #[serde(default)]
    pub request_counts: Option<RequestCounts>,
    /// Unix seconds, for each way it can end.
    #[serde(default)]
    pub completed_at: Option<u64>,
    /// See `completed_at`.
    #[serde(default)]
    pub failed_at: Option<u64>,
    /// See `completed_at`.
    #[serde(default)]
    pub expired_at: Option<u64>,
    /// See `completed_at`.
    #[serde(default)]
    pub cancelled_at: Option<u64>,
    /// Why it failed as a whole.
    #[serde(default)]
    pub errors: Option<UpstreamErrors>,
}

/// A batch's `errors`.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpstreamErrors {
    /// The errors.
    #[serde(default)]
    pub data: Vec<UpstreamError>,
}

/// One error of a batch or of a result line.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct UpstreamError {
    /// Its code.
    #[serde(default)]
    pub code: Option<String>,
    /// What happened.
    #[serde(default)]
    pub message: Option<String>,
    /// The input line it is about.
    #[serde(default)]
    pub line: Option<u64>,
}

/// A line of a batch's output or error file.
#[derive(Debug, Deserialize)]
pub struct ResultLine {
    /// The request's `custom_id`.
    #[serde(default)]
    pub custom_id: Option<String>,
    /// The reply, when the request was sent.
    #[serde(default)]
    pub response: Option<LineResponse>,
    /// Why it was not, when it was not.
    #[serde(default)]
    pub error: Option<UpstreamError>,
}

/// The reply of a result line.
#[derive(Debug, Deserialize)]
pub struct LineResponse {
    /// Its HTTP status.
    pub status_code: u16,
    /// Its body: a `chat.completion`, an embeddings list, or an error envelope.
    pub body: RawJson,
}

/// A request line of the batch's input file.
#[derive(Debug, Serialize)]
pub struct InputLine<'a> {
    /// The client's `custom_id`.
    pub custom_id: &'a str,
    /// Always `POST`.
    pub method: &'a str,
    /// The endpoint.
    pub url: &'a str,
    /// The upstream request body.
    pub body: &'a serde_json::value::RawValue,
}
