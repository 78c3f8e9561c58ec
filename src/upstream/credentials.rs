//! Client-side credentials: LiteLLM's per-request `api_key` and `api_base`, checked the same
//! way by every provider before anything is sent.

use super::Secret;
use crate::error::Error;

/// Checks a request's own `api_key` / `api_base`: refused unless the provider `allowed`
/// client-side credentials, and an `api_base` only with its own `api_key`, so the configured
/// key never goes to a host the client picked.
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::upstream::credentials::check_client_credentials;
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
