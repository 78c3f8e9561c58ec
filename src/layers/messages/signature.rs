//! Thought signatures that belong to no thought text (Gemini puts them on function calls
//! and text), carried in the `signature` of a `thinking` block with empty text, so that an
//! Anthropic client sends them back on the next turn as it does every thinking block.
//!
//! The signature is [`PREFIX`] then base64 of the JSON of [`ThoughtState`]: the call
//! signatures by `tool_use` id, and the others in order. A signature without the prefix is
//! a thought part's own and goes back on that part.

use std::collections::BTreeMap;

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::openai::chat::{ToolCall, split_thought_id};

/// Starts every state signature; no base64 signature starts with it.
pub const PREFIX: &str = "llm-tower.1.";

/// The thought signatures of one assistant message that are not on thought text.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct ThoughtState {
    /// Signature of each call, by `tool_use` id.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub calls: BTreeMap<String, String>,
    /// The message's other signatures (its text's), in order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub text: Vec<String>,
}

impl ThoughtState {
    /// Whether there is nothing to carry.
    pub fn is_empty(&self) -> bool {
        self.calls.is_empty() && self.text.is_empty()
    }

    /// The `signature` text.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        format!(
            "{PREFIX}{}",
            base64::engine::general_purpose::STANDARD.encode(json)
        )
    }

    /// Reads a `signature`; `None` when it is not one of ours.
    pub fn decode(signature: &str) -> Option<Self> {
        let encoded = signature.strip_prefix(PREFIX)?;
        let json = base64::engine::general_purpose::STANDARD
            .decode(encoded)
            .ok()?;
        serde_json::from_slice(&json).ok()
    }

    /// Records a chat call's signature under its bare id; returns the bare id.
    pub fn call(&mut self, call: &ToolCall) -> String {
        self.record(&call.id, call.provider_specific_fields.as_ref())
    }

    /// Records the signature of the call `id` (in its `provider_specific_fields`, else
    /// after `__thought__` in the id) under the bare id; returns the bare id.
    pub fn record(&mut self, id: &str, fields: Option<&Value>) -> String {
        let (id, signature) = split_thought_id(id);
        let signature = fields
            .and_then(|fields| fields.get("thought_signature"))
            .and_then(|value| value.as_str())
            .or(signature);
        if let Some(signature) = signature.filter(|signature| !signature.is_empty()) {
            self.calls.insert(id.to_owned(), signature.to_owned());
        }
        id.to_owned()
    }

    /// Keeps the signatures of `all` that are neither a call's nor in `on_thoughts`.
    pub fn rest<'a>(&mut self, all: impl IntoIterator<Item = &'a String>, on_thoughts: &[String]) {
        let mut taken: Vec<&str> = on_thoughts.iter().map(String::as_str).collect();
        taken.extend(self.calls.values().map(String::as_str));
        for signature in all {
            match taken.iter().position(|seen| *seen == signature) {
                Some(at) => {
                    taken.swap_remove(at);
                }
                None => self.text.push(signature.clone()),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn state_round_trips_and_foreign_signatures_are_not_read() {
        let mut state = ThoughtState::default();
        state.calls.insert("call_1".to_owned(), "c2ln".to_owned());
        state.text.push("dGV4dA==".to_owned());
        let encoded = state.encode();
        assert!(encoded.starts_with(PREFIX));
        assert_eq!(ThoughtState::decode(&encoded), Some(state));
        assert_eq!(ThoughtState::decode("c2ln"), None);
        assert_eq!(ThoughtState::decode("llm-tower.1.!!"), None);
    }

    #[test]
    fn rest_keeps_only_the_signatures_of_no_call_or_thought() {
        let mut state = ThoughtState::default();
        state.calls.insert("call_1".to_owned(), "b".to_owned());
        let all = ["a".to_owned(), "b".to_owned(), "c".to_owned()];
        state.rest(&all, &["a".to_owned()]);
        assert_eq!(state.text, ["c"]);
    }
}
