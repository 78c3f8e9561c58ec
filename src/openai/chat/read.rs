//! How the chat wire types that carry unknown keys are read ([`ChatRequest`], [`Message`],
//! [`ContentPart`]) and how [`Content`] (a string or parts) is told apart: one pass over
//! the JSON, each known key straight into its typed field, every other key into `extra`.
//!
//! serde's derive cannot do that for a struct with a `#[serde(flatten)]` field, nor for
//! an `#[serde(untagged)]` enum: it first copies the value into an untyped buffer (serde's
//! private `Content` tree), then reads the fields out of that copy. For a chat request that
//! doubled the parse of every message and multiplied the memory a body costs (about 190
//! bytes of tree per JSON value, so a 4 MB `metadata` of two million zeros took hundreds of
//! megabytes). Read this way, the typed fields are parsed once, from the bytes, and only
//! the keys nobody typed become [`serde_json::Value`]s.

use std::borrow::Cow;
use std::fmt;

use serde::Deserialize;
use serde::de::{self, Deserializer, MapAccess, SeqAccess, Visitor};

use super::{ChatRequest, Content, ContentPart, Extra, Message};

impl<'de> Deserialize<'de> for ChatRequest {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(RequestVisitor)
    }
}

struct RequestVisitor;

/// Reads the next value into `slot`, refusing a key sent twice as serde's derive does.
macro_rules! once {
    ($map:ident, $slot:expr, $name:literal) => {{
        if $slot.is_some() {
            return Err(de::Error::duplicate_field($name));
        }
        $slot = $map.next_value()?;
    }};
}

impl<'de> Visitor<'de> for RequestVisitor {
    type Value = ChatRequest;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a chat completion request object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ChatRequest, A::Error> {
        let mut model: Option<String> = None;
        let mut messages = None;
        let mut request = ChatRequest::default();
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "model" => once!(map, model, "model"),
                "messages" => once!(map, messages, "messages"),
                "temperature" => once!(map, request.temperature, "temperature"),
                "top_p" => once!(map, request.top_p, "top_p"),
                "n" => once!(map, request.n, "n"),
                "stream" => once!(map, request.stream, "stream"),
                "stream_options" => once!(map, request.stream_options, "stream_options"),
                "stop" => once!(map, request.stop, "stop"),
                "max_tokens" => once!(map, request.max_tokens, "max_tokens"),
                "max_completion_tokens" => {
                    once!(map, request.max_completion_tokens, "max_completion_tokens")
                }
                "presence_penalty" => once!(map, request.presence_penalty, "presence_penalty"),
                "frequency_penalty" => once!(map, request.frequency_penalty, "frequency_penalty"),
                "logit_bias" => once!(map, request.logit_bias, "logit_bias"),
                "logprobs" => once!(map, request.logprobs, "logprobs"),
                "top_logprobs" => once!(map, request.top_logprobs, "top_logprobs"),
                "seed" => once!(map, request.seed, "seed"),
                "user" => once!(map, request.user, "user"),
                "tools" => once!(map, request.tools, "tools"),
                "tool_choice" => once!(map, request.tool_choice, "tool_choice"),
                "parallel_tool_calls" => {
                    once!(map, request.parallel_tool_calls, "parallel_tool_calls")
                }
                "functions" => once!(map, request.functions, "functions"),
                "function_call" => once!(map, request.function_call, "function_call"),
                "response_format" => once!(map, request.response_format, "response_format"),
                "modalities" => once!(map, request.modalities, "modalities"),
                "reasoning_effort" => once!(map, request.reasoning_effort, "reasoning_effort"),
                "thinking" => once!(map, request.thinking, "thinking"),
                "safety_settings" => once!(map, request.safety_settings, "safety_settings"),
                "drop_params" => once!(map, request.drop_params, "drop_params"),
                "api_key" => once!(map, request.api_key, "api_key"),
                "api_base" => once!(map, request.api_base, "api_base"),
                _ => {
                    let value = map.next_value()?;
                    request.extra.insert(key.into_owned(), value);
                }
            }
        }
        request.model = model.ok_or_else(|| de::Error::missing_field("model"))?;
        request.messages = messages.ok_or_else(|| de::Error::missing_field("messages"))?;
        Ok(request)
    }
}

impl<'de> Deserialize<'de> for Message {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(MessageVisitor)
    }
}

struct MessageVisitor;

impl<'de> Visitor<'de> for MessageVisitor {
    type Value = Message;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a message object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Message, A::Error> {
        let (mut role, mut content, mut name, mut tool_calls, mut tool_call_id) =
            (None, None, None, None, None);
        let (mut function_call, mut reasoning_content, mut thinking_blocks, mut images) =
            (None, None, None, None);
        let (mut provider_specific_fields, mut cache_control) = (None, None);
        let mut extra = Extra::new();
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "role" => once!(map, role, "role"),
                "content" => once!(map, content, "content"),
                "name" => once!(map, name, "name"),
                "tool_calls" => once!(map, tool_calls, "tool_calls"),
                "tool_call_id" => once!(map, tool_call_id, "tool_call_id"),
                "function_call" => once!(map, function_call, "function_call"),
                "reasoning_content" => once!(map, reasoning_content, "reasoning_content"),
                "thinking_blocks" => once!(map, thinking_blocks, "thinking_blocks"),
                "images" => once!(map, images, "images"),
                "provider_specific_fields" => {
                    once!(map, provider_specific_fields, "provider_specific_fields")
                }
                "cache_control" => once!(map, cache_control, "cache_control"),
                _ => {
                    let value = map.next_value()?;
                    extra.insert(key.into_owned(), value);
                }
            }
        }
        Ok(Message {
            role: role.ok_or_else(|| de::Error::missing_field("role"))?,
            content,
            name,
            tool_calls,
            tool_call_id,
            function_call,
            reasoning_content,
            thinking_blocks,
            images,
            provider_specific_fields,
            cache_control,
            extra,
        })
    }
}

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

impl<'de> Deserialize<'de> for ContentPart {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_map(ContentPartVisitor)
    }
}

struct ContentPartVisitor;

impl<'de> Visitor<'de> for ContentPartVisitor {
    type Value = ContentPart;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a content part object")
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<ContentPart, A::Error> {
        let (mut kind, mut text, mut image_url, mut input_audio, mut file, mut cache_control) =
            (None, None, None, None, None, None);
        let mut extra = Extra::new();
        while let Some(Key(key)) = map.next_key()? {
            match key.as_ref() {
                "type" => once!(map, kind, "type"),
                "text" => once!(map, text, "text"),
                "image_url" => once!(map, image_url, "image_url"),
                "input_audio" => once!(map, input_audio, "input_audio"),
                "file" => once!(map, file, "file"),
                "cache_control" => once!(map, cache_control, "cache_control"),
                _ => {
                    let value = map.next_value()?;
                    extra.insert(key.into_owned(), value);
                }
            }
        }
        Ok(ContentPart {
            kind: kind.ok_or_else(|| de::Error::missing_field("type"))?,
            text,
            image_url,
            input_audio,
            file,
            cache_control,
            extra,
        })
    }
}

/// An object key, borrowed from the input when it has no escapes.
struct Key<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Key<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_str(KeyVisitor)
    }
}

struct KeyVisitor;

impl<'de> Visitor<'de> for KeyVisitor {
    type Value = Key<'de>;

    fn expecting(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        formatter.write_str("a key")
    }

    fn visit_borrowed_str<E: de::Error>(self, key: &'de str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Borrowed(key)))
    }

    fn visit_str<E: de::Error>(self, key: &str) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(key.to_owned())))
    }

    fn visit_string<E: de::Error>(self, key: String) -> Result<Key<'de>, E> {
        Ok(Key(Cow::Owned(key)))
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
        let keys: Vec<_> = request.extra.keys().map(String::as_str).collect();
        assert_eq!(keys, ["top_k", "web_search_options", "metadata"]);
        assert_eq!(request.extra["metadata"], json!({"a": 1}));
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
        assert_eq!(parts[1].extra["x"], 1);
        assert_eq!(message.extra["custom"], true);
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
