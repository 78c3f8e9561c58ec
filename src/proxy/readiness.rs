//! [`Readiness`]: `GET /health/readiness`. Without a query it says the config is loaded
//! (the proxy only starts with a valid one) and how many deployments it serves, with no
//! key asked, for orchestrators. With `?check=upstream` (master key required, since it
//! spends upstream calls) it makes one cheap authenticated call per Gemini deployment,
//! `models.get` (`GET {api_base}/models/{model}`; for a wildcard deployment the model
//! list, one entry long), all at once with a time limit, and reports each; any failure makes
//! the answer 503.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, StatusCode};
use serde::Serialize;
use tower::ServiceExt;

use super::config::Config;
use crate::edge::{EdgeBody, json_response};
use crate::gemini::DEFAULT_API_BASE;
use crate::upstream::secret::Secret;
use crate::upstream::transport::HttpTransport;

/// How long one upstream check may take.
const CHECK_TIMEOUT: Duration = Duration::from_secs(10);
/// How many checks run at once.
const CHECK_CONCURRENCY: usize = 16;

/// One deployment to check.
#[derive(Clone)]
struct Target {
    model_name: String,
    model: String,
    /// `None` for a provider this check does not know how to call.
    url: Option<String>,
    key: Option<Secret>,
}

/// The readiness answers of one proxy.
///
/// ```
/// use llm_tower::proxy::{config::Config, readiness::Readiness};
/// use llm_tower::upstream::transport::HttpTransport;
///
/// let _readiness = Readiness::new(&Config::default_gemini(), HttpTransport::builder().build()?);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
#[derive(Clone)]
pub struct Readiness {
    targets: Vec<Target>,
    transport: HttpTransport,
}

impl std::fmt::Debug for Readiness {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Readiness")
            .field("deployments", &self.targets.len())
            .finish_non_exhaustive()
    }
}

#[derive(Serialize)]
struct Report<'a> {
    status: &'static str,
    db: &'static str,
    config: &'static str,
    deployments: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    upstream: Option<&'a [Check]>,
}

#[derive(Serialize)]
struct Check {
    model_name: String,
    model: String,
    status: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    latency_ms: Option<u64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    error: Option<String>,
}

impl Readiness {
    /// The deployments of `config`, checked over `transport`.
    pub fn new(config: &Config, transport: HttpTransport) -> Self {
        let env_key = std::env::var("GEMINI_API_KEY")
            .ok()
            .filter(|key| !key.is_empty())
            .map(Secret::new);
        let env_base = std::env::var("GEMINI_API_BASE")
            .ok()
            .filter(|base| !base.is_empty());
        let targets = config
            .model_list
            .iter()
            .map(|entry| {
                let params = &entry.litellm_params;
                let url = (params.provider() == "gemini").then(|| {
                    let base = params
                        .api_base
                        .clone()
                        .or_else(|| env_base.clone())
                        .unwrap_or_else(|| DEFAULT_API_BASE.to_owned());
                    let base = base.trim_end_matches('/');
                    match params.model_id() {
                        id if id.contains('*') => format!("{base}/models?pageSize=1"),
                        id => format!("{base}/models/{id}"),
                    }
                });
                Target {
                    model_name: entry.model_name.clone(),
                    model: params.model.clone(),
                    url,
                    key: params.api_key.clone().or_else(|| env_key.clone()),
                }
            })
            .collect();
        Self { targets, transport }
    }

    /// The answer; `check_upstream` calls every deployment.
    pub async fn answer(&self, check_upstream: bool) -> http::Response<EdgeBody> {
        let upstream = if check_upstream {
            let checks = futures_util::stream::iter(self.targets.iter().cloned())
                .map(|target| check(self.transport.clone(), target))
                .buffered(CHECK_CONCURRENCY)
                .collect::<Vec<_>>()
                .await;
            Some(checks)
        } else {
            None
        };
        let healthy = upstream
            .as_ref()
            .is_none_or(|checks| checks.iter().all(|check| check.status != "unhealthy"));
        let report = Report {
            status: if healthy { "healthy" } else { "unhealthy" },
            db: "Not connected",
            config: "loaded",
            deployments: self.targets.len(),
            upstream: upstream.as_deref(),
        };
        let status = if healthy {
            StatusCode::OK
        } else {
            StatusCode::SERVICE_UNAVAILABLE
        };
        json_response(status, &report)
    }
}

/// Calls one deployment.
async fn check(transport: HttpTransport, target: Target) -> Check {
    let mut check = Check {
        model_name: target.model_name,
        model: target.model,
        status: "not checked",
        latency_ms: None,
        error: None,
    };
    let Some(url) = &target.url else {
        check.error = Some("only Gemini deployments are checked".to_owned());
        return check;
    };
    let Some(key) = &target.key else {
        check.status = "unhealthy";
        check.error = Some("no api_key".to_owned());
        return check;
    };
    let request = http::Request::builder()
        .method(Method::GET)
        .uri(url)
        .header("x-goog-api-key", key.expose())
        .body(Bytes::new());
    let request = match request {
        Ok(request) => request,
        Err(_) => {
            check.status = "unhealthy";
            check.error = Some("the api_base is not a valid URL".to_owned());
            return check;
        }
    };
    let started = Instant::now();
    let answer = tokio::time::timeout(CHECK_TIMEOUT, transport.oneshot(request));
    let outcome = answer.await;
    check.latency_ms = Some(u64::try_from(started.elapsed().as_millis()).unwrap_or(u64::MAX));
    match outcome {
        Ok(Ok(response)) if response.status().is_success() => check.status = "healthy",
        Ok(Ok(response)) => {
            check.status = "unhealthy";
            check.error = Some(format!("the upstream answered {}", response.status()));
        }
        Ok(Err(error)) => {
            check.status = "unhealthy";
            check.error = Some(error.to_string());
        }
        Err(_) => {
            check.status = "unhealthy";
            check.error = Some(format!("no answer within {} s", CHECK_TIMEOUT.as_secs()));
        }
    }
    check
}
