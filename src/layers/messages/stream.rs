//! Chat chunks → Messages stream events, as a pure state machine ([`StreamMapper`]).
//!
//! The first chunk opens the stream with `message_start`. Each kind of output gets its
//! block, opened (`content_block_start`) when its first delta arrives and stopped
//! (`content_block_stop`) when another kind starts or the stream ends; `ping` follows the
//! first block's start, as Anthropic sends it.
//!
//! | chat delta | events |
//! |---|---|
//! | `reasoning_content` | a `thinking` block: `thinking_delta`…; a thought's signature (in `thinking_blocks`) is its `signature_delta`, and stops it |
//! | `content` | a `text` block: `text_delta`… |
//! | `tool_calls` | per call, a `tool_use` block (id without a carried signature, `input: {}`): `input_json_delta`…; a call's thought signature goes just before it, in a `thinking` block with empty text ([`ThoughtState`]) |
//! | the end | `message_delta` (stop reason, usage), `message_stop` |
//! | an error | `error`, and the stream ends |
//!
//! The events of one chunk are returned together, so they leave together.
//!
//! A signature Gemini puts on text arrives after the text (on an empty last part) and is
//! not carried: a block after the text would be the reply's last, which clients such as
//! Claude Code read as its answer, and Gemini documents text signatures as optional. A
//! whole reply carries it (see [`super::reply`]).

use super::reply::{stop_reason, usage};
use super::signature::ThoughtState;
use crate::anthropic::{
    BlockDelta, ErrorObject, MessageDelta, MessageReply, MessageUsage, OutputBlock, StreamEvent,
};
use crate::error::Error;
use crate::openai::ChatCompletionChunk;
use crate::openai::chunk::ToolCallDelta;

/// The block being written.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Open {
    Thinking(usize),
    Text(usize),
    Call(usize),
}

/// Maps one chat stream to Messages events.
#[derive(Debug)]
pub struct StreamMapper {
    id: String,
    model: String,
    started: bool,
    /// Blocks opened so far.
    blocks: usize,
    open: Option<Open>,
    /// Anthropic index of each chat call index.
    calls: Vec<(u32, usize)>,
    finish_reason: Option<String>,
    usage: Option<MessageUsage>,
}

impl StreamMapper {
    /// Maps the stream of the reply `id` to a request for `model`.
    pub fn new(id: String, model: String) -> Self {
        Self {
            id,
            model,
            started: false,
            blocks: 0,
            open: None,
            calls: Vec::new(),
            finish_reason: None,
            usage: None,
        }
    }

    /// Whether `message_start` was given.
    pub fn started(&self) -> bool {
        self.started
    }

    /// The events of one chunk (the first chunk's begin with `message_start`).
    pub fn chunk(&mut self, chunk: ChatCompletionChunk) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        if !self.started {
            self.started = true;
            events.push(StreamEvent::MessageStart {
                message: MessageReply::new(self.id.clone(), self.model.clone()),
            });
        }
        if let Some(chunk_usage) = &chunk.usage {
            self.usage = Some(usage(chunk_usage));
        }
        for choice in chunk.choices.into_iter().filter(|choice| choice.index == 0) {
            let delta = choice.delta;
            if let Some(text) = delta.reasoning_content.filter(|text| !text.is_empty()) {
                let index = self.thinking(&mut events);
                events.push(StreamEvent::ContentBlockDelta {
                    index,
                    delta: BlockDelta::ThinkingDelta { thinking: text },
                });
            }
            for signature in delta
                .thinking_blocks
                .into_iter()
                .flatten()
                .filter_map(|block| block.signature)
            {
                let index = self.thinking(&mut events);
                events.push(StreamEvent::ContentBlockDelta {
                    index,
                    delta: BlockDelta::SignatureDelta { signature },
                });
                self.stop(&mut events);
            }
            if let Some(text) = delta.content.filter(|text| !text.is_empty()) {
                let index = match self.open {
                    Some(Open::Text(index)) => index,
                    _ => self.start(
                        &mut events,
                        OutputBlock::Text {
                            text: String::new(),
                        },
                    ),
                };
                self.open = Some(Open::Text(index));
                events.push(StreamEvent::ContentBlockDelta {
                    index,
                    delta: BlockDelta::TextDelta { text },
                });
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

    /// The open thinking block, opened if need be.
    fn thinking(&mut self, events: &mut Vec<StreamEvent>) -> usize {
        if let Some(Open::Thinking(index)) = self.open {
            return index;
        }
        let index = self.start(
            events,
            OutputBlock::Thinking {
                thinking: String::new(),
                signature: String::new(),
            },
        );
        self.open = Some(Open::Thinking(index));
        index
    }

    /// Stops the open block and starts `block`; its index.
    fn start(&mut self, events: &mut Vec<StreamEvent>, block: OutputBlock) -> usize {
        self.stop(events);
        let index = self.blocks;
        self.blocks += 1;
        events.push(StreamEvent::ContentBlockStart {
            index,
            content_block: block,
        });
        if index == 0 {
            events.push(StreamEvent::Ping);
        }
        index
    }

    fn stop(&mut self, events: &mut Vec<StreamEvent>) {
        if let Some(Open::Thinking(index) | Open::Text(index) | Open::Call(index)) =
            self.open.take()
        {
            events.push(StreamEvent::ContentBlockStop { index });
        }
    }

    fn call(&mut self, delta: ToolCallDelta, events: &mut Vec<StreamEvent>) {
        let known = self
            .calls
            .iter()
            .find(|(chat_index, _)| *chat_index == delta.index)
            .map(|(_, index)| *index);
        let index = match known {
            Some(index) => index,
            None => {
                let mut state = ThoughtState::default();
                let id = state.record(
                    delta.id.as_deref().unwrap_or_default(),
                    delta.provider_specific_fields.as_ref(),
                );
                if !state.is_empty() {
                    self.signature_block(&state, events);
                }
                let index = self.start(
                    events,
                    OutputBlock::ToolUse {
                        id,
                        name: delta.function.name.clone().unwrap_or_default(),
                        input: serde_json::Value::Object(Default::default()),
                    },
                );
                self.calls.push((delta.index, index));
                self.open = Some(Open::Call(index));
                index
            }
        };
        if let Some(partial_json) = delta.function.arguments.filter(|text| !text.is_empty()) {
            events.push(StreamEvent::ContentBlockDelta {
                index,
                delta: BlockDelta::InputJsonDelta { partial_json },
            });
        }
    }

    /// A thinking block with empty text carrying `state`.
    fn signature_block(&mut self, state: &ThoughtState, events: &mut Vec<StreamEvent>) {
        let index = self.start(
            events,
            OutputBlock::Thinking {
                thinking: String::new(),
                signature: String::new(),
            },
        );
        events.push(StreamEvent::ContentBlockDelta {
            index,
            delta: BlockDelta::SignatureDelta {
                signature: state.encode(),
            },
        });
        events.push(StreamEvent::ContentBlockStop { index });
    }

    /// The last events of a clean stream.
    pub fn finish(mut self) -> Vec<StreamEvent> {
        let mut events = Vec::new();
        if !self.started {
            events.push(StreamEvent::MessageStart {
                message: MessageReply::new(self.id.clone(), self.model.clone()),
            });
        }
        self.stop(&mut events);
        let reason = stop_reason(self.finish_reason.as_deref(), !self.calls.is_empty());
        events.push(StreamEvent::MessageDelta {
            delta: MessageDelta {
                stop_reason: Some(reason.to_owned()),
                stop_sequence: None,
            },
            usage: self.usage.take().unwrap_or_default(),
        });
        events.push(StreamEvent::MessageStop);
        events
    }

    /// The event of a stream that failed after it started.
    pub fn fail(error: &Error) -> StreamEvent {
        StreamEvent::Error {
            error: ErrorObject::of(error),
        }
    }
}
