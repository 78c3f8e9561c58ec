//! A chat reply → a Messages reply, as pure functions; the same pieces serve the stream
//! (see [`super::stream`]).
//!
//! | chat | Messages |
//! |---|---|
//! | `thinking_blocks` (else `reasoning_content`) | `thinking` blocks first, each with its own signature (`""` when it has none) |
//! | thought signatures on calls and text | one more `thinking` block with empty text whose `signature` carries them ([`ThoughtState`]) |
//! | `content` | a `text` block |
//! | `tool_calls` | `tool_use` blocks: the id without a carried signature, the arguments parsed (text that is not JSON stays a JSON string) |
//! | `finish_reason` `stop` / `length` / `tool_calls` / `content_filter` | `stop_reason` `end_turn` / `max_tokens` / `tool_use` / `refusal` (`tool_use` whenever there are calls) |
//! | `usage` | `input_tokens` (the prompt less what was read from a cache), `output_tokens`, `cache_read_input_tokens`, `cache_creation_input_tokens`: the three input counts add up to the prompt |
//!
//! Only the first choice is read. `stop_sequence` is always `null` and a reply ended by a
//! stop sequence reads `end_turn`: chat replies do not say which sequence stopped them.

use serde_json::Value;

use super::signature::ThoughtState;
use crate::anthropic::{MessageReply, MessageUsage, OutputBlock};
use crate::openai::ChatCompletion;
use crate::openai::chat::{ResponseMessage, Usage};

/// A new `msg_…` id.
pub fn message_id() -> String {
    let mut id = String::with_capacity(28);
    id.push_str("msg_");
    id.extend(std::iter::repeat_with(fastrand::alphanumeric).take(24));
    id
}

/// The whole reply to a chat completion; `model` is the model as requested.
pub fn complete(id: String, model: String, completion: ChatCompletion) -> MessageReply {
    let mut reply = MessageReply::new(id, model);
    reply.usage = completion.usage.as_ref().map(usage).unwrap_or_default();
    let Some(choice) = completion.choices.into_iter().next() else {
        reply.stop_reason = Some("end_turn".to_owned());
        return reply;
    };
    let message = choice.message;
    let has_calls = message
        .tool_calls
        .as_ref()
        .is_some_and(|calls| !calls.is_empty());
    reply.stop_reason = Some(stop_reason(choice.finish_reason.as_deref(), has_calls).to_owned());
    reply.content = content(message);
    reply
}

fn content(message: ResponseMessage) -> Vec<OutputBlock> {
    let mut blocks = Vec::new();
    let mut on_thoughts = Vec::new();
    match message.thinking_blocks {
        Some(thoughts) => {
            for thought in thoughts {
                if let Some(signature) = &thought.signature {
                    on_thoughts.push(signature.clone());
                }
                blocks.push(OutputBlock::Thinking {
                    thinking: thought.thinking.unwrap_or_default(),
                    signature: thought.signature.unwrap_or_default(),
                });
            }
        }
        None => {
            if let Some(text) = message.reasoning_content.filter(|text| !text.is_empty()) {
                blocks.push(OutputBlock::Thinking {
                    thinking: text,
                    signature: String::new(),
                });
            }
        }
    }
    let mut state = ThoughtState::default();
    let mut calls = Vec::new();
    for call in message.tool_calls.into_iter().flatten() {
        let id = state.call(&call);
        calls.push(OutputBlock::ToolUse {
            id,
            name: call.function.name,
            input: input(&call.function.arguments),
        });
    }
    let signatures = message
        .provider_specific_fields
        .and_then(|fields| fields.thought_signatures)
        .unwrap_or_default();
    state.rest(&signatures, &on_thoughts);
    if !state.is_empty() {
        blocks.push(state_block(&state));
    }
    if let Some(text) = message.content.filter(|text| !text.is_empty()) {
        blocks.push(OutputBlock::Text { text });
    }
    blocks.extend(calls);
    blocks
}

/// The thinking block that carries `state`.
pub(super) fn state_block(state: &ThoughtState) -> OutputBlock {
    OutputBlock::Thinking {
        thinking: String::new(),
        signature: state.encode(),
    }
}

/// A call's arguments as the `input` object.
pub(super) fn input(arguments: &str) -> Value {
    if arguments.trim().is_empty() {
        return Value::Object(Default::default());
    }
    serde_json::from_str(arguments).unwrap_or_else(|_| Value::String(arguments.to_owned()))
}

/// Anthropic's stop reason for a chat finish reason.
pub(super) fn stop_reason(finish_reason: Option<&str>, has_calls: bool) -> &'static str {
    match finish_reason {
        _ if has_calls => "tool_use",
        Some("length") => "max_tokens",
        Some("tool_calls" | "function_call") => "tool_use",
        Some("content_filter") => "refusal",
        _ => "end_turn",
    }
}

/// Chat usage as Anthropic counts it: every input token in exactly one of the three input
/// counts.
pub fn usage(usage: &Usage) -> MessageUsage {
    let cached = usage
        .prompt_tokens_details
        .as_ref()
        .and_then(|details| details.cached_tokens)
        .or(usage.cache_read_input_tokens)
        .unwrap_or(0);
    // The head a request cached is also the head it read (the call is sent with the new
    // cache): counted once, as written.
    let created = usage
        .cache_creation_input_tokens
        .unwrap_or(0)
        .min(usage.prompt_tokens);
    let cached = cached.max(created).min(usage.prompt_tokens);
    MessageUsage {
        input_tokens: usage.prompt_tokens - cached,
        output_tokens: usage.completion_tokens,
        cache_creation_input_tokens: Some(created),
        cache_read_input_tokens: Some(cached - created),
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn usage() {
        use crate::layers::messages::reply::usage;
        use crate::openai::Usage;

        let mut chat = Usage::new(5000, 20);
        chat.cache_read_input_tokens = Some(4096);
        chat.add_cache_write(4096); // this request created the cache it read
        let usage = usage(&chat);
        assert_eq!(usage.input_tokens, 904);
        assert_eq!(usage.cache_creation_input_tokens, Some(4096));
        assert_eq!(usage.cache_read_input_tokens, Some(0));
        assert_eq!(usage.output_tokens, 20);
    }
}
