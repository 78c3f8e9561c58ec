//! [`ResponseFuture`]: one upstream call and its retries: call, look at the outcome, wait,
//! make the service ready again, call with a copy of the request.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll, ready};
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use http::StatusCode;
use http_body::Body;
use tokio::time::{Instant, Sleep};
use tower::BoxError;
use tower_service::Service;

use super::body::RetryBody;
use super::policy::header_delay;
use super::{MAX_ERROR_BODY, MAX_ERROR_BODY_TIME, RetryPolicy};
use crate::upstream::SendBudget;
use crate::upstream::context::CallContext;

pin_project_lite::pin_project! {
    /// The future of [`Retry`](super::Retry).
    pub struct ResponseFuture<S, ReqBody, B>
    where
        S: Service<http::Request<ReqBody>>,
    {
        #[pin]
        state: State<S::Future, B>,
        service: S,
        policy: Arc<RetryPolicy>,
        // The request to copy for the next attempt; `None` when no retry is possible.
        template: Option<http::Request<ReqBody>>,
        retries: u32,
        deadline: Option<Instant>,
        // The retries the request has left across every level, when it carries them.
        budget: Option<SendBudget>,
    }
}

pin_project_lite::pin_project! {
    #[project = StateProj]
    enum State<F, B> {
        // An attempt is in flight.
        Calling { #[pin] future: F },
        // A 429 without `Retry-After`: its body is read to find a delay.
        Reading {
            head: Option<http::response::Parts>,
            body: Option<Pin<Box<B>>>,
            read: BytesMut,
            // A body that trickles in is read no longer than this.
            until: Pin<Box<Sleep>>,
        },
        // Waiting before the next attempt.
        Waiting { #[pin] sleep: Sleep },
        // Waiting for the service to take the next attempt.
        Readying,
    }
}

impl<S, ReqBody, B> ResponseFuture<S, ReqBody, B>
where
    S: Service<http::Request<ReqBody>>,
{
    pub(super) fn new(
        future: S::Future,
        service: S,
        policy: Arc<RetryPolicy>,
        template: Option<http::Request<ReqBody>>,
        deadline: Option<Instant>,
        budget: Option<SendBudget>,
    ) -> Self {
        Self {
            state: State::Calling { future },
            service,
            policy,
            template,
            retries: 0,
            deadline,
            budget,
        }
    }
}

impl<S, ReqBody, B> Future for ResponseFuture<S, ReqBody, B>
where
    S: Service<http::Request<ReqBody>, Response = http::Response<B>>,
    S::Error: Into<BoxError>,
    ReqBody: Clone,
    B: Body<Data = Bytes>,
{
    type Output = Result<http::Response<RetryBody<B>>, BoxError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let mut this = self.project();
        loop {
            let retry = Attempts {
                policy: this.policy,
                retries: *this.retries,
                possible: this.template.is_some() && *this.retries < this.policy.max_retries(),
                deadline: *this.deadline,
                budget: this.budget.as_ref(),
            };
            let wait = match this.state.as_mut().project() {
                StateProj::Calling { future } => match ready!(future.poll(cx)) {
                    Ok(response) => {
                        let status = response.status();
                        if !retry.possible || !RetryPolicy::retries_status(status) {
                            return Poll::Ready(Ok(response.map(RetryBody::new)));
                        }
                        let named = header_delay(response.headers());
                        if named.is_none()
                            && status == StatusCode::TOO_MANY_REQUESTS
                            && this.policy.reads_body_delay().is_some()
                        {
                            let (head, body) = response.into_parts();
                            this.state.set(State::Reading {
                                head: Some(head),
                                body: Some(Box::pin(body)),
                                read: BytesMut::new(),
                                until: Box::pin(tokio::time::sleep(MAX_ERROR_BODY_TIME)),
                            });
                            continue;
                        }
                        match retry.wait(named, status.as_str()) {
                            Some(wait) => wait,
                            None => return Poll::Ready(Ok(response.map(RetryBody::new))),
                        }
                    }
                    Err(error) => {
                        let error = error.into();
                        if !retry.possible || !this.policy.retries_error(&*error) {
                            return Poll::Ready(Err(error));
                        }
                        match retry.wait(None, "a connection failure") {
                            Some(wait) => wait,
                            None => return Poll::Ready(Err(error)),
                        }
                    }
                },
                StateProj::Reading {
                    head,
                    body,
                    read,
                    until,
                } => {
                    let complete = loop {
                        let Some(pinned) = body.as_mut() else {
                            break true;
                        };
                        match pinned.as_mut().poll_frame(cx) {
                            Poll::Ready(Some(Ok(frame))) => {
                                if let Ok(data) = frame.into_data() {
                                    read.extend_from_slice(&data);
                                    if read.len() > MAX_ERROR_BODY {
                                        break false;
                                    }
                                }
                            }
                            // A broken error body ends where it broke; the client sees
                            // what arrived.
                            Poll::Ready(Some(Err(_)) | None) => {
                                *body = None;
                                break true;
                            }
                            Poll::Pending => {
                                if until.as_mut().poll(cx).is_ready() {
                                    break false;
                                }
                                return Poll::Pending;
                            }
                        }
                    };
                    let named = complete
                        .then(|| this.policy.reads_body_delay())
                        .flatten()
                        .and_then(|delay_in| delay_in(read));
                    let Some(head) = head.take() else {
                        return Poll::Ready(Err("retry future polled after completion".into()));
                    };
                    let response = http::Response::from_parts(
                        head,
                        RetryBody::buffered(read.split().freeze(), body.take()),
                    );
                    match retry.wait(named, "429") {
                        Some(wait) => wait,
                        None => return Poll::Ready(Ok(response)),
                    }
                }
                StateProj::Waiting { sleep } => {
                    ready!(sleep.poll(cx));
                    this.state.set(State::Readying);
                    continue;
                }
                StateProj::Readying => {
                    ready!(this.service.poll_ready(cx)).map_err(Into::into)?;
                    // The last retry takes the template; earlier ones copy it.
                    let request = if *this.retries < this.policy.max_retries() {
                        this.template.as_ref().map(clone_request)
                    } else {
                        this.template.take()
                    };
                    let Some(request) = request else {
                        return Poll::Ready(Err("retry future polled after completion".into()));
                    };
                    let future = this.service.call(request);
                    this.state.set(State::Calling { future });
                    continue;
                }
            };
            *this.retries += 1;
            // The request's observer (metrics) counts it.
            if let Some(template) = this.template.as_ref() {
                CallContext::note_retry(template.extensions());
            }
            this.state.set(State::Waiting {
                sleep: tokio::time::sleep(wait),
            });
        }
    }
}

/// Where a call stands, to decide about one more attempt.
struct Attempts<'a> {
    policy: &'a RetryPolicy,
    retries: u32,
    possible: bool,
    deadline: Option<Instant>,
    budget: Option<&'a SendBudget>,
}

impl Attempts<'_> {
    /// How long to wait before the next attempt, or `None` to give up and hand on what
    /// the last attempt returned: the upstream's `named` wait is too long, the wait would
    /// end past the deadline, or the budget is spent.
    fn wait(&self, named: Option<Duration>, after: &str) -> Option<Duration> {
        if !self.possible {
            return None;
        }
        let wait = match named {
            Some(wait) if !self.policy.honours(wait) => {
                tracing::debug!(
                    after,
                    ?wait,
                    "not retrying: the upstream asks for a longer wait than allowed"
                );
                return None;
            }
            Some(wait) => wait,
            None => self.policy.backoff_delay(self.retries),
        };
        let past_deadline = self.deadline.is_some_and(|deadline| {
            Instant::now()
                .checked_add(wait)
                .is_none_or(|end| end >= deadline)
        });
        if past_deadline {
            tracing::debug!(
                after,
                ?wait,
                "not retrying: the wait would end past the deadline"
            );
            return None;
        }
        if !self.policy.withdraw() {
            tracing::debug!(after, "not retrying: the retry budget is spent");
            return None;
        }
        if self.budget.is_some_and(|budget| !budget.take()) {
            tracing::debug!(after, "not retrying: the request's retries are spent");
            return None;
        }
        tracing::debug!(
            after,
            ?wait,
            retry = self.retries + 1,
            "retrying the upstream call"
        );
        Some(wait)
    }
}

/// A copy of a request: the head is copied, the body (`Bytes`, `Full<Bytes>`) shared.
pub(super) fn clone_request<ReqBody: Clone>(
    request: &http::Request<ReqBody>,
) -> http::Request<ReqBody> {
    let mut clone = http::Request::new(request.body().clone());
    *clone.method_mut() = request.method().clone();
    *clone.uri_mut() = request.uri().clone();
    *clone.version_mut() = request.version();
    *clone.headers_mut() = request.headers().clone();
    *clone.extensions_mut() = request.extensions().clone();
    clone
}
