//! [`example`]: a JSON value valid for a schema, the way the demo stand-in makes a function
//! call's arguments and a structured-output answer. It reads both schema dialects Gemini
//! takes: JSON Schema (`parametersJsonSchema`, `responseJsonSchema`) and Gemini's OpenAPI
//! subset (`parameters`, `responseSchema`: upper-case `type`, `nullable`, counts as strings).
//!
//! | schema | example |
//! |---|---|
//! | `const`, `enum` | the constant, the first value |
//! | `$ref` (`#/$defs/…`, `#/definitions/…`) | the example of the schema it names |
//! | `anyOf`, `oneOf`, `allOf`, a list of types | the first alternative that is not `null` |
//! | `object` | every `required` property (or, without `required`, every property), each its own example |
//! | `array` | `minItems` items (at least one when `items` is given, at most [`MAX_ITEMS`]) |
//! | `string` | by `format` (date, time, email, URI, UUID), else `example`, padded to `minLength`, cut to `maxLength` |
//! | `integer`, `number` | 1 (1.5), moved into `minimum`/`maximum` and their exclusive forms |
//! | `boolean`, `null` | `true`, `null` |
//!
//! A schema nested deeper than [`MAX_DEPTH`] (a recursive `$ref`) ends in `null`, and an
//! example has at most [`MAX_VALUES`] values (later ones are `null`), so a request's schema
//! never costs more than a bounded walk.

use std::cell::Cell;

use serde_json::{Map, Value, json};

/// How deep [`example`] follows nested schemas.
pub(crate) const MAX_DEPTH: usize = 24;
/// The most items an example array has.
pub(crate) const MAX_ITEMS: u64 = 16;
/// The most values (objects, arrays and scalars) an example has.
pub(crate) const MAX_VALUES: usize = 4096;

/// A value valid for `schema` (see the [module](self)).
pub(crate) fn example(schema: &Value) -> Value {
    let walk = Walk {
        root: schema,
        left: Cell::new(MAX_VALUES),
    };
    walk.value(schema, "", 0)
}

struct Walk<'a> {
    root: &'a Value,
    /// Values still to be made.
    left: Cell<usize>,
}

/// A count keyword (`minItems`, …) as a number: JSON Schema has numbers, Gemini's OpenAPI
/// subset strings.
fn count(schema: &Value, key: &str) -> Option<u64> {
    match schema.get(key)? {
        Value::Number(number) => number.as_u64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

fn number(schema: &Value, key: &str) -> Option<f64> {
    match schema.get(key)? {
        Value::Number(number) => number.as_f64(),
        Value::String(text) => text.parse().ok(),
        _ => None,
    }
}

/// The schema's type, lower case (the OpenAPI subset writes `STRING`), the first that is
/// not `null` when it is a list; inferred from `properties` or `items` when absent.
fn kind(schema: &Value) -> Option<String> {
    let named = match schema.get("type") {
        Some(Value::String(kind)) => Some(kind.to_ascii_lowercase()),
        Some(Value::Array(kinds)) => kinds
            .iter()
            .filter_map(Value::as_str)
            .map(str::to_ascii_lowercase)
            .find(|kind| kind != "null")
            .or_else(|| (!kinds.is_empty()).then(|| "null".to_owned())),
        _ => None,
    };
    named.or_else(|| {
        if schema.get("properties").is_some() {
            Some("object".to_owned())
        } else if schema.get("items").is_some() {
            Some("array".to_owned())
        } else {
            None
        }
    })
}

impl Walk<'_> {
    fn value(&self, schema: &Value, name: &str, depth: usize) -> Value {
        let left = self.left.get();
        if depth > MAX_DEPTH || left == 0 {
            return Value::Null;
        }
        self.left.set(left - 1);
        let Some(object) = schema.as_object() else {
            // `true` (anything) or a malformed schema.
            return json!("example");
        };
        if let Some(constant) = object.get("const") {
            return constant.clone();
        }
        if let Some(first) = object
            .get("enum")
            .and_then(Value::as_array)
            .and_then(|values| values.first())
        {
            return first.clone();
        }
        if let Some(target) = object
            .get("$ref")
            .and_then(Value::as_str)
            .and_then(|reference| self.resolve(reference))
        {
            return self.value(target, name, depth + 1);
        }
        for combinator in ["anyOf", "oneOf", "allOf"] {
            if let Some(alternatives) = object.get(combinator).and_then(Value::as_array) {
                let chosen = alternatives
                    .iter()
                    .find(|alternative| kind(alternative).as_deref() != Some("null"))
                    .or(alternatives.first());
                if let Some(chosen) = chosen {
                    return self.value(chosen, name, depth + 1);
                }
            }
        }
        match kind(schema).as_deref() {
            Some("object") => self.object(object, depth),
            Some("array") => self.array(schema, name, depth),
            Some("integer") => json!(bounded(schema, 1.0, 1.0).ceil() as i64),
            Some("number") => json!(bounded(schema, 1.5, 0.5)),
            Some("boolean") => json!(true),
            Some("null") => Value::Null,
            _ => json!(string(schema, name)),
        }
    }

    /// The schema `#/…` names within the root, if any.
    fn resolve(&self, reference: &str) -> Option<&Value> {
        let pointer = reference.strip_prefix('#')?;
        self.root.pointer(pointer)
    }

    fn object(&self, schema: &Map<String, Value>, depth: usize) -> Value {
        let Some(properties) = schema.get("properties").and_then(Value::as_object) else {
            return json!({});
        };
        let required: Option<Vec<&str>> = schema
            .get("required")
            .and_then(Value::as_array)
            .map(|names| names.iter().filter_map(Value::as_str).collect());
        let example = properties
            .iter()
            .filter(|(name, _)| {
                required
                    .as_ref()
                    .is_none_or(|required| required.contains(&name.as_str()))
            })
            .map(|(name, property)| (name.clone(), self.value(property, name, depth + 1)))
            .collect();
        Value::Object(example)
    }

    fn array(&self, schema: &Value, name: &str, depth: usize) -> Value {
        let Some(items) = schema.get("items") else {
            return json!([]);
        };
        let at_least = count(schema, "minItems").unwrap_or(1).max(1);
        let length = at_least
            .min(count(schema, "maxItems").unwrap_or(u64::MAX))
            .min(MAX_ITEMS);
        (0..length)
            .map(|_| self.value(items, name, depth + 1))
            .collect()
    }
}

/// `preferred`, moved into the schema's bounds; `step` below an exclusive maximum.
fn bounded(schema: &Value, preferred: f64, step: f64) -> f64 {
    let mut value = preferred;
    if let Some(minimum) = number(schema, "minimum") {
        value = value.max(minimum);
    }
    if let Some(minimum) = number(schema, "exclusiveMinimum") {
        value = value.max(minimum + step);
    }
    if let Some(maximum) = number(schema, "maximum") {
        value = value.min(maximum);
    }
    if let Some(maximum) = number(schema, "exclusiveMaximum")
        && value >= maximum
    {
        value = maximum - step;
    }
    value
}

/// A string for the property `name`, by `format`, within the length bounds.
fn string(schema: &Value, name: &str) -> String {
    let by_format = match schema.get("format").and_then(Value::as_str) {
        Some("date-time") => Some("2026-01-01T12:00:00Z"),
        Some("date") => Some("2026-01-01"),
        Some("time") => Some("12:00:00Z"),
        Some("email") => Some("demo@example.com"),
        Some("uri" | "url") => Some("https://example.com/"),
        Some("uuid") => Some("00000000-0000-4000-8000-000000000000"),
        _ => None,
    };
    let mut text = by_format.map_or_else(
        || {
            if name.is_empty() {
                "example".to_owned()
            } else {
                format!("example {name}")
            }
        },
        str::to_owned,
    );
    let shortest = count(schema, "minLength").unwrap_or(0).min(1024) as usize;
    while text.chars().count() < shortest {
        text.push('x');
    }
    if let Some(longest) = count(schema, "maxLength") {
        text = text.chars().take(longest as usize).collect();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_object_gets_its_required_properties_each_valid() {
        let schema = json!({
            "type": "object",
            "properties": {
                "city": {"type": "string", "description": "City name"},
                "unit": {"type": "string", "enum": ["celsius", "fahrenheit"]},
                "days": {"type": "integer", "minimum": 3, "maximum": 10},
                "ratio": {"type": "number", "exclusiveMaximum": 1},
                "when": {"type": "string", "format": "date"},
                "tags": {"type": "array", "items": {"type": "string"}, "minItems": 2},
                "detail": {"anyOf": [{"type": "null"}, {"$ref": "#/$defs/detail"}]},
                "optional": {"type": "boolean"}
            },
            "required": ["city", "unit", "days", "ratio", "when", "tags", "detail"],
            "additionalProperties": false,
            "$defs": {"detail": {"type": "object", "properties": {"level": {"const": 2}}}}
        });
        let value = example(&schema);
        assert_eq!(
            value,
            json!({
                "city": "example city",
                "unit": "celsius",
                "days": 3,
                "ratio": 0.5,
                "when": "2026-01-01",
                "tags": ["example tags", "example tags"],
                "detail": {"level": 2}
            })
        );
        let validator = jsonschema::validator_for(&schema).expect("a valid schema");
        assert!(validator.is_valid(&value));
    }

    #[test]
    fn gemini_openapi_subset_schemas_are_read() {
        let schema = json!({
            "type": "OBJECT",
            "properties": {
                "count": {"type": "INTEGER", "minimum": 2},
                "names": {"type": "ARRAY", "items": {"type": "STRING", "maxLength": "3"}, "minItems": "3"},
                "note": {"type": "STRING", "nullable": true}
            },
            "required": ["count", "names", "note"],
            "propertyOrdering": ["count", "names", "note"]
        });
        assert_eq!(
            example(&schema),
            json!({"count": 2, "names": ["exa", "exa", "exa"], "note": "example note"})
        );
    }

    #[test]
    fn a_recursive_schema_ends_and_arrays_stay_small() {
        let schema = json!({
            "$ref": "#/$defs/node",
            "$defs": {"node": {
                "type": "object",
                "properties": {"child": {"$ref": "#/$defs/node"}},
                "required": ["child"]
            }}
        });
        let mut value = &example(&schema);
        let mut depth = 0;
        while let Some(child) = value.get("child") {
            value = child;
            depth += 1;
        }
        assert!(depth <= MAX_DEPTH, "{depth}");
        let many = json!({"type": "array", "items": {"type": "integer"}, "minItems": 1_000_000});
        assert_eq!(example(&many).as_array().map(Vec::len), Some(16));
        // Arrays of arrays, 16 items each, 20 deep: 16^20 values if nothing stopped it.
        let mut nested = json!({"type": "integer"});
        for _ in 0..20 {
            nested = json!({"type": "array", "items": nested, "minItems": 16});
        }
        let made = example(&nested).to_string();
        assert!(made.len() < 64 * MAX_VALUES, "{}", made.len());
    }
}
