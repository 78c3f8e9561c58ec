//! [`Check`]: what [`SchemaValidation`](super::SchemaValidation) does with the chat reply:
//! passes it on, or checks a whole completion and wraps a stream so that its content is
//! checked when it ends.

use std::sync::Arc;

use jsonschema::Validator;

use super::check::validate_completion;
use super::stream::ValidatedStream;
use crate::error::Error;
use crate::layers::refusable::OnReply;
use crate::provider::ChatResponse;

/// The check a request asked for (public only to name
/// [`SchemaValidationFuture`](super::SchemaValidationFuture)).
pub enum Check {
    /// No validation asked for: the reply as it is.
    Off,
    /// The reply's JSON must match `validator`'s schema; a stream fails once its content
    /// grows past `max_stream_content` bytes.
    On {
        validator: Arc<Validator>,
        max_stream_content: usize,
    },
}

impl OnReply<Result<ChatResponse, Error>> for Check {
    type Response = ChatResponse;
    type Error = Error;

    fn on_reply(self, reply: Result<ChatResponse, Error>) -> Result<ChatResponse, Error> {
        let Self::On {
            validator,
            max_stream_content,
        } = self
        else {
            return reply;
        };
        match reply? {
            ChatResponse::Completion(completion) => validate_completion(&validator, &completion)
                .map(|()| ChatResponse::Completion(completion)),
            ChatResponse::Stream(stream) => Ok(ChatResponse::Stream(Box::pin(
                ValidatedStream::new(stream, validator, max_stream_content),
            ))),
        }
    }
}
