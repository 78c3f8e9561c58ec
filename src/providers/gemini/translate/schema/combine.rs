//! Combining nodes: `$ref` expansion (rules 1–2), unions (rules 4–5), `allOf` merges (rule
//! 6), and the final form of a node.

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::converter::Converter;
use super::pointer::{lookup, pointer_tokens};
use super::rules::{
    append_sentence, check_format, count_objects, implied_type, resolve_enum, string_enum,
    tidy_object,
};
use super::types::{Loc, Raw, SchemaError};

impl<'a> Converter<'a> {
    /// `anyOf` / `oneOf` (rule 4).
    pub(super) fn union(
        &mut self,
        obj: &'a Map<String, Value>,
        raw: &mut Raw,
    ) -> Result<(), SchemaError> {
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

    pub(super) fn schema_list(
        &self,
        key: &str,
        value: &'a Value,
    ) -> Result<&'a [Value], SchemaError> {
        match value {
            Value::Array(members) if !members.is_empty() => Ok(members),
            _ => Err(self.error_at(key, format!("`{key}` must be a non-empty array of schemas"))),
        }
    }

    /// Expands a `$ref` (rules 1 and 2).
    pub(super) fn follow(&mut self, reference: &'a Value) -> Result<Raw, SchemaError> {
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

    pub(super) fn resolve(&self, reference: &'a str) -> Result<(Loc<'a>, &'a Value), SchemaError> {
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
    pub(super) fn is_expanding(&self, target: &[Cow<'_, str>]) -> bool {
        let current = (&self.segment_start, &self.loc);
        self.suspended
            .iter()
            .map(|(start, end)| (start, end))
            .chain(std::iter::once(current))
            .any(|(start, end)| target.starts_with(start) && end.starts_with(target))
    }

    /// Merges `other` into `base` as an intersection of the two (rule 6).
    pub(super) fn merge(&self, base: &mut Raw, other: Raw) -> Result<(), SchemaError> {
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

    pub(super) fn combine(
        &self,
        key: &str,
        existing: &mut Value,
        value: Value,
    ) -> Result<(), SchemaError> {
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
    pub(super) fn finalize(
        &mut self,
        raw: Raw,
        root: bool,
    ) -> Result<Map<String, Value>, SchemaError> {
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
    pub(super) fn distribute(
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
            if member.len() == 1
                && let Some(Value::Array(inner)) = member.get_mut("anyOf")
            {
                members.append(inner);
                continue;
            }
            members.push(Value::Object(member));
        }
        let mut map = Map::new();
        map.insert("anyOf".to_owned(), Value::Array(members));
        Ok(map)
    }
}
