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

use std::borrow::Cow;

use serde_json::{Map, Value};

/// Deepest nesting of schemas (counting inlined `$ref`s) that [`to_openapi_schema`] accepts.
const MAX_DEPTH: usize = 64;
/// Most schema nodes [`to_openapi_schema`] produces once `$ref`s are inlined.
const MAX_NODES: usize = 100_000;
/// Gemini's type names; JSON Schema's are the same in lower case.
const TYPES: [&str; 7] = [
    "STRING", "NUMBER", "INTEGER", "BOOLEAN", "ARRAY", "OBJECT", "NULL",
];
/// Keys removed from the root by [`to_json_schema`].
const JSON_SCHEMA_DROPPED: [&str; 3] = ["strict", "$schema", "$id"];
/// Description added to an array whose `items` came from a tuple (rule 10).
const TUPLE_NOTE: &str = "A tuple: its items match the alternatives of `items` in order.";

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

/// A location in the input, as JSON pointer tokens.
type Loc<'a> = Vec<Cow<'a, str>>;

/// A converted node before its type-dependent tidying (see [`Converter::finalize`]): merges
/// (`$ref`, `allOf`, unions) happen on this form. Children in `map` are already final.
#[derive(Debug, Clone, Default, PartialEq)]
struct Raw {
    map: Map<String, Value>,
    /// Sentences for `description` about constraints Gemini cannot express.
    notes: Vec<String>,
    /// Alternatives, each still to be merged with `map` (rule 5).
    any_of: Option<Vec<Raw>>,
}

impl Raw {
    fn of_type(name: &str) -> Self {
        let mut raw = Self::default();
        raw.map.insert("type".to_owned(), name.into());
        raw
    }

    fn note(&mut self, sentence: String) {
        if !self.notes.contains(&sentence) {
            self.notes.push(sentence);
        }
    }

    fn is_null(&self) -> bool {
        self.any_of.is_none() && self.map.get("type").and_then(Value::as_str) == Some("NULL")
    }
}

struct Converter<'a> {
    root: &'a Value,
    options: SchemaOptions,
    /// Where in the input the node being converted is.
    loc: Loc<'a>,
    /// Where the innermost `$ref` expansion started (the root before any).
    segment_start: Loc<'a>,
    /// For each `$ref` being expanded: where the enclosing expansion started and where the
    /// `$ref` was. With (`segment_start`, `loc`) they are the path walked to the current node.
    suspended: Vec<(Loc<'a>, Loc<'a>)>,
    /// `$defs`/`definitions` of enclosing schemas, innermost last, with their locations.
    defs: Vec<(Loc<'a>, &'a Map<String, Value>)>,
    depth: usize,
    nodes: usize,
}

impl<'a> Converter<'a> {
    fn error(&self, message: impl Into<String>) -> SchemaError {
        SchemaError {
            path: pointer(&self.loc),
            message: message.into(),
        }
    }

    fn error_at(&self, key: &str, message: impl Into<String>) -> SchemaError {
        let mut path = pointer(&self.loc);
        path.push('/');
        path.push_str(&escape(key));
        SchemaError {
            path,
            message: message.into(),
        }
    }

    /// Runs `f` with `token` appended to the current location.
    fn at<T>(&mut self, token: impl Into<Cow<'a, str>>, f: impl FnOnce(&mut Self) -> T) -> T {
        self.loc.push(token.into());
        let result = f(self);
        self.loc.pop();
        result
    }

    fn charge(&mut self, nodes: usize) -> Result<(), SchemaError> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return Err(self.error(format!(
                "the schema expands to more than {MAX_NODES} nodes once its `$ref`s are inlined"
            )));
        }
        Ok(())
    }

    /// Converts the schema at the current location, without the final tidying.
    fn raw(&mut self, node: &'a Value) -> Result<Raw, SchemaError> {
        self.charge(1)?;
        if self.depth >= MAX_DEPTH {
            return Err(self.error(format!("the schema nests deeper than {MAX_DEPTH} levels")));
        }
        let obj = match node {
            Value::Object(obj) => obj,
            Value::Bool(true) => return Ok(Raw::default()),
            Value::Bool(false) => {
                return Err(
                    self.error("the schema `false` accepts nothing; Gemini cannot express it")
                );
            }
            other => {
                return Err(self.error(format!("expected a schema object, found {}", kind(other))));
            }
        };
        self.depth += 1;
        let scope = self.defs.len();
        let result = self.push_defs(obj).and_then(|()| self.raw_object(obj));
        self.defs.truncate(scope);
        self.depth -= 1;
        result
    }

    /// Converts a child schema completely.
    fn child(&mut self, node: &'a Value) -> Result<Value, SchemaError> {
        let raw = self.raw(node)?;
        self.finalize(raw, false).map(Value::Object)
    }

    fn push_defs(&mut self, obj: &'a Map<String, Value>) -> Result<(), SchemaError> {
        for (key, value) in obj {
            if key == "$defs" || key == "definitions" {
                let Value::Object(defs) = value else {
                    return Err(self.error_at(key, format!("`{key}` must be an object")));
                };
                let mut loc = self.loc.clone();
                loc.push(Cow::Borrowed(key.as_str()));
                self.defs.push((loc, defs));
            }
        }
        Ok(())
    }

    fn raw_object(&mut self, obj: &'a Map<String, Value>) -> Result<Raw, SchemaError> {
        let mut raw = self.local(obj)?;
        if let Some(reference) = obj.get("$ref") {
            let target = self.follow(reference)?;
            self.merge(&mut raw, target)?;
        }
        if let Some(members) = obj.get("allOf") {
            for (index, member) in self.schema_list("allOf", members)?.iter().enumerate() {
                let member = self.at("allOf", |c| c.at(index.to_string(), |c| c.raw(member)))?;
                self.merge(&mut raw, member)?;
            }
        }
        self.union(obj, &mut raw)?;
        Ok(raw)
    }

    /// Converts the keywords of `obj` that need no other schema (all but `$ref`, `allOf`,
    /// `anyOf`, `oneOf`).
    fn local(&mut self, obj: &'a Map<String, Value>) -> Result<Raw, SchemaError> {
        let mut raw = Raw::default();
        let mut types = None;
        for (key, value) in obj {
            let valid = match key.as_str() {
                "type" => {
                    types = Some(self.types(value)?);
                    continue;
                }
                "title" | "description" | "pattern" | "format" => value.is_string(),
                "nullable" => value.is_boolean(),
                "minimum" | "maximum" => value.is_number(),
                "minLength" | "maxLength" | "minItems" | "maxItems" | "minProperties"
                | "maxProperties" => value.as_f64().is_some_and(|n| n >= 0.0 && n.fract() == 0.0),
                "enum" => value.is_array(),
                "required" | "propertyOrdering" => value
                    .as_array()
                    .is_some_and(|names| names.iter().all(Value::is_string)),
                "default" | "example" | "const" => true,
                "properties" => {
                    let properties = self.properties(value)?;
                    raw.map.insert(key.clone(), properties);
                    continue;
                }
                "examples" => {
                    let first = value.as_array().and_then(|examples| examples.first());
                    if let (false, Some(first)) = (obj.contains_key("example"), first) {
                        raw.map.insert("example".to_owned(), first.clone());
                    }
                    continue;
                }
                "exclusiveMinimum" | "exclusiveMaximum" => {
                    self.exclusive(obj, key, value, &mut raw)?;
                    continue;
                }
                "multipleOf" | "uniqueItems" | "contains" | "dependentRequired"
                | "dependencies" => {
                    self.describe_constraint(key, value, &mut raw)?;
                    continue;
                }
                "not" | "dependentSchemas" | "$dynamicRef" | "$recursiveRef" => {
                    return Err(self.error_at(key, unsupported(&format!("`{key}`"))));
                }
                "if" if obj.contains_key("then") || obj.contains_key("else") => {
                    return Err(self.error_at(key, unsupported("`if`/`then`/`else`")));
                }
                _ => continue,
            };
            if !valid {
                return Err(self.error_at(key, format!("`{key}` must be {}", expected(key))));
            }
            raw.map.insert(key.clone(), value.clone());
        }
        self.items(obj, &mut raw)?;
        if let Some(types) = types {
            apply_types(&mut raw, &types);
        }
        Ok(raw)
    }

    fn types(&self, value: &Value) -> Result<Vec<&'static str>, SchemaError> {
        let names = match value {
            Value::String(_) => std::slice::from_ref(value),
            Value::Array(names) if !names.is_empty() => names.as_slice(),
            _ => {
                return Err(self.error_at(
                    "type",
                    "`type` must be a type name or a non-empty array of them",
                ));
            }
        };
        let mut types = Vec::with_capacity(names.len());
        for name in names {
            let Some(name) = name.as_str().and_then(gemini_type) else {
                return Err(self.error_at("type", format!("unknown type {name}")));
            };
            if !types.contains(&name) {
                types.push(name);
            }
        }
        Ok(types)
    }

    fn properties(&mut self, value: &'a Value) -> Result<Value, SchemaError> {
        let Value::Object(properties) = value else {
            return Err(self.error_at("properties", "`properties` must be an object"));
        };
        let mut converted = Map::with_capacity(properties.len());
        // A property whose schema is `false` must be absent: leaving it out says just that.
        for (name, schema) in properties
            .iter()
            .filter(|(_, schema)| **schema != Value::Bool(false))
        {
            let schema = self.at("properties", |c| c.at(name.as_str(), |c| c.child(schema)))?;
            converted.insert(name.clone(), schema);
        }
        Ok(Value::Object(converted))
    }

    /// `items`, `prefixItems` and draft-7 tuple `items` (rules 9 and 10).
    fn items(&mut self, obj: &'a Map<String, Value>, raw: &mut Raw) -> Result<(), SchemaError> {
        let items = obj.get("items");
        let (tuple_key, tuple) = match (obj.get("prefixItems"), items) {
            (Some(prefix), _) => ("prefixItems", prefix),
            (None, Some(tuple @ Value::Array(_))) => ("items", tuple),
            (None, rest) => {
                if let Some(rest) = rest.filter(|rest| **rest != Value::Bool(false)) {
                    let items = self.at("items", |c| c.child(rest))?;
                    raw.map.insert("items".to_owned(), items);
                }
                return Ok(());
            }
        };
        let rest = items.filter(|rest| !rest.is_array() && **rest != Value::Bool(false));
        let positions = self.schema_list(tuple_key, tuple)?;
        let mut members = Vec::with_capacity(positions.len() + 1);
        for (index, position) in positions.iter().enumerate() {
            members.push(self.at(tuple_key, |c| c.at(index.to_string(), |c| c.raw(position)))?);
        }
        if let Some(rest) = rest {
            members.push(self.at("items", |c| c.raw(rest))?);
        }
        let items = if members.windows(2).all(|pair| pair[0] == pair[1]) {
            members.swap_remove(0)
        } else {
            raw.note(TUPLE_NOTE.to_owned());
            Raw {
                any_of: Some(members),
                ..Raw::default()
            }
        };
        let items = self.finalize(items, false)?;
        raw.map.insert("items".to_owned(), Value::Object(items));
        Ok(())
    }

    /// Rule 14.
    fn exclusive(
        &self,
        obj: &Map<String, Value>,
        key: &str,
        value: &Value,
        raw: &mut Raw,
    ) -> Result<(), SchemaError> {
        let (bound, comparison) = if key == "exclusiveMinimum" {
            ("minimum", "greater")
        } else {
            ("maximum", "less")
        };
        match value {
            Value::Number(limit) => {
                if !obj.contains_key(bound) {
                    raw.map.insert(bound.to_owned(), value.clone());
                }
                raw.note(format!("Must be {comparison} than {limit}."));
            }
            Value::Bool(true) => {
                if let Some(limit) = obj.get(bound) {
                    raw.note(format!("Must be {comparison} than {limit}."));
                }
            }
            Value::Bool(false) => {}
            _ => return Err(self.error_at(key, format!("`{key}` must be a number"))),
        }
        Ok(())
    }

    /// Rule 15.
    fn describe_constraint(
        &self,
        key: &str,
        value: &Value,
        raw: &mut Raw,
    ) -> Result<(), SchemaError> {
        match (key, value) {
            ("multipleOf", Value::Number(factor)) => {
                raw.note(format!("Must be a multiple of {factor}."));
            }
            ("uniqueItems", Value::Bool(unique)) => {
                if *unique {
                    raw.note("Items must be unique.".to_owned());
                }
            }
            ("contains", schema) => {
                raw.note(format!(
                    "Must contain an item matching the JSON Schema {schema}."
                ));
            }
            ("dependentRequired" | "dependencies", Value::Object(dependencies)) => {
                for (name, dependents) in dependencies {
                    let Some(names) = dependents
                        .as_array()
                        .filter(|names| names.iter().all(Value::is_string))
                    else {
                        return Err(self.error_at(
                            key,
                            unsupported(&format!("`{key}` with a schema (for `{name}`)")),
                        ));
                    };
                    let names: Vec<String> = names
                        .iter()
                        .map(|dependent| format!("`{}`", dependent.as_str().unwrap_or_default()))
                        .collect();
                    raw.note(format!(
                        "If `{name}` is present, {} must be present too.",
                        names.join(", ")
                    ));
                }
            }
            _ => return Err(self.error_at(key, format!("`{key}` must be {}", expected(key)))),
        }
        Ok(())
    }

    /// `anyOf` / `oneOf` (rule 4).
    fn union(&mut self, obj: &'a Map<String, Value>, raw: &mut Raw) -> Result<(), SchemaError> {
        let (key, members) = match (obj.get_key_value("anyOf"), obj.get_key_value("oneOf")) {
            (Some(_), Some(_)) => {
                return Err(self.error("`anyOf` and `oneOf` in one schema cannot be combined"));
            }
            (Some((key, members)), None) | (None, Some((key, members))) => (key.as_str(), members),
            (None, None) => return Ok(()),
        };
        let mut alternatives = Vec::new();
        let mut nullable = false;
        for (index, member) in self.schema_list(key, members)?.iter().enumerate() {
            let member = self.at(key, |c| c.at(index.to_string(), |c| c.raw(member)))?;
            if member.is_null() {
                nullable = true;
            } else {
                alternatives.push(member);
            }
        }
        let mut union = match alternatives.len() {
            0 => Raw::of_type("NULL"),
            1 => alternatives.swap_remove(0),
            _ => string_enum(&alternatives).unwrap_or_else(|| Raw {
                any_of: Some(alternatives),
                ..Raw::default()
            }),
        };
        if nullable && !union.is_null() {
            union.map.insert("nullable".to_owned(), Value::Bool(true));
        }
        self.merge(raw, union)
    }

    fn schema_list(&self, key: &str, value: &'a Value) -> Result<&'a [Value], SchemaError> {
        match value {
            Value::Array(members) if !members.is_empty() => Ok(members),
            _ => Err(self.error_at(key, format!("`{key}` must be a non-empty array of schemas"))),
        }
    }

    /// Expands a `$ref` (rules 1 and 2).
    fn follow(&mut self, reference: &'a Value) -> Result<Raw, SchemaError> {
        let Some(reference) = reference.as_str() else {
            return Err(self.error_at("$ref", "`$ref` must be a string"));
        };
        let (target_loc, target) = self.resolve(reference)?;
        if self.is_expanding(&target_loc) {
            return Err(self.error(format!(
                "recursive schema: `$ref` \"{reference}\" leads back into a schema that is being \
                 expanded; recursion cannot be expressed in Gemini's schema subset; send the schema \
                 as JSON Schema (responseJsonSchema / parametersJsonSchema) or unroll it to a fixed depth"
            )));
        }
        let start = std::mem::replace(&mut self.segment_start, target_loc.clone());
        let at_ref = std::mem::replace(&mut self.loc, target_loc);
        self.suspended.push((start, at_ref));
        let result = self.raw(target);
        if let Some((start, at_ref)) = self.suspended.pop() {
            self.segment_start = start;
            self.loc = at_ref;
        }
        result
    }

    fn resolve(&self, reference: &'a str) -> Result<(Loc<'a>, &'a Value), SchemaError> {
        let tokens = pointer_tokens(reference).map_err(|message| self.error_at("$ref", message))?;
        if let Some(target) = lookup(self.root, &tokens) {
            return Ok((tokens, target));
        }
        let nearest = match tokens.as_slice() {
            [keyword, name] if keyword == "$defs" || keyword == "definitions" => {
                self.defs.iter().rev().find_map(|(loc, defs)| {
                    let (name, target) = defs.get_key_value(name.as_ref())?;
                    let mut loc = loc.clone();
                    loc.push(Cow::Borrowed(name.as_str()));
                    Some((loc, target))
                })
            }
            _ => None,
        };
        nearest.ok_or_else(|| {
            self.error_at(
                "$ref",
                format!("`$ref` \"{reference}\" points nowhere in this schema"),
            )
        })
    }

    /// Whether the schema at `target` encloses a node on the path to the current one.
    fn is_expanding(&self, target: &[Cow<'_, str>]) -> bool {
        let current = (&self.segment_start, &self.loc);
        self.suspended
            .iter()
            .map(|(start, end)| (start, end))
            .chain(std::iter::once(current))
            .any(|(start, end)| target.starts_with(start) && end.starts_with(target))
    }

    /// Merges `other` into `base` as an intersection of the two (rule 6).
    fn merge(&self, base: &mut Raw, other: Raw) -> Result<(), SchemaError> {
        for (key, value) in other.map {
            match base.map.get_mut(&key) {
                Some(existing) => self.combine(&key, existing, value)?,
                None => {
                    base.map.insert(key, value);
                }
            }
        }
        for note in other.notes {
            base.note(note);
        }
        match (&base.any_of, other.any_of) {
            (Some(_), Some(_)) => Err(self.error(
                "two unions (`anyOf`, `oneOf` or a type array) for the same value cannot be combined",
            )),
            (None, Some(alternatives)) => {
                base.any_of = Some(alternatives);
                Ok(())
            }
            (_, None) => Ok(()),
        }
    }

    fn combine(&self, key: &str, existing: &mut Value, value: Value) -> Result<(), SchemaError> {
        if *existing == value {
            return Ok(());
        }
        match (key, existing, value) {
            ("title" | "description" | "default" | "example", _, _) => {}
            ("nullable", Value::Bool(nullable), Value::Bool(other)) => *nullable &= other,
            ("required", Value::Array(names), Value::Array(more)) => {
                for name in more {
                    if !names.contains(&name) {
                        names.push(name);
                    }
                }
            }
            ("properties", Value::Object(properties), Value::Object(more)) => {
                for (name, schema) in more {
                    match properties.get(&name) {
                        None => {
                            properties.insert(name, schema);
                        }
                        Some(known) if *known == schema => {}
                        Some(_) => {
                            return Err(self.error(format!(
                                "combined schemas define property `{name}` in two different ways"
                            )));
                        }
                    }
                }
            }
            (_, existing, value) => {
                return Err(self.error(format!(
                    "combined schemas disagree on `{key}`: {existing} and {value}"
                )));
            }
        }
        Ok(())
    }

    /// Tidies a merged node into its Gemini form (rules 5, 8, 9, 11–13, 18, 19).
    fn finalize(&mut self, raw: Raw, root: bool) -> Result<Map<String, Value>, SchemaError> {
        let Raw {
            mut map,
            mut notes,
            any_of,
        } = raw;
        if let Some(alternatives) = any_of {
            let outer = Raw {
                map,
                notes,
                any_of: None,
            };
            return self.distribute(&outer, alternatives, root);
        }
        resolve_enum(&mut map, &mut notes);
        if !map.contains_key("type") {
            map.insert("type".to_owned(), implied_type(&map, root).into());
        }
        check_format(&mut map, &mut notes);
        match map.get("type").and_then(Value::as_str) {
            Some("OBJECT") => tidy_object(&mut map, self.options),
            Some("ARRAY") => {
                map.entry("items")
                    .or_insert_with(|| Value::Object(Raw::of_type("STRING").map));
            }
            _ => {}
        }
        if !notes.is_empty() {
            let description = map
                .entry("description")
                .or_insert_with(|| Value::String(String::new()));
            if let Value::String(text) = description {
                for note in &notes {
                    append_sentence(text, note);
                }
            }
        }
        Ok(map)
    }

    /// Merges the keys around a union into each alternative (rule 5).
    fn distribute(
        &mut self,
        outer: &Raw,
        alternatives: Vec<Raw>,
        root: bool,
    ) -> Result<Map<String, Value>, SchemaError> {
        let mut members = Vec::with_capacity(alternatives.len());
        for alternative in alternatives {
            self.charge(count_objects(&outer.map))?;
            let mut merged = outer.clone();
            if alternative.map.contains_key("title") {
                merged.map.shift_remove("title");
            }
            let own = alternative.map.get("description").and_then(Value::as_str);
            if let (Some(own), Some(Value::String(text))) = (own, merged.map.get_mut("description"))
            {
                append_sentence(text, own);
            }
            self.merge(&mut merged, alternative)?;
            let mut member = self.finalize(merged, root)?;
            if member.len() == 1 {
                if let Some(Value::Array(inner)) = member.get_mut("anyOf") {
                    members.append(inner);
                    continue;
                }
            }
            members.push(Value::Object(member));
        }
        let mut map = Map::new();
        map.insert("anyOf".to_owned(), Value::Array(members));
        Ok(map)
    }
}

/// Rule 4: alternatives that are all string constants, as one `enum`.
fn string_enum(alternatives: &[Raw]) -> Option<Raw> {
    let mut merged = Raw::of_type("STRING");
    let mut values = Vec::new();
    for alternative in alternatives {
        if alternative.any_of.is_some() || !alternative.notes.is_empty() {
            return None;
        }
        let mut own = Vec::new();
        for (key, value) in &alternative.map {
            match (key.as_str(), value) {
                ("type", Value::String(name)) if name == "STRING" => {}
                ("description", Value::String(_)) => {}
                ("const", Value::String(_)) => own.push(value),
                ("enum", Value::Array(items)) if items.iter().all(Value::is_string) => {
                    own.extend(items);
                }
                _ => return None,
            }
        }
        if own.is_empty() {
            return None;
        }
        if let Some(Value::String(description)) = alternative.map.get("description") {
            let names: Vec<String> = own.iter().map(ToString::to_string).collect();
            merged.note(format!("{}: {description}", names.join(", ")));
        }
        for value in own {
            if !values.contains(value) {
                values.push(value.clone());
            }
        }
    }
    merged.map.insert("enum".to_owned(), Value::Array(values));
    Some(merged)
}

/// Sets the node's type from the `type` keyword (rule 7).
fn apply_types(raw: &mut Raw, types: &[&'static str]) {
    let concrete: Vec<&str> = types
        .iter()
        .copied()
        .filter(|name| *name != "NULL")
        .collect();
    match concrete.as_slice() {
        [] => {
            raw.map.insert("type".to_owned(), "NULL".into());
            return;
        }
        [single] => {
            raw.map.insert("type".to_owned(), (*single).into());
        }
        several => {
            let members = several
                .iter()
                .map(|name| {
                    let mut member = Raw::of_type(name);
                    for key in type_keywords(name) {
                        if let Some(value) = raw.map.get(*key) {
                            member.map.insert((*key).to_owned(), value.clone());
                        }
                    }
                    member
                })
                .collect();
            for name in several {
                for key in type_keywords(name) {
                    raw.map.shift_remove(*key);
                }
            }
            raw.any_of = Some(members);
        }
    }
    if concrete.len() < types.len() {
        raw.map.insert("nullable".to_owned(), Value::Bool(true));
    }
}

/// The keywords that only constrain values of one type.
fn type_keywords(name: &str) -> &'static [&'static str] {
    match name {
        "STRING" => &["minLength", "maxLength", "pattern"],
        "NUMBER" | "INTEGER" => &["minimum", "maximum"],
        "ARRAY" => &["items", "minItems", "maxItems"],
        "OBJECT" => &[
            "properties",
            "required",
            "minProperties",
            "maxProperties",
            "propertyOrdering",
        ],
        _ => &[],
    }
}

/// Rule 8: the type a typeless node's keywords imply.
fn implied_type(map: &Map<String, Value>, root: bool) -> &'static str {
    ["OBJECT", "ARRAY", "NUMBER", "STRING"]
        .into_iter()
        .find(|name| type_keywords(name).iter().any(|key| map.contains_key(*key)))
        .unwrap_or(if root { "OBJECT" } else { "STRING" })
}

/// Rules 11 and 12.
fn resolve_enum(map: &mut Map<String, Value>, notes: &mut Vec<String>) {
    let (values, constant) = match (map.shift_remove("const"), map.shift_remove("enum")) {
        (Some(constant), _) => (vec![constant], true),
        (None, Some(Value::Array(values))) => (values, false),
        _ => return,
    };
    let declared = map
        .get("type")
        .and_then(Value::as_str)
        .and_then(gemini_type);
    let concrete: Vec<&Value> = values.iter().filter(|value| !value.is_null()).collect();
    if concrete.is_empty() && declared.is_none() {
        map.insert("type".to_owned(), "NULL".into());
        return;
    }
    if concrete.len() < values.len() {
        map.insert("nullable".to_owned(), Value::Bool(true));
    }
    let strings = !concrete.is_empty() && concrete.iter().all(|value| value.is_string());
    if strings && matches!(declared, None | Some("STRING")) {
        map.insert("type".to_owned(), "STRING".into());
        let strings = concrete.into_iter().cloned().collect();
        map.insert("enum".to_owned(), Value::Array(strings));
        return;
    }
    if let (None, Some(common)) = (declared, common_type(&concrete)) {
        map.insert("type".to_owned(), common.into());
    }
    notes.push(if constant {
        format!("Must be exactly {}.", values[0])
    } else {
        let values: Vec<String> = values.iter().map(Value::to_string).collect();
        format!("One of: {}.", values.join(", "))
    });
}

/// The Gemini type all `values` share (integers and numbers mix into `NUMBER`).
fn common_type(values: &[&Value]) -> Option<&'static str> {
    values
        .iter()
        .map(|value| json_type(value))
        .try_fold(None, |common, next| match (common, next) {
            (None, next) => Some(Some(next)),
            (Some(common), next) if common == next => Some(Some(common)),
            (Some("INTEGER" | "NUMBER"), "INTEGER" | "NUMBER") => Some(Some("NUMBER")),
            _ => None,
        })?
}

fn json_type(value: &Value) -> &'static str {
    match value {
        Value::Null => "NULL",
        Value::Bool(_) => "BOOLEAN",
        Value::Number(number) if number.is_f64() => "NUMBER",
        Value::Number(_) => "INTEGER",
        Value::String(_) => "STRING",
        Value::Array(_) => "ARRAY",
        Value::Object(_) => "OBJECT",
    }
}

/// Rule 13.
fn check_format(map: &mut Map<String, Value>, notes: &mut Vec<String>) {
    let allowed: &[&str] = match map.get("type").and_then(Value::as_str) {
        Some("STRING") => &["date-time", "enum"],
        Some("NUMBER") => &["float", "double"],
        Some("INTEGER") => &["int32", "int64"],
        _ => &[],
    };
    let Some(format) = map.get("format").and_then(Value::as_str) else {
        return;
    };
    if !allowed.contains(&format) {
        notes.push(format!("Format: {format}."));
        map.shift_remove("format");
    }
}

/// Rules 18 and 19.
fn tidy_object(map: &mut Map<String, Value>, options: SchemaOptions) {
    let names: Vec<String> = match map.get("properties") {
        Some(Value::Object(properties)) => properties.keys().cloned().collect(),
        _ => Vec::new(),
    };
    if names.is_empty() {
        map.shift_remove("properties");
    }
    if let Some(Value::Array(required)) = map.shift_remove("required") {
        let mut kept: Vec<Value> = Vec::with_capacity(required.len());
        for name in required {
            let listed = name
                .as_str()
                .is_some_and(|name| names.iter().any(|known| known == name));
            if listed && !kept.contains(&name) {
                kept.push(name);
            }
        }
        if !kept.is_empty() {
            map.insert("required".to_owned(), Value::Array(kept));
        }
    }
    if options.property_ordering && !names.is_empty() && !map.contains_key("propertyOrdering") {
        let ordering = names.into_iter().map(Value::String).collect();
        map.insert("propertyOrdering".to_owned(), Value::Array(ordering));
    }
}

/// Appends a sentence, ending the text before it with a full stop if needed.
fn append_sentence(text: &mut String, sentence: &str) {
    text.truncate(text.trim_end().len());
    if !text.is_empty() {
        if !text.ends_with(['.', '!', '?']) {
            text.push('.');
        }
        text.push(' ');
    }
    text.push_str(sentence);
}

fn gemini_type(name: &str) -> Option<&'static str> {
    TYPES
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name))
}

fn count_objects(map: &Map<String, Value>) -> usize {
    fn count(value: &Value) -> usize {
        match value {
            Value::Object(map) => count_objects(map),
            Value::Array(items) => items.iter().map(count).sum(),
            _ => 0,
        }
    }
    1 + map.values().map(count).sum::<usize>()
}

fn unsupported(what: &str) -> String {
    format!(
        "{what} cannot be expressed in Gemini's schema subset; send the schema as JSON Schema \
         (responseJsonSchema / parametersJsonSchema) instead"
    )
}

/// What a keyword's value must be, for error messages.
fn expected(key: &str) -> &'static str {
    match key {
        "title" | "description" | "pattern" | "format" => "a string",
        "nullable" | "uniqueItems" => "a boolean",
        "minimum" | "maximum" | "multipleOf" => "a number",
        "enum" => "an array",
        "required" | "propertyOrdering" => "an array of strings",
        "dependentRequired" | "dependencies" => "an object",
        _ => "a non-negative integer",
    }
}

fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

/// Formats a location as a JSON pointer fragment (`#/properties/a~1b`).
fn pointer(loc: &[Cow<'_, str>]) -> String {
    let mut path = String::from("#");
    for token in loc {
        path.push('/');
        path.push_str(&escape(token));
    }
    path
}

fn escape(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

/// The tokens of a `#`-pointer `$ref`, or why it is not one.
fn pointer_tokens(reference: &str) -> Result<Loc<'_>, String> {
    let Some(fragment) = reference.strip_prefix('#') else {
        return Err(format!(
            "`$ref` \"{reference}\" points outside this schema; only `#` refs (such as \
             \"#/$defs/Name\") can be resolved"
        ));
    };
    if fragment.is_empty() {
        return Ok(Vec::new());
    }
    let Some(path) = fragment.strip_prefix('/') else {
        return Err(format!(
            "`$ref` \"{reference}\" names an anchor; only JSON pointers are supported"
        ));
    };
    Ok(path
        .split('/')
        .map(|token| {
            // `%XX` escapes of a URI fragment; text that does not decode to UTF-8 stays as is.
            let token = percent_encoding::percent_decode_str(token)
                .decode_utf8()
                .unwrap_or(Cow::Borrowed(token));
            if token.contains('~') {
                Cow::Owned(token.replace("~1", "/").replace("~0", "~"))
            } else {
                token
            }
        })
        .collect())
}

fn lookup<'v>(root: &'v Value, tokens: &[Cow<'_, str>]) -> Option<&'v Value> {
    tokens.iter().try_fold(root, |node, token| match node {
        Value::Object(map) => map.get(token.as_ref()),
        Value::Array(items) => token
            .parse::<usize>()
            .ok()
            .and_then(|index| items.get(index)),
        _ => None,
    })
}

/// Keywords whose value is a map of schemas, a list of schemas, or one schema.
const SCHEMA_MAPS: [&str; 6] = [
    "properties",
    "patternProperties",
    "$defs",
    "definitions",
    "dependentSchemas",
    "dependencies",
];
const SCHEMA_LISTS: [&str; 5] = ["allOf", "anyOf", "oneOf", "prefixItems", "items"];
const SCHEMA_VALUES: [&str; 11] = [
    "items",
    "additionalProperties",
    "additionalItems",
    "unevaluatedItems",
    "unevaluatedProperties",
    "not",
    "if",
    "then",
    "else",
    "contains",
    "propertyNames",
];

/// Checks that every `$ref` under `node` points into `root` (for [`to_json_schema`]).
fn check_refs<'a>(root: &Value, node: &'a Value, loc: &mut Loc<'a>) -> Result<(), SchemaError> {
    let Value::Object(obj) = node else {
        return Ok(());
    };
    for (key, value) in obj {
        let key = key.as_str();
        loc.push(Cow::Borrowed(key));
        let result = match value {
            _ if key == "$ref" => check_ref(root, value).map_err(|message| SchemaError {
                path: pointer(loc),
                message,
            }),
            Value::Object(children) if SCHEMA_MAPS.contains(&key) => children
                .iter()
                .try_for_each(|(name, child)| check_child(root, name.as_str(), child, loc)),
            Value::Array(children) if SCHEMA_LISTS.contains(&key) => children
                .iter()
                .enumerate()
                .try_for_each(|(index, child)| check_child(root, index.to_string(), child, loc)),
            child if SCHEMA_VALUES.contains(&key) => check_refs(root, child, loc),
            _ => Ok(()),
        };
        loc.pop();
        result?;
    }
    Ok(())
}

fn check_child<'a>(
    root: &Value,
    token: impl Into<Cow<'a, str>>,
    child: &'a Value,
    loc: &mut Loc<'a>,
) -> Result<(), SchemaError> {
    loc.push(token.into());
    let result = check_refs(root, child, loc);
    loc.pop();
    result
}

fn check_ref(root: &Value, reference: &Value) -> Result<(), String> {
    let Some(reference) = reference.as_str() else {
        return Err("`$ref` must be a string".to_owned());
    };
    let tokens = pointer_tokens(reference)?;
    match lookup(root, &tokens) {
        Some(_) => Ok(()),
        None => Err(format!(
            "`$ref` \"{reference}\" points nowhere in this schema"
        )),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn convert(schema: Value) -> Value {
        to_openapi_schema(&schema, SchemaOptions::default()).unwrap()
    }

    fn ordered(schema: Value) -> Value {
        to_openapi_schema(
            &schema,
            SchemaOptions {
                property_ordering: true,
            },
        )
        .unwrap()
    }

    fn fails(schema: Value) -> SchemaError {
        to_openapi_schema(&schema, SchemaOptions::default()).unwrap_err()
    }

    /// Converts `schema` as the single property `p` and returns what `p` became.
    fn property(schema: Value) -> Value {
        let converted = convert(json!({"type": "object", "properties": {"p": schema}}));
        converted["properties"]["p"].clone()
    }

    // Rule 1: references are inlined.

    #[test]
    fn ref_to_defs_is_inlined() {
        let schema = json!({
            "type": "object",
            "properties": {"pet": {"$ref": "#/$defs/Pet"}},
            "$defs": {"Pet": {"type": "string"}}
        });
        assert_eq!(
            convert(schema),
            json!({"type": "OBJECT", "properties": {"pet": {"type": "STRING"}}})
        );
    }

    #[test]
    fn ref_to_definitions_is_inlined() {
        let schema = json!({
            "properties": {"n": {"$ref": "#/definitions/N"}},
            "definitions": {"N": {"type": "integer"}}
        });
        assert_eq!(
            convert(schema),
            json!({"type": "OBJECT", "properties": {"n": {"type": "INTEGER"}}})
        );
    }

    #[test]
    fn ref_pointer_into_nested_defs_is_inlined() {
        let schema = json!({
            "properties": {
                "a": {"$defs": {"X": {"type": "boolean"}}, "type": "array", "items": {"$ref": "#/properties/a/$defs/X"}},
                "b": {"$ref": "#/properties/a/$defs/X"}
            }
        });
        assert_eq!(
            convert(schema),
            json!({"type": "OBJECT", "properties": {
                "a": {"type": "ARRAY", "items": {"type": "BOOLEAN"}},
                "b": {"type": "BOOLEAN"}
            }})
        );
    }

    #[test]
    fn ref_by_name_finds_the_nearest_enclosing_defs() {
        let schema = json!({
            "$defs": {"X": {"type": "string"}},
            "properties": {
                "a": {"$defs": {"Y": {"type": "number"}}, "properties": {"y": {"$ref": "#/$defs/Y"}, "x": {"$ref": "#/$defs/X"}}}
            }
        });
        assert_eq!(
            convert(schema),
            json!({"type": "OBJECT", "properties": {"a": {"type": "OBJECT", "properties": {
                "y": {"type": "NUMBER"}, "x": {"type": "STRING"}
            }}}})
        );
    }

    #[test]
    fn ref_escapes_are_decoded() {
        let schema = json!({
            "properties": {"a": {"$ref": "#/$defs/a~1b%20c"}},
            "$defs": {"a/b c": {"type": "string"}}
        });
        assert_eq!(
            convert(schema)["properties"]["a"],
            json!({"type": "STRING"})
        );
    }

    #[test]
    fn keys_beside_ref_are_merged_over_the_target() {
        let schema = json!({
            "properties": {"pet": {"$ref": "#/$defs/Pet", "description": "The pet to adopt.", "title": "Pet"}},
            "$defs": {"Pet": {"title": "Animal", "description": "An animal.", "type": "object",
                              "properties": {"name": {"type": "string"}}, "required": ["name"]}}
        });
        assert_eq!(
            convert(schema)["properties"]["pet"],
            json!({"title": "Pet", "description": "The pet to adopt.", "type": "OBJECT",
                   "properties": {"name": {"type": "STRING"}}, "required": ["name"]})
        );
    }

    #[test]
    fn a_definition_can_be_used_many_times() {
        let schema = json!({
            "properties": {"a": {"$ref": "#/$defs/S"}, "b": {"type": "array", "items": {"$ref": "#/$defs/S"}}},
            "$defs": {"S": {"type": "string"}}
        });
        assert_eq!(
            convert(schema)["properties"],
            json!({"a": {"type": "STRING"}, "b": {"type": "ARRAY", "items": {"type": "STRING"}}})
        );
    }

    // Rule 2: recursion and unresolvable references are errors.

    #[test]
    fn recursion_is_an_error_naming_the_ref() {
        let schema = json!({
            "properties": {"root": {"$ref": "#/$defs/Node"}},
            "$defs": {"Node": {"type": "object", "properties": {
                "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}}
            }}}
        });
        let error = fails(schema);
        assert_eq!(error.path, "#/$defs/Node/properties/children/items");
        assert!(
            error
                .message
                .starts_with("recursive schema: `$ref` \"#/$defs/Node\""),
            "{error}"
        );
        assert!(
            error
                .message
                .contains("cannot be expressed in Gemini's schema subset")
        );
    }

    #[test]
    fn indirect_recursion_is_an_error() {
        let schema = json!({
            "$ref": "#/$defs/A",
            "$defs": {
                "A": {"properties": {"b": {"$ref": "#/$defs/B"}}},
                "B": {"anyOf": [{"$ref": "#/$defs/A"}, {"type": "null"}]}
            }
        });
        let error = fails(schema);
        assert_eq!(error.path, "#/$defs/B/anyOf/0");
        assert!(error.message.contains("\"#/$defs/A\""));
    }

    #[test]
    fn ref_to_the_root_is_recursive() {
        let error = fails(json!({"properties": {"next": {"$ref": "#"}}}));
        assert_eq!(error.path, "#/properties/next");
        assert!(error.message.starts_with("recursive schema: `$ref` \"#\""));
    }

    #[test]
    fn ref_to_an_enclosing_property_is_recursive() {
        let error = fails(
            json!({"properties": {"a": {"type": "array", "items": {"$ref": "#/properties/a"}}}}),
        );
        assert_eq!(error.path, "#/properties/a/items");
    }

    #[test]
    fn external_anchor_and_dangling_refs_are_errors() {
        let error = fails(json!({"properties": {"a": {"$ref": "https://example.com/a.json"}}}));
        assert_eq!(error.path, "#/properties/a/$ref");
        assert!(
            error
                .message
                .contains("\"https://example.com/a.json\" points outside this schema")
        );
        let error = fails(json!({"properties": {"a": {"$ref": "#node"}}}));
        assert!(error.message.contains("anchor"), "{error}");
        let error = fails(json!({"properties": {"a": {"$ref": "#/$defs/Missing"}}}));
        assert_eq!(
            error.message,
            "`$ref` \"#/$defs/Missing\" points nowhere in this schema"
        );
        assert_eq!(fails(json!({"$ref": 3})).path, "#/$ref");
    }

    // Rule 3: guards.

    #[test]
    fn deep_nesting_is_an_error() {
        let mut schema = json!({"type": "string"});
        for _ in 0..70 {
            schema = json!({"type": "array", "items": schema});
        }
        let error = fails(schema);
        assert!(error.message.contains("deeper than 64"), "{error}");
    }

    #[test]
    fn diamond_shaped_reuse_is_capped() {
        let mut defs = Map::new();
        for level in 0..20 {
            let next = format!("#/$defs/D{}", level + 1);
            defs.insert(
                format!("D{level}"),
                json!({"properties": {"l": {"$ref": next}, "r": {"$ref": next}}}),
            );
        }
        defs.insert("D20".to_owned(), json!({"type": "string"}));
        let schema = json!({"$ref": "#/$defs/D0", "$defs": defs});
        let error = fails(schema);
        assert!(error.message.contains("more than 100000 nodes"), "{error}");
    }

    // Rule 4: anyOf / oneOf.

    #[test]
    fn null_member_becomes_nullable_and_one_member_collapses() {
        let schema = json!({"anyOf": [{"type": "string", "maxLength": 5}, {"type": "null"}], "default": null, "title": "Nick"});
        assert_eq!(
            property(schema),
            json!({"type": "STRING", "maxLength": 5, "nullable": true, "default": null, "title": "Nick"})
        );
    }

    #[test]
    fn one_of_becomes_any_of() {
        let schema = json!({"oneOf": [{"type": "string"}, {"type": "integer"}]});
        assert_eq!(
            property(schema),
            json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]})
        );
    }

    #[test]
    fn several_members_with_null_are_each_nullable() {
        let schema = json!({"anyOf": [{"type": "string"}, {"type": "null"}, {"type": "number"}]});
        assert_eq!(
            property(schema),
            json!({"anyOf": [{"type": "STRING", "nullable": true}, {"type": "NUMBER", "nullable": true}]})
        );
    }

    #[test]
    fn string_constant_members_become_one_enum() {
        let schema = json!({"description": "Priority.", "oneOf": [
            {"description": "Ship today.", "type": "string", "const": "urgent"},
            {"type": "string", "enum": ["normal", "low"]},
            {"const": "never"},
            {"type": "null"}
        ]});
        assert_eq!(
            property(schema),
            json!({"description": "Priority. \"urgent\": Ship today.", "type": "STRING",
                   "enum": ["urgent", "normal", "low", "never"], "nullable": true})
        );
        let mixed = json!({"anyOf": [{"const": "a"}, {"const": 1}]});
        assert_eq!(
            property(mixed),
            json!({"anyOf": [{"type": "STRING", "enum": ["a"]}, {"type": "INTEGER", "description": "Must be exactly 1."}]})
        );
    }

    #[test]
    fn only_null_members_give_type_null() {
        assert_eq!(
            property(json!({"anyOf": [{"type": "null"}]})),
            json!({"type": "NULL"})
        );
    }

    #[test]
    fn any_of_with_one_of_or_empty_is_an_error() {
        let error = fails(json!({"anyOf": [{"type": "string"}], "oneOf": [{"type": "string"}]}));
        assert!(error.message.contains("cannot be combined"));
        assert_eq!(
            fails(json!({"properties": {"a": {"anyOf": []}}})).path,
            "#/properties/a/anyOf"
        );
        assert_eq!(
            fails(json!({"oneOf": [{"type": "string"}, 7]})).path,
            "#/oneOf/1"
        );
    }

    // Rule 5: anyOf stands alone.

    #[test]
    fn keys_around_any_of_go_into_every_member() {
        let schema = json!({
            "description": "Where to ship.",
            "title": "Destination",
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "anyOf": [
                {"required": ["a"], "title": "ByA", "description": "Use a."},
                {"required": ["b"]}
            ]
        });
        let props = json!({"a": {"type": "STRING"}, "b": {"type": "STRING"}});
        assert_eq!(
            property(schema),
            json!({"anyOf": [
                {"description": "Where to ship. Use a.", "title": "ByA", "type": "OBJECT", "properties": props, "required": ["a"]},
                {"description": "Where to ship.", "title": "Destination", "type": "OBJECT", "properties": props, "required": ["b"]}
            ]})
        );
    }

    #[test]
    fn nested_unions_are_flattened() {
        let schema = json!({"anyOf": [{"anyOf": [{"type": "string"}, {"type": "integer"}]}, {"type": "boolean"}]});
        assert_eq!(
            property(schema),
            json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}, {"type": "BOOLEAN"}]})
        );
    }

    // Rule 6: allOf.

    #[test]
    fn all_of_with_one_member_is_merged() {
        let schema = json!({
            "properties": {"c": {"description": "The customer.", "allOf": [{"$ref": "#/definitions/C"}]}},
            "definitions": {"C": {"description": "A customer.", "type": "object", "properties": {"id": {"type": "integer"}}}}
        });
        assert_eq!(
            convert(schema)["properties"]["c"],
            json!({"description": "The customer.", "type": "OBJECT", "properties": {"id": {"type": "INTEGER"}}})
        );
    }

    #[test]
    fn all_of_objects_are_merged() {
        let schema = json!({"allOf": [
            {"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a"]},
            {"properties": {"b": {"type": "integer"}}, "required": ["b", "a"]}
        ]});
        assert_eq!(
            ordered(schema),
            json!({"type": "OBJECT", "properties": {"a": {"type": "STRING"}, "b": {"type": "INTEGER"}},
                   "required": ["a", "b"], "propertyOrdering": ["a", "b"]})
        );
    }

    #[test]
    fn all_of_keeps_nullable_only_if_all_agree() {
        let schema = json!({"allOf": [{"type": "string", "nullable": true}, {"nullable": false}]});
        assert_eq!(
            property(schema),
            json!({"type": "STRING", "nullable": false})
        );
    }

    #[test]
    fn conflicting_all_of_is_an_error() {
        let error = fails(
            json!({"properties": {"a": {"allOf": [{"type": "string"}, {"type": "integer"}]}}}),
        );
        assert_eq!(error.path, "#/properties/a");
        assert_eq!(
            error.message,
            "combined schemas disagree on `type`: \"STRING\" and \"INTEGER\""
        );
        let error = fails(json!({"allOf": [
            {"properties": {"a": {"type": "string"}}},
            {"properties": {"a": {"type": "integer"}}}
        ]}));
        assert!(error.message.contains("property `a` in two different ways"));
        let error = fails(
            json!({"allOf": [{"anyOf": [{"type": "string"}, {"type": "integer"}]},
                                           {"anyOf": [{"type": "string"}, {"type": "boolean"}]}]}),
        );
        assert!(error.message.contains("two unions"));
    }

    // Rule 7: types.

    #[test]
    fn types_are_upper_cased() {
        for (name, gemini) in [
            ("string", "STRING"),
            ("number", "NUMBER"),
            ("integer", "INTEGER"),
            ("boolean", "BOOLEAN"),
            ("object", "OBJECT"),
            ("null", "NULL"),
            ("STRING", "STRING"),
        ] {
            assert_eq!(property(json!({"type": name}))["type"], json!(gemini));
        }
    }

    #[test]
    fn type_with_null_becomes_nullable() {
        assert_eq!(
            property(json!({"type": ["string", "null"]})),
            json!({"type": "STRING", "nullable": true})
        );
        assert_eq!(property(json!({"type": ["null"]})), json!({"type": "NULL"}));
    }

    #[test]
    fn several_types_become_any_of_with_their_keywords() {
        let schema = json!({
            "type": ["string", "array", "null"], "description": "Tags.",
            "maxLength": 10, "items": {"type": "string"}, "maxItems": 3
        });
        assert_eq!(
            property(schema),
            json!({"anyOf": [
                {"type": "STRING", "maxLength": 10, "description": "Tags.", "nullable": true},
                {"type": "ARRAY", "items": {"type": "STRING"}, "maxItems": 3, "description": "Tags.", "nullable": true}
            ]})
        );
    }

    #[test]
    fn bad_types_are_errors() {
        let error = fails(json!({"properties": {"a": {"type": "text"}}}));
        assert_eq!(error.path, "#/properties/a/type");
        assert_eq!(error.message, "unknown type \"text\"");
        assert_eq!(fails(json!({"type": []})).path, "#/type");
        assert_eq!(fails(json!({"type": 3})).path, "#/type");
    }

    // Rules 8 and 9: implied types and items.

    #[test]
    fn typeless_nodes_get_a_type() {
        assert_eq!(
            property(json!({"properties": {"x": {"type": "string"}}}))["type"],
            json!("OBJECT")
        );
        assert_eq!(
            property(json!({"items": {"type": "string"}}))["type"],
            json!("ARRAY")
        );
        assert_eq!(property(json!({"minimum": 1}))["type"], json!("NUMBER"));
        assert_eq!(
            property(json!({"title": "Anything"})),
            json!({"title": "Anything", "type": "STRING"})
        );
        assert_eq!(property(json!(true)), json!({"type": "STRING"}));
    }

    #[test]
    fn typeless_root_is_an_object() {
        assert_eq!(convert(json!({})), json!({"type": "OBJECT"}));
        assert_eq!(convert(json!(true)), json!({"type": "OBJECT"}));
        assert_eq!(
            convert(json!({"items": {"type": "string"}}))["type"],
            json!("ARRAY")
        );
    }

    #[test]
    fn arrays_without_item_schema_hold_strings() {
        let expected = json!({"type": "ARRAY", "items": {"type": "STRING"}});
        assert_eq!(property(json!({"type": "array"})), expected);
        assert_eq!(property(json!({"type": "array", "items": {}})), expected);
    }

    // Rule 10: tuples.

    #[test]
    fn tuples_become_any_of_items() {
        let schema = json!({"type": "array", "prefixItems": [{"type": "integer"}, {"type": "string"}],
                            "minItems": 2, "maxItems": 2});
        assert_eq!(
            property(schema),
            json!({"type": "ARRAY", "items": {"anyOf": [{"type": "INTEGER"}, {"type": "STRING"}]},
                   "minItems": 2, "maxItems": 2, "description": TUPLE_NOTE})
        );
    }

    #[test]
    fn tuples_of_one_type_need_no_note() {
        let schema = json!({"type": "array", "items": [{"type": "number"}, {"type": "number"}], "additionalItems": false});
        assert_eq!(
            property(schema),
            json!({"type": "ARRAY", "items": {"type": "NUMBER"}})
        );
    }

    #[test]
    fn tuple_rest_items_are_an_alternative() {
        let schema = json!({"type": "array", "prefixItems": [{"type": "string"}], "items": {"type": "integer"}});
        assert_eq!(
            property(schema)["items"],
            json!({"anyOf": [{"type": "STRING"}, {"type": "INTEGER"}]})
        );
    }

    // Rules 11 and 12: const and enum.

    #[test]
    fn string_const_becomes_a_one_value_enum() {
        assert_eq!(
            property(json!({"const": "web"})),
            json!({"type": "STRING", "enum": ["web"]})
        );
        assert_eq!(
            property(json!({"type": "string", "const": "web"})),
            json!({"type": "STRING", "enum": ["web"]})
        );
    }

    #[test]
    fn null_in_enum_becomes_nullable() {
        assert_eq!(
            property(json!({"enum": ["a", "b", null]})),
            json!({"type": "STRING", "enum": ["a", "b"], "nullable": true})
        );
        assert_eq!(property(json!({"const": null})), json!({"type": "NULL"}));
        assert_eq!(property(json!({"enum": [null]})), json!({"type": "NULL"}));
    }

    #[test]
    fn non_string_enum_moves_into_the_description() {
        assert_eq!(
            property(json!({"type": "integer", "enum": [1, 2, 3], "description": "Level"})),
            json!({"type": "INTEGER", "description": "Level. One of: 1, 2, 3."})
        );
        assert_eq!(
            property(json!({"enum": [1, 2.5]})),
            json!({"type": "NUMBER", "description": "One of: 1, 2.5."})
        );
        assert_eq!(
            property(json!({"enum": ["a", 1]})),
            json!({"type": "STRING", "description": "One of: \"a\", 1."})
        );
        assert_eq!(
            property(json!({"type": "string", "enum": [1, null]})),
            json!({"type": "STRING", "nullable": true, "description": "One of: 1, null."})
        );
    }

    #[test]
    fn non_string_const_moves_into_the_description() {
        assert_eq!(
            property(json!({"const": 3})),
            json!({"type": "INTEGER", "description": "Must be exactly 3."})
        );
        assert_eq!(
            property(json!({"type": "boolean", "const": true})),
            json!({"type": "BOOLEAN", "description": "Must be exactly true."})
        );
    }

    #[test]
    fn string_enum_on_another_type_is_described() {
        assert_eq!(
            property(json!({"type": "integer", "enum": ["1"]})),
            json!({"type": "INTEGER", "description": "One of: \"1\"."})
        );
    }

    // Rule 13: format.

    #[test]
    fn supported_formats_are_kept() {
        for (kind, format) in [
            ("string", "date-time"),
            ("string", "enum"),
            ("number", "float"),
            ("number", "double"),
            ("integer", "int32"),
            ("integer", "int64"),
        ] {
            let converted = property(json!({"type": kind, "format": format}));
            assert_eq!(converted["format"], json!(format), "{kind} {format}");
        }
    }

    #[test]
    fn other_formats_move_into_the_description() {
        assert_eq!(
            property(json!({"type": "string", "format": "uuid", "description": "Id"})),
            json!({"type": "STRING", "description": "Id. Format: uuid."})
        );
        assert_eq!(
            property(json!({"type": "integer", "format": "uint32", "minimum": 0})),
            json!({"type": "INTEGER", "minimum": 0, "description": "Format: uint32."})
        );
        assert_eq!(
            property(json!({"type": "integer", "format": "double"})),
            json!({"type": "INTEGER", "description": "Format: double."})
        );
    }

    // Rules 14 and 15: constraints written into the description.

    #[test]
    fn exclusive_bounds_become_bounds_and_sentences() {
        assert_eq!(
            property(json!({"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 1})),
            json!({"type": "NUMBER", "minimum": 0, "maximum": 1,
                   "description": "Must be greater than 0. Must be less than 1."})
        );
        assert_eq!(
            property(json!({"type": "number", "exclusiveMinimum": 0, "minimum": 5})),
            json!({"type": "NUMBER", "minimum": 5, "description": "Must be greater than 0."})
        );
        assert_eq!(
            property(
                json!({"type": "number", "minimum": 5, "exclusiveMinimum": true, "exclusiveMaximum": false})
            ),
            json!({"type": "NUMBER", "minimum": 5, "description": "Must be greater than 5."})
        );
        assert_eq!(
            fails(json!({"exclusiveMinimum": "0"})).path,
            "#/exclusiveMinimum"
        );
    }

    #[test]
    fn inexpressible_constraints_are_described() {
        assert_eq!(
            property(json!({"type": "integer", "multipleOf": 5})),
            json!({"type": "INTEGER", "description": "Must be a multiple of 5."})
        );
        assert_eq!(
            property(json!({"type": "array", "items": {"type": "string"}, "uniqueItems": true})),
            json!({"type": "ARRAY", "items": {"type": "STRING"}, "description": "Items must be unique."})
        );
        assert_eq!(
            property(json!({"type": "string", "uniqueItems": false})),
            json!({"type": "STRING"})
        );
        assert_eq!(
            property(json!({"type": "array", "contains": {"const": "x"}, "minContains": 2})),
            json!({"type": "ARRAY", "items": {"type": "STRING"},
                   "description": "Must contain an item matching the JSON Schema {\"const\":\"x\"}."})
        );
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
                            "dependentRequired": {"a": ["b"]}});
        assert_eq!(
            property(schema)["description"],
            json!("If `a` is present, `b` must be present too.")
        );
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "dependencies": {"a": ["b", "c"]}});
        assert_eq!(
            property(schema)["description"],
            json!("If `a` is present, `b`, `c` must be present too.")
        );
        assert_eq!(
            fails(json!({"multipleOf": "5"})).message,
            "`multipleOf` must be a number"
        );
    }

    // Rule 16: refused keywords.

    #[test]
    fn keywords_deciding_validity_without_equivalent_are_errors() {
        let error = fails(json!({"properties": {"a": {"type": "string", "not": {"const": "x"}}}}));
        assert_eq!(error.path, "#/properties/a/not");
        assert!(
            error
                .message
                .starts_with("`not` cannot be expressed in Gemini's schema subset")
        );
        let error =
            fails(json!({"if": {"properties": {"a": {"const": 1}}}, "then": {"required": ["b"]}}));
        assert_eq!(error.path, "#/if");
        assert!(error.message.starts_with("`if`/`then`/`else` cannot"));
        assert_eq!(
            fails(json!({"dependentSchemas": {"a": {}}})).path,
            "#/dependentSchemas"
        );
        assert_eq!(
            fails(json!({"dependencies": {"a": {"required": ["b"]}}})).path,
            "#/dependencies"
        );
        assert_eq!(fails(json!({"$dynamicRef": "#node"})).path, "#/$dynamicRef");
        assert_eq!(fails(json!({"$recursiveRef": "#"})).path, "#/$recursiveRef");
    }

    #[test]
    fn if_without_then_or_else_has_no_effect() {
        assert_eq!(
            property(json!({"type": "string", "if": {"const": "x"}})),
            json!({"type": "STRING"})
        );
    }

    // Rules 17 and 18: objects.

    #[test]
    fn additional_properties_are_dropped_in_every_form() {
        for additional in [json!(false), json!(true), json!({"type": "integer"})] {
            let schema = json!({"type": "object", "additionalProperties": additional,
                                "patternProperties": {"^x": {}}, "propertyNames": {"pattern": "^[a-z]+$"},
                                "unevaluatedProperties": false});
            assert_eq!(property(schema), json!({"type": "OBJECT"}));
        }
    }

    #[test]
    fn properties_that_must_be_absent_are_left_out() {
        let schema =
            json!({"type": "object", "properties": {"a": {"type": "string"}, "legacy": false}});
        assert_eq!(
            property(schema),
            json!({"type": "OBJECT", "properties": {"a": {"type": "STRING"}}})
        );
    }

    #[test]
    fn empty_properties_are_removed_and_the_type_kept() {
        assert_eq!(
            convert(json!({"type": "object", "properties": {}, "required": []})),
            json!({"type": "OBJECT"})
        );
        assert_eq!(
            convert(json!({"properties": {}, "required": ["a"]})),
            json!({"type": "OBJECT"})
        );
    }

    #[test]
    fn required_names_must_be_properties() {
        let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}, "required": ["a", "ghost", "a"]});
        assert_eq!(convert(schema)["required"], json!(["a"]));
    }

    // Rule 19: propertyOrdering.

    #[test]
    fn property_ordering_follows_the_key_order_everywhere() {
        let schema = json!({
            "type": "object",
            "properties": {
                "zeta": {"type": "string"},
                "alpha": {"type": "array", "items": {"type": "object", "properties": {"y": {"type": "string"}, "x": {"type": "string"}}}},
                "mid": {"type": "object", "properties": {"b": {"type": "string"}}, "propertyOrdering": ["b"]},
                "empty": {"type": "object", "properties": {}}
            }
        });
        let converted = ordered(schema);
        assert_eq!(
            converted["propertyOrdering"],
            json!(["zeta", "alpha", "mid", "empty"])
        );
        assert_eq!(
            converted["properties"]["alpha"]["items"]["propertyOrdering"],
            json!(["y", "x"])
        );
        assert_eq!(
            converted["properties"]["mid"]["propertyOrdering"],
            json!(["b"])
        );
        assert_eq!(converted["properties"]["empty"], json!({"type": "OBJECT"}));
        assert!(
            convert(json!({"properties": {"a": {}}}))
                .get("propertyOrdering")
                .is_none()
        );
    }

    // Rule 20: property names are not keywords.

    #[test]
    fn properties_named_like_keywords_are_kept() {
        let schema = json!({
            "type": "object", "strict": true,
            "properties": {"strict": {"type": "boolean"}, "$ref": {"type": "string"}, "type": {"type": "string"}},
            "required": ["strict", "$ref", "type"]
        });
        assert_eq!(
            convert(schema),
            json!({"type": "OBJECT",
                   "properties": {"strict": {"type": "BOOLEAN"}, "$ref": {"type": "STRING"}, "type": {"type": "STRING"}},
                   "required": ["strict", "$ref", "type"]})
        );
    }

    // Rules 21 and 22: annotations.

    #[test]
    fn supported_keywords_are_kept() {
        let string = json!({"type": "string", "title": "T", "description": "D", "default": "x", "example": "y",
                            "nullable": true, "minLength": 1, "maxLength": 9, "pattern": "^[a-z]+$"});
        let mut expected = string.clone();
        expected["type"] = json!("STRING");
        assert_eq!(property(string), expected);
        let number = json!({"type": "number", "minimum": 1.5, "maximum": 2});
        assert_eq!(
            property(number),
            json!({"type": "NUMBER", "minimum": 1.5, "maximum": 2})
        );
        let array =
            json!({"type": "array", "items": {"type": "string"}, "minItems": 1, "maxItems": 2.0});
        assert_eq!(
            property(array),
            json!({"type": "ARRAY", "items": {"type": "STRING"}, "minItems": 1, "maxItems": 2.0})
        );
        let object = json!({"type": "object", "properties": {"a": {"type": "string"}}, "minProperties": 1, "maxProperties": 1});
        assert_eq!(
            property(object),
            json!({"type": "OBJECT", "properties": {"a": {"type": "STRING"}}, "minProperties": 1, "maxProperties": 1})
        );
    }

    #[test]
    fn annotations_without_effect_are_dropped() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "https://example.com/s",
            "$anchor": "s", "$comment": "c", "strict": true, "readOnly": true, "writeOnly": false,
            "deprecated": true, "contentEncoding": "base64", "contentMediaType": "image/png",
            "discriminator": {"propertyName": "kind"}, "x-vendor": 1, "type": "string"
        });
        assert_eq!(property(schema), json!({"type": "STRING"}));
    }

    #[test]
    fn first_example_becomes_example() {
        assert_eq!(
            property(json!({"type": "string", "examples": ["a", "b"]})),
            json!({"type": "STRING", "example": "a"})
        );
        assert_eq!(
            property(json!({"type": "string", "examples": ["a"], "example": "z"})),
            json!({"type": "STRING", "example": "z"})
        );
    }

    // Rule 23: what is not a schema.

    #[test]
    fn malformed_schemas_are_errors_with_paths() {
        let error = fails(json!({"properties": {"a": 3}}));
        assert_eq!(
            error,
            SchemaError {
                path: "#/properties/a".to_owned(),
                message: "expected a schema object, found a number".to_owned()
            }
        );
        assert_eq!(
            error.to_string(),
            "invalid schema at #/properties/a: expected a schema object, found a number"
        );
        assert_eq!(
            fails(json!({"properties": ["a"]})).message,
            "`properties` must be an object"
        );
        assert_eq!(
            fails(json!({"required": ["a", 1]})).message,
            "`required` must be an array of strings"
        );
        assert_eq!(
            fails(json!({"properties": {"a": {"minItems": -1}}})).path,
            "#/properties/a/minItems"
        );
        assert_eq!(
            fails(json!({"description": 1})).message,
            "`description` must be a string"
        );
        assert_eq!(
            fails(json!({"enum": "a"})).message,
            "`enum` must be an array"
        );
        assert_eq!(fails(json!({"$defs": []})).path, "#/$defs");
        assert_eq!(
            fails(json!({"properties": {"a/b": []}})).path,
            "#/properties/a~1b"
        );
        assert_eq!(
            fails(json!({"items": false, "prefixItems": [false]})).path,
            "#/prefixItems/0"
        );
        assert_eq!(fails(json!("string")).path, "#");
    }

    // to_json_schema.

    #[test]
    fn json_schema_drops_only_top_level_flags() {
        let schema = json!({
            "$schema": "https://json-schema.org/draft/2020-12/schema", "$id": "urn:x", "strict": true,
            "type": "object",
            "properties": {"strict": {"type": "boolean"}, "item": {"$ref": "#/$defs/Item"}},
            "additionalProperties": false,
            "$defs": {"Item": {"type": ["string", "null"], "$comment": "kept"}}
        });
        assert_eq!(
            to_json_schema(&schema).unwrap(),
            json!({
                "type": "object",
                "properties": {"strict": {"type": "boolean"}, "item": {"$ref": "#/$defs/Item"}},
                "additionalProperties": false,
                "$defs": {"Item": {"type": ["string", "null"], "$comment": "kept"}}
            })
        );
    }

    #[test]
    fn json_schema_checks_refs_and_root() {
        let error = to_json_schema(&json!([1])).unwrap_err();
        assert_eq!(error.path, "#");
        let error = to_json_schema(&json!({"anyOf": [{"type": "null"}, {"$ref": "#/$defs/Gone"}]}))
            .unwrap_err();
        assert_eq!(error.path, "#/anyOf/1/$ref");
        assert!(error.message.contains("points nowhere"));
        let error =
            to_json_schema(&json!({"properties": {"a": {"$ref": "other.json#/x"}}})).unwrap_err();
        assert_eq!(error.path, "#/properties/a/$ref");
        let data =
            json!({"properties": {"$ref": {"type": "string", "default": {"$ref": "not a ref"}}}});
        assert_eq!(to_json_schema(&data).unwrap(), data);
    }

    // Fixtures: schemas as schemars, pydantic and OpenAI strict mode emit them.

    fn fixture(input: &str, expected: &str, run: impl Fn(&Value) -> Result<Value, SchemaError>) {
        let input: Value = serde_json::from_str(input).unwrap();
        let expected: Value = serde_json::from_str(expected).unwrap();
        let actual = run(&input).unwrap_or_else(
            |error| json!({"error": {"path": error.path, "message": error.message}}),
        );
        assert_eq!(
            actual,
            expected,
            "actual:\n{}",
            serde_json::to_string_pretty(&actual).unwrap()
        );
    }

    macro_rules! fixture {
        ($name:literal, $run:expr) => {
            fixture(
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/schemas/",
                    $name,
                    ".input.json"
                )),
                include_str!(concat!(
                    env!("CARGO_MANIFEST_DIR"),
                    "/tests/fixtures/schemas/",
                    $name,
                    ".expected.json"
                )),
                $run,
            )
        };
    }

    #[test]
    fn fixture_schemars_1() {
        fixture!("schemars-1-order", |s| to_openapi_schema(
            s,
            SchemaOptions::default()
        ));
    }

    #[test]
    fn fixture_schemars_0_8() {
        fixture!("schemars-0.8-order", |s| to_openapi_schema(
            s,
            SchemaOptions::default()
        ));
    }

    #[test]
    fn fixture_pydantic_response() {
        fixture!("pydantic-order", |s| to_openapi_schema(
            s,
            SchemaOptions {
                property_ordering: true
            }
        ));
    }

    #[test]
    fn fixture_pydantic_recursive() {
        fixture!("pydantic-tree", |s| to_openapi_schema(
            s,
            SchemaOptions::default()
        ));
    }

    #[test]
    fn fixture_openai_strict() {
        fixture!("openai-strict", |s| to_openapi_schema(
            s,
            SchemaOptions {
                property_ordering: true
            }
        ));
    }

    #[test]
    fn fixture_openai_strict_as_json_schema() {
        fixture!("openai-strict-json", to_json_schema);
    }
}
