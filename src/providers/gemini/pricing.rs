//! Gemini's prices: the bundled table (`pricing.json`: LiteLLM's `gemini/…` entries, whose
//! original is Google's pricing page; its `source` and `date` say which version), or a
//! deployment's own price, and the cost of a reply from them.
//!
//! A model the table does not know gets no cost, and no error.

use std::sync::LazyLock;

use super::call::CacheWrite;
use crate::openai::Usage;
use crate::pricing::{ModelPrice, PriceTable};

/// The bundled table, parsed on first use.
static BUNDLED: LazyLock<PriceTable> = LazyLock::new(|| {
    PriceTable::from_json(include_str!("pricing.json")).unwrap_or_else(|error| {
        // The file is in the crate and checked by a test; a broken one prices nothing.
        tracing::error!(%error, "the bundled Gemini price table does not parse");
        PriceTable::default()
    })
});

/// The bundled price table of Gemini models (ids without the `gemini/` prefix).
///
/// ```
/// let table = llm_tower::gemini::pricing::bundled();
/// let pro = table.get("gemini-2.5-pro").expect("a known model");
/// assert_eq!(pro.input_cost_per_token, 1.25e-6);
/// assert_eq!(pro.input_cost_per_token_above_200k_tokens, Some(2.5e-6));
/// ```
pub fn bundled() -> &'static PriceTable {
    &BUNDLED
}

/// Sets `usage.cost` from `price`: the tokens of the reply, plus, for a call that created a
/// context cache, the write and the cache's storage for its lifetime.
pub fn price_usage(usage: &mut Usage, price: Option<&ModelPrice>, write: Option<CacheWrite>) {
    let Some(price) = price else {
        return;
    };
    let storage = write
        .and_then(|write| price.storage_cost(write.tokens, write.ttl.as_secs_f64()))
        .unwrap_or(0.0);
    usage.cost = Some(crate::openai::chat::round_dollars(
        price.cost(usage) + storage,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_bundled_table_parses_and_names_its_source() {
        let table = bundled();
        assert!(table.models.len() >= 10, "{} models", table.models.len());
        assert!(
            table
                .source
                .as_deref()
                .is_some_and(|source| source.contains("LiteLLM"))
        );
        assert!(table.date.is_some());
        for (id, price) in &table.models {
            assert!(price.input_cost_per_token > 0.0, "{id}");
            assert!(price.output_cost_per_token > 0.0, "{id}");
        }
    }

    #[test]
    fn every_current_gemini_3_model_of_the_pricing_page_has_a_price() {
        let table = bundled();
        for id in [
            "gemini-3.8-flash",
            "gemini-3.5-flash",
            "gemini-3.5-flash-lite",
            "gemini-3.1-pro-preview",
            "gemini-3-flash-preview",
            "gemini-3.1-flash-lite-preview",
        ] {
            let price = table.models.get(id).unwrap_or_else(|| panic!("{id}"));
            let cache_read = price.cache_read_input_token_cost.unwrap_or_default();
            assert!(
                (cache_read * 10.0 - price.input_cost_per_token).abs() < 1e-12,
                "{id}: cache reads cost a tenth of input"
            );
        }
    }
}
