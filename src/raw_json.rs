//! [`RawJson`]: a JSON value kept as text, for values that are passed on or converted by
//! their text rather than walked as a tree (tool parameter schemas).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::value::RawValue;

/// Valid JSON, kept as text. Two values are equal when their texts are.
///
/// ```
/// use llm_tower::RawJson;
/// let json = RawJson::from_string(r#"{"type":"object"}"#.to_owned())?;
/// assert_eq!(json.get(), r#"{"type":"object"}"#);
/// assert_eq!(serde_json::to_string(&json)?, r#"{"type":"object"}"#);
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Clone, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RawJson(Box<RawValue>);

impl RawJson {
    /// Checks that `text` is JSON and keeps it.
    pub fn from_string(text: String) -> Result<Self, serde_json::Error> {
        RawValue::from_string(text).map(Self)
    }

    /// The JSON text.
    pub fn get(&self) -> &str {
        self.0.get()
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
