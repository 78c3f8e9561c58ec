//! [`Record`]: what is learnt about one request while it is answered (its model, tokens,
//! upstream calls), shared by the layers that learn it: it is the observer of the request's
//! [`CallContext`], which travels in the request's extensions ([`Record::of`]).

use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use http::StatusCode;

use crate::openai::{EmbeddingUsage, Usage};
use crate::proxy::metrics::{Metrics, ModelLabel, TokenCounts};
use crate::upstream::context::{CallContext, UpstreamObserver};

/// The facts of one request; see the [module](self).
#[derive(Debug)]
pub(crate) struct Record {
    metrics: Arc<Metrics>,
    facts: Mutex<Facts>,
}

/// What the request's layers reported.
#[derive(Debug, Clone, Default)]
pub(crate) struct Facts {
    /// The labels of the (first) model the request named.
    pub(crate) label: Option<ModelLabel>,
    /// Tokens, summed over the request's replies.
    pub(crate) tokens: TokenCounts,
    /// What the replies cost in US dollars, where the model's price is known.
    pub(crate) cost: f64,
}

impl Record {
    pub(crate) fn new(metrics: Arc<Metrics>) -> Self {
        Self {
            metrics,
            facts: Mutex::new(Facts::default()),
        }
    }

    /// The record of the request with `extensions`; outside the proxy's stack `None`.
    pub(crate) fn of(extensions: &http::Extensions) -> Option<Arc<Self>> {
        let observer: Arc<dyn std::any::Any + Send + Sync> =
            CallContext::of(extensions)?.observer()?.clone();
        observer.downcast().ok()
    }

    fn facts(&self) -> std::sync::MutexGuard<'_, Facts> {
        // The facts stay consistent whatever panicked while holding them.
        self.facts.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// The request names `model`; the first name counts.
    pub(crate) fn model(&self, model: &str) {
        let mut facts = self.facts();
        if facts.label.is_none() {
            facts.label = Some(self.metrics.models().label(model));
        }
    }

    /// A chat or completion reply reported `usage`.
    pub(crate) fn usage(&self, usage: &Usage) {
        let mut facts = self.facts();
        let cost = facts.cost + usage.cost().unwrap_or(0.0);
        if cost.is_finite() {
            facts.cost = cost;
        }
        let tokens = &mut facts.tokens;
        let add = |total: &mut u64, count: u64| *total = total.saturating_add(count);
        add(&mut tokens.prompt, usage.prompt_tokens);
        add(&mut tokens.completion, usage.completion_tokens);
        add(
            &mut tokens.cached,
            usage
                .prompt_tokens_details
                .as_ref()
                .and_then(|details| details.cached_tokens)
                .unwrap_or(0),
        );
        add(
            &mut tokens.reasoning,
            usage
                .completion_tokens_details
                .as_ref()
                .and_then(|details| details.reasoning_tokens)
                .unwrap_or(0),
        );
    }

    /// An embeddings reply reported `usage`.
    pub(crate) fn embedding_usage(&self, usage: &EmbeddingUsage) {
        let mut facts = self.facts();
        facts.tokens.prompt = facts.tokens.prompt.saturating_add(usage.prompt_tokens);
    }

    /// The response cache answered a request for `model` (`hit`) or sent it on (`miss`).
    pub(crate) fn response_cache(&self, model: &str, outcome: &'static str) {
        self.model(model);
        self.metrics.response_cache(&self.label(), outcome);
    }

    /// A copy of what is known so far.
    pub(crate) fn snapshot(&self) -> Facts {
        self.facts().clone()
    }

    fn label(&self) -> ModelLabel {
        self.facts()
            .label
            .clone()
            .unwrap_or_else(|| self.metrics.models().none())
    }
}

impl UpstreamObserver for Record {
    fn call_ended(&self, status: Option<StatusCode>, elapsed: Duration) {
        self.metrics.upstream_call(&self.label(), status, elapsed);
    }

    fn retrying(&self) {
        self.metrics.retry(&self.label());
    }

    fn context_cache(&self, outcome: &'static str) {
        self.metrics.context_cache(&self.label(), outcome);
    }
}
