//! How request objects are read: in one pass over the bytes, typed fields typed and every
//! other key kept as text in [`Extra`](super::chat::Extra).
//!
//! serde's derive cannot do that for a struct with a `#[serde(flatten)]` field: it buffers
//! every unknown key into an untyped tree (serde's private `Content`) before it hands them
//! to the flattened map, so a 4 MB array of zeros under an unknown key cost hundreds of
//! megabytes. [`one_pass!`] writes the `Deserialize` impl a derive would, without the
//! buffer: unknown values go straight to [`RawJson`](crate::RawJson) text.

/// `impl Deserialize` for a request struct, read in one pass: each listed field is read
/// from its key, refused if sent twice, and the rest go to the struct's `extra`.
///
/// A field is `opt` (an `Option` field: absent or `null` is `None`) or `req` (absent is a
/// `missing field` error); `"name" | "alias"` reads either key. `skip field` sets a field that is not JSON (a request's context) to
/// its default.
macro_rules! one_pass {
    (
        $ty:ident, $expecting:literal,
        { $($how:ident $field:ident = $name:literal $(| $alias:literal)*),* $(,)? }
        $(, skip $skip:ident)*
    ) => {
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct ObjectVisitor;

                impl<'de> serde::de::Visitor<'de> for ObjectVisitor {
                    type Value = $ty;

                    fn expecting(&self, formatter: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                        formatter.write_str($expecting)
                    }

                    fn visit_map<A: serde::de::MapAccess<'de>>(
                        self,
                        mut map: A,
                    ) -> Result<$ty, A::Error> {
                        use serde::de::Error as _;
                        $(let mut $field = None;)*
                        let mut extra = $crate::openai::chat::Extra::new();
                        while let Some($crate::openai::read::Key(key)) = map.next_key()? {
                            match key.as_ref() {
                                $($name $(| $alias)* => {
                                    if $field.is_some() {
                                        return Err(A::Error::duplicate_field($name));
                                    }
                                    $field = $crate::openai::read::one_pass!(@read $how map);
                                })*
                                _ => {
                                    let value = map.next_value()?;
                                    extra.insert(key.into_owned(), value);
                                }
                            }
                        }
                        Ok($ty {
                            $($field: $crate::openai::read::one_pass!(@finish $how $field $name),)*
                            extra,
                            $($skip: Default::default(),)*
                        })
                    }
                }

                deserializer.deserialize_map(ObjectVisitor)
            }
        }
    };
    (@read opt $map:ident) => { $map.next_value()? };
    (@read req $map:ident) => { Some($map.next_value()?) };
    (@finish opt $field:ident $name:literal) => { $field };
    (@finish req $field:ident $name:literal) => {
        $field.ok_or_else(|| A::Error::missing_field($name))?
    };
}

pub(crate) use one_pass;

/// An object key, borrowed from the input when it has no escapes.
pub(crate) use crate::raw_json::Text as Key;
