//! [`ValidatorCache`]: compiled JSON Schema validators, one per distinct schema.

use std::hash::Hasher;
use std::sync::{Arc, LazyLock};

use jsonschema::Validator;
use serde_json::Value;

use crate::error::Error;

use super::check::truncate;

/// Per-entry bookkeeping counted beside a schema's text.
const ENTRY_OVERHEAD: u64 = 1024;

/// What an entry weighs per byte of its schema's JSON text: the parsed schema (a
/// `serde_json::Value` tree, kept to confirm hits) and the compiled validator take several
/// times the text, more for schemas of many small values. An estimate that errs high.
const WEIGHT_PER_TEXT_BYTE: u64 = 16;

/// The heaviest entry kept by default (about 128 KiB of schema text): 2 MiB.
pub const DEFAULT_MAX_ENTRY_BYTES: u64 = 2 * 1024 * 1024;

/// Compiled validators, one per distinct schema, shared by clones.
///
/// Keys are a hash of the schema's JSON text; a hit is confirmed by comparing the schema
/// itself, so a hash collision costs a compile, never a wrong validator. The cache is a
/// [`moka`] cache bounded in bytes, an entry weighing 16 times its schema's JSON text (the
/// parsed schema and the compiled validator take several times the text): when full, the
/// schemas asked for least often and least recently go first (TinyLFU admission, LRU
/// eviction), and a schema weighing more than the per-entry limit
/// ([`DEFAULT_MAX_ENTRY_BYTES`] unless set, never more than the whole bound) is compiled
/// for its request and never inserted.
///
/// ```
/// use llm_tower::layers::validate::ValidatorCache;
/// use serde_json::json;
///
/// let cache = ValidatorCache::new(1024 * 1024);
/// let schema = json!({"type": "object", "required": ["a"]});
/// let first = cache.get_or_compile(&schema)?;
/// let again = cache.get_or_compile(&schema)?;
/// assert!(std::sync::Arc::ptr_eq(&first, &again));
/// assert!(!first.is_valid(&json!({})));
///
/// let error = cache.get_or_compile(&json!({"type": "text"})).unwrap_err();
/// assert_eq!(error.status(), 400);
/// # Ok::<(), llm_tower::Error>(())
/// ```
#[derive(Clone)]
pub struct ValidatorCache {
    entries: moka::sync::Cache<u64, Arc<CacheEntry>>,
    max_entry_bytes: u64,
}

struct CacheEntry {
    schema: Value,
    /// The entry's weight: its schema's JSON size, scaled, plus bookkeeping.
    bytes: u32,
    validator: Arc<Validator>,
}

impl ValidatorCache {
    /// A cache of entries weighing at most `max_bytes` together (each 16 times its
    /// schema's JSON text), each at most [`DEFAULT_MAX_ENTRY_BYTES`] (or `max_bytes`).
    pub fn new(max_bytes: u64) -> Self {
        Self {
            max_entry_bytes: DEFAULT_MAX_ENTRY_BYTES.min(max_bytes),
            entries: moka::sync::Cache::builder()
                .max_capacity(max_bytes)
                .weigher(|_, entry: &Arc<CacheEntry>| entry.bytes)
                .build(),
        }
    }

    /// Keeps no entry weighing more than `bytes` (16 times its schema's JSON text); larger
    /// schemas are compiled for each request.
    ///
    /// ```
    /// use llm_tower::layers::validate::ValidatorCache;
    /// let cache = ValidatorCache::new(16 * 1024 * 1024).max_entry_bytes(512 * 1024);
    /// # let _ = cache;
    /// ```
    pub fn max_entry_bytes(mut self, bytes: u64) -> Self {
        self.max_entry_bytes = bytes;
        self
    }

    /// How many schemas are cached (after pending evictions are applied).
    pub fn len(&self) -> u64 {
        self.entries.run_pending_tasks();
        self.entries.entry_count()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The validator of `schema`, compiled on first use.
    ///
    /// # Errors
    ///
    /// A 400 about `response_format` when `schema` is not a valid JSON Schema, naming the
    /// place in the schema (`#/properties/n/type`) and what is wrong there.
    pub fn get_or_compile(&self, schema: &Value) -> Result<Arc<Validator>, Error> {
        let (key, length) = schema_hash(schema);
        if let Some(entry) = self.entries.get(&key)
            && entry.schema == *schema
        {
            return Ok(entry.validator.clone());
        }
        let validator = Arc::new(compile(schema)?);
        let weight = length
            .saturating_mul(WEIGHT_PER_TEXT_BYTE)
            .saturating_add(ENTRY_OVERHEAD);
        if weight > self.max_entry_bytes {
            return Ok(validator);
        }
        let bytes = u32::try_from(weight).unwrap_or(u32::MAX);
        self.entries.insert(
            key,
            Arc::new(CacheEntry {
                schema: schema.clone(),
                bytes,
                validator: validator.clone(),
            }),
        );
        Ok(validator)
    }
}

impl ValidatorCache {
    /// The process's cache, which [`SchemaValidationLayer`](super::SchemaValidationLayer)s
    /// share unless given their own: a validator depends on its schema alone.
    pub(crate) fn shared() -> Self {
        static SHARED: LazyLock<ValidatorCache> = LazyLock::new(ValidatorCache::default);
        SHARED.clone()
    }
}

impl Default for ValidatorCache {
    /// [`DEFAULT_CACHE_BYTES`](super::DEFAULT_CACHE_BYTES).
    fn default() -> Self {
        Self::new(super::DEFAULT_CACHE_BYTES)
    }
}

impl std::fmt::Debug for ValidatorCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorCache")
            .field("entries", &self.entries.entry_count())
            .field("bytes", &self.entries.weighted_size())
            .finish()
    }
}

/// Hashes the JSON text of `schema` without building it; also returns the text's length.
fn schema_hash(schema: &Value) -> (u64, u64) {
    struct HashWriter(std::hash::DefaultHasher, u64);
    impl std::io::Write for HashWriter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.write(bytes);
            self.1 += bytes.len() as u64;
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = HashWriter(std::hash::DefaultHasher::new(), 0);
    // Writing to a hasher cannot fail, and a `Value` always serializes.
    let _ = serde_json::to_writer(&mut writer, schema);
    (writer.0.finish(), writer.1)
}

fn compile(schema: &Value) -> Result<Validator, Error> {
    jsonschema::validator_for(schema).map_err(|error| {
        let path = error.instance_path().as_str();
        Error::invalid_param(
            "response_format",
            format!(
                "response_format schema: invalid schema at #{path}: {}",
                truncate(&error.to_string())
            ),
        )
    })
}
