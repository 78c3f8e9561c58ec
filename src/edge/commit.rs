//! Streams committed late: the edge waits for the first chunk before it answers `200` with
//! `text/event-stream`, so an upstream error before that is an ordinary HTTP error; after
//! it, an error becomes one `data: {"error": …}` event and the stream ends. A clean chat
//! stream ends with `data: [DONE]`; a Responses stream ends with its last event.

use std::pin::Pin;

use bytes::Bytes;
use futures_core::Stream;
use futures_util::StreamExt;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde::Serialize;

use super::body::EdgeBody;
use crate::error::{Error, ErrorKind};
use crate::sse::{DONE_EVENT, encode_data};

/// A stream of chunks of type `T`; an `Err` item ends it.
pub(crate) type Chunks<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

/// Waits for the first chunk, then answers 200 with an SSE body ending in `[DONE]`.
pub(crate) async fn commit_stream<T>(stream: Chunks<T>) -> Result<http::Response<EdgeBody>, Error>
where
    T: Serialize + Send + 'static,
{
    commit(stream, Some(DONE_EVENT)).await
}

/// Waits for the first event, then answers 200 with an SSE body of the events alone.
pub(crate) async fn commit_events<T>(stream: Chunks<T>) -> Result<http::Response<EdgeBody>, Error>
where
    T: Serialize + Send + 'static,
{
    commit(stream, None).await
}

async fn commit<T>(
    mut stream: Chunks<T>,
    done: Option<&'static [u8]>,
) -> Result<http::Response<EdgeBody>, Error>
where
    T: Serialize + Send + 'static,
{
    let first = match stream.next().await {
        Some(Ok(chunk)) => chunk,
        Some(Err(error)) => return Err(error),
        None => {
            return Err(Error::new(
                ErrorKind::BadGateway,
                "the upstream stream ended before its first event",
            ));
        }
    };
    let events = futures_util::stream::unfold(
        SseState::First(Box::new(first), stream),
        move |state| async move {
            let (bytes, next) = match state {
                SseState::First(chunk, stream) => (encode_chunk(&*chunk), SseState::Open(stream)),
                SseState::Open(mut stream) => match stream.next().await {
                    Some(Ok(chunk)) => (encode_chunk(&chunk), SseState::Open(stream)),
                    // The upstream stream is dropped here, at once: nothing follows an error.
                    Some(Err(error)) => (
                        encode_data(&error.envelope()).unwrap_or_default(),
                        SseState::Done,
                    ),
                    None => match done {
                        Some(done) => (Bytes::from_static(done), SseState::Done),
                        None => return None,
                    },
                },
                SseState::Done => return None,
            };
            Some((Ok::<_, std::convert::Infallible>(Frame::data(bytes)), next))
        },
    );
    let body = StreamBody::new(events).map_err(|never| match never {});
    let mut response = http::Response::new(body.boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// Where an SSE response body is: the first chunk (already read to commit the response),
/// the rest of the upstream stream, or finished.
enum SseState<T> {
    First(Box<T>, Chunks<T>),
    Open(Chunks<T>),
    Done,
}

fn encode_chunk<T: Serialize>(chunk: &T) -> Bytes {
    encode_data(chunk).unwrap_or_else(|error| {
        encode_data(
            &Error::new(ErrorKind::Api, format!("cannot encode a chunk: {error}")).envelope(),
        )
        .unwrap_or_default()
    })
}
