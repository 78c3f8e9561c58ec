//! [`RedisRouterStore`]: the router's cooldowns and per-minute counts in Redis, so every
//! replica skips a deployment one of them saw fail and `rpm` limits hold across all of
//! them, and requests in flight are counted against one limit (keys `{prefix}rt-cool:`,
//! `{prefix}rt-rpm:`, `{prefix}rt-tpm:`, `{prefix}rt-held:`, see the [module](super)).

use std::sync::Arc;
use std::time::Duration;

use super::connection::{Connection, millis};
use crate::store::{DeploymentLoad, RouterStore, RouterStoreFuture};

/// How long a minute's count is kept: the minute and a margin for clocks that differ.
const COUNT_LIFETIME: Duration = Duration::from_secs(120);

/// Counts a request unless the limit is reached, in one step: `INCR`, then `DECR` back
/// when the count went past the limit, so replicas together never count more than it.
/// `KEYS[1]` the count, `ARGV[1]` the limit (`-1` for none), `ARGV[2]` its lifetime in ms.
const TAKE_REQUEST: &str = r"
local count = redis.call('INCR', KEYS[1])
if count == 1 then redis.call('PEXPIRE', KEYS[1], ARGV[2]) end
local limit = tonumber(ARGV[1])
if limit >= 0 and count > limit then
  redis.call('DECR', KEYS[1])
  return 0
end
return 1
";

/// Starts a cooldown unless a longer one is under way, so that a shorter cooldown never
/// cuts a longer one short. `KEYS[1]` the cooldown, `ARGV[1]` its length in ms.
const COOL_DOWN: &str = r"
local left = redis.call('PTTL', KEYS[1])
if left < tonumber(ARGV[1]) then redis.call('SET', KEYS[1], 1, 'PX', ARGV[1]) end
return 1
";

/// Takes a place in every counter unless one is full, in one step. Each counter is a
/// sorted set of holders scored by the end of their lease (Redis's clock, the same for
/// every replica): expired leases are dropped first, so a replica that stopped without
/// giving its places back holds them no longer than a lease. `KEYS` the counters,
/// `ARGV[1]` the lease in ms, `ARGV[2]` the holder, `ARGV[3…]` each counter's limit.
const HOLD: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local lease = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now)
  if redis.call('ZCARD', key) >= tonumber(ARGV[i + 2]) then return 0 end
end
for _, key in ipairs(KEYS) do
  redis.call('ZADD', key, now + lease, ARGV[2])
  redis.call('PEXPIRE', key, lease)
end
return 1
";

/// Extends a holder's leases to `ARGV[1]` ms from now (Redis's clock), in the counters
/// it holds a place in. `KEYS` the counters, `ARGV[2]` the holder.
const RENEW: &str = r"
local time = redis.call('TIME')
local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)
local lease = tonumber(ARGV[1])
for _, key in ipairs(KEYS) do
  if redis.call('ZADD', key, 'XX', 'CH', now + lease, ARGV[2]) == 1 then
    redis.call('PEXPIRE', key, lease)
  end
end
return 1
";

/// A [`RouterStore`] in Redis, made with
/// [`RedisCacheStore::router_store`](super::RedisCacheStore::router_store) over the same
/// connection.
///
/// ```no_run
/// use std::sync::Arc;
/// use llm_tower::store::RedisCacheStore;
/// use llm_tower::router::ModelRouter;
///
/// let shared = RedisCacheStore::open("redis://10.0.0.5:6379/0")?.router_store();
/// let router = ModelRouter::builder().store(Arc::new(shared)).build();
/// # let _ = router;
/// # Ok::<(), llm_tower::store::StoreError>(())
/// ```
#[derive(Clone)]
pub struct RedisRouterStore {
    connection: Connection,
    take_request: Arc<redis::Script>,
    cool_down: Arc<redis::Script>,
    hold: Arc<redis::Script>,
    renew: Arc<redis::Script>,
}

impl std::fmt::Debug for RedisRouterStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RedisRouterStore").finish_non_exhaustive()
    }
}

impl RedisRouterStore {
    pub(super) fn new(connection: Connection) -> Self {
        Self {
            connection,
            take_request: Arc::new(redis::Script::new(TAKE_REQUEST)),
            cool_down: Arc::new(redis::Script::new(COOL_DOWN)),
            hold: Arc::new(redis::Script::new(HOLD)),
            renew: Arc::new(redis::Script::new(RENEW)),
        }
    }

    fn count_key(&self, kind: &str, deployment: &str, minute: u64) -> String {
        self.connection.key(kind, &format!("{deployment}:{minute}"))
    }

    fn held_key(&self, counter: &str) -> String {
        self.connection.key("rt-held", counter)
    }
}

/// A count as Redis holds it: a number, or nothing.
fn count(value: Option<u64>) -> u64 {
    value.unwrap_or(0)
}

impl RouterStore for RedisRouterStore {
    fn load<'a>(
        &'a self,
        deployments: &'a [Arc<str>],
        minute: u64,
    ) -> RouterStoreFuture<'a, Vec<DeploymentLoad>> {
        Box::pin(async move {
            if deployments.is_empty() {
                return Ok(Vec::new());
            }
            let mut command = redis::cmd("MGET");
            for deployment in deployments {
                command
                    .arg(self.connection.key("rt-cool", deployment))
                    .arg(self.count_key("rt-rpm", deployment, minute))
                    .arg(self.count_key("rt-tpm", deployment, minute));
            }
            let values: Vec<Option<u64>> = self.connection.query(command).await?;
            Ok(values
                .chunks_exact(3)
                .map(|load| {
                    DeploymentLoad::new(count(load[1]), count(load[2]))
                        .cooling_down(load[0].is_some())
                })
                .collect())
        })
    }

    fn cool_down<'a>(&'a self, deployment: &'a str, time: Duration) -> RouterStoreFuture<'a, ()> {
        Box::pin(async move {
            let mut invocation = self
                .cool_down
                .key(self.connection.key("rt-cool", deployment));
            invocation.arg(millis(time));
            self.connection.invoke::<()>(invocation).await
        })
    }

    fn take_request<'a>(
        &'a self,
        deployment: &'a str,
        minute: u64,
        limit: Option<u64>,
    ) -> RouterStoreFuture<'a, bool> {
        Box::pin(async move {
            let limit = limit.map_or(-1, |limit| i64::try_from(limit).unwrap_or(i64::MAX));
            let mut invocation = self
                .take_request
                .key(self.count_key("rt-rpm", deployment, minute));
            invocation.arg(limit).arg(millis(COUNT_LIFETIME));
            let taken: i64 = self.connection.invoke(invocation).await?;
            Ok(taken == 1)
        })
    }

    fn add_tokens<'a>(
        &'a self,
        deployment: &'a str,
        minute: u64,
        tokens: u64,
    ) -> RouterStoreFuture<'a, ()> {
        Box::pin(async move {
            let key = self.count_key("rt-tpm", deployment, minute);
            let mut pipeline = redis::pipe();
            pipeline
                .cmd("INCRBY")
                .arg(&key)
                .arg(i64::try_from(tokens).unwrap_or(i64::MAX))
                .ignore()
                .cmd("PEXPIRE")
                .arg(&key)
                .arg(millis(COUNT_LIFETIME))
                .ignore();
            let pipeline = &pipeline;
            self.connection
                .run(|mut connection| async move { pipeline.query_async(&mut connection).await })
                .await
        })
    }

    fn hold<'a>(
        &'a self,
        counters: &'a [(String, u64)],
        holder: &'a str,
        lease: Duration,
    ) -> RouterStoreFuture<'a, bool> {
        Box::pin(async move {
            let mut invocation = self.hold.prepare_invoke();
            invocation.arg(millis(lease)).arg(holder);
            for (counter, limit) in counters {
                invocation
                    .key(self.held_key(counter))
                    .arg(i64::try_from(*limit).unwrap_or(i64::MAX));
            }
            let taken: i64 = self.connection.invoke(invocation).await?;
            Ok(taken == 1)
        })
    }

    fn renew<'a>(
        &'a self,
        counters: &'a [String],
        holder: &'a str,
        lease: Duration,
    ) -> RouterStoreFuture<'a, ()> {
        Box::pin(async move {
            let mut invocation = self.renew.prepare_invoke();
            invocation.arg(millis(lease)).arg(holder);
            for counter in counters {
                invocation.key(self.held_key(counter));
            }
            self.connection.invoke::<()>(invocation).await
        })
    }

    fn release<'a>(&'a self, counters: &'a [String], holder: &'a str) -> RouterStoreFuture<'a, ()> {
        Box::pin(async move {
            let mut pipeline = redis::pipe();
            for counter in counters {
                pipeline
                    .cmd("ZREM")
                    .arg(self.held_key(counter))
                    .arg(holder)
                    .ignore();
            }
            let pipeline = &pipeline;
            self.connection
                .run(|mut connection| async move { pipeline.query_async(&mut connection).await })
                .await
        })
    }
}
