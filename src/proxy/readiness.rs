//! [`Readiness`]: `GET /health/readiness`. Without a query it says the config is loaded
//! (the proxy only starts with a valid one) and how many deployments it serves, with no
//! key asked, for orchestrators. With `?check=upstream` (master key required, since it
//! spends upstream calls) it makes one cheap authenticated call per deployment, all at once
//! with a time limit, and reports each; any failure makes the answer 503. A Gemini
//! deployment is asked `models.get` (`GET {api_base}/models/{model}`; for a wildcard
//! deployment the model list, one entry long), an `openai/` one its model list
//! (`GET {api_base}/models`); a deployment whose key variable is unset is unhealthy
//! without a call, and one of a provider llm-tower does not serve is not checked.

use std::time::{Duration, Instant};

use bytes::Bytes;
use futures_util::StreamExt;
use http::{Method, StatusCode};
use http_body_util::Full;
use serde::Serialize;
use tower::ServiceExt;

use super::config::{Config, LitellmParams, unserved};
use crate::edge::{EdgeBody, json_response};
use crate::gemini::{API_KEY_HEADER, DEFAULT_API_BASE, api_key_from_env};
use crate::providers::openai_compatible::{
    API_KEY_VAR as OPENAI_KEY_VAR, DEFAULT_API_BASE as OPENAI_API_BASE,
};
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
    /// The call to make, or why none is made.
    probe: Result<Probe, Unprobed>,
}

/// One cheap authenticated `GET`.
#[derive(Clone)]
struct Probe {
    url: String,
    /// The header carrying the key, and the key; `None` for a keyless server of your own.
    auth: Option<(&'static str, Secret)>,
}

/// Why a deployment is not called.
#[derive(Clone)]
enum Unprobed {
    /// Unhealthy without a call (no key).
    Unhealthy(String),
    /// Not a provider llm-tower serves.
    NotChecked(String),
}

/// The readiness answers of one proxy.
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
        let env = |name: &str| std::env::var(name).ok().filter(|value| !value.is_empty());
        let gemini_key = api_key_from_env();
        let gemini_base = env("GEMINI_API_BASE");
        let openai_key = env(OPENAI_KEY_VAR).map(Secret::new);
        let targets = config
            .model_list
            .iter()
            .map(|entry| {
                let params = &entry.litellm_params;
                let probe = match (params.provider(), &params.api_key_unset) {
                    (_, _) if unserved(&params.model).is_some() => Err(Unprobed::NotChecked(
                        "not a provider llm-tower serves".to_owned(),
                    )),
                    (_, Some(var)) => Err(Unprobed::Unhealthy(format!(
                        "no api_key: environment variable `{var}` is not set"
                    ))),
                    ("openai", None) => Ok(openai_probe(params, openai_key.as_ref())),
                    (_, None) => gemini_probe(params, gemini_base.as_deref(), gemini_key.as_ref()),
                };
                Target {
                    model_name: entry.model_name.clone(),
                    model: params.model.clone(),
                    probe,
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

/// Gemini's `models.get` (`GET {api_base}/models/{model}`; for a wildcard, the model list
/// one entry long) with the key as `x-goog-api-key`.
fn gemini_probe(
    params: &LitellmParams,
    env_base: Option<&str>,
    env_key: Option<&Secret>,
) -> Result<Probe, Unprobed> {
    let base = params
        .api_base
        .as_deref()
        .or(env_base)
        .unwrap_or(DEFAULT_API_BASE)
        .trim_end_matches('/');
    let url = match params.model_id() {
        id if id.contains('*') => format!("{base}/models?pageSize=1"),
        id => format!("{base}/models/{id}"),
    };
    let key = params
        .api_key
        .clone()
        .or_else(|| env_key.cloned())
        .ok_or_else(|| Unprobed::Unhealthy("no api_key".to_owned()))?;
    Ok(Probe {
        url,
        auth: Some((API_KEY_HEADER, key)),
    })
}

/// An OpenAI-compatible server's model list (`GET {api_base}/models`, which OpenAI, vLLM,
/// Ollama and LM Studio all serve) with the key as `Authorization: Bearer`; the
/// environment's `OPENAI_API_KEY` only for OpenAI's own endpoint, as for requests.
fn openai_probe(params: &LitellmParams, env_key: Option<&Secret>) -> Probe {
    let base = params
        .api_base
        .as_deref()
        .unwrap_or(OPENAI_API_BASE)
        .trim_end_matches('/');
    let key = params.api_key.clone().or_else(|| {
        (base == OPENAI_API_BASE)
            .then(|| env_key.cloned())
            .flatten()
    });
    Probe {
        url: format!("{base}/models"),
        auth: key.map(|key| {
            (
                "authorization",
                Secret::new(format!("Bearer {}", key.expose())),
            )
        }),
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
    let probe = match target.probe {
        Ok(probe) => probe,
        Err(Unprobed::NotChecked(why)) => {
            check.error = Some(why);
            return check;
        }
        Err(Unprobed::Unhealthy(why)) => {
            check.status = "unhealthy";
            check.error = Some(why);
            return check;
        }
    };
    let mut request = http::Request::builder().method(Method::GET).uri(&probe.url);
    if let Some((name, key)) = &probe.auth {
        request = request.header(*name, key.expose());
    }
    let request = match request.body(Full::new(Bytes::new())) {
        Ok(request) => request,
        Err(_) => {
            check.status = "unhealthy";
            check.error = Some("the api_base or the key is not valid in a request".to_owned());
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
