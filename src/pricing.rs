//! What a request cost, from its [`Usage`] and a [`ModelPrice`] in LiteLLM's vocabulary
//! (`input_cost_per_token`, `cache_read_input_token_cost`, …, US dollars per token).
//!
//! The usage is read with LiteLLM's meaning: `prompt_tokens` counts every input token
//! (cached ones included), `prompt_tokens_details` splits it by modality as sent, with the
//! cache reads in `cached_tokens` (and `cached_tokens_details` by modality);
//! `completion_tokens` counts every output token, split in `completion_tokens_details`.
//!
//! | tokens | price |
//! |---|---|
//! | input, not read from a cache | `input_cost_per_token` (audio: `input_cost_per_audio_token`, images: `input_cost_per_image_token`, when set) |
//! | input read from a cache | `cache_read_input_token_cost` (else the input price) |
//! | input written to a cache (`cache_creation_input_tokens`) | `cache_creation_input_token_cost` (else the input price) |
//! | output text | `output_cost_per_token` |
//! | output reasoning, images, audio | `output_cost_per_reasoning_token`, `output_cost_per_image_token`, `output_cost_per_audio_token` (else the output price) |
//!
//! A prompt above 200,000 tokens takes the `…_above_200k_tokens` prices where the model has
//! them (Gemini's Pro models), for its input, cache reads and output alike.

use std::collections::HashMap;

use serde::{Deserialize, Serialize};

use crate::openai::Usage;
use crate::openai::chat::round_dollars as round;

/// Prompt size above which the `…_above_200k_tokens` prices apply.
pub const LONG_PROMPT_TOKENS: u64 = 200_000;

/// The keys of a [`ModelPrice`] (LiteLLM's names), as a config may give them.
pub const PRICE_KEYS: &[&str] = &[
    "input_cost_per_token",
    "output_cost_per_token",
    "input_cost_per_token_above_200k_tokens",
    "output_cost_per_token_above_200k_tokens",
    "cache_read_input_token_cost",
    "cache_read_input_token_cost_above_200k_tokens",
    "cache_creation_input_token_cost",
    "cache_storage_cost_per_token_hour",
    "input_cost_per_audio_token",
    "input_cost_per_image_token",
    "output_cost_per_reasoning_token",
    "output_cost_per_image_token",
    "output_cost_per_audio_token",
    "input_cost_per_token_batches",
    "output_cost_per_token_batches",
];

/// The prices of one model, in US dollars per token, under LiteLLM's key names.
///
/// ```
/// use llm_tower::pricing::ModelPrice;
/// use llm_tower::openai::Usage;
///
/// let price = ModelPrice::new(3e-7, 2.5e-6);
/// let usage = Usage::new(1000, 100);
/// assert!((price.cost(&usage) - 0.00055).abs() < 1e-12);
/// ```
#[derive(Debug, Clone, Copy, Default, PartialEq, Serialize, Deserialize)]
pub struct ModelPrice {
    /// Input tokens.
    pub input_cost_per_token: f64,
    /// Output tokens.
    pub output_cost_per_token: f64,
    /// Input tokens of a prompt above 200k tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cost_per_token_above_200k_tokens: Option<f64>,
    /// Output tokens after a prompt above 200k tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_cost_per_token_above_200k_tokens: Option<f64>,
    /// Input tokens read from a cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_token_cost: Option<f64>,
    /// Cache reads of a prompt above 200k tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_token_cost_above_200k_tokens: Option<f64>,
    /// Input tokens written to a cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_token_cost: Option<f64>,
    /// Keeping one token in a cache for an hour.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_storage_cost_per_token_hour: Option<f64>,
    /// Audio input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cost_per_audio_token: Option<f64>,
    /// Image input tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cost_per_image_token: Option<f64>,
    /// Reasoning (thinking) output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_cost_per_reasoning_token: Option<f64>,
    /// Image output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_cost_per_image_token: Option<f64>,
    /// Audio output tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_cost_per_audio_token: Option<f64>,
    /// Input tokens of a batch (else half the input price, as Google's Batch Mode bills).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub input_cost_per_token_batches: Option<f64>,
    /// Output tokens of a batch (else half the output price).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_cost_per_token_batches: Option<f64>,
}

impl ModelPrice {
    /// A flat price: every input token at `input`, every output token at `output`.
    pub fn new(input: f64, output: f64) -> Self {
        Self {
            input_cost_per_token: input,
            output_cost_per_token: output,
            ..Self::default()
        }
    }

    /// The price of the same tokens sent in a batch: the `…_batches` prices where given,
    /// every other price halved (Gemini's Batch Mode bills half the live price, cache
    /// reads and long prompts included: <https://ai.google.dev/gemini-api/docs/batch-mode>).
    ///
    /// ```
    /// use llm_tower::pricing::ModelPrice;
    ///
    /// let batch = ModelPrice::new(3e-7, 2.5e-6).batch();
    /// assert_eq!((batch.input_cost_per_token, batch.output_cost_per_token), (1.5e-7, 1.25e-6));
    /// ```
    pub fn batch(&self) -> Self {
        let half = |price: Option<f64>| price.map(|price| price / 2.0);
        Self {
            input_cost_per_token: self
                .input_cost_per_token_batches
                .unwrap_or(self.input_cost_per_token / 2.0),
            output_cost_per_token: self
                .output_cost_per_token_batches
                .unwrap_or(self.output_cost_per_token / 2.0),
            input_cost_per_token_above_200k_tokens: half(
                self.input_cost_per_token_above_200k_tokens,
            ),
            output_cost_per_token_above_200k_tokens: half(
                self.output_cost_per_token_above_200k_tokens,
            ),
            cache_read_input_token_cost: half(self.cache_read_input_token_cost),
            cache_read_input_token_cost_above_200k_tokens: half(
                self.cache_read_input_token_cost_above_200k_tokens,
            ),
            cache_creation_input_token_cost: half(self.cache_creation_input_token_cost),
            cache_storage_cost_per_token_hour: self.cache_storage_cost_per_token_hour,
            input_cost_per_audio_token: half(self.input_cost_per_audio_token),
            input_cost_per_image_token: half(self.input_cost_per_image_token),
            output_cost_per_reasoning_token: half(self.output_cost_per_reasoning_token),
            output_cost_per_image_token: half(self.output_cost_per_image_token),
            output_cost_per_audio_token: half(self.output_cost_per_audio_token),
            input_cost_per_token_batches: None,
            output_cost_per_token_batches: None,
        }
    }

    /// The cost of `usage` in US dollars, rounded to a millionth of a millionth of a dollar
    /// (so that equal usage gives equal figures everywhere they are shown).
    pub fn cost(&self, usage: &Usage) -> f64 {
        let long = usage.prompt_tokens > LONG_PROMPT_TOKENS
            && self.input_cost_per_token_above_200k_tokens.is_some();
        let tier = |base: f64, above: Option<f64>| match above {
            Some(above) if long => above,
            _ => base,
        };
        let input = tier(
            self.input_cost_per_token,
            self.input_cost_per_token_above_200k_tokens,
        );
        let output = tier(
            self.output_cost_per_token,
            self.output_cost_per_token_above_200k_tokens,
        );
        let cache_read = if long {
            self.cache_read_input_token_cost_above_200k_tokens
                .or(self.cache_read_input_token_cost)
        } else {
            self.cache_read_input_token_cost
        }
        .unwrap_or(input);

        let prompt = usage.prompt_tokens_details.clone().unwrap_or_default();
        let cached_by_modality = prompt.cached_tokens_details.unwrap_or_default();
        // Each part is billed at most once, out of what the prompt left: details that add
        // up to more than `prompt_tokens` (an upstream's mistake) are not billed beyond it.
        let mut left = Left(usage.prompt_tokens);
        let cached = left.take(prompt.cached_tokens.unwrap_or(0));
        let audio = left.take(
            prompt
                .audio_tokens
                .unwrap_or(0)
                .saturating_sub(cached_by_modality.audio_tokens.unwrap_or(0)),
        );
        let image = left.take(
            prompt
                .image_tokens
                .unwrap_or(0)
                .saturating_sub(cached_by_modality.image_tokens.unwrap_or(0)),
        );
        let other = left.0;
        let input_cost = tokens(other) * input
            + tokens(audio) * self.input_cost_per_audio_token.unwrap_or(input)
            + tokens(image) * self.input_cost_per_image_token.unwrap_or(input)
            + tokens(cached) * cache_read;

        let completion = usage.completion_tokens_details.clone().unwrap_or_default();
        let mut left = Left(usage.completion_tokens);
        let reasoning = left.take(completion.reasoning_tokens.unwrap_or(0));
        let image_out = left.take(completion.image_tokens.unwrap_or(0));
        let audio_out = left.take(completion.audio_tokens.unwrap_or(0));
        let text_out = left.0;
        // A long prompt's reasoning is billed at the long output price.
        let reasoning_price = if long {
            output
        } else {
            self.output_cost_per_reasoning_token.unwrap_or(output)
        };
        let output_cost = tokens(text_out) * output
            + tokens(reasoning) * reasoning_price
            + tokens(image_out) * self.output_cost_per_image_token.unwrap_or(output)
            + tokens(audio_out) * self.output_cost_per_audio_token.unwrap_or(output);

        let written = usage.cache_creation_input_tokens.unwrap_or(0);
        let write_cost = tokens(written) * self.cache_creation_input_token_cost.unwrap_or(input);

        round(input_cost + output_cost + write_cost)
    }

    /// What keeping `tokens` in a cache for `seconds` costs, if the storage price is known.
    pub fn storage_cost(&self, tokens_stored: u64, seconds: f64) -> Option<f64> {
        self.cache_storage_cost_per_token_hour
            .map(|price| round(tokens(tokens_stored) * price * seconds / 3600.0))
    }
}

/// A token count as a float for pricing (exact below 2^53).
/// Tokens of a total not yet billed as one of its details.
struct Left(u64);

impl Left {
    /// Takes up to `count` of what is left.
    fn take(&mut self, count: u64) -> u64 {
        let taken = count.min(self.0);
        self.0 -= taken;
        taken
    }
}

fn tokens(count: u64) -> f64 {
    count as f64
}

/// Prices by model id. An entry's other keys (LiteLLM's limits, provider, mode) are
/// ignored: a model's limits are in [`crate::gemini::facts`].
///
/// ```
/// use llm_tower::pricing::PriceTable;
///
/// let table = PriceTable::from_json(
///     r#"{"models": {"m": {"input_cost_per_token": 1e-6, "output_cost_per_token": 2e-6, "max_input_tokens": 8}}}"#,
/// )?;
/// assert_eq!(table.get("m").map(|price| price.output_cost_per_token), Some(2e-6));
/// assert!(table.get("other").is_none());
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct PriceTable {
    /// Where the prices come from.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
    /// When they were read.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub date: Option<String>,
    /// The models' prices, by id.
    pub models: HashMap<String, ModelPrice>,
}

impl PriceTable {
    /// Reads a table: `{"source", "date", "models": {"<id>": {<LiteLLM price keys>}}}`.
    pub fn from_json(json: &str) -> Result<Self, serde_json::Error> {
        serde_json::from_str(json)
    }

    /// The price of `model`, if the table has it.
    pub fn get(&self, model: &str) -> Option<&ModelPrice> {
        self.models.get(model)
    }

    /// The model ids, sorted.
    pub fn model_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.models.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::chat::{CompletionTokensDetails, PromptTokensDetails};

    #[test]
    fn details_over_their_totals_are_billed_at_most_once() {
        let price = ModelPrice {
            input_cost_per_token: 1.0,
            output_cost_per_token: 10.0,
            cache_read_input_token_cost: Some(0.5),
            output_cost_per_reasoning_token: Some(100.0),
            ..ModelPrice::default()
        };
        let mut usage = Usage::new(100, 10);
        usage.prompt_tokens_details = Some(PromptTokensDetails {
            cached_tokens: Some(1_000_000),
            ..PromptTokensDetails::default()
        });
        usage.completion_tokens_details = Some(CompletionTokensDetails {
            reasoning_tokens: Some(1_000_000),
            ..CompletionTokensDetails::default()
        });
        // 100 cached prompt tokens at 0.5, 10 reasoning tokens at 100: not millions.
        assert_eq!(price.cost(&usage), 50.0 + 1_000.0);
    }
}
