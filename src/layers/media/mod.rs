//! Media the provider fetches for the model: remote images downloaded under a policy and
//! sent inline, because Gemini (AI Studio) cannot fetch arbitrary URLs itself.
//!
//! | file | what |
//! |---|---|
//! | `fetch.rs` | [`MediaFetcher`]: the download, redirects, size and time bounds |
//! | `guard.rs` | the SSRF guard: forbidden addresses, the guarded resolver, `allowed_hosts` |
//! | `policy.rs` | [`FetchPolicy`], [`Fetched`], [`FetchError`] |
//! | `layer.rs` | [`MediaFetchLayer`]: inlines a chat request's image URLs |

pub mod fetch;
mod guard;
mod layer;
mod policy;
#[cfg(test)]
mod tests;

pub use crate::mime::mime_from_extension;
pub use fetch::{MAX_REDIRECTS, MediaFetcher};
pub use layer::{
    CONCURRENT_DOWNLOADS, MAX_IMAGES, MAX_TOTAL_BYTES, MediaFetchFuture, MediaFetchLayer,
    MediaFetchService,
};
pub use policy::{DEFAULT_MAX_BYTES, DEFAULT_TIMEOUT, FetchError, FetchPolicy, Fetched};
