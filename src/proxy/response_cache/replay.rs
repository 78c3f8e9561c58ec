//! A cached completion replayed as a stream, for a `stream: true` request that hits: one
//! chunk per choice carrying its whole message and finish reason, then (with
//! `stream_options.include_usage`) a usage chunk, as a live stream ends.

use crate::openai::ResponseMessage;
use crate::openai::chunk::FunctionDelta;
use crate::openai::{ChatCompletion, ChatCompletionChunk, ChunkChoice, Delta, ToolCallDelta};
use crate::provider::ChunkStream;

/// The chunks of `completion`; `usage` adds the usage chunk.
pub(super) fn chunks(completion: ChatCompletion, usage: bool) -> ChunkStream {
    let ChatCompletion {
        id,
        created,
        model,
        choices,
        usage: counts,
        vertex_ai_grounding_metadata,
        vertex_ai_url_context_metadata,
        vertex_ai_safety_results,
        vertex_ai_citation_metadata,
        ..
    } = completion;
    let chunk = |choices: Vec<ChunkChoice>| ChatCompletionChunk {
        id: id.clone(),
        object: "chat.completion.chunk".to_owned(),
        created,
        model: model.clone(),
        choices,
        usage: None,
        vertex_ai_grounding_metadata: None,
        vertex_ai_url_context_metadata: None,
        vertex_ai_safety_results: None,
        vertex_ai_citation_metadata: None,
    };
    let mut out: Vec<ChatCompletionChunk> = choices
        .into_iter()
        .map(|choice| {
            chunk(vec![ChunkChoice {
                index: choice.index,
                delta: delta(choice.message),
                finish_reason: choice.finish_reason,
                logprobs: choice.logprobs,
                provider_specific_fields: choice.provider_specific_fields,
            }])
        })
        .collect();
    if out.is_empty() {
        out.push(chunk(Vec::new()));
    }
    if let Some(last) = out.last_mut() {
        last.vertex_ai_grounding_metadata = vertex_ai_grounding_metadata;
        last.vertex_ai_url_context_metadata = vertex_ai_url_context_metadata;
        last.vertex_ai_safety_results = vertex_ai_safety_results;
        last.vertex_ai_citation_metadata = vertex_ai_citation_metadata;
    }
    if usage && counts.is_some() {
        let mut tail = chunk(Vec::new());
        tail.usage = counts;
        out.push(tail);
    }
    Box::pin(futures_util::stream::iter(out.into_iter().map(Ok)))
}

/// A whole message as one delta.
fn delta(message: ResponseMessage) -> Delta {
    Delta {
        role: Some(message.role),
        content: message.content,
        reasoning_content: message.reasoning_content,
        thinking_blocks: message.thinking_blocks,
        tool_calls: message.tool_calls.map(|calls| {
            calls
                .into_iter()
                .zip(0..)
                .map(|(call, index)| ToolCallDelta::whole(index, call))
                .collect()
        }),
        function_call: message.function_call.map(|call| FunctionDelta {
            name: Some(call.name),
            arguments: Some(call.arguments),
        }),
        images: message.images,
        audio: message.audio,
        annotations: message.annotations,
        provider_specific_fields: message.provider_specific_fields,
    }
}
