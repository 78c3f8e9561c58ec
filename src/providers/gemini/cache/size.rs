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

/// Judges `head`, whose JSON is `json_len` bytes long, for a model that caches `minimum`
/// tokens at least (`None`: a model without caching, whose heads are never offered).
pub(super) fn judge(head: &CachedContentRequest, json_len: usize, minimum: Option<u64>) -> Size {
    let Some(minimum) = minimum else {
        return Size::Small;
    };
    let has_file = head
        .contents
        .iter()
        .chain(head.system_instruction.as_ref())
        .flat_map(|content| &content.parts)
        .any(|part: &Part| part.file_data.is_some());
    if has_file {
        return Size::Large;
    }
    let minimum = usize::try_from(minimum).unwrap_or(usize::MAX);
    if json_len < minimum {
        Size::Small
    } else if json_len < minimum.saturating_mul(NEAR_BYTES_PER_TOKEN) {
        Size::Near
    } else {
        Size::Large
    }
}
