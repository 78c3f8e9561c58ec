//! A chat reply → the `response` object, as pure functions; the same pieces serve the
//! stream (see [`super::stream`]).
//!
//! | chat | Responses |
//! |---|---|
//! | `reasoning_content` | a `reasoning` item first, its text as one `summary_text` (with `reasoning.summary`) |
//! | `thinking_blocks`, `provider_specific_fields.thought_signatures` | that item's `encrypted_content` ([`ReasoningState`]); a reply with signatures and no thought text gets a `reasoning` item last, holding only them |
//! | `content`, `annotations`, `logprobs` | a `message` item with one `output_text` part (`url_citation` annotations; log probabilities with `include`) |
//! | `tool_calls` | `function_call` items, the chat id as `call_id` (Gemini's thought signature rides in it) |
//! | `finish_reason` `length` / `content_filter` | `status: "incomplete"`, `incomplete_details.reason` `max_output_tokens` / `content_filter` |
//! | `usage` | `input_tokens`, `output_tokens`, `cached_tokens`, `reasoning_tokens` |
//!
//! Only the first choice is read (the Responses API has no `n`). Generated images and audio
//! have no item here and are not carried.

use super::request::{ReasoningState, Show};
use crate::openai::chat::{Annotation, Logprobs, ResponseMessage, Usage};
use crate::openai::responses::{
    FunctionCallItem, IncompleteDetails, InputTokensDetails, OutputContent, OutputItem,
    OutputLogprob, OutputMessage, OutputText, OutputTokensDetails, ReasoningItem, Response,
    ResponseUsage, SummaryText, TopLogprob, UrlCitation,
};
use crate::openai::{ChatCompletion, Message, Role};

/// The id of output item number `index` of response `response_id`, with `prefix`
/// (`msg`, `fc`, `rs`): unique because the response id is, and the same however the
/// reply arrived.
pub fn item_id(prefix: &str, response_id: &str, index: usize) -> String {
    let suffix = response_id.strip_prefix("resp_").unwrap_or(response_id);
    format!("{prefix}_{suffix}_{index}")
}

/// Fills `response` (from [`super::request::plan`]) with a whole chat reply; also gives
/// the assistant message to keep in the conversation.
pub fn complete(mut response: Response, chat: ChatCompletion, show: Show) -> (Response, Message) {
    response.usage = chat.usage.map(usage);
    let Some(choice) = chat.choices.into_iter().next() else {
        response.status = "completed".to_owned();
        return (response, assistant_message(ResponseMessage::default()));
    };
    let message = choice.message;
    let state = reasoning_state(&message);
    let id = response.id.clone();
    let mut output = Vec::new();
    if message.reasoning_content.is_some() {
        output.push(OutputItem::Reasoning(ReasoningItem {
            id: item_id("rs", &id, output.len()),
            summary: match &message.reasoning_content {
                Some(text) if show.summaries => vec![SummaryText::new(text.clone())],
                _ => Vec::new(),
            },
            encrypted_content: (!state.is_empty()).then(|| state.encode()),
            status: None,
        }));
    }
    let status = finish(&mut response, choice.finish_reason.as_deref());
    if let Some(text) = message.content.clone().filter(|text| !text.is_empty()) {
        output.push(OutputItem::Message(OutputMessage {
            id: item_id("msg", &id, output.len()),
            role: "assistant".to_owned(),
            status: status.to_owned(),
            content: vec![OutputContent::OutputText(OutputText {
                text,
                annotations: citations(message.annotations.iter().flatten()),
                logprobs: match choice.logprobs {
                    Some(logprobs) if show.logprobs => output_logprobs(logprobs),
                    _ => Vec::new(),
                },
            })],
        }));
    }
    for call in message.tool_calls.iter().flatten() {
        output.push(OutputItem::FunctionCall(FunctionCallItem {
            id: item_id("fc", &id, output.len()),
            call_id: call.id.clone(),
            name: call.function.name.clone(),
            arguments: call.function.arguments.clone(),
            status: "completed".to_owned(),
        }));
    }
    if message.reasoning_content.is_none() && !state.is_empty() {
        output.push(signature_item(&id, output.len(), &state));
    }
    response.output = output;
    (response, assistant_message(message))
}

/// A `reasoning` item that only carries thought state.
pub(super) fn signature_item(
    response_id: &str,
    index: usize,
    state: &ReasoningState,
) -> OutputItem {
    OutputItem::Reasoning(ReasoningItem {
        id: item_id("rs", response_id, index),
        summary: Vec::new(),
        encrypted_content: Some(state.encode()),
        status: None,
    })
}

/// Sets `status` and `incomplete_details` from a chat finish reason; the status of the
/// message item.
pub(super) fn finish(response: &mut Response, finish_reason: Option<&str>) -> &'static str {
    let reason = match finish_reason {
        Some("length") => Some("max_output_tokens"),
        Some("content_filter") => Some("content_filter"),
        _ => None,
    };
    match reason {
        Some(reason) => {
            response.status = "incomplete".to_owned();
            response.incomplete_details = Some(IncompleteDetails {
                reason: reason.to_owned(),
            });
            "incomplete"
        }
        None => {
            response.status = "completed".to_owned();
            "completed"
        }
    }
}

/// The thought state of a chat message.
fn reasoning_state(message: &ResponseMessage) -> ReasoningState {
    ReasoningState {
        thinking_blocks: message.thinking_blocks.clone().unwrap_or_default(),
        thought_signatures: message
            .provider_specific_fields
            .as_ref()
            .and_then(|fields| fields.thought_signatures.clone())
            .unwrap_or_default(),
    }
}

/// The assistant message as the conversation keeps it (what a chat client would send
/// back).
pub(super) fn assistant_message(message: ResponseMessage) -> Message {
    let mut kept = Message::text(Role::Assistant, String::new());
    kept.content = message.content.map(crate::openai::Content::Text);
    kept.reasoning_content = message.reasoning_content;
    kept.thinking_blocks = message.thinking_blocks;
    kept.tool_calls = message.tool_calls;
    kept.provider_specific_fields = message
        .provider_specific_fields
        .filter(|fields| !fields.is_empty())
        .and_then(|fields| serde_json::to_value(fields).ok());
    kept
}

/// Chat `url_citation` annotations as Responses citations.
pub(super) fn citations<'a>(annotations: impl Iterator<Item = &'a Annotation>) -> Vec<UrlCitation> {
    annotations
        .filter(|annotation| annotation.kind == "url_citation")
        .map(|annotation| {
            let cited = &annotation.url_citation;
            UrlCitation {
                kind: "url_citation".to_owned(),
                start_index: cited.start_index,
                end_index: cited.end_index,
                url: cited.url.clone(),
                title: cited.title.clone().unwrap_or_default(),
            }
        })
        .collect()
}

/// Chat log probabilities in the Responses shape.
pub(super) fn output_logprobs(logprobs: Logprobs) -> Vec<OutputLogprob> {
    logprobs
        .content
        .into_iter()
        .map(|token| OutputLogprob {
            bytes: token
                .bytes
                .unwrap_or_else(|| token.token.as_bytes().to_vec()),
            token: token.token,
            logprob: token.logprob,
            top_logprobs: token
                .top_logprobs
                .into_iter()
                .map(|top| TopLogprob {
                    bytes: top.bytes.unwrap_or_else(|| top.token.as_bytes().to_vec()),
                    token: top.token,
                    logprob: top.logprob,
                })
                .collect(),
        })
        .collect()
}

/// Chat usage in the Responses shape.
pub(super) fn usage(usage: Usage) -> ResponseUsage {
    ResponseUsage {
        input_tokens: usage.prompt_tokens,
        input_tokens_details: InputTokensDetails {
            cached_tokens: usage
                .prompt_tokens_details
                .and_then(|details| details.cached_tokens)
                .or(usage.cache_read_input_tokens)
                .unwrap_or(0),
        },
        output_tokens: usage.completion_tokens,
        output_tokens_details: OutputTokensDetails {
            reasoning_tokens: usage
                .completion_tokens_details
                .and_then(|details| details.reasoning_tokens)
                .unwrap_or(0),
        },
        total_tokens: usage.total_tokens,
    }
}
