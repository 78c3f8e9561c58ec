//! Chat params given among another endpoint's keys (legacy completions, the Responses
//! API): typed and checked as a chat request's, so a wrong value names its key and the
//! provider maps, refuses or drops each one as it does for chat.

use serde_json::{Map, Value};

use crate::error::Error;
use crate::openai::ChatRequest;

/// A chat request for `model` with the chat params among a request's other keys.
pub(crate) fn chat_template(
    model: String,
    extra: Map<String, Value>,
) -> Result<ChatRequest, Error> {
    if extra.is_empty() {
        return Ok(ChatRequest::new(model, Vec::new()));
    }
    let mut object = extra;
    object.insert("model".to_owned(), Value::String(model));
    object.insert("messages".to_owned(), Value::Array(Vec::new()));
    Ok(serde_path_to_error::deserialize(Value::Object(object))?)
}
