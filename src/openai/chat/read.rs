//! How chat requests, their messages and content parts are read: in one pass (see
//! `one_pass!` in `openai/read.rs`), the typed fields typed and every other key kept as
//! text in `Extra`.

use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, SeqAccess, Visitor};

use super::{ChatRequest, Content, ContentPart, Message};
use crate::openai::read::one_pass;

one_pass!(ChatRequest, "a chat completion request object", {
    req model = "model",
    req messages = "messages",
    opt temperature = "temperature",
    opt top_p = "top_p",
    opt n = "n",
    opt stream = "stream",
    opt stream_options = "stream_options",
    opt stop = "stop",
    opt max_tokens = "max_tokens",
    opt max_completion_tokens = "max_completion_tokens",
    opt presence_penalty = "presence_penalty",
    opt frequency_penalty = "frequency_penalty",
    opt logit_bias = "logit_bias",
    opt logprobs = "logprobs",
    opt top_logprobs = "top_logprobs",
    opt seed = "seed",
    opt user = "user",
    opt tools = "tools",
    opt tool_choice = "tool_choice",
    opt parallel_tool_calls = "parallel_tool_calls",
    opt functions = "functions",
    opt function_call = "function_call",
    opt response_format = "response_format",
    opt modalities = "modalities",
    opt reasoning_effort = "reasoning_effort",
    opt thinking = "thinking",
    opt safety_settings = "safety_settings",
    opt drop_params = "drop_params",
    opt api_key = "api_key",
    opt api_base = "api_base",
}, skip context);

one_pass!(Message, "a message object", {
    req role = "role",
    opt content = "content",
    opt name = "name",
    opt tool_calls = "tool_calls",
    opt tool_call_id = "tool_call_id",
    opt function_call = "function_call",
    opt reasoning_content = "reasoning_content",
    opt thinking_blocks = "thinking_blocks",
    opt images = "images",
    opt provider_specific_fields = "provider_specific_fields",
    opt cache_control = "cache_control",
});

one_pass!(ContentPart, "a content part object", {
    req kind = "type",
    opt text = "text",
    opt image_url = "image_url",
    opt input_audio = "input_audio",
    opt file = "file",
    opt cache_control = "cache_control",
});

impl<'de> Deserialize<'de> for Content {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ContentVisitor)
    }
}

struct ContentVisitor;

impl<'de> Visitor<'de> for ContentVisitor {
    type Value = Content;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a string or an array of content parts")
    }

    fn visit_str<E: de::Error>(self, text: &str) -> Result<Content, E> {
        Ok(Content::Text(text.to_owned()))
    }

    fn visit_string<E: de::Error>(self, text: String) -> Result<Content, E> {
        Ok(Content::Text(text))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Content, A::Error> {
        let mut parts = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(part) = seq.next_element()? {
            parts.push(part);
        }
        Ok(Content::Parts(parts))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn typed_keys_are_typed_and_the_rest_is_kept_in_order() {
        let request: ChatRequest = serde_json::from_str(
            r#"{"top_k":4,"model":"m","messages":[{"role":"user","content":"Hi"}],
                "temperature":0.5,"web_search_options":{},"metadata":{"a":1}}"#,
        )
        .unwrap();
        assert_eq!(request.model, "m");
        assert_eq!(request.messages.len(), 1);
        assert_eq!(request.temperature, Some(0.5));
        let keys: Vec<_> = request.extra.keys().collect();
        assert_eq!(keys, ["top_k", "web_search_options", "metadata"]);
        assert_eq!(request.extra.get("metadata").unwrap().get(), r#"{"a":1}"#);
    }

    #[test]
    fn it_reads_what_it_writes() {
        let request: ChatRequest = serde_json::from_value(json!({
            "model": "m", "messages": [], "stream": true, "n": 2, "stop": ["x"],
            "tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object"}}}],
            "tool_choice": "auto", "reasoning_effort": "low", "drop_params": true, "top_k": 3
        }))
        .unwrap();
        let again: ChatRequest =
            serde_json::from_str(&serde_json::to_string(&request).unwrap()).unwrap();
        assert_eq!(again, request);
    }

    #[test]
    fn missing_duplicate_and_mistyped_keys_are_named() {
        let error = |body: &str| {
            serde_json::from_str::<ChatRequest>(body)
                .unwrap_err()
                .to_string()
        };
        assert!(error(r#"{"messages":[]}"#).contains("missing field `model`"));
        assert!(error(r#"{"model":"m"}"#).contains("missing field `messages`"));
        assert!(
            error(r#"{"model":"m","messages":[],"n":1,"n":2}"#).contains("duplicate field `n`")
        );
        assert!(error(r#"{"model":"m","messages":[],"n":"two"}"#).contains("invalid type"));
        assert!(error(r#"[]"#).contains("a chat completion request object"));
    }

    #[test]
    fn messages_and_their_content_are_read_in_one_pass() {
        let message: Message = serde_json::from_value(json!({
            "role": "user",
            "content": [
                {"type": "text", "text": "Hi", "cache_control": {"type": "ephemeral"}},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AA"}, "x": 1}
            ],
            "custom": true
        }))
        .unwrap();
        let Some(Content::Parts(parts)) = &message.content else {
            panic!("parts: {message:?}");
        };
        assert_eq!(parts[0].text.as_deref(), Some("Hi"));
        assert!(parts[0].cache_control.is_some());
        assert_eq!(parts[1].extra.get("x").unwrap().get(), "1");
        assert_eq!(message.extra.get("custom").unwrap().get(), "true");
        let text: Message = serde_json::from_str(r#"{"role":"assistant","content":"ok"}"#).unwrap();
        assert_eq!(text.content, Some(Content::Text("ok".to_owned())));
        let none: Message = serde_json::from_str(r#"{"role":"assistant","content":null}"#).unwrap();
        assert_eq!(none.content, None);

        let error = |body: &str| {
            serde_json::from_str::<Message>(body)
                .unwrap_err()
                .to_string()
        };
        assert!(error(r#"{"content":"x"}"#).contains("missing field `role`"));
        assert!(
            error(r#"{"role":"user","content":42}"#)
                .contains("expected a string or an array of content parts")
        );
        assert!(
            error(r#"{"role":"user","content":[{"text":"x"}]}"#).contains("missing field `type`")
        );
    }

    #[test]
    fn a_null_param_is_unset() {
        let request: ChatRequest =
            serde_json::from_str(r#"{"model":"m","messages":[],"temperature":null}"#).unwrap();
        assert_eq!(request.temperature, None);
    }
}
