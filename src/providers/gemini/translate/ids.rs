//! Where reply ids and timestamps come from. The translators take an [`IdSource`] so that
//! they stay deterministic under test.

use std::sync::atomic::{AtomicU64, Ordering};

/// Supplies tool-call ids, completion ids and the `created` timestamp of replies.
pub trait IdSource: Send + Sync {
    /// A new tool-call id, `call_…`.
    fn call_id(&self) -> String;
    /// A new completion id, `chatcmpl-…` (used when Gemini sends no `responseId`).
    fn completion_id(&self) -> String;
    /// Unix seconds for `created`.
    fn created(&self) -> u64;
}

/// Random ids and the system clock: the default.
///
/// ```
/// use llm_tower::gemini::translate::{IdSource, RandomIds};
/// let id = RandomIds.call_id();
/// assert!(id.starts_with("call_") && id.len() == 5 + 24);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct RandomIds;

impl IdSource for RandomIds {
    fn call_id(&self) -> String {
        format!("call_{:024x}", fastrand::u128(..) >> 32)
    }

    fn completion_id(&self) -> String {
        format!("chatcmpl-{:024x}", fastrand::u128(..) >> 32)
    }

    fn created(&self) -> u64 {
        crate::unix_time::seconds()
    }
}

/// Counting ids and a fixed clock, for tests and examples with exact expected output.
///
/// ```
/// use llm_tower::gemini::translate::{IdSource, SequentialIds};
/// let ids = SequentialIds::new(1_700_000_000);
/// assert_eq!(ids.call_id(), "call_1");
/// assert_eq!(ids.call_id(), "call_2");
/// assert_eq!(ids.created(), 1_700_000_000);
/// ```
#[derive(Debug, Default)]
pub struct SequentialIds {
    next: AtomicU64,
    created: u64,
}

impl SequentialIds {
    /// Starts counting at 1, with `created` fixed.
    pub fn new(created: u64) -> Self {
        Self {
            next: AtomicU64::new(1),
            created,
        }
    }

    fn next(&self) -> u64 {
        self.next.fetch_add(1, Ordering::Relaxed)
    }
}

impl IdSource for SequentialIds {
    fn call_id(&self) -> String {
        format!("call_{}", self.next())
    }

    fn completion_id(&self) -> String {
        format!("chatcmpl-{}", self.next())
    }

    fn created(&self) -> u64 {
        self.created
    }
}
