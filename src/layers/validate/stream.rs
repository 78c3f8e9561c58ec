//! [`ValidatedStream`]: a chunk stream whose content is validated when it ends.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use jsonschema::Validator;

use crate::error::Error;
use crate::openai::ChatCompletionChunk;
use crate::provider::ChunkStream;

use super::check::{no_content, validate_choice, validation_error};

/// What a validated stream has seen of one choice.
#[derive(Debug)]
struct StreamedChoice {
    index: u32,
    content: String,
    tool_calls: bool,
    finish_reason: Option<String>,
}

/// Where a [`ValidatedStream`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading the inner stream.
    Streaming,
    /// Validated: sending the held chunks.
    Flushing,
    /// Ended.
    Done,
}

/// A chunk stream whose content is validated when it ends (rule 6 of the
/// [module docs](self)).
pub(super) struct ValidatedStream {
    inner: ChunkStream,
    validator: Arc<Validator>,
    max_content: usize,
    content_bytes: usize,
    choices: Vec<StreamedChoice>,
    /// Chunks from the first `finish_reason` on.
    held: VecDeque<ChatCompletionChunk>,
    holding: bool,
    phase: Phase,
}

impl ValidatedStream {
    pub(super) fn new(inner: ChunkStream, validator: Arc<Validator>, max_content: usize) -> Self {
        Self {
            inner,
            validator,
            max_content,
            content_bytes: 0,
            choices: Vec::new(),
            held: VecDeque::new(),
            holding: false,
            phase: Phase::Streaming,
        }
    }

    fn record(&mut self, chunk: &ChatCompletionChunk) -> Result<(), Error> {
        for choice in &chunk.choices {
            let position = match self.choices.iter().position(|c| c.index == choice.index) {
                Some(position) => position,
                None => {
                    self.choices.push(StreamedChoice {
                        index: choice.index,
                        content: String::new(),
                        tool_calls: false,
                        finish_reason: None,
                    });
                    self.choices.len() - 1
                }
            };
            let state = &mut self.choices[position];
            if let Some(text) = &choice.delta.content {
                self.content_bytes += text.len();
                if self.content_bytes > self.max_content {
                    return Err(validation_error(
                        None,
                        format!(
                            "the streamed reply is longer than {} bytes, the most that is \
                             validated",
                            self.max_content
                        ),
                    ));
                }
                state.content.push_str(text);
            }
            state.tool_calls |=
                choice.delta.tool_calls.is_some() || choice.delta.function_call.is_some();
            if choice.finish_reason.is_some() {
                state.finish_reason.clone_from(&choice.finish_reason);
            }
        }
        Ok(())
    }

    fn verdict(&self) -> Result<(), Error> {
        if self.choices.is_empty() {
            return Err(no_content(None, None));
        }
        let several = self.choices.len() > 1;
        for choice in &self.choices {
            let label = several.then_some(choice.index);
            if choice.content.is_empty() {
                if choice.tool_calls {
                    continue;
                }
                return Err(no_content(label, choice.finish_reason.as_deref()));
            }
            validate_choice(&self.validator, &choice.content, label)?;
        }
        Ok(())
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<ChatCompletionChunk, Error>>> {
        self.phase = Phase::Done;
        self.held.clear();
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for ValidatedStream {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match this.phase {
                Phase::Streaming => {}
                Phase::Flushing => {
                    return Poll::Ready(match this.held.pop_front() {
                        Some(chunk) => Some(Ok(chunk)),
                        None => {
                            this.phase = Phase::Done;
                            None
                        }
                    });
                }
                Phase::Done => return Poll::Ready(None),
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => {
                    if let Err(error) = this.record(&chunk) {
                        return this.fail(error);
                    }
                    this.holding |= chunk
                        .choices
                        .iter()
                        .any(|choice| choice.finish_reason.is_some());
                    if !this.holding {
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    this.held.push_back(chunk);
                }
                Some(Err(error)) => return this.fail(error),
                None => match this.verdict() {
                    Ok(()) => this.phase = Phase::Flushing,
                    Err(error) => return this.fail(error),
                },
            }
        }
    }
}
