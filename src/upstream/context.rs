//! [`CallContext`]: what an upstream call carries from the request that caused it: the W3C
//! `traceparent` sent on with every upstream call, the request id written into that
//! request's error bodies, and an [`UpstreamObserver`] told how each upstream call went.
//!
//! The context travels in the request's extensions, as everything else of a request does:
//! the proxy inserts it into the HTTP request, the edge hands the extensions to the typed
//! request ([`RequestContext`](crate::RequestContext)), and each provider hands them to the
//! upstream HTTP request, where the transport and the retry read it. So a call keeps its
//! context whichever task sends it: behind tower's `Buffer`, in a fan-out started while a
//! stream is polled. Without one nothing is added and nothing is observed.
//!
//! ```
//! use llm_tower::upstream::context::CallContext;
//!
//! let context = CallContext::new()
//!     .with_request_id(http::HeaderValue::from_static("req-1"))
//!     .with_traceparent(http::HeaderValue::from_static(
//!         "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01",
//!     ));
//! let mut request = http::Request::new(());
//! request.extensions_mut().insert(context);
//! let id = CallContext::of(request.extensions()).and_then(CallContext::request_id);
//! assert_eq!(id.map(|id| id.to_str().unwrap()), Some("req-1"));
//! ```

use std::any::Any;
use std::sync::Arc;
use std::time::{Duration, Instant};

use http::{Extensions, HeaderName, HeaderValue, StatusCode};

/// The W3C trace-context header.
pub const TRACEPARENT: HeaderName = HeaderName::from_static("traceparent");

/// Told about the upstream calls of one request.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::upstream::context::UpstreamObserver;
///
/// struct Count(std::sync::atomic::AtomicU32);
/// impl UpstreamObserver for Count {
///     fn call_ended(&self, _: Option<http::StatusCode>, _: Duration) {
///         self.0.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
///     }
///     fn retrying(&self) {}
/// }
/// ```
pub trait UpstreamObserver: Any + Send + Sync {
    /// A call's reply head arrived with `status`, or (`None`) the call failed without one
    /// (connection error, timeout), `elapsed` after it was sent.
    fn call_ended(&self, status: Option<StatusCode>, elapsed: Duration);

    /// A failed call is about to be tried again.
    fn retrying(&self);

    /// A provider's context cache decided how a call with a cacheable head went
    /// (`outcome` is one of a fixed set, e.g. `hit`, `created`, `too_small`). Ignored
    /// unless implemented.
    fn context_cache(&self, outcome: &'static str) {
        let _ = outcome;
    }
}

/// The per-request context read by the upstream HTTP level; see the [module](self).
#[derive(Clone, Default)]
pub struct CallContext {
    request_id: Option<HeaderValue>,
    traceparent: Option<HeaderValue>,
    observer: Option<Arc<dyn UpstreamObserver>>,
}

impl CallContext {
    /// An empty context: no id, no trace, no observer.
    pub fn new() -> Self {
        Self::default()
    }

    /// The request id, written into the request's error bodies.
    pub fn with_request_id(mut self, id: HeaderValue) -> Self {
        self.request_id = Some(id);
        self
    }

    /// The `traceparent` value every upstream call of the request is sent with.
    pub fn with_traceparent(mut self, traceparent: HeaderValue) -> Self {
        self.traceparent = Some(traceparent);
        self
    }

    /// Who is told about the upstream calls.
    pub fn with_observer(mut self, observer: Arc<dyn UpstreamObserver>) -> Self {
        self.observer = Some(observer);
        self
    }

    /// The context among `extensions`, if the request carries one.
    pub fn of(extensions: &Extensions) -> Option<&Self> {
        extensions.get::<Self>()
    }

    /// The request id, if any.
    pub fn request_id(&self) -> Option<&HeaderValue> {
        self.request_id.as_ref()
    }

    /// The `traceparent` of the upstream calls, if any.
    pub fn traceparent(&self) -> Option<&HeaderValue> {
        self.traceparent.as_ref()
    }

    /// The observer, if any.
    pub fn observer(&self) -> Option<&Arc<dyn UpstreamObserver>> {
        self.observer.as_ref()
    }

    /// Tells the observer of the request with `extensions` that a failed call is tried
    /// again.
    pub(crate) fn note_retry(extensions: &Extensions) {
        if let Some(observer) = Self::of(extensions).and_then(Self::observer) {
            observer.retrying();
        }
    }

    /// Tells the observer of the request with `extensions` how a context-cached call went
    /// (see [`UpstreamObserver::context_cache`]).
    pub(crate) fn note_context_cache(extensions: &Extensions, outcome: &'static str) {
        if let Some(observer) = Self::of(extensions).and_then(Self::observer) {
            observer.context_cache(outcome);
        }
    }

    /// Prepares an upstream request: adds its context's `traceparent` and starts the watch
    /// that reports the call to the observer.
    pub(crate) fn start_call<B>(request: &mut http::Request<B>) -> Option<CallWatch> {
        let context = Self::of(request.extensions())?;
        let traceparent = context.traceparent.clone();
        let watch = context.observer.clone().map(|observer| CallWatch {
            observer,
            started: Instant::now(),
        });
        if let Some(traceparent) = traceparent {
            request.headers_mut().insert(TRACEPARENT, traceparent);
        }
        watch
    }
}

impl std::fmt::Debug for CallContext {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallContext")
            .field("request_id", &self.request_id)
            .field("traceparent", &self.traceparent)
            .field("observed", &self.observer.is_some())
            .finish()
    }
}

/// One upstream call being watched; [`ended`](Self::ended) reports it.
pub(crate) struct CallWatch {
    observer: Arc<dyn UpstreamObserver>,
    started: Instant,
}

impl CallWatch {
    /// Reports the call's outcome.
    pub(crate) fn ended(self, status: Option<StatusCode>) {
        self.observer.call_ended(status, self.started.elapsed());
    }
}
