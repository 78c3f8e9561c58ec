//! The [`Converter`]: the walk over a JSON Schema that builds Gemini's OpenAPI subset, node
//! by node, with its depth and size budgets (rules 1–3, 7–10, 13).

use std::borrow::Cow;

use serde_json::{Map, Value};

use super::pointer::{escape, expected, kind, pointer, unsupported};
use super::rules::{apply_types, gemini_type};
use super::types::{Loc, MAX_DEPTH, MAX_NODES, Raw, SchemaError, SchemaOptions, TUPLE_NOTE};

pub(super) struct Converter<'a> {
    pub(super) root: &'a Value,
    pub(super) options: SchemaOptions,
    /// Where in the input the node being converted is.
    pub(super) loc: Loc<'a>,
    /// Where the innermost `$ref` expansion started (the root before any).
    pub(super) segment_start: Loc<'a>,
    /// For each `$ref` being expanded: where the enclosing expansion started and where the
    /// `$ref` was. With (`segment_start`, `loc`) they are the path walked to the current node.
    pub(super) suspended: Vec<(Loc<'a>, Loc<'a>)>,
    /// `$defs`/`definitions` of enclosing schemas, innermost last, with their locations.
    pub(super) defs: Vec<(Loc<'a>, &'a Map<String, Value>)>,
    pub(super) depth: usize,
    pub(super) nodes: usize,
}

impl<'a> Converter<'a> {
    pub(super) fn error(&self, message: impl Into<String>) -> SchemaError {
        SchemaError {
            path: pointer(&self.loc),
            message: message.into(),
        }
    }

    pub(super) fn error_at(&self, key: &str, message: impl Into<String>) -> SchemaError {
        let mut path = pointer(&self.loc);
        path.push('/');
        path.push_str(&escape(key));
        SchemaError {
            path,
            message: message.into(),
        }
    }

    /// Runs `f` with `token` appended to the current location.
    pub(super) fn at<T>(
        &mut self,
        token: impl Into<Cow<'a, str>>,
        f: impl FnOnce(&mut Self) -> T,
    ) -> T {
        self.loc.push(token.into());
        let result = f(self);
        self.loc.pop();
        result
    }

    pub(super) fn charge(&mut self, nodes: usize) -> Result<(), SchemaError> {
        self.nodes += nodes;
        if self.nodes > MAX_NODES {
            return Err(self.error(format!(
                "the schema expands to more than {MAX_NODES} nodes once its `$ref`s are inlined"
            )));
        }
        Ok(())
    }

    /// Converts the schema at the current location, without the final tidying.
    pub(super) fn raw(&mut self, node: &'a Value) -> Result<Raw, SchemaError> {
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
    pub(super) fn child(&mut self, node: &'a Value) -> Result<Value, SchemaError> {
        let raw = self.raw(node)?;
        self.finalize(raw, false).map(Value::Object)
    }

    pub(super) fn push_defs(&mut self, obj: &'a Map<String, Value>) -> Result<(), SchemaError> {
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

    pub(super) fn raw_object(&mut self, obj: &'a Map<String, Value>) -> Result<Raw, SchemaError> {
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
    pub(super) fn local(&mut self, obj: &'a Map<String, Value>) -> Result<Raw, SchemaError> {
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

    pub(super) fn types(&self, value: &Value) -> Result<Vec<&'static str>, SchemaError> {
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

    pub(super) fn properties(&mut self, value: &'a Value) -> Result<Value, SchemaError> {
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
    pub(super) fn items(
        &mut self,
        obj: &'a Map<String, Value>,
        raw: &mut Raw,
    ) -> Result<(), SchemaError> {
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
    pub(super) fn exclusive(
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
    pub(super) fn describe_constraint(
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
}
