//! [`UpstreamBody`]: the body of an upstream HTTP reply, whatever produced it (the pooled
//! transport, a user's layer that wraps bodies, a test double).

use bytes::Bytes;
use http_body_util::combinators::UnsyncBoxBody;

/// Body of an upstream HTTP reply.
pub type UpstreamBody = UnsyncBoxBody<Bytes, Box<dyn std::error::Error + Send + Sync>>;
