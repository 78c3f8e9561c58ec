//! [`ToolSchemaCache`]: converted tool `parameters`, keyed by the schema's text as the
//! client sent it.
//!
//! Agents send the same tools on every turn, and converting a JSON Schema to Gemini's
//! subset (parse, inline, rewrite, serialize) is most of the cost of translating a request
//! with tools. The conversion is a pure function of the schema text, so its result can be
//! reused: a hit copies the converted JSON and skips the rest. The cache is bounded; when
//! it is full it starts over.

use std::collections::HashMap;
use std::sync::Mutex;

use crate::raw_json::RawJson;

/// Most entries kept before the cache starts over.
pub const DEFAULT_CAPACITY: usize = 1024;

/// Converted `parameters` by schema text. `None` means "send no parameters" (an object
/// schema without properties).
///
/// ```
/// use llm_tower::gemini::translate::schema_cache::ToolSchemaCache;
/// let cache = ToolSchemaCache::new(16);
/// assert!(cache.is_empty());
/// ```
#[derive(Debug)]
pub struct ToolSchemaCache {
    entries: Mutex<HashMap<Box<str>, Option<RawJson>>>,
    capacity: usize,
}

impl ToolSchemaCache {
    /// A cache of at most `capacity` schemas.
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Mutex::new(HashMap::new()),
            capacity: capacity.max(1),
        }
    }

    /// The converted schema for `text`, converting it with `convert` on a miss. Failures
    /// are not cached.
    pub fn get_or_convert<E>(
        &self,
        text: &str,
        convert: impl FnOnce() -> Result<Option<RawJson>, E>,
    ) -> Result<Option<RawJson>, E> {
        if let Some(hit) = self.lock().get(text) {
            return Ok(hit.clone());
        }
        let converted = convert()?;
        let mut entries = self.lock();
        if entries.len() >= self.capacity {
            entries.clear();
        }
        entries.insert(text.into(), converted.clone());
        Ok(converted)
    }

    /// Number of cached schemas.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<Box<str>, Option<RawJson>>> {
        // A panic while holding the lock cannot leave the map half-updated (inserts and
        // clears are single calls), so a poisoned lock is safe to use.
        self.entries
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

impl Default for ToolSchemaCache {
    fn default() -> Self {
        Self::new(DEFAULT_CAPACITY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn raw(text: &str) -> Option<RawJson> {
        Some(RawJson::from_string(text.to_owned()).expect("valid JSON"))
    }

    #[test]
    fn a_hit_skips_the_conversion() {
        let cache = ToolSchemaCache::new(4);
        let first = cache.get_or_convert::<()>("{}", || Ok(raw("1")));
        let second = cache.get_or_convert::<()>("{}", || panic!("converted twice"));
        assert_eq!(
            first.map(|v| v.map(|v| v.get().to_owned())),
            Ok(Some("1".to_owned()))
        );
        assert_eq!(
            second.map(|v| v.map(|v| v.get().to_owned())),
            Ok(Some("1".to_owned()))
        );
    }

    #[test]
    fn failures_are_not_cached_and_the_cache_is_bounded() {
        let cache = ToolSchemaCache::new(2);
        assert_eq!(cache.get_or_convert("bad", || Err("no")), Err("no"));
        assert!(cache.is_empty());
        for text in ["a", "b", "c"] {
            cache
                .get_or_convert::<()>(text, || Ok(None))
                .expect("converts");
        }
        assert!(cache.len() <= 2);
    }
}
