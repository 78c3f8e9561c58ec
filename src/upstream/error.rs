//! The upstream HTTP level's errors: a call that could not be sent or whose reply could not
//! be read ([`Error`]), and a transport that could not be built ([`BuildError`]). Providers
//! convert them into their own errors with `From`.

/// A failure between the provider and its upstream, below any API semantics.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// No connection could be made (refused, unreachable, TLS handshake, a proxy tunnel):
    /// the request never reached the upstream, so sending it again is safe.
    #[error("could not connect to the upstream: {0}")]
    Connect(String),
    /// The request could not be sent or the reply not read (a reset, a broken body).
    #[error("could not reach the upstream: {0}")]
    Transport(String),
    /// The upstream did not answer in time (the reply head, or a pause in the body longer
    /// than the silence limit).
    #[error("the upstream did not answer in time")]
    Timeout,
    /// The reply body was larger than the reader's limit.
    #[error("the upstream's reply is larger than {limit} bytes")]
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl Error {
    /// A failure to send the request or receive the reply head. A failure to connect
    /// (a connect timeout included) is [`Error::Connect`], another timeout
    /// [`Error::Timeout`]; the message names the causes (connection refused, TLS, …). Keys
    /// travel in headers, and the client's errors carry no URL, so nothing secret is
    /// quoted.
    pub fn sending(error: &(dyn std::error::Error + 'static)) -> Self {
        if not_connected(error) {
            Self::Connect(crate::error::error_chain(error))
        } else if crate::error::is_timeout(error) {
            Self::Timeout
        } else {
            Self::Transport(crate::error::error_chain(error))
        }
    }

    /// A failure while reading a reply body; a timeout (the upstream falling silent in the
    /// middle of the body) stays [`Error::Timeout`].
    pub fn reading_body(error: &(dyn std::error::Error + 'static)) -> Self {
        if crate::error::is_timeout(error) {
            Self::Timeout
        } else {
            Self::Transport(format!(
                "reading the reply failed: {}",
                crate::error::error_chain(error)
            ))
        }
    }
}

/// Whether `error` or one of its causes is the pooled client failing to connect.
fn not_connected(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

/// Why an [`HttpTransport`](super::HttpTransport) could not be built.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum BuildError {
    /// The TLS setup failed (no usable roots, …).
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// The configured proxy URL cannot be used.
    #[error("unusable proxy: {0}")]
    Proxy(String),
    /// The transport cannot be used as configured (a silence limit for a transport that
    /// is not an [`HttpTransport`](super::HttpTransport)).
    #[error("{0}")]
    Transport(&'static str),
}
