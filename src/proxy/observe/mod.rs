//! [`ObserveLayer`]: what an operator sees of each request. Around the proxy's routes it
//!
//! - opens a `request` span (request id, trace id, method, route; model, provider, status
//!   and token counts recorded when the request ends), so every log line of the request
//!   carries them;
//! - reads the client's W3C `traceparent` (or starts a trace) and makes every upstream call
//!   of the request carry the same trace id ([`CallContext`]);
//! - counts the request in [`Metrics`] when its response body ends, streams included;
//! - writes one access-log line per request (target `llm_tower::access`): method, route,
//!   model, status, latency, tokens and request id, never a header value or message
//!   content;
//! - answers with the request id as `x-litellm-call-id` too (LiteLLM's name), beside the
//!   `x-request-id` tower-http's request-id layers set.
//!
//! The model and tokens come from a layer at the OpenAI level (`RecordUsage`, around the
//! proxy's router), the upstream latencies from the transport: both reach the request's
//! record through the [`CallContext`] inserted here into the request's extensions, which
//! travel with the request to every level (no task-local: a call sent from another task,
//! behind tower's `Buffer` or in a fan-out, is counted too).

mod body;
mod future;
mod new_id;
pub(crate) mod record;
mod request_id;
pub(crate) mod usage;

use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Instant;

use tower_layer::Layer;
use tower_service::Service;

pub use super::trace_parent::TraceParent;
pub use body::ObservedBody;
pub use future::ObserveFuture;
pub use new_id::RandomRequestId;
pub use request_id::{MAX_REQUEST_ID_LEN, SaneRequestId, SaneRequestIdLayer};

use self::body::Finish;
use self::record::Record;
use super::metrics::{Metrics, route_label};
use crate::edge::EdgeBody;
use crate::upstream::context::{CallContext, TRACEPARENT};

/// The request-id header, set by tower-http's `SetRequestIdLayer` in front of this layer.
pub const X_REQUEST_ID: http::HeaderName = http::HeaderName::from_static("x-request-id");
/// LiteLLM's name for the request id in answers.
pub const X_LITELLM_CALL_ID: http::HeaderName = http::HeaderName::from_static("x-litellm-call-id");

/// The level of the per-request access-log line.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum AccessLog {
    /// `info`: one line per request in the default log (what a log aggregator wants).
    Info,
    /// `debug`: only with `RUST_LOG=llm_tower=debug` (the default for human-read logs).
    #[default]
    Debug,
}

/// Whether the request span gets its closing fields (model, provider, status, tokens)
/// recorded when the request ends. Only a span exporter reads them then, and a log
/// formatter re-formats a span's fields on every record, so a proxy that exports no spans
/// leaves them out; the access-log line carries them either way.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum SpanResults {
    /// Recorded (the default: a library user's subscriber may read them).
    #[default]
    Recorded,
    /// Left out.
    Skipped,
}

/// Observes the requests of the service it wraps; see the [module](self).
///
/// ```
/// use std::sync::Arc;
/// use llm_tower::proxy::{app::Proxy, config::Config, metrics::Metrics};
/// use llm_tower::proxy::observe::{AccessLog, ObserveLayer};
/// use tower_layer::Layer;
///
/// let config = Config::default_gemini();
/// let metrics = Arc::new(Metrics::new(&config));
/// let proxy = Proxy::from_config(&config)?;
/// let _observed = ObserveLayer::new(metrics).access_log(AccessLog::Info).layer(proxy);
/// # Ok::<(), llm_tower::proxy::app::BuildError>(())
/// ```
#[derive(Clone, Debug)]
pub struct ObserveLayer {
    metrics: Arc<Metrics>,
    access: AccessLog,
    span_results: SpanResults,
}

impl ObserveLayer {
    /// Counts into `metrics`; access-log lines at `debug`.
    pub fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            access: AccessLog::default(),
            span_results: SpanResults::default(),
        }
    }

    /// The level of the access-log line.
    pub fn access_log(mut self, level: AccessLog) -> Self {
        self.access = level;
        self
    }

    /// Whether the request span gets its closing fields recorded (see [`SpanResults`]).
    pub fn span_results(mut self, results: SpanResults) -> Self {
        self.span_results = results;
        self
    }
}

impl<S> Layer<S> for ObserveLayer {
    type Service = Observe<S>;

    fn layer(&self, inner: S) -> Observe<S> {
        Observe {
            inner,
            metrics: self.metrics.clone(),
            access: self.access,
            span_results: self.span_results,
        }
    }
}

/// The service of [`ObserveLayer`].
#[derive(Clone, Debug)]
pub struct Observe<S> {
    inner: S,
    metrics: Arc<Metrics>,
    access: AccessLog,
    span_results: SpanResults,
}

impl<S> Observe<S> {
    /// Wraps `inner`, counting into `metrics`.
    pub fn new(inner: S, metrics: Arc<Metrics>) -> Self {
        ObserveLayer::new(metrics).layer(inner)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S, B, ResBody> Service<http::Request<B>> for Observe<S>
where
    S: Service<http::Request<B>, Response = http::Response<ResBody>>,
    ResBody: From<EdgeBody>,
{
    type Response = http::Response<ObservedBody<ResBody>>;
    type Error = S::Error;
    type Future = ObserveFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut request: http::Request<B>) -> Self::Future {
        let started = Instant::now();
        let route = route_label(request.uri().path());
        let request_id = request.headers().get(X_REQUEST_ID).cloned();
        let client_trace = request
            .headers()
            .get(TRACEPARENT)
            .and_then(|value| value.to_str().ok())
            .and_then(TraceParent::parse);
        let span = tracing::info_span!(
            "request",
            request_id = request_id.as_ref().and_then(|id| id.to_str().ok()),
            trace_id = tracing::field::Empty,
            method = %request.method(),
            route,
            model = tracing::field::Empty,
            provider = tracing::field::Empty,
            status = tracing::field::Empty,
            prompt_tokens = tracing::field::Empty,
            completion_tokens = tracing::field::Empty,
        );
        // What upstream calls carry: the same trace, the proxy as the parent (with `otel`,
        // the exported request span).
        let fallback = || client_trace.unwrap_or_else(TraceParent::random).child();
        #[cfg(feature = "otel")]
        let upstream = super::otel::link(&span, client_trace.as_ref()).unwrap_or_else(fallback);
        #[cfg(not(feature = "otel"))]
        let upstream = fallback();
        if !span.is_disabled() {
            span.record(
                "trace_id",
                tracing::field::display(upstream.trace_id_field()),
            );
        }
        let record = Arc::new(Record::new(self.metrics.clone()));
        let mut context = CallContext::new()
            .with_traceparent(upstream.header_value())
            .with_observer(record.clone());
        if let Some(id) = &request_id {
            context = context.with_request_id(id.clone());
        }
        let finish = Finish::new(
            self.metrics.clone(),
            record.clone(),
            span.clone(),
            request.method().clone(),
            route,
            request_id,
            upstream,
            started,
            (self.access, self.span_results),
        );
        request.extensions_mut().insert(context);
        ObserveFuture::new(self.inner.call(request), span, finish)
    }
}
