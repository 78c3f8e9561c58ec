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
//!                     ▼             ModelRouter: "gemini/<model>" prefix or a configured name
//!                  [provider level] gemini::Call ⇄ gemini::Reply
//!                     ▼
//!                  [upstream HTTP]  http::Request<Full<Bytes>> ⇄ http::Response<Body>
//!                     │             upstream::Retry, then your tower / tower-http layers
//!                     ▼             upstream::HttpTransport (the innermost Service)
//!                generativelanguage.googleapis.com (or any base URL)
//! ```
//!
//! | module | level | what |
//! |---|---|---|
//! | [`edge`] | HTTP edge | OpenAI JSON/SSE ⇄ the typed services; the one place errors become JSON |
//! | [`openai`] | OpenAI | the wire types |
//! | [`anthropic`] | OpenAI | Anthropic's Messages API wire types (the `/v1/messages` front door) |
//! | [`router`], [`provider`] | OpenAI | model routing ([`ModelRouter`]); the [`Provider`] trait |
//! | [`credentials`] | OpenAI | the one rule for a request's own key and base URL |
//! | [`layers`] | OpenAI | provider-agnostic layers: schema validation, media fetch, completions, responses, messages; [`Refusable`](layers::Refusable), the named future of every layer that may refuse before the call |
//! | [`providers`] | provider | [`gemini`], [`vertex`], [`openai_compatible`](providers::openai_compatible) |
//! | [`upstream`] | upstream HTTP | transport, retry, in-flight limit, secrets, URL redaction, the per-request call context |
//! | [`context`], [`Deadline`], [`RawJson`] | leaves | the HTTP request's extensions beside a typed request; the request's deadline; raw JSON |
//! | [`sse`], [`store`] | shared | the SSE codec; cache stores |
//! | [`pricing`] | shared | what a request cost, from its usage and LiteLLM-style prices |
//! | `tokens` | shared | OpenAI's `cl100k_base` token ids and counts (feature `tiktoken`) |
//! | `proxy` | all | the LiteLLM-compatible proxy (feature `proxy`; its Gemini stand-in and `--demo`: feature `stand-in`) |
//!
//! ## Levels
//!
//! Imports run down the picture above and never back up: [`upstream`] names nothing but
//! itself and the leaves ([`Deadline`], [`Secret`]); the wire types of [`openai`] name only
//! the leaves and the OpenAI-level [`Error`]; the Gemini translation
//! ([`gemini::translate`], the pure core) names no layer (its
//! [`CachePlan`](gemini::CachePlan) lives there; the media types of file extensions are a
//! leaf it shares with the media fetcher).
//!
//! ## The seam contract
//!
//! Every provider meets the upstream HTTP level the same way, so a tower or tower-http
//! layer written once fits under each of them (the Gemini builder's and the
//! OpenAI-compatible builder's `http_layer`, `transport`, `layer`, `build_service`):
//!
//! - the request is `http::Request<Full<Bytes>>`, the reply `http::Response<B>` with a body
//!   of `Bytes` chunks; errors of the layers between convert from [`tower::BoxError`], and
//!   their causes stay reachable through `source()` (an upstream failure is the opaque
//!   [`upstream::Error`] with `is_connect()` / `is_timeout()`);
//! - the provider's HTTP layer answers with a named future,
//!   [`layers::Refusable`]: a request it refuses before sending (a body it cannot
//!   encode, an unusable URL) is answered without a call and without a box;
//! - a per-request key (a [`Secret`] among the request's extensions) is decided by one rule,
//!   [`credentials::request_key`]: that request's key where the provider accepts
//!   client credentials, a 401 elsewhere; it never travels on as an extension;
//! - the request's other extensions ride on to the upstream HTTP request, so a layer at the
//!   HTTP level reads what the application attached (a [`Deadline`], its own types);
//! - request context travels only there: the trace parent, the request id and the usage
//!   observer of the proxy are one [`CallContext`](upstream::context::CallContext) among
//!   the extensions, read by the transport, the retry and the layers that report. No
//!   task-local: a call sent from another task (tower's `Buffer`, a fan-out started while
//!   a stream is polled) keeps its trace and is counted.
//!
//! Start with [`gemini::Gemini::builder`] and [`Client`], or mount
//! [`edge::ChatEdge`] in a server; see the crate README for the proxy.

pub mod anthropic;
pub mod client;
pub mod context;
pub mod credentials;
mod deadline;
pub mod edge;
pub mod error;
pub mod layers;
mod mime;
pub mod openai;
pub mod pricing;
pub mod provider;
pub mod providers;
#[cfg(feature = "proxy")]
pub mod proxy;
mod raw_json;
pub mod router;
pub mod sse;
pub mod store;
#[cfg(feature = "tiktoken")]
pub mod tokens;
mod unix_time;
pub mod upstream;

pub use client::Client;
pub use context::{Contextual, RequestContext, ResponseNotes};
pub use deadline::Deadline;
pub use error::{Error, ErrorKind};
pub use provider::{
    ChatResponse, ChatService, ChunkStream, CompletionResponse, CompletionService,
    EmbeddingService, Provider, TextChunkStream,
};
pub use providers::gemini;
pub use providers::vertex;
pub use raw_json::RawJson;
pub use router::{Deployment, ModelRouter};
pub use upstream::Secret;

/// The README's Rust examples, compiled as doc tests (also with default features off).
#[cfg(doctest)]
#[doc = include_str!("../README.md")]
struct ReadmeExamples;
