//! [`KeyGuard`]: at the OpenAI level, in front of the response cache and the router, a
//! virtual key's request (one carrying a [`KeyCall`]) for a model the key or its team may
//! not call is refused with a 403 — in the front door's own envelope, since each edge
//! renders the error — and an admitted one carries a [`Ticket`] that adds its reply's
//! cost and tokens to the key's spend when the reply (or its stream) is done.

use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::Keys;
use super::gate::Grant;
use super::limits::Slot;
use super::store::LogRow;
use crate::error::Error;
use crate::layers::refusable::Refusable;
use crate::openai::{EmbeddingUsage, Usage};
use crate::proxy::observe::usage::{CountInto, Counted, NamesModel, UsageSink};
use crate::upstream::context::CallContext;

/// A request made with a virtual key: the keys and the key's grant, in the request's
/// extensions.
#[derive(Clone, Debug)]
pub(crate) struct KeyCall {
    pub(crate) keys: Arc<Keys>,
    pub(crate) grant: Arc<Grant>,
    /// Its place among the key's requests in flight, held until the reply is done.
    pub(crate) _slot: Option<Arc<Slot>>,
}

/// Wraps a service in [`KeyGuard`].
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct KeyGuardLayer;

impl<S> Layer<S> for KeyGuardLayer {
    type Service = KeyGuard<S>;

    fn layer(&self, inner: S) -> KeyGuard<S> {
        KeyGuard { inner }
    }
}

/// Checks a virtual key's model and counts its spend; see the [module](self). Requests
/// without a [`KeyCall`] (the master key's) pass untouched.
#[derive(Clone, Debug)]
pub(crate) struct KeyGuard<S> {
    inner: S,
}

impl<S, Req> Service<Req> for KeyGuard<S>
where
    S: Service<Req, Error = Error>,
    S::Response: Counted,
    Req: NamesModel,
{
    type Response = S::Response;
    type Error = Error;
    type Future = KeyGuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let Some(call) = request.extensions().get::<KeyCall>().cloned() else {
            return Refusable::called(self.inner.call(request), CountInto(None));
        };
        if let Err(error) = call.grant.check_model(request.model()) {
            return Refusable::refused(error);
        }
        let ticket = (!request.counts_only()).then(|| {
            let request_id = CallContext::of(request.extensions())
                .and_then(CallContext::request_id)
                .and_then(|id| id.to_str().ok())
                .map_or_else(|| format!("req-{:016x}", fastrand::u64(..)), str::to_owned);
            Arc::new(Ticket {
                call,
                model: request.model().to_owned(),
                request_id,
                start_ms: unix_ms(),
                spent: Mutex::default(),
            })
        });
        Refusable::called(self.inner.call(request), CountInto(ticket))
    }
}

/// The future of [`KeyGuard`]: a 403 for a model the key may not call, else the inner
/// call, its reply counted against the key.
pub(crate) type KeyGuardFuture<F> = Refusable<F, CountInto<Ticket>>;

/// What one request of a virtual key spent; written to the key's spend when the last
/// holder (the reply, or its stream) lets it go.
#[derive(Debug)]
pub(crate) struct Ticket {
    call: KeyCall,
    model: String,
    request_id: String,
    start_ms: i64,
    spent: Mutex<Spent>,
}

#[derive(Debug, Default)]
struct Spent {
    cost: f64,
    prompt: u64,
    completion: u64,
    reported: bool,
}

impl Ticket {
    fn spent(&self) -> std::sync::MutexGuard<'_, Spent> {
        self.spent.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl UsageSink for Ticket {
    fn usage(&self, usage: &Usage) {
        let mut spent = self.spent();
        let cost = spent.cost + usage.cost().unwrap_or(0.0);
        if cost.is_finite() {
            spent.cost = cost;
        }
        spent.prompt = spent.prompt.saturating_add(usage.prompt_tokens);
        spent.completion = spent.completion.saturating_add(usage.completion_tokens);
        spent.reported = true;
    }

    fn embedding_usage(&self, usage: &EmbeddingUsage) {
        let mut spent = self.spent();
        let cost = spent.cost + usage.cost.unwrap_or(0.0);
        if cost.is_finite() {
            spent.cost = cost;
        }
        spent.prompt = spent.prompt.saturating_add(usage.prompt_tokens);
        spent.reported = true;
    }
}

impl Drop for Ticket {
    fn drop(&mut self) {
        let spent = self.spent.get_mut().unwrap_or_else(PoisonError::into_inner);
        if !spent.reported {
            return;
        }
        let key = &self.call.grant.key;
        let count = |tokens: u64| i64::try_from(tokens).unwrap_or(i64::MAX);
        let log = LogRow {
            request_id: std::mem::take(&mut self.request_id),
            api_key: key.token.clone(),
            key_alias: key.key_alias.clone(),
            team_id: key.team_id.clone(),
            user_id: key.user_id.clone(),
            model: std::mem::take(&mut self.model),
            prompt_tokens: count(spent.prompt),
            completion_tokens: count(spent.completion),
            spend: spent.cost,
            start_ms: self.start_ms,
            end_ms: unix_ms(),
        };
        let keys = &self.call.keys;
        keys.limits.add_tokens(
            &self.call.grant,
            spent.prompt.saturating_add(spent.completion),
        );
        if let Some(metrics) = &keys.metrics {
            metrics.spent(&self.call.grant, log.spend);
        }
        keys.book.record(&self.call.grant, log);
    }
}

/// Milliseconds since the Unix epoch, as the spend log stores them.
fn unix_ms() -> i64 {
    i64::try_from(crate::unix_time::millis()).unwrap_or(i64::MAX)
}
