//! OpenAI's Files API objects (<https://platform.openai.com/docs/api-reference/files>): a
//! file, a page of files, a deletion.

use serde::{Deserialize, Serialize};

/// What a file is for: `batch` (a batch's requests, or its results: `batch_output`) or
/// `user_data`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FilePurpose {
    /// A batch's input, JSONL of requests.
    Batch,
    /// A batch's output or error file.
    BatchOutput,
    /// Anything else a model may read.
    UserData,
}

impl FilePurpose {
    /// Reads the `purpose` form field; `None` for a purpose not served.
    ///
    /// ```
    /// use llm_tower::openai::files::FilePurpose;
    /// assert_eq!(FilePurpose::parse("batch"), Some(FilePurpose::Batch));
    /// assert_eq!(FilePurpose::parse("fine-tune"), None);
    /// ```
    pub fn parse(text: &str) -> Option<Self> {
        match text {
            "batch" => Some(Self::Batch),
            "user_data" => Some(Self::UserData),
            _ => None,
        }
    }
}

/// A file (`object: "file"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileObject {
    /// `file-…`.
    pub id: String,
    /// Always `file`.
    pub object: String,
    /// Its size in bytes (as the client sent it).
    pub bytes: u64,
    /// Unix seconds.
    pub created_at: u64,
    /// Unix seconds when the provider deletes it, if it does.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub expires_at: Option<u64>,
    /// Its name.
    pub filename: String,
    /// What it is for.
    pub purpose: FilePurpose,
    /// `processed` (OpenAI's deprecated status field, kept for older SDKs).
    pub status: String,
}

/// A page of files (`object: "list"`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileList {
    /// Always `list`.
    pub object: String,
    /// The files.
    pub data: Vec<FileObject>,
    /// The first one's id (OpenAI's cursor fields).
    pub first_id: Option<String>,
    /// The last one's id: the `after` of the next page.
    pub last_id: Option<String>,
    /// Whether more are left.
    pub has_more: bool,
}

/// The answer to a deletion.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct FileDeleted {
    /// The file's id.
    pub id: String,
    /// Always `file`.
    pub object: String,
    /// Whether it was deleted.
    pub deleted: bool,
}
