//! OpenAI's Batch API over any provider that runs batches ([`FileProvider`](crate::layers::files::FileProvider)):
//! [`Batches`] (create, retrieve, cancel, list), the checks of a batch input file
//! ([`input`]), and its output and error files, made when read.
//!
//! | provider state | OpenAI status |
//! |---|---|
//! | pending | `validating` |
//! | running | `in_progress` (`cancelling` once cancel was asked) |
//! | succeeded | `completed` |
//! | failed | `failed` |
//! | cancelled | `cancelled` |
//! | expired | `expired` |

pub mod input;
pub(crate) mod output;
mod service;

pub use service::Batches;
