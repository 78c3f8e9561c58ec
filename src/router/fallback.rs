//! [`Fallbacks`]: which model groups a request goes to when every attempt in its own group
//! failed (LiteLLM's `fallbacks`, `default_fallbacks`, `context_window_fallbacks`,
//! `content_policy_fallbacks` and `max_fallbacks`), and the per-request settings that
//! change them (`fallbacks`, `disable_fallbacks`, `num_retries` and the
//! `mock_testing_*` switches in a request's body).

use std::collections::{HashMap, HashSet};

use serde_json::Value;

use super::class::ErrorClass;
use crate::error::Error;
use crate::openai::chat::Extra;

/// LiteLLM's default `max_fallbacks`.
pub const DEFAULT_MAX_FALLBACKS: usize = 5;

/// The fallback groups of each model group.
///
/// Which list applies, after a group's retries are spent: a context-window refusal uses
/// `context_window_fallbacks` when that setting is given (and no fallback when it names no
/// list for the group); a content-policy refusal likewise `content_policy_fallbacks`;
/// every other failure the group's `fallbacks`, else `default_fallbacks`. Groups are tried
/// in order, each with its own retries, and a fallback group that fails falls back in turn
/// (never to a group the request already tried), up to `max_fallbacks` groups.
///
/// ```
/// use llm_tower::router::{ErrorClass, Fallbacks};
///
/// let fallbacks = Fallbacks::new()
///     .on_failure("flash", ["flash-lite"])
///     .on_context_window("flash", ["pro"]);
/// assert_eq!(fallbacks.for_failure("flash", ErrorClass::RateLimit), ["flash-lite"]);
/// assert_eq!(fallbacks.for_failure("flash", ErrorClass::ContextWindowExceeded), ["pro"]);
/// assert!(fallbacks.for_failure("pro", ErrorClass::RateLimit).is_empty());
/// ```
#[derive(Clone, Debug)]
pub struct Fallbacks {
    generic: HashMap<String, Vec<String>>,
    default: Vec<String>,
    context_window: Option<HashMap<String, Vec<String>>>,
    content_policy: Option<HashMap<String, Vec<String>>>,
    max: usize,
}

impl Default for Fallbacks {
    fn default() -> Self {
        Self::new()
    }
}

/// Why a set of fallbacks cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum FallbackError {
    /// A list names a model group that is not configured.
    #[error("{setting}: {group:?} falls back to {target:?}, which is not a configured model name")]
    UnknownGroup {
        /// The setting (`fallbacks`, `context_window_fallbacks`, …).
        setting: &'static str,
        /// The group the list is for.
        group: String,
        /// The name that is not configured.
        target: String,
    },
    /// Groups fall back to each other in a circle.
    #[error("{setting}: the fallbacks go round in a circle: {}", .cycle.join(" → "))]
    Cycle {
        /// The setting.
        setting: &'static str,
        /// The groups of the circle, the first repeated last.
        cycle: Vec<String>,
    },
}

impl Fallbacks {
    /// None, and LiteLLM's `max_fallbacks` of 5.
    pub fn new() -> Self {
        Self {
            generic: HashMap::new(),
            default: Vec::new(),
            context_window: None,
            content_policy: None,
            max: DEFAULT_MAX_FALLBACKS,
        }
    }

    /// After any failure of `group` (but those with lists of their own), try `to`.
    pub fn on_failure<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        group: impl Into<String>,
        to: I,
    ) -> Self {
        self.generic
            .insert(group.into(), to.into_iter().map(Into::into).collect());
        self
    }

    /// The fallbacks of every group without its own (`default_fallbacks`).
    pub fn default_fallbacks<I: IntoIterator<Item = S>, S: Into<String>>(mut self, to: I) -> Self {
        self.default = to.into_iter().map(Into::into).collect();
        self
    }

    /// After a context-window refusal of `group`, try `to` (and no generic fallback for
    /// such refusals of other groups).
    pub fn on_context_window<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        group: impl Into<String>,
        to: I,
    ) -> Self {
        self.context_window
            .get_or_insert_default()
            .insert(group.into(), to.into_iter().map(Into::into).collect());
        self
    }

    /// After a content-policy refusal of `group`, try `to`.
    pub fn on_content_policy<I: IntoIterator<Item = S>, S: Into<String>>(
        mut self,
        group: impl Into<String>,
        to: I,
    ) -> Self {
        self.content_policy
            .get_or_insert_default()
            .insert(group.into(), to.into_iter().map(Into::into).collect());
        self
    }

    /// Most fallback groups one request tries.
    pub fn max_fallbacks(mut self, max: usize) -> Self {
        self.max = max;
        self
    }

    pub(crate) fn max(&self) -> usize {
        self.max
    }

    /// Whether any list is set.
    pub fn is_empty(&self) -> bool {
        self.generic.is_empty()
            && self.default.is_empty()
            && self.context_window.is_none()
            && self.content_policy.is_none()
    }

    /// Whether a failure of `group` can fall back anywhere.
    pub(crate) fn any_for(&self, group: &str) -> bool {
        !self.default.is_empty()
            || self.generic.contains_key(group)
            || [&self.context_window, &self.content_policy]
                .into_iter()
                .flatten()
                .any(|lists| lists.contains_key(group))
    }

    /// Whether a reply blocked for safety counts as a content-policy failure of `group`:
    /// when a content-policy fallback (or, without that setting, a default fallback) could
    /// serve it instead. Otherwise the blocked reply is the answer.
    pub(crate) fn reroutes_blocked(&self, group: &str) -> bool {
        match &self.content_policy {
            Some(lists) => lists.contains_key(group),
            None => !self.default.is_empty(),
        }
    }

    /// The groups to try after `group` failed with `class`, in order.
    pub fn for_failure(&self, group: &str, class: ErrorClass) -> &[String] {
        let specific = match class {
            ErrorClass::ContextWindowExceeded => self.context_window.as_ref(),
            ErrorClass::ContentPolicyViolation => self.content_policy.as_ref(),
            _ => None,
        };
        if let Some(lists) = specific {
            return lists.get(group).map_or(&[], Vec::as_slice);
        }
        self.generic
            .get(group)
            .or_else(|| {
                let (_, bare) = group.split_once('/')?;
                self.generic.get(bare)
            })
            .unwrap_or(&self.default)
    }

    /// Checks that every list names configured groups (`known`) and that no lists go round
    /// in a circle.
    pub fn check(&self, known: impl Fn(&str) -> bool) -> Result<(), FallbackError> {
        let mut tables: Vec<(&'static str, &HashMap<String, Vec<String>>)> =
            vec![("fallbacks", &self.generic)];
        tables.extend(
            self.context_window
                .as_ref()
                .map(|lists| ("context_window_fallbacks", lists)),
        );
        tables.extend(
            self.content_policy
                .as_ref()
                .map(|lists| ("content_policy_fallbacks", lists)),
        );
        for target in &self.default {
            if !known(target) {
                return Err(FallbackError::UnknownGroup {
                    setting: "default_fallbacks",
                    group: "*".to_owned(),
                    target: target.clone(),
                });
            }
        }
        for (setting, lists) in tables {
            let mut groups: Vec<&String> = lists.keys().collect();
            groups.sort();
            for group in &groups {
                if let Some(target) = lists[*group].iter().find(|target| !known(target)) {
                    return Err(FallbackError::UnknownGroup {
                        setting,
                        group: (*group).clone(),
                        target: target.clone(),
                    });
                }
            }
            for group in groups {
                if let Some(cycle) = cycle_from(lists, group) {
                    return Err(FallbackError::Cycle { setting, cycle });
                }
            }
        }
        Ok(())
    }
}

/// A circle of fallbacks reachable from `start`, if any.
fn cycle_from(lists: &HashMap<String, Vec<String>>, start: &str) -> Option<Vec<String>> {
    fn walk(
        lists: &HashMap<String, Vec<String>>,
        group: &str,
        path: &mut Vec<String>,
        done: &mut HashSet<String>,
    ) -> Option<Vec<String>> {
        if let Some(at) = path.iter().position(|seen| seen == group) {
            let mut cycle = path[at..].to_vec();
            cycle.push(group.to_owned());
            return Some(cycle);
        }
        if !done.insert(group.to_owned()) {
            return None;
        }
        path.push(group.to_owned());
        for next in lists.get(group).into_iter().flatten() {
            if next != group
                && let Some(cycle) = walk(lists, next, path, done)
            {
                return Some(cycle);
            }
        }
        path.pop();
        None
    }
    walk(lists, start, &mut Vec::new(), &mut HashSet::new())
}

/// Most groups a request's own `fallbacks` may name.
const MAX_REQUEST_FALLBACKS: usize = 16;

/// What a request's body asks of the router; taken out of the body so it never reaches an
/// upstream.
#[derive(Clone, Debug, Default, PartialEq)]
pub(crate) struct RequestRouting {
    /// `fallbacks`: replaces the group's generic list.
    pub(crate) fallbacks: Option<Vec<String>>,
    pub(crate) context_window_fallbacks: Option<Vec<String>>,
    pub(crate) content_policy_fallbacks: Option<Vec<String>>,
    pub(crate) disable_fallbacks: bool,
    pub(crate) num_retries: Option<u32>,
    /// `mock_testing_fallbacks` and its kin: the first call fails with this class,
    /// without reaching the upstream.
    pub(crate) mock_failure: Option<ErrorClass>,
}

/// The body keys [`RequestRouting`] reads.
const ROUTING_PARAMS: &[&str] = &[
    "fallbacks",
    "context_window_fallbacks",
    "content_policy_fallbacks",
    "disable_fallbacks",
    "num_retries",
    "mock_testing_fallbacks",
    "mock_testing_context_fallbacks",
    "mock_testing_content_policy_fallbacks",
    "mock_testing_rate_limit_error",
];

/// Whether a request's unknown fields hold routing params.
pub(crate) fn names_routing(extra: &Extra) -> bool {
    ROUTING_PARAMS.iter().any(|key| extra.contains_key(key))
}

impl RequestRouting {
    /// Takes the routing params out of a request's unknown fields (`extra`) for a request
    /// to `group`; a param of the wrong shape is a 400 naming it.
    pub(crate) fn take(extra: &mut Extra, group: &str) -> Result<Self, Error> {
        let mut routing = Self::default();
        if extra.is_empty() || !names_routing(extra) {
            return Ok(routing);
        }
        let mut take = |key: &str| extra.remove(key).map(|value| value.to_value());
        routing.fallbacks = take("fallbacks")
            .map(|value| group_list("fallbacks", value, group))
            .transpose()?;
        routing.context_window_fallbacks = take("context_window_fallbacks")
            .map(|value| group_list("context_window_fallbacks", value, group))
            .transpose()?;
        routing.content_policy_fallbacks = take("content_policy_fallbacks")
            .map(|value| group_list("content_policy_fallbacks", value, group))
            .transpose()?;
        routing.disable_fallbacks = take("disable_fallbacks")
            .map(|value| flag("disable_fallbacks", &value))
            .transpose()?
            .unwrap_or(false);
        routing.num_retries = take("num_retries")
            .map(|value| {
                value
                    .as_u64()
                    .and_then(|count| u32::try_from(count).ok())
                    .filter(|count| *count <= 100)
                    .ok_or_else(|| {
                        Error::invalid_param(
                            "num_retries",
                            "num_retries must be a whole number from 0 to 100",
                        )
                    })
            })
            .transpose()?;
        for (key, class) in [
            ("mock_testing_fallbacks", ErrorClass::InternalServer),
            (
                "mock_testing_context_fallbacks",
                ErrorClass::ContextWindowExceeded,
            ),
            (
                "mock_testing_content_policy_fallbacks",
                ErrorClass::ContentPolicyViolation,
            ),
            ("mock_testing_rate_limit_error", ErrorClass::RateLimit),
        ] {
            if let Some(value) = take(key)
                && flag(key, &value)?
            {
                routing.mock_failure = Some(class);
            }
        }
        Ok(routing)
    }

    /// The fallback groups after `group` (the request's own group) failed with `class`,
    /// where the request names its own.
    pub(crate) fn for_failure(&self, class: ErrorClass) -> Option<&[String]> {
        let list = match class {
            ErrorClass::ContextWindowExceeded => self.context_window_fallbacks.as_ref(),
            ErrorClass::ContentPolicyViolation => self.content_policy_fallbacks.as_ref(),
            _ => None,
        };
        list.or(self.fallbacks.as_ref()).map(Vec::as_slice)
    }
}

/// `true`/`false`, or LiteLLM's strings of them.
fn flag(key: &str, value: &Value) -> Result<bool, Error> {
    match value {
        Value::Bool(flag) => Ok(*flag),
        Value::String(text) if text.eq_ignore_ascii_case("true") => Ok(true),
        Value::String(text) if text.eq_ignore_ascii_case("false") => Ok(false),
        _ => Err(Error::invalid_param(
            key,
            format!("{key} must be true or false"),
        )),
    }
}

/// A request's fallback list for `group`: `["a", "b"]`, or LiteLLM's
/// `[{"group": ["a", "b"]}]` (entries for other groups ignored).
fn group_list(key: &str, value: Value, group: &str) -> Result<Vec<String>, Error> {
    let wrong = || {
        Error::invalid_param(
            key,
            format!(
                "{key} must be a list of model names, or of {{\"model name\": [fallback model names]}}; \
                 deployments with their own credentials are not accepted"
            ),
        )
    };
    let Value::Array(items) = value else {
        return Err(wrong());
    };
    let mut names = Vec::new();
    for item in items {
        match item {
            Value::String(name) => names.push(name),
            Value::Object(map) if map.len() == 1 => {
                let (from, to) = map.into_iter().next().ok_or_else(wrong)?;
                let Value::Array(to) = to else {
                    return Err(wrong());
                };
                let to = to
                    .into_iter()
                    .map(|name| match name {
                        Value::String(name) => Ok(name),
                        _ => Err(wrong()),
                    })
                    .collect::<Result<Vec<_>, _>>()?;
                if from == group || from == "*" {
                    names.extend(to);
                }
            }
            _ => return Err(wrong()),
        }
        if names.len() > MAX_REQUEST_FALLBACKS {
            return Err(Error::invalid_param(
                key,
                format!("{key} names more than {MAX_REQUEST_FALLBACKS} model groups"),
            ));
        }
    }
    Ok(names)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn extra(value: Value) -> Extra {
        match value {
            Value::Object(map) => map.into_iter().map(|(k, v)| (k, v.into())).collect(),
            _ => unreachable!(),
        }
    }

    #[test]
    fn unknown_targets_and_circles_are_refused_by_name() {
        let known = |name: &str| ["a", "b", "c"].contains(&name);
        let unknown = Fallbacks::new().on_failure("a", ["z"]).check(known);
        assert!(
            matches!(unknown, Err(FallbackError::UnknownGroup { ref target, .. }) if target == "z")
        );
        let circle = Fallbacks::new()
            .on_failure("a", ["b"])
            .on_failure("b", ["c"])
            .on_failure("c", ["a"])
            .check(known)
            .unwrap_err();
        assert_eq!(
            circle.to_string(),
            "fallbacks: the fallbacks go round in a circle: a → b → c → a"
        );
        assert!(
            Fallbacks::new()
                .on_failure("a", ["b", "c"])
                .on_failure("b", ["c"])
                .check(known)
                .is_ok()
        );
    }

    #[test]
    fn specific_lists_win_and_hide_the_generic_one() {
        let fallbacks = Fallbacks::new()
            .on_failure("a", ["b"])
            .default_fallbacks(["c"])
            .on_context_window("x", ["y"]);
        assert_eq!(
            fallbacks.for_failure("a", ErrorClass::ContextWindowExceeded),
            [] as [String; 0]
        );
        assert_eq!(
            fallbacks.for_failure("a", ErrorClass::ContentPolicyViolation),
            ["b"]
        );
        assert_eq!(fallbacks.for_failure("q", ErrorClass::Timeout), ["c"]);
        assert_eq!(
            fallbacks.for_failure("gemini/a", ErrorClass::Timeout),
            ["b"]
        );
    }

    #[test]
    fn request_params_are_taken_out_of_the_body() {
        let mut body = extra(json!({
            "fallbacks": [{"m": ["x"]}, {"other": ["y"]}, "z"],
            "disable_fallbacks": "false",
            "num_retries": 1,
            "mock_testing_fallbacks": true,
            "keep": 1
        }));
        let routing = RequestRouting::take(&mut body, "m").unwrap();
        assert_eq!(
            routing.fallbacks.as_deref(),
            Some(&["x".to_owned(), "z".to_owned()][..])
        );
        assert_eq!(routing.num_retries, Some(1));
        assert_eq!(routing.mock_failure, Some(ErrorClass::InternalServer));
        assert!(!routing.disable_fallbacks);
        assert_eq!(body.keys().collect::<Vec<_>>(), ["keep"]);
    }

    #[test]
    fn malformed_request_params_name_themselves() {
        for (key, value) in [
            ("fallbacks", json!("x")),
            ("fallbacks", json!([{"model": "x", "api_key": "k"}])),
            ("disable_fallbacks", json!(1)),
            ("num_retries", json!(-1)),
        ] {
            let mut body = extra(json!({ key: value }));
            let error = RequestRouting::take(&mut body, "m").unwrap_err();
            assert_eq!(error.param(), Some(key));
        }
    }
}
