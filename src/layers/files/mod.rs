//! OpenAI's Files API over any provider that holds files: [`Files`] (uploads, list,
//! retrieve, content of batch results, delete), the [`FileProvider`] trait a provider
//! implements, the [`FileRegistry`] the files and [batches](crate::layers::batches)
//! services share, and signed [`ids`] that any replica reads without a database.

pub mod ids;
mod page;
mod provider;
mod registry;
mod service;

pub use page::Page;
pub use provider::{
    BatchLine, FileProvider, LineResult, ProviderBatch, ProviderFile, ProviderFuture, ProviderState,
};
pub use registry::{DEFAULT_MAX_FILE_BYTES, FileRegistry, MAX_LISTED};
pub(crate) use service::{BatchInput, FileRecord};
pub use service::{Files, NewFile};
