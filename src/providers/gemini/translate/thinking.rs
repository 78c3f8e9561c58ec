//! `reasoning_effort` and Anthropic-style `thinking` → `generationConfig.thinkingConfig`,
//! sending only what the model accepts: its thinking mode comes from the model table
//! ([`facts`](crate::gemini::facts)). `includeThoughts` is set whenever thinking is
//! requested, or no reasoning comes back.
//!
//! | input | budget models (2.5: `min`..`max`) | level models (3.x: the levels it lists) |
//! |---|---|---|
//! | effort `minimal` | the model's smallest budget (Flash 1, Flash-Lite 512, Pro 128) | the accepted level nearest `minimal` |
//! | effort `low` / `medium` / `high` | budget 1024 / 2048 / 4096, within `min`..`max` | the accepted level nearest the one asked |
//! | effort `none` / `disable` | budget 0, no thoughts; 400 where it cannot be off (Pro) | the lowest accepted level, no thoughts: no 3.x model can stop thinking |
//! | thinking `enabled`, budget N | N, within `min`..`max` | the level for N (< 2048 `low`, < 8192 `medium`, else `high`), then the nearest accepted |
//! | thinking `disabled` (or budget 0) | as effort `none` | as effort `none` |
//! | anything, model without thinking control | refused as an unsupported param (dropped with `drop_params`) | |
//!
//! *Nearest accepted level*: the level asked when the model accepts it, else the closest
//! accepted one, and of two equally close the stronger (3 Pro takes `low` and `high`:
//! `medium` becomes `high`; 3.7 Flash and later take no `minimal`: it becomes `low`). A
//! client never gets a value Google refuses, and never less thinking than the nearest gap
//! allows.
//!
//! An unknown `reasoning_effort` is a 400 naming the param (dropped with `drop_params`).
//! LiteLLM maps `thinking` on Gemini 3 to `low`/`minimal` whatever the budget, and a bare
//! `{"type":"disabled"}` to an empty `thinkingConfig`; both are fixed here.

use crate::error::Error;
use crate::openai::chat::Thinking;
use crate::providers::gemini::facts::{ModelFacts, ThinkingLevel, ThinkingMode};
use crate::providers::gemini::wire::ThinkingConfig;

/// A `reasoning_effort` understood: a level, or thinking off.
#[derive(Clone, Copy)]
enum Effort {
    Level(ThinkingLevel),
    Off,
}

/// The one reading of `reasoning_effort` values; `None` for one not understood.
fn parse_effort(level: &str) -> Option<Effort> {
    Some(match level {
        "minimal" => Effort::Level(ThinkingLevel::Minimal),
        "low" => Effort::Level(ThinkingLevel::Low),
        "medium" => Effort::Level(ThinkingLevel::Medium),
        "high" => Effort::Level(ThinkingLevel::High),
        "none" | "disable" => Effort::Off,
        _ => return None,
    })
}

/// Whether `level` is a `reasoning_effort` this module maps.
pub fn known_effort(level: &str) -> bool {
    parse_effort(level).is_some()
}

/// `reasoning_effort` → `thinkingConfig` for a model with `facts`.
pub fn from_reasoning_effort(level: &str, facts: &ModelFacts) -> Result<ThinkingConfig, Error> {
    const PARAM: &str = "reasoning_effort";
    let asked = match parse_effort(level) {
        Some(Effort::Level(asked)) => asked,
        Some(Effort::Off) => return thinking_off(facts, PARAM),
        None => return Err(unknown_effort(level)),
    };
    match &facts.thinking {
        ThinkingMode::Budget { min, max, .. } => {
            let budget = match asked {
                ThinkingLevel::Minimal => *min,
                ThinkingLevel::Low => 1024,
                ThinkingLevel::Medium => 2048,
                ThinkingLevel::High => 4096,
            };
            Ok(thoughts_on(budget_config(budget.clamp(*min, *max))))
        }
        mode => Ok(thoughts_on(level_config(nearest(mode, asked, PARAM)?))),
    }
}

/// Anthropic-style `thinking` → `thinkingConfig` for a model with `facts`.
pub fn from_thinking(thinking: &Thinking, facts: &ModelFacts) -> Result<ThinkingConfig, Error> {
    const PARAM: &str = "thinking";
    match (thinking.kind.as_str(), thinking.budget_tokens) {
        ("enabled", Some(0)) | ("disabled", _) => thinking_off(facts, PARAM),
        ("enabled", Some(..0)) => Err(Error::invalid_param(
            PARAM,
            "thinking.budget_tokens must not be negative",
        )),
        ("enabled", budget) => {
            let config = match (&facts.thinking, budget) {
                (ThinkingMode::Budget { min, max, .. }, Some(budget)) => {
                    budget_config(budget.clamp(*min, *max))
                }
                (mode, Some(budget)) => {
                    level_config(nearest(mode, level_for_budget(budget), PARAM)?)
                }
                (ThinkingMode::None, None) => return Err(no_thinking_control(PARAM)),
                (_, None) => ThinkingConfig::default(),
            };
            Ok(thoughts_on(config))
        }
        (other, _) => Err(Error::invalid_param(
            PARAM,
            format!("thinking.type must be \"enabled\" or \"disabled\", got {other:?}"),
        )),
    }
}

/// Thinking as little as the model allows, without thoughts in the reply.
fn thinking_off(facts: &ModelFacts, param: &str) -> Result<ThinkingConfig, Error> {
    match &facts.thinking {
        ThinkingMode::Budget { can_off: true, .. } => Ok(ThinkingConfig {
            include_thoughts: Some(false),
            thinking_budget: Some(0),
            thinking_level: None,
        }),
        ThinkingMode::Budget { .. } => Err(Error::invalid_param(
            param,
            "this model cannot turn thinking off; ask for the lowest effort (\"minimal\") instead",
        )),
        mode => Ok(ThinkingConfig {
            include_thoughts: Some(false),
            ..level_config(mode.lowest().ok_or_else(|| no_thinking_control(param))?)
        }),
    }
}

fn nearest(mode: &ThinkingMode, asked: ThinkingLevel, param: &str) -> Result<ThinkingLevel, Error> {
    mode.nearest(asked)
        .ok_or_else(|| no_thinking_control(param))
}

fn thoughts_on(config: ThinkingConfig) -> ThinkingConfig {
    ThinkingConfig {
        include_thoughts: Some(true),
        ..config
    }
}

fn budget_config(budget: i64) -> ThinkingConfig {
    ThinkingConfig {
        thinking_budget: Some(budget),
        ..ThinkingConfig::default()
    }
}

fn level_config(level: ThinkingLevel) -> ThinkingConfig {
    ThinkingConfig {
        thinking_level: Some(level.as_str().to_owned()),
        ..ThinkingConfig::default()
    }
}

fn level_for_budget(budget: i64) -> ThinkingLevel {
    match budget {
        ..2048 => ThinkingLevel::Low,
        2048..8192 => ThinkingLevel::Medium,
        _ => ThinkingLevel::High,
    }
}

fn no_thinking_control(param: &str) -> Error {
    Error::invalid_param(
        param,
        format!("{param} is not supported by this model, which takes no thinking control"),
    )
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
    use crate::providers::gemini::facts::facts;

    fn thinking(json: &str) -> Thinking {
        serde_json::from_str(json).expect("valid thinking")
    }

    fn level(effort: &str, model: &str) -> Option<String> {
        from_reasoning_effort(effort, facts(model))
            .unwrap()
            .thinking_level
    }

    fn budget(effort: &str, model: &str) -> Option<i64> {
        from_reasoning_effort(effort, facts(model))
            .unwrap()
            .thinking_budget
    }

    #[test]
    fn effort_budgets_on_2_5() {
        for (effort, expected) in [
            ("minimal", 1),
            ("low", 1024),
            ("medium", 2048),
            ("high", 4096),
        ] {
            let config = from_reasoning_effort(effort, facts("gemini-2.5-flash")).unwrap();
            assert_eq!(config.thinking_budget, Some(expected), "{effort}");
            assert_eq!(config.include_thoughts, Some(true));
            assert_eq!(config.thinking_level, None);
        }
        assert_eq!(budget("minimal", "gemini-2.5-flash-lite"), Some(512));
        assert_eq!(budget("low", "gemini-2.5-flash-lite"), Some(1024));
        assert_eq!(budget("minimal", "gemini-2.5-pro"), Some(128));
        // An unlisted 2.5 Pro takes its family's range.
        assert_eq!(budget("minimal", "gemini-2.5-pro-preview-06-05"), Some(128));
    }

    #[test]
    fn effort_off_on_2_5_flash_refused_on_2_5_pro() {
        for model in ["gemini-2.5-flash", "gemini-2.5-flash-lite"] {
            let config = from_reasoning_effort("none", facts(model)).unwrap();
            assert_eq!(config.thinking_budget, Some(0), "{model}");
            assert_eq!(config.include_thoughts, Some(false));
        }
        let error = from_reasoning_effort("disable", facts("gemini-2.5-pro")).unwrap_err();
        assert_eq!(error.param(), Some("reasoning_effort"));
    }

    #[test]
    fn effort_levels_on_3_x_flash() {
        for model in [
            "gemini-3-flash-preview",
            "gemini-3.5-flash",
            "gemini-3.6-flash",
        ] {
            for effort in ["minimal", "low", "medium", "high"] {
                assert_eq!(level(effort, model).as_deref(), Some(effort), "{model}");
            }
        }
        // 3.7 Flash and later refuse `minimal`: the nearest accepted level is `low`.
        for model in [
            "gemini-3.7-flash",
            "gemini-3.8-flash",
            "gemini-flash-latest",
        ] {
            assert_eq!(level("minimal", model).as_deref(), Some("low"), "{model}");
            assert_eq!(level("medium", model).as_deref(), Some("medium"), "{model}");
        }
        // An unlisted Flash takes the family's levels, which every listed one accepts.
        assert_eq!(level("minimal", "gemini-3.9-flash").as_deref(), Some("low"));
    }

    #[test]
    fn effort_levels_on_3_x_flash_lite() {
        for model in ["gemini-3.1-flash-lite-preview", "gemini-3.5-flash-lite"] {
            assert_eq!(level("minimal", model).as_deref(), Some("minimal"));
            assert_eq!(level("high", model).as_deref(), Some("high"));
        }
        let off = from_reasoning_effort("none", facts("gemini-3.5-flash-lite")).unwrap();
        assert_eq!(off.thinking_level.as_deref(), Some("minimal"));
        assert_eq!(off.include_thoughts, Some(false));
    }

    #[test]
    fn effort_levels_on_3_x_pro() {
        assert_eq!(
            level("minimal", "gemini-3-pro-preview").as_deref(),
            Some("low")
        );
        assert_eq!(
            level("medium", "gemini-3-pro-preview").as_deref(),
            Some("high")
        );
        assert_eq!(
            level("medium", "gemini-3.1-pro-preview").as_deref(),
            Some("medium")
        );
        assert_eq!(
            level("minimal", "gemini-3.1-pro-preview").as_deref(),
            Some("low")
        );
        let off = from_reasoning_effort("none", facts("gemini-3-pro-preview")).unwrap();
        assert_eq!(off.include_thoughts, Some(false));
        assert_eq!(off.thinking_level.as_deref(), Some("low"));
        assert_eq!(off.thinking_budget, None);
    }

    #[test]
    fn models_without_thinking_control_refuse_it() {
        for model in [
            "gemini-2.0-flash",
            "gemini-3-pro-image-preview",
            "gemma-3-27b-it",
        ] {
            let error = from_reasoning_effort("low", facts(model)).unwrap_err();
            assert_eq!(error.param(), Some("reasoning_effort"), "{model}");
            let error =
                from_thinking(&thinking(r#"{"type":"enabled"}"#), facts(model)).unwrap_err();
            assert_eq!(error.param(), Some("thinking"), "{model}");
        }
    }

    #[test]
    fn unknown_effort_is_refused_naming_the_param() {
        let error = from_reasoning_effort("extreme", facts("gemini-2.5-flash")).unwrap_err();
        assert!(error.message().contains("extreme"));
        assert_eq!(error.param(), Some("reasoning_effort"));
        assert!(!known_effort("extreme"));
    }

    #[test]
    fn anthropic_thinking_budgets_stay_in_range() {
        let enabled =
            |budget: i64| thinking(&format!(r#"{{"type":"enabled","budget_tokens":{budget}}}"#));
        let config = from_thinking(&enabled(1500), facts("gemini-2.5-flash")).unwrap();
        assert_eq!(config.thinking_budget, Some(1500));
        assert_eq!(config.include_thoughts, Some(true));
        let budget_of = |budget, model| {
            from_thinking(&enabled(budget), facts(model))
                .unwrap()
                .thinking_budget
        };
        assert_eq!(budget_of(64, "gemini-2.5-pro"), Some(128));
        assert_eq!(budget_of(100_000, "gemini-2.5-pro"), Some(32768));
        assert_eq!(budget_of(100, "gemini-2.5-flash-lite"), Some(512));
        assert!(from_thinking(&enabled(-1), facts("gemini-2.5-flash")).is_err());
    }

    #[test]
    fn anthropic_thinking_levels() {
        let enabled = thinking(r#"{"type":"enabled","budget_tokens":1500}"#);
        let level_of = |thinking: &Thinking, model| {
            from_thinking(thinking, facts(model))
                .unwrap()
                .thinking_level
        };
        assert_eq!(
            level_of(&enabled, "gemini-3-pro-preview").as_deref(),
            Some("low")
        );
        let middle = thinking(r#"{"type":"enabled","budget_tokens":4000}"#);
        assert_eq!(
            level_of(&middle, "gemini-3-pro-preview").as_deref(),
            Some("high")
        );
        assert_eq!(
            level_of(&middle, "gemini-3.8-flash").as_deref(),
            Some("medium")
        );
        let big = thinking(r#"{"type":"enabled","budget_tokens":20000}"#);
        assert_eq!(
            level_of(&big, "gemini-3-flash-preview").as_deref(),
            Some("high")
        );
        let bare = from_thinking(
            &thinking(r#"{"type":"enabled"}"#),
            facts("gemini-3.8-flash"),
        )
        .unwrap();
        assert_eq!(
            (bare.thinking_level, bare.include_thoughts),
            (None, Some(true))
        );
    }

    #[test]
    fn anthropic_thinking_disabled() {
        let disabled = thinking(r#"{"type":"disabled"}"#);
        let config = from_thinking(&disabled, facts("gemini-2.5-flash")).unwrap();
        assert_eq!(config.thinking_budget, Some(0));
        assert!(from_thinking(&disabled, facts("gemini-2.5-pro")).is_err());
        for (model, lowest) in [
            ("gemini-3-pro-preview", "low"),
            ("gemini-3-flash-preview", "minimal"),
            ("gemini-3.8-flash", "low"),
        ] {
            let config = from_thinking(&disabled, facts(model)).unwrap();
            assert_eq!(config.thinking_level.as_deref(), Some(lowest), "{model}");
            assert_eq!(config.include_thoughts, Some(false));
        }
        let zero = thinking(r#"{"type":"enabled","budget_tokens":0}"#);
        assert_eq!(
            from_thinking(&zero, facts("gemini-2.5-flash"))
                .unwrap()
                .thinking_budget,
            Some(0)
        );
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn known_effort() {
        use crate::gemini::translate::thinking::known_effort;

        assert!(known_effort("minimal"));
        assert!(known_effort("disable"));
        assert!(!known_effort("extreme"));
    }

    #[test]
    fn from_reasoning_effort() -> Result<(), Box<dyn std::error::Error>> {
        use crate::gemini::{facts::facts, translate::thinking::from_reasoning_effort};

        let config = from_reasoning_effort("low", facts("gemini-2.5-flash"))?;
        assert_eq!(config.thinking_budget, Some(1024));
        assert_eq!(config.include_thoughts, Some(true));
        // 3.8 Flash accepts no `minimal`: the nearest accepted level is sent.
        let config = from_reasoning_effort("minimal", facts("gemini-3.8-flash"))?;
        assert_eq!(config.thinking_level.as_deref(), Some("low"));
        Ok(())
    }

    #[test]
    fn from_thinking() -> Result<(), Box<dyn std::error::Error>> {
        use crate::gemini::{facts::facts, translate::thinking::from_thinking};
        use crate::openai::chat::Thinking;

        let thinking: Thinking =
            serde_json::from_str(r#"{"type":"enabled","budget_tokens":3000}"#).unwrap();
        let config = from_thinking(&thinking, facts("gemini-3-flash-preview"))?;
        assert_eq!(config.thinking_level.as_deref(), Some("medium"));
        Ok(())
    }
}
