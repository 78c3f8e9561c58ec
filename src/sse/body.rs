//! [`SseBody`]: the events of a `text/event-stream` HTTP body, decoded as the body arrives.
//!
//! The body is read only as fast as the consumer polls (backpressure), the decoder holds at
//! most one event (bounded memory), and dropping the stream drops the body, which closes
//! the upstream connection (cancellation). At the end of the body a last event without its
//! blank line still counts. A decoding error or a failed body read is the last item.
//!
//! With [`SseBody::with_event_timeout`], the stream also ends with an error when the
//! upstream sends no event for the limit, even if bytes keep coming: comment lines such as
//! `: ping` keep a connection alive, not a generation, so they do not reset the timer (the
//! transport's idle timeout sees only bytes). The timer runs while the stream waits for an
//! event, from the first poll after the previous one, so a consumer that is slow to poll
//! is not taken for a silent upstream. Providers map the events to their own types (Gemini's `GenerateContentResponse`, an
//! OpenAI-compatible server's chunks).

use std::pin::Pin;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::Bytes;
use futures_core::Stream;
use http_body::Body;
use pin_project_lite::pin_project;
use tokio::time::Sleep;

use super::{SseDecoder, SseError, SseEvent};

/// Why the events of a body could not be read.
#[derive(Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum SseBodyError {
    /// The bytes are not a valid event stream (invalid UTF-8, an event over the limit).
    #[error(transparent)]
    Decode(#[from] SseError),
    /// The body could not be read (the connection broke, or fell silent too long).
    #[error(transparent)]
    Body(#[from] crate::upstream::Error),
    /// No event arrived within the limit of [`SseBody::with_event_timeout`] (comments do
    /// not count).
    #[error("the upstream sent no event for {} s", limit.as_secs_f64())]
    Timeout {
        /// The limit.
        limit: Duration,
    },
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
        silence: Option<Silence>,
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
            silence: None,
        }
    }

    /// Ends the stream with [`SseBodyError::Timeout`] when it waits `limit` for an event:
    /// for the first one, or for the next one after each event. Comments (`: ping`) do not
    /// stop the timer.
    ///
    /// ```
    /// use std::time::Duration;
    /// use futures_util::StreamExt;
    /// use http_body_util::StreamBody;
    /// use llm_tower::sse::{SseBody, SseBodyError};
    ///
    /// # tokio::runtime::Runtime::new().unwrap().block_on(async {
    /// // A body that stays open and never sends an event.
    /// let body = StreamBody::new(futures_util::stream::pending::<
    ///     Result<http_body::Frame<bytes::Bytes>, std::io::Error>,
    /// >());
    /// let limit = Duration::from_millis(10);
    /// let mut events = SseBody::new(body).with_event_timeout(limit);
    /// assert_eq!(events.next().await, Some(Err(SseBodyError::Timeout { limit })));
    /// assert_eq!(events.next().await, None);
    /// # });
    /// ```
    pub fn with_event_timeout(mut self, limit: Duration) -> Self {
        self.silence = Some(Silence {
            limit,
            deadline: None,
            waiting: false,
        });
        self
    }
}

/// The event limit of an [`SseBody`].
struct Silence {
    limit: Duration,
    // Made at the first wait and reset for each next one; boxed, as `Sleep` is large and
    // not `Unpin`.
    deadline: Option<Pin<Box<Sleep>>>,
    // The stream is waiting for an event: the deadline counts.
    waiting: bool,
}

impl Silence {
    /// The deadline of the current wait for an event; the first call after an event
    /// starts a new wait, `limit` from now.
    fn deadline(&mut self) -> Pin<&mut Sleep> {
        let limit = self.limit;
        let waiting = std::mem::replace(&mut self.waiting, true);
        let deadline = self
            .deadline
            .get_or_insert_with(|| Box::pin(tokio::time::sleep(limit)));
        if !waiting {
            deadline
                .as_mut()
                .reset(crate::deadline::Deadline::after(limit).instant());
        }
        deadline.as_mut()
    }

    fn timeout(&self) -> SseBodyError {
        SseBodyError::Timeout { limit: self.limit }
    }
}

impl<B> std::fmt::Debug for SseBody<B> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SseBody")
            .field("ended", &self.ended)
            .field("finished", &self.finished)
            .field(
                "event_timeout",
                &self.silence.as_ref().map(|silence| silence.limit),
            )
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
                Ok(Some(event)) => {
                    if let Some(silence) = this.silence {
                        silence.waiting = false;
                    }
                    return Poll::Ready(Some(Ok(event)));
                }
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
            // No event yet: the body must bring one before the deadline. Frames of comments
            // keep arriving without stopping the count, and a deadline that passed while
            // they did is checked here, before the next frame.
            if let Some(silence) = this.silence.as_mut()
                && silence.deadline().is_elapsed()
            {
                *this.finished = true;
                return Poll::Ready(Some(Err(silence.timeout())));
            }
            let frame = match this.body.as_mut().poll_frame(cx) {
                Poll::Ready(frame) => frame,
                Poll::Pending => {
                    if let Some(silence) = this.silence.as_mut() {
                        ready!(silence.deadline().poll(cx));
                        *this.finished = true;
                        return Poll::Ready(Some(Err(silence.timeout())));
                    }
                    return Poll::Pending;
                }
            };
            match frame {
                Some(Ok(frame)) => {
                    if let Ok(data) = frame.into_data() {
                        this.decoder.push(&data);
                    }
                }
                Some(Err(error)) => {
                    *this.finished = true;
                    let error = crate::upstream::Error::reading_body(error);
                    return Poll::Ready(Some(Err(error.into())));
                }
                None => *this.ended = true,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::convert::Infallible;

    use futures_util::StreamExt;
    use http_body::Frame;
    use http_body_util::StreamBody;
    use tokio::time::Instant;

    use super::*;

    type Frames = futures_util::stream::BoxStream<'static, Result<Frame<Bytes>, Infallible>>;

    /// A body that sends each text at its time (milliseconds from now, whenever it is
    /// polled), then stays open without a byte more.
    fn paced(script: Vec<(u64, &'static str)>) -> StreamBody<Frames> {
        let start = Instant::now();
        let frames = futures_util::stream::iter(script)
            .then(move |(at, text)| async move {
                tokio::time::sleep_until(start + Duration::from_millis(at)).await;
                Ok(Frame::data(Bytes::from_static(text.as_bytes())))
            })
            .chain(futures_util::stream::pending());
        StreamBody::new(frames.boxed())
    }

    /// A body that sends `: ping` every 20 ms forever.
    fn pings() -> StreamBody<Frames> {
        let frames = futures_util::stream::repeat(()).then(|()| async {
            tokio::time::sleep(Duration::from_millis(20)).await;
            Ok(Frame::data(Bytes::from_static(b": ping\n\n")))
        });
        StreamBody::new(frames.boxed())
    }

    #[tokio::test]
    async fn pings_do_not_stop_the_timer() {
        let limit = Duration::from_millis(300);
        let started = Instant::now();
        let mut events = SseBody::new(pings()).with_event_timeout(limit);
        assert_eq!(
            events.next().await,
            Some(Err(SseBodyError::Timeout { limit }))
        );
        let took = started.elapsed();
        assert!(took >= limit, "{took:?}");
        assert!(took < Duration::from_secs(5), "{took:?}");
        assert_eq!(events.next().await, None);
    }

    #[tokio::test]
    async fn each_event_starts_the_timer_again() {
        // Twelve events 100 ms apart, pings between them: 1.2 s in all, four limits.
        let script = (0..12)
            .flat_map(|n| [(n * 100 + 50, ": ping\n\n"), (n * 100 + 100, "data: x\n\n")])
            .collect();
        let limit = Duration::from_millis(300);
        let mut events = SseBody::new(paced(script)).with_event_timeout(limit);
        for at in 0..12 {
            let event = events.next().await;
            assert!(
                matches!(&event, Some(Ok(event)) if event.data == "x"),
                "event {at}: {event:?}"
            );
        }
        // Then only silence.
        assert_eq!(
            events.next().await,
            Some(Err(SseBodyError::Timeout { limit }))
        );
    }

    #[tokio::test]
    async fn a_consumer_slow_to_poll_is_not_a_silent_upstream() {
        // The second event comes 450 ms after the first: within the limit of the wait that
        // starts when the consumer, busy for 400 ms, asks for it.
        let script = vec![(0, "data: 1\n\n"), (450, "data: 2\n\n")];
        let limit = Duration::from_millis(300);
        let mut events = SseBody::new(paced(script)).with_event_timeout(limit);
        assert!(matches!(events.next().await, Some(Ok(event)) if event.data == "1"));
        tokio::time::sleep(Duration::from_millis(400)).await;
        let second = events.next().await;
        assert!(
            matches!(&second, Some(Ok(event)) if event.data == "2"),
            "{second:?}"
        );
    }

    #[tokio::test]
    async fn without_a_limit_a_silent_body_just_waits() {
        let mut events = SseBody::new(pings());
        let waited = tokio::time::timeout(Duration::from_millis(300), events.next()).await;
        assert!(waited.is_err(), "{waited:?}");
    }
}
