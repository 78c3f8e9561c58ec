//! Media the provider fetches for the model: remote images downloaded under a policy and
//! sent inline, because Gemini (AI Studio) cannot fetch arbitrary URLs itself.

pub mod fetch;
pub mod layer;

pub use fetch::{FetchError, FetchPolicy, Fetched, MediaFetcher};
pub use layer::{MediaFetchLayer, MediaFetchService};
