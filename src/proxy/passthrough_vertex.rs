//! The Vertex AI pass-through, LiteLLM's `/vertex_ai` route: a request to
//! `/vertex_ai/{version}/projects/{project}/locations/{location}/…` goes, as it is, to
//! `https://{location}-aiplatform.googleapis.com/{version}/projects/{project}/locations/{location}/…`
//! (the deployment's `api_base` if it set one), with an access token of the `vertex_ai/`
//! deployment configured for that project and location in `Authorization: Bearer`, so
//! Google's Vertex AI SDKs can go through the proxy (their base URL set to
//! `{proxy}/vertex_ai`, their token the proxy key).
//!
//! Guards: `{version}` is `v1` or `v1beta1`; the project and location are those of a
//! configured deployment (no other project's resources are reachable with its token);
//! the path has no `.`, `..`, empty or encoded-separator segments (the Gemini
//! pass-through's check). The client's credentials (its `Authorization`, key headers and
//! `key` parameter) are never forwarded: only its `Content-Type`, `Accept`, query and body
//! are. Body size, the upstream silence limit (the deployment's `timeout`), the reply cap
//! and streaming are the [Gemini pass-through](super::passthrough)'s; errors are written
//! in Google's envelope ([`google_error`](super::passthrough::google_error)).
//!
//! Source: <https://docs.litellm.ai/docs/pass_through/vertex_ai> (`/vertex_ai` routes to
//! `https://{vertex_location}-aiplatform.googleapis.com/`, credentials chosen by the
//! project and location).

use std::sync::Arc;

use bytes::Bytes;
use http::Method;
use tower::{BoxError, ServiceExt};

use super::config::Config;
use super::passthrough::{check_path, relay, target_url, upstream_request};
use crate::edge::EdgeBody;
use crate::error::{Error, ErrorKind};
use crate::providers::gemini::{DEFAULT_TIMEOUT, Error as GeminiError};
use crate::providers::vertex::{
    Bearer, Credentials, TokenSource, default_location, endpoint, resolve_project,
};
use crate::upstream::{HttpTransport, Secret};

/// The routes the Vertex AI pass-through serves: everything under `/vertex_ai/`.
pub const VERTEX_ROUTES: &str = "/vertex_ai/";

/// The API versions forwarded.
const VERSIONS: [&str; 2] = ["v1", "v1beta1"];

/// Forwards requests to the projects and locations of the `vertex_ai/` deployments.
#[derive(Clone, Debug, Default)]
pub struct VertexPassthrough {
    targets: Arc<[Target]>,
}

/// One project and location, and how to reach it.
#[derive(Clone, Debug)]
struct Target {
    project: String,
    location: String,
    /// Scheme, host and port.
    host: String,
    /// The transport with the deployment's silence limit, under its access tokens.
    service: Bearer<HttpTransport>,
}

impl VertexPassthrough {
    /// One target per project and location of the config's `vertex_ai/` deployments (the
    /// first deployment of each gives the credentials, host and `timeout`), over
    /// `transport`.
    pub fn new(config: &Config, transport: &HttpTransport) -> Self {
        let mut targets: Vec<Target> = Vec::new();
        for entry in &config.model_list {
            let params = &entry.litellm_params;
            if params.provider() != "vertex_ai" {
                continue;
            }
            let vertex = &params.vertex;
            // The deployment itself is refused at startup when its key file is; the
            // pass-through never sees one that could not be read.
            let Ok(credentials) = credentials(vertex.credentials.as_ref()) else {
                continue;
            };
            let Some(project) = resolve_project(vertex.project.clone(), &credentials) else {
                continue;
            };
            let location = vertex.location.clone().unwrap_or_else(default_location);
            if targets
                .iter()
                .any(|target| target.project == project && target.location == location)
            {
                continue;
            }
            let timeout = params
                .timeout
                .or(config.router_settings.routing.timeout)
                .unwrap_or(DEFAULT_TIMEOUT);
            let tokens = TokenSource::new(credentials, transport.clone());
            targets.push(Target {
                host: endpoint(params.api_base.as_deref(), &location),
                service: Bearer::new(transport.clone().with_timeout(timeout), tokens),
                project,
                location,
            });
        }
        Self {
            targets: targets.into(),
        }
    }

    /// Forwards one request; `rest` is the path after [`VERTEX_ROUTES`]. Errors of its own
    /// (a path outside the configured projects, no token, Vertex unreachable) are for the
    /// caller to render; Vertex's error replies are passed back as they are.
    pub async fn forward(
        &self,
        method: Method,
        rest: &str,
        query: Option<&str>,
        headers: &http::HeaderMap,
        body: Bytes,
    ) -> Result<http::Response<EdgeBody>, Error> {
        check_path(rest)?;
        let (project, location) = scope(rest).ok_or_else(|| {
            Error::new(
                ErrorKind::NotFound,
                "the Vertex AI pass-through serves /vertex_ai/{v1|v1beta1}/projects/{project}/locations/{location}/…",
            )
        })?;
        let target = self
            .targets
            .iter()
            .find(|target| target.project == project && target.location == location)
            .ok_or_else(|| {
                Error::new(
                    ErrorKind::PermissionDenied,
                    format!(
                        "no vertex_ai deployment serves project {project:?} in location {location:?}"
                    ),
                )
            })?;
        let url = target_url(&target.host, rest, query);
        let request = upstream_request(method, &url, headers, body)?;
        let response = target
            .service
            .clone()
            .oneshot(request)
            .await
            .map_err(upstream_error)?;
        relay(response).await
    }
}

/// A deployment's `vertex_credentials` (a key file's path or its JSON), else the
/// environment's application default credentials.
pub(crate) fn credentials(
    value: Option<&Secret>,
) -> Result<Credentials, crate::vertex::CredentialsError> {
    match value {
        Some(value) => Credentials::from_path_or_json(value.expose()),
        None => Credentials::from_env(),
    }
}

/// The project and location of `{version}/projects/{project}/locations/{location}[/…]`.
fn scope(rest: &str) -> Option<(&str, &str)> {
    let mut parts = rest.splitn(6, '/');
    let version = parts.next()?;
    if !VERSIONS.contains(&version) || parts.next()? != "projects" {
        return None;
    }
    let project = parts.next()?;
    if parts.next()? != "locations" {
        return None;
    }
    Some((project, parts.next()?))
}

/// A token failure (a Gemini-level error carrying its 401 or 503) or a transport failure.
fn upstream_error(error: BoxError) -> Error {
    match error.downcast::<GeminiError>() {
        Ok(error) => Error::from(*error),
        Err(error) => Error::from(error),
    }
}

#[cfg(test)]
mod tests {
    use super::scope;

    #[test]
    fn the_scope_is_the_project_and_location_after_a_known_version() {
        assert_eq!(
            scope("v1/projects/p/locations/us-central1/publishers/google/models/m:generateContent"),
            Some(("p", "us-central1"))
        );
        assert_eq!(
            scope("v1beta1/projects/p/locations/global"),
            Some(("p", "global"))
        );
        for rest in [
            "v2/projects/p/locations/l/x",
            "v1/publishers/google/models",
            "v1/projects/p/zones/l/x",
            "v1/projects/p",
            "https://evil.test/v1/projects/p/locations/l",
        ] {
            assert_eq!(scope(rest), None, "{rest}");
        }
    }
}
