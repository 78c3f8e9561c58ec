//! Chat chunks → Responses stream events, as a pure state machine ([`StreamMapper`]).
//!
//! The first chunk opens the stream with `response.created` and `response.in_progress`.
//! Then each kind of output gets its item, opened when its first delta arrives and closed
//! when another kind starts or the stream ends:
//!
//! | chat delta | events |
//! |---|---|
//! | `reasoning_content` | `output_item.added` (`reasoning`); with `reasoning.summary`: `reasoning_summary_part.added`, `reasoning_summary_text.delta`…, `reasoning_summary_text.done`, `reasoning_summary_part.done`; `output_item.done` |
//! | `content` | `output_item.added` (`message`), `content_part.added`, `output_text.delta`…, `output_text.annotation.added` (citations), `output_text.done`, `content_part.done`, `output_item.done` |
//! | `tool_calls` | per call: `output_item.added` (`function_call`), `function_call_arguments.delta`…, `function_call_arguments.done`, `output_item.done` |
//! | the end | `response.completed`, or `response.incomplete` for `length` / `content_filter` |
//! | an error | `error`, then `response.failed` with the output so far |
//!
//! Every event has the next `sequence_number`, from 0. Thought state (`thinking_blocks`,
//! thought signatures) is gathered over the whole stream: the reasoning item's
//! `output_item.done` carries what had arrived by then, the final response all of it (a
//! stream with signatures and no thought text gets a signature-only reasoning item last,
//! as a whole reply does).

use super::reply::{
    assistant_message, citations, finish, item_id, output_logprobs, signature_item, usage,
};
use super::request::{ReasoningState, Show};
use crate::error::Error;
use crate::openai::chat::{MessageProviderFields, ResponseMessage, ToolCall, Usage};
use crate::openai::chunk::ToolCallDelta;
use crate::openai::responses::{
    FunctionCallItem, OutputContent, OutputItem, OutputLogprob, OutputMessage, OutputText,
    ReasoningItem, Response, ResponseError, ResponseEvent, SummaryText, UrlCitation,
};
use crate::openai::{ChatCompletionChunk, FunctionCall, Message};

/// The item being written, other than function calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Current {
    Reasoning(usize),
    Message(usize),
}

/// A function call whose arguments may still grow.
#[derive(Debug)]
struct OpenCall {
    /// The chat delta's `index`.
    chat_index: u32,
    /// Position in `output`.
    output_index: usize,
}

/// Maps one chat stream to Responses events.
#[derive(Debug)]
pub struct StreamMapper {
    response: Response,
    show: Show,
    sequence: u64,
    started: bool,
    output: Vec<OutputItem>,
    current: Option<Current>,
    calls: Vec<OpenCall>,
    /// Summary text of the reasoning item being written.
    summary: String,
    state: ReasoningState,
    /// The assistant message as the conversation keeps it.
    kept: ResponseMessage,
    finish_reason: Option<String>,
    usage: Option<Usage>,
}

impl StreamMapper {
    /// Maps the stream of `response` (from [`super::request::plan`]).
    pub fn new(response: Response, show: Show) -> Self {
        Self {
            response,
            show,
            sequence: 0,
            started: false,
            output: Vec::new(),
            current: None,
            calls: Vec::new(),
            summary: String::new(),
            state: ReasoningState::default(),
            kept: ResponseMessage {
                role: "assistant".to_owned(),
                ..ResponseMessage::default()
            },
            finish_reason: None,
            usage: None,
        }
    }

    /// Whether a first event was given.
    pub fn started(&self) -> bool {
        self.started
    }

    fn push(&mut self, events: &mut Vec<ResponseEvent>, event: impl FnOnce(u64) -> ResponseEvent) {
        events.push(event(self.sequence));
        self.sequence += 1;
    }

    /// The events of one chunk (the first chunk's begin with the response's own).
    pub fn chunk(&mut self, chunk: ChatCompletionChunk) -> Vec<ResponseEvent> {
        let mut events = Vec::new();
        if !self.started {
            self.started = true;
            let response = Box::new(self.response.clone());
            self.push(&mut events, |sequence_number| ResponseEvent::Created {
                response: response.clone(),
                sequence_number,
            });
            self.push(&mut events, |sequence_number| ResponseEvent::InProgress {
                response,
                sequence_number,
            });
        }
        if let Some(usage) = chunk.usage {
            self.usage = Some(usage);
        }
        for choice in chunk.choices.into_iter().filter(|choice| choice.index == 0) {
            let delta = choice.delta;
            if let Some(blocks) = delta.thinking_blocks {
                self.state.thinking_blocks.extend(blocks.iter().cloned());
                self.kept
                    .thinking_blocks
                    .get_or_insert_with(Vec::new)
                    .extend(blocks);
            }
            if let Some(signatures) = delta
                .provider_specific_fields
                .and_then(|fields| fields.thought_signatures)
            {
                self.state.thought_signatures.extend(signatures);
            }
            if let Some(text) = delta.reasoning_content.filter(|text| !text.is_empty()) {
                self.reasoning(text, &mut events);
            }
            if let Some(text) = delta.content.filter(|text| !text.is_empty()) {
                let logprobs = match choice.logprobs {
                    Some(logprobs) if self.show.logprobs => output_logprobs(logprobs),
                    _ => Vec::new(),
                };
                self.text(text, logprobs, &mut events);
            }
            if let Some(annotations) = delta.annotations {
                self.annotate(citations(annotations.iter()), &mut events);
            }
            for call in delta.tool_calls.into_iter().flatten() {
                self.call(call, &mut events);
            }
            if let Some(reason) = choice.finish_reason {
                self.finish_reason = Some(reason);
            }
        }
        events
    }

    fn reasoning(&mut self, text: String, events: &mut Vec<ResponseEvent>) {
        let index = match self.current {
            Some(Current::Reasoning(index)) => index,
            _ => {
                self.close_current(events);
                self.close_calls(events);
                let index = self.output.len();
                let item = OutputItem::Reasoning(ReasoningItem {
                    id: item_id("rs", &self.response.id, index),
                    summary: Vec::new(),
                    encrypted_content: None,
                    status: None,
                });
                self.output.push(item.clone());
                self.push(events, |sequence_number| ResponseEvent::OutputItemAdded {
                    output_index: index as u32,
                    item,
                    sequence_number,
                });
                if self.show.summaries {
                    let item_id = self.output[index].id().to_owned();
                    self.push(events, |sequence_number| {
                        ResponseEvent::ReasoningSummaryPartAdded {
                            item_id,
                            output_index: index as u32,
                            summary_index: 0,
                            part: SummaryText::new(""),
                            sequence_number,
                        }
                    });
                }
                self.current = Some(Current::Reasoning(index));
                self.summary.clear();
                index
            }
        };
        self.summary.push_str(&text);
        self.kept
            .reasoning_content
            .get_or_insert_with(String::new)
            .push_str(&text);
        if self.show.summaries {
            let item_id = self.output[index].id().to_owned();
            self.push(events, |sequence_number| {
                ResponseEvent::ReasoningSummaryTextDelta {
                    item_id,
                    output_index: index as u32,
                    summary_index: 0,
                    delta: text,
                    sequence_number,
                }
            });
        }
    }

    fn text(
        &mut self,
        text: String,
        logprobs: Vec<OutputLogprob>,
        events: &mut Vec<ResponseEvent>,
    ) {
        let index = match self.current {
            Some(Current::Message(index)) => index,
            _ => {
                self.close_current(events);
                self.close_calls(events);
                let index = self.output.len();
                let item = OutputItem::Message(OutputMessage {
                    id: item_id("msg", &self.response.id, index),
                    role: "assistant".to_owned(),
                    status: "in_progress".to_owned(),
                    content: Vec::new(),
                });
                self.output.push(item.clone());
                self.push(events, |sequence_number| ResponseEvent::OutputItemAdded {
                    output_index: index as u32,
                    item,
                    sequence_number,
                });
                let part = OutputContent::OutputText(OutputText::default());
                if let OutputItem::Message(message) = &mut self.output[index] {
                    message.content.push(part.clone());
                }
                let item_id = self.output[index].id().to_owned();
                self.push(events, |sequence_number| ResponseEvent::ContentPartAdded {
                    item_id,
                    output_index: index as u32,
                    content_index: 0,
                    part,
                    sequence_number,
                });
                self.current = Some(Current::Message(index));
                index
            }
        };
        self.kept
            .content
            .get_or_insert_with(String::new)
            .push_str(&text);
        let Some(part) = self.text_part(index) else {
            return;
        };
        part.text.push_str(&text);
        part.logprobs.extend(logprobs.iter().cloned());
        let item_id = self.output[index].id().to_owned();
        self.push(events, |sequence_number| ResponseEvent::OutputTextDelta {
            item_id,
            output_index: index as u32,
            content_index: 0,
            delta: text,
            logprobs,
            sequence_number,
        });
    }

    fn text_part(&mut self, index: usize) -> Option<&mut OutputText> {
        match self.output.get_mut(index) {
            Some(OutputItem::Message(message)) => match message.content.first_mut() {
                Some(OutputContent::OutputText(part)) => Some(part),
                None => None,
            },
            _ => None,
        }
    }

    /// Citations go on the message being written, else on the last message (its events
    /// were sent: the final response carries them).
    fn annotate(&mut self, annotations: Vec<UrlCitation>, events: &mut Vec<ResponseEvent>) {
        let open = match self.current {
            Some(Current::Message(index)) => Some(index),
            _ => None,
        };
        let Some(index) = open.or_else(|| {
            self.output
                .iter()
                .rposition(|item| matches!(item, OutputItem::Message(_)))
        }) else {
            return;
        };
        let item_id = self.output[index].id().to_owned();
        for annotation in annotations {
            let Some(part) = self.text_part(index) else {
                return;
            };
            let annotation_index = part.annotations.len() as u32;
            part.annotations.push(annotation.clone());
            if open.is_some() {
                let item_id = item_id.clone();
                self.push(events, |sequence_number| {
                    ResponseEvent::OutputTextAnnotationAdded {
                        item_id,
                        output_index: index as u32,
                        content_index: 0,
                        annotation_index,
                        annotation,
                        sequence_number,
                    }
                });
            }
        }
    }

    fn call(&mut self, delta: ToolCallDelta, events: &mut Vec<ResponseEvent>) {
        let open = self
            .calls
            .iter()
            .find(|call| call.chat_index == delta.index)
            .map(|call| call.output_index);
        let index = match open {
            Some(index) => index,
            None => {
                self.close_current(events);
                let index = self.output.len();
                let item = OutputItem::FunctionCall(FunctionCallItem {
                    id: item_id("fc", &self.response.id, index),
                    call_id: delta.id.clone().unwrap_or_default(),
                    name: delta.function.name.clone().unwrap_or_default(),
                    arguments: String::new(),
                    status: "in_progress".to_owned(),
                });
                self.output.push(item.clone());
                self.calls.push(OpenCall {
                    chat_index: delta.index,
                    output_index: index,
                });
                self.kept
                    .tool_calls
                    .get_or_insert_with(Vec::new)
                    .push(ToolCall {
                        id: delta.id.clone().unwrap_or_default(),
                        kind: "function".to_owned(),
                        function: FunctionCall {
                            name: delta.function.name.clone().unwrap_or_default(),
                            arguments: String::new(),
                            provider_specific_fields: None,
                        },
                        provider_specific_fields: delta.provider_specific_fields.clone(),
                        extra: Default::default(),
                    });
                self.push(events, |sequence_number| ResponseEvent::OutputItemAdded {
                    output_index: index as u32,
                    item,
                    sequence_number,
                });
                index
            }
        };
        let Some(OutputItem::FunctionCall(call)) = self.output.get_mut(index) else {
            return;
        };
        let kept = self
            .kept
            .tool_calls
            .iter_mut()
            .flatten()
            .find(|kept| kept.id == call.call_id);
        let arguments = delta.function.arguments.unwrap_or_default();
        if arguments.is_empty() {
            return;
        }
        call.arguments.push_str(&arguments);
        if let Some(kept) = kept {
            kept.function.arguments.push_str(&arguments);
        }
        let item_id = call.id.clone();
        self.push(events, |sequence_number| {
            ResponseEvent::FunctionCallArgumentsDelta {
                item_id,
                output_index: index as u32,
                delta: arguments,
                sequence_number,
            }
        });
    }

    fn close_current(&mut self, events: &mut Vec<ResponseEvent>) {
        self.close_current_as(events, "completed");
    }

    fn close_current_as(&mut self, events: &mut Vec<ResponseEvent>, status: &str) {
        match self.current.take() {
            Some(Current::Reasoning(index)) => {
                let item_id = self.output[index].id().to_owned();
                if self.show.summaries {
                    let text = self.summary.clone();
                    let id = item_id.clone();
                    self.push(events, |sequence_number| {
                        ResponseEvent::ReasoningSummaryTextDone {
                            item_id: id,
                            output_index: index as u32,
                            summary_index: 0,
                            text: text.clone(),
                            sequence_number,
                        }
                    });
                    self.push(events, |sequence_number| {
                        ResponseEvent::ReasoningSummaryPartDone {
                            item_id,
                            output_index: index as u32,
                            summary_index: 0,
                            part: SummaryText::new(text),
                            sequence_number,
                        }
                    });
                }
                let summaries = self.show.summaries;
                let summary = std::mem::take(&mut self.summary);
                let state = (!self.state.is_empty()).then(|| self.state.encode());
                if let OutputItem::Reasoning(item) = &mut self.output[index] {
                    if summaries {
                        item.summary = vec![SummaryText::new(summary)];
                    }
                    item.encrypted_content = state;
                }
                self.item_done(index, events);
            }
            Some(Current::Message(index)) => {
                let item_id = self.output[index].id().to_owned();
                let Some(part) = self.text_part(index).cloned() else {
                    return;
                };
                let id = item_id.clone();
                self.push(events, |sequence_number| ResponseEvent::OutputTextDone {
                    item_id: id,
                    output_index: index as u32,
                    content_index: 0,
                    text: part.text.clone(),
                    logprobs: part.logprobs.clone(),
                    sequence_number,
                });
                self.push(events, |sequence_number| ResponseEvent::ContentPartDone {
                    item_id,
                    output_index: index as u32,
                    content_index: 0,
                    part: OutputContent::OutputText(part),
                    sequence_number,
                });
                if let OutputItem::Message(message) = &mut self.output[index] {
                    message.status = status.to_owned();
                }
                self.item_done(index, events);
            }
            None => {}
        }
    }

    fn close_calls(&mut self, events: &mut Vec<ResponseEvent>) {
        for call in std::mem::take(&mut self.calls) {
            let index = call.output_index;
            let Some(OutputItem::FunctionCall(item)) = self.output.get_mut(index) else {
                continue;
            };
            item.status = "completed".to_owned();
            let (item_id, name, arguments) =
                (item.id.clone(), item.name.clone(), item.arguments.clone());
            self.push(events, |sequence_number| {
                ResponseEvent::FunctionCallArgumentsDone {
                    item_id,
                    output_index: index as u32,
                    name,
                    arguments,
                    sequence_number,
                }
            });
            self.item_done(index, events);
        }
    }

    fn item_done(&mut self, index: usize, events: &mut Vec<ResponseEvent>) {
        let item = self.output[index].clone();
        self.push(events, |sequence_number| ResponseEvent::OutputItemDone {
            output_index: index as u32,
            item,
            sequence_number,
        });
    }

    /// The last events of a clean stream, the finished response, and the assistant
    /// message to keep in the conversation.
    pub fn finish(mut self) -> (Vec<ResponseEvent>, Response, Message) {
        let mut events = Vec::new();
        let status = finish(&mut self.response, self.finish_reason.as_deref());
        self.close_current_as(&mut events, status);
        self.close_calls(&mut events);
        if !self.state.is_empty() {
            let encoded = self.state.encode();
            let reasoning = self.output.iter_mut().find_map(|item| match item {
                OutputItem::Reasoning(reasoning) => Some(reasoning),
                _ => None,
            });
            match reasoning {
                Some(reasoning) => reasoning.encrypted_content = Some(encoded),
                None => {
                    let index = self.output.len();
                    let item = signature_item(&self.response.id, index, &self.state);
                    self.output.push(item.clone());
                    let added = item.clone();
                    self.push(&mut events, |sequence_number| {
                        ResponseEvent::OutputItemAdded {
                            output_index: index as u32,
                            item: added,
                            sequence_number,
                        }
                    });
                    self.item_done(index, &mut events);
                }
            }
        }
        if !self.state.thought_signatures.is_empty() {
            self.kept.provider_specific_fields = Some(MessageProviderFields {
                thought_signatures: Some(self.state.thought_signatures.clone()),
                ..Default::default()
            });
        }
        let mut response = self.response.clone();
        response.output = std::mem::take(&mut self.output);
        response.usage = self.usage.take().map(usage);
        let incomplete = response.status == "incomplete";
        let final_response = Box::new(response.clone());
        self.push(&mut events, |sequence_number| {
            if incomplete {
                ResponseEvent::Incomplete {
                    response: final_response,
                    sequence_number,
                }
            } else {
                ResponseEvent::Completed {
                    response: final_response,
                    sequence_number,
                }
            }
        });
        let kept = assistant_message(std::mem::take(&mut self.kept));
        (events, response, kept)
    }

    /// The last events of a stream that failed after it started: `error`, then
    /// `response.failed` with the output so far.
    pub fn fail(mut self, error: &Error) -> Vec<ResponseEvent> {
        let mut events = Vec::new();
        let (code, message) = (error.code().to_owned(), error.message().to_owned());
        let param = error.param().map(str::to_owned);
        self.push(&mut events, |sequence_number| ResponseEvent::Error {
            code: code.clone(),
            message: message.clone(),
            param,
            sequence_number,
        });
        let mut response = self.response.clone();
        response.status = "failed".to_owned();
        response.error = Some(ResponseError { code, message });
        response.output = std::mem::take(&mut self.output);
        response.usage = self.usage.take().map(usage);
        self.push(&mut events, |sequence_number| ResponseEvent::Failed {
            response: Box::new(response),
            sequence_number,
        });
        events
    }
}
