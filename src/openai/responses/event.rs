//! [`ResponseEvent`]: the typed events of a streamed response.

use serde::{Deserialize, Serialize};

use super::response::{OutputContent, OutputItem, OutputLogprob, Response, UrlCitation};
use super::summary::SummaryText;

/// One streamed event; `sequence_number` counts from 0 in each stream.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "type")]
#[non_exhaustive]
pub enum ResponseEvent {
    /// The response exists (`in_progress`, no output yet).
    #[serde(rename = "response.created")]
    Created {
        /// The response so far.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// Generation is under way.
    #[serde(rename = "response.in_progress")]
    InProgress {
        /// The response so far.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The whole response, finished.
    #[serde(rename = "response.completed")]
    Completed {
        /// The response.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The response stopped early (`incomplete_details` says why).
    #[serde(rename = "response.incomplete")]
    Incomplete {
        /// The response.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The response failed after it started (`error` says why).
    #[serde(rename = "response.failed")]
    Failed {
        /// The response.
        response: Box<Response>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// An output item starts.
    #[serde(rename = "response.output_item.added")]
    OutputItemAdded {
        /// Its position in `output`.
        output_index: u32,
        /// The item, empty so far.
        item: OutputItem,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// An output item is finished.
    #[serde(rename = "response.output_item.done")]
    OutputItemDone {
        /// Its position in `output`.
        output_index: u32,
        /// The item.
        item: OutputItem,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A content part of a message starts.
    #[serde(rename = "response.content_part.added")]
    ContentPartAdded {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The part, empty so far.
        part: OutputContent,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A content part of a message is finished.
    #[serde(rename = "response.content_part.done")]
    ContentPartDone {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The part.
        part: OutputContent,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// More text.
    #[serde(rename = "response.output_text.delta")]
    OutputTextDelta {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The new text.
        delta: String,
        /// Log probabilities of the new tokens.
        logprobs: Vec<OutputLogprob>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The text part is finished.
    #[serde(rename = "response.output_text.done")]
    OutputTextDone {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The whole text.
        text: String,
        /// Every log probability of the part.
        logprobs: Vec<OutputLogprob>,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A citation of the text.
    #[serde(rename = "response.output_text.annotation.added")]
    OutputTextAnnotationAdded {
        /// The message.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `content`.
        content_index: u32,
        /// The annotation's position in `annotations`.
        annotation_index: u32,
        /// The citation.
        annotation: UrlCitation,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// More argument text of a function call.
    #[serde(rename = "response.function_call_arguments.delta")]
    FunctionCallArgumentsDelta {
        /// The call item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The new argument text.
        delta: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The arguments are finished.
    #[serde(rename = "response.function_call_arguments.done")]
    FunctionCallArgumentsDone {
        /// The call item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The function name.
        name: String,
        /// The whole argument text.
        arguments: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A summary part of a reasoning item starts.
    #[serde(rename = "response.reasoning_summary_part.added")]
    ReasoningSummaryPartAdded {
        /// The reasoning item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `summary`.
        summary_index: u32,
        /// The part, empty so far.
        part: SummaryText,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// A summary part is finished.
    #[serde(rename = "response.reasoning_summary_part.done")]
    ReasoningSummaryPartDone {
        /// The reasoning item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `summary`.
        summary_index: u32,
        /// The part.
        part: SummaryText,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// More summary text.
    #[serde(rename = "response.reasoning_summary_text.delta")]
    ReasoningSummaryTextDelta {
        /// The reasoning item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `summary`.
        summary_index: u32,
        /// The new text.
        delta: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The summary text is finished.
    #[serde(rename = "response.reasoning_summary_text.done")]
    ReasoningSummaryTextDone {
        /// The reasoning item.
        item_id: String,
        /// Its position in `output`.
        output_index: u32,
        /// The part's position in `summary`.
        summary_index: u32,
        /// The whole text.
        text: String,
        /// Position in the stream.
        sequence_number: u64,
    },
    /// The stream failed; `response.failed` follows.
    #[serde(rename = "error")]
    Error {
        /// Machine-readable code.
        code: String,
        /// What went wrong.
        message: String,
        /// The parameter at fault.
        param: Option<String>,
        /// Position in the stream.
        sequence_number: u64,
    },
}
