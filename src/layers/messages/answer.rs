//! What [`Messages`](super::Messages) does with the chat reply: [`Answer`] makes the
//! `message` (or its events) of it, [`Count`] reads the token count off it.

use std::collections::VecDeque;

use super::stream::StreamMapper;
use super::{MessageEvents, MessagesReply, reply};
use crate::anthropic::TokenCount;
use crate::error::{Error, ErrorKind};
use crate::layers::mismatch;
use crate::layers::refusable::OnReply;
use crate::provider::ChatResponse;

/// What the `message` needs of the request (public only to name
/// [`MessagesFuture`](super::MessagesFuture)).
pub struct Answer {
    /// Whether the events were asked for.
    pub(super) stream: bool,
    /// The model name the client asked for, which the `message` repeats.
    pub(super) model: String,
}

impl OnReply<Result<ChatResponse, Error>> for Answer {
    type Response = MessagesReply;
    type Error = Error;

    fn on_reply(self, reply: Result<ChatResponse, Error>) -> Result<MessagesReply, Error> {
        let id = reply::message_id();
        match (reply?, self.stream) {
            (ChatResponse::Completion(completion), false) => Ok(MessagesReply::Message(Box::new(
                reply::complete(id, self.model, completion),
            ))),
            (ChatResponse::Stream(chunks), true) => {
                Ok(MessagesReply::Stream(Box::pin(MessageEvents {
                    chunks,
                    mapper: Some(StreamMapper::new(id, self.model)),
                    pending: VecDeque::new(),
                })))
            }
            (ChatResponse::Stream(_), false) => Err(mismatch("a stream", "a whole completion")),
            (ChatResponse::Completion(_), true) => Err(mismatch("a whole completion", "a stream")),
        }
    }
}

/// Reads the prompt's token count off the chat reply (public only to name
/// [`CountFuture`](super::CountFuture)).
pub struct Count;

impl OnReply<Result<ChatResponse, Error>> for Count {
    type Response = TokenCount;
    type Error = Error;

    fn on_reply(self, reply: Result<ChatResponse, Error>) -> Result<TokenCount, Error> {
        match reply? {
            ChatResponse::Completion(completion) => completion
                .usage
                .map(|usage| TokenCount::new(usage.prompt_tokens))
                .ok_or_else(|| {
                    Error::new(
                        ErrorKind::Api,
                        "the provider reported no token count for this request",
                    )
                }),
            ChatResponse::Stream(_) => Err(mismatch("a stream", "a token count")),
        }
    }
}
