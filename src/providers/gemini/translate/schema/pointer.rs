//! Locations and messages: JSON pointers into the input, `$ref` checks, and the wording of
//! errors.

use std::borrow::Cow;

use serde_json::Value;

use super::types::{Loc, SchemaError};

pub(super) fn unsupported(what: &str) -> String {
    format!(
        "{what} cannot be expressed in Gemini's schema subset; send the schema as JSON Schema \
         (responseJsonSchema / parametersJsonSchema) instead"
    )
}

/// What a keyword's value must be, for error messages.
pub(super) fn expected(key: &str) -> &'static str {
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

pub(super) fn kind(value: &Value) -> &'static str {
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
pub(super) fn pointer(loc: &[Cow<'_, str>]) -> String {
    let mut path = String::from("#");
    for token in loc {
        path.push('/');
        path.push_str(&escape(token));
    }
    path
}

pub(super) fn escape(token: &str) -> Cow<'_, str> {
    if token.contains(['~', '/']) {
        Cow::Owned(token.replace('~', "~0").replace('/', "~1"))
    } else {
        Cow::Borrowed(token)
    }
}

/// The tokens of a `#`-pointer `$ref`, or why it is not one.
pub(super) fn pointer_tokens(reference: &str) -> Result<Loc<'_>, String> {
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

pub(super) fn lookup<'v>(root: &'v Value, tokens: &[Cow<'_, str>]) -> Option<&'v Value> {
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
pub(super) fn check_refs<'a>(
    root: &Value,
    node: &'a Value,
    loc: &mut Loc<'a>,
) -> Result<(), SchemaError> {
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
