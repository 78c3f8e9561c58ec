//! OpenAI's Batch API objects (<https://platform.openai.com/docs/api-reference/batch>): the
//! create request, the batch, its request counts, and the lines of its input and output
//! files.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::raw_json::RawJson;

/// The endpoints a batch may run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum BatchEndpoint {
    /// Chat completions.
    #[serde(rename = "/v1/chat/completions")]
    ChatCompletions,
    /// Embeddings.
    #[serde(rename = "/v1/embeddings")]
    Embeddings,
}

impl BatchEndpoint {
    /// Reads an endpoint path (also without `/v1`); `None` for one not served.
    ///
    /// ```
    /// use llm_tower::openai::batches::BatchEndpoint;
    /// assert_eq!(BatchEndpoint::parse("/v1/chat/completions"), Some(BatchEndpoint::ChatCompletions));
    /// assert_eq!(BatchEndpoint::parse("/v1/responses"), None);
    /// ```
    pub fn parse(path: &str) -> Option<Self> {
        match path {
            "/v1/chat/completions" | "/chat/completions" => Some(Self::ChatCompletions),
            "/v1/embeddings" | "/embeddings" => Some(Self::Embeddings),
            _ => None,
        }
    }

    /// The path, as OpenAI writes it.
    pub fn path(self) -> &'static str {
        match self {
            Self::ChatCompletions => "/v1/chat/completions",
            Self::Embeddings => "/v1/embeddings",
        }
    }
}

/// The body of `POST /v1/batches`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
pub struct CreateBatchRequest {
    /// The `batch` file of requests.
    pub input_file_id: String,
    /// The endpoint every line calls.
    pub endpoint: String,
    /// Only `24h`.
    #[serde(default)]
    pub completion_window: Option<String>,
    /// Up to 16 pairs kept with the batch.
    #[serde(default)]
    pub metadata: Option<BTreeMap<String, String>>,
}

/// How many requests a batch has and how they went.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct RequestCounts {
    /// Every request.
    pub total: u64,
    /// Those that finished.
    pub completed: u64,
    /// Those that failed.
    pub failed: u64,
}

/// The status of a batch.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum BatchStatus {
    /// The input is being checked.
    Validating,
    /// The input was refused.
    Failed,
    /// Running.
    InProgress,
    /// Results are being written.
    Finalizing,
    /// Done; results ready.
    Completed,
    /// Not done within its window.
    Expired,
    /// Being cancelled.
    Cancelling,
    /// Cancelled.
    Cancelled,
}

/// A batch (`object: "batch"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Batch {
    /// `batch_…`.
    pub id: String,
    /// Always `batch`.
    pub object: String,
    /// The endpoint its lines call.
    pub endpoint: String,
    /// Why the batch as a whole failed, when it did.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub errors: Option<BatchErrors>,
    /// The file of requests.
    pub input_file_id: String,
    /// `24h`.
    pub completion_window: String,
    /// Where it is.
    pub status: BatchStatus,
    /// The results, once done.
    pub output_file_id: Option<String>,
    /// The lines that failed, when some did.
    pub error_file_id: Option<String>,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds, when it ended.
    pub completed_at: Option<u64>,
    /// Request counts.
    pub request_counts: RequestCounts,
    /// The pairs given at creation.
    pub metadata: Option<BTreeMap<String, String>>,
}

/// Errors of a whole batch: `{"object": "list", "data": [...]}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchErrors {
    /// Always `list`.
    pub object: String,
    /// The errors.
    pub data: Vec<LineError>,
}

/// A page of batches.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct BatchList {
    /// Always `list`.
    pub object: String,
    /// The batches.
    pub data: Vec<Batch>,
    /// The first one's id (OpenAI's cursor fields).
    pub first_id: Option<String>,
    /// The last one's id: the `after` of the next page.
    pub last_id: Option<String>,
    /// Whether more are left.
    pub has_more: bool,
}

/// One line of a batch's input file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InputLine {
    /// The caller's id of the request, unique in the file.
    pub custom_id: String,
    /// `POST`.
    pub method: String,
    /// The endpoint (the batch's).
    pub url: String,
    /// The request, as the endpoint takes it.
    pub body: RawJson,
}

/// One line of a batch's output or error file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct OutputLine {
    /// `batch_req_…`.
    pub id: String,
    /// The input line's `custom_id`.
    pub custom_id: String,
    /// The reply, when the request was made.
    pub response: Option<LineResponse>,
    /// Why the request was not made or failed.
    pub error: Option<LineError>,
}

/// The reply of one line: the status and body a live call would have answered.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct LineResponse {
    /// The HTTP status.
    pub status_code: u16,
    /// An id of the request.
    pub request_id: String,
    /// The body: a `chat.completion`, an embeddings list, or an error envelope.
    pub body: serde_json::Value,
}

/// An error of one line (or of the batch).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct LineError {
    /// A short code (`invalid_request`, an OpenAI error type, Google's status).
    pub code: String,
    /// What went wrong.
    pub message: String,
    /// The input line (1-based), for errors of the input file.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub line: Option<u64>,
}
