//! [`Metrics`]: the proxy's Prometheus metrics, in one typed `prometheus-client` registry
//! and written in Prometheus' text format for `GET /metrics`.
//!
//! Every label set is bounded: `route` is one of the proxy's routes, `model` one of the
//! configured `model_name`s (a wildcard entry such as `gemini/*` is one label for every
//! model it serves; a model the config does not serve is `other`, a request without one
//! `none`), `provider` the configured provider of that model, `status_class` `2xx` to
//! `5xx` (or `cancelled` when the client left first), `status` an upstream HTTP status code
//! (or `transport` for a call that got no reply).
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `llm_tower_requests_total` | counter | route, model, provider, status_class |
//! | `llm_tower_request_duration_seconds` | histogram | route, model, provider |
//! | `llm_tower_time_to_first_token_seconds` | histogram (streams) | model, provider |
//! | `llm_tower_upstream_duration_seconds` | histogram (to the reply head) | model, provider |
//! | `llm_tower_upstream_errors_total` | counter | model, provider, status |
//! | `llm_tower_retries_total` | counter | model, provider |
//! | `llm_tower_context_cache_total` | counter | model, provider, outcome (hit, found, created, waited, too_small, uncached, failed, gone) |
//! | `llm_tower_response_cache_total` | counter | model, provider, outcome (hit, miss) |
//! | `llm_tower_tokens_total` | counter | model, provider, kind (prompt, completion, cached, reasoning) |
//! | `llm_tower_spend_usd_total` | counter | model, provider |
//! | `llm_tower_requests_in_flight` | gauge | |
//! | `llm_tower_open_streams` | gauge | |
//! | `llm_tower_send_stalls_total` | counter | |
//! | `llm_tower_router_…` | | the router's retries, fallbacks and cooldowns |

use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;

use prometheus_client::encoding::EncodeLabelSet;

use super::keys::KeyMetrics;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::{Family, MetricConstructor};
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::Histogram;
use prometheus_client::registry::Registry;

use super::config::Config;
use super::router_metrics::RouterMetrics;

/// Upper bounds of the latency histograms, in seconds: from a local upstream's
/// milliseconds to a long generation's minutes.
const LATENCY_BUCKETS: [f64; 16] = [
    0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0, 300.0, 600.0,
];

/// The model label of a model the config does not serve.
const OTHER: &str = "other";
/// The model label of a request that names no model (`/v1/models`, `/health`, ...).
const NONE: &str = "none";

/// The model and provider labels of one request.
///
/// ```
/// use llm_tower::proxy::{config::Config, metrics::ModelTable};
///
/// let table = ModelTable::new(&Config::default_gemini());
/// assert_eq!(table.label("gemini/gemini-2.5-flash").model(), "gemini/*");
/// assert_eq!(table.label("gpt-4o").model(), "other");
/// ```
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct ModelLabel {
    model: Arc<String>,
    provider: Arc<String>,
}

impl ModelLabel {
    fn new(model: &str, provider: &str) -> Self {
        Self {
            model: Arc::new(model.to_owned()),
            provider: Arc::new(provider.to_owned()),
        }
    }

    /// The `model` label value.
    pub fn model(&self) -> &str {
        &self.model
    }

    /// The `provider` label value.
    pub fn provider(&self) -> &str {
        &self.provider
    }
}

/// Folds requested model names into the configured ones (see the [module](self)).
#[derive(Clone, Debug)]
pub struct ModelTable {
    exact: HashMap<String, ModelLabel>,
    /// `(prefix, label)` of the wildcard entries, in file order.
    wildcards: Vec<(String, ModelLabel)>,
    other: ModelLabel,
    none: ModelLabel,
}

impl ModelTable {
    /// The labels of `config`'s `model_list`.
    pub fn new(config: &Config) -> Self {
        let mut exact = HashMap::new();
        let mut wildcards = Vec::new();
        for entry in &config.model_list {
            let label = ModelLabel::new(&entry.model_name, entry.litellm_params.provider());
            match entry.model_name.split_once('*') {
                Some((prefix, _)) => {
                    if !wildcards.iter().any(|(known, _)| known == prefix) {
                        wildcards.push((prefix.to_owned(), label));
                    }
                }
                None => {
                    exact.entry(entry.model_name.clone()).or_insert(label);
                }
            }
        }
        Self {
            exact,
            wildcards,
            other: ModelLabel::new(OTHER, NONE),
            none: ModelLabel::new(NONE, NONE),
        }
    }

    /// The label of a requested model name.
    pub fn label(&self, requested: &str) -> ModelLabel {
        if let Some(label) = self.exact.get(requested) {
            return label.clone();
        }
        self.wildcards
            .iter()
            .find(|(prefix, _)| requested.starts_with(prefix.as_str()))
            .map_or_else(|| self.other.clone(), |(_, label)| label.clone())
    }

    /// The label of a request that names no model.
    pub fn none(&self) -> ModelLabel {
        self.none.clone()
    }
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RequestLabels {
    route: &'static str,
    model: Arc<String>,
    provider: Arc<String>,
    status_class: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct RouteLabels {
    route: &'static str,
    model: Arc<String>,
    provider: Arc<String>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct ModelLabels {
    model: Arc<String>,
    provider: Arc<String>,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct UpstreamErrorLabels {
    model: Arc<String>,
    provider: Arc<String>,
    status: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct OutcomeLabels {
    model: Arc<String>,
    provider: Arc<String>,
    outcome: &'static str,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct TokenLabels {
    model: Arc<String>,
    provider: Arc<String>,
    kind: &'static str,
}

impl From<&ModelLabel> for ModelLabels {
    fn from(label: &ModelLabel) -> Self {
        Self {
            model: label.model.clone(),
            provider: label.provider.clone(),
        }
    }
}

/// Builds the latency histograms of a family.
#[derive(Clone, Copy)]
struct LatencyHistogram;

impl MetricConstructor<Histogram> for LatencyHistogram {
    fn new_metric(&self) -> Histogram {
        Histogram::new(LATENCY_BUCKETS)
    }
}

/// Token counts of one request, by kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct TokenCounts {
    /// Input tokens (cached ones included).
    pub prompt: u64,
    /// Output tokens (reasoning included).
    pub completion: u64,
    /// Input tokens read from a cache.
    pub cached: u64,
    /// Output tokens spent on reasoning.
    pub reasoning: u64,
}

/// How one request ended, for [`Metrics::request_ended`].
#[derive(Debug)]
pub struct RequestOutcome<'a> {
    /// The route label (see [`route_label`]).
    pub route: &'static str,
    /// The model and provider.
    pub label: &'a ModelLabel,
    /// The response status, `None` when the client left before it.
    pub status: Option<http::StatusCode>,
    /// From the request's arrival to the end of the response body.
    pub elapsed: std::time::Duration,
    /// Tokens used.
    pub tokens: TokenCounts,
    /// What the request cost in US dollars (0 where the price is unknown).
    pub cost: f64,
}

/// The proxy's metrics; cheap to share behind an `Arc`.
///
/// ```
/// use llm_tower::proxy::{config::Config, metrics::Metrics};
///
/// let metrics = Metrics::new(&Config::default_gemini());
/// metrics.request_started();
/// // A family appears once it has a sample; the gauges are always there.
/// assert!(metrics.encode().contains("llm_tower_requests_in_flight 1"));
/// ```
pub struct Metrics {
    registry: Registry,
    models: ModelTable,
    requests: Family<RequestLabels, Counter>,
    duration: Family<RouteLabels, Histogram, LatencyHistogram>,
    first_token: Family<ModelLabels, Histogram, LatencyHistogram>,
    upstream_duration: Family<ModelLabels, Histogram, LatencyHistogram>,
    upstream_errors: Family<UpstreamErrorLabels, Counter>,
    retries: Family<ModelLabels, Counter>,
    context_cache: Family<OutcomeLabels, Counter>,
    response_cache: Family<OutcomeLabels, Counter>,
    tokens: Family<TokenLabels, Counter>,
    spend: Family<ModelLabels, Counter<f64, AtomicU64>>,
    in_flight: Gauge,
    open_streams: Gauge,
    send_stalls: Counter,
    router: Arc<RouterMetrics>,
    keys: Arc<KeyMetrics>,
}

impl std::fmt::Debug for Metrics {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Metrics").finish_non_exhaustive()
    }
}

impl Metrics {
    /// The metrics of a proxy serving `config`, all registered and at zero.
    pub fn new(config: &Config) -> Self {
        let mut registry = Registry::with_prefix("llm_tower");
        let requests = Family::default();
        registry.register(
            "requests",
            "Requests answered, by route, model, provider and status class",
            requests.clone(),
        );
        let duration = Family::new_with_constructor(LatencyHistogram);
        registry.register(
            "request_duration_seconds",
            "Time from a request's arrival to the end of its response body",
            duration.clone(),
        );
        let first_token = Family::new_with_constructor(LatencyHistogram);
        registry.register(
            "time_to_first_token_seconds",
            "Time from a streaming request's arrival to its first event",
            first_token.clone(),
        );
        let upstream_duration = Family::new_with_constructor(LatencyHistogram);
        registry.register(
            "upstream_duration_seconds",
            "Time from sending an upstream call to its reply head",
            upstream_duration.clone(),
        );
        let upstream_errors = Family::default();
        registry.register(
            "upstream_errors",
            "Upstream calls answered with an error status, or with no reply (status=transport)",
            upstream_errors.clone(),
        );
        let retries = Family::default();
        registry.register(
            "retries",
            "Upstream calls retried after a transient error",
            retries.clone(),
        );
        let context_cache = Family::default();
        registry.register(
            "context_cache",
            "Calls with a cache_control-marked head, by outcome (hit, found, created, waited, \
             too_small, uncached, failed, gone)",
            context_cache.clone(),
        );
        let response_cache = Family::default();
        registry.register(
            "response_cache",
            "Requests to a route of the response cache (litellm_settings.cache), by outcome \
             (hit, miss)",
            response_cache.clone(),
        );
        let tokens = Family::default();
        registry.register(
            "tokens",
            "Tokens used, by kind (prompt, completion, cached, reasoning)",
            tokens.clone(),
        );
        let spend = Family::default();
        registry.register(
            "spend_usd",
            "What requests cost in US dollars, where the model's price is known",
            spend.clone(),
        );
        let in_flight = Gauge::default();
        registry.register(
            "requests_in_flight",
            "Requests being answered",
            in_flight.clone(),
        );
        let open_streams = Gauge::default();
        registry.register(
            "open_streams",
            "Server-sent event streams being sent",
            open_streams.clone(),
        );
        let send_stalls = Counter::default();
        registry.register(
            "send_stalls",
            "Streams ended because their client took no data for the send-stall timeout",
            send_stalls.clone(),
        );
        let router = Arc::new(RouterMetrics::registered(&mut registry));
        let keys = Arc::new(KeyMetrics::registered(&mut registry));
        Self {
            registry,
            router,
            keys,
            models: ModelTable::new(config),
            requests,
            duration,
            first_token,
            upstream_duration,
            upstream_errors,
            retries,
            context_cache,
            response_cache,
            tokens,
            spend,
            in_flight,
            open_streams,
            send_stalls,
        }
    }

    /// The router's metrics: its [`RouterObserver`](crate::router::RouterObserver).
    pub fn router(&self) -> Arc<RouterMetrics> {
        self.router.clone()
    }

    /// The metrics of virtual keys.
    pub fn keys(&self) -> Arc<KeyMetrics> {
        self.keys.clone()
    }

    /// The model table the labels come from.
    pub fn models(&self) -> &ModelTable {
        &self.models
    }

    /// The registry in Prometheus' text format.
    pub fn encode(&self) -> String {
        let mut text = String::new();
        // Writing into a String cannot fail.
        let _ = prometheus_client::encoding::text::encode(&mut text, &self.registry);
        text
    }

    /// The server's send-stall watchdog ended a stream (see
    /// [`ServerOptions::on_send_stall`](crate::proxy::server::ServerOptions::on_send_stall)).
    pub fn send_stalled(&self) {
        self.send_stalls.inc();
    }

    /// A request arrived.
    pub fn request_started(&self) {
        self.in_flight.inc();
    }

    /// A request's response body ended (or the request was abandoned).
    pub fn request_ended(&self, outcome: &RequestOutcome<'_>) {
        self.in_flight.dec();
        let label = outcome.label;
        self.requests
            .get_or_create(&RequestLabels {
                route: outcome.route,
                model: label.model.clone(),
                provider: label.provider.clone(),
                status_class: status_class(outcome.status),
            })
            .inc();
        self.duration
            .get_or_create(&RouteLabels {
                route: outcome.route,
                model: label.model.clone(),
                provider: label.provider.clone(),
            })
            .observe(outcome.elapsed.as_secs_f64());
        // A cost is counted only when it is a real amount: an upstream's figure could be
        // negative or infinite, and a counter that took it would stay wrong until restart.
        if outcome.cost > 0.0 && outcome.cost.is_finite() {
            self.spend
                .get_or_create(&ModelLabels::from(label))
                .inc_by(outcome.cost);
        }
        let tokens = outcome.tokens;
        for (kind, count) in [
            ("prompt", tokens.prompt),
            ("completion", tokens.completion),
            ("cached", tokens.cached),
            ("reasoning", tokens.reasoning),
        ] {
            if count > 0 {
                self.tokens
                    .get_or_create(&TokenLabels {
                        model: label.model.clone(),
                        provider: label.provider.clone(),
                        kind,
                    })
                    .inc_by(count);
            }
        }
    }

    /// A stream opened; `first_event` after the request arrived.
    pub fn stream_opened(&self, label: &ModelLabel, first_event: std::time::Duration) {
        self.open_streams.inc();
        self.first_token
            .get_or_create(&ModelLabels::from(label))
            .observe(first_event.as_secs_f64());
    }

    /// A stream ended.
    pub fn stream_closed(&self) {
        self.open_streams.dec();
    }

    /// An upstream call ended (see [`UpstreamObserver`](crate::upstream::context::UpstreamObserver)).
    pub fn upstream_call(
        &self,
        label: &ModelLabel,
        status: Option<http::StatusCode>,
        elapsed: std::time::Duration,
    ) {
        let labels = ModelLabels::from(label);
        self.upstream_duration
            .get_or_create(&labels)
            .observe(elapsed.as_secs_f64());
        let status = match status {
            Some(status) if status.is_success() => return,
            Some(status) => status_code_label(status),
            None => "transport",
        };
        self.upstream_errors
            .get_or_create(&UpstreamErrorLabels {
                model: labels.model,
                provider: labels.provider,
                status,
            })
            .inc();
    }

    /// An upstream call is retried.
    pub fn retry(&self, label: &ModelLabel) {
        self.retries.get_or_create(&ModelLabels::from(label)).inc();
    }

    /// A provider's context cache reported how a call went (`outcome` from a fixed set).
    pub fn context_cache(&self, label: &ModelLabel, outcome: &'static str) {
        count_outcome(&self.context_cache, label, outcome);
    }

    /// The response cache answered a request (`hit`) or sent it upstream (`miss`).
    pub fn response_cache(&self, label: &ModelLabel, outcome: &'static str) {
        count_outcome(&self.response_cache, label, outcome);
    }
}

/// Counts `outcome` of a request for the model of `label` in `family`.
fn count_outcome(
    family: &Family<OutcomeLabels, Counter>,
    label: &ModelLabel,
    outcome: &'static str,
) {
    let labels = ModelLabels::from(label);
    family
        .get_or_create(&OutcomeLabels {
            model: labels.model,
            provider: labels.provider,
            outcome,
        })
        .inc();
}

/// `2xx` .. `5xx`, or `cancelled`.
fn status_class(status: Option<http::StatusCode>) -> &'static str {
    match status.map(|status| status.as_u16() / 100) {
        Some(1) => "1xx",
        Some(2) => "2xx",
        Some(3) => "3xx",
        Some(4) => "4xx",
        Some(5) => "5xx",
        Some(_) => "other",
        None => "cancelled",
    }
}

/// An upstream error status as a label: the codes Google and OpenAI-compatible servers
/// answer with, the rest by class.
fn status_code_label(status: http::StatusCode) -> &'static str {
    match status.as_u16() {
        400 => "400",
        401 => "401",
        403 => "403",
        404 => "404",
        408 => "408",
        409 => "409",
        413 => "413",
        429 => "429",
        499 => "499",
        500 => "500",
        501 => "501",
        502 => "502",
        503 => "503",
        504 => "504",
        code if code < 500 => "4xx",
        _ => "5xx",
    }
}

/// The route label of a request path: one of the proxy's routes, or `other`.
///
/// ```
/// use llm_tower::proxy::metrics::route_label;
/// assert_eq!(route_label("/chat/completions"), "/v1/chat/completions");
/// assert_eq!(route_label("/gemini/v1beta/models/x:generateContent"), "/gemini");
/// assert_eq!(route_label("/v1/messages"), "/v1/messages");
/// assert_eq!(route_label("/wp-admin"), "other");
/// ```
pub fn route_label(path: &str) -> &'static str {
    match path {
        "/v1/chat/completions" | "/chat/completions" => "/v1/chat/completions",
        "/v1/completions" | "/completions" => "/v1/completions",
        "/v1/embeddings" | "/embeddings" => "/v1/embeddings",
        "/v1/responses" | "/responses" => "/v1/responses",
        "/v1/messages" => "/v1/messages",
        "/v1/messages/count_tokens" => "/v1/messages/count_tokens",
        "/v1/models" | "/models" => "/v1/models",
        "/health" => "/health",
        "/health/liveliness" | "/health/liveness" => "/health/liveliness",
        "/health/readiness" => "/health/readiness",
        "/metrics" => "/metrics",
        _ if path.starts_with("/gemini/") => "/gemini",
        _ if path.starts_with("/v1/responses/") => "/v1/responses",
        _ => "other",
    }
}
