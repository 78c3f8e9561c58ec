//! [`SummaryText`]: a reasoning item's thought summary, in the request (a reasoning item
//! sent back) and in the response alike.

use serde::{Deserialize, Serialize};

/// `{"type":"summary_text","text":…}`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct SummaryText {
    /// `"summary_text"`.
    #[serde(rename = "type")]
    pub kind: String,
    /// The summary.
    pub text: String,
}

impl SummaryText {
    /// A summary part.
    pub fn new(text: impl Into<String>) -> Self {
        Self {
            kind: "summary_text".to_owned(),
            text: text.into(),
        }
    }
}
