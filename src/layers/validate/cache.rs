//! [`ValidatorCache`]: compiled JSON Schema validators, one per distinct schema.

use std::collections::HashMap;
use std::hash::Hasher;
use std::sync::{Arc, Mutex, PoisonError};

use jsonschema::Validator;
use serde_json::Value;

use crate::error::Error;

use super::check::truncate;

/// Compiled validators, one per distinct schema, shared by clones.
///
/// Keys are a hash of the schema's JSON text; a hit is confirmed by comparing the schema
/// itself, so a hash collision costs a compile, never a wrong validator. When the cache is
/// full it is emptied before the new entry goes in (bounded memory, no bookkeeping on hits).
///
/// ```
/// use llm_tower::layers::validate::ValidatorCache;
/// use serde_json::json;
///
/// let cache = ValidatorCache::new(16);
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
    entries: Arc<Mutex<HashMap<u64, CacheEntry>>>,
    capacity: usize,
}

struct CacheEntry {
    schema: Value,
    validator: Arc<Validator>,
}

impl ValidatorCache {
    /// A cache of at most `capacity` schemas (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Arc::new(Mutex::new(HashMap::new())),
            capacity: capacity.max(1),
        }
    }

    /// How many schemas are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
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
        let key = schema_hash(schema);
        if let Some(entry) = self.lock().get(&key)
            && entry.schema == *schema
        {
            return Ok(entry.validator.clone());
        }
        // Compiled outside the lock: a large schema must not stall other requests.
        let validator = Arc::new(compile(schema)?);
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(
            key,
            CacheEntry {
                schema: schema.clone(),
                validator: validator.clone(),
            },
        );
        Ok(validator)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, CacheEntry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for ValidatorCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// Hashes the JSON text of `schema` without building it.
fn schema_hash(schema: &Value) -> u64 {
    struct HashWriter(std::hash::DefaultHasher);
    impl std::io::Write for HashWriter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.write(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = HashWriter(std::hash::DefaultHasher::new());
    // Writing to a hasher cannot fail, and a `Value` always serializes.
    let _ = serde_json::to_writer(&mut writer, schema);
    writer.0.finish()
}

fn compile(schema: &Value) -> Result<Validator, Error> {
    jsonschema::validator_for(schema).map_err(|error| {
        let path = error.instance_path.as_str();
        Error::invalid_param(
            "response_format",
            format!(
                "response_format schema: invalid schema at #{path}: {}",
                truncate(&error.to_string())
            ),
        )
    })
}
