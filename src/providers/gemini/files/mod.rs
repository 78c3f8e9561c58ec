//! Gemini's Files API and Batch Mode: [`GeminiFiles`], the HTTP client (resumable upload,
//! get, delete, download of generated files; batch create, get, cancel), its
//! [`wire`] shapes, and [`GeminiFileProvider`], Gemini's implementation of the
//! provider-agnostic [`FileProvider`](crate::layers::files::FileProvider) that serves
//! OpenAI's `/v1/files` and `/v1/batches`.

mod client;
mod provider;
pub mod wire;

pub use client::{BatchMethod, CALL_TIME, GeminiFiles, MAX_DOWNLOAD_BYTES, TRANSFER_TIME};
pub use provider::GeminiFileProvider;
