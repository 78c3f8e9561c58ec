//! [`Connection`]: one Redis, shared by the stores kept in it: where it is (`redis://`,
//! `rediss://` over TLS, or a Unix socket), the connection (opened on first use, reopened
//! after a failure, a command that found it dropped sent once more), the key prefix and
//! the timeouts. What Redis sends back is bounded ([`BoundedReplies`]) before the client
//! library buffers it.

use std::path::PathBuf;
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use redis::aio::MultiplexedConnection;
use redis::{AsyncConnectionConfig, ConnectionAddr, RedisConnectionInfo};
use tokio::io::{AsyncRead, AsyncWrite};
use tokio::sync::Mutex;

use super::replies::BoundedReplies;
use crate::store::StoreError;

/// How long a command may wait for Redis's answer.
const RESPONSE_TIMEOUT: Duration = Duration::from_millis(500);

/// How long opening a connection (TCP, TLS, authentication) may take.
const CONNECTION_TIMEOUT: Duration = Duration::from_millis(500);

/// How long after a failed connect commands fail at once instead of connecting again.
const RECONNECT_PAUSE: Duration = Duration::from_secs(1);

/// The key prefix unless one is set.
const DEFAULT_PREFIX: &str = "llm-tower:";

/// The largest value read from Redis: 8 MiB, twice the largest stored response.
pub(super) const MAX_VALUE_BYTES: u64 = 8 * 1024 * 1024;

/// The largest reply read from Redis, all it holds together: a value at the limit and
/// room for the framing and small values beside it.
const MAX_REPLY_BYTES: u64 = MAX_VALUE_BYTES + 1024 * 1024;

/// Where Redis is.
enum Address {
    Tcp { host: String, port: u16, tls: bool },
    Unix(PathBuf),
}

/// The byte stream under a connection: TCP, TLS over TCP, or a Unix socket.
trait Io: AsyncRead + AsyncWrite + Unpin + Send {}

impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// The state of the shared connection.
#[derive(Default)]
struct Current {
    /// The open connection, if any.
    open: Option<MultiplexedConnection>,
    /// The open connection's generation, or the last one's: it grows with each connect
    /// tried, so a failure reported for an old connection never closes a newer one.
    generation: u64,
    /// When the last connect failed, and how; until [`RECONNECT_PAUSE`] has passed,
    /// commands fail with that at once.
    failed: Option<(Instant, Arc<str>)>,
}

/// A Redis and the prefix of our keys in it; clones share one connection.
#[derive(Clone)]
pub(super) struct Connection {
    address: Arc<Address>,
    settings: Arc<RedisConnectionInfo>,
    /// The open connection, if any, and what replaced what.
    current: Arc<Mutex<Current>>,
    prefix: Arc<str>,
}

impl Connection {
    /// Redis at `url` (`redis://`, `rediss://`, `redis+unix://`); nothing is opened yet.
    pub(super) fn open(url: &str) -> Result<Self, StoreError> {
        // TLS is ours (rustls, as for every upstream), so the client library parses the
        // URL as plain `redis://`.
        let (url, tls) = match url.strip_prefix("rediss://") {
            Some(rest) => (format!("redis://{rest}"), true),
            None => (url.to_owned(), false),
        };
        let invalid = |error: redis::RedisError| {
            StoreError::new(format!("invalid Redis URL: {}", error.category()))
        };
        let client = redis::Client::open(url.as_str()).map_err(invalid)?;
        let info = client.get_connection_info();
        let address = match info.addr() {
            ConnectionAddr::Tcp(host, port) => Address::Tcp {
                host: host.clone(),
                port: *port,
                tls,
            },
            ConnectionAddr::Unix(path) => Address::Unix(path.clone()),
            _ => return Err(StoreError::new("invalid Redis URL: unsupported address")),
        };
        if tls && rustls::pki_types::ServerName::try_from(host_of(&address)).is_err() {
            return Err(StoreError::new(
                "invalid Redis URL: the host is not a TLS server name",
            ));
        }
        Ok(Self {
            address: Arc::new(address),
            settings: Arc::new(info.redis_settings().clone()),
            current: Arc::new(Mutex::new(Current::default())),
            prefix: DEFAULT_PREFIX.into(),
        })
    }

    /// Keys start with `prefix` instead.
    pub(super) fn with_prefix(mut self, prefix: &str) -> Self {
        self.prefix = prefix.into();
        self
    }

    pub(super) fn prefix(&self) -> &str {
        &self.prefix
    }

    /// `{prefix}{kind}:{key}`.
    pub(super) fn key(&self, kind: &str, key: &str) -> String {
        format!("{}{kind}:{key}", self.prefix)
    }

    /// The open connection, opened if there is none or if it is generation `failed`.
    /// Within [`RECONNECT_PAUSE`] of a failed connect this fails at once, so while Redis
    /// is unreachable callers waiting here wait for one connect at most, not one each.
    async fn connection(
        &self,
        failed: Option<u64>,
    ) -> Result<(u64, MultiplexedConnection), StoreError> {
        let mut current = self.current.lock().await;
        if let Some(connection) = &current.open
            && Some(current.generation) != failed
        {
            return Ok((current.generation, connection.clone()));
        }
        if let Some((at, error)) = &current.failed
            && at.elapsed() < RECONNECT_PAUSE
        {
            return Err(StoreError::new(error.as_ref()));
        }
        current.open = None;
        current.generation += 1;
        let connected = tokio::time::timeout(CONNECTION_TIMEOUT, self.connect())
            .await
            .unwrap_or_else(|_| Err(StoreError::new("connecting to Redis timed out")));
        match connected {
            Ok(connection) => {
                current.open = Some(connection.clone());
                current.failed = None;
                Ok((current.generation, connection))
            }
            Err(error) => {
                current.failed = Some((Instant::now(), error.to_string().into()));
                Err(error)
            }
        }
    }

    /// Opens a new connection: TCP (and TLS) or Unix, replies bounded, authenticated.
    async fn connect(&self) -> Result<MultiplexedConnection, StoreError> {
        let io: Box<dyn Io> = match &*self.address {
            Address::Tcp { host, port, tls } => {
                let tcp = tokio::net::TcpStream::connect((host.as_str(), *port))
                    .await
                    .map_err(StoreError::new)?;
                let _ = tcp.set_nodelay(true);
                if *tls {
                    let name = rustls::pki_types::ServerName::try_from(host.clone())
                        .map_err(StoreError::new)?;
                    Box::new(
                        tls_connector()?
                            .connect(name, tcp)
                            .await
                            .map_err(StoreError::new)?,
                    )
                } else {
                    Box::new(tcp)
                }
            }
            Address::Unix(path) => {
                #[cfg(unix)]
                {
                    Box::new(
                        tokio::net::UnixStream::connect(path)
                            .await
                            .map_err(StoreError::new)?,
                    )
                }
                #[cfg(not(unix))]
                {
                    let _ = path;
                    return Err(StoreError::new("Unix sockets are not available here"));
                }
            }
        };
        let io = BoundedReplies::new(io, MAX_VALUE_BYTES, MAX_REPLY_BYTES);
        let config = AsyncConnectionConfig::new().set_response_timeout(Some(RESPONSE_TIMEOUT));
        let (connection, driver) =
            MultiplexedConnection::new_with_config(&self.settings, io, config)
                .await
                .map_err(StoreError::new)?;
        tokio::spawn(driver);
        Ok(connection)
    }

    /// The connection, for commands of a caller's own; nothing marks it failed when one
    /// of those fails (a later command of the stores' own does).
    pub(super) async fn multiplexed(&self) -> Result<MultiplexedConnection, StoreError> {
        Ok(self.connection(None).await?.1)
    }

    /// Closes generation `failed` if it is still the open one, so the next command opens a
    /// new connection.
    async fn discard(&self, failed: u64) {
        let mut current = self.current.lock().await;
        if current.generation == failed {
            current.open = None;
        }
    }

    /// Runs `send` (a command, a pipeline, a script) on the connection. When the
    /// connection was found dropped (a Redis restart, a connection cut while idle), a new
    /// one is opened and `send` run once more. One that timed out or a reply over the size
    /// limit is not run again (Redis may have carried it out, and a second `DEL` would
    /// answer that nothing was deleted): it fails, and the next command opens a new
    /// connection.
    pub(super) async fn run<T, F, Fut>(&self, send: F) -> Result<T, StoreError>
    where
        F: Fn(MultiplexedConnection) -> Fut,
        Fut: Future<Output = redis::RedisResult<T>>,
    {
        let (generation, connection) = self.connection(None).await?;
        match send(connection).await {
            Ok(value) => Ok(value),
            Err(error) if error.is_connection_dropped() => {
                let (_, connection) = self.connection(Some(generation)).await?;
                send(connection).await.map_err(StoreError::new)
            }
            Err(error) => {
                if error.is_io_error() {
                    self.discard(generation).await;
                }
                Err(StoreError::new(error))
            }
        }
    }

    /// Runs `command`, as [`run`](Self::run) does.
    pub(super) async fn query<T: redis::FromRedisValue>(
        &self,
        command: redis::Cmd,
    ) -> Result<T, StoreError> {
        let command = &command;
        self.run(|mut connection| async move { command.query_async(&mut connection).await })
            .await
    }

    /// Runs a script (`EVALSHA`, loading it first if Redis does not have it), as
    /// [`run`](Self::run) does.
    pub(super) async fn invoke<T: redis::FromRedisValue>(
        &self,
        invocation: redis::ScriptInvocation<'_>,
    ) -> Result<T, StoreError> {
        let invocation = &invocation;
        self.run(|mut connection| async move { invocation.invoke_async(&mut connection).await })
            .await
    }

    /// Whether `self` and `other` share one connection.
    #[cfg(test)]
    pub(super) fn shares_with(&self, other: &Self) -> bool {
        Arc::ptr_eq(&self.current, &other.current)
    }
}

/// The host of a TCP address (empty for a Unix socket).
fn host_of(address: &Address) -> String {
    match address {
        Address::Tcp { host, .. } => host.clone(),
        Address::Unix(_) => String::new(),
    }
}

/// One TLS client setup for every `rediss://` connection: rustls with ring and the
/// webpki roots, as the upstream transport uses.
fn tls_connector() -> Result<tokio_rustls::TlsConnector, StoreError> {
    static CONFIG: OnceLock<Result<Arc<rustls::ClientConfig>, String>> = OnceLock::new();
    let config = CONFIG.get_or_init(|| {
        let roots = rustls::RootCertStore {
            roots: webpki_roots::TLS_SERVER_ROOTS.to_vec(),
        };
        rustls::ClientConfig::builder_with_provider(Arc::new(
            rustls::crypto::ring::default_provider(),
        ))
        .with_safe_default_protocol_versions()
        .map(|builder| Arc::new(builder.with_root_certificates(roots).with_no_client_auth()))
        .map_err(|error| error.to_string())
    });
    match config {
        Ok(config) => Ok(tokio_rustls::TlsConnector::from(Arc::clone(config))),
        Err(error) => Err(StoreError::new(format!("no TLS for Redis: {error}"))),
    }
}

/// Milliseconds for `PX`, at least one (Redis refuses zero).
pub(super) fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}
