//! The send-stall watchdog: an event stream whose client has not taken the last frame
//! handed to it for `send_stall_timeout` is ended. Its body (and so the upstream call, its
//! in-flight permit and its buffers) is dropped at once, the hook counts it, and an
//! HTTP/1.1 connection, which cannot carry anything else until the client reads, is told to
//! close. A client that waits for the upstream is never stalled: only time after a frame was
//! handed over and before the next poll counts.

use std::fmt;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::{Body, Frame, SizeHint};
use tokio::sync::Notify;
use tokio::time::Instant;

use super::connections::Connection;

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Called once for every stream the watchdog ends (the proxy counts them in `/metrics`).
///
/// ```
/// use std::sync::Arc;
/// use std::sync::atomic::{AtomicU64, Ordering};
/// use llm_tower::proxy::server::{ServerOptions, StallHook};
///
/// let stalls = Arc::new(AtomicU64::new(0));
/// let counted = Arc::clone(&stalls);
/// let mut options = ServerOptions::default();
/// options.on_send_stall = StallHook::new(move || {
///     counted.fetch_add(1, Ordering::Relaxed);
/// });
/// ```
#[derive(Clone, Default)]
pub struct StallHook(Option<Arc<dyn Fn() + Send + Sync>>);

impl StallHook {
    /// A hook that calls `hook` for every stalled stream.
    pub fn new(hook: impl Fn() + Send + Sync + 'static) -> Self {
        Self(Some(Arc::new(hook)))
    }

    fn call(&self) {
        if let Some(hook) = &self.0 {
            hook();
        }
    }
}

impl fmt::Debug for StallHook {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(if self.0.is_some() {
            "StallHook(set)"
        } else {
            "StallHook(none)"
        })
    }
}

/// Why a stream was ended by the watchdog (what a poll after the end sees).
#[derive(Debug, thiserror::Error)]
#[error("the client took no data for the send-stall timeout; the stream was ended")]
pub(crate) struct SendStalled;

/// What the watched body and its watchdog share.
struct Shared<B, K> {
    body: Mutex<Slot<B, K>>,
    epoch: Instant,
    /// Milliseconds from `epoch` (plus one) when a frame was last handed over; 0 while the
    /// body is being polled.
    handed_at: AtomicU64,
}

/// The body, and what is dropped with it.
enum Slot<B, K> {
    Open(Pin<Box<B>>, K),
    Stalled,
    Done,
}

/// A body under the watchdog; see the module docs.
pub(crate) struct Watched<B, K> {
    shared: Arc<Shared<B, K>>,
    /// Wakes the watchdog to leave when the body is dropped.
    ended: Arc<Notify>,
}

/// Wraps `body` and spawns its watchdog; `keep` is dropped with the body. `connection` is
/// told to close on a stall when the stream is its only traffic (HTTP/1.1).
pub(crate) fn watch<B, K>(
    body: B,
    keep: K,
    timeout: Duration,
    hook: StallHook,
    connection: Option<Arc<Connection>>,
) -> Watched<B, K>
where
    B: Send + 'static,
    K: Send + 'static,
{
    let shared = Arc::new(Shared {
        body: Mutex::new(Slot::Open(Box::pin(body), keep)),
        epoch: Instant::now(),
        handed_at: AtomicU64::new(0),
    });
    let ended = Arc::new(Notify::new());
    // The watchdog holds the body weakly: dropping the body frees it at once.
    let watched = Arc::downgrade(&shared);
    let left = Arc::clone(&ended);
    tokio::spawn(async move {
        let mut check = Instant::now() + timeout;
        loop {
            tokio::select! {
                () = left.notified() => return,
                () = tokio::time::sleep_until(check) => {}
            }
            let Some(shared) = watched.upgrade() else {
                return;
            };
            let handed_at = shared.handed_at.load(Ordering::Acquire);
            if handed_at == 0 {
                check = Instant::now() + timeout;
                continue;
            }
            let stalled_at = shared.epoch + Duration::from_millis(handed_at - 1) + timeout;
            if Instant::now() < stalled_at {
                check = stalled_at;
                continue;
            }
            let body = {
                let mut slot = shared.body.lock().unwrap_or_else(PoisonError::into_inner);
                std::mem::replace(&mut *slot, Slot::Stalled)
            };
            if let Slot::Open(body, keep) = body {
                drop((body, keep));
                hook.call();
                tracing::info!(
                    timeout_ms = u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX),
                    "a client took no data from its stream; the stream was ended"
                );
                if let Some(connection) = &connection {
                    connection.close();
                }
            }
            return;
        }
    });
    Watched { shared, ended }
}

impl<B, K> Drop for Watched<B, K> {
    fn drop(&mut self) {
        self.ended.notify_one();
    }
}

impl<B, K> Body for Watched<B, K>
where
    B: Body<Data = Bytes>,
    B::Error: Into<BoxError>,
{
    type Data = Bytes;
    type Error = BoxError;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, BoxError>>> {
        let shared = &self.shared;
        shared.handed_at.store(0, Ordering::Release);
        let mut slot = shared.body.lock().unwrap_or_else(PoisonError::into_inner);
        let body = match &mut *slot {
            Slot::Open(body, _) => body,
            Slot::Stalled => {
                *slot = Slot::Done;
                return Poll::Ready(Some(Err(Box::new(SendStalled))));
            }
            Slot::Done => return Poll::Ready(None),
        };
        let polled = body.as_mut().poll_frame(cx);
        match &polled {
            Poll::Ready(Some(Ok(_))) => {
                let now = u64::try_from(shared.epoch.elapsed().as_millis()).unwrap_or(u64::MAX);
                shared
                    .handed_at
                    .store(now.saturating_add(1), Ordering::Release);
            }
            Poll::Ready(None | Some(Err(_))) => *slot = Slot::Done,
            Poll::Pending => {}
        }
        polled.map(|frame| frame.map(|result| result.map_err(Into::into)))
    }

    fn is_end_stream(&self) -> bool {
        let slot = self
            .shared
            .body
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Slot::Open(body, _) => body.is_end_stream(),
            Slot::Stalled => false,
            Slot::Done => true,
        }
    }

    fn size_hint(&self) -> SizeHint {
        let slot = self
            .shared
            .body
            .lock()
            .unwrap_or_else(PoisonError::into_inner);
        match &*slot {
            Slot::Open(body, _) => body.size_hint(),
            Slot::Stalled | Slot::Done => SizeHint::default(),
        }
    }
}
