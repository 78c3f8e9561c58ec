//! [`Refusable`]: the named future of a layer that may turn a request down before calling
//! its inner service: the error it decided then, or the inner service's future followed by
//! what the layer does with the reply ([`OnReply`]).
//!
//! Every layer that maps a request and can refuse it (a parameter it cannot map, a schema
//! that does not compile, a body it cannot encode) answers with this one shape instead of
//! a future of its own: tower's `timeout/future.rs` layout (a `pin-project-lite` enum behind
//! a struct, so the states stay private), and no box.

use std::pin::Pin;
use std::task::{Context, Poll, ready};

use pin_project_lite::pin_project;

use crate::error::Error;

/// What a layer does with its inner service's reply `R` once it arrives, holding what it
/// kept from the request.
///
/// ```
/// use llm_tower::Error;
/// use llm_tower::layers::refusable::{OnReply, Refusable};
///
/// /// Doubles the inner service's number.
/// struct Double;
///
/// impl OnReply<Result<u32, Error>> for Double {
///     type Response = u32;
///     type Error = Error;
///
///     fn on_reply(self, reply: Result<u32, Error>) -> Result<u32, Error> {
///         reply.map(|n| n * 2)
///     }
/// }
///
/// # #[tokio::main(flavor = "current_thread")] async fn main() {
/// let called = Refusable::called(std::future::ready(Ok(21)), Double);
/// assert_eq!(called.await.unwrap(), 42);
/// # }
/// ```
pub trait OnReply<R> {
    /// The layer's response.
    type Response;
    /// The layer's error: also the error of a request refused before the call.
    type Error;

    /// The layer's answer to the inner service's `reply`.
    fn on_reply(self, reply: R) -> Result<Self::Response, Self::Error>;
}

/// Passes the inner service's reply on as it is (a layer that only refuses or calls).
#[derive(Clone, Copy, Debug, Default)]
pub struct Unchanged;

impl<T, E> OnReply<Result<T, E>> for Unchanged {
    type Response = T;
    type Error = E;

    fn on_reply(self, reply: Result<T, E>) -> Result<T, E> {
        reply
    }
}

pin_project! {
    /// The future of a layer: either the request was refused with an error `E` before the
    /// inner service was called, or it is the inner service's future `F`, whose output `M`
    /// turns into the layer's answer.
    ///
    /// Like tower's futures, it panics if polled again after it completed.
    ///
    /// ```
    /// use llm_tower::layers::refusable::{Refusable, Unchanged};
    ///
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let refused =
    ///     Refusable::<std::future::Ready<Result<u8, &str>>, Unchanged, _>::refused("no key");
    /// assert_eq!(refused.await, Err("no key"));
    /// let called = Refusable::called(std::future::ready(Ok::<u8, &str>(7)), Unchanged);
    /// assert_eq!(called.await, Ok(7));
    /// # }
    /// ```
    pub struct Refusable<F, M = Unchanged, E = Error> {
        #[pin]
        state: State<F, M, E>,
    }
}

pin_project! {
    #[project = StateProj]
    enum State<F, M, E> {
        Refused { error: Option<E> },
        Called { #[pin] future: F, then: Option<M> },
    }
}

impl<F, M, E> Refusable<F, M, E> {
    /// A request refused with `error` before the inner service was called.
    pub fn refused(error: E) -> Self {
        Self {
            state: State::Refused { error: Some(error) },
        }
    }

    /// The inner service's `future`; `then` makes the layer's answer of its output.
    pub fn called(future: F, then: M) -> Self {
        Self {
            state: State::Called {
                future,
                then: Some(then),
            },
        }
    }
}

impl<F, M, E> Future for Refusable<F, M, E>
where
    F: Future,
    M: OnReply<F::Output, Error = E>,
{
    type Output = Result<M::Response, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        const DONE: &str = "Refusable polled after completion";
        match self.project().state.project() {
            StateProj::Refused { error } => Poll::Ready(Err(error.take().expect(DONE))),
            StateProj::Called { future, then } => {
                assert!(then.is_some(), "{DONE}");
                let reply = ready!(future.poll(cx));
                Poll::Ready(then.take().expect(DONE).on_reply(reply))
            }
        }
    }
}

impl<F, M, E> std::fmt::Debug for Refusable<F, M, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let state = match &self.state {
            State::Refused { .. } => "refused",
            State::Called { .. } => "called",
        };
        f.debug_tuple("Refusable").field(&state).finish()
    }
}

#[cfg(test)]
mod tests {
    use std::task::Waker;

    use super::*;

    #[test]
    fn a_refusal_is_answered_at_the_first_poll_and_the_call_when_it_is_ready() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut refused = std::pin::pin!(Refusable::<
            std::future::Pending<Result<u8, &str>>,
            Unchanged,
            &str,
        >::refused("refused"));
        assert_eq!(refused.as_mut().poll(&mut cx), Poll::Ready(Err("refused")));

        let mut pending = std::pin::pin!(Refusable::called(
            std::future::pending::<Result<u8, &str>>(),
            Unchanged
        ));
        assert_eq!(pending.as_mut().poll(&mut cx), Poll::Pending);
        assert_eq!(format!("{pending:?}"), "Refusable(\"called\")");
    }

    #[test]
    #[should_panic(expected = "polled after completion")]
    fn polling_a_finished_call_again_panics_without_polling_the_call() {
        let mut cx = Context::from_waker(Waker::noop());
        let mut called = std::pin::pin!(Refusable::called(
            std::future::ready(Ok::<u8, &str>(1)),
            Unchanged
        ));
        assert_eq!(called.as_mut().poll(&mut cx), Poll::Ready(Ok(1)));
        let _ = called.as_mut().poll(&mut cx);
    }
}
