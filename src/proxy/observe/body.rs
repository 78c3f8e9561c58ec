//! [`ObservedBody`]: a response body that completes the request's [`Finish`] when it ends
//! (or is dropped unfinished): metrics, the span's closing fields (when they are wanted) and
//! the access-log line.
//! A stream is therefore counted when its last event has been sent, not when it opened.

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use http::{HeaderValue, Method, StatusCode};
use http_body::{Body, Frame, SizeHint};

use super::TraceParent;
use super::record::Record;
use super::{AccessLog, SpanResults};
use crate::proxy::metrics::{Metrics, RequestOutcome};

pin_project_lite::pin_project! {
    /// The response body of [`Observe`](super::Observe).
    pub struct ObservedBody<B> {
        #[pin]
        inner: B,
        finish: Option<Finish>,
    }
}

impl<B> ObservedBody<B> {
    pub(super) fn new(inner: B, finish: Finish) -> Self {
        Self {
            inner,
            finish: Some(finish),
        }
    }
}

impl<B: Body> Body for ObservedBody<B> {
    type Data = B::Data;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<B::Data>, B::Error>>> {
        let this = self.project();
        let frame = this.inner.poll_frame(cx);
        if matches!(frame, Poll::Ready(None | Some(Err(_)))) {
            // Dropping it completes it.
            this.finish.take();
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.inner.size_hint()
    }
}

/// What is left to do when a request ends; done on drop.
pub(super) struct Finish {
    metrics: Arc<Metrics>,
    record: Arc<Record>,
    span: tracing::Span,
    method: Method,
    route: &'static str,
    request_id: Option<HeaderValue>,
    trace: TraceParent,
    started: Instant,
    access: AccessLog,
    span_results: SpanResults,
    status: Option<StatusCode>,
    stream: bool,
}

impl Finish {
    #[expect(
        clippy::too_many_arguments,
        reason = "one call site, each argument a different fact"
    )]
    pub(super) fn new(
        metrics: Arc<Metrics>,
        record: Arc<Record>,
        span: tracing::Span,
        method: Method,
        route: &'static str,
        request_id: Option<HeaderValue>,
        trace: TraceParent,
        started: Instant,
        (access, span_results): (AccessLog, SpanResults),
    ) -> Self {
        metrics.request_started();
        Self {
            metrics,
            record,
            span,
            method,
            route,
            request_id,
            trace,
            started,
            access,
            span_results,
            status: None,
            stream: false,
        }
    }

    /// The request id, if the request had one.
    pub(super) fn request_id(&self) -> Option<&HeaderValue> {
        self.request_id.as_ref()
    }

    /// The response head is ready: `status`, and whether it is an event stream.
    pub(super) fn responded(&mut self, status: StatusCode, stream: bool) {
        self.status = Some(status);
        if stream {
            self.stream = true;
            let label = self.record.snapshot().label;
            let label = label.unwrap_or_else(|| self.metrics.models().none());
            // The edge answers a stream once its first event is there.
            self.metrics.stream_opened(&label, self.started.elapsed());
        }
    }
}

impl Drop for Finish {
    fn drop(&mut self) {
        let elapsed = self.started.elapsed();
        let facts = self.record.snapshot();
        let label = facts.label.unwrap_or_else(|| self.metrics.models().none());
        if self.stream {
            self.metrics.stream_closed();
        }
        self.metrics.request_ended(&RequestOutcome {
            route: self.route,
            label: &label,
            status: self.status,
            elapsed,
            tokens: facts.tokens,
            cost: facts.cost,
        });
        let status = self.status.map(|status| status.as_u16());
        if self.span_results == SpanResults::Recorded {
            let span = &self.span;
            span.record("model", label.model());
            span.record("provider", label.provider());
            if let Some(status) = status {
                span.record("status", status);
            }
            span.record("prompt_tokens", facts.tokens.prompt);
            span.record("completion_tokens", facts.tokens.completion);
        }
        let request_id = self.request_id.as_ref().and_then(|id| id.to_str().ok());
        let latency_ms = elapsed.as_secs_f64() * 1000.0;
        // Outside the span: the line carries every field it needs once, and a formatter
        // does not copy the span's fields into it.
        let trace_id = self.trace.trace_id_field();
        macro_rules! access {
            ($level:ident) => {
                tracing::$level!(
                    target: "llm_tower::access",
                    parent: None,
                    method = %self.method,
                    route = self.route,
                    model = label.model(),
                    provider = label.provider(),
                    status,
                    latency_ms,
                    prompt_tokens = facts.tokens.prompt,
                    completion_tokens = facts.tokens.completion,
                    cached_tokens = facts.tokens.cached,
                    cost = facts.cost,
                    request_id,
                    %trace_id,
                    "request"
                )
            };
        }
        match self.access {
            AccessLog::Info => access!(info),
            AccessLog::Debug => access!(debug),
        }
    }
}
