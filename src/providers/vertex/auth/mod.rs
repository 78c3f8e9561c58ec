//! Google Cloud authentication for Vertex AI: [`Credentials`] (service-account key files,
//! authorized-user refresh tokens, the metadata server), the [`TokenSource`] that turns
//! them into cached OAuth access tokens, and the [`BearerLayer`] that sends them.
//!
//! Written here over `ring` (RS256 via `RsaKeyPair`) and the provider's own transport
//! rather than taken from a crate: `gcp_auth` and `yup-oauth2` each bring their own HTTP
//! client stack (hyper-rustls or reqwest configured apart from ours, their own TLS roots
//! and proxy settings) and `google-cloud-auth` the `google-cloud-*` runtime; all three
//! hide the token fetch from the transport the rest of the stack shares, so a test
//! stand-in, a CONNECT proxy or a time limit set on the provider would not reach it.
//! The JWT grant (RFC 7523), the refresh-token grant (RFC 6749 §6) and the metadata
//! server's token call are three small HTTP requests; what matters is the caching, the
//! single flight and the bounded fetch, which [`TokenSource`] does. Workload identity
//! federation (`external_account`, [`ExternalAccount`]) is two or three more: the subject
//! token read from a file or a URL, the STS token exchange (RFC 8693), and IAM
//! Credentials' `generateAccessToken` when the file impersonates a service account; its
//! AWS and executable sources are refused when the file is read.
//!
//! Sources: <https://google.aip.dev/auth/4117> (the `external_account` file),
//! <https://cloud.google.com/iam/docs/reference/sts/rest/v1/TopLevel/token>,
//! <https://cloud.google.com/iam/docs/reference/credentials/rest/v1/projects.serviceAccounts/generateAccessToken>.

mod bearer;
mod credentials;
mod token;

pub use bearer::{Bearer, BearerLayer};
pub use credentials::{
    AuthorizedUser, Credentials, CredentialsError, DEFAULT_METADATA_HOST, DEFAULT_TOKEN_URI,
    ExternalAccount, ServiceAccount,
};
pub use token::{
    CLOUD_PLATFORM_SCOPE, DEFAULT_TOKEN_TIMEOUT, REFRESH_AHEAD, TokenError, TokenSource,
};
