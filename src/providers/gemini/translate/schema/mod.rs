//! JSON Schema → Gemini schema conversion, for tool `parameters` and response schemas.
//!
//! Gemini takes schemas in two shapes (the Gemini API reference, "Schema"):
//!
//! * [`to_openapi_schema`] produces the OpenAPI 3.0 subset that `parameters` and
//!   `responseSchema` accept on every model;
//! * [`to_json_schema`] produces the plain JSON Schema that `parametersJsonSchema` and
//!   `responseJsonSchema` accept on Gemini 2.5 and later.
//!
//! Both are pure. Errors carry a JSON pointer into the *input* (`#/$defs/Pet/anyOf/1`). Unlike
//! LiteLLM, nothing that constrains a value is dropped silently: what the subset cannot express
//! is written into `description` as a sentence, or refused with a [`SchemaError`].
//!
//! # Rules of [`to_openapi_schema`]
//!
//! References
//! 1. `$ref`s that are `#` JSON pointers (`#/$defs/X`, `#/definitions/X`,
//!    `#/properties/a/$defs/X`, `#`) are inlined. A `#/$defs/X` (or `#/definitions/X`) that
//!    points nowhere resolves to entry `X` of the nearest enclosing `$defs`/`definitions`. Keys
//!    beside `$ref` are merged over the target as in rule 6.
//! 2. A `$ref` to a schema that is being expanded on the current path (recursion; `"#"` always
//!    is) is an error naming the ref; so is an external (`http://…`), anchor or dangling ref.
//! 3. Nesting deeper than 64 schemas, or more than 100 000 schema nodes once refs are inlined
//!    (diamond-shaped reuse of `$defs`), is an error, never a stack overflow or a blow-up.
//!
//! Combinators
//! 4. `anyOf`/`oneOf`: `{"type": "null"}` members become `nullable: true`; a single remaining
//!    member is merged into the node; several stay an `anyOf` (`oneOf` becomes `anyOf`: Gemini
//!    has no `oneOf`, and only exclusivity is lost). Several members that are only string
//!    constants (`const`/`enum`, as schemars emits for documented unit variants) become one
//!    string `enum`, their descriptions kept as sentences (`"Urgent": Ship today.`).
//! 5. Gemini wants `anyOf` alone in its node, so the node's other keys are merged into every
//!    member (a member's own `title` wins, descriptions are joined) and nested `anyOf`s are
//!    flattened.
//! 6. `allOf` members are merged into the node: `properties` and `required` are united, the
//!    node's own `title`/`description`/`default`/`example` win over the members' (earlier
//!    members over later ones), `nullable` holds only if all say so; any other disagreement
//!    (two `type`s, one property defined two ways, two unions) is an error.
//!
//! Types
//! 7. Type names are upper-cased. `["T", "null"]` → `type: T, nullable: true`; several non-null
//!    types → an `anyOf` with one member per type, holding that type's keywords (then rule 5).
//! 8. A node without a type gets one: `OBJECT` if it has object keywords, `ARRAY` for array
//!    keywords, `NUMBER` for `minimum`/`maximum`, else `STRING` (Gemini 3 refuses typeless
//!    nodes, some models refuse an `OBJECT` without properties, and any value can be written as
//!    a string). The root falls back to `OBJECT` instead (function parameters are an object).
//! 9. An `ARRAY` without `items` (or with `items: {}`) gets `items: {type: STRING}` (rule 8).
//! 10. Tuples (`prefixItems`, draft-7 array `items`): `items` becomes the `anyOf` of the
//!     positions (or their common schema if all are alike) and the description says that items
//!     follow the alternatives in order.
//!
//! Values
//! 11. A string `const` → a one-value `enum`; string `enum`s stay, with `type: STRING`. `null` in
//!     an `enum` → `nullable: true`; `const: null` or `enum: [null]` alone → `type: NULL`.
//! 12. Gemini allows only string enums, so a non-string `const`/`enum` keeps its type (inferred
//!     from the values if absent) and moves into the description: `Must be exactly 3.`,
//!     `One of: 1, 2, 3.` Turning values into strings would change what the model emits.
//! 13. `format` stays only where Gemini allows it (`STRING`: `date-time`, `enum`; `NUMBER`:
//!     `float`, `double`; `INTEGER`: `int32`, `int64`); others (`uuid`, `email`, `uint32`, …)
//!     are removed and described: `Format: uuid.`
//! 14. Numeric `exclusiveMinimum: n` → `minimum: n` unless there is one, plus
//!     `Must be greater than n.`; `exclusiveMaximum` likewise; the draft-4 boolean form only
//!     adds the sentence.
//! 15. `multipleOf`, `uniqueItems: true`, `contains`, `dependentRequired` (and draft-7
//!     `dependencies` with name lists) are removed and written into the description.
//! 16. `not`, `if` with `then`/`else`, `dependentSchemas` (and `dependencies` with schemas),
//!     `$dynamicRef` and `$recursiveRef` are errors: they decide validity and have no
//!     equivalent.
//!
//! Objects
//! 17. `additionalProperties` (in every form), `patternProperties`, `propertyNames`,
//!     `unevaluatedProperties`, `additionalItems`, `unevaluatedItems`, `minContains` and
//!     `maxContains` are removed: a Gemini object holds exactly its listed properties, so a map
//!     such as pydantic's `dict[str, int]` becomes a bare `OBJECT`. For the same reason a
//!     property whose schema is `false` (it must be absent) is left out.
//! 18. Empty `properties` are removed (with `required`) and `type: OBJECT` kept; `required`
//!     names that are not properties, and repeated names, are removed.
//! 19. With [`SchemaOptions::property_ordering`], every object with properties gets
//!     `propertyOrdering` (the key order of its `properties`) unless it already has one.
//! 20. The keys of `properties` are names, not keywords: properties called `strict`, `$ref` or
//!     `type` are kept.
//!
//! Annotations
//! 21. Kept: `title`, `description`, `default`, `example`, `nullable`, `pattern`, `minLength`,
//!     `maxLength`, `minItems`, `maxItems`, `minimum`, `maximum`, `minProperties`,
//!     `maxProperties`, `required`, `items`, `properties`, `propertyOrdering`.
//! 22. Removed, as they have no effect on validity: `$schema`, `$id`, `$anchor`, `$comment`,
//!     `strict`, `readOnly`, `writeOnly`, `deprecated`, `contentEncoding`, `contentMediaType`,
//!     `discriminator`, `examples` (its first value becomes `example` unless there is one) and
//!     any unknown keyword (`x-…` extensions).
//!
//! Errors
//! 23. What is not a schema is an error with its path: a schema that is neither an object nor
//!     `true` (`false` accepts nothing), an unknown or empty `type`, `properties` not an object,
//!     `required` not an array of strings, an empty `anyOf`, a non-numeric bound, and so on.

use serde_json::Value;

mod combine;
mod converter;
mod pointer;
mod rules;
#[cfg(test)]
mod tests;
mod types;

use converter::Converter;
use pointer::{check_refs, kind};
pub use types::{SchemaError, SchemaOptions};

/// Keys removed from the root by [`to_json_schema`].
const JSON_SCHEMA_DROPPED: [&str; 3] = ["strict", "$schema", "$id"];
/// Converts a JSON Schema into a Gemini `Schema` (the OpenAPI 3.0 subset) for function
/// `parameters` or `responseSchema`, following the rules listed in the [module docs](self).
///
/// # Errors
///
/// A [`SchemaError`] for what the subset cannot express (recursion, `not`, `if`/`then`/`else`,
/// conflicting `allOf` members), for external or dangling `$ref`s, past the depth and size
/// guards, and for input that is not a schema.
///
/// ```rust
/// use llm_tower::gemini::translate::schema::{to_openapi_schema, SchemaOptions};
/// use serde_json::json;
///
/// let schema = json!({
///     "type": "object",
///     "properties": {
///         "city": {"type": "string"},
///         "unit": {"anyOf": [{"$ref": "#/$defs/Unit"}, {"type": "null"}]}
///     },
///     "required": ["city"],
///     "additionalProperties": false,
///     "$defs": {"Unit": {"type": "string", "enum": ["celsius", "fahrenheit"]}}
/// });
/// let converted = to_openapi_schema(&schema, SchemaOptions { property_ordering: true }).unwrap();
/// assert_eq!(converted, json!({
///     "type": "OBJECT",
///     "properties": {
///         "city": {"type": "STRING"},
///         "unit": {"type": "STRING", "enum": ["celsius", "fahrenheit"], "nullable": true}
///     },
///     "required": ["city"],
///     "propertyOrdering": ["city", "unit"]
/// }));
/// ```
pub fn to_openapi_schema(schema: &Value, options: SchemaOptions) -> Result<Value, SchemaError> {
    let mut converter = Converter {
        root: schema,
        options,
        loc: Vec::new(),
        segment_start: Vec::new(),
        suspended: Vec::new(),
        defs: Vec::new(),
        depth: 0,
        nodes: 0,
    };
    let raw = converter.raw(schema)?;
    converter.finalize(raw, true).map(Value::Object)
}

/// Prepares a JSON Schema for `responseJsonSchema` / `parametersJsonSchema`: the root's
/// `strict` (OpenAI's flag), `$schema` and `$id` are removed and everything else is kept,
/// `$ref`s and `$defs` included (Gemini resolves them). The root must be a schema object and
/// every `$ref` must point into the schema itself.
///
/// # Errors
///
/// A [`SchemaError`] if the root is not an object, or a `$ref` is not a `#` JSON pointer to a
/// place in the schema.
///
/// ```rust
/// use llm_tower::gemini::translate::schema::to_json_schema;
/// use serde_json::json;
///
/// let schema = json!({
///     "$schema": "https://json-schema.org/draft/2020-12/schema",
///     "strict": true,
///     "type": "object",
///     "properties": {"strict": {"type": "boolean"}, "next": {"$ref": "#"}}
/// });
/// assert_eq!(to_json_schema(&schema).unwrap(), json!({
///     "type": "object",
///     "properties": {"strict": {"type": "boolean"}, "next": {"$ref": "#"}}
/// }));
/// ```
pub fn to_json_schema(schema: &Value) -> Result<Value, SchemaError> {
    let Value::Object(root) = schema else {
        return Err(SchemaError {
            path: "#".to_owned(),
            message: format!("expected a schema object, found {}", kind(schema)),
        });
    };
    check_refs(schema, schema, &mut Vec::new())?;
    Ok(Value::Object(
        root.iter()
            .filter(|(key, _)| !JSON_SCHEMA_DROPPED.contains(&key.as_str()))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
    ))
}
