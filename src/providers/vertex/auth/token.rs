//! [`TokenSource`]: OAuth access tokens for one set of [`Credentials`], cached until
//! [`REFRESH_AHEAD`] before they expire, fetched by one caller at a time however many wait
//! (single flight), each fetch bounded by a time limit. A failed fetch answers the callers
//! that waited for it too, so a down token endpoint costs one time limit, not one per caller.

use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use bytes::Bytes;
use http::header::CONTENT_TYPE;
use http_body_util::Full;
use ring::rand::SystemRandom;
use serde::Deserialize;
use tokio::time::Instant;
use tower::util::BoxCloneSyncService;
use tower::{BoxError, ServiceExt};

use super::credentials::{Credentials, ExternalAccount, ServiceAccount, SubjectSource};
use crate::upstream::Secret;
use crate::upstream::reply::{read_body, read_error_body};

/// The OAuth scope every Vertex AI call needs.
pub const CLOUD_PLATFORM_SCOPE: &str = "https://www.googleapis.com/auth/cloud-platform";

/// A token is renewed when it has less than this left. Shorter than the GCE metadata
/// server's own 5-minute window (it hands out the same token until then, so renewing at
/// 5 minutes would fetch on every request for a while); google-cloud-go uses 225 s too.
pub const REFRESH_AHEAD: Duration = Duration::from_secs(225);

/// The default bound on one token fetch (connect, send, read).
pub const DEFAULT_TOKEN_TIMEOUT: Duration = Duration::from_secs(10);

/// The largest token reply read.
const MAX_TOKEN_REPLY: usize = 64 * 1024;

/// The HTTP client tokens are fetched with (the provider's own transport, boxed).
type TokenClient = BoxCloneSyncService<
    http::Request<Full<Bytes>>,
    http::Response<crate::upstream::body::UpstreamBody>,
    BoxError,
>;

/// Why no access token could be had. The message never holds a secret.
#[derive(Clone, Debug, thiserror::Error)]
#[non_exhaustive]
pub enum TokenError {
    /// The token endpoint refused the credentials (a `4xx`): not worth retrying at once.
    #[error("Google refused the Vertex AI credentials at {endpoint}: {reason}")]
    Refused {
        /// The token endpoint (without query).
        endpoint: String,
        /// Google's `error` / `error_description`, or the status.
        reason: String,
    },
    /// The token endpoint is down, slow, or answered something that is not a token.
    #[error("no Vertex AI access token from {endpoint}: {reason}")]
    Unavailable {
        /// The token endpoint (without query).
        endpoint: String,
        /// What went wrong.
        reason: String,
    },
}

/// A cached token and when it stops being good.
#[derive(Clone)]
struct Token {
    value: Secret,
    expires: Instant,
}

/// Access tokens for one set of credentials; clones share the cache.
///
/// ```no_run
/// use llm_tower::upstream::HttpTransport;
/// use llm_tower::vertex::{Credentials, TokenSource};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let source = TokenSource::new(Credentials::from_env()?, HttpTransport::builder().build()?);
/// let token = source.token().await?; // fetched once, then cached until near expiry
/// # let _ = token;
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct TokenSource {
    shared: Arc<Shared>,
}

struct Shared {
    credentials: Credentials,
    client: TokenClient,
    timeout: Duration,
    cached: Mutex<Cache>,
    /// Held by the one caller fetching; the others wait on it, then read the cache.
    flight: tokio::sync::Mutex<()>,
}

/// The token and the outcome of the last fetch.
#[derive(Default)]
struct Cache {
    token: Option<Token>,
    /// Counts the fetches that ended: a caller that waited while it moved had its fetch
    /// done for it.
    generation: u64,
    /// The error of the last fetch, if it failed.
    failed: Option<TokenError>,
}

impl std::fmt::Debug for TokenSource {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TokenSource")
            .field("credentials", &self.shared.credentials)
            .field("timeout", &self.shared.timeout)
            .finish_non_exhaustive()
    }
}

impl TokenSource {
    /// Fetches tokens for `credentials` through `client` (an
    /// [`HttpTransport`](crate::upstream::HttpTransport), or any HTTP client service), each
    /// fetch bounded by [`DEFAULT_TOKEN_TIMEOUT`].
    pub fn new<S, E>(credentials: Credentials, client: S) -> Self
    where
        S: tower_service::Service<
                http::Request<Full<Bytes>>,
                Response = http::Response<crate::upstream::body::UpstreamBody>,
                Error = E,
            > + Clone
            + Send
            + Sync
            + 'static,
        S::Future: Send + 'static,
        E: Into<BoxError> + 'static,
    {
        Self {
            shared: Arc::new(Shared {
                credentials,
                client: BoxCloneSyncService::new(client.map_err(Into::into)),
                timeout: DEFAULT_TOKEN_TIMEOUT,
                cached: Mutex::default(),
                flight: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// Bounds each token fetch by `timeout` (default [`DEFAULT_TOKEN_TIMEOUT`]).
    pub fn with_timeout(self, timeout: Duration) -> Self {
        let shared = &self.shared;
        Self {
            shared: Arc::new(Shared {
                credentials: shared.credentials.clone(),
                client: shared.client.clone(),
                timeout,
                cached: Mutex::default(),
                flight: tokio::sync::Mutex::new(()),
            }),
        }
    }

    /// The credentials.
    pub fn credentials(&self) -> &Credentials {
        &self.shared.credentials
    }

    /// A token with more than [`REFRESH_AHEAD`] left: the cached one, else a new one. While
    /// one caller fetches, the others wait for its token instead of fetching their own.
    /// A fetch that fails answers the callers waiting for it with its error.
    pub async fn token(&self) -> Result<Secret, TokenError> {
        let generation = {
            let cache = self.lock();
            if let Some(token) = fresh(&cache) {
                return Ok(token);
            }
            cache.generation
        };
        let _flight = self.shared.flight.lock().await;
        {
            let cache = self.lock();
            if let Some(token) = fresh(&cache) {
                return Ok(token);
            }
            if cache.generation != generation
                && let Some(error) = &cache.failed
            {
                return Err(error.clone());
            }
        }
        let endpoint = self.endpoint();
        let fetched = tokio::time::timeout(self.shared.timeout, self.fetch(&endpoint))
            .await
            .unwrap_or_else(|_| {
                Err(TokenError::Unavailable {
                    endpoint: endpoint.clone(),
                    reason: format!("no answer within {:?}", self.shared.timeout),
                })
            });
        let mut cache = self.lock();
        cache.generation += 1;
        match fetched {
            Ok(token) => {
                let value = token.value.clone();
                cache.token = Some(token);
                cache.failed = None;
                Ok(value)
            }
            Err(error) => {
                tracing::warn!(%error, "Vertex AI token fetch failed");
                cache.failed = Some(error.clone());
                Err(error)
            }
        }
    }

    /// Forgets `stale` (a token the upstream refused with `401`), so the next
    /// [`token`](Self::token) fetches a new one; a newer token already cached stays.
    pub fn invalidate(&self, stale: &Secret) {
        let mut cache = self.lock();
        if cache
            .token
            .as_ref()
            .is_some_and(|token| &token.value == stale)
        {
            cache.token = None;
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Cache> {
        self.shared
            .cached
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Where tokens come from, for messages.
    fn endpoint(&self) -> String {
        match &self.shared.credentials {
            Credentials::ServiceAccount(account) => account.token_uri.clone(),
            Credentials::AuthorizedUser(user) => user.token_uri.clone(),
            Credentials::ExternalAccount(account) => account.token_url.clone(),
            Credentials::Metadata { base } => format!("{base}{METADATA_TOKEN_PATH}"),
        }
    }

    async fn fetch(&self, endpoint: &str) -> Result<Token, TokenError> {
        let unavailable = |reason: String| TokenError::Unavailable {
            endpoint: endpoint.to_owned(),
            reason,
        };
        let request = match &self.shared.credentials {
            Credentials::ExternalAccount(account) => return self.federate(account).await,
            Credentials::ServiceAccount(account) => {
                let assertion = sign_jwt(account, SystemTime::now()).map_err(unavailable)?;
                form_post(
                    endpoint,
                    &[
                        ("grant_type", "urn:ietf:params:oauth:grant-type:jwt-bearer"),
                        ("assertion", &assertion),
                    ],
                )
            }
            Credentials::AuthorizedUser(user) => form_post(
                endpoint,
                &[
                    ("grant_type", "refresh_token"),
                    ("client_id", &user.client_id),
                    ("client_secret", user.client_secret.expose()),
                    ("refresh_token", user.refresh_token.expose()),
                ],
            ),
            Credentials::Metadata { .. } => http::Request::get(endpoint)
                .header("metadata-flavor", "Google")
                .body(Full::default()),
        }
        .map_err(|error| unavailable(format!("invalid token endpoint: {error}")))?;
        let started = Instant::now();
        let reply: TokenReply = self.exchange(endpoint, request).await?;
        reply.into_token(started, endpoint)
    }

    /// Workload identity federation: the subject token, exchanged at the STS, then for
    /// the service account's token when the credentials impersonate one.
    async fn federate(&self, account: &ExternalAccount) -> Result<Token, TokenError> {
        let subject = self.subject_token(account).await?;
        let started = Instant::now();
        let request = form_post(
            &account.token_url,
            &[
                (
                    "grant_type",
                    "urn:ietf:params:oauth:grant-type:token-exchange",
                ),
                ("audience", &account.audience),
                ("scope", CLOUD_PLATFORM_SCOPE),
                (
                    "requested_token_type",
                    "urn:ietf:params:oauth:token-type:access_token",
                ),
                ("subject_token", subject.expose()),
                ("subject_token_type", &account.subject_token_type),
            ],
        )
        .map_err(|error| TokenError::Unavailable {
            endpoint: account.token_url.clone(),
            reason: format!("invalid token endpoint: {error}"),
        })?;
        let federated = self
            .exchange::<TokenReply>(&account.token_url, request)
            .await?
            .into_token(started, &account.token_url)?;
        let Some(url) = &account.impersonation_url else {
            return Ok(federated);
        };
        let invalid = |reason: String| TokenError::Unavailable {
            endpoint: url.clone(),
            reason,
        };
        let lifetime = account.lifetime_seconds.unwrap_or(3600);
        let body = serde_json::json!({"scope": [CLOUD_PLATFORM_SCOPE], "lifetime": format!("{lifetime}s")});
        let mut request = http::Request::post(url.as_str())
            .header(CONTENT_TYPE, "application/json")
            .body(Full::new(Bytes::from(body.to_string())))
            .map_err(|error| invalid(format!("invalid impersonation URL: {error}")))?;
        let bearer = federated
            .value
            .bearer_header_value()
            .ok_or_else(|| invalid("the STS token is not a header value".to_owned()))?;
        request
            .headers_mut()
            .insert(http::header::AUTHORIZATION, bearer);
        let started = SystemTime::now();
        let reply: ImpersonatedReply = self.exchange(url, request).await?;
        if reply.access_token.expose().is_empty() {
            return Err(invalid("the reply holds an empty token".to_owned()));
        }
        let expires = humantime::parse_rfc3339_weak(&reply.expire_time)
            .ok()
            .and_then(|at| at.duration_since(started).ok())
            .ok_or_else(|| invalid("the reply's expireTime is not a time ahead".to_owned()))?;
        Ok(Token {
            value: reply.access_token,
            expires: Instant::now() + expires,
        })
    }

    /// The subject token of `account`'s source (at most [`MAX_TOKEN_REPLY`] bytes), as
    /// text or from its JSON field.
    async fn subject_token(&self, account: &ExternalAccount) -> Result<Secret, TokenError> {
        let (origin, field, bytes) = match &account.source {
            SubjectSource::File { path, field } => {
                let unreadable = |reason: String| TokenError::Unavailable {
                    endpoint: path.clone(),
                    reason,
                };
                let owned = path.clone();
                let bytes = tokio::task::spawn_blocking(move || read_limited(&owned))
                    .await
                    .map_err(|error| unreadable(error.to_string()))?
                    .map_err(|error| unreadable(error.to_string()))?;
                (path, field, bytes)
            }
            SubjectSource::Url {
                url,
                headers,
                field,
            } => {
                let mut request = http::Request::get(url.as_str());
                for (name, value) in headers {
                    request = request.header(name.as_str(), value.as_str());
                }
                let request =
                    request
                        .body(Full::default())
                        .map_err(|error| TokenError::Unavailable {
                            endpoint: url.clone(),
                            reason: format!("invalid credential_source: {error}"),
                        })?;
                let bytes: Bytes = self.exchange_raw(url, request).await?;
                (url, field, bytes.to_vec())
            }
        };
        let unusable = |reason: &str| TokenError::Unavailable {
            endpoint: origin.clone(),
            reason: reason.to_owned(),
        };
        let token = match field {
            None => {
                String::from_utf8(bytes).map_err(|_| unusable("the subject token is not text"))?
            }
            Some(field) => {
                let json: serde_json::Map<String, serde_json::Value> =
                    serde_json::from_slice(&bytes)
                        .map_err(|_| unusable("the subject token source is not a JSON object"))?;
                json.get(field)
                    .and_then(serde_json::Value::as_str)
                    .map(str::to_owned)
                    .ok_or_else(|| unusable("the subject token's field is missing"))?
            }
        };
        let token = token.trim();
        if token.is_empty() {
            return Err(unusable("the subject token is empty"));
        }
        Ok(Secret::new(token))
    }

    /// Sends `request` to a token endpoint and reads its JSON reply as `T`; a `4xx` is
    /// [`TokenError::Refused`] with the OAuth error, anything else that fails
    /// [`TokenError::Unavailable`].
    async fn exchange<T: serde::de::DeserializeOwned>(
        &self,
        endpoint: &str,
        request: http::Request<Full<Bytes>>,
    ) -> Result<T, TokenError> {
        let body = self.exchange_raw(endpoint, request).await?;
        serde_json::from_slice(&body).map_err(|_| TokenError::Unavailable {
            endpoint: endpoint.to_owned(),
            reason: "the reply is not an OAuth token".to_owned(),
        })
    }

    /// As [`exchange`](Self::exchange), the reply's bytes.
    async fn exchange_raw(
        &self,
        endpoint: &str,
        request: http::Request<Full<Bytes>>,
    ) -> Result<Bytes, TokenError> {
        let unavailable = |reason: String| TokenError::Unavailable {
            endpoint: endpoint.to_owned(),
            reason,
        };
        let response = self
            .shared
            .client
            .clone()
            .oneshot(request)
            .await
            .map_err(|error| unavailable(crate::upstream::Error::sending(error).to_string()))?;
        let (parts, body) = response.into_parts();
        if !parts.status.is_success() {
            let body = read_error_body(body).await;
            let reason = serde_json::from_slice::<OauthError>(&body)
                .map(|error| match error.error_description {
                    Some(description) => format!("{}: {description}", error.error),
                    None => error.error,
                })
                .unwrap_or_else(|_| format!("status {}", parts.status));
            return Err(if parts.status.is_client_error() {
                TokenError::Refused {
                    endpoint: endpoint.to_owned(),
                    reason,
                }
            } else {
                unavailable(reason)
            });
        }
        read_body(body, MAX_TOKEN_REPLY)
            .await
            .map_err(|error| unavailable(error.to_string()))
    }
}

/// A file's first [`MAX_TOKEN_REPLY`] bytes; a longer file is an error.
fn read_limited(path: &str) -> std::io::Result<Vec<u8>> {
    use std::io::Read;
    let mut bytes = Vec::new();
    std::fs::File::open(path)?
        .take(MAX_TOKEN_REPLY as u64 + 1)
        .read_to_end(&mut bytes)?;
    if bytes.len() > MAX_TOKEN_REPLY {
        return Err(std::io::Error::other("the subject token file is too large"));
    }
    Ok(bytes)
}

/// The cached token if it has more than [`REFRESH_AHEAD`] left.
fn fresh(cache: &Cache) -> Option<Secret> {
    let token = cache.token.as_ref()?;
    (token.expires.saturating_duration_since(Instant::now()) > REFRESH_AHEAD)
        .then(|| token.value.clone())
}

/// The metadata server's token path (the instance's default service account).
const METADATA_TOKEN_PATH: &str = "/computeMetadata/v1/instance/service-accounts/default/token";

/// A token endpoint's success body.
#[derive(Deserialize)]
struct TokenReply {
    access_token: Secret,
    expires_in: Option<u64>,
}

impl TokenReply {
    /// The token, good for `expires_in` (an hour if unsaid) from `started`; an empty one
    /// is an error.
    fn into_token(self, started: Instant, endpoint: &str) -> Result<Token, TokenError> {
        if self.access_token.expose().is_empty() {
            return Err(TokenError::Unavailable {
                endpoint: endpoint.to_owned(),
                reason: "the reply holds an empty token".to_owned(),
            });
        }
        Ok(Token {
            value: self.access_token,
            expires: started + Duration::from_secs(self.expires_in.unwrap_or(3600)),
        })
    }
}

/// IAM Credentials' `generateAccessToken` reply.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ImpersonatedReply {
    access_token: Secret,
    expire_time: String,
}

/// A token endpoint's error body (RFC 6749 §5.2).
#[derive(Deserialize)]
struct OauthError {
    error: String,
    error_description: Option<String>,
}

/// A form-encoded POST.
fn form_post(
    endpoint: &str,
    fields: &[(&str, &str)],
) -> Result<http::Request<Full<Bytes>>, http::Error> {
    let body = url::form_urlencoded::Serializer::new(String::new())
        .extend_pairs(fields)
        .finish();
    http::Request::post(endpoint)
        .header(CONTENT_TYPE, "application/x-www-form-urlencoded")
        .body(Full::new(Bytes::from(body)))
}

/// The service account's RS256-signed JWT assertion (RFC 7523), good for an hour from `now`.
pub(crate) fn sign_jwt(account: &ServiceAccount, now: SystemTime) -> Result<String, String> {
    #[derive(serde::Serialize)]
    struct Header<'a> {
        alg: &'static str,
        typ: &'static str,
        #[serde(skip_serializing_if = "Option::is_none")]
        kid: Option<&'a str>,
    }
    #[derive(serde::Serialize)]
    struct Claims<'a> {
        iss: &'a str,
        scope: &'static str,
        aud: &'a str,
        iat: u64,
        exp: u64,
    }
    let iat = now
        .duration_since(UNIX_EPOCH)
        .map_err(|_| "the clock is before 1970".to_owned())?
        .as_secs();
    let header = Header {
        alg: "RS256",
        typ: "JWT",
        kid: account.key_id.as_deref(),
    };
    let claims = Claims {
        iss: &account.client_email,
        scope: CLOUD_PLATFORM_SCOPE,
        aud: &account.token_uri,
        iat,
        exp: iat + 3600,
    };
    let signing_input = format!("{}.{}", base64_json(&header), base64_json(&claims));
    let mut signature = vec![0; account.key.public().modulus_len()];
    account
        .key
        .sign(
            &ring::signature::RSA_PKCS1_SHA256,
            &SystemRandom::new(),
            signing_input.as_bytes(),
            &mut signature,
        )
        .map_err(|_| "cannot sign the JWT with the service account's key".to_owned())?;
    Ok(format!(
        "{signing_input}.{}",
        URL_SAFE_NO_PAD.encode(signature)
    ))
}

/// JSON → unpadded base64url, for the JWT's two JSON parts.
fn base64_json<T: serde::Serialize>(value: &T) -> String {
    // Serializing these plain structs cannot fail.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(value).unwrap_or_default())
}
