//! The router's keys, as LiteLLM spreads them over `router_settings`, `litellm_settings`
//! (the same keys, overridden by `router_settings`) and each deployment's `litellm_params`
//! and `model_info`; see [`Routing`] and [`DeploymentRouting`].
//!
//! | key | where | meaning |
//! |---|---|---|
//! | `routing_strategy` | router_settings | [`Strategy`] by LiteLLM's name; an unknown name refuses startup |
//! | `routing_strategy_args` | router_settings | `ttl`, `lowest_latency_buffer`, `max_latency_list_size` of `latency-based-routing` |
//! | `num_retries` | both | retries in a model group (LiteLLM's default 2) |
//! | `retry_policy` | both | retries per class: `RateLimitErrorRetries`, `TimeoutErrorRetries`, … |
//! | `retry_after` | router_settings | the shortest wait before resending to a deployment that failed, seconds |
//! | `allowed_fails`, `allowed_fails_policy` | both | failures a minute before a cooldown |
//! | `cooldown_time` | both, and `litellm_params` | cooldown length, seconds (default 5) |
//! | `disable_cooldowns` | router_settings | no cooldowns |
//! | `fallbacks`, `default_fallbacks`, `context_window_fallbacks`, `content_policy_fallbacks`, `max_fallbacks` | both | [`Fallbacks`] |
//! | `model_group_alias` | router_settings | other names of a model group |
//! | `timeout` | router_settings | the timeout of a deployment that sets none, seconds |
//! | `enable_pre_call_checks` | router_settings | accepted: `rpm`, `tpm` and `order` are always checked |
//! | `rpm`, `tpm`, `weight`, `order` | `litellm_params` (`rpm`, `tpm` also `model_info`) | the deployment's limits and share |
//! | `id` | `model_info` | the deployment's id (`x-litellm-model-id`); else a hash of its name and params |

use std::collections::BTreeMap;
use std::time::Duration;

use serde::Deserialize;
use serde_json::Value;

use super::ConfigError;
use crate::router::{
    Cooldowns, DEFAULT_NUM_RETRIES, ErrorClass, Fallbacks, LatencyArgs, PerClass, Retries, Strategy,
};

/// The router's settings, from `router_settings` over `litellm_settings`.
///
/// ```rust
/// use llm_tower::proxy::config::Config;
/// use llm_tower::router::Strategy;
///
/// let yaml = "
/// model_list:
///   - {model_name: flash, litellm_params: {model: gemini/gemini-2.5-flash, rpm: 60}}
///   - {model_name: flash-lite, litellm_params: {model: gemini/gemini-2.5-flash-lite}}
/// router_settings:
///   routing_strategy: least-busy
///   num_retries: 3
///   fallbacks: [{flash: [flash-lite]}]
/// litellm_settings:
///   num_retries: 1
///   cooldown_time: 30
/// ";
/// let (config, warnings) = Config::from_yaml(yaml, "config.yaml", &|_: &str| None)?;
/// assert!(warnings.is_empty(), "{warnings:?}");
/// let routing = &config.router_settings.routing;
/// assert_eq!(routing.strategy, Strategy::LeastBusy);
/// assert_eq!(routing.num_retries, Some(3));
/// assert_eq!(routing.cooldown_time, Some(std::time::Duration::from_secs(30)));
/// assert_eq!(config.model_list[0].litellm_params.routing.rpm, Some(60));
/// # Ok::<(), llm_tower::proxy::config::ConfigError>(())
/// ```
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub struct Routing {
    /// How a deployment is chosen in a group.
    pub strategy: Strategy,
    /// Retries in a model group; `None`: LiteLLM's 2.
    pub num_retries: Option<u32>,
    /// Retries per class.
    pub retry_policy: PerClass,
    /// The shortest wait before a resend to a deployment that failed.
    pub retry_after: Option<Duration>,
    /// Failures a minute before a cooldown.
    pub allowed_fails: Option<u32>,
    /// Failures a minute before a cooldown, per class.
    pub allowed_fails_policy: PerClass,
    /// How long a cooldown lasts.
    pub cooldown_time: Option<Duration>,
    /// No cooldowns.
    pub disable_cooldowns: bool,
    /// Where requests go when their group gives up.
    pub fallbacks: Fallbacks,
    /// Other names of model groups: alias → group.
    pub model_group_alias: BTreeMap<String, String>,
    /// The timeout of a deployment that sets none.
    pub timeout: Option<Duration>,
}

impl Routing {
    /// The router's retries.
    pub fn retries(&self) -> Retries {
        Retries::new(self.num_retries.unwrap_or(DEFAULT_NUM_RETRIES))
            .policy(self.retry_policy)
            .min_wait(self.retry_after.unwrap_or_default())
    }

    /// The router's cooldown rule.
    pub fn cooldowns(&self) -> Cooldowns {
        if self.disable_cooldowns {
            return Cooldowns::disabled();
        }
        let mut cooldowns = Cooldowns::new().policy(self.allowed_fails_policy);
        if let Some(time) = self.cooldown_time {
            cooldowns = cooldowns.cooldown_time(time);
        }
        if let Some(allowed) = self.allowed_fails {
            cooldowns = cooldowns.allowed_fails(allowed);
        }
        cooldowns
    }
}

/// The routing keys of `router_settings` and `litellm_settings` as written.
#[derive(Deserialize, Default)]
pub(super) struct RawRouting {
    #[serde(default)]
    routing_strategy: Option<Value>,
    #[serde(default)]
    routing_strategy_args: Option<Value>,
    #[serde(default)]
    retry_policy: Option<Value>,
    #[serde(default)]
    retry_after: Option<Value>,
    #[serde(default)]
    allowed_fails: Option<Value>,
    #[serde(default)]
    allowed_fails_policy: Option<Value>,
    #[serde(default)]
    cooldown_time: Option<Value>,
    #[serde(default)]
    disable_cooldowns: Option<Value>,
    #[serde(default)]
    fallbacks: Option<Value>,
    #[serde(default)]
    default_fallbacks: Option<Value>,
    #[serde(default)]
    context_window_fallbacks: Option<Value>,
    #[serde(default)]
    content_policy_fallbacks: Option<Value>,
    #[serde(default)]
    max_fallbacks: Option<Value>,
    #[serde(default)]
    model_group_alias: Option<Value>,
    #[serde(default)]
    timeout: Option<Value>,
    #[serde(default)]
    enable_pre_call_checks: Option<Value>,
}

/// Which keys a section may hold: `litellm_settings` has no strategy, alias or timeout of
/// the router's.
#[derive(Clone, Copy, PartialEq, Eq)]
pub(super) enum Section {
    Router,
    Litellm,
}

impl Section {
    fn name(self) -> &'static str {
        match self {
            Self::Router => "router_settings",
            Self::Litellm => "litellm_settings",
        }
    }
}

fn invalid(field: String, message: impl Into<String>) -> ConfigError {
    ConfigError::Invalid {
        field,
        message: message.into(),
    }
}

/// A number, or a string holding one, as `T`.
fn parsed<T: std::str::FromStr>(value: &Value) -> Option<T> {
    match value {
        Value::Number(number) => number.to_string().parse().ok(),
        Value::String(text) => text.trim().parse().ok(),
        _ => None,
    }
}

/// A whole number from 0 (or a string holding one).
fn count(field: &str, value: &Value) -> Result<u32, ConfigError> {
    parsed(value).ok_or_else(|| invalid(field.to_owned(), "expected a whole number from 0"))
}

/// Seconds from 0 (or a string holding them).
fn seconds_from_zero(field: &str, value: &Value) -> Result<Duration, ConfigError> {
    parsed(value)
        .and_then(|seconds| Duration::try_from_secs_f64(seconds).ok())
        .ok_or_else(|| invalid(field.to_owned(), "expected a number of seconds from 0"))
}

fn flag(field: &str, value: &Value) -> Result<bool, ConfigError> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(invalid(field.to_owned(), "expected true or false")),
    }
}

/// `{ClassErrorRetries: n, …}` (or `…AllowedFails`).
fn per_class(field: &str, value: &Value, suffix: &str) -> Result<PerClass, ConfigError> {
    let Value::Object(map) = value else {
        return Err(invalid(
            field.to_owned(),
            format!("expected a mapping such as {{RateLimitError{suffix}: 3}}"),
        ));
    };
    let mut classes = PerClass::new();
    for (key, value) in map {
        let class: ErrorClass = key
            .strip_suffix(suffix)
            .and_then(|name| name.parse().ok())
            .ok_or_else(|| {
                invalid(
                    format!("{field}.{key}"),
                    format!(
                        "unknown key: expected BadRequestError{suffix}, AuthenticationError{suffix}, TimeoutError{suffix}, RateLimitError{suffix}, ContentPolicyViolationError{suffix}, InternalServerError{suffix}, …"
                    ),
                )
            })?;
        classes = classes.set(class, count(&format!("{field}.{key}"), value)?);
    }
    Ok(classes)
}

/// `[{group: [fallback, …]}, …]`, or for `default_fallbacks` `[fallback, …]`.
fn fallback_lists(field: &str, value: &Value) -> Result<Vec<(String, Vec<String>)>, ConfigError> {
    let wrong = || {
        invalid(
            field.to_owned(),
            "expected a list of {model name: [fallback model names]}",
        )
    };
    let Value::Array(items) = value else {
        return Err(wrong());
    };
    items
        .iter()
        .map(|item| {
            let Value::Object(map) = item else {
                return Err(wrong());
            };
            let mut entries = map.iter();
            let (Some((group, targets)), None) = (entries.next(), entries.next()) else {
                return Err(wrong());
            };
            Ok((group.clone(), names(field, targets)?))
        })
        .collect()
}

fn names(field: &str, value: &Value) -> Result<Vec<String>, ConfigError> {
    let wrong = || invalid(field.to_owned(), "expected a list of model names");
    match value {
        Value::Array(items) => items
            .iter()
            .map(|item| item.as_str().map(str::to_owned).ok_or_else(wrong))
            .collect(),
        Value::String(name) => Ok(vec![name.clone()]),
        _ => Err(wrong()),
    }
}

impl RawRouting {
    /// Applies this section's keys over `routing` (for `litellm_settings` first, then
    /// `router_settings`).
    pub(super) fn apply(
        self,
        section: Section,
        routing: &mut Routing,
        warnings: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        let name = section.name();
        let field = |key: &str| format!("{name}.{key}");
        if let Some(value) = &self.routing_strategy {
            let text = value.as_str().unwrap_or_default();
            routing.strategy = text
                .parse()
                .map_err(|error: crate::router::UnknownStrategy| {
                    invalid(field("routing_strategy"), error.to_string())
                })?;
        }
        if let Some(value) = &self.routing_strategy_args {
            let Strategy::LatencyBased(mut args) = routing.strategy else {
                warnings.push(format!(
                    "{}: only latency-based-routing takes arguments; ignored",
                    field("routing_strategy_args")
                ));
                return self.apply_rest(section, routing, warnings);
            };
            latency_args(&field("routing_strategy_args"), value, &mut args)?;
            routing.strategy = Strategy::LatencyBased(args);
        }
        self.apply_rest(section, routing, warnings)
    }

    fn apply_rest(
        self,
        section: Section,
        routing: &mut Routing,
        warnings: &mut Vec<String>,
    ) -> Result<(), ConfigError> {
        let name = section.name();
        let field = |key: &str| format!("{name}.{key}");
        if let Some(value) = &self.retry_policy {
            routing.retry_policy = per_class(&field("retry_policy"), value, "Retries")?;
        }
        if let Some(value) = &self.retry_after {
            routing.retry_after = Some(seconds_from_zero(&field("retry_after"), value)?);
        }
        if let Some(value) = &self.allowed_fails {
            routing.allowed_fails = Some(count(&field("allowed_fails"), value)?);
        }
        if let Some(value) = &self.allowed_fails_policy {
            routing.allowed_fails_policy =
                per_class(&field("allowed_fails_policy"), value, "AllowedFails")?;
        }
        if let Some(value) = &self.cooldown_time {
            routing.cooldown_time = Some(seconds_from_zero(&field("cooldown_time"), value)?);
        }
        if let Some(value) = &self.disable_cooldowns {
            routing.disable_cooldowns = flag(&field("disable_cooldowns"), value)?;
        }
        let mut fallbacks = std::mem::take(&mut routing.fallbacks);
        if let Some(value) = &self.fallbacks {
            for (group, targets) in fallback_lists(&field("fallbacks"), value)? {
                fallbacks = match group.as_str() {
                    "*" => fallbacks.default_fallbacks(targets),
                    _ => fallbacks.on_failure(group, targets),
                };
            }
        }
        if let Some(value) = &self.default_fallbacks {
            fallbacks = fallbacks.default_fallbacks(names(&field("default_fallbacks"), value)?);
        }
        if let Some(value) = &self.context_window_fallbacks {
            for (group, targets) in fallback_lists(&field("context_window_fallbacks"), value)? {
                fallbacks = fallbacks.on_context_window(group, targets);
            }
        }
        if let Some(value) = &self.content_policy_fallbacks {
            for (group, targets) in fallback_lists(&field("content_policy_fallbacks"), value)? {
                fallbacks = fallbacks.on_content_policy(group, targets);
            }
        }
        if let Some(value) = &self.max_fallbacks {
            let max = count(&field("max_fallbacks"), value)?;
            fallbacks = fallbacks.max_fallbacks(usize::try_from(max).unwrap_or(usize::MAX));
        }
        routing.fallbacks = fallbacks;
        let router_only = [
            ("model_group_alias", self.model_group_alias.is_some()),
            ("timeout", self.timeout.is_some()),
            (
                "enable_pre_call_checks",
                self.enable_pre_call_checks.is_some(),
            ),
            ("routing_strategy", self.routing_strategy.is_some()),
        ];
        if section == Section::Litellm {
            for (key, set) in router_only {
                if set {
                    warnings.push(format!(
                        "{}: a router_settings key; ignored here",
                        field(key)
                    ));
                }
            }
            return Ok(());
        }
        if let Some(value) = &self.model_group_alias {
            let Value::Object(map) = value else {
                return Err(invalid(
                    field("model_group_alias"),
                    "expected a mapping of alias: model name",
                ));
            };
            for (alias, target) in map {
                // LiteLLM also takes {model: name, hidden: bool}.
                let group = target
                    .as_str()
                    .or_else(|| target.get("model").and_then(Value::as_str))
                    .ok_or_else(|| {
                        invalid(
                            format!("{}.{alias}", field("model_group_alias")),
                            "expected a model name",
                        )
                    })?;
                routing
                    .model_group_alias
                    .insert(alias.clone(), group.to_owned());
            }
        }
        if let Some(value) = &self.timeout {
            let timeout = seconds_from_zero(&field("timeout"), value)?;
            if timeout.is_zero() {
                return Err(invalid(
                    field("timeout"),
                    "expected a positive number of seconds, e.g. 30 or 2.5",
                ));
            }
            routing.timeout = Some(timeout);
        }
        if let Some(value) = &self.enable_pre_call_checks {
            flag(&field("enable_pre_call_checks"), value)?;
        }
        Ok(())
    }
}

/// `routing_strategy_args` of `latency-based-routing`.
fn latency_args(field: &str, value: &Value, args: &mut LatencyArgs) -> Result<(), ConfigError> {
    let Value::Object(map) = value else {
        return Err(invalid(field.to_owned(), "expected a mapping"));
    };
    for (key, value) in map {
        let name = format!("{field}.{key}");
        match key.as_str() {
            "ttl" => args.ttl = seconds_from_zero(&name, value)?,
            "lowest_latency_buffer" => {
                args.buffer = value
                    .as_f64()
                    .filter(|buffer| buffer.is_finite() && *buffer >= 0.0)
                    .ok_or_else(|| invalid(name, "expected a fraction from 0"))?;
            }
            "max_latency_list_size" => {
                args.samples = usize::try_from(count(&name, value)?.clamp(1, 1000)).unwrap_or(1);
            }
            _ => {
                return Err(invalid(
                    name,
                    "unknown key: expected ttl, lowest_latency_buffer or max_latency_list_size",
                ));
            }
        }
    }
    Ok(())
}

/// Checks that fallbacks and aliases name configured model groups, and that fallbacks do
/// not go round in a circle.
pub(super) fn check_names(
    routing: &Routing,
    model_list: &[super::ModelEntry],
) -> Result<(), ConfigError> {
    let configured = |name: &str| model_list.iter().any(|entry| entry.model_name == name);
    for (alias, group) in &routing.model_group_alias {
        if !configured(group) {
            return Err(invalid(
                format!("router_settings.model_group_alias.{alias}"),
                format!("{group:?} is not a configured model name"),
            ));
        }
    }
    let known = |name: &str| configured(name) || routing.model_group_alias.contains_key(name);
    routing.fallbacks.check(known).map_err(|error| {
        let setting = match &error {
            crate::router::FallbackError::UnknownGroup { setting, .. }
            | crate::router::FallbackError::Cycle { setting, .. } => setting,
        };
        let field = format!("router_settings.{setting}");
        invalid(field, error.to_string())
    })
}

/// One deployment's routing params, taken out of its `litellm_params` (so they never
/// reach an upstream) and its `model_info`.
#[derive(Clone, Debug, Default, PartialEq)]
#[non_exhaustive]
pub struct DeploymentRouting {
    /// Most requests a minute.
    pub rpm: Option<u64>,
    /// Most tokens a minute.
    pub tpm: Option<u64>,
    /// Share of `simple-shuffle`'s choices.
    pub weight: Option<f64>,
    /// Rank: higher orders serve when the lower ones cannot.
    pub order: Option<u32>,
    /// Its own cooldown length.
    pub cooldown_time: Option<Duration>,
    /// Its id (`model_info.id`).
    pub id: Option<String>,
}

/// A positive whole number (or a string holding one).
fn positive(field: String, value: &Value) -> Result<u64, ConfigError> {
    parsed::<u64>(value)
        .filter(|number| *number > 0)
        .ok_or_else(|| invalid(field, "expected a positive whole number"))
}

impl DeploymentRouting {
    /// Takes the routing params out of `extra` (an entry's `litellm_params`, its other
    /// keys) and reads `model_info`; `entry` is `model_list[i]`.
    pub(super) fn take(
        entry: &str,
        extra: &mut serde_json::Map<String, Value>,
        model_info: Option<&Value>,
    ) -> Result<Self, ConfigError> {
        let params = |key: &str| format!("{entry}.litellm_params.{key}");
        let info = |key: &str| format!("{entry}.model_info.{key}");
        let mut routing = Self::default();
        if let Some(value) = extra.shift_remove("rpm") {
            routing.rpm = Some(positive(params("rpm"), &value)?);
        }
        if let Some(value) = extra.shift_remove("tpm") {
            routing.tpm = Some(positive(params("tpm"), &value)?);
        }
        if let Some(value) = extra.shift_remove("weight") {
            routing.weight = Some(
                parsed::<f64>(&value)
                    .filter(|weight| weight.is_finite() && *weight > 0.0)
                    .ok_or_else(|| invalid(params("weight"), "expected a number above 0"))?,
            );
        }
        if let Some(value) = extra.shift_remove("order") {
            let order = positive(params("order"), &value)?;
            routing.order = Some(u32::try_from(order).unwrap_or(u32::MAX));
        }
        if let Some(value) = extra.shift_remove("cooldown_time") {
            routing.cooldown_time = Some(seconds_from_zero(&params("cooldown_time"), &value)?);
        }
        if let Some(Value::Object(model_info)) = model_info {
            if routing.rpm.is_none()
                && let Some(value) = model_info.get("rpm").filter(|value| !value.is_null())
            {
                routing.rpm = Some(positive(info("rpm"), value)?);
            }
            if routing.tpm.is_none()
                && let Some(value) = model_info.get("tpm").filter(|value| !value.is_null())
            {
                routing.tpm = Some(positive(info("tpm"), value)?);
            }
            match model_info.get("id") {
                None | Some(Value::Null) => {}
                Some(Value::String(id)) if !id.is_empty() && id.len() <= 256 => {
                    routing.id = Some(id.clone());
                }
                Some(Value::Number(id)) => routing.id = Some(id.to_string()),
                Some(_) => {
                    return Err(invalid(
                        info("id"),
                        "expected a non-empty string of at most 256 characters",
                    ));
                }
            }
        }
        Ok(routing)
    }
}

#[cfg(test)]
mod tests {
    use super::super::Config;

    fn load(yaml: &str) -> Result<(Config, Vec<String>), super::ConfigError> {
        Config::from_yaml(yaml, "config.yaml", &|_: &str| None)
    }

    const TWO: &str = "model_list:
  - {model_name: a, litellm_params: {model: gemini/x}}
  - {model_name: b, litellm_params: {model: gemini/y}}
";

    #[test]
    fn bad_values_refuse_startup_naming_the_key() {
        for (extra, key) in [
            (
                "router_settings: {routing_strategy: fastest}",
                "router_settings.routing_strategy",
            ),
            (
                "router_settings: {fallbacks: [{a: [nope]}]}",
                "router_settings.fallbacks",
            ),
            (
                "router_settings: {fallbacks: [{a: [b]}, {b: [a]}]}",
                "router_settings.fallbacks",
            ),
            (
                "litellm_settings: {cooldown_time: -1}",
                "litellm_settings.cooldown_time",
            ),
            (
                "router_settings: {retry_policy: {Oops: 1}}",
                "router_settings.retry_policy.Oops",
            ),
            (
                "router_settings: {allowed_fails: many}",
                "router_settings.allowed_fails",
            ),
        ] {
            let error = load(&format!("{TWO}{extra}\n")).expect_err(extra);
            assert!(error.to_string().contains(key), "{extra}: {error}");
        }
        for (params, key) in [
            ("weight: 0", "model_list[0].litellm_params.weight"),
            ("weight: -1", "model_list[0].litellm_params.weight"),
            ("rpm: 1.5", "model_list[0].litellm_params.rpm"),
            ("tpm: 0", "model_list[0].litellm_params.tpm"),
            (
                "cooldown_time: -3",
                "model_list[0].litellm_params.cooldown_time",
            ),
        ] {
            let yaml = format!(
                "model_list:\n  - {{model_name: a, litellm_params: {{model: gemini/x, {params}}}}}\n"
            );
            let error = load(&yaml).expect_err(params);
            assert!(error.to_string().contains(key), "{params}: {error}");
        }
    }

    #[test]
    fn router_settings_win_over_litellm_settings_and_params_leave_the_body() {
        let yaml = format!(
            "{TWO}litellm_settings: {{num_retries: 1, allowed_fails: 4, fallbacks: [{{a: [b]}}]}}
router_settings: {{num_retries: 0, retry_policy: {{RateLimitErrorRetries: 6}}, default_fallbacks: [b], max_fallbacks: 2}}
"
        );
        let (config, warnings) = load(&yaml).unwrap();
        assert!(warnings.is_empty(), "{warnings:?}");
        let routing = &config.router_settings.routing;
        assert_eq!(routing.num_retries, Some(0));
        assert_eq!(routing.allowed_fails, Some(4));
        assert_eq!(
            routing
                .retries()
                .for_class(crate::router::ErrorClass::RateLimit),
            6
        );
        assert_eq!(
            routing
                .fallbacks
                .for_failure("a", crate::router::ErrorClass::Timeout),
            ["b"]
        );
        assert_eq!(
            routing
                .fallbacks
                .for_failure("b", crate::router::ErrorClass::Timeout),
            ["b"]
        );
    }

    #[test]
    fn deployment_params_and_model_info() {
        let yaml = "model_list:
  - model_name: a
    litellm_params: {model: gemini/x, rpm: '60', weight: 2.5, order: 2, cooldown_time: 0, temperature: 0.2}
    model_info: {id: eu-1, tpm: 1000}
";
        let (config, _) = load(yaml).unwrap();
        let params = &config.model_list[0].litellm_params;
        assert_eq!(params.routing.rpm, Some(60));
        assert_eq!(params.routing.tpm, Some(1000));
        assert_eq!(params.routing.weight, Some(2.5));
        assert_eq!(params.routing.order, Some(2));
        assert_eq!(
            params.routing.cooldown_time,
            Some(std::time::Duration::ZERO)
        );
        assert_eq!(params.routing.id.as_deref(), Some("eu-1"));
        assert_eq!(params.extra.keys().collect::<Vec<_>>(), ["temperature"]);
    }
}
