//! [`RetryLayer`]: retries a chat or embeddings call that failed with a transient upstream error
//! (429, 500, 502, 503, 504) up to `max_retries` times, waiting for the upstream's
//! `Retry-After` when it gave one (capped at 30 s), else 0.5 s, 1 s, 2 s, …
//!
//! Only the call up to the reply is retried: once a stream has started, nothing is
//! replayed. A request is cloned only when a retry is possible.

use std::pin::Pin;
use std::time::Duration;

use tower::retry::Policy;

use crate::error::{Error, ErrorKind};
use crate::upstream::context::CallContext;

/// Longest wait between attempts.
const MAX_WAIT: Duration = Duration::from_secs(30);

/// Retries transient failures.
pub type RetryLayer = tower::retry::RetryLayer<TransientRetry>;

/// The retry policy of [`RetryLayer`].
#[derive(Clone, Copy, Debug)]
pub struct TransientRetry {
    remaining: u32,
    attempt: u32,
}

impl TransientRetry {
    /// Allows `max_retries` retries.
    pub fn new(max_retries: u32) -> Self {
        Self {
            remaining: max_retries,
            attempt: 0,
        }
    }
}

/// A [`RetryLayer`] allowing `max_retries` retries.
///
/// ```
/// let _layer = llm_tower::proxy::retry::retry_layer(2);
/// ```
pub fn retry_layer(max_retries: u32) -> RetryLayer {
    tower::retry::RetryLayer::new(TransientRetry::new(max_retries))
}

impl<Req: Clone, Res> Policy<Req, Res, Error> for TransientRetry {
    type Future = Pin<Box<dyn Future<Output = ()> + Send>>;

    fn retry(&mut self, _: &mut Req, result: &mut Result<Res, Error>) -> Option<Self::Future> {
        let error = result.as_ref().err()?;
        let transient = matches!(
            error.kind(),
            ErrorKind::RateLimit
                | ErrorKind::Api
                | ErrorKind::BadGateway
                | ErrorKind::ServiceUnavailable
                | ErrorKind::Timeout
        );
        if !transient || self.remaining == 0 {
            return None;
        }
        self.remaining -= 1;
        let wait = error
            .retry_after()
            .unwrap_or_else(|| Duration::from_millis(500) * 2u32.saturating_pow(self.attempt))
            .min(MAX_WAIT);
        self.attempt += 1;
        tracing::debug!(kind = ?error.kind(), ?wait, "retrying a transient upstream error");
        CallContext::note_retry();
        Some(Box::pin(tokio::time::sleep(wait)))
    }

    fn clone_request(&mut self, request: &Req) -> Option<Req> {
        (self.remaining > 0).then(|| request.clone())
    }
}
