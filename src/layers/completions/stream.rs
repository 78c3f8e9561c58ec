//! Streamed legacy completions: each prompt's chat chunks become `text_completion` chunks
//! ([`TextChunks`]), and several prompts' streams are merged into one
//! ([`merge`]): one id, choices numbered prompt by prompt, one usage chunk at the end.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_util::StreamExt;

use super::convert::{text_logprobs, total_usage};
use crate::error::Error;
use crate::openai::chat::Usage;
use crate::openai::{ChatCompletionChunk, TextChoice, TextCompletion};
use crate::provider::{ChunkStream, TextChunkStream};

/// One prompt's chat chunks as `text_completion` chunks. Chunks with nothing to say (the
/// chat stream's role-only first chunk) are skipped.
pub struct TextChunks {
    chunks: ChunkStream,
    /// `prompt index × n`: added to each choice's index.
    first_index: u32,
    /// The prompt, while `echo` still has to put it in front of some choice.
    echo: Option<String>,
    /// Per choice: whether the prompt was echoed, and characters sent so far.
    sent: Vec<(bool, usize)>,
}

impl TextChunks {
    /// Maps the chunks of prompt number `prompt_index`.
    pub fn new(chunks: ChunkStream, prompt_index: u32, n: u32, echo: Option<String>) -> Self {
        Self {
            chunks,
            first_index: prompt_index * n,
            echo,
            sent: Vec::new(),
        }
    }

    fn translate(&mut self, chunk: ChatCompletionChunk) -> Option<TextCompletion> {
        let mut choices = Vec::new();
        for choice in chunk.choices {
            let slot = choice.index as usize;
            if self.sent.len() <= slot {
                self.sent.resize(slot + 1, (false, 0));
            }
            let (echoed, sent) = &mut self.sent[slot];
            let mut text = String::new();
            if let Some(prompt) = self.echo.as_deref().filter(|_| !*echoed) {
                text.push_str(prompt);
                *echoed = true;
            }
            let offset = *sent + text.chars().count();
            let content = choice.delta.content.unwrap_or_default();
            text.push_str(&content);
            *sent += text.chars().count();
            let logprobs = choice
                .logprobs
                .map(|logprobs| text_logprobs(logprobs, offset));
            if text.is_empty() && choice.finish_reason.is_none() && logprobs.is_none() {
                continue;
            }
            choices.push(TextChoice {
                text,
                index: self.first_index + choice.index,
                logprobs,
                finish_reason: choice.finish_reason,
            });
        }
        if choices.is_empty() && chunk.usage.is_none() {
            return None;
        }
        Some(TextCompletion {
            id: chunk.id,
            object: "text_completion".to_owned(),
            created: chunk.created,
            model: chunk.model,
            choices,
            usage: chunk.usage,
        })
    }
}

impl Stream for TextChunks {
    type Item = Result<TextCompletion, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            let chunk = match ready!(self.chunks.poll_next_unpin(cx)) {
                Some(Ok(chunk)) => chunk,
                Some(Err(error)) => return Poll::Ready(Some(Err(error))),
                None => return Poll::Ready(None),
            };
            if let Some(text) = self.translate(chunk) {
                return Poll::Ready(Some(Ok(text)));
            }
        }
    }
}

/// Merges the prompts' streams, `chunks` yielding their chunks interleaved as they come:
/// every chunk gets the first chunk's id and time, and the usage chunks are held back and
/// summed into one at the end.
pub fn merge<S>(chunks: S) -> TextChunkStream
where
    S: Stream<Item = Result<TextCompletion, Error>> + Send + 'static,
{
    Box::pin(Merged {
        streams: Box::pin(chunks),
        head: None,
        usages: Vec::new(),
        done: false,
    })
}

struct Merged {
    streams: TextChunkStream,
    /// The first chunk's id and time.
    head: Option<(String, u64, String)>,
    usages: Vec<Usage>,
    done: bool,
}

impl Stream for Merged {
    type Item = Result<TextCompletion, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        if self.done {
            return Poll::Ready(None);
        }
        loop {
            match ready!(self.streams.poll_next_unpin(cx)) {
                Some(Ok(mut chunk)) => {
                    let (id, created, model) = self
                        .head
                        .get_or_insert_with(|| {
                            (chunk.id.clone(), chunk.created, chunk.model.clone())
                        })
                        .clone();
                    (chunk.id, chunk.created, chunk.model) = (id, created, model);
                    if let Some(usage) = chunk.usage.take() {
                        self.usages.push(usage);
                        if chunk.choices.is_empty() {
                            continue;
                        }
                    }
                    return Poll::Ready(Some(Ok(chunk)));
                }
                Some(Err(error)) => {
                    self.done = true;
                    return Poll::Ready(Some(Err(error)));
                }
                None => {
                    self.done = true;
                    let usage = total_usage(std::mem::take(&mut self.usages).into_iter());
                    let (Some(usage), Some((id, created, model))) = (usage, self.head.take())
                    else {
                        return Poll::Ready(None);
                    };
                    return Poll::Ready(Some(Ok(TextCompletion {
                        id,
                        object: "text_completion".to_owned(),
                        created,
                        model,
                        choices: Vec::new(),
                        usage: Some(usage),
                    })));
                }
            }
        }
    }
}
