//! [`RetryBody`]: the body of a reply that passed the [`Retry`](super::Retry) service,
//! either untouched or, for an error reply whose body was read to find a retry delay, the
//! bytes read followed by whatever was left.

use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};

pin_project_lite::pin_project! {
    /// The body of a reply from [`Retry`](super::Retry).
    ///
    /// ```
    /// use bytes::Bytes;
    /// use http_body_util::{BodyExt, Full};
    /// use llm_tower::upstream::RetryBody;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let body = RetryBody::new(Full::new(Bytes::from("{}")));
    /// assert_eq!(body.collect().await.unwrap().to_bytes(), "{}");
    /// # }
    /// ```
    #[project = RetryBodyProj]
    pub enum RetryBody<B> {
        /// The upstream's body as it came.
        Passed { #[pin] inner: B },
        /// An error body read (in part) by the retry service.
        Buffered { read: Option<Bytes>, rest: Option<Pin<Box<B>>> },
    }
}

impl<B> RetryBody<B> {
    /// The upstream's body, untouched.
    pub fn new(inner: B) -> Self {
        Self::Passed { inner }
    }

    /// `read`, then what is left of the body (if it was not read to the end).
    pub(crate) fn buffered(read: Bytes, rest: Option<Pin<Box<B>>>) -> Self {
        Self::Buffered {
            read: Some(read).filter(|read| !read.is_empty()),
            rest,
        }
    }

    /// The upstream's body when it is untouched.
    pub fn into_passed(self) -> Result<B, Self> {
        match self {
            Self::Passed { inner } => Ok(inner),
            buffered => Err(buffered),
        }
    }
}

impl<B> Body for RetryBody<B>
where
    B: Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, B::Error>>> {
        match self.project() {
            RetryBodyProj::Passed { inner } => inner.poll_frame(cx),
            RetryBodyProj::Buffered { read, rest } => {
                if let Some(read) = read.take() {
                    return Poll::Ready(Some(Ok(Frame::data(read))));
                }
                match rest {
                    Some(rest) => rest.as_mut().poll_frame(cx),
                    None => Poll::Ready(None),
                }
            }
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            Self::Passed { inner } => inner.is_end_stream(),
            Self::Buffered { read, rest } => {
                read.is_none() && rest.as_ref().is_none_or(|rest| rest.is_end_stream())
            }
        }
    }

    fn size_hint(&self) -> SizeHint {
        match self {
            Self::Passed { inner } => inner.size_hint(),
            Self::Buffered { read, rest } => {
                let read = read.as_ref().map_or(0, |read| read.len() as u64);
                let rest = rest
                    .as_ref()
                    .map_or_else(|| SizeHint::with_exact(0), |rest| rest.size_hint());
                let mut hint = SizeHint::new();
                hint.set_lower(rest.lower() + read);
                if let Some(upper) = rest.upper() {
                    hint.set_upper(upper + read);
                }
                hint
            }
        }
    }
}
