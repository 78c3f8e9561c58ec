//! [`ResponseFuture`]: the named future of the provider HTTP layers
//! ([`GeminiHttp`](super::gemini::GeminiHttp),
//! [`OpenAiCompatibleHttp`](super::openai_compatible::OpenAiCompatibleHttp)): a request
//! refused before anything was sent (no body, an unusable URL, …), or the call itself.
//!
//! The refusal is one shared shape, so a layer that can turn a request down before calling
//! its inner service does not build a boxed future for it (tower's `timeout/future.rs`
//! shape: a `pin-project-lite` enum behind a struct, so the variants stay private).

use std::pin::Pin;
use std::task::{Context, Poll};

use pin_project_lite::pin_project;

/// A boxed call: what a provider HTTP layer sends and reads, as one future.
pub type BoxCall<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;

pin_project! {
    /// The future of a provider HTTP layer: either the request was refused before it was
    /// sent, or it is the call `F`.
    ///
    /// ```
    /// use llm_tower::providers::ResponseFuture;
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let refused = ResponseFuture::<std::future::Ready<Result<u8, &str>>, _>::refused("no key");
    /// assert_eq!(refused.await, Err("no key"));
    /// let called = ResponseFuture::called(std::future::ready(Ok::<u8, &str>(7)));
    /// assert_eq!(called.await, Ok(7));
    /// # }
    /// ```
    pub struct ResponseFuture<F, E> {
        #[pin]
        state: State<F, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, E> {
        Refused { error: Option<E> },
        Called { #[pin] future: F },
    }
}

impl<F, E> ResponseFuture<F, E> {
    /// A request refused with `error` before anything was sent.
    pub fn refused(error: E) -> Self {
        Self {
            state: State::Refused { error: Some(error) },
        }
    }

    /// The call `future`.
    pub fn called(future: F) -> Self {
        Self {
            state: State::Called { future },
        }
    }
}

impl<F, T, E> Future for ResponseFuture<F, E>
where
    F: Future<Output = Result<T, E>>,
{
    type Output = Result<T, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().state.project() {
            StateProj::Refused { error } => Poll::Ready(Err(error
                .take()
                .expect("ResponseFuture polled after completion"))),
            StateProj::Called { future } => future.poll(cx),
        }
    }
}

impl<F, E> std::fmt::Debug for ResponseFuture<F, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Refused { .. } => "refused",
            State::Called { .. } => "called",
        };
        f.debug_tuple("ResponseFuture").field(&state).finish()
    }
}
