//! [`Extra`]: the keys of a request object that no field types, kept as JSON text.
//!
//! A client may send anything beside the typed fields: LiteLLM params passed through to
//! the provider, `metadata`, keys nobody knows. They are kept as text ([`RawJson`]), not
//! as `serde_json::Value` trees: a tree costs about 70 bytes per JSON value, text costs
//! its bytes, so a 4 MB array of zeros stays 4 MB. A key that is read (a routing param, a
//! Gemini `generationConfig` key) is parsed then, into the type it needs.

use std::fmt;

use indexmap::IndexMap;
use serde::de::{Deserialize, Deserializer, MapAccess, Visitor};
use serde::ser::{Serialize, Serializer};

use crate::raw_json::RawJson;

/// Unknown keys of a wire struct, in the order sent, each value kept as its JSON text.
/// A key sent twice keeps its last value.
///
/// ```
/// use llm_tower::openai::chat::Extra;
///
/// let mut extra: Extra = serde_json::from_str(r#"{"top_k":4,"metadata":{"run":"7"}}"#)?;
/// assert_eq!(extra.get("top_k").map(|value| value.get()), Some("4"));
/// extra.insert("seed_hint", serde_json::json!(3).into());
/// assert_eq!(extra.keys().collect::<Vec<_>>(), ["top_k", "metadata", "seed_hint"]);
/// assert_eq!(serde_json::to_string(&extra)?, r#"{"top_k":4,"metadata":{"run":"7"},"seed_hint":3}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Default, PartialEq)]
pub struct Extra(IndexMap<String, RawJson>);

impl Extra {
    /// No keys.
    pub fn new() -> Self {
        Self::default()
    }

    /// Whether there are no keys.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// How many keys there are.
    pub fn len(&self) -> usize {
        self.0.len()
    }

    /// The value of `key`.
    pub fn get(&self, key: &str) -> Option<&RawJson> {
        self.0.get(key)
    }

    /// Whether `key` is set.
    pub fn contains_key(&self, key: &str) -> bool {
        self.0.contains_key(key)
    }

    /// Sets `key` (last if it is new, in its place if not); returns the value it replaced.
    pub fn insert(&mut self, key: impl Into<String>, value: RawJson) -> Option<RawJson> {
        self.0.insert(key.into(), value)
    }

    /// Takes `key` out, keeping the order of the others.
    pub fn remove(&mut self, key: &str) -> Option<RawJson> {
        self.0.shift_remove(key)
    }

    /// Sets every key of `defaults` that is not set here.
    pub fn fill_from(&mut self, defaults: &Extra) {
        for (key, value) in defaults {
            if !self.0.contains_key(key) {
                self.0.insert(key.clone(), value.clone());
            }
        }
    }

    /// The keys, in order.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.keys().map(String::as_str)
    }

    /// The keys and values, in order.
    pub fn iter(&self) -> indexmap::map::Iter<'_, String, RawJson> {
        self.0.iter()
    }
}

impl fmt::Debug for Extra {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_map().entries(self.0.iter()).finish()
    }
}

impl<'a> IntoIterator for &'a Extra {
    type Item = (&'a String, &'a RawJson);
    type IntoIter = indexmap::map::Iter<'a, String, RawJson>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.iter()
    }
}

impl IntoIterator for Extra {
    type Item = (String, RawJson);
    type IntoIter = indexmap::map::IntoIter<String, RawJson>;

    fn into_iter(self) -> Self::IntoIter {
        self.0.into_iter()
    }
}

impl FromIterator<(String, RawJson)> for Extra {
    fn from_iter<I: IntoIterator<Item = (String, RawJson)>>(entries: I) -> Self {
        Self(entries.into_iter().collect())
    }
}

impl Extend<(String, RawJson)> for Extra {
    fn extend<I: IntoIterator<Item = (String, RawJson)>>(&mut self, entries: I) {
        self.0.extend(entries);
    }
}

impl Serialize for Extra {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_map(self.0.iter())
    }
}

impl<'de> Deserialize<'de> for Extra {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ExtraVisitor)
    }
}

struct ExtraVisitor;

impl<'de> Visitor<'de> for ExtraVisitor {
    type Value = Extra;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("an object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Extra, A::Error> {
        let mut extra = Extra::new();
        while let Some((key, value)) = map.next_entry::<String, RawJson>()? {
            extra.insert(key, value);
        }
        Ok(extra)
    }
}
