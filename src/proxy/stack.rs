//! [`served`]: the proxy as the binary serves it, outer to inner:
//!
//! | layer | what |
//! |---|---|
//! | [`SaneRequestIdLayer`] | a client's `x-request-id` kept only when short and plain |
//! | tower-http `SetRequestIdLayer` | `x-request-id` from the client, else a new UUID ([`RandomRequestId`]) |
//! | tower-http `PropagateRequestIdLayer` | the same `x-request-id` on the answer |
//! | [`ObserveLayer`] | span, trace context, metrics, access log, `x-litellm-call-id` |
//! | tower-http `CorsLayer` (with `--cors-origins`) | pre-flights answered without the key |
//! | [`MetricsRoute`] | `GET /metrics` |
//! | [`Proxy`] | the routes |

use std::sync::Arc;

use tower::ServiceBuilder;
use tower::util::Either;
use tower_http::cors::{Cors, CorsLayer};
use tower_http::request_id::{
    PropagateRequestId, PropagateRequestIdLayer, SetRequestId, SetRequestIdLayer,
};

use super::app::Proxy;
use super::auth::MasterKey;
use super::config::Config;
use super::metrics::Metrics;
use super::observe::{
    AccessLog, Observe, ObserveLayer, RandomRequestId, SaneRequestId, SaneRequestIdLayer,
    SpanResults,
};
use super::scrape::MetricsRoute;

/// How the served stack is set up.
#[derive(Clone, Debug, Default)]
pub struct StackOptions {
    /// Serve `/metrics` without the master key.
    pub metrics_public: bool,
    /// Do not serve `/metrics` on the proxy's listener (it has its own).
    pub metrics_elsewhere: bool,
    /// CORS, from [`cors_layer`](super::cors::cors_layer).
    pub cors: Option<CorsLayer>,
    /// The level of the access-log line.
    pub access_log: AccessLog,
    /// Whether the request span gets its closing fields (see [`SpanResults`]).
    pub span_results: SpanResults,
}

/// The routes, with `/metrics` unless it is served elsewhere.
type Routes = Either<MetricsRoute<Proxy>, Proxy>;

/// The service [`served`] returns.
pub type Served = SaneRequestId<
    SetRequestId<PropagateRequestId<Observe<Either<Cors<Routes>, Routes>>>, RandomRequestId>,
>;

/// The door of `/metrics`: the master key unless public.
///
/// ```
/// use llm_tower::proxy::{config::Config, stack::metrics_door};
/// assert!(!metrics_door(&Config::default_gemini(), false).is_set());
/// ```
pub fn metrics_door(config: &Config, public: bool) -> MasterKey {
    if public {
        MasterKey::new(None)
    } else {
        MasterKey::new(config.general_settings.master_key.clone())
    }
}

/// The proxy with its request ids, observation, CORS and `/metrics`; see the
/// [module](self).
///
/// ```
/// use std::sync::Arc;
/// use llm_tower::proxy::{app::Proxy, config::Config, metrics::Metrics};
/// use llm_tower::proxy::stack::{StackOptions, served};
///
/// let config = Config::default_gemini();
/// let metrics = Arc::new(Metrics::new(&config));
/// let _service = served(&config, Proxy::from_config(&config)?, metrics, &StackOptions::default());
/// # Ok::<(), llm_tower::proxy::app::BuildError>(())
/// ```
pub fn served(
    config: &Config,
    proxy: Proxy,
    metrics: Arc<Metrics>,
    options: &StackOptions,
) -> Served {
    let routes = if options.metrics_elsewhere {
        Either::Right(proxy)
    } else {
        let door = metrics_door(config, options.metrics_public);
        Either::Left(MetricsRoute::new(proxy, metrics.clone(), door))
    };
    ServiceBuilder::new()
        .layer(SaneRequestIdLayer)
        .layer(SetRequestIdLayer::x_request_id(RandomRequestId))
        .layer(PropagateRequestIdLayer::x_request_id())
        .layer(
            ObserveLayer::new(metrics)
                .access_log(options.access_log)
                .span_results(options.span_results),
        )
        .option_layer(options.cors.clone())
        .service(routes)
}
