//! [`Credentials`]: the Google credentials a Vertex provider gets its access tokens with,
//! read from a key file, its JSON text, or the environment (application default
//! credentials), and checked when read so a bad key fails at startup, not on a request.

use std::fmt;
use std::path::Path;

use base64::Engine;
use ring::signature::RsaKeyPair;
use serde::Deserialize;

use crate::upstream::Secret;

/// Google's OAuth token endpoint, for credentials that name none.
pub const DEFAULT_TOKEN_URI: &str = "https://oauth2.googleapis.com/token";

/// The metadata server's host on Google Cloud; `GCE_METADATA_HOST` overrides it, as in
/// Google's own client libraries.
pub const DEFAULT_METADATA_HOST: &str = "metadata.google.internal";

/// Where access tokens come from.
///
/// `Debug` never shows a private key, a client secret or a refresh token.
///
/// ```
/// use llm_tower::vertex::Credentials;
///
/// let json = r#"{"type": "authorized_user", "client_id": "id", "client_secret": "s3cret",
///                "refresh_token": "1//refresh"}"#;
/// let credentials = Credentials::from_json(json)?;
/// assert!(!format!("{credentials:?}").contains("s3cret"));
/// # Ok::<(), llm_tower::vertex::CredentialsError>(())
/// ```
#[derive(Clone)]
pub enum Credentials {
    /// A service account's key file: a JWT signed with its key, exchanged at `token_uri`.
    ServiceAccount(ServiceAccount),
    /// A user's credentials from `gcloud auth application-default login`: a refresh token.
    AuthorizedUser(AuthorizedUser),
    /// Workload identity federation (the `"type": "external_account"` file): a token of
    /// another identity provider exchanged at Google's STS, then, if the file says so, for
    /// a service account's token.
    ExternalAccount(ExternalAccount),
    /// The metadata server of the Google Cloud machine the process runs on.
    Metadata {
        /// `http://{host}` (from `GCE_METADATA_HOST`, else [`DEFAULT_METADATA_HOST`]).
        base: String,
    },
}

/// A service account key (the `"type": "service_account"` key file).
#[derive(Clone)]
pub struct ServiceAccount {
    pub(crate) client_email: String,
    pub(crate) key_id: Option<String>,
    pub(crate) token_uri: String,
    pub(crate) project_id: Option<String>,
    pub(crate) key: std::sync::Arc<RsaKeyPair>,
}

/// A user's refresh-token credentials (the `"type": "authorized_user"` file).
#[derive(Clone)]
pub struct AuthorizedUser {
    pub(crate) client_id: String,
    pub(crate) client_secret: Secret,
    pub(crate) refresh_token: Secret,
    pub(crate) token_uri: String,
    pub(crate) project_id: Option<String>,
}

/// Workload identity federation credentials (the `"type": "external_account"` file, as
/// Google's AIP-4117 describes it): the subject token is read from a file or a URL at each
/// fetch, exchanged at `token_url` (RFC 8693), and the result, when
/// `service_account_impersonation_url` is set, exchanged for the service account's token.
/// AWS and executable sources are not read.
#[derive(Clone)]
pub struct ExternalAccount {
    pub(crate) audience: String,
    pub(crate) subject_token_type: String,
    pub(crate) token_url: String,
    pub(crate) impersonation_url: Option<String>,
    pub(crate) lifetime_seconds: Option<u64>,
    pub(crate) source: SubjectSource,
}

/// Where an [`ExternalAccount`]'s subject token is read.
#[derive(Clone, Debug)]
pub(crate) enum SubjectSource {
    /// A file (a Kubernetes projected token, …).
    File {
        path: String,
        /// With a JSON source, the field holding the token.
        field: Option<String>,
    },
    /// A URL answering a `GET` with these headers (Azure's instance metadata, …).
    Url {
        url: String,
        headers: Vec<(String, String)>,
        field: Option<String>,
    },
}

/// Why credentials could not be read. It names the file or the field, never a secret.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum CredentialsError {
    /// The key file could not be read.
    #[error("cannot read the credentials file {path}: {reason}")]
    Unreadable {
        /// The path.
        path: String,
        /// The I/O error.
        reason: String,
    },
    /// The text is not a credentials JSON object of a known shape.
    #[error("invalid credentials JSON: {0}")]
    Invalid(String),
    /// The `type` is one this provider cannot use.
    #[error(
        "credentials of type {0:?} are not supported (use service_account, authorized_user or external_account)"
    )]
    UnknownType(String),
    /// The service account's `private_key` is not a PEM PKCS#8 RSA key.
    #[error("the service account's private_key is not a PEM PKCS#8 RSA key")]
    BadPrivateKey,
}

/// The fields of every key file type; which are required depends on `type`.
#[derive(Deserialize)]
struct KeyFile {
    #[serde(rename = "type")]
    kind: String,
    client_email: Option<String>,
    private_key_id: Option<String>,
    private_key: Option<Secret>,
    token_uri: Option<String>,
    project_id: Option<String>,
    quota_project_id: Option<String>,
    client_id: Option<String>,
    client_secret: Option<Secret>,
    refresh_token: Option<Secret>,
    audience: Option<String>,
    subject_token_type: Option<String>,
    token_url: Option<String>,
    service_account_impersonation_url: Option<String>,
    service_account_impersonation: Option<Impersonation>,
    credential_source: Option<CredentialSource>,
}

/// An `external_account` file's `service_account_impersonation`.
#[derive(Deserialize)]
struct Impersonation {
    token_lifetime_seconds: Option<u64>,
}

/// An `external_account` file's `credential_source`.
#[derive(Deserialize)]
struct CredentialSource {
    file: Option<String>,
    url: Option<String>,
    #[serde(default)]
    headers: std::collections::BTreeMap<String, String>,
    format: Option<SourceFormat>,
    environment_id: Option<String>,
    executable: Option<serde::de::IgnoredAny>,
}

/// How a subject token is written: `text`, or `json` with the token in a field.
#[derive(Deserialize)]
struct SourceFormat {
    #[serde(rename = "type")]
    kind: String,
    subject_token_field_name: Option<String>,
}

impl Credentials {
    /// Reads a key file's JSON text.
    pub fn from_json(json: &str) -> Result<Self, CredentialsError> {
        // serde_json's message may quote the input: keep only its position.
        let file: KeyFile = serde_json::from_str(json).map_err(|error| {
            CredentialsError::Invalid(format!(
                "not a credentials object (line {}, column {})",
                error.line(),
                error.column()
            ))
        })?;
        let missing = |field: &str| CredentialsError::Invalid(format!("{field} is missing"));
        let token_uri = file
            .token_uri
            .unwrap_or_else(|| DEFAULT_TOKEN_URI.to_owned());
        match file.kind.as_str() {
            "service_account" => {
                let pem = file.private_key.ok_or_else(|| missing("private_key"))?;
                Ok(Self::ServiceAccount(ServiceAccount {
                    client_email: file.client_email.ok_or_else(|| missing("client_email"))?,
                    key_id: file.private_key_id,
                    token_uri,
                    project_id: file.project_id,
                    key: std::sync::Arc::new(parse_pkcs8_pem(pem.expose())?),
                }))
            }
            "authorized_user" => Ok(Self::AuthorizedUser(AuthorizedUser {
                client_id: file.client_id.ok_or_else(|| missing("client_id"))?,
                client_secret: file.client_secret.ok_or_else(|| missing("client_secret"))?,
                refresh_token: file.refresh_token.ok_or_else(|| missing("refresh_token"))?,
                token_uri,
                project_id: file.quota_project_id,
            })),
            "external_account" => Ok(Self::ExternalAccount(ExternalAccount {
                audience: file.audience.ok_or_else(|| missing("audience"))?,
                subject_token_type: file
                    .subject_token_type
                    .ok_or_else(|| missing("subject_token_type"))?,
                token_url: file.token_url.ok_or_else(|| missing("token_url"))?,
                impersonation_url: file.service_account_impersonation_url,
                lifetime_seconds: file
                    .service_account_impersonation
                    .and_then(|impersonation| impersonation.token_lifetime_seconds),
                source: subject_source(
                    file.credential_source
                        .ok_or_else(|| missing("credential_source"))?,
                )?,
            })),
            other => Err(CredentialsError::UnknownType(other.to_owned())),
        }
    }

    /// Reads a key file.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self, CredentialsError> {
        let path = path.as_ref();
        let json = std::fs::read_to_string(path).map_err(|error| CredentialsError::Unreadable {
            path: path.display().to_string(),
            reason: error.to_string(),
        })?;
        Self::from_json(&json)
    }

    /// LiteLLM's `vertex_credentials`: a key file's JSON text (it starts with `{`), else
    /// the key file's path.
    pub fn from_path_or_json(value: &str) -> Result<Self, CredentialsError> {
        let value = value.trim();
        if value.starts_with('{') {
            Self::from_json(value)
        } else {
            Self::from_file(value)
        }
    }

    /// The metadata server at `GCE_METADATA_HOST`, else [`DEFAULT_METADATA_HOST`].
    pub fn metadata_server() -> Self {
        let host = std::env::var("GCE_METADATA_HOST")
            .ok()
            .filter(|host| !host.is_empty())
            .unwrap_or_else(|| DEFAULT_METADATA_HOST.to_owned());
        Self::Metadata {
            base: format!("http://{host}"),
        }
    }

    /// Application default credentials: the file `GOOGLE_APPLICATION_CREDENTIALS` names,
    /// else gcloud's `application_default_credentials.json`, else the metadata server.
    pub fn from_env() -> Result<Self, CredentialsError> {
        if let Some(path) = std::env::var_os("GOOGLE_APPLICATION_CREDENTIALS") {
            return Self::from_file(path);
        }
        let gcloud = std::env::var_os("CLOUDSDK_CONFIG")
            .map(std::path::PathBuf::from)
            .or_else(|| {
                std::env::var_os("HOME").map(|home| Path::new(&home).join(".config/gcloud"))
            })
            .map(|dir| dir.join("application_default_credentials.json"));
        match gcloud {
            Some(path) if path.is_file() => Self::from_file(path),
            _ => Ok(Self::metadata_server()),
        }
    }

    /// The project the credentials belong to, when they name one.
    pub fn project_id(&self) -> Option<&str> {
        match self {
            Self::ServiceAccount(account) => account.project_id.as_deref(),
            Self::AuthorizedUser(user) => user.project_id.as_deref(),
            // Its audience names the pool's project by number, which a URL cannot use.
            Self::ExternalAccount(_) | Self::Metadata { .. } => None,
        }
    }
}

impl fmt::Debug for Credentials {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::ServiceAccount(account) => f
                .debug_struct("ServiceAccount")
                .field("client_email", &account.client_email)
                .field("token_uri", &account.token_uri)
                .finish_non_exhaustive(),
            Self::AuthorizedUser(user) => f
                .debug_struct("AuthorizedUser")
                .field("client_id", &user.client_id)
                .field("token_uri", &user.token_uri)
                .finish_non_exhaustive(),
            Self::ExternalAccount(account) => f
                .debug_struct("ExternalAccount")
                .field("audience", &account.audience)
                .field("token_url", &account.token_url)
                .field("impersonation_url", &account.impersonation_url)
                .finish_non_exhaustive(),
            Self::Metadata { base } => f.debug_struct("Metadata").field("base", base).finish(),
        }
    }
}

/// A `credential_source` this provider can read: a file or a URL, its token as text or in
/// a JSON field.
fn subject_source(source: CredentialSource) -> Result<SubjectSource, CredentialsError> {
    let unsupported = |what: &str| {
        CredentialsError::Invalid(format!(
            "credential_source: {what} sources are not supported (use file or url)"
        ))
    };
    if source.environment_id.is_some() {
        return Err(unsupported("AWS"));
    }
    if source.executable.is_some() {
        return Err(unsupported("executable"));
    }
    let field = match source.format {
        None => None,
        Some(format) if format.kind == "text" => None,
        Some(format) if format.kind == "json" => {
            Some(format.subject_token_field_name.ok_or_else(|| {
                CredentialsError::Invalid(
                    "credential_source.format.subject_token_field_name is missing".to_owned(),
                )
            })?)
        }
        Some(_) => {
            return Err(CredentialsError::Invalid(
                "credential_source.format.type must be text or json".to_owned(),
            ));
        }
    };
    match (source.file, source.url) {
        (Some(path), None) => Ok(SubjectSource::File { path, field }),
        (None, Some(url)) => Ok(SubjectSource::Url {
            url,
            headers: source.headers.into_iter().collect(),
            field,
        }),
        _ => Err(CredentialsError::Invalid(
            "credential_source needs one of file or url".to_owned(),
        )),
    }
}

/// A `-----BEGIN PRIVATE KEY-----` PEM block → an RSA key pair.
fn parse_pkcs8_pem(pem: &str) -> Result<RsaKeyPair, CredentialsError> {
    let body = pem
        .trim()
        .strip_prefix("-----BEGIN PRIVATE KEY-----")
        .and_then(|rest| rest.trim_end().strip_suffix("-----END PRIVATE KEY-----"))
        .ok_or(CredentialsError::BadPrivateKey)?;
    let base64: String = body.split_ascii_whitespace().collect();
    let der = base64::engine::general_purpose::STANDARD
        .decode(base64)
        .map_err(|_| CredentialsError::BadPrivateKey)?;
    RsaKeyPair::from_pkcs8(&der).map_err(|_| CredentialsError::BadPrivateKey)
}
