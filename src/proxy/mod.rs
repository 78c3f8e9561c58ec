//! The proxy: a LiteLLM-compatible OpenAI gateway for Gemini, configured with LiteLLM's
//! `config.yaml` shape.

pub mod config;
