//! Serving the proxy over TCP with hyper 1: HTTP/1.1 and HTTP/2 (auto-detected), TCP
//! no-delay, bounded resources, and graceful shutdown.
//!
//! Every connection is bounded in time and number ([`ServerOptions`]): request heads must
//! arrive within `header_read_timeout` (which also closes an idle HTTP/1.1 keep-alive
//! connection, so slow or silent clients cannot hold sockets), request bodies may pause no
//! longer than `body_read_timeout` between chunks (tower-http's `TimeoutBody`), and no more
//! than `max_connections` are open at once: past it the listener waits, and new clients
//! queue in the kernel's backlog instead of taking file descriptors the open ones need.
//!
//! On the shutdown signal the listener closes and open connections finish their requests
//! for up to `grace_period`. Streams still open then end with an OpenAI error event (other
//! unfinished replies are aborted), and the connections close.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`serve`] and [`ServerOptions`] |
//! | `drain.rs` | the bodies that end when the grace period is over |
//! | `signal.rs` | [`shutdown_signal`], and the second signal that exits at once |

mod drain;
mod signal;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryFutureExt as _;
use http::header::CONTENT_TYPE;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::server::graceful::GracefulShutdown;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::Semaphore;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use self::drain::Drain;
pub use self::signal::shutdown_signal;

pin_project_lite::pin_project! {
    /// The request body the proxy's service sees: the connection's body, bounded by
    /// [`ServerOptions::body_read_timeout`] between chunks (tower-http's `TimeoutBody`). A
    /// pause past it is an [`std::io::ErrorKind::TimedOut`] error, which the edge answers
    /// with 408.
    pub struct RequestBody {
        #[pin]
        body: TimeoutBody<Incoming>,
    }
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

impl http_body::Body for RequestBody {
    type Data = bytes::Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<Option<Result<http_body::Frame<bytes::Bytes>, BoxError>>> {
        self.project().body.poll_frame(cx).map_err(|error| {
            if error.is::<tower_http::timeout::TimeoutError>() {
                Box::new(std::io::Error::new(std::io::ErrorKind::TimedOut, error)) as BoxError
            } else {
                error
            }
        })
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.body.size_hint()
    }
}

/// Bounds on the connections [`serve`] accepts. The defaults suit a gateway in front of
/// slow model replies; every field can be changed.
///
/// ```
/// use std::time::Duration;
/// use llm_tower::proxy::server::ServerOptions;
///
/// let mut options = ServerOptions::default();
/// options.max_connections = 2_000;
/// options.grace_period = Duration::from_secs(60);
/// assert_eq!(options.header_read_timeout, Duration::from_secs(15));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Time a client has to send a request head; also how long an idle HTTP/1.1
    /// keep-alive connection is kept. Default 15 s.
    pub header_read_timeout: Duration,
    /// Longest pause between chunks of a request body; past it the request fails with
    /// 408. Default 30 s.
    pub body_read_timeout: Duration,
    /// Most client connections open at once. Default: half the process's file-descriptor
    /// limit less a reserve (each proxied request may need an upstream socket too), at
    /// least 64.
    pub max_connections: usize,
    /// How long open requests may take to finish after the shutdown signal. Default 30 s.
    pub grace_period: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(15),
            body_read_timeout: Duration::from_secs(30),
            max_connections: default_max_connections(),
            grace_period: Duration::from_secs(30),
        }
    }
}

/// File descriptors kept for everything but client connections (listener, logs, DNS,
/// upstream pools).
const FD_RESERVE: usize = 64;

/// Half of what the file-descriptor limit leaves after [`FD_RESERVE`].
fn default_max_connections() -> usize {
    let limit = open_files_limit().unwrap_or(1024);
    (limit.saturating_sub(FD_RESERVE) / 2).max(64)
}

/// The soft `RLIMIT_NOFILE` of this process, read from `/proc/self/limits` (Linux).
fn open_files_limit() -> Option<usize> {
    let limits = std::fs::read_to_string("/proc/self/limits").ok()?;
    let line = limits
        .lines()
        .find(|line| line.starts_with("Max open files"))?;
    let soft = line
        .strip_prefix("Max open files")?
        .split_whitespace()
        .next()?;
    match soft {
        "unlimited" => Some(usize::MAX / 2),
        number => number.parse().ok(),
    }
}

/// Serves `service` on `listener` until `shutdown` resolves, then drains connections.
///
/// ```no_run
/// use llm_tower::proxy::{app::Proxy, config::Config};
/// use llm_tower::proxy::server::{ServerOptions, serve};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let proxy = Proxy::from_config(&Config::default_gemini())?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:4000").await?;
/// let shutdown = async { let _ = tokio::signal::ctrl_c().await; };
/// serve(listener, proxy, shutdown, ServerOptions::default()).await;
/// # Ok(()) }
/// ```
pub async fn serve<S, B>(
    listener: TcpListener,
    service: S,
    shutdown: impl Future<Output = ()>,
    options: ServerOptions,
) where
    S: tower_service::Service<
            http::Request<RequestBody>,
            Response = http::Response<B>,
            Error = Infallible,
        > + Clone
        + Send
        + 'static,
    S::Future: Send + 'static,
    B: http_body::Body<Data = bytes::Bytes> + Send + 'static,
    B::Error: Into<Box<dyn std::error::Error + Send + Sync>>,
{
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http1()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout);
    builder.http2().timer(TokioTimer::new());
    let graceful = GracefulShutdown::new();
    let drain = Drain::default();
    let slots = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let body_timeout = options.body_read_timeout;
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        // At the connection limit, stop accepting until a connection closes.
        let slot = tokio::select! {
            slot = Arc::clone(&slots).acquire_owned() => match slot {
                Ok(slot) => slot,
                Err(_) => break,
            },
            () = &mut shutdown => break,
        };
        let stream = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok((stream, _)) => stream,
                Err(error) => {
                    // Out of file descriptors and the like: back off, keep serving.
                    tracing::warn!(%error, "accept failed");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let _ = stream.set_nodelay(true);
        let service = service.clone();
        let drain_bodies = drain.clone();
        let service = tower::service_fn(move |request: http::Request<Incoming>| {
            let request = request.map(|body| RequestBody {
                body: TimeoutBody::new(body_timeout, body),
            });
            let drain = drain_bodies.clone();
            service.clone().oneshot(request).map_ok(move |response| {
                let event_stream = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
                response.map(|body| drain.wrap(body, event_stream))
            })
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let connection = graceful.watch(connection);
        tokio::spawn(async move {
            if let Err(error) = connection.await {
                tracing::debug!(%error, "connection ended with an error");
            }
            drop(slot);
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for open requests");
    let mut closed = std::pin::pin!(graceful.shutdown());
    tokio::select! {
        () = &mut closed => {
            tracing::info!("all connections closed");
            return;
        }
        () = tokio::time::sleep(options.grace_period) => {}
    }
    tracing::warn!("grace period over; ending open streams");
    drain.end_bodies();
    // Ended streams flush their last event; give them a moment to reach the clients.
    let _ = tokio::time::timeout(Duration::from_secs(1), closed).await;
}
