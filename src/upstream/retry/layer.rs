//! [`RetryLayer`]: wraps an HTTP client service in [`Retry`].

use std::sync::Arc;

use tower_layer::Layer;

use super::{Retry, RetryPolicy};

/// Retries upstream HTTP calls by a [`RetryPolicy`]. Clones of the layer, and the
/// services it makes, share the policy's retry budget.
///
/// ```
/// use llm_tower::upstream::{RetryLayer, RetryPolicy};
/// use tower::ServiceBuilder;
///
/// let _stack = ServiceBuilder::new().layer(RetryLayer::new(RetryPolicy::new(2)));
/// ```
#[derive(Clone, Debug)]
pub struct RetryLayer {
    policy: Arc<RetryPolicy>,
}

impl RetryLayer {
    /// Retries by `policy`.
    pub fn new(policy: RetryPolicy) -> Self {
        Self {
            policy: Arc::new(policy),
        }
    }
}

impl<S> Layer<S> for RetryLayer {
    type Service = Retry<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Retry::from_shared(inner, self.policy.clone())
    }
}
