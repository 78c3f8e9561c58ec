//! The model catalogue of the proxy: `GET /v1/models`, `GET /v1/models/{id}` and LiteLLM's
//! `GET /model/info`, and each deployment's price.
//!
//! - `/v1/models` lists the configured names and, for a wildcard deployment (`gemini/*`),
//!   every model of the bundled Gemini price and model tables under that prefix
//!   (`gemini/<id>`): that
//!   is what LiteLLM lists for a wildcard by default (its model map, not a call to
//!   Google's model list, so the list costs no upstream call and needs no key).
//! - `/v1/models/{id}` answers for every configured name and every id the router would
//!   serve (a wildcard serves any model id under its prefix); anything else is a 404. A
//!   Gemini model's object carries its facts in `model_info` (below).
//! - `/model/info` (and `/v1/model/info`) lists each deployment with its `litellm_params`
//!   (never a key: `api_key` and any param whose name speaks of a key, secret, password,
//!   credential or token of access are left out, and `api_base` loses any credentials) and its `model_info`: the configured one,
//!   plus the provider, the mode, the prices of the model (the deployment's own price,
//!   else the bundled table's) and, for a Gemini model, its facts from the model table
//!   ([`crate::gemini::facts`]): `max_input_tokens`, `max_output_tokens` (and
//!   `max_tokens`, LiteLLM's older name), `output_vector_size`, `supports_reasoning`,
//!   `thinking` (its mode: a budget range, or the accepted levels), `cache_min_tokens`,
//!   `supports_prompt_caching`, `supports_media_resolution`,
//!   `supports_builtin_tools_with_functions` and `model_family`.
//! - A deployment's `model_info` overrides any of these, as LiteLLM allows; the token
//!   counts among them ([`FACT_KEYS`]) must be whole numbers of 0 or more, or the proxy
//!   does not start ([`check_model_info`] names the key).
//! - A deployment's price: LiteLLM's `input_cost_per_token`, `output_cost_per_token`,
//!   `cache_read_input_token_cost` (and the other [`PRICE_KEYS`]) in its `litellm_params` or
//!   its `model_info` (`litellm_params` wins), over the bundled price of its model.

use std::collections::HashMap;
use std::sync::Arc;

use serde_json::{Map, Value, json};

use super::config::ModelEntry;
use crate::gemini::facts::{self, ModelFacts, ThinkingMode};
use crate::gemini::pricing::bundled;
use crate::pricing::{ModelPrice, PRICE_KEYS};
use crate::raw_json::RawJson;
use crate::router::ModelRouter;
use crate::upstream::redact_url;

/// OpenAI's list of the models `ids`.
fn model_list(ids: &[impl AsRef<str>]) -> RawJson {
    json_text(
        r#"{"object":"list","data":["#,
        ids.iter().map(|id| model_object(id.as_ref())),
        "]}",
    )
}

/// `created` of every listed model (OpenAI's list needs one; LiteLLM sends a constant).
const CREATED: u64 = 1_677_610_602;

/// The model facts a deployment's `model_info` may override that are token counts.
pub const FACT_KEYS: &[&str] = &[
    "max_input_tokens",
    "max_output_tokens",
    "max_tokens",
    "output_vector_size",
    "cache_min_tokens",
];

/// The catalogue, built once from the config.
#[derive(Clone)]
pub struct Catalogue {
    router: ModelRouter,
    /// The replies of `/v1/models` and `/model/info`, kept as the JSON text they are
    /// sent as: as trees they took about 6 KB per deployment.
    list: RawJson,
    /// The ids `list` holds, in its order.
    ids: Arc<[String]>,
    info: RawJson,
    /// The facts of each configured name (its first deployment's), as JSON text.
    facts: HashMap<String, RawJson>,
}

impl Catalogue {
    /// The catalogue of `entries`, served by `router`; `prices[i]` is entry `i`'s own price.
    pub fn new(entries: &[ModelEntry], prices: &[Option<ModelPrice>], router: ModelRouter) -> Self {
        let mut ids: Vec<String> = Vec::new();
        for name in router.model_names() {
            match name.strip_suffix("/*") {
                Some(prefix) => {
                    let served = bundled()
                        .model_ids()
                        .into_iter()
                        .chain(facts::bundled().model_ids())
                        .map(|id| format!("{prefix}/{id}"));
                    ids.extend(served);
                }
                None if name.contains('*') => {}
                None => ids.push(name.to_owned()),
            }
        }
        ids.sort_unstable();
        ids.dedup();
        let list = model_list(&ids);
        // One deployment's tree at a time: printed, then dropped.
        let info = json_text(
            r#"{"data":["#,
            entries
                .iter()
                .zip(prices)
                .map(|(entry, price)| deployment_info(entry, price.as_ref())),
            "]}",
        );
        let mut facts = HashMap::new();
        for entry in entries {
            if facts.contains_key(&entry.model_name) {
                continue;
            }
            if let Some(known) = deployment_facts(entry) {
                facts.insert(entry.model_name.clone(), Value::Object(known).into());
            }
        }
        Self {
            router,
            list,
            ids: ids.into(),
            info,
            facts,
        }
    }

    /// `GET /v1/models`.
    pub fn list(&self) -> &RawJson {
        &self.list
    }

    /// `GET /v1/models` for a caller that may call only the models `allows` lets through
    /// (a virtual key): those of the list.
    pub(crate) fn list_for(&self, allows: impl Fn(&str) -> bool) -> RawJson {
        let ids: Vec<&String> = self.ids.iter().filter(|id| allows(id)).collect();
        model_list(&ids)
    }

    /// `GET /v1/models/{id}`: the model, if a request naming it would be served, with the
    /// facts of a Gemini model in `model_info` (a configured name's with its overrides).
    pub fn model(&self, id: &str) -> Option<Value> {
        if id.contains('*') || !self.router.resolves(id) {
            return None;
        }
        let mut object = model_object(id);
        let facts = match self.facts.get(id) {
            Some(known) => known.parse().ok(),
            None => id
                .strip_prefix("gemini/")
                .map(|model| facts_info(facts::bundled().lookup(model).0)),
        };
        if let Some(facts) = facts {
            object["model_info"] = Value::Object(facts);
        }
        Some(object)
    }

    /// `GET /model/info`.
    pub fn info(&self) -> &RawJson {
        &self.info
    }
}

/// `head`, the `values` printed as JSON and separated by commas, then `tail`: a JSON
/// array inside its object, without holding every value as a tree at once.
fn json_text(head: &str, values: impl Iterator<Item = Value>, tail: &str) -> RawJson {
    let mut text = head.to_owned();
    for (index, value) in values.enumerate() {
        if index > 0 {
            text.push(',');
        }
        text.push_str(&value.to_string());
    }
    text.push_str(tail);
    RawJson::from_string(text).unwrap_or_else(|_| Value::Null.into())
}

impl std::fmt::Debug for Catalogue {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Catalogue")
            .field("list", &self.list)
            .finish_non_exhaustive()
    }
}

fn model_object(id: &str) -> Value {
    let owner = id
        .split_once('/')
        .map_or("gemini", |(provider, _)| provider);
    json!({"id": id, "object": "model", "created": CREATED, "owned_by": owner})
}

/// Whether a param's name says it holds a credential (never shown).
fn is_secret(key: &str) -> bool {
    let key = key.to_ascii_lowercase();
    [
        "key",
        "secret",
        "password",
        "credential",
        "auth",
        "access_token",
    ]
    .iter()
    .any(|word| key.contains(word))
}

/// One deployment for `/model/info`.
fn deployment_info(entry: &ModelEntry, own_price: Option<&ModelPrice>) -> Value {
    let params = &entry.litellm_params;
    let mut litellm_params = Map::new();
    litellm_params.insert("model".to_owned(), json!(params.model));
    if let Some(base) = &params.api_base {
        // Without credentials, query or fragment, as `/health` shows it.
        litellm_params.insert("api_base".to_owned(), json!(redact_url(base)));
    }
    if let Some(timeout) = params.timeout {
        litellm_params.insert("timeout".to_owned(), json!(timeout.as_secs_f64()));
    }
    if let Some(retries) = params.max_retries {
        litellm_params.insert("max_retries".to_owned(), json!(retries));
    }
    if let Some(limit) = params.max_parallel_requests {
        litellm_params.insert("max_parallel_requests".to_owned(), json!(limit.get()));
    }
    for (key, value) in &params.extra {
        if !is_secret(key) {
            litellm_params.insert(key.clone(), value.clone());
        }
    }
    let mut model_info: Map<String, Value> = match &entry.model_info {
        Some(Value::Object(info)) => info
            .iter()
            .filter(|(key, _)| !is_secret(key))
            .map(|(key, value)| (key.clone(), value.clone()))
            .collect(),
        _ => Map::new(),
    };
    let id = params.model_id();
    model_info.insert("key".to_owned(), json!(params.model));
    model_info.insert("litellm_provider".to_owned(), json!(params.provider()));
    let mode = if id.contains("embedding") {
        "embedding"
    } else {
        "chat"
    };
    model_info.entry("mode").or_insert_with(|| json!(mode));
    if let Some(facts) = deployment_facts(entry) {
        model_info.extend(facts);
    }
    let price = own_price.or(bundled().get(id));
    if let Some(Value::Object(prices)) = price.and_then(|price| serde_json::to_value(price).ok()) {
        model_info.extend(prices);
    }
    json!({
        "model_name": entry.model_name,
        "litellm_params": litellm_params,
        "model_info": model_info,
    })
}

/// The facts of a Gemini deployment's model, under its `model_info` overrides; `None` for
/// another provider or a wildcard.
fn deployment_facts(entry: &ModelEntry) -> Option<Map<String, Value>> {
    let params = &entry.litellm_params;
    let id = params.model_id();
    if !matches!(params.provider(), "gemini" | "vertex_ai") || id.contains('*') {
        return None;
    }
    let mut facts = facts_info(facts::bundled().lookup(id).0);
    if let Some(Value::Object(info)) = &entry.model_info {
        for (key, value) in info {
            if facts.contains_key(key) {
                facts.insert(key.clone(), value.clone());
            }
        }
        // `max_tokens` is LiteLLM's older name of `max_output_tokens`: one given alone
        // sets both.
        for (given, other) in [
            ("max_output_tokens", "max_tokens"),
            ("max_tokens", "max_output_tokens"),
        ] {
            if let (Some(value), false) = (info.get(given), info.contains_key(other)) {
                facts.insert(other.to_owned(), value.clone());
            }
        }
    }
    Some(facts)
}

/// A model's facts under LiteLLM's `model_info` names (and ours where LiteLLM has none).
fn facts_info(facts: &ModelFacts) -> Map<String, Value> {
    let mut info = Map::new();
    let mut put = |key: &str, value: Value| {
        info.insert(key.to_owned(), value);
    };
    if let Some(max) = facts.max_input_tokens {
        put("max_input_tokens", json!(max));
    }
    if let Some(max) = facts.max_output_tokens {
        put("max_output_tokens", json!(max));
        put("max_tokens", json!(max));
    }
    if let Some(size) = facts.output_vector_size {
        put("output_vector_size", json!(size));
    }
    put(
        "supports_reasoning",
        json!(facts.thinking != ThinkingMode::None),
    );
    put("thinking", json!(facts.thinking));
    if let Some(minimum) = facts.cache_min_tokens {
        put("cache_min_tokens", json!(minimum));
    }
    put(
        "supports_prompt_caching",
        json!(facts.cache_min_tokens.is_some()),
    );
    put("supports_media_resolution", json!(facts.media_resolution));
    put(
        "supports_builtin_tools_with_functions",
        json!(facts.builtin_tools_with_functions),
    );
    put("model_family", json!(facts.family));
    info
}

/// Checks the token counts ([`FACT_KEYS`]) a deployment's `model_info` overrides: each a
/// whole number, 0 or more. The error names the key.
pub fn check_model_info(entry: &ModelEntry) -> Result<(), String> {
    let Some(Value::Object(info)) = &entry.model_info else {
        return Ok(());
    };
    for key in FACT_KEYS {
        match info.get(*key) {
            None => {}
            Some(value) if value.is_u64() => {}
            Some(value) => {
                return Err(format!(
                    "model_info.{key} must be a whole number of tokens, 0 or more; got {value}"
                ));
            }
        }
    }
    Ok(())
}

/// Entry `entry`'s own price, if its `litellm_params` or `model_info` set one: the given
/// keys over the bundled price of its model (a price given without its
/// `…_above_200k_tokens` counterpart applies to long prompts too). An entry of a model the
/// table does not know must give at least `input_cost_per_token` and
/// `output_cost_per_token`.
pub fn deployment_price(entry: &ModelEntry) -> Result<Option<ModelPrice>, String> {
    let mut given = Map::new();
    if let Some(Value::Object(info)) = &entry.model_info {
        given.extend(price_keys(info));
    }
    given.extend(price_keys(&entry.litellm_params.extra));
    if given.is_empty() {
        return Ok(None);
    }
    let mut price = match bundled().get(entry.litellm_params.model_id()) {
        Some(price) => match serde_json::to_value(price) {
            Ok(Value::Object(price)) => price,
            _ => Map::new(),
        },
        None => Map::new(),
    };
    for key in given.keys() {
        price.remove(&format!("{key}_above_200k_tokens"));
    }
    price.extend(given);
    serde_json::from_value(Value::Object(price))
        .map(Some)
        .map_err(|error| format!("price: {error}"))
}

/// The price keys of `map`.
fn price_keys(map: &Map<String, Value>) -> impl Iterator<Item = (String, Value)> + '_ {
    map.iter()
        .filter(|(key, _)| PRICE_KEYS.contains(&key.as_str()))
        .map(|(key, value)| (key.clone(), value.clone()))
}

#[cfg(test)]
mod examples {
    #[test]
    fn check_model_info() -> Result<(), Box<dyn std::error::Error>> {
        use crate::proxy::config::Config;
        use crate::proxy::models::check_model_info;

        let yaml = "
        model_list:
          - model_name: flash
            litellm_params: {model: gemini/gemini-3.8-flash}
            model_info: {max_input_tokens: -1}
        ";
        let (config, _) = Config::from_yaml(yaml, "config.yaml", &|_: &str| None)?;
        let error = check_model_info(&config.model_list[0]).unwrap_err();
        assert!(error.contains("model_info.max_input_tokens"), "{error}");
        Ok(())
    }

    #[test]
    fn deployment_price() -> Result<(), Box<dyn std::error::Error>> {
        use crate::proxy::config::Config;
        use crate::proxy::models::deployment_price;

        let yaml = "
        model_list:
          - model_name: cheap
            litellm_params: {model: gemini/gemini-2.5-pro, input_cost_per_token: 1.0e-6}
            model_info: {output_cost_per_token: 8.0e-6}
        ";
        let (config, _) = Config::from_yaml(yaml, "config.yaml", &|_: &str| None)?;
        let price = deployment_price(&config.model_list[0])
            .expect("valid")
            .expect("set");
        assert_eq!(
            (price.input_cost_per_token, price.output_cost_per_token),
            (1.0e-6, 8.0e-6)
        );
        assert_eq!(price.input_cost_per_token_above_200k_tokens, None);
        assert_eq!(price.cache_read_input_token_cost, Some(1.25e-7)); // the table's
        Ok(())
    }
}
