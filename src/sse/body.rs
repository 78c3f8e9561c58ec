//! [`SseBody`]: the events of a `text/event-stream` HTTP body, decoded as the body arrives.
//!
//! The body is read only as fast as the consumer polls (backpressure), the decoder holds at
//! most one event (bounded memory), and dropping the stream drops the body, which closes
//! the upstream connection (cancellation). At the end of the body a last event without its
//! blank line still counts. A decoding error or a failed body read is the last item.
//! Providers map the events to their own types (Gemini's `GenerateContentResponse`, an
//! OpenAI-compatible server's chunks).

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body;
use pin_project_lite::pin_project;

use super::{SseDecoder, SseError, SseEvent};

/// Why the events of a body could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SseBodyError {
    /// The bytes are not a valid event stream (invalid UTF-8, an event over the limit).
    #[error(transparent)]
    Decode(#[from] SseError),
    /// The body could not be read (the connection broke, or fell silent too long).
    #[error(transparent)]
    Body(#[from] crate::upstream::Error),
}

pin_project! {
    /// The events of a `text/event-stream` body.
    ///
    /// ```
    /// use futures_util::StreamExt;
    /// use http_body_util::Full;
    /// use llm_tower::sse::SseBody;
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// let body = Full::new(bytes::Bytes::from_static(b"data: {\"a\":1}\n\ndata: last"));
    /// let events: Vec<_> = SseBody::new(body).map(|event| event.map(|e| e.data)).collect().await;
    /// assert_eq!(events, [Ok("{\"a\":1}".to_owned()), Ok("last".to_owned())]);
    /// # });
    /// ```
    pub struct SseBody<B> {
        #[pin]
        body: B,
        decoder: SseDecoder,
        // The body has no more frames.
        ended: bool,
        finished: bool,
    }
}

impl<B> SseBody<B> {
    /// Decodes `body`, refusing events larger than
    /// [`DEFAULT_MAX_EVENT_SIZE`](super::decode::DEFAULT_MAX_EVENT_SIZE).
    pub fn new(body: B) -> Self {
        Self::with_max_event_size(body, super::decode::DEFAULT_MAX_EVENT_SIZE)
    }

    /// Decodes `body`; an event larger than `limit` bytes ends the stream with
    /// [`SseBodyError::Decode`] instead of growing the buffer.
    pub fn with_max_event_size(body: B, limit: usize) -> Self {
        Self {
            body,
            decoder: SseDecoder::with_max_event_size(limit),
            ended: false,
            finished: false,
        }
    }
}

impl<B> std::fmt::Debug for SseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseBody")
            .field("ended", &self.ended)
            .field("finished", &self.finished)
            .finish_non_exhaustive()
    }
}

impl<B> Stream for SseBody<B>
where
    B: Body<Data = Bytes>,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    type Item = Result<SseEvent, SseBodyError>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let mut this = self.project();
        loop {
            if *this.finished {
                return Poll::Ready(None);
            }
            let event = if *this.ended {
                this.decoder.finish()
            } else {
                this.decoder.next_event()
            };
            match event {
                Ok(Some(event)) => return Poll::Ready(Some(Ok(event))),
                Ok(None) if *this.ended => {
                    *this.finished = true;
                    return Poll::Ready(None);
                }
                Ok(None) => {}
                Err(error) => {
                    *this.finished = true;
                    return Poll::Ready(Some(Err(error.into())));
                }
            }
            match ready!(this.body.as_mut().poll_frame(cx)) {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.decoder.push(&data);
                    }
                }
                Some(Err(error)) => {
                    *this.finished = true;
                    let error: Box<dyn std::error::Error + Send + Sync> = error.into();
                    let error = crate::upstream::Error::reading_body(error.as_ref());
                    return Poll::Ready(Some(Err(error.into())));
                }
                None => *this.ended = true,
            }
        }
    }
}
