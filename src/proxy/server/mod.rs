//! Serving the proxy over TCP with hyper 1: HTTP/1.1 and HTTP/2 (auto-detected), TCP
//! no-delay, bounded resources, and graceful shutdown.
//!
//! Every connection is bounded in time and number ([`ServerOptions`]): the first request
//! head must arrive within `header_read_timeout` of the connection's acceptance, or of the
//! moment it got a connection slot if it waited for one (the protocol sniff and an HTTP/2
//! preface included), later HTTP/1.1 heads within as long of the last response, and a
//! connection without a request in flight closes after `idle_timeout` (HTTP/2 also
//! answers keep-alive PINGs or closes). Request bodies may pause no longer than
//! `body_read_timeout` between chunks (tower-http's `TimeoutBody`). At `max_connections`
//! the connection idle longest is closed to make room (with none idle, new clients wait in
//! the kernel's backlog), and one peer address holds at most `max_connections_per_peer`.
//! An event stream whose client takes no data for `send_stall_timeout` is ended, releasing
//! its upstream call.
//!
//! On the shutdown signal the listener closes and open connections finish their requests
//! for up to `grace_period`. Streams still open then end with an OpenAI error event (other
//! unfinished replies are aborted), and the connections close.
//!
//! | file | what |
//! |---|---|
//! | `mod.rs` | [`serve`] and [`ServerOptions`] |
//! | `connections.rs` | the open connections: per-peer counts, idle ones, their timers |
//! | `body.rs` | the response body as sent: drained, guarded, watched |
//! | `stall.rs` | the send-stall watchdog and [`StallHook`] |
//! | `drain.rs` | the bodies that end when the grace period is over |
//! | `signal.rs` | [`shutdown_signal`], and the second signal that exits at once |

mod body;
mod connections;
mod drain;
mod signal;
mod stall;

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use futures_util::TryFutureExt as _;
use http::header::CONTENT_TYPE;
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use hyper_util::service::TowerToHyperService;
use tokio::net::TcpListener;
use tokio::sync::{Semaphore, watch};
use tokio::time::Instant;
use tower::ServiceExt;
use tower_http::timeout::TimeoutBody;

use self::body::ServedBody;
use self::connections::{Connection, Connections, Verdict};
use self::drain::Drain;
pub use self::signal::shutdown_signal;
pub use self::stall::StallHook;

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
/// assert_eq!(options.send_stall_timeout, Duration::from_secs(60));
/// ```
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct ServerOptions {
    /// Time a client has to send a request head, counted for the first request (HTTP/1.1
    /// or HTTP/2, before the protocol is even known) from the connection's acceptance, or
    /// from the moment it got a connection slot if it had to wait for one at
    /// `max_connections`, and from the end of the last response for the next HTTP/1.1
    /// keep-alive request; a connection without one is closed. Default 15 s.
    pub header_read_timeout: Duration,
    /// How long a connection that has served a request may stay without a request in
    /// flight (HTTP/2: then a GOAWAY). Default 60 s.
    pub idle_timeout: Duration,
    /// Longest pause between chunks of a request body; past it the request fails with
    /// 408. Default 30 s.
    pub body_read_timeout: Duration,
    /// Most client connections open at once. At the limit, the connection idle longest is
    /// closed to make room; with none idle, new clients wait in the kernel's backlog.
    /// Default: half the process's file-descriptor limit less a reserve (each proxied
    /// request may need an upstream socket too), at least 64.
    pub max_connections: usize,
    /// Most connections one peer address may hold. At the limit, that peer's connection
    /// idle longest is closed to make room; with none idle, the new one is closed at once.
    /// Default: half of `max_connections` (behind a load balancer that is the only peer,
    /// set it to `max_connections`).
    pub max_connections_per_peer: usize,
    /// How long an event stream may wait for its client to take the data handed to it;
    /// then the stream ends (its upstream call and in-flight place are released) and an
    /// HTTP/1.1 connection is closed. Default 60 s.
    pub send_stall_timeout: Duration,
    /// Called for every stream the send-stall watchdog ends.
    pub on_send_stall: StallHook,
    /// HTTP/2 streams open at once on one connection. Default 100.
    pub max_streams_per_connection: u32,
    /// HTTP/2 keep-alive: a PING after this long without a frame from the client, and the
    /// connection closes if no answer comes within as long again. Default 20 s.
    pub http2_keep_alive_interval: Duration,
    /// How long open requests may take to finish after the shutdown signal. Default 30 s.
    pub grace_period: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        let max_connections = default_max_connections();
        Self {
            header_read_timeout: Duration::from_secs(15),
            idle_timeout: Duration::from_secs(60),
            body_read_timeout: Duration::from_secs(30),
            max_connections,
            max_connections_per_peer: (max_connections / 2).max(1),
            send_stall_timeout: Duration::from_secs(60),
            on_send_stall: StallHook::default(),
            max_streams_per_connection: 100,
            http2_keep_alive_interval: Duration::from_secs(20),
            grace_period: Duration::from_secs(30),
        }
    }
}

impl ServerOptions {
    /// Options for a side listener such as `--metrics-port`: 16 connections, 4 per peer,
    /// 5 s for a request head; the rest as [`ServerOptions::default`].
    ///
    /// ```
    /// use llm_tower::proxy::server::ServerOptions;
    ///
    /// assert_eq!(ServerOptions::side_listener().max_connections, 16);
    /// ```
    pub fn side_listener() -> Self {
        Self {
            header_read_timeout: Duration::from_secs(5),
            max_connections: 16,
            max_connections_per_peer: 4,
            ..Self::default()
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
    builder
        .http2()
        .timer(TokioTimer::new())
        .max_concurrent_streams(options.max_streams_per_connection)
        .initial_stream_window_size(HTTP2_WINDOW)
        .initial_connection_window_size(HTTP2_WINDOW * 4)
        .max_send_buf_size(HTTP2_SEND_BUFFER)
        .keep_alive_interval(options.http2_keep_alive_interval)
        .keep_alive_timeout(options.http2_keep_alive_interval);
    let (closing, _) = watch::channel(false);
    let drain = Drain::default();
    let max_connections = options.max_connections.max(1);
    let slots = Arc::new(Semaphore::new(max_connections));
    let connections = Arc::new(Connections::new(options.max_connections_per_peer));
    let options = Arc::new(options);
    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // Out of file descriptors and the like: make room, back off, keep serving.
                    tracing::warn!(%error, "accept failed");
                    connections.close_longest_idle(None);
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            },
            () = &mut shutdown => break,
        };
        let Ok(registration) = connections.open(peer.ip()) else {
            tracing::debug!(%peer, "connection refused: the peer holds its limit of busy connections");
            continue;
        };
        let slot = tokio::select! {
            slot = free_slot(&slots, &connections, registration.connection()) => slot,
            () = &mut shutdown => break,
        };
        // The wait for a slot does not count against the time to send a request head.
        registration.connection().admit();
        let _ = stream.set_nodelay(true);
        let connection = Arc::clone(registration.connection());
        let service = service.clone();
        let drain_bodies = drain.clone();
        let settings = Arc::clone(&options);
        let service = tower::service_fn(move |request: http::Request<Incoming>| {
            let guard = connection.request();
            // An HTTP/1.1 connection stalled on one stream is closed with it.
            let stalled_closes =
                (request.version() < http::Version::HTTP_2).then(|| Arc::clone(guard.connection()));
            let request = request.map(|body| RequestBody {
                body: TimeoutBody::new(settings.body_read_timeout, body),
            });
            let drain = drain_bodies.clone();
            let settings = Arc::clone(&settings);
            service.clone().oneshot(request).map_ok(move |response| {
                let event_stream = response
                    .headers()
                    .get(CONTENT_TYPE)
                    .is_some_and(|value| value.as_bytes().starts_with(b"text/event-stream"));
                response.map(|body| {
                    let body = drain.wrap(body, event_stream);
                    if event_stream {
                        ServedBody::Stream {
                            body: stall::watch(
                                body,
                                guard,
                                settings.send_stall_timeout,
                                settings.on_send_stall.clone(),
                                stalled_closes,
                            ),
                        }
                    } else {
                        ServedBody::Plain { body, guard }
                    }
                })
            })
        });
        let connection = builder
            .serve_connection(TokioIo::new(stream), TowerToHyperService::new(service))
            .into_owned();
        let mut shutting = closing.subscribe();
        let settings = Arc::clone(&options);
        tokio::spawn(async move {
            let state = Arc::clone(registration.connection());
            let mut connection = std::pin::pin!(connection);
            // Set once the connection was asked to close (idle, evicted, stalled): it then
            // has CLOSE_BOUND to finish before it is dropped.
            let mut cut_at: Option<Instant> = None;
            let mut shutting_down = false;
            loop {
                let wake = match cut_at {
                    Some(at) => at,
                    None => {
                        match state.check(settings.header_read_timeout, settings.idle_timeout) {
                            Verdict::Silent => break,
                            Verdict::Idle => {
                                connection.as_mut().graceful_shutdown();
                                let at = Instant::now() + CLOSE_BOUND;
                                cut_at = Some(at);
                                at
                            }
                            Verdict::CheckAt(at) => at,
                        }
                    }
                };
                tokio::select! {
                    result = connection.as_mut() => {
                        if let Err(error) = result {
                            tracing::debug!(%error, "connection ended with an error");
                        }
                        break;
                    }
                    () = state.closed(), if cut_at.is_none() => {
                        if !state.requested() {
                            // Nothing was ever asked on it: nothing to finish.
                            break;
                        }
                        connection.as_mut().graceful_shutdown();
                        cut_at = Some(Instant::now() + CLOSE_BOUND);
                    }
                    () = state.went_idle(), if cut_at.is_none() => {}
                    _ = shutting.changed(), if !shutting_down => {
                        shutting_down = true;
                        connection.as_mut().graceful_shutdown();
                    }
                    () = tokio::time::sleep_until(wake) => {
                        if cut_at.is_some() {
                            break;
                        }
                    }
                }
            }
            drop(slot);
            drop(registration);
        });
    }
    drop(listener);
    tracing::info!("shutting down: waiting for open requests");
    closing.send_replace(true);
    let permits = u32::try_from(max_connections).unwrap_or(u32::MAX);
    let mut closed = std::pin::pin!(slots.acquire_many(permits));
    tokio::select! {
        _ = &mut closed => {
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

/// HTTP/2 flow-control window a client may fill on one stream before the proxy reads it.
const HTTP2_WINDOW: u32 = 1 << 20;

/// Bytes of response the proxy buffers for one HTTP/2 stream the client's window does not
/// yet admit; past it the body is not polled.
const HTTP2_SEND_BUFFER: usize = 64 * 1024;

/// How long a connection asked to close (idle, evicted, or stalled) may take to finish
/// before it is dropped.
const CLOSE_BOUND: Duration = Duration::from_secs(5);

/// A connection slot for `waiting`: at once if one is free; else the connection idle
/// longest is told to close and its slot taken when it does. With none idle, this waits for
/// a slot, looking again for an idle connection every 100 ms.
async fn free_slot(
    slots: &Arc<Semaphore>,
    connections: &Connections,
    waiting: &Connection,
) -> tokio::sync::OwnedSemaphorePermit {
    loop {
        if let Ok(slot) = Arc::clone(slots).try_acquire_owned() {
            return slot;
        }
        connections.close_longest_idle(Some(waiting));
        let wait = Arc::clone(slots).acquire_owned();
        if let Ok(Ok(slot)) = tokio::time::timeout(Duration::from_millis(100), wait).await {
            return slot;
        }
    }
}
