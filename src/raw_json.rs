//! [`RawJson`]: a JSON value kept as text, for values that are passed on or converted by
//! their text rather than walked as a tree (tool parameter schemas, the unknown keys of a
//! request).

use std::borrow::Cow;
use std::fmt;

use serde::de::value::MapDeserializer;
use serde::de::{self, DeserializeOwned, Deserializer, MapAccess, Visitor};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use serde_json::value::RawValue;

/// Valid JSON nested at most [`RawJson::MAX_DEPTH`] levels, kept as text. Two values are
/// equal when their texts are.
///
/// Read by `serde_json` (from bytes, a string or a [`Value`]), it is the text as sent: no
/// tree is built, and the depth is checked by a scan of the bytes (`serde_json` checks it
/// for trees only), so that the text can always be read back as a tree. Read by another deserializer (YAML, or serde's buffer for an untagged
/// enum or a flattened field), it is read as a [`Value`] and printed.
///
/// ```
/// use llm_tower::RawJson;
/// let json = RawJson::from_string(r#"{"type":"object"}"#.to_owned())?;
/// assert_eq!(json.get(), r#"{"type":"object"}"#);
/// assert_eq!(serde_json::to_string(&json)?, r#"{"type":"object"}"#);
/// assert_eq!(json.parse::<serde_json::Value>()?["type"], "object");
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Serialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// How deep arrays and objects may nest: below `serde_json`'s limit for a tree (127
    /// levels), with room for the object that holds the value.
    pub const MAX_DEPTH: usize = 100;

    /// Checks that `text` is JSON nested at most [`MAX_DEPTH`](Self::MAX_DEPTH) levels and
    /// keeps it.
    pub fn from_string(text: String) -> Result<Self, serde_json::Error> {
        check_depth(&text)?;
        RawValue::from_string(text).map(Self)
    }

    /// Keeps `text`, which `serde_json` captured as one value (so it is JSON already), once
    /// its depth is checked. It is handed back to `serde_json`'s own reader of a
    /// `Box<RawValue>`, which copies it once; [`RawValue::from_string`] would parse it again.
    fn from_captured(text: &str) -> Result<Self, serde_json::Error> {
        check_depth(text)?;
        let entry = std::iter::once((RAW_TOKEN, text));
        Box::<RawValue>::deserialize(MapDeserializer::new(entry)).map(Self)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
    }

    /// Reads the text as a `T` (a tree only when `T` is one).
    pub fn parse<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        serde_json::from_str(self.get())
    }

    /// The value as a tree. The text was checked by the same parser, so this cannot fail
    /// (a tree deeper than it allows would not have been read); `null` if it did.
    pub fn to_value(&self) -> Value {
        self.parse().unwrap_or(Value::Null)
    }

    /// Whether the value is `null`.
    pub fn is_null(&self) -> bool {
        self.get() == "null"
    }
}

impl From<Value> for RawJson {
    fn from(value: Value) -> Self {
        Self::from(&value)
    }
}

impl From<&Value> for RawJson {
    fn from(value: &Value) -> Self {
        // A `Value` always prints as JSON (its keys are strings, its numbers finite).
        Self(serde_json::value::to_raw_value(value).expect("a Value prints as JSON"))
    }
}

impl PartialEq for RawJson {
    fn eq(&self, other: &Self) -> bool {
        self.get() == other.get()
    }
}

impl fmt::Debug for RawJson {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.get())
    }
}

/// Refuses `text` nested deeper than [`RawJson::MAX_DEPTH`].
fn check_depth(text: &str) -> Result<(), serde_json::Error> {
    if nesting(text) > RawJson::MAX_DEPTH {
        return Err(de::Error::custom(format_args!(
            "JSON nested deeper than {} levels",
            RawJson::MAX_DEPTH
        )));
    }
    Ok(())
}

/// How deep the arrays and objects of `text` (JSON) nest, found without building them.
fn nesting(text: &str) -> usize {
    let (mut depth, mut deepest) = (0usize, 0usize);
    let (mut in_string, mut escaped) = (false, false);
    for byte in text.bytes() {
        if in_string {
            match byte {
                _ if escaped => escaped = false,
                b'\\' => escaped = true,
                b'"' => in_string = false,
                _ => {}
            }
            continue;
        }
        match byte {
            b'"' => in_string = true,
            b'[' | b'{' => {
                depth += 1;
                deepest = deepest.max(depth);
            }
            b']' | b'}' => depth = depth.saturating_sub(1),
            _ => {}
        }
    }
    deepest
}

/// The newtype name through which `serde_json` hands a value over as its text (the name
/// `serde_json::value::RawValue` itself asks for).
const RAW_TOKEN: &str = "$serde_json::private::RawValue";

impl<'de> Deserialize<'de> for RawJson {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_newtype_struct(RAW_TOKEN, RawVisitor)
    }
}

struct RawVisitor;

impl<'de> Visitor<'de> for RawVisitor {
    type Value = RawJson;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("any JSON value")
    }

    /// `serde_json`: one entry, the token and the text (both borrowed from the input when
    /// it is a slice or a string).
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawJson, A::Error> {
        match map.next_key::<Text<'de>>()? {
            Some(Text(key)) if key == RAW_TOKEN => {
                let Text(text) = map.next_value()?;
                RawJson::from_captured(&text).map_err(de::Error::custom)
            }
            // A deserializer that reads a newtype as what it holds, and holds an object.
            first => {
                let mut object = serde_json::Map::new();
                if let Some(Text(key)) = first {
                    object.insert(key.into_owned(), map.next_value()?);
                    while let Some((key, value)) = map.next_entry()? {
                        object.insert(key, value);
                    }
                }
                Ok(Value::Object(object).into())
            }
        }
    }

    /// Any other deserializer: read a tree and print it.
    fn visit_newtype_struct<D: Deserializer<'de>>(
        self,
        deserializer: D,
    ) -> Result<RawJson, D::Error> {
        Value::deserialize(deserializer).map(RawJson::from)
    }
}

/// A string, borrowed from the input when it has no escapes (an object key, a raw value's
/// text).
pub(crate) struct Text<'de>(pub(crate) Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(TextVisitor)
    }
}

struct TextVisitor;

impl<'de> Visitor<'de> for TextVisitor {
    type Value = Text<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string")
    }

    fn visit_borrowed_str<E: de::Error>(self, text: &'de str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Borrowed(text)))
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(text.to_owned())))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Text<'de>, E> {
        Ok(Text(Cow::Owned(text)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn serde_json_hands_over_the_text_as_sent() {
        let raw: RawJson = serde_json::from_str(r#"{ "b":1,  "a":[0, 0] }"#).unwrap();
        assert_eq!(raw.get(), r#"{ "b":1,  "a":[0, 0] }"#);
        let from_value: RawJson = serde_json::from_value(json!({"b": 1})).unwrap();
        assert_eq!(from_value.get(), r#"{"b":1}"#);
    }

    #[test]
    fn a_buffered_value_is_printed() {
        // serde's buffer for untagged enums and flattened fields.
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Raw { raw: RawJson },
        }
        let Either::Raw { raw } = serde_json::from_str(r#"{"raw": {"b": [1, null]}}"#).unwrap();
        assert_eq!(raw.get(), r#"{"b":[1,null]}"#);
        assert!(serde_json::from_str::<RawJson>("null").unwrap().is_null());
        assert!(serde_json::from_str::<RawJson>("[1,").is_err());
    }

    #[test]
    fn nesting_is_bounded_and_strings_do_not_count() {
        let nested = |depth: usize| format!("{}{}", "[".repeat(depth), "]".repeat(depth));
        let deepest = serde_json::from_str::<RawJson>(&nested(RawJson::MAX_DEPTH)).unwrap();
        assert!(deepest.parse::<Value>().is_ok());
        let error = serde_json::from_str::<RawJson>(&nested(RawJson::MAX_DEPTH + 1)).unwrap_err();
        assert!(
            error.to_string().contains("nested deeper than 100 levels"),
            "{error}"
        );
        let brackets = format!(r#"{{"a":"{}\"[","b":[1]}}"#, "[".repeat(500));
        let raw: RawJson = serde_json::from_str(&brackets).unwrap();
        assert_eq!(raw.get(), brackets);
        assert_eq!(nesting(r#"[{"x":"]]"},[[]]]"#), 3);
    }
}
