//! Token counts of a reply, with LiteLLM's per-kind details, and what the reply cost.

use std::ops::AddAssign;

use serde::{Deserialize, Serialize};

/// Token counts, and the cost where the model's price is known.
///
/// The fields mean what they mean in LiteLLM's replies: `prompt_tokens` counts every
/// input token (those read from a cache included), `completion_tokens` every output token
/// (reasoning included); the details split them by kind.
///
/// ```
/// use llm_tower::openai::Usage;
///
/// let usage: Usage = serde_json::from_str(
///     r#"{"prompt_tokens": 10, "completion_tokens": 5, "total_tokens": 15, "cost": 0.0000155}"#,
/// )?;
/// assert_eq!(usage.cost(), Some(0.0000155));
/// # Ok::<(), serde_json::Error>(())
/// ```
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct Usage {
    /// Input tokens (cached ones included).
    pub prompt_tokens: u64,
    /// Output tokens (reasoning included).
    pub completion_tokens: u64,
    /// Their sum.
    pub total_tokens: u64,
    /// Input breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub prompt_tokens_details: Option<PromptTokensDetails>,
    /// Output breakdown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completion_tokens_details: Option<CompletionTokensDetails>,
    /// Tokens read from a context cache, under LiteLLM's (Anthropic-style) name.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_read_input_tokens: Option<u64>,
    /// Tokens written to a context cache that this request created (not counted in
    /// `prompt_tokens`: the cached head is counted there already).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_input_tokens: Option<u64>,
    /// What the request cost, in US dollars (LiteLLM's `usage.cost`), where the model's
    /// price is known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cost: Option<f64>,
}

impl Usage {
    /// `prompt_tokens` in and `completion_tokens` out, and their sum; no details.
    ///
    /// ```
    /// use llm_tower::openai::Usage;
    ///
    /// assert_eq!(Usage::new(4200, 10).total_tokens, 4210);
    /// ```
    pub fn new(prompt_tokens: u64, completion_tokens: u64) -> Self {
        Self {
            prompt_tokens,
            completion_tokens,
            total_tokens: prompt_tokens.saturating_add(completion_tokens),
            ..Self::default()
        }
    }

    /// What the request cost in US dollars, where the model's price is known. A cost that
    /// is negative or not finite (an upstream's `usage.cost` can be anything) is none.
    ///
    /// ```
    /// use llm_tower::openai::Usage;
    ///
    /// let mut usage = Usage::new(1, 1);
    /// usage.cost = Some(-1000.5);
    /// assert_eq!(usage.cost(), None);
    /// usage.cost = Some(f64::INFINITY);
    /// assert_eq!(usage.cost(), None);
    /// usage.cost = Some(0.25);
    /// assert_eq!(usage.cost(), Some(0.25));
    /// ```
    pub fn cost(&self) -> Option<f64> {
        self.cost.filter(|cost| cost.is_finite() && *cost >= 0.0)
    }

    /// Records a context cache write of `tokens` (a request that created a cache): in
    /// `cache_creation_input_tokens` and in the prompt details' `cache_creation_tokens` /
    /// `cache_write_tokens`, not in `prompt_tokens` or `total_tokens`.
    ///
    /// ```
    /// use llm_tower::openai::Usage;
    ///
    /// let mut usage = Usage::new(4200, 10);
    /// usage.add_cache_write(4102);
    /// assert_eq!(usage.cache_creation_input_tokens, Some(4102));
    /// assert_eq!(usage.total_tokens, 4210);
    /// ```
    pub fn add_cache_write(&mut self, tokens: u64) {
        let add = |slot: &mut Option<u64>| *slot = Some(slot.unwrap_or(0).saturating_add(tokens));
        add(&mut self.cache_creation_input_tokens);
        let details = self
            .prompt_tokens_details
            .get_or_insert_with(PromptTokensDetails::default);
        add(&mut details.cache_creation_tokens);
        add(&mut details.cache_write_tokens);
    }
}

impl AddAssign for Usage {
    /// Adds another reply's counts (and cost) to these, detail by detail; several prompts of
    /// one legacy completion request are reported this way.
    fn add_assign(&mut self, other: Self) {
        let other_cost = other.cost();
        self.prompt_tokens = self.prompt_tokens.saturating_add(other.prompt_tokens);
        self.completion_tokens = self
            .completion_tokens
            .saturating_add(other.completion_tokens);
        self.total_tokens = self.total_tokens.saturating_add(other.total_tokens);
        add_details(&mut self.prompt_tokens_details, other.prompt_tokens_details);
        add_details(
            &mut self.completion_tokens_details,
            other.completion_tokens_details,
        );
        add_count(
            &mut self.cache_read_input_tokens,
            other.cache_read_input_tokens,
        );
        add_count(
            &mut self.cache_creation_input_tokens,
            other.cache_creation_input_tokens,
        );
        self.cost = match (self.cost(), other_cost) {
            (Some(a), Some(b)) => Some(round_dollars(a + b)).filter(|sum| sum.is_finite()),
            (a, b) => a.or(b),
        };
    }
}

/// Adds an optional count: absent on both sides stays absent.
fn add_count(total: &mut Option<u64>, other: Option<u64>) {
    if let Some(other) = other {
        *total = Some(total.unwrap_or(0).saturating_add(other));
    }
}

fn add_details<T: AddAssign + Default>(total: &mut Option<T>, other: Option<T>) {
    if let Some(other) = other {
        *total.get_or_insert_with(T::default) += other;
    }
}

/// Input token breakdown. The per-modality counts are the prompt's as the provider reports
/// them, cached tokens included (as LiteLLM reports them); `cached_tokens` says how many of
/// them were read from a cache.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct PromptTokensDetails {
    /// Tokens read from a context cache.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens: Option<u64>,
    /// Text tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    /// Audio tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Image tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
    /// Video tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_tokens: Option<u64>,
    /// Google Search queries the model ran (LiteLLM's name).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub web_search_requests: Option<u64>,
    /// The cached tokens by modality.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cached_tokens_details: Option<CachedTokensDetails>,
    /// Tokens written to a context cache this request created.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_creation_tokens: Option<u64>,
    /// The same, under LiteLLM's other name for it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_write_tokens: Option<u64>,
}

impl AddAssign for PromptTokensDetails {
    fn add_assign(&mut self, other: Self) {
        add_count(&mut self.cached_tokens, other.cached_tokens);
        add_count(&mut self.text_tokens, other.text_tokens);
        add_count(&mut self.audio_tokens, other.audio_tokens);
        add_count(&mut self.image_tokens, other.image_tokens);
        add_count(&mut self.video_tokens, other.video_tokens);
        add_count(&mut self.web_search_requests, other.web_search_requests);
        add_details(&mut self.cached_tokens_details, other.cached_tokens_details);
        add_count(&mut self.cache_creation_tokens, other.cache_creation_tokens);
        add_count(&mut self.cache_write_tokens, other.cache_write_tokens);
    }
}

/// Cached input tokens by modality.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CachedTokensDetails {
    /// Text tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    /// Audio tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Image tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
    /// Video tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub video_tokens: Option<u64>,
}

impl AddAssign for CachedTokensDetails {
    fn add_assign(&mut self, other: Self) {
        add_count(&mut self.text_tokens, other.text_tokens);
        add_count(&mut self.audio_tokens, other.audio_tokens);
        add_count(&mut self.image_tokens, other.image_tokens);
        add_count(&mut self.video_tokens, other.video_tokens);
    }
}

/// Output token breakdown.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[non_exhaustive]
pub struct CompletionTokensDetails {
    /// Thinking tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reasoning_tokens: Option<u64>,
    /// Text tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_tokens: Option<u64>,
    /// Audio tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub audio_tokens: Option<u64>,
    /// Image tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub image_tokens: Option<u64>,
}

impl AddAssign for CompletionTokensDetails {
    fn add_assign(&mut self, other: Self) {
        add_count(&mut self.reasoning_tokens, other.reasoning_tokens);
        add_count(&mut self.text_tokens, other.text_tokens);
        add_count(&mut self.audio_tokens, other.audio_tokens);
        add_count(&mut self.image_tokens, other.image_tokens);
    }
}

/// Rounds to 1e-12 dollars: the nearest double to a decimal with 12 places, which prints
/// as that decimal.
pub(crate) fn round_dollars(dollars: f64) -> f64 {
    (dollars * 1e12).round() / 1e12
}
