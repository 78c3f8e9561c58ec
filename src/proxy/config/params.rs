//! Which `litellm_params` keys a deployment keeps. Nothing unknown ever reaches an upstream
//! body: a key is kept only when it is a provider param llm-tower knows
//! ([`PROVIDER_PARAMS`], merged into each request as its default), a key the router or the
//! price table reads ([`ROUTER_KEYS`], [`PRICE_KEYS`]; never sent), or one of the typed
//! settings (`model`, `api_key`, `api_base`, `timeout`, `max_retries`,
//! `max_parallel_requests`, `organization`). Every other key is dropped with a startup
//! warning naming it.

use crate::pricing::PRICE_KEYS;

/// Provider params a deployment may set as request defaults: OpenAI's chat params, the
/// Gemini params llm-tower maps (its `GenerationConfig` keys in snake case among them), and
/// the sampling params OpenAI-compatible servers (vLLM, Ollama) take beside OpenAI's.
pub(crate) const PROVIDER_PARAMS: &[&str] = &[
    // OpenAI's chat params.
    "temperature",
    "top_p",
    "n",
    "stop",
    "max_tokens",
    "max_completion_tokens",
    "presence_penalty",
    "frequency_penalty",
    "logit_bias",
    "logprobs",
    "top_logprobs",
    "seed",
    "user",
    "tools",
    "tool_choice",
    "parallel_tool_calls",
    "response_format",
    "modalities",
    "reasoning_effort",
    "service_tier",
    "audio",
    "web_search_options",
    // LiteLLM's own.
    "drop_params",
    "thinking",
    "safety_settings",
    // Gemini's, mapped.
    "top_k",
    "cached_content",
    "candidate_count",
    "max_output_tokens",
    "stop_sequences",
    "response_mime_type",
    "response_schema",
    "response_json_schema",
    "response_modalities",
    "response_logprobs",
    "thinking_config",
    "speech_config",
    "image_config",
    "media_resolution",
    "enable_enhanced_civic_answers",
    "routing_config",
    // OpenAI-compatible servers' sampling params.
    "min_p",
    "repetition_penalty",
];

/// `litellm_params` keys LiteLLM's router reads: kept for the router, never sent upstream.
pub(crate) const ROUTER_KEYS: &[&str] = &[
    "rpm",
    "tpm",
    "weight",
    "order",
    "tags",
    "stream_timeout",
    "custom_llm_provider",
    "region_name",
];

/// Whether a `litellm_params` key (other than the typed settings) is kept.
pub(crate) fn is_kept(key: &str) -> bool {
    PROVIDER_PARAMS.contains(&key) || ROUTER_KEYS.contains(&key) || PRICE_KEYS.contains(&key)
}

/// Whether a kept key is a provider param (sent as a request default), not one the router
/// or the price table reads.
pub(crate) fn is_provider_param(key: &str) -> bool {
    PROVIDER_PARAMS.contains(&key)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn provider_params_router_keys_and_prices_are_kept_others_not() {
        for key in ["temperature", "safety_settings", "top_k", "rpm", "tags"] {
            assert!(is_kept(key), "{key}");
        }
        assert!(is_kept("input_cost_per_token"));
        for key in [
            "organization",
            "api_version",
            "vertex_project",
            "extra_headers",
            "",
        ] {
            assert!(!is_kept(key), "{key}");
        }
        assert!(is_provider_param("top_k"));
        assert!(!is_provider_param("tags"));
        assert!(!is_provider_param("input_cost_per_token"));
    }

    #[test]
    fn the_lists_do_not_overlap() {
        for key in PROVIDER_PARAMS {
            assert!(
                !ROUTER_KEYS.contains(key) && !PRICE_KEYS.contains(key),
                "{key}"
            );
        }
    }
}
