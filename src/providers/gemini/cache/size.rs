//! Whether a head is big enough for Google to cache, decided locally when the answer is
//! clear, so a small head costs no failed create call.
//!
//! Google refuses a cache below the model's minimum (`total_token_count` under
//! `min_total_token_count`). A token of Gemini's tokenizer covers at least one byte of
//! text, so the head's JSON length (text plus quoting and structure, which only adds) is
//! an upper bound of its tokens: below the minimum, the head is [`Size::Small`] for sure.
//! Ordinary text runs at four to six bytes per token, so a head under
//! [`NEAR_BYTES_PER_TOKEN`] bytes a token may still be small: [`Size::Near`] asks
//! `:countTokens` first. Files named by URI (video, PDF) carry tokens their JSON does not
//! show: such a head is never judged locally.

use super::super::ModelInfo;
use super::super::model::SizeClass;
use super::super::wire::{CachedContentRequest, Part};

/// Above this many bytes per minimum token, a head is surely large enough.
pub(super) const NEAR_BYTES_PER_TOKEN: usize = 8;

/// What the local estimate says about a head.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Size {
    /// Certainly below the model's minimum: send it uncached without asking.
    Small,
    /// Maybe below: count its tokens first.
    Near,
    /// Large enough, or not judged locally: create the cache.
    Large,
}

/// The fewest tokens Google caches for `model` (its documented minimum: 4,096 for the
/// 2.5 Pro models, 1,024 for the others; a lower guess only costs a call).
pub(super) fn minimum_tokens(model: &str) -> u64 {
    let info = ModelInfo::parse(model);
    match (info.class(), info.version()) {
        (SizeClass::Pro, Some((2, 5))) => 4096,
        _ => 1024,
    }
}

/// Judges `head`, whose JSON is `json_len` bytes long, for `model`.
pub(super) fn judge(head: &CachedContentRequest, json_len: usize, model: &str) -> Size {
    let has_file = head
        .contents
        .iter()
        .chain(head.system_instruction.as_ref())
        .flat_map(|content| &content.parts)
        .any(|part: &Part| part.file_data.is_some());
    if has_file {
        return Size::Large;
    }
    let minimum = usize::try_from(minimum_tokens(model)).unwrap_or(usize::MAX);
    if json_len < minimum {
        Size::Small
    } else if json_len < minimum.saturating_mul(NEAR_BYTES_PER_TOKEN) {
        Size::Near
    } else {
        Size::Large
    }
}
