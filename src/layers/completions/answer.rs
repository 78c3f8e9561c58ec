//! [`Answer`]: what the answer of a completions request is made of, kept while its calls are
//! under way, and how the chat replies of its prompts become that answer.

use super::convert::text_completion;
use crate::error::{Error, ErrorKind};
use crate::layers::mismatch;
use crate::layers::refusable::OnReply;
use crate::provider::{ChatResponse, CompletionResponse, TextChunkStream};

/// What a completion request's answer is made of (public only to name
/// [`CompletionsFuture`](super::CompletionsFuture)).
pub enum Answer {
    /// The chat replies of its prompts, joined when they are all in.
    Whole { echo: Option<Vec<String>>, n: u32 },
    /// A streamed completion, whose prompts are sent as the stream is read.
    Stream(TextChunkStream),
}

impl OnReply<Option<Result<Vec<ChatResponse>, Error>>> for Answer {
    type Response = CompletionResponse;
    type Error = Error;

    fn on_reply(
        self,
        replies: Option<Result<Vec<ChatResponse>, Error>>,
    ) -> Result<CompletionResponse, Error> {
        match (self, replies) {
            (Self::Whole { echo, n }, Some(replies)) => whole(replies?, echo.as_deref(), n),
            (Self::Stream(stream), None) => Ok(CompletionResponse::Stream(stream)),
            (Self::Whole { .. }, None) | (Self::Stream(_), Some(_)) => Err(Error::new(
                ErrorKind::Api,
                "a completion's calls did not match its answer",
            )),
        }
    }
}

/// The chat replies of a whole completion's prompts, as one text completion.
fn whole(
    replies: Vec<ChatResponse>,
    echo: Option<&[String]>,
    n: u32,
) -> Result<CompletionResponse, Error> {
    let chats = replies
        .into_iter()
        .map(|reply| match reply {
            ChatResponse::Completion(chat) => Ok(chat),
            ChatResponse::Stream(_) => Err(mismatch("a stream", "a whole completion")),
        })
        .collect::<Result<Vec<_>, Error>>()?;
    Ok(CompletionResponse::Completion(text_completion(
        chats, echo, n,
    )))
}
