//! `reasoning_effort` and Anthropic-style `thinking` → `generationConfig.thinkingConfig`.
//!
//! Gemini 2.5 takes a token budget, Gemini 3 a level. `includeThoughts` is set whenever
//! thinking is requested, or no reasoning comes back.
//!
//! | input | Gemini 2.5 | Gemini 3 |
//! |---|---|---|
//! | effort `minimal` | budget 1 (Flash), 512 (Flash-Lite), 128 (Pro, others) | `minimal` (Flash), `low` (Pro) |
//! | effort `low` / `medium` / `high` | budget 1024 / 2048 / 4096 | `low` / `medium` / `high` (`medium` → `high` on 3.0 Pro, which has no medium) |
//! | effort `none` / `disable` | budget 0, no thoughts (400 on Pro, which cannot stop thinking) | `minimal` (Flash) / `low` (Pro), no thoughts: Gemini 3 cannot stop thinking |
//! | thinking `enabled`, budget N | budget N | level by budget: < 2048 `low`, < 8192 `medium`, else `high` |
//! | thinking `disabled` | budget 0 (400 on Pro) | `minimal` on Flash, 400 on Pro |
//!
//! LiteLLM maps `thinking` on Gemini 3 to `low`/`minimal` whatever the budget, and a bare
//! `{"type":"disabled"}` to an empty `thinkingConfig`; both are fixed here.

use crate::error::Error;
use crate::openai::chat::Thinking;
use crate::providers::gemini::model::{ModelInfo, SizeClass};
use crate::providers::gemini::wire::ThinkingConfig;

/// `reasoning_effort` → `thinkingConfig`.
///
/// ```
/// use llm_tower::gemini::{ModelInfo, translate::thinking::from_reasoning_effort};
///
/// let config = from_reasoning_effort("low", ModelInfo::parse("gemini-2.5-flash"))?;
/// assert_eq!(config.thinking_budget, Some(1024));
/// assert_eq!(config.include_thoughts, Some(true));
/// # Ok::<(), llm_tower::Error>(())
/// ```
pub fn from_reasoning_effort(level: &str, model: ModelInfo) -> Result<ThinkingConfig, Error> {
    const PARAM: &str = "reasoning_effort";
    let on = |config: ThinkingConfig| ThinkingConfig {
        include_thoughts: Some(true),
        ..config
    };
    if model.is_gemini_3_or_later() {
        let level = match level {
            "minimal" => lowest_level(model),
            "low" => "low",
            "medium" => medium_level(model),
            "high" => "high",
            "none" | "disable" => {
                return Ok(ThinkingConfig {
                    include_thoughts: Some(false),
                    thinking_level: Some(lowest_level(model).to_owned()),
                    ..ThinkingConfig::default()
                });
            }
            other => return Err(unknown_effort(other)),
        };
        return Ok(on(level_config(level)));
    }
    let budget = match level {
        "minimal" => minimal_budget(model),
        "low" => 1024,
        "medium" => 2048,
        "high" => 4096,
        "none" | "disable" => return thinking_off(model, PARAM),
        other => return Err(unknown_effort(other)),
    };
    Ok(on(budget_config(budget)))
}

/// Anthropic-style `thinking` → `thinkingConfig`.
///
/// ```
/// use llm_tower::gemini::{ModelInfo, translate::thinking::from_thinking};
/// use llm_tower::openai::chat::Thinking;
///
/// let thinking: Thinking = serde_json::from_str(r#"{"type":"enabled","budget_tokens":3000}"#).unwrap();
/// let config = from_thinking(&thinking, ModelInfo::parse("gemini-3-flash-preview"))?;
/// assert_eq!(config.thinking_level.as_deref(), Some("medium"));
/// # Ok::<(), llm_tower::Error>(())
/// ```
pub fn from_thinking(thinking: &Thinking, model: ModelInfo) -> Result<ThinkingConfig, Error> {
    const PARAM: &str = "thinking";
    match thinking.kind.as_str() {
        "enabled" => {
            let budget = thinking.budget_tokens;
            if budget == Some(0) {
                return from_thinking(
                    &Thinking {
                        kind: "disabled".to_owned(),
                        budget_tokens: None,
                        extra: Default::default(),
                    },
                    model,
                );
            }
            let config = match (model.is_gemini_3_or_later(), budget) {
                (true, Some(budget)) => level_config(level_for_budget(budget, model)),
                (false, Some(budget)) => budget_config(budget),
                (_, None) => ThinkingConfig::default(),
            };
            Ok(ThinkingConfig {
                include_thoughts: Some(true),
                ..config
            })
        }
        "disabled" if model.is_gemini_3_or_later() && model.is_flash() => Ok(ThinkingConfig {
            include_thoughts: Some(false),
            thinking_level: Some("minimal".to_owned()),
            ..ThinkingConfig::default()
        }),
        "disabled" => thinking_off(model, PARAM),
        other => Err(Error::invalid_param(
            PARAM,
            format!("thinking.type must be \"enabled\" or \"disabled\", got {other:?}"),
        )),
    }
}

fn thinking_off(model: ModelInfo, param: &str) -> Result<ThinkingConfig, Error> {
    if !model.can_disable_thinking() {
        return Err(Error::invalid_param(
            param,
            "this model cannot turn thinking off; ask for the lowest effort (\"minimal\") instead",
        ));
    }
    Ok(ThinkingConfig {
        include_thoughts: Some(false),
        thinking_budget: Some(0),
        thinking_level: None,
    })
}

fn budget_config(budget: i64) -> ThinkingConfig {
    ThinkingConfig {
        thinking_budget: Some(budget),
        ..ThinkingConfig::default()
    }
}

fn level_config(level: &str) -> ThinkingConfig {
    ThinkingConfig {
        thinking_level: Some(level.to_owned()),
        ..ThinkingConfig::default()
    }
}

fn minimal_budget(model: ModelInfo) -> i64 {
    match model.class() {
        SizeClass::Flash => 1,
        SizeClass::FlashLite => 512,
        SizeClass::Pro | SizeClass::Other => 128,
    }
}

fn lowest_level(model: ModelInfo) -> &'static str {
    if model.is_flash() { "minimal" } else { "low" }
}

fn medium_level(model: ModelInfo) -> &'static str {
    if model.class() == SizeClass::Pro && model.version() == Some((3, 0)) {
        "high"
    } else {
        "medium"
    }
}

fn level_for_budget(budget: i64, model: ModelInfo) -> &'static str {
    match budget {
        ..2048 => "low",
        2048..8192 => medium_level(model),
        _ => "high",
    }
}

fn unknown_effort(level: &str) -> Error {
    Error::invalid_param(
        "reasoning_effort",
        format!(
            "reasoning_effort must be one of minimal, low, medium, high, none, disable; got {level:?}"
        ),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(name: &str) -> ModelInfo {
        ModelInfo::parse(name)
    }

    fn thinking(json: &str) -> Thinking {
        serde_json::from_str(json).expect("valid thinking")
    }

    #[test]
    fn effort_budgets_on_gemini_2_5() {
        for (level, budget) in [
            ("minimal", 1),
            ("low", 1024),
            ("medium", 2048),
            ("high", 4096),
        ] {
            let config = from_reasoning_effort(level, model("gemini-2.5-flash")).unwrap();
            assert_eq!(config.thinking_budget, Some(budget), "{level}");
            assert_eq!(config.include_thoughts, Some(true));
        }
        assert_eq!(
            from_reasoning_effort("minimal", model("gemini-2.5-flash-lite"))
                .unwrap()
                .thinking_budget,
            Some(512)
        );
        assert_eq!(
            from_reasoning_effort("minimal", model("gemini-2.5-pro"))
                .unwrap()
                .thinking_budget,
            Some(128)
        );
    }

    #[test]
    fn effort_off_on_flash_and_refused_on_pro() {
        let config = from_reasoning_effort("none", model("gemini-2.5-flash")).unwrap();
        assert_eq!(config.thinking_budget, Some(0));
        assert_eq!(config.include_thoughts, Some(false));
        let error = from_reasoning_effort("disable", model("gemini-2.5-pro")).unwrap_err();
        assert_eq!(error.param(), Some("reasoning_effort"));
    }

    #[test]
    fn effort_levels_on_gemini_3() {
        let flash = model("gemini-3-flash-preview");
        let pro = model("gemini-3-pro-preview");
        let level = |effort, model| from_reasoning_effort(effort, model).unwrap().thinking_level;
        assert_eq!(level("minimal", flash).as_deref(), Some("minimal"));
        assert_eq!(level("minimal", pro).as_deref(), Some("low"));
        assert_eq!(level("medium", pro).as_deref(), Some("high"));
        assert_eq!(
            level("medium", model("gemini-3.1-pro-preview")).as_deref(),
            Some("medium")
        );
        let off = from_reasoning_effort("none", pro).unwrap();
        assert_eq!(off.include_thoughts, Some(false));
        assert_eq!(off.thinking_level.as_deref(), Some("low"));
        assert_eq!(off.thinking_budget, None);
    }

    #[test]
    fn unknown_effort_is_refused() {
        let error = from_reasoning_effort("extreme", model("gemini-2.5-flash")).unwrap_err();
        assert!(error.message().contains("extreme"));
    }

    #[test]
    fn anthropic_thinking() {
        let enabled = thinking(r#"{"type":"enabled","budget_tokens":1500}"#);
        let config = from_thinking(&enabled, model("gemini-2.5-flash")).unwrap();
        assert_eq!(config.thinking_budget, Some(1500));
        assert_eq!(config.include_thoughts, Some(true));
        let config = from_thinking(&enabled, model("gemini-3-pro-preview")).unwrap();
        assert_eq!(config.thinking_level.as_deref(), Some("low"));
        let big = thinking(r#"{"type":"enabled","budget_tokens":20000}"#);
        assert_eq!(
            from_thinking(&big, model("gemini-3-flash-preview"))
                .unwrap()
                .thinking_level
                .as_deref(),
            Some("high")
        );
    }

    #[test]
    fn anthropic_thinking_disabled() {
        let disabled = thinking(r#"{"type":"disabled"}"#);
        let config = from_thinking(&disabled, model("gemini-2.5-flash")).unwrap();
        assert_eq!(config.thinking_budget, Some(0));
        assert!(from_thinking(&disabled, model("gemini-2.5-pro")).is_err());
        assert!(from_thinking(&disabled, model("gemini-3-pro-preview")).is_err());
        let flash3 = from_thinking(&disabled, model("gemini-3-flash-preview")).unwrap();
        assert_eq!(flash3.thinking_level.as_deref(), Some("minimal"));
        let zero = thinking(r#"{"type":"enabled","budget_tokens":0}"#);
        assert_eq!(
            from_thinking(&zero, model("gemini-2.5-flash"))
                .unwrap()
                .thinking_budget,
            Some(0)
        );
    }
}
