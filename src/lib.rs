//! # llm-tower
//!
//! An OpenAI-compatible API (chat completions, SSE streaming, embeddings) with Google Gemini
//! behind it, built as composable [tower] layers — what LiteLLM's `gemini/` provider is for
//! Python, as a Rust library you mount in your own axum or hyper server, plus a proxy
//! binary (`llm-tower --config config.yaml`) that reads LiteLLM's config shape.
//!
//! ```text
//!  client ──HTTP──▶ [edge]          http::Request (OpenAI JSON)  ⇄  http::Response (JSON or SSE)
//!                     ▼             the only place errors become OpenAI error JSON
//!                  [OpenAI level]   ChatRequest ⇄ ChatResponse::{Completion, Stream}
//!                     │             EmbeddingRequest ⇄ EmbeddingResponse
//!                     ▼             Router: "gemini/<model>" prefix or a configured name
//!                  [provider level] gemini::Call ⇄ gemini::Reply
//!                     ▼
//!                  [upstream HTTP]  http::Request<Bytes> ⇄ http::Response<Body>
//!                     ▼             HttpTransport (the innermost Service)
//!                generativelanguage.googleapis.com (or any base URL)
//! ```
//!
//! Start with [`gemini::Gemini::builder`] and [`Client`], or mount
//! [`edge::ChatEdge`] in a server; see the crate README for the proxy.

pub mod cache_store;
pub mod client;
pub mod completions;
pub mod edge;
pub mod error;
pub mod gemini;
pub mod media;
pub mod openai;
pub mod provider;
pub mod proxy;
pub mod raw_json;
pub mod router;
pub mod secret;
pub mod sse;

pub use client::Client;
pub use error::{Error, ErrorKind};
pub use provider::{
    ChatResponse, ChatService, ChunkStream, CompletionResponse, CompletionService,
    EmbeddingService, Provider, TextChunkStream,
};
pub use raw_json::RawJson;
pub use router::{Deployment, Router};
pub use secret::Secret;
