//! State in Redis, shared by every replica pointed at it (feature `redis`): the
//! context-cache registry ([`RedisCacheStore`], [`cache`]) and the stored responses of the
//! Responses API ([`RedisResponseStore`], [`response`]) and the router's cooldowns, per-minute counts and
//! requests in flight ([`RedisRouterStore`], [`router`]), all over one connection
//! ([`connection`]) to one Redis.
//!
//! Keys (`{prefix}` is `llm-tower:` unless set):
//!
//! | key | value | lifetime |
//! |---|---|---|
//! | `{prefix}cc:{head hash}` | [`CacheEntry::encode`]: `cached {expire ms} cachedContents/{id}` or `refused` | the entry's: a margin before Google's `expireTime`; ten minutes for `refused` |
//! | `{prefix}cc-claim:{head hash}` | the random token of the claim's owner | the claim's (`SET … NX PX`), extended by its owner while it creates, deleted by its owner (compare and delete) when done |
//! | `{prefix}rt-cool:{deployment id}` | `1`: the deployment is cooling down | the cooldown's (`SET … PX`) |
//! | `{prefix}rt-rpm:{deployment id}:{minute}`, `{prefix}rt-tpm:…` | the requests, the tokens counted in that minute since the Unix epoch | two minutes |
//! | `{prefix}rt-held:{counter}` | requests in flight: a sorted set of holders scored by the end of their lease (ms, Redis's clock); expired ones are dropped by the next take | a lease past its last take or renewal |
//! | `{prefix}keys-changed` | a count the proxy adds one to whenever a virtual key or team changes; every replica reads it four times a second and forgets the keys it holds when it moved | none |
//! | `{prefix}reply:[{namespace}:]{request hash}` | a cached chat or embeddings reply and when it was stored, as JSON (the proxy's response cache) | its `ttl` (`SET … PX`), or until Redis evicts it |
//! | `{prefix}resp:{owner hash}:{response id}` | the stored response (the response object, its input items and the conversation, as JSON) | the store's time to live (`SET … PX`; a day by default), or until `DELETE /v1/responses/{id}` |
//!
//! The context-cache keys hold no prompt text and no key (the hash covers them, one way).
//! A stored response holds the conversation, as the in-memory store does; its owner is a
//! hash of the key that made it, never the key.
//! The connection is one [`redis::aio::MultiplexedConnection`], opened on first use (a
//! Redis that is down at startup is not an error) and reopened when it breaks: a command
//! (a script, a pipeline) that found the connection dropped is sent once more on the new
//! one (so a Redis restart
//! costs no request), while one that timed out is not (Redis may have carried it out).
//! Connecting and every command have short timeouts, and for a second after a failed
//! connect commands fail at once, so a dead or slow Redis costs a request milliseconds,
//! not a hang. `rediss://` URLs connect over TLS (rustls, the webpki roots):
//! use it for a Redis across a network. What Redis answers is bounded before it is
//! buffered (a value of at most 8 MiB, an aggregate of at most 1,024 elements nested at
//! most 8 deep, a whole reply of at most 9 MiB): past it
//! the connection is closed and the read is a miss.
//!
//! [`CacheEntry::encode`]: crate::store::CacheEntry::encode

mod cache;
mod connection;
mod replies;
mod response;
mod router;

pub use cache::RedisCacheStore;
pub use response::RedisResponseStore;
pub use router::RedisRouterStore;
