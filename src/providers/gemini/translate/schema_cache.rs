//! [`ToolSchemaCache`]: converted tool `parameters`, keyed by the schema's text as the
//! client sent it.
//!
//! Agents send the same tools on every turn, and converting a JSON Schema to Gemini's
//! subset (parse, inline, rewrite, serialize) is most of the cost of translating a request
//! with tools. The conversion is a pure function of the schema text, so its result can be
//! reused: a hit copies the converted JSON and skips the rest.
//!
//! The cache is bounded by bytes (the schema text plus its converted form): a [`moka`]
//! cache weighing each entry by its size, keeping the schemas asked for most often and
//! recently (TinyLFU admission, LRU eviction). A workload cycling through a few hundred
//! tool sets keeps its hits; a few huge schemas cannot hold memory beyond the bound, and
//! a schema weighing more than the per-entry limit ([`DEFAULT_MAX_ENTRY_BYTES`] unless
//! set, never more than the whole bound) is converted every time and never inserted, so
//! not even the cache's lazy eviction lets it hold memory.

use std::sync::{Arc, LazyLock};

use moka::sync::Cache;

use crate::raw_json::RawJson;

/// Bytes of schemas kept by default: 32 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 32 * 1024 * 1024;

/// The heaviest entry kept by default (schema text and converted form): 1 MiB.
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 1024 * 1024;

/// Per-entry bookkeeping counted beside the texts.
const ENTRY_OVERHEAD: u64 = 64;

/// Converted `parameters` by schema text. `None` means "send no parameters" (an object
/// schema without properties).
///
/// ```
/// use llm_tower::gemini::translate::ToolSchemaCache;
/// let cache = ToolSchemaCache::new(1024 * 1024);
/// assert!(cache.is_empty());
/// ```
#[derive(Clone)]
pub struct ToolSchemaCache {
    entries: Cache<Box<str>, Option<RawJson>>,
    max_entry_bytes: u64,
}

/// What an entry weighs: its schema text, its converted form and bookkeeping.
fn weight(text: &str, converted: &Option<RawJson>) -> u64 {
    let bytes = text.len() + converted.as_ref().map_or(0, |json| json.get().len());
    u64::try_from(bytes)
        .unwrap_or(u64::MAX)
        .saturating_add(ENTRY_OVERHEAD)
}

impl ToolSchemaCache {
    /// A cache of at most `max_bytes` of schema text and converted schemas, each entry at
    /// most 1 MiB (or `max_bytes`, if smaller).
    pub fn new(max_bytes: u64) -> Self {
        Self {
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES.min(max_bytes),
            entries: Cache::<Box<str>, Option<RawJson>>::builder()
                .max_capacity(max_bytes)
                .weigher(|text, converted| {
                    u32::try_from(weight(text, converted)).unwrap_or(u32::MAX)
                })
                .build(),
        }
    }

    /// Keeps no entry heavier than `bytes` (schema text and converted form); heavier
    /// schemas are converted for each request.
    ///
    /// ```
    /// use llm_tower::gemini::translate::ToolSchemaCache;
    /// let cache = ToolSchemaCache::new(32 * 1024 * 1024).max_entry_bytes(256 * 1024);
    /// # let _ = cache;
    /// ```
    pub fn max_entry_bytes(mut self, bytes: u64) -> Self {
        self.max_entry_bytes = bytes;
        self
    }

    /// The converted schema for `text`, converting it with `convert` on a miss. Failures,
    /// and entries over the per-entry limit, are not cached.
    pub fn get_or_convert<E>(
        &self,
        text: &str,
        convert: impl FnOnce() -> Result<Option<RawJson>, E>,
    ) -> Result<Option<RawJson>, E> {
        if let Some(hit) = self.entries.get(text) {
            return Ok(hit);
        }
        let converted = convert()?;
        if weight(text, &converted) <= self.max_entry_bytes {
            self.entries.insert(text.into(), converted.clone());
        }
        Ok(converted)
    }

    /// Number of cached schemas (after pending evictions are applied).
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Bytes the cached schemas weigh (after pending evictions are applied).
    pub fn weighted_bytes(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.weighted_size()
    }
}

impl ToolSchemaCache {
    /// The process's cache, which [`ParamMapLayer`](crate::gemini::ParamMapLayer)s share
    /// unless given their own: a conversion depends on the schema text alone, so a
    /// thousand deployments need one cache, not a thousand.
    pub(crate) fn shared() -> Arc<Self> {
        static SHARED: LazyLock<Arc<ToolSchemaCache>> = LazyLock::new(Arc::default);
        Arc::clone(&SHARED)
    }
}

impl Default for ToolSchemaCache {
    /// At most 32 MiB.
    fn default() -> Self {
        Self::new(DEFAULT_MAX_BYTES)
    }
}

impl std::fmt::Debug for ToolSchemaCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ToolSchemaCache")
            .field("entries", &self.entries.entry_count())
            .field("bytes", &self.entries.weighted_size())
            .finish()
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
        let cache = ToolSchemaCache::new(4096);
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
    fn failures_are_not_cached_and_the_bytes_are_bounded() {
        let cache = ToolSchemaCache::new(64 * 1024);
        assert_eq!(cache.get_or_convert("bad", || Err("no")), Err("no"));
        assert!(cache.is_empty());
        // 200 schemas of 1 KB each (about 200 KB with their conversions) in a 64 KB bound.
        for n in 0..200 {
            let text = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "x".repeat(1000));
            cache
                .get_or_convert::<()>(&text, || Ok(raw(&text)))
                .expect("converts");
        }
        assert!(
            cache.weighted_bytes() <= 64 * 1024,
            "{}",
            cache.weighted_bytes()
        );
        assert!(!cache.is_empty());
        // A schema larger than the whole bound is converted, and not kept.
        let huge = format!("\"{}\"", "y".repeat(100 * 1024));
        let converted = cache.get_or_convert::<()>(&huge, || Ok(raw(&huge)));
        assert!(converted.is_ok());
        assert!(cache.weighted_bytes() <= 64 * 1024);
    }

    #[test]
    fn distinct_large_schemas_are_converted_but_never_kept() {
        let cache = ToolSchemaCache::new(32 * 1024 * 1024).max_entry_bytes(64 * 1024);
        // Forty distinct 256 KB schemas: 20 MB in all, each over the per-entry limit.
        for n in 0..40 {
            let text = format!("{{\"n\":{n},\"pad\":\"{}\"}}", "z".repeat(256 * 1024));
            let converted = cache.get_or_convert::<()>(&text, || Ok(raw(&text)));
            assert!(converted.expect("converts").is_some());
            // Not inserted at all: nothing waits for the cache's lazy eviction.
            assert!(!cache.entries.contains_key(text.as_str()));
        }
        assert!(cache.is_empty());
        assert_eq!(cache.weighted_bytes(), 0);
        // Smaller schemas are still kept.
        cache
            .get_or_convert::<()>("{}", || Ok(raw("{}")))
            .expect("converts");
        assert_eq!(cache.len(), 1);
    }

    #[test]
    fn a_working_set_that_fits_keeps_its_hits_while_other_schemas_pass() {
        let cache = ToolSchemaCache::new(256 * 1024);
        let hot: Vec<String> = (0..50)
            .map(|n| format!("{{\"hot\":{n},\"pad\":\"{}\"}}", "h".repeat(500)))
            .collect();
        for round in 0..20 {
            for text in &hot {
                cache
                    .get_or_convert::<()>(text, || Ok(raw(text)))
                    .expect("converts");
            }
            // One-off schemas pass through between rounds.
            for n in 0..20 {
                let text = format!(
                    "{{\"cold\":\"{round}-{n}\",\"pad\":\"{}\"}}",
                    "c".repeat(500)
                );
                cache
                    .get_or_convert::<()>(&text, || Ok(raw(&text)))
                    .expect("converts");
            }
        }
        cache.entries.run_pending_tasks();
        let misses = hot
            .iter()
            .filter(|text| cache.entries.get(text.as_str()).is_none())
            .count();
        assert!(misses <= 5, "{misses} of 50 hot schemas were evicted");
    }
}
