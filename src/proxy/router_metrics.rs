//! [`RouterMetrics`]: the router's retries, fallbacks, cooldowns and shared-store failures
//! in `/metrics`, registered in the proxy's registry; it is the router's
//! [`RouterObserver`]. Labels are configured model names and deployment ids: a bounded
//! set.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `llm_tower_router_retries_total` | counter | model_group, deployment (the one that failed) |
//! | `llm_tower_router_fallbacks_total` | counter | from, to |
//! | `llm_tower_router_cooldowns_total` | counter | model_group, deployment |
//! | `llm_tower_router_cooldown_until_seconds` | gauge | model_group, deployment: when its last cooldown ends (Unix time; cooling down while above `time()`) |
//! | `llm_tower_router_store_errors_total` | counter | |

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use crate::router::RouterObserver;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct DeploymentLabels {
    model_group: String,
    deployment: String,
}

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct FallbackLabels {
    from: String,
    to: String,
}

/// The router's metrics; see the [module](self).
#[derive(Debug, Default)]
pub struct RouterMetrics {
    retries: Family<DeploymentLabels, Counter>,
    fallbacks: Family<FallbackLabels, Counter>,
    cooldowns: Family<DeploymentLabels, Counter>,
    cooldown_until: Family<DeploymentLabels, Gauge>,
    store_errors: Counter,
}

impl RouterMetrics {
    /// Registers the families in `registry` (prefixed `llm_tower_router_`).
    pub(crate) fn registered(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        let router = registry.sub_registry_with_prefix("router");
        router.register(
            "retries",
            "Failed calls sent again within their model group, by the deployment that failed",
            metrics.retries.clone(),
        );
        router.register(
            "fallbacks",
            "Requests sent to a fallback model group",
            metrics.fallbacks.clone(),
        );
        router.register(
            "cooldowns",
            "Times a deployment was taken out of rotation",
            metrics.cooldowns.clone(),
        );
        router.register(
            "cooldown_until_seconds",
            "When the deployment's last cooldown ends, in Unix seconds",
            metrics.cooldown_until.clone(),
        );
        router.register(
            "store_errors",
            "Times the shared router store failed or was slow and local state was used",
            metrics.store_errors.clone(),
        );
        metrics
    }
}

fn labels(group: &str, deployment: &str) -> DeploymentLabels {
    DeploymentLabels {
        model_group: group.to_owned(),
        deployment: deployment.to_owned(),
    }
}

impl RouterObserver for RouterMetrics {
    fn retried(&self, group: &str, deployment: &str) {
        self.retries.get_or_create(&labels(group, deployment)).inc();
    }

    fn fell_back(&self, from: &str, to: &str) {
        self.fallbacks
            .get_or_create(&FallbackLabels {
                from: from.to_owned(),
                to: to.to_owned(),
            })
            .inc();
    }

    fn cooled_down(&self, group: &str, deployment: &str, time: Duration) {
        let labels = labels(group, deployment);
        self.cooldowns.get_or_create(&labels).inc();
        let until = (SystemTime::now() + time)
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_secs();
        self.cooldown_until
            .get_or_create(&labels)
            .set(i64::try_from(until).unwrap_or(i64::MAX));
    }

    fn store_failed(&self) {
        self.store_errors.inc();
    }
}
