//! [`ResponseEvents`]: a chat chunk stream as a stream of Responses events, stored at the
//! end. Nothing is produced before the first upstream chunk (so the edge commits the
//! stream late and an error before it is an ordinary HTTP error); an upstream error after
//! it becomes `error` and `response.failed` and ends the stream; a clean end stores the
//! response (with `store`) before `response.completed` is let out, so a client that
//! continues from it at once finds it.

use std::collections::VecDeque;
use std::pin::Pin;
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use futures_util::StreamExt;

use super::state::{Records, StoredResponse};
use super::stream::StreamMapper;
use crate::error::{Error, ErrorKind};
use crate::openai::Message;
use crate::openai::responses::{InputItem, ResponseEvent};
use crate::provider::ChunkStream;
use crate::store::StoreFuture;

/// What is needed to store the response when the stream ends.
pub(super) struct Keep {
    /// Where.
    pub records: Records,
    /// The conversation before this turn's reply.
    pub conversation: Vec<Message>,
    /// The request's input items.
    pub input_items: Vec<InputItem>,
}

/// The events of one streamed response.
pub struct ResponseEvents {
    chunks: Option<ChunkStream>,
    mapper: Option<StreamMapper>,
    queue: VecDeque<ResponseEvent>,
    keep: Option<Keep>,
    saving: Option<StoreFuture<'static, ()>>,
}

impl ResponseEvents {
    pub(super) fn new(chunks: ChunkStream, mapper: StreamMapper, keep: Option<Keep>) -> Self {
        Self {
            chunks: Some(chunks),
            mapper: Some(mapper),
            queue: VecDeque::new(),
            keep,
            saving: None,
        }
    }

    /// The upstream stream ended cleanly.
    fn end(&mut self, mapper: StreamMapper) {
        let (events, response, message) = mapper.finish();
        self.queue.extend(events);
        if let Some(keep) = self.keep.take() {
            let mut conversation = keep.conversation;
            conversation.push(message);
            let record = StoredResponse {
                response,
                input_items: keep.input_items,
                conversation,
            };
            self.saving = Some(keep.records.save(&record));
        }
    }
}

impl Stream for ResponseEvents {
    type Item = Result<ResponseEvent, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        loop {
            if let Some(saving) = self.saving.as_mut() {
                ready!(saving.as_mut().poll(cx));
                self.saving = None;
            }
            if let Some(event) = self.queue.pop_front() {
                return Poll::Ready(Some(Ok(event)));
            }
            let Some(chunks) = self.chunks.as_mut() else {
                return Poll::Ready(None);
            };
            let next = ready!(chunks.poll_next_unpin(cx));
            let Some(mut mapper) = self.mapper.take() else {
                return Poll::Ready(None);
            };
            match next {
                Some(Ok(chunk)) => {
                    let events = mapper.chunk(chunk);
                    self.queue.extend(events);
                    self.mapper = Some(mapper);
                }
                Some(Err(error)) => {
                    // Nothing follows an error: the upstream stream is dropped at once.
                    self.chunks = None;
                    if !mapper.started() {
                        return Poll::Ready(Some(Err(error)));
                    }
                    let events = mapper.fail(&error);
                    self.queue.extend(events);
                }
                None => {
                    self.chunks = None;
                    if !mapper.started() {
                        return Poll::Ready(Some(Err(Error::new(
                            ErrorKind::BadGateway,
                            "the upstream stream ended before its first event",
                        ))));
                    }
                    self.end(mapper);
                }
            }
        }
    }
}
