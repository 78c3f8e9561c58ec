//! The converter's shared vocabulary, a leaf below every other file of the converter:
//! its options and error, its limits, and the forms a node takes on the way.

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Deepest nesting of schemas (counting inlined `$ref`s) that
/// [`to_openapi_schema`](super::to_openapi_schema) accepts.
pub(super) const MAX_DEPTH: usize = 64;
/// Most schema nodes [`to_openapi_schema`](super::to_openapi_schema) produces once `$ref`s
/// are inlined.
pub(super) const MAX_NODES: usize = 100_000;
/// Gemini's type names; JSON Schema's are the same in lower case.
pub(super) const TYPES: [&str; 7] = [
    "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL",
];
/// Description added to an array whose `items` came from a tuple (rule 10).
pub(super) const TUPLE_NOTE: &str =
    "A tuple: its items match the alternatives of `items` in order.";

/// Options for converting a JSON Schema into Gemini's OpenAPI subset.
///
/// ```rust
/// use llm_tower::gemini::translate::schema::SchemaOptions;
///
/// // Response schemas: keep the declared property order in the model's output.
/// let response = SchemaOptions { property_ordering: true };
/// // Tool parameters: no ordering needed.
/// let parameters = SchemaOptions::default();
/// assert!(response.property_ordering && !parameters.property_ordering);
/// ```
#[derive(Debug, Clone, Copy, Default)]
pub struct SchemaOptions {
    /// Add `propertyOrdering` (the key order of `properties`) to every object with properties.
    pub property_ordering: bool,
}

/// A schema that cannot be converted, with the place in the input that is at fault.
///
/// ```rust
/// use llm_tower::gemini::translate::schema::{to_openapi_schema, SchemaOptions};
/// use serde_json::json;
///
/// let schema = json!({"properties": {"a": {"type": "text"}}});
/// let error = to_openapi_schema(&schema, SchemaOptions::default()).unwrap_err();
/// assert_eq!(error.path, "#/properties/a/type");
/// ```
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("invalid schema at {path}: {message}")]
pub struct SchemaError {
    /// JSON pointer into the input schema, such as `#/properties/items/anyOf/1`.
    pub path: String,
    /// What is wrong there.
    pub message: String,
}

/// A location in the input, as JSON pointer tokens.
pub(super) type Loc<'a> = Vec<Cow<'a, str>>;

/// A converted node before its type-dependent tidying (see [`Converter::finalize`](super::converter::Converter::finalize)): merges
/// (`$ref`, `allOf`, unions) happen on this form. Children in `map` are already final.
#[derive(Debug, Clone, Default, PartialEq)]
pub(super) struct Raw {
    pub(super) map: Map<String, Value>,
    /// Sentences for `description` about constraints Gemini cannot express.
    pub(super) notes: Vec<String>,
    /// Alternatives, each still to be merged with `map` (rule 5).
    pub(super) any_of: Option<Vec<Raw>>,
}

impl Raw {
    pub(super) fn of_type(name: &str) -> Self {
        let mut raw = Self::default();
        raw.map.insert("type".to_owned(), name.into());
        raw
    }

    pub(super) fn note(&mut self, sentence: String) {
        if !self.notes.contains(&sentence) {
            self.notes.push(sentence);
        }
    }

    pub(super) fn is_null(&self) -> bool {
        self.any_of.is_none() && self.map.get("type").and_then(Value::as_str) == Some("NULL")
    }
}
