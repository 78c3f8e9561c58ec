//! CORS for browser clients (playgrounds, web UIs): tower-http's `CorsLayer` for the
//! origins given with `--cors-origins` (`*` for any). Pre-flight `OPTIONS` requests are
//! answered by the layer, without the master key; the real requests still need it.
//! Without origins there is no CORS layer at all (browsers then refuse cross-origin calls).

use std::time::Duration;

use http::{HeaderName, HeaderValue, Method};
use tower_http::cors::{AllowHeaders, AllowOrigin, CorsLayer};

/// How long a browser may reuse a pre-flight answer.
const MAX_AGE: Duration = Duration::from_secs(600);

/// Why a `--cors-origins` entry was refused.
#[derive(Debug, thiserror::Error)]
#[error("--cors-origins: {origin:?} is not an origin (scheme://host[:port], or *)")]
pub struct CorsError {
    origin: String,
}

/// The CORS layer for a comma-separated origin list (`https://a.example,http://localhost:3000`,
/// or `*`); `None` for an empty list.
///
/// ```
/// use llm_tower::proxy::cors::cors_layer;
///
/// assert!(cors_layer("https://playground.example").unwrap().is_some());
/// assert!(cors_layer("").unwrap().is_none());
/// assert!(cors_layer("not an origin").is_err());
/// ```
pub fn cors_layer(origins: &str) -> Result<Option<CorsLayer>, CorsError> {
    let origins: Vec<&str> = origins
        .split(',')
        .map(str::trim)
        .filter(|origin| !origin.is_empty())
        .collect();
    if origins.is_empty() {
        return Ok(None);
    }
    let allow = if origins.contains(&"*") {
        AllowOrigin::any()
    } else {
        let values = origins
            .iter()
            .map(|origin| parse_origin(origin))
            .collect::<Result<Vec<_>, _>>()?;
        AllowOrigin::list(values)
    };
    Ok(Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::DELETE, Method::OPTIONS])
            // `Authorization` cannot be allowed by a wildcard; echo what the browser asks.
            .allow_headers(AllowHeaders::mirror_request())
            .expose_headers([
                HeaderName::from_static("x-request-id"),
                HeaderName::from_static("x-litellm-call-id"),
                http::header::RETRY_AFTER,
            ])
            .max_age(MAX_AGE),
    ))
}

/// `scheme://host[:port]` with nothing after it, as browsers send in `Origin`.
fn parse_origin(origin: &str) -> Result<HeaderValue, CorsError> {
    let refuse = || CorsError {
        origin: origin.to_owned(),
    };
    let url = url::Url::parse(origin).map_err(|_| refuse())?;
    let bare = url.path() == "/" && url.query().is_none() && url.fragment().is_none();
    if !matches!(url.scheme(), "http" | "https")
        || url.host_str().is_none()
        || !bare
        || origin.ends_with('/')
    {
        return Err(refuse());
    }
    HeaderValue::from_str(origin).map_err(|_| refuse())
}
