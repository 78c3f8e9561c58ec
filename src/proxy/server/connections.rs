//! The server's table of open connections: how many each peer address holds, which are
//! idle (no request in flight) and since when, and the signal that tells one to close. It
//! is what lets [`serve`](super::serve) close the longest-idle connection when it is full
//! instead of leaving new clients in the kernel's backlog, refuse a peer past its own
//! limit, and close connections that never send a request or stay idle too long.

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use tokio::sync::Notify;
use tokio::time::Instant;

/// Every open connection, by id, and the count per peer address.
pub(crate) struct Connections {
    epoch: Instant,
    max_per_peer: usize,
    table: Mutex<Table>,
}

#[derive(Default)]
struct Table {
    next_id: u64,
    open: HashMap<u64, Arc<Connection>>,
    per_peer: HashMap<IpAddr, usize>,
}

/// What the server knows about one connection.
pub(crate) struct Connection {
    id: u64,
    peer: IpAddr,
    epoch: Instant,
    /// Milliseconds from `epoch` to the moment it was taken up: its acceptance, or, when it
    /// had to wait for a connection slot, the moment it got one. Its first request head is
    /// due within the header timeout of this.
    admitted: AtomicU64,
    /// Requests whose head was read and whose response body is not finished.
    active: AtomicUsize,
    /// Whether a request head was ever read.
    requested: AtomicBool,
    /// Milliseconds from `epoch` to the moment `active` last fell to zero.
    idle_since: AtomicU64,
    /// Set once the connection was told to close.
    closing: AtomicBool,
    close: Notify,
    /// Told when `active` falls to zero, so the idle timer starts.
    idle: Notify,
}

/// What a connection's timers decide when they fire.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// No request head arrived in time: drop the connection.
    Silent,
    /// No request in flight for the idle timeout: close it gracefully.
    Idle,
    /// Nothing to do before this moment.
    CheckAt(Instant),
}

/// Why a new connection was not taken.
#[derive(Debug, PartialEq, Eq)]
pub(crate) struct PeerFull;

impl Connections {
    /// A table that lets one peer address hold at most `max_per_peer` connections.
    pub(crate) fn new(max_per_peer: usize) -> Self {
        Self {
            epoch: Instant::now(),
            max_per_peer: max_per_peer.max(1),
            table: Mutex::new(Table::default()),
        }
    }

    fn table(&self) -> std::sync::MutexGuard<'_, Table> {
        self.table.lock().unwrap_or_else(PoisonError::into_inner)
    }

    fn now(&self) -> u64 {
        millis(self.epoch.elapsed())
    }

    /// Registers a connection from `peer`. At the peer's limit, the peer's longest-idle
    /// connection is told to close to make room; with none idle, the new one is refused.
    pub(crate) fn open(self: &Arc<Self>, peer: IpAddr) -> Result<Registration, PeerFull> {
        let now = self.now();
        let mut table = self.table();
        let held = table.per_peer.get(&peer).copied().unwrap_or(0);
        if held >= self.max_per_peer {
            let oldest = longest_idle(table.open.values().filter(|open| open.peer == peer));
            match oldest {
                Some(connection) => connection.close(),
                None => return Err(PeerFull),
            }
        }
        let id = table.next_id;
        table.next_id += 1;
        let connection = Arc::new(Connection {
            id,
            peer,
            epoch: self.epoch,
            admitted: AtomicU64::new(now),
            active: AtomicUsize::new(0),
            requested: AtomicBool::new(false),
            idle_since: AtomicU64::new(now),
            closing: AtomicBool::new(false),
            close: Notify::new(),
            idle: Notify::new(),
        });
        table.open.insert(id, Arc::clone(&connection));
        *table.per_peer.entry(peer).or_insert(0) += 1;
        Ok(Registration {
            connections: Arc::clone(self),
            connection,
        })
    }

    /// Tells the longest-idle connection (no request in flight) other than `except` (the
    /// one waiting to be served) to close; false if none is.
    pub(crate) fn close_longest_idle(&self, except: Option<&Connection>) -> bool {
        let table = self.table();
        let others = table
            .open
            .values()
            .filter(|open| except.is_none_or(|except| except.id != open.id));
        match longest_idle(others) {
            Some(connection) => {
                connection.close();
                true
            }
            None => false,
        }
    }
}

/// The idle connection that has been idle longest, not already closing.
fn longest_idle<'a>(
    connections: impl Iterator<Item = &'a Arc<Connection>>,
) -> Option<&'a Arc<Connection>> {
    connections
        .filter(|connection| {
            connection.active.load(Ordering::Acquire) == 0
                && !connection.closing.load(Ordering::Acquire)
        })
        .min_by_key(|connection| connection.idle_since.load(Ordering::Acquire))
}

fn millis(duration: Duration) -> u64 {
    u64::try_from(duration.as_millis()).unwrap_or(u64::MAX)
}

impl Connection {
    /// Asks the connection to close (its task closes it gracefully, within a bound).
    pub(crate) fn close(&self) {
        if !self.closing.swap(true, Ordering::AcqRel) {
            self.close.notify_one();
        }
    }

    /// Resolves once [`Connection::close`] was called.
    pub(crate) async fn closed(&self) {
        self.close.notified().await;
    }

    /// Resolves when the last request in flight has finished (its timers then change).
    pub(crate) async fn went_idle(&self) {
        self.idle.notified().await;
    }

    /// Marks the connection taken up now: it got its connection slot, so its first request
    /// head is due from now, and it counts as idle since now (a connection that waited for
    /// its slot is not the first one closed to make room for the next).
    pub(crate) fn admit(&self) {
        let now = millis(self.epoch.elapsed());
        self.admitted.store(now, Ordering::Release);
        self.idle_since.store(now, Ordering::Release);
    }

    /// Whether a request head was ever read on it.
    pub(crate) fn requested(&self) -> bool {
        self.requested.load(Ordering::Acquire)
    }

    /// Marks a request head read; the request counts as in flight until the guard drops
    /// (with its response body).
    pub(crate) fn request(self: &Arc<Self>) -> ActiveGuard {
        self.active.fetch_add(1, Ordering::AcqRel);
        self.requested.store(true, Ordering::Release);
        ActiveGuard(Arc::clone(self))
    }

    /// What the timers say now: a connection must read a request head within
    /// `first_request` of being taken up, and is closed after `idle` without a request in
    /// flight.
    pub(crate) fn check(&self, first_request: Duration, idle: Duration) -> Verdict {
        let now = millis(self.epoch.elapsed());
        let at = |millis: u64| self.epoch + Duration::from_millis(millis);
        if !self.requested.load(Ordering::Acquire) {
            let deadline = self
                .admitted
                .load(Ordering::Acquire)
                .saturating_add(millis(first_request));
            return if now >= deadline {
                Verdict::Silent
            } else {
                Verdict::CheckAt(at(deadline))
            };
        }
        if self.active.load(Ordering::Acquire) > 0 {
            return Verdict::CheckAt(at(now.saturating_add(millis(idle))));
        }
        let deadline = self
            .idle_since
            .load(Ordering::Acquire)
            .saturating_add(millis(idle));
        if now >= deadline {
            Verdict::Idle
        } else {
            Verdict::CheckAt(at(deadline))
        }
    }
}

/// A request in flight on a connection; dropped with the response body.
pub(crate) struct ActiveGuard(Arc<Connection>);

impl ActiveGuard {
    /// The connection the request came on.
    pub(crate) fn connection(&self) -> &Arc<Connection> {
        &self.0
    }
}

impl Drop for ActiveGuard {
    fn drop(&mut self) {
        let connection = &self.0;
        if connection.active.fetch_sub(1, Ordering::AcqRel) == 1 {
            connection
                .idle_since
                .store(millis(connection.epoch.elapsed()), Ordering::Release);
            connection.idle.notify_one();
        }
    }
}

/// A connection's place in the table; dropping it (when the connection ends) removes it.
pub(crate) struct Registration {
    connections: Arc<Connections>,
    connection: Arc<Connection>,
}

impl Registration {
    /// The registered connection.
    pub(crate) fn connection(&self) -> &Arc<Connection> {
        &self.connection
    }
}

impl Drop for Registration {
    fn drop(&mut self) {
        let mut table = self.connections.table();
        table.open.remove(&self.connection.id);
        let peer = self.connection.peer;
        if let Some(held) = table.per_peer.get_mut(&peer) {
            *held -= 1;
            if *held == 0 {
                table.per_peer.remove(&peer);
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::net::Ipv4Addr;

    use super::*;

    const A: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1));
    const B: IpAddr = IpAddr::V4(Ipv4Addr::new(10, 0, 0, 2));

    #[tokio::test(start_paused = true)]
    async fn a_peer_at_its_limit_recycles_its_idle_connection_or_is_refused() {
        let connections = Arc::new(Connections::new(2));
        let first = connections.open(A).unwrap();
        tokio::time::advance(Duration::from_millis(5)).await;
        let second = connections.open(A).unwrap();
        let busy = second.connection().request();
        // At the limit: the idle first connection is told to close, the third is taken.
        let third = connections.open(A).unwrap();
        assert!(first.connection().closing.load(Ordering::Acquire));
        assert!(!second.connection().closing.load(Ordering::Acquire));
        let _also_busy = third.connection().request();
        // Nothing of A's is idle (the first is already closing): refused.
        assert_eq!(connections.open(A).err(), Some(PeerFull));
        // Another peer is not affected.
        let _other = connections.open(B).unwrap();
        drop((first, busy));
        let _fourth = connections.open(A).unwrap();
        drop(second);
    }

    #[tokio::test(start_paused = true)]
    async fn the_longest_idle_connection_is_the_one_closed() {
        let connections = Arc::new(Connections::new(100));
        let early = connections.open(A).unwrap();
        let guard = early.connection().request();
        tokio::time::advance(Duration::from_millis(10)).await;
        let late = connections.open(B).unwrap();
        tokio::time::advance(Duration::from_millis(10)).await;
        // `early` became idle after `late` did (at its acceptance).
        drop(guard);
        assert!(connections.close_longest_idle(None));
        assert!(late.connection().closing.load(Ordering::Acquire));
        assert!(!early.connection().closing.load(Ordering::Acquire));
        assert!(connections.close_longest_idle(None));
        assert!(!connections.close_longest_idle(None), "both are closing");
    }

    #[tokio::test(start_paused = true)]
    async fn timers_close_silent_and_idle_connections() {
        let connections = Arc::new(Connections::new(100));
        let first_request = Duration::from_secs(15);
        let idle = Duration::from_secs(60);
        let silent = connections.open(A).unwrap();
        let silent = silent.connection();
        assert!(matches!(
            silent.check(first_request, idle),
            Verdict::CheckAt(_)
        ));
        tokio::time::advance(first_request).await;
        assert_eq!(silent.check(first_request, idle), Verdict::Silent);

        let used = connections.open(B).unwrap();
        let used = used.connection();
        let guard = used.request();
        tokio::time::advance(idle * 2).await;
        assert!(matches!(
            used.check(first_request, idle),
            Verdict::CheckAt(_)
        ));
        drop(guard);
        assert!(matches!(
            used.check(first_request, idle),
            Verdict::CheckAt(_)
        ));
        tokio::time::advance(idle).await;
        assert_eq!(used.check(first_request, idle), Verdict::Idle);
    }
}
