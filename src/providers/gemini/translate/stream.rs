//! Gemini stream events → OpenAI `chat.completion.chunk`s: a pure, stateful translator.
//!
//! - one id, `created` and model across the stream (the first `responseId`, else a
//!   generated id);
//! - each choice's first chunk carries `role: "assistant"`;
//! - text → `delta.content`, thought parts → `delta.reasoning_content`, function calls →
//!   `delta.tool_calls` with a stable `index` per call within the choice and the whole
//!   call (id, name, arguments string) in one delta — Gemini never splits a call; when
//!   the request used legacy `functions`, the call is `delta.function_call` instead and
//!   the finish reason `function_call`;
//! - thought signatures and log probabilities ride as in the non-streaming reply;
//! - visible text separated from earlier text by code-execution parts starts with a blank
//!   line, as in the non-streaming reply, also when the parts came in different events;
//! - `groundingMetadata`, `urlContextMetadata` and `citationMetadata` ride on the chunk of
//!   their event (`vertex_ai_grounding_metadata`, `vertex_ai_url_context_metadata`,
//!   `vertex_ai_citation_metadata`); when that event has nothing else to send, on the next
//!   chunk instead (a mid-stream chunk with `choices: []` breaks clients); the final
//!   `safetyRatings` of each choice ride on the finish chunk (`vertex_ai_safety_results`);
//! - finish reasons are held until the stream ends, then each choice gets one empty-delta
//!   chunk with its `finish_reason` (tool calls win) and Gemini's own reason beside it
//!   (`provider_specific_fields.native_finish_reason`). Some models send `STOP` and then
//!   more text; holding the reason keeps that text inside the choice;
//! - with `include_usage`, a last chunk with `choices: []` and the final (cumulative) usage.

use super::ids::IdSource;
use super::response::{
    PartsDigest, ReplyContext, annotations, finish_reason, gemini_finish, search_query_count,
    translate_logprobs, translate_usage,
};
use serde_json::Value;

use crate::openai::chat::{ChoiceProviderFields, Usage};
use crate::openai::chunk::{ChatCompletionChunk, ChunkChoice, Delta, FunctionDelta, ToolCallDelta};
use crate::providers::gemini::wire::{GenerateContentResponse, Part, UsageMetadata};

/// Gemini's largest `candidateCount`: candidate indices are below it.
pub const MAX_CANDIDATES: u32 = 8;

/// Per-choice state.
#[derive(Debug, Default)]
struct ChoiceState {
    role_sent: bool,
    tool_calls: u32,
    images: u32,
    content: String,
    /// Code-execution parts came after the last visible text.
    text_interrupted: bool,
    gemini_reason: Option<String>,
    gemini_message: Option<String>,
    /// The latest `safetyRatings` (Gemini repeats them; the last ones are final).
    safety: Option<Value>,
}

/// Translates one stream.
///
/// ```
/// use llm_tower::gemini::translate::{ReplyContext, SequentialIds};
/// use llm_tower::gemini::translate::StreamTranslator;
///
/// let ids = SequentialIds::new(0);
/// let context = ReplyContext { model: "gemini-2.5-flash", legacy_functions: false };
/// let mut translator = StreamTranslator::new(context, false);
/// let event = serde_json::from_str(r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"finishReason":"STOP"}]}"#)?;
/// let chunks = translator.event(event, &ids);
/// assert_eq!(chunks[0].choices[0].delta.content.as_deref(), Some("Hi"));
/// let last = translator.finish(&ids);
/// assert_eq!(last[0].choices[0].finish_reason.as_deref(), Some("stop"));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug)]
pub struct StreamTranslator {
    model: String,
    legacy_functions: bool,
    include_usage: bool,
    id: Option<String>,
    created: Option<u64>,
    choices: Vec<ChoiceState>,
    usage: Option<UsageMetadata>,
    web_search_requests: u64,
    blocked: Option<String>,
    /// Grounding, URL-context and citation metadata not yet sent, for the next chunk.
    grounding: Vec<Value>,
    url_context: Vec<Value>,
    citations: Vec<Value>,
}

impl StreamTranslator {
    /// A translator for one stream.
    pub fn new(context: ReplyContext<'_>, include_usage: bool) -> Self {
        Self {
            model: context.model.to_owned(),
            legacy_functions: context.legacy_functions,
            include_usage,
            id: None,
            created: None,
            choices: Vec::new(),
            usage: None,
            web_search_requests: 0,
            blocked: None,
            grounding: Vec::new(),
            url_context: Vec::new(),
            citations: Vec::new(),
        }
    }

    /// The chunks for one upstream event (none when it only carried usage).
    pub fn event(
        &mut self,
        event: GenerateContentResponse,
        ids: &dyn IdSource,
    ) -> Vec<ChatCompletionChunk> {
        if self.id.is_none() {
            self.id = Some(
                event
                    .response_id
                    .clone()
                    .unwrap_or_else(|| ids.completion_id()),
            );
            self.created = Some(ids.created());
        }
        if let Some(usage) = event.usage_metadata {
            self.usage = Some(usage);
        }
        if let Some(reason) = event
            .prompt_feedback
            .and_then(|feedback| feedback.block_reason)
        {
            self.blocked = Some(reason);
        }
        let mut choices = Vec::with_capacity(event.candidates.len());
        for (position, candidate) in event.candidates.into_iter().enumerate() {
            let index = candidate.index.unwrap_or(position as u32) as usize;
            if index >= MAX_CANDIDATES as usize {
                // The SSE adapter refuses such events; the translator never sizes its state
                // by an index it cannot trust.
                continue;
            }
            if self.choices.len() <= index {
                self.choices.resize_with(index + 1, ChoiceState::default);
            }
            let state = &mut self.choices[index];
            if candidate.finish_reason.is_some() {
                state.gemini_reason = candidate.finish_reason;
                state.gemini_message = candidate.finish_message.or(state.gemini_message.take());
            }
            let logprobs = candidate.logprobs_result.map(translate_logprobs);
            let parts = candidate
                .content
                .map(|content| content.parts)
                .unwrap_or_default();
            let separate = separate_text(&parts, &mut state.text_interrupted);
            let mut digest = PartsDigest::of(parts, ids, state.images);
            if let Some(text) = &mut digest.content {
                if separate && !state.content.is_empty() && !text.is_empty() {
                    text.insert_str(0, "\n\n");
                }
                state.content.push_str(text);
            }
            let annotations = candidate.grounding_metadata.as_ref().map(|metadata| {
                self.web_search_requests =
                    self.web_search_requests.max(search_query_count(metadata));
                annotations(metadata, &state.content)
            });
            self.grounding.extend(candidate.grounding_metadata);
            self.url_context.extend(candidate.url_context_metadata);
            self.citations.extend(candidate.citation_metadata);
            if candidate.safety_ratings.is_some() {
                state.safety = candidate.safety_ratings;
            }
            let function_call = if self.legacy_functions {
                digest.tool_calls.drain(..).next_back().map(|call| {
                    state.tool_calls += 1;
                    FunctionDelta {
                        name: Some(call.function.name),
                        arguments: Some(call.function.arguments),
                    }
                })
            } else {
                None
            };
            let tool_calls: Vec<ToolCallDelta> = digest
                .tool_calls
                .drain(..)
                .map(|call| {
                    let delta = ToolCallDelta::whole(state.tool_calls, call);
                    state.tool_calls += 1;
                    delta
                })
                .collect();
            state.images += digest.images.len() as u32;
            let delta = Delta {
                role: (!state.role_sent).then(|| "assistant".to_owned()),
                content: digest.content.take().filter(|text| !text.is_empty()),
                reasoning_content: digest.reasoning.take(),
                thinking_blocks: (!digest.thinking_blocks.is_empty())
                    .then(|| std::mem::take(&mut digest.thinking_blocks)),
                tool_calls: (!tool_calls.is_empty()).then_some(tool_calls),
                function_call,
                images: (!digest.images.is_empty()).then(|| std::mem::take(&mut digest.images)),
                audio: digest.audio.take(),
                annotations: annotations.filter(|annotations| !annotations.is_empty()),
                provider_specific_fields: digest.provider_fields(),
            };
            if carries_nothing(&delta) && logprobs.is_none() {
                continue;
            }
            state.role_sent = true;
            choices.push(ChunkChoice {
                index: index as u32,
                delta,
                finish_reason: None,
                logprobs,
                provider_specific_fields: None,
            });
        }
        if choices.is_empty() {
            return Vec::new();
        }
        vec![self.take_metadata(ChatCompletionChunk {
            choices,
            ..self.chunk()
        })]
    }

    /// The closing chunks: each choice's finish reason, then usage if asked for.
    pub fn finish(&mut self, ids: &dyn IdSource) -> Vec<ChatCompletionChunk> {
        if self.id.is_none() {
            self.id = Some(ids.completion_id());
            self.created = Some(ids.created());
        }
        let mut chunks = Vec::with_capacity(2);
        let mut choices: Vec<ChunkChoice> = self
            .choices
            .iter_mut()
            .enumerate()
            .map(|(index, state)| {
                let reason = if state.tool_calls > 0 {
                    if self.legacy_functions {
                        "function_call"
                    } else {
                        "tool_calls"
                    }
                } else {
                    finish_reason(state.gemini_reason.as_deref())
                };
                ChunkChoice {
                    index: index as u32,
                    delta: Delta {
                        role: (!state.role_sent).then(|| "assistant".to_owned()),
                        ..Delta::default()
                    },
                    finish_reason: Some(reason.to_owned()),
                    logprobs: None,
                    provider_specific_fields: gemini_finish(
                        state.gemini_reason.take(),
                        state.gemini_message.take(),
                    ),
                }
            })
            .collect();
        if choices.is_empty() {
            choices.push(ChunkChoice {
                index: 0,
                delta: Delta {
                    role: Some("assistant".to_owned()),
                    ..Delta::default()
                },
                finish_reason: Some("content_filter".to_owned()),
                logprobs: None,
                provider_specific_fields: Some(ChoiceProviderFields {
                    native_finish_reason: self.blocked.take().unwrap_or_else(|| "OTHER".to_owned()),
                    finish_message: None,
                }),
            });
        }
        let safety: Vec<Value> = self
            .choices
            .iter_mut()
            .filter_map(|state| state.safety.take())
            .collect();
        let last = ChatCompletionChunk {
            choices,
            vertex_ai_safety_results: (!safety.is_empty()).then_some(safety),
            ..self.chunk()
        };
        chunks.push(self.take_metadata(last));
        if self.include_usage {
            chunks.push(ChatCompletionChunk {
                usage: Some(self.usage()),
                ..self.chunk()
            });
        }
        chunks
    }

    /// Usage so far (the last cumulative `usageMetadata`).
    pub fn usage(&self) -> Usage {
        translate_usage(
            self.usage.clone().unwrap_or_default(),
            self.web_search_requests,
        )
    }

    /// Puts the metadata not yet sent on `chunk`.
    fn take_metadata(&mut self, chunk: ChatCompletionChunk) -> ChatCompletionChunk {
        fn take(pending: &mut Vec<Value>) -> Option<Vec<Value>> {
            (!pending.is_empty()).then(|| std::mem::take(pending))
        }
        ChatCompletionChunk {
            vertex_ai_grounding_metadata: take(&mut self.grounding),
            vertex_ai_url_context_metadata: take(&mut self.url_context),
            vertex_ai_citation_metadata: take(&mut self.citations),
            ..chunk
        }
    }

    fn chunk(&self) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: self.id.clone().unwrap_or_default(),
            object: "chat.completion.chunk".to_owned(),
            created: self.created.unwrap_or_default(),
            model: self.model.clone(),
            choices: Vec::new(),
            usage: None,
            vertex_ai_grounding_metadata: None,
            vertex_ai_url_context_metadata: None,
            vertex_ai_safety_results: None,
            vertex_ai_citation_metadata: None,
        }
    }
}

/// Whether this event's first visible text follows code-execution parts (of this event
/// or, per `interrupted`, of earlier ones); updates `interrupted` for the next event.
/// Mirrors the joining rule of [`PartsDigest::of`], which handles text inside one event.
fn separate_text(parts: &[Part], interrupted: &mut bool) -> bool {
    let mut separate = None;
    for part in parts {
        if let Some(text) = &part.text {
            if part.thought != Some(true) {
                separate.get_or_insert(*interrupted && !text.is_empty());
                *interrupted = false;
            }
        } else if part.function_call.is_none()
            && part
                .inline_data
                .as_ref()
                .is_none_or(|blob| !blob.mime_type.starts_with("image/"))
            && (part.executable_code.is_some() || part.code_execution_result.is_some())
        {
            *interrupted = true;
        }
    }
    separate.unwrap_or(false)
}

/// Whether a delta has nothing but (maybe) the role: such a chunk is not sent.
fn carries_nothing(delta: &Delta) -> bool {
    delta.content.is_none()
        && delta.reasoning_content.is_none()
        && delta.thinking_blocks.is_none()
        && delta.tool_calls.is_none()
        && delta.function_call.is_none()
        && delta.images.is_none()
        && delta.audio.is_none()
        && delta.annotations.is_none()
        && delta.provider_specific_fields.is_none()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::providers::gemini::translate::SequentialIds;

    #[test]
    fn legacy_functions_stream_a_function_call() {
        let ids = SequentialIds::new(0);
        let context = ReplyContext {
            model: "gemini-2.5-flash",
            legacy_functions: true,
        };
        let mut translator = StreamTranslator::new(context, false);
        let event = serde_json::from_str(
            r#"{"candidates":[{"content":{"role":"model","parts":[{"functionCall":{"name":"f","args":{"x":1}}}]},"finishReason":"STOP"}]}"#,
        )
        .expect("valid event");
        let chunks = translator.event(event, &ids);
        let delta = &chunks[0].choices[0].delta;
        assert_eq!(delta.tool_calls, None);
        assert_eq!(
            delta.function_call,
            Some(FunctionDelta {
                name: Some("f".to_owned()),
                arguments: Some(r#"{"x":1}"#.to_owned()),
            })
        );
        let last = translator.finish(&ids);
        assert_eq!(
            last[0].choices[0].finish_reason.as_deref(),
            Some("function_call")
        );
    }

    #[test]
    fn log_probabilities_ride_on_their_chunk() {
        let ids = SequentialIds::new(0);
        let context = ReplyContext {
            model: "gemini-2.0-flash",
            legacy_functions: false,
        };
        let mut translator = StreamTranslator::new(context, false);
        let event = serde_json::from_str(
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Yes"}]},"logprobsResult":{"topCandidates":[{"candidates":[{"token":"Yes","logProbability":-0.5},{"token":"No","logProbability":-1.5}]}],"chosenCandidates":[{"token":"Yes","logProbability":-0.5}]}}]}"#,
        )
        .expect("valid event");
        let chunks = translator.event(event, &ids);
        let logprobs = serde_json::to_value(&chunks[0].choices[0].logprobs).expect("serializes");
        assert_eq!(
            logprobs,
            serde_json::json!({"content": [{"token": "Yes", "logprob": -0.5, "bytes": [89, 101, 115], "top_logprobs": [
                {"token": "Yes", "logprob": -0.5, "bytes": [89, 101, 115]},
                {"token": "No", "logprob": -1.5, "bytes": [78, 111]}
            ]}]})
        );
    }

    #[test]
    fn url_context_citations_and_safety_ratings_reach_the_client() {
        let ids = SequentialIds::new(0);
        let context = ReplyContext {
            model: "gemini-2.5-flash",
            legacy_functions: false,
        };
        let mut translator = StreamTranslator::new(context, false);
        let first = serde_json::from_str(
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi"}]},"safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"LOW"}],"urlContextMetadata":{"urlMetadata":[{"retrievedUrl":"https://a"}]}}]}"#,
        )
        .expect("valid event");
        let last = serde_json::from_str(
            r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"!"}]},"finishReason":"STOP","safetyRatings":[{"category":"HARM_CATEGORY_HARASSMENT","probability":"NEGLIGIBLE"}],"citationMetadata":{"citationSources":[{"uri":"https://b"}]}}]}"#,
        )
        .expect("valid event");
        let chunks = translator.event(first, &ids);
        assert_eq!(
            chunks[0].vertex_ai_url_context_metadata,
            Some(vec![
                serde_json::json!({"urlMetadata": [{"retrievedUrl": "https://a"}]})
            ])
        );
        assert_eq!(
            chunks[0].vertex_ai_safety_results, None,
            "ratings wait for the end"
        );
        let chunks = translator.event(last, &ids);
        assert_eq!(
            chunks[0].vertex_ai_citation_metadata,
            Some(vec![
                serde_json::json!({"citationSources": [{"uri": "https://b"}]})
            ])
        );
        let finish = translator.finish(&ids);
        assert_eq!(
            finish[0].vertex_ai_safety_results,
            Some(vec![
                serde_json::json!([{"category": "HARM_CATEGORY_HARASSMENT", "probability": "NEGLIGIBLE"}])
            ])
        );
    }
}
