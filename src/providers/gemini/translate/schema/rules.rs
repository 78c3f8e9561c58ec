//! The per-node rules on types and values: string enums, implied types, non-string
//! constants, formats, and the tidying of objects (rules 4, 7–8, 11–13).

use serde_json::{Map, Value};

use super::types::{Raw, SchemaOptions, TYPES};

/// Rule 4: alternatives that are all string constants, as one `enum`.
pub(super) fn string_enum(alternatives: &[Raw]) -> Option<Raw> {
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
pub(super) fn apply_types(raw: &mut Raw, types: &[&'static str]) {
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
pub(super) fn implied_type(map: &Map<String, Value>, root: bool) -> &'static str {
    ["OBJECT", "ARRAY", "NUMBER", "STRING"]
        .into_iter()
        .find(|name| type_keywords(name).iter().any(|key| map.contains_key(*key)))
        .unwrap_or(if root { "OBJECT" } else { "STRING" })
}

/// Rules 11 and 12.
pub(super) fn resolve_enum(map: &mut Map<String, Value>, notes: &mut Vec<String>) {
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
pub(super) fn check_format(map: &mut Map<String, Value>, notes: &mut Vec<String>) {
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
pub(super) fn tidy_object(map: &mut Map<String, Value>, options: SchemaOptions) {
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
pub(super) fn append_sentence(text: &mut String, sentence: &str) {
    text.truncate(text.trim_end().len());
    if !text.is_empty() {
        if !text.ends_with(['.', '!', '?']) {
            text.push('.');
        }
        text.push(' ');
    }
    text.push_str(sentence);
}

pub(super) fn gemini_type(name: &str) -> Option<&'static str> {
    TYPES
        .into_iter()
        .find(|known| known.eq_ignore_ascii_case(name))
}

pub(super) fn count_objects(map: &Map<String, Value>) -> usize {
    fn count(value: &Value) -> usize {
        match value {
            Value::Object(map) => count_objects(map),
            Value::Array(items) => items.iter().map(count).sum(),
            _ => 0,
        }
    }
    1 + map.values().map(count).sum::<usize>()
}
