//! Streams committed late: the edge waits for the first item before it answers `200` with
//! `text/event-stream`, so an upstream error before that is an ordinary HTTP error; after
//! it, an error becomes one error event and the stream ends. How items and errors are
//! written is the stream's [`SseEncoding`]: OpenAI's `data: …` events (a clean chat stream
//! ends with `data: [DONE]`, a Responses stream with its last event), or Anthropic's named
//! events.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::{BufMut, Bytes, BytesMut};
use futures_core::Stream;
use futures_util::StreamExt;
use http::HeaderValue;
use http::header::{CACHE_CONTROL, CONTENT_TYPE};
use http_body::Frame;
use http_body_util::{BodyExt, StreamBody};
use serde::Serialize;

use super::body::EdgeBody;
use crate::error::{Error, ErrorKind};
use crate::sse::DONE_EVENT;

/// A stream of chunks of type `T`; an `Err` item ends it.
pub(crate) type Chunks<T> = Pin<Box<dyn Stream<Item = Result<T, Error>> + Send>>;

/// Most items written in one frame: the items already produced leave together.
const ITEMS_PER_FRAME: usize = 64;

/// How a committed stream of `T` is written as server-sent events.
pub(crate) struct SseEncoding<T> {
    /// Appends the event of one item.
    pub(crate) item: fn(&T, &mut BytesMut),
    /// Appends the event of an error that ends a started stream.
    pub(crate) error: fn(&Error, &mut BytesMut),
    /// Appended when the stream ends cleanly, if anything is.
    pub(crate) done: Option<&'static [u8]>,
}

impl<T: Serialize> SseEncoding<T> {
    /// OpenAI's events: `data: <json>`, an error as `data: {"error": …}`, and `done` at the
    /// end of a clean stream.
    fn openai(done: Option<&'static [u8]>) -> Self {
        Self {
            item: put_data::<T>,
            error: |error, buffer| put_data(&error.envelope(), buffer),
            done,
        }
    }
}

/// Waits for the first chunk, then answers 200 with an SSE body ending in `[DONE]`.
pub(crate) async fn commit_stream<T>(stream: Chunks<T>) -> Result<http::Response<EdgeBody>, Error>
where
    T: Serialize + Send + 'static,
{
    commit(stream, SseEncoding::openai(Some(DONE_EVENT))).await
}

/// Waits for the first event, then answers 200 with an SSE body of the events alone.
pub(crate) async fn commit_events<T>(stream: Chunks<T>) -> Result<http::Response<EdgeBody>, Error>
where
    T: Serialize + Send + 'static,
{
    commit(stream, SseEncoding::openai(None)).await
}

/// Waits for the first item of `stream`, then answers 200 with the items as SSE written
/// with `encoding`. An error before the first item, or a stream that ends before it (a
/// 502), is returned for the edge to answer.
pub(crate) async fn commit<T>(
    mut stream: Chunks<T>,
    encoding: SseEncoding<T>,
) -> Result<http::Response<EdgeBody>, Error>
where
    T: Send + 'static,
{
    let first = match stream.next().await {
        Some(Ok(item)) => item,
        Some(Err(error)) => return Err(error),
        None => {
            return Err(Error::new(
                ErrorKind::BadGateway,
                "the upstream stream ended before its first event",
            ));
        }
    };
    let frames = Frames {
        first: Some(Box::new(first)),
        stream: Some(stream),
        encoding,
    };
    let body = StreamBody::new(frames).map_err(|never| match never {});
    let mut response = http::Response::new(body.boxed_unsync());
    let headers = response.headers_mut();
    headers.insert(CONTENT_TYPE, HeaderValue::from_static("text/event-stream"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-cache"));
    Ok(response)
}

/// The frames of a committed stream: the first item (already read to commit the
/// response), then the items that are ready, up to [`ITEMS_PER_FRAME`] a frame.
struct Frames<T> {
    first: Option<Box<T>>,
    /// `None` once the stream has ended; it is dropped at once, after an error too.
    stream: Option<Chunks<T>>,
    encoding: SseEncoding<T>,
}

impl<T> Stream for Frames<T> {
    type Item = Result<Frame<Bytes>, std::convert::Infallible>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        let mut buffer = BytesMut::new();
        let mut items = 0;
        if let Some(first) = this.first.take() {
            (this.encoding.item)(&first, &mut buffer);
            items += 1;
        }
        // Past the limit only while nothing is written, so that a frame is never empty.
        while items < ITEMS_PER_FRAME || buffer.is_empty() {
            let Some(stream) = this.stream.as_mut() else {
                break;
            };
            match stream.as_mut().poll_next(cx) {
                Poll::Pending => break,
                Poll::Ready(Some(Ok(item))) => {
                    (this.encoding.item)(&item, &mut buffer);
                    items += 1;
                }
                Poll::Ready(Some(Err(error))) => {
                    (this.encoding.error)(&error, &mut buffer);
                    this.stream = None;
                }
                Poll::Ready(None) => {
                    if let Some(done) = this.encoding.done {
                        buffer.put_slice(done);
                    }
                    this.stream = None;
                }
            }
        }
        if !buffer.is_empty() {
            Poll::Ready(Some(Ok(Frame::data(buffer.freeze()))))
        } else if this.stream.is_none() {
            Poll::Ready(None)
        } else {
            // Nothing written and the stream still open: it is pending, with `cx` woken
            // when it is ready.
            Poll::Pending
        }
    }
}

/// Appends `data: <json>\n\n`; a value that cannot be encoded becomes an error event.
fn put_data<T: Serialize + ?Sized>(value: &T, buffer: &mut BytesMut) {
    if let Err(error) = crate::sse::put_data(value, buffer) {
        let error = Error::new(ErrorKind::Api, format!("cannot encode a chunk: {error}"));
        // The envelope is plain strings: it always encodes.
        let _ = crate::sse::put_data(&error.envelope(), buffer);
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::sync::atomic::{AtomicBool, Ordering};

    use http_body_util::BodyExt;
    use serde_json::{Value, json};

    use super::*;

    fn chunks(items: Vec<Result<Value, Error>>) -> Chunks<Value> {
        Box::pin(futures_util::stream::iter(items))
    }

    async fn body(response: http::Response<EdgeBody>) -> String {
        let bytes = response
            .into_body()
            .collect()
            .await
            .expect("body")
            .to_bytes();
        String::from_utf8(bytes.to_vec()).expect("UTF-8")
    }

    #[tokio::test]
    async fn ready_items_leave_in_one_frame_and_a_clean_stream_ends_with_done() {
        let response = commit_stream(chunks(vec![Ok(json!(1)), Ok(json!(2))]))
            .await
            .expect("committed");
        assert_eq!(response.headers()[CONTENT_TYPE], "text/event-stream");
        let mut body = response.into_body();
        let frame = body.frame().await.expect("a frame").expect("data");
        assert_eq!(
            frame.into_data().expect("data"),
            "data: 1\n\ndata: 2\n\ndata: [DONE]\n\n"
        );
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn an_error_after_the_start_is_the_last_event() {
        let items = vec![
            Ok(json!(1)),
            Err(Error::invalid_request("late")),
            Ok(json!(2)),
        ];
        let text = body(commit_events(chunks(items)).await.expect("committed")).await;
        let (first, error) = text.split_once("\n\n").expect("two events");
        assert_eq!(first, "data: 1");
        assert!(
            error.starts_with("data: {\"error\":") && error.contains("late"),
            "{error}"
        );
        assert!(
            error.ends_with("\n\n") && !error.contains("data: 2"),
            "{error}"
        );
    }

    #[tokio::test]
    async fn an_error_drops_the_upstream_at_once() {
        struct Upstream(Arc<AtomicBool>);
        impl Drop for Upstream {
            fn drop(&mut self) {
                self.0.store(true, Ordering::SeqCst);
            }
        }
        let dropped = Arc::new(AtomicBool::new(false));
        let upstream = Upstream(dropped.clone());
        // Never ends on its own: only dropping it ends the body.
        let items = futures_util::stream::iter([Ok(json!(1)), Err(Error::invalid_request("late"))])
            .chain(futures_util::stream::pending())
            .map(move |item| {
                let _held = &upstream;
                item
            });
        let mut body = commit_events(Box::pin(items))
            .await
            .expect("committed")
            .into_body();
        let frame = body.frame().await.expect("a frame").expect("data");
        assert!(dropped.load(Ordering::SeqCst), "the upstream is dropped");
        let text = String::from_utf8(frame.into_data().expect("data").to_vec()).expect("UTF-8");
        assert!(text.starts_with("data: 1\n\ndata: {\"error\":"), "{text}");
        assert!(body.frame().await.is_none());
    }

    #[tokio::test]
    async fn a_frame_holds_at_most_its_share_of_ready_items_and_the_end_stays_the_end() {
        let items = (0..ITEMS_PER_FRAME + 3).map(|n| Ok(json!(n))).collect();
        let mut body = commit_stream(chunks(items))
            .await
            .expect("committed")
            .into_body();
        let frame = body.frame().await.expect("a frame").expect("data");
        let text = String::from_utf8(frame.into_data().expect("data").to_vec()).expect("UTF-8");
        assert_eq!(text.matches("data: ").count(), ITEMS_PER_FRAME, "{text}");
        let frame = body.frame().await.expect("a frame").expect("data");
        assert_eq!(
            frame.into_data().expect("data"),
            format!(
                "data: {}\n\ndata: {}\n\ndata: {}\n\ndata: [DONE]\n\n",
                ITEMS_PER_FRAME,
                ITEMS_PER_FRAME + 1,
                ITEMS_PER_FRAME + 2
            )
        );
        assert!(body.frame().await.is_none());
        assert!(body.frame().await.is_none(), "polled after the end");
    }

    /// An item whose encoding fails after it has written part of its JSON.
    enum Item {
        Number(u32),
        Unencodable,
    }

    impl Serialize for Item {
        fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
            use serde::ser::{Error as _, SerializeMap};
            match self {
                Self::Number(number) => serializer.serialize_u32(*number),
                Self::Unencodable => {
                    let mut map = serializer.serialize_map(None)?;
                    map.serialize_entry("half", &1)?;
                    Err(S::Error::custom("no encoding"))
                }
            }
        }
    }

    #[tokio::test]
    async fn an_item_that_cannot_be_encoded_is_an_error_event_in_its_place() {
        let items: Chunks<Item> = Box::pin(futures_util::stream::iter([
            Ok(Item::Number(1)),
            Ok(Item::Unencodable),
            Ok(Item::Number(2)),
        ]));
        let text = body(commit_stream(items).await.expect("committed")).await;
        let events: Vec<&str> = text.split_terminator("\n\n").collect();
        assert_eq!(events.len(), 4, "{text}");
        assert_eq!(events[0], "data: 1");
        let error: Value =
            serde_json::from_str(events[1].strip_prefix("data: ").expect("data")).expect("JSON");
        assert!(
            error["error"]["message"]
                .as_str()
                .is_some_and(|message| message.contains("cannot encode a chunk")),
            "{error}"
        );
        assert_eq!(events[2..], ["data: 2", "data: [DONE]"]);
    }

    #[tokio::test]
    async fn an_empty_stream_or_a_first_error_is_not_committed() {
        let error = commit_stream(chunks(Vec::new())).await.expect_err("502");
        assert_eq!(error.kind(), ErrorKind::BadGateway);
        let error = commit_events(chunks(vec![Err(Error::invalid_request("no"))]))
            .await
            .expect_err("400");
        assert_eq!(error.status(), 400);
    }
}
