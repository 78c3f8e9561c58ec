//! The head of a marked call: [`Head`], split out of the call (moved, not copied) with
//! its store key (a hash of the head, the model and the credentials), size estimate and
//! lifetime; and the call rebuilt from its parts, uncached or naming the cache.

use std::time::{Duration, SystemTime};

use super::size::{self, Size};
use super::{ContextCacheLayer, DEFAULT_TTL, DISPLAY_PREFIX};
use crate::providers::gemini::call::{Call, Method};
use crate::providers::gemini::translate::CachePlan;
use crate::providers::gemini::translate::messages::join_split_turn;
use crate::providers::gemini::wire::{CachedContent, CachedContentRequest};

/// A head to cache, as the layer works with it.
pub(super) struct Head {
    /// The cache's body (its display name is derived from the key).
    pub(super) body: CachedContentRequest,
    /// The store key and the hash in the display name.
    pub(super) key: String,
    /// What the local size estimate says.
    pub(super) size: Size,
    /// The fewest tokens the model caches (`u64::MAX`: none).
    pub(super) minimum: u64,
    /// The cache's lifetime, as asked.
    pub(super) ttl: Duration,
}

impl Head {
    /// The margin before `expireTime` at which an entry is treated as gone.
    pub(super) fn margin(&self) -> Duration {
        (self.ttl / 10).min(Duration::from_secs(60))
    }

    /// When Google drops `cache` of this head: its `expireTime`, else the head's lifetime
    /// from now.
    pub(super) fn expire_time(&self, cache: &CachedContent) -> SystemTime {
        cache
            .expire_time
            .as_deref()
            .and_then(|time| humantime::parse_rfc3339_weak(time).ok())
            .unwrap_or_else(|| SystemTime::now() + self.ttl)
    }

    /// Whether a cache expiring at `expire_time` may still be named.
    pub(super) fn usable(&self, expire_time: SystemTime) -> bool {
        expire_time > SystemTime::now() + self.margin()
    }

    pub(super) fn display_name(&self) -> String {
        format!("{DISPLAY_PREFIX}{}", self.key)
    }
}

impl ContextCacheLayer {
    /// The head, moved out of the call, and the call without it (nothing is copied); the
    /// call back unchanged for a plan that would leave nothing to send.
    pub(super) fn split(
        &self,
        mut call: Call,
        plan: &CachePlan,
    ) -> Result<(Head, Call), Box<Call>> {
        let (Method::Generate(body) | Method::StreamGenerate(body)) = &mut call.method else {
            return Err(Box::new(call));
        };
        if plan.contents >= body.contents.len() {
            return Err(Box::new(call));
        }
        let head = CachedContentRequest {
            model: format!("{}{}", self.models, call.model),
            display_name: None,
            system_instruction: body.system_instruction.take(),
            contents: body.contents.drain(..plan.contents).collect(),
            tools: std::mem::take(&mut body.tools),
            tool_config: body.tool_config.take(),
            ttl: plan.ttl.clone(),
        };
        // Serializing a typed struct cannot fail.
        let json = serde_json::to_vec(&head).unwrap_or_default();
        let api_key = call.options.api_key.as_ref().map(|key| key.expose());
        let api_base = call.options.api_base.as_deref();
        let key = sha256_hex(&[
            self.namespace.as_bytes(),
            api_key.unwrap_or_default().as_bytes(),
            api_base.unwrap_or_default().as_bytes(),
            &json,
        ]);
        let minimum = self.minimum(&call.model);
        let head = Head {
            size: size::judge(&head, json.len(), minimum),
            minimum: minimum.unwrap_or(u64::MAX),
            ttl: plan
                .ttl
                .as_deref()
                .and_then(ttl_seconds)
                .unwrap_or(DEFAULT_TTL),
            key,
            body: head,
        };
        Ok((head, call))
    }
}

/// The call as it would be without `cache_control`: the turn the head boundary split is
/// one turn again.
pub(super) fn uncached(mut call: Call, plan: &CachePlan) -> Call {
    if let Method::Generate(body) | Method::StreamGenerate(body) = &mut call.method
        && plan.split_turn
    {
        join_split_turn(&mut body.contents, plan.contents);
    }
    call
}

/// The whole call again, from its head and the rest, as [`uncached`] would send it.
pub(super) fn rejoined(head: Head, mut live: Call, plan: &CachePlan) -> Call {
    if let Method::Generate(body) | Method::StreamGenerate(body) = &mut live.method {
        let head = head.body;
        body.system_instruction = head.system_instruction;
        body.tools = head.tools;
        body.tool_config = head.tool_config;
        body.contents.splice(..0, head.contents);
    }
    uncached(live, plan)
}

/// The live call naming the cache.
pub(super) fn with_cache(live: &Call, name: &str) -> Call {
    let mut call = live.clone();
    if let Method::Generate(body) | Method::StreamGenerate(body) = &mut call.method {
        body.cached_content = Some(name.to_owned());
    }
    call
}

/// `"300s"` → 300 s.
fn ttl_seconds(ttl: &str) -> Option<Duration> {
    let seconds: f64 = ttl.strip_suffix('s')?.parse().ok()?;
    Duration::try_from_secs_f64(seconds).ok()
}

/// SHA-256 of `fields` (each followed by a NUL), in hex. The digest is ring's, which the TLS
/// stack already brings.
pub(crate) fn sha256_hex(fields: &[&[u8]]) -> String {
    let mut context = ring::digest::Context::new(&ring::digest::SHA256);
    for field in fields {
        context.update(field);
        context.update(b"\0");
    }
    context
        .finish()
        .as_ref()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A marked call: a system instruction, a tool, and `user, model, user, user` turns.
    fn marked_call() -> Call {
        let body: crate::providers::gemini::wire::GenerateContentRequest =
            serde_json::from_value(serde_json::json!({
                "systemInstruction": {"parts": [{"text": "You are a contracts lawyer."}]},
                "tools": [{"functionDeclarations": [{"name": "lookup", "description": "d"}]}],
                "toolConfig": {"functionCallingConfig": {"mode": "AUTO"}},
                "generationConfig": {"temperature": 0.5},
                "contents": [
                    {"role": "user", "parts": [{"text": "<a contract>"}]},
                    {"role": "model", "parts": [{"text": "Read."}]},
                    {"role": "user", "parts": [{"text": "<an annex>"}]},
                    {"role": "user", "parts": [{"text": "Summarise clause 2"}]}
                ]
            }))
            .expect("a generateContent body");
        Call::new("gemini-2.5-flash", Method::Generate(body))
    }

    fn body(call: &Call) -> serde_json::Value {
        match &call.method {
            Method::Generate(body) | Method::StreamGenerate(body) => {
                serde_json::to_value(body).expect("serializes")
            }
            _ => panic!("not a generateContent call"),
        }
    }

    #[test]
    fn a_split_call_is_rejoined_as_it_would_be_sent_uncached() {
        let layer = ContextCacheLayer::default();
        for split_turn in [false, true] {
            let plan = CachePlan {
                contents: 3,
                ttl: Some("300s".to_owned()),
                split_turn,
            };
            let Ok((head, live)) = layer.split(marked_call(), &plan) else {
                panic!("a head to cache");
            };
            let live_body = body(&live);
            assert_eq!(
                live_body["contents"],
                serde_json::json!([{"role": "user", "parts": [{"text": "Summarise clause 2"}]}])
            );
            for moved in ["systemInstruction", "tools", "toolConfig"] {
                assert!(live_body.get(moved).is_none(), "{moved} went into the head");
            }
            assert_eq!(live_body["generationConfig"]["temperature"], 0.5);
            assert_eq!(head.body.contents.len(), 3);
            assert_eq!(head.body.ttl.as_deref(), Some("300s"));
            assert_eq!(
                body(&rejoined(head, live, &plan)),
                body(&uncached(marked_call(), &plan))
            );
        }
        // The split turn is one turn again; without it, the call is the one split.
        let plan = CachePlan {
            contents: 3,
            ttl: None,
            split_turn: true,
        };
        assert_eq!(
            body(&uncached(marked_call(), &plan))["contents"][2]["parts"]
                .as_array()
                .map(Vec::len),
            Some(2)
        );
        let whole = CachePlan {
            contents: 4,
            ttl: None,
            split_turn: false,
        };
        let Err(back) = layer.split(marked_call(), &whole) else {
            panic!("nothing would be left to send");
        };
        assert_eq!(body(&back), body(&marked_call()));
    }
}
