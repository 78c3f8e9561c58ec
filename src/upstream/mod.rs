//! The upstream HTTP level every provider shares: requests are `http::Request<Full<Bytes>>`
//! (a request body tower-http's layers accept, that a retry clones in O(1)), replies
//! `http::Response<UpstreamBody>`; what a request carries besides travels in its extensions.
//!
//! | module | what |
//! |---|---|
//! | [`transport`] | [`HttpTransport`]: the pooled HTTP/1.1 + HTTP/2 client (rustls, proxies) |
//! | [`secret`] | [`Secret`]: keys that never print themselves |
//! | [`redact`] | [`redact_url`]: URLs fit for logs and errors; [`redact_secret`]: a key out of upstream text |
//! | [`error`] | [`Error`] (a call failed below the API) and [`BuildError`] |
//! | [`body`] | [`UpstreamBody`]: the boxed reply body |
//! | [`context`] | [`CallContext`](context::CallContext): trace context, request id and observer of the request a call serves, in its extensions |
//! | [`retry`] | [`Retry`]: retries at the HTTP seam by a [`RetryPolicy`] |
//! | [`send_budget`] | [`SendBudget`]: the retries one request has left, shared by the seam and the router |
//! | [`in_flight`] | [`InFlightLimit`]: a bound on the calls in flight, streams until they end |
//! | [`reply`] | reading a reply body up to a cap |
//!
//! Nothing here knows a provider: providers convert [`Error`] into their own errors.

pub mod body;
pub mod context;
pub mod error;
pub mod in_flight;
pub(crate) mod preview;
pub mod redact;
pub mod reply;
pub mod retry;
pub mod secret;
pub mod send_budget;
pub mod transport;

pub use body::UpstreamBody;
pub use error::{BuildError, Error};
pub use in_flight::{InFlightLimit, InFlightLimitLayer, Saturated};
pub use redact::{redact_secret, redact_url};
pub use retry::{Retry, RetryBody, RetryLayer, RetryPolicy};
pub use secret::Secret;
pub use send_budget::SendBudget;
pub use transport::{HttpTransport, HttpTransportBuilder, IdleTimeout};
