//! An OpenAI-compatible server's Files and Batch API: [`OpenAiFiles`], the HTTP client,
//! its [`wire`] shapes, and [`OpenAiFileProvider`], the provider-agnostic
//! [`FileProvider`](crate::layers::files::FileProvider) that serves OpenAI's `/v1/files`
//! and `/v1/batches` for an `openai/` deployment.

mod client;
mod provider;
pub mod wire;

pub use client::{CALL_TIME, MAX_DOWNLOAD_BYTES, OpenAiFiles, TRANSFER_TIME};
pub use provider::OpenAiFileProvider;
