//! Chat params given among another endpoint's keys (legacy completions, the Responses
//! API): typed and checked as a chat request's, so a wrong value names its key and the
//! provider maps, refuses or drops each one as it does for chat.

use serde::Serialize;

use crate::error::Error;
use crate::openai::ChatRequest;
use crate::openai::chat::Extra;

/// A chat request for `model` with the chat params among a request's other keys. The
/// keys are written out as the JSON text they are kept as and read back as a chat
/// request, so no value becomes a tree that a chat request does not type.
pub(crate) fn chat_template(model: String, extra: Extra) -> Result<ChatRequest, Error> {
    if extra.is_empty() {
        return Ok(ChatRequest::new(model, Vec::new()));
    }
    #[derive(Serialize)]
    struct Template<'a> {
        model: &'a str,
        messages: [(); 0],
        #[serde(flatten)]
        extra: &'a Extra,
    }
    let text = serde_json::to_vec(&Template {
        model: &model,
        messages: [],
        extra: &extra,
    })
    .map_err(|error| Error::invalid_request(format!("chat params: {error}")))?;
    let mut deserializer = serde_json::Deserializer::from_slice(&text);
    Ok(serde_path_to_error::deserialize(&mut deserializer)?)
}
