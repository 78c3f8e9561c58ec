//! The proxy: a LiteLLM-compatible OpenAI gateway for Gemini, configured with LiteLLM's
//! `config.yaml` shape. [`app::Proxy`] is a plain tower service; [`server::serve`] runs
//! it on hyper; `src/bin/llm-tower.rs` is the command line.

pub mod app;
pub mod auth;
pub mod config;
pub mod cors;
#[cfg(feature = "stand-in")]
pub mod demo;
pub(crate) mod files;
pub mod keys;
pub mod metrics;
pub(crate) mod models;
pub mod observe;
#[cfg(feature = "otel")]
pub mod otel;
pub(crate) mod passthrough;
pub(crate) mod passthrough_vertex;
pub(crate) mod readiness;
pub(crate) mod response_cache;
pub(crate) mod router_metrics;
pub mod scrape;
pub mod server;
pub mod stack;
#[cfg(feature = "stand-in")]
pub mod stand_in;
mod trace_parent;
mod unset_key;
