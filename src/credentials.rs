//! Per-request credentials, decided the same way by every provider before anything is
//! sent: LiteLLM's client-side `api_key` and `api_base` in a request's body
//! ([`check_client_credentials`]), and a [`Secret`] an application put among a request's
//! extensions, its tenant's key ([`request_key`]).

use crate::error::{Error, ErrorKind};
use crate::upstream::Secret;

/// Checks a request's own `api_key` / `api_base`: refused unless the provider `allowed`
/// client-side credentials, and an `api_base` only with its own `api_key`, so the configured
/// key never goes to a host the client picked.
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::credentials::check_client_credentials;
///
/// let key = Secret::new("sk-client");
/// assert!(check_client_credentials(Some(&key), None, true).is_ok());
/// let refused = check_client_credentials(Some(&key), None, false).unwrap_err();
/// assert_eq!(refused.param(), Some("api_key"));
/// let keyless = check_client_credentials(None, Some("http://elsewhere"), true).unwrap_err();
/// assert_eq!(keyless.param(), Some("api_base"));
/// ```
pub fn check_client_credentials(
    api_key: Option<&Secret>,
    api_base: Option<&str>,
    allowed: bool,
) -> Result<(), Error> {
    if !allowed && let Some(param) = api_key.map(|_| "api_key").or(api_base.map(|_| "api_base")) {
        return Err(Error::invalid_param(
            param,
            format!(
                "{param} may not be set in requests here: this provider does not accept client-side credentials"
            ),
        ));
    }
    if api_base.is_some() && api_key.is_none() {
        return Err(Error::invalid_param(
            "api_base",
            "a request that sets api_base must also set its own api_key: the configured key is only sent to the configured endpoint",
        ));
    }
    Ok(())
}

/// The key a request is sent with, by the one rule every provider follows: the body's own
/// `api_key` (already checked by [`check_client_credentials`]), else a [`Secret`] the
/// application put among the request's `extensions`, else `None` (the provider's
/// configured key).
///
/// The [`Secret`] is always taken out of `extensions`, so it never travels on as one. Where
/// the provider does not accept per-request credentials (`allowed` is false) it is refused
/// with a 401 rather than ignored: the configured key is never billed in a tenant's stead.
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::credentials::request_key;
///
/// let mut extensions = http::Extensions::new();
/// extensions.insert(Secret::new("key-of-acme"));
/// let key = request_key(None, &mut extensions, true)?.expect("the tenant's key");
/// assert_eq!(key.expose(), "key-of-acme");
/// assert!(extensions.get::<Secret>().is_none());
///
/// extensions.insert(Secret::new("key-of-acme"));
/// assert_eq!(request_key(None, &mut extensions, false).unwrap_err().status(), 401);
/// # Ok::<(), llm_tower::Error>(())
/// ```
pub fn request_key(
    body_key: Option<Secret>,
    extensions: &mut http::Extensions,
    allowed: bool,
) -> Result<Option<Secret>, Error> {
    let own = extensions.remove::<Secret>();
    if own.is_some() && !allowed {
        return Err(Error::new(
            ErrorKind::Authentication,
            "this request carries its own API key, but this provider does not accept per-request keys (client_credentials)",
        ));
    }
    Ok(body_key.or(own))
}
