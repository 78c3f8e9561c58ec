//! [`KeyMetrics`]: requests and spend of virtual keys in `/metrics`, by key alias and
//! team, registered in the proxy's registry. Labels are aliases and team ids, never keys
//! or their hashes (a key without an alias is `none`), and at most
//! [`MAX_LABEL_SETS`] pairs of them: later ones are counted as `other`.
//!
//! | metric | type | labels |
//! |---|---|---|
//! | `llm_tower_key_requests_total` | counter | key_alias, team: requests admitted |
//! | `llm_tower_key_spend_usd_total` | counter | key_alias, team: what they cost |

use std::collections::HashSet;
use std::sync::atomic::AtomicU64;
use std::sync::{Mutex, PoisonError};

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::registry::Registry;

use super::gate::Grant;

/// Distinct (key alias, team) pairs counted on their own.
pub const MAX_LABEL_SETS: usize = 1_000;

#[derive(Clone, Debug, Hash, PartialEq, Eq, EncodeLabelSet)]
struct KeyLabels {
    key_alias: String,
    team: String,
}

/// Requests and spend of virtual keys in `/metrics`: `llm_tower_key_requests_total` and
/// `llm_tower_key_spend_usd_total`, labelled `key_alias` and `team` (never a key; at most
/// [`MAX_LABEL_SETS`] pairs, then `other`). The proxy's [`Metrics`](crate::proxy::metrics::Metrics)
/// registers them.
///
/// ```
/// use llm_tower::proxy::{config::Config, metrics::Metrics};
///
/// let metrics = Metrics::new(&Config::default_gemini());
/// let _keys = metrics.keys();
/// ```
#[derive(Debug, Default)]
pub struct KeyMetrics {
    requests: Family<KeyLabels, Counter>,
    spend: Family<KeyLabels, Counter<f64, AtomicU64>>,
    seen: Mutex<HashSet<KeyLabels>>,
}

impl KeyMetrics {
    /// Registers the families in `registry` (prefixed `llm_tower_key_`).
    pub(crate) fn registered(registry: &mut Registry) -> Self {
        let metrics = Self::default();
        let keys = registry.sub_registry_with_prefix("key");
        keys.register(
            "requests",
            "Requests of virtual keys admitted, by key alias and team",
            metrics.requests.clone(),
        );
        keys.register(
            "spend_usd",
            "What requests of virtual keys cost in US dollars, by key alias and team",
            metrics.spend.clone(),
        );
        metrics
    }

    /// The labels of `grant`, or `other` past [`MAX_LABEL_SETS`].
    fn labels(&self, grant: &Grant) -> KeyLabels {
        let labels = KeyLabels {
            key_alias: grant.key.key_alias.clone().unwrap_or_else(|| "none".into()),
            team: grant.key.team_id.clone().unwrap_or_else(|| "none".into()),
        };
        let mut seen = self.seen.lock().unwrap_or_else(PoisonError::into_inner);
        if seen.contains(&labels) || seen.len() < MAX_LABEL_SETS && seen.insert(labels.clone()) {
            return labels;
        }
        KeyLabels {
            key_alias: "other".into(),
            team: "other".into(),
        }
    }

    /// A request of `grant` was admitted.
    pub(crate) fn admitted(&self, grant: &Grant) {
        self.requests.get_or_create(&self.labels(grant)).inc();
    }

    /// A request of `grant` cost `cost` dollars.
    pub(crate) fn spent(&self, grant: &Grant, cost: f64) {
        if cost.is_finite() && cost > 0.0 {
            self.spend.get_or_create(&self.labels(grant)).inc_by(cost);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::proxy::keys::store::{KeyRow, Terms};

    fn grant(alias: Option<&str>, team: Option<&str>) -> Grant {
        Grant {
            key: KeyRow {
                token: "d5b8c4".into(),
                key_name: "sk-...abcd".into(),
                key_alias: alias.map(str::to_owned),
                expires: None,
                team_id: team.map(str::to_owned),
                user_id: None,
                created_at: 0,
                terms: Terms::default(),
            },
            team: None,
        }
    }

    #[test]
    fn counted_by_alias_and_team_never_by_key_and_bounded() {
        let mut registry = Registry::default();
        let metrics = KeyMetrics::registered(&mut registry);
        metrics.admitted(&grant(Some("app-1"), Some("web")));
        metrics.spent(&grant(Some("app-1"), Some("web")), 0.25);
        metrics.admitted(&grant(None, None));
        for n in 0..MAX_LABEL_SETS + 5 {
            metrics.admitted(&grant(Some(&format!("a{n}")), None));
        }
        let mut text = String::new();
        prometheus_client::encoding::text::encode(&mut text, &registry).unwrap();
        assert!(
            text.contains(r#"key_requests_total{key_alias="app-1",team="web"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"key_spend_usd_total{key_alias="app-1",team="web"} 0.25"#),
            "{text}"
        );
        assert!(
            text.contains(r#"key_requests_total{key_alias="none",team="none"} 1"#),
            "{text}"
        );
        assert!(
            text.contains(r#"key_requests_total{key_alias="other",team="other"} 7"#),
            "{text}"
        );
        assert!(!text.contains("d5b8c4") && !text.contains("sk-"), "{text}");
    }
}
