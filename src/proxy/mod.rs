//! The proxy: a LiteLLM-compatible OpenAI gateway for Gemini, configured with LiteLLM's
//! `config.yaml` shape. [`app::Proxy`] is a plain tower service; [`server::serve`] runs
//! it on hyper; `src/bin/llm-tower.rs` is the command line.

pub mod app;
pub mod auth;
pub mod config;
pub mod passthrough;
pub mod retry;
pub mod server;
