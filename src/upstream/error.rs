//! The upstream HTTP level's errors: a call that could not be sent or whose reply could not
//! be read ([`Error`], opaque, with a kind and a source), and a transport that could not be
//! built ([`BuildError`]). Providers convert them into their own errors with `From`.

use tower::BoxError;

/// A failure between the provider and its upstream, below any API semantics: opaque, in
/// hyper-util's shape. Its [`kind`](Self::kind) says what failed ([`is_connect`](Self::is_connect),
/// [`is_timeout`](Self::is_timeout)); its message says only that, fit for a client; the
/// cause (hyper's error, an I/O error, a user layer's error) is its
/// [`source`](std::error::Error::source), for logs and error reports.
///
/// ```
/// use std::error::Error as _;
/// use llm_tower::upstream::Error;
///
/// let refused = std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "10.0.0.7:443 refused");
/// let error = Error::connect(refused);
/// assert!(error.is_connect());
/// assert_eq!(error.to_string(), "could not connect to the upstream");
/// assert!(error.source().unwrap().to_string().contains("10.0.0.7"));
/// ```
#[derive(Debug)]
pub struct Error {
    kind: ErrorKind,
    source: Option<BoxError>,
}

/// What kind of upstream failure an [`Error`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// No connection could be made (refused, unreachable, TLS handshake, a proxy tunnel):
    /// the request never reached the upstream, so sending it again is safe.
    Connect,
    /// The request could not be sent or the reply not read (a reset, a broken body).
    Transport,
    /// The upstream did not answer in time (the reply head, or a pause in the body longer
    /// than the silence limit).
    Timeout,
    /// The reply body was larger than the reader's limit.
    TooLarge {
        /// The limit, in bytes.
        limit: usize,
    },
}

impl Error {
    fn new(kind: ErrorKind, source: Option<BoxError>) -> Self {
        Self { kind, source }
    }

    /// No connection could be made, because of `source`.
    pub fn connect(source: impl Into<BoxError>) -> Self {
        Self::new(ErrorKind::Connect, Some(source.into()))
    }

    /// The request could not be sent or the reply not read, because of `source`.
    pub fn transport(source: impl Into<BoxError>) -> Self {
        Self::new(ErrorKind::Transport, Some(source.into()))
    }

    /// The upstream did not answer in time.
    pub fn timeout() -> Self {
        Self::new(ErrorKind::Timeout, None)
    }

    /// The reply body was larger than `limit` bytes.
    pub fn too_large(limit: usize) -> Self {
        Self::new(ErrorKind::TooLarge { limit }, None)
    }

    /// What failed.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// Whether no connection could be made (sending again is safe).
    pub fn is_connect(&self) -> bool {
        self.kind == ErrorKind::Connect
    }

    /// Whether the upstream did not answer in time.
    pub fn is_timeout(&self) -> bool {
        self.kind == ErrorKind::Timeout
    }

    /// A failure to send the request or receive the reply head, classified by its causes:
    /// the pooled client failing to connect (a connect timeout included) is
    /// [`Connect`](ErrorKind::Connect), another I/O timeout [`Timeout`](ErrorKind::Timeout),
    /// anything else [`Transport`](ErrorKind::Transport). The error is kept as the source.
    pub fn sending(error: impl Into<BoxError>) -> Self {
        let error = error.into();
        if not_connected(&*error) {
            Self::connect(error)
        } else if is_timeout(&*error) {
            Self::new(ErrorKind::Timeout, Some(error))
        } else {
            Self::transport(error)
        }
    }

    /// A failure while reading a reply body; a timeout (the upstream falling silent in the
    /// middle of the body) is [`Timeout`](ErrorKind::Timeout).
    pub fn reading_body(error: impl Into<BoxError>) -> Self {
        let error = error.into();
        let kind = if is_timeout(&*error) {
            ErrorKind::Timeout
        } else {
            ErrorKind::Transport
        };
        Self::new(kind, Some(error))
    }
}

impl std::fmt::Display for Error {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self.kind {
            ErrorKind::Connect => f.write_str("could not connect to the upstream"),
            ErrorKind::Transport => f.write_str("could not reach the upstream"),
            ErrorKind::Timeout => f.write_str("the upstream did not answer in time"),
            ErrorKind::TooLarge { limit } => {
                write!(f, "the upstream's reply is larger than {limit} bytes")
            }
        }
    }
}

/// Errors compare by their kind; the [`source`](std::error::Error::source) is not part of
/// that.
impl PartialEq for Error {
    fn eq(&self, other: &Self) -> bool {
        self.kind == other.kind
    }
}

impl Eq for Error {}

impl std::error::Error for Error {
    fn source(&self) -> Option<&(dyn std::error::Error + 'static)> {
        self.source
            .as_deref()
            .map(|source| source as &(dyn std::error::Error + 'static))
    }
}

/// Whether `error` or one of its causes is the pooled client failing to connect, or an
/// upstream [`Error`] of kind [`Connect`](ErrorKind::Connect).
fn not_connected(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        let connect = current
            .downcast_ref::<hyper_util::client::legacy::Error>()
            .is_some_and(hyper_util::client::legacy::Error::is_connect)
            || current
                .downcast_ref::<Error>()
                .is_some_and(Error::is_connect);
        if connect {
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

/// Whether `error` or one of its causes is an I/O timeout.
pub(crate) fn is_timeout(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut cause = Some(error);
    while let Some(current) = cause {
        if current
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::TimedOut)
        {
            return true;
        }
        cause = current.source();
    }
    false
}

#[cfg(test)]
mod tests {
    use std::error::Error as _;

    use super::*;
    use crate::upstream::retry::{Failure, classify};

    fn io(kind: std::io::ErrorKind) -> std::io::Error {
        std::io::Error::new(kind, "detail of 10.0.0.7")
    }

    /// A user layer's error around another one.
    #[derive(Debug, thiserror::Error)]
    #[error("layer failed")]
    struct Layered(#[source] BoxError);

    #[test]
    fn sending_classifies_by_the_causes_and_keeps_them() {
        let timed_out = Error::sending(Layered(io(std::io::ErrorKind::TimedOut).into()));
        assert!(timed_out.is_timeout());
        assert_eq!(timed_out.to_string(), "the upstream did not answer in time");
        let reset = Error::sending(io(std::io::ErrorKind::ConnectionReset));
        assert_eq!(reset.kind(), ErrorKind::Transport);
        assert!(!reset.to_string().contains("10.0.0.7"));
        assert!(
            reset
                .source()
                .expect("kept")
                .to_string()
                .contains("10.0.0.7")
        );
        // A connect failure inside a user layer's error stays a connect failure.
        let wrapped = Error::sending(Layered(
            Error::connect(io(std::io::ErrorKind::ConnectionRefused)).into(),
        ));
        assert!(wrapped.is_connect());
        let broken = Error::reading_body(io(std::io::ErrorKind::UnexpectedEof));
        assert_eq!(broken.kind(), ErrorKind::Transport);
        assert!(Error::reading_body(io(std::io::ErrorKind::TimedOut)).is_timeout());
    }

    #[test]
    fn the_retry_classifies_by_kind_through_user_layers() {
        let connect = Error::connect(io(std::io::ErrorKind::ConnectionRefused));
        assert_eq!(classify(&connect), Failure::Connect);
        assert_eq!(classify(&Error::timeout()), Failure::Timeout);
        assert_eq!(
            classify(&Layered(Error::timeout().into())),
            Failure::Timeout
        );
        assert_eq!(
            classify(&Layered(
                Error::connect(io(std::io::ErrorKind::ConnectionRefused)).into()
            )),
            Failure::Connect
        );
        let reset = Error::transport(io(std::io::ErrorKind::ConnectionReset));
        assert_eq!(classify(&reset), Failure::Other);
        assert_eq!(classify(&Error::too_large(1)), Failure::Other);
    }
}
