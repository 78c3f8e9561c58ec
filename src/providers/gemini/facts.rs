//! What each Gemini model accepts and offers, as data: `facts.json` beside this file lists
//! every current model (its context window, output limit, thinking mode, context-cache
//! minimum, media-resolution support, whether built-in tools combine with function
//! declarations) with the Google pages it was read from and when. Prices stay in
//! `pricing.json` (see [`super::pricing`]) and are joined by id.
//!
//! A model the table does not list gets the defaults of its family, chosen by the version
//! and size class its id names ([`ModelInfo`]): `gemini-3.9-flash` takes the "3.x Flash"
//! row, whose values every known 3.x Flash model accepts. An id no family covers gets the
//! `unknown` row: no thinking control (no `thinkingConfig` is sent, so none is refused),
//! the largest cache minimum. Either way one warning is logged per id.
//!
//! The translation reads the facts to send only what a model accepts
//! (thinking levels and budgets, the built-in tools), the context cache reads its
//! minimum, and the proxy shows them in `/model/info` and `/v1/models/{id}`.

use std::collections::{HashMap, HashSet};
use std::sync::{LazyLock, PoisonError, RwLock};

use serde::{Deserialize, Serialize};

use super::model::{ModelInfo, SizeClass};

/// How many unknown ids are remembered so that each is warned about once.
const WARNED_IDS: usize = 1024;

/// One thinking level of Gemini 3 (`thinkingConfig.thinkingLevel`), weakest first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum ThinkingLevel {
    /// `minimal`
    Minimal,
    /// `low`
    Low,
    /// `medium`
    Medium,
    /// `high`
    High,
}

impl ThinkingLevel {
    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Minimal => "minimal",
            Self::Low => "low",
            Self::Medium => "medium",
            Self::High => "high",
        }
    }
}

/// How a model's thinking is controlled.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "snake_case")]
pub enum ThinkingMode {
    /// No thinking control: no `thinkingConfig` is sent.
    None,
    /// A token budget (`thinkingBudget`, Gemini 2.5) from `min` to `max`; `0` turns
    /// thinking off where `can_off`.
    Budget {
        /// The smallest budget above zero.
        min: i64,
        /// The largest budget.
        max: i64,
        /// Whether a budget of 0 (no thinking) is accepted.
        can_off: bool,
    },
    /// A level (`thinkingLevel`, Gemini 3), one of `levels`; thinking cannot be off.
    Levels {
        /// The accepted levels, weakest first.
        levels: Vec<ThinkingLevel>,
    },
}

impl ThinkingMode {
    /// The accepted level nearest to `asked`: `asked` itself when accepted, else the
    /// closest one, the stronger of two equally close (a client never gets less thinking
    /// than it asked for because of a gap). `None` for a model without levels.
    ///
    /// ```
    /// use llm_tower::gemini::facts::{ThinkingLevel, facts};
    ///
    /// let pro = &facts("gemini-3-pro-preview").thinking; // low, high
    /// assert_eq!(pro.nearest(ThinkingLevel::Medium), Some(ThinkingLevel::High));
    /// assert_eq!(pro.nearest(ThinkingLevel::Minimal), Some(ThinkingLevel::Low));
    /// ```
    pub fn nearest(&self, asked: ThinkingLevel) -> Option<ThinkingLevel> {
        let Self::Levels { levels } = self else {
            return None;
        };
        let distance = |level: &ThinkingLevel| (*level as i8 - asked as i8).unsigned_abs();
        levels
            .iter()
            .copied()
            .min_by_key(|level| (distance(level), std::cmp::Reverse(*level)))
    }

    /// The weakest accepted level, for a model with levels.
    pub fn lowest(&self) -> Option<ThinkingLevel> {
        match self {
            Self::Levels { levels } => levels.iter().copied().min(),
            _ => None,
        }
    }
}

/// What one model (or family) accepts and offers.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ModelFacts {
    /// The family the model belongs to (`3.x Flash`, `2.5 Pro`, …).
    pub family: String,
    /// Context window, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_input_tokens: Option<u64>,
    /// Largest reply, in tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub max_output_tokens: Option<u64>,
    /// Dimensions of an embedding model's vectors.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub output_vector_size: Option<u64>,
    /// How thinking is controlled.
    pub thinking: ThinkingMode,
    /// The fewest tokens Google caches in a `cachedContents` entry; `None`: no caching.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cache_min_tokens: Option<u64>,
    /// Whether `mediaResolution` is accepted per part (Gemini 3).
    pub media_resolution: bool,
    /// Whether built-in tools (Google Search, code execution, URL context) are accepted
    /// in a request that also declares functions.
    pub builtin_tools_with_functions: bool,
    /// Whether a replayed function call turn must carry a thought signature (Gemini 3):
    /// calls replayed without one get Google's documented placeholder.
    pub signed_function_calls: bool,
}

/// A family row: the facts of ids of one size class from one version on.
#[derive(Debug, Clone, Deserialize)]
struct Family {
    class: FamilyClass,
    from: (u32, u32),
    #[serde(default)]
    until: Option<(u32, u32)>,
    #[serde(flatten)]
    facts: ModelFacts,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
enum FamilyClass {
    Any,
    Pro,
    Flash,
    FlashLite,
}

impl FamilyClass {
    fn covers(self, class: SizeClass) -> bool {
        matches!(
            (self, class),
            (Self::Any, _)
                | (Self::Pro, SizeClass::Pro)
                | (Self::Flash, SizeClass::Flash)
                | (Self::FlashLite, SizeClass::FlashLite)
        )
    }
}

/// Where a page of the table comes from.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Source {
    /// The page's title.
    pub page: String,
    /// Its address.
    pub url: String,
    /// The date it was read (`YYYY-MM-DD`).
    pub read: String,
    /// What was taken from it.
    pub gave: String,
}

/// How a lookup found its facts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Found {
    /// The table lists the id.
    Model,
    /// The id's family row.
    Family,
    /// No family covers the id: the conservative defaults.
    Unknown,
}

/// The table of model facts.
#[derive(Debug, Clone, Deserialize)]
pub struct FactsTable {
    sources: Vec<Source>,
    models: HashMap<String, ModelFacts>,
    families: Vec<Family>,
    unknown: ModelFacts,
}

impl FactsTable {
    /// The facts of `model` (with or without `models/`), and how they were found.
    ///
    /// ```
    /// use llm_tower::gemini::facts::{Found, bundled};
    ///
    /// let (facts, found) = bundled().lookup("gemini-3.9-flash");
    /// assert_eq!((facts.family.as_str(), found), ("3.x Flash", Found::Family));
    /// assert_eq!(bundled().lookup("models/gemini-2.5-pro").1, Found::Model);
    /// ```
    pub fn lookup(&self, model: &str) -> (&ModelFacts, Found) {
        let id = model.strip_prefix("models/").unwrap_or(model);
        if let Some(facts) = self.models.get(id) {
            return (facts, Found::Model);
        }
        let info = ModelInfo::parse(id);
        let family = info.version().and_then(|version| {
            self.families
                .iter()
                .filter(|family| {
                    family.class.covers(info.class())
                        && family.from <= version
                        && family.until.is_none_or(|until| version < until)
                })
                .max_by_key(|family| family.from)
        });
        match family {
            Some(family) => (&family.facts, Found::Family),
            None => (&self.unknown, Found::Unknown),
        }
    }

    /// The pages the table was read from.
    pub fn sources(&self) -> &[Source] {
        &self.sources
    }

    /// The listed model ids, sorted.
    pub fn model_ids(&self) -> Vec<&str> {
        let mut ids: Vec<&str> = self.models.keys().map(String::as_str).collect();
        ids.sort_unstable();
        ids
    }
}

static BUNDLED: LazyLock<FactsTable> = LazyLock::new(|| {
    // The file is in the crate and a test parses it; a broken file cannot ship.
    serde_json::from_str(include_str!("facts.json")).expect("facts.json parses")
});

/// Unknown ids already warned about.
static WARNED: LazyLock<WarnedIds> = LazyLock::new(WarnedIds::default);

/// Model ids something was logged about, to log it once per id (up to [`WARNED_IDS`] ids,
/// then no more). An id seen before costs a shared read lock, no allocation.
#[derive(Default)]
pub(crate) struct WarnedIds(RwLock<HashSet<String>>);

impl WarnedIds {
    /// Whether `id` is new (and now remembered): the first time, and only while there is
    /// room.
    pub(crate) fn first(&self, id: &str) -> bool {
        {
            let seen = self.0.read().unwrap_or_else(PoisonError::into_inner);
            if seen.len() >= WARNED_IDS || seen.contains(id) {
                return false;
            }
        }
        let mut seen = self.0.write().unwrap_or_else(PoisonError::into_inner);
        seen.len() < WARNED_IDS && seen.insert(id.to_owned())
    }
}

/// The bundled table.
pub fn bundled() -> &'static FactsTable {
    &BUNDLED
}

/// The facts of `model` from the bundled table; an id the table does not list is warned
/// about once (it gets its family's defaults, or the unknown row's).
///
/// ```
/// use llm_tower::gemini::facts::{ThinkingLevel, ThinkingMode, facts};
///
/// let flash = facts("gemini-3.8-flash");
/// assert_eq!(flash.cache_min_tokens, Some(4096));
/// assert_eq!(flash.thinking.lowest(), Some(ThinkingLevel::Low)); // no minimal
/// assert!(matches!(facts("gemini-2.5-pro").thinking, ThinkingMode::Budget { can_off: false, .. }));
/// ```
pub fn facts(model: &str) -> &'static ModelFacts {
    let (facts, found) = bundled().lookup(model);
    if found != Found::Model {
        warn_once(model, facts);
    }
    facts
}

fn warn_once(model: &str, facts: &ModelFacts) {
    if !WARNED.first(model) {
        return;
    }
    tracing::warn!(
        model,
        family = facts.family,
        "model not in the Gemini model table; using its family's conservative defaults"
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use ThinkingLevel::*;

    #[test]
    fn an_id_is_warned_about_once_and_a_full_set_warns_no_more() {
        let warned = WarnedIds::default();
        assert!(warned.first("gemini-9-flash"));
        assert!(!warned.first("gemini-9-flash"));
        for n in 1..WARNED_IDS {
            assert!(warned.first(&format!("gemini-9-flash-{n}")));
        }
        assert!(!warned.first("gemini-10-flash"));
        assert_eq!(warned.0.read().unwrap().len(), WARNED_IDS);
    }

    #[test]
    fn the_table_parses_and_names_its_sources() {
        let table = bundled();
        assert!(table.sources().len() >= 5);
        for source in table.sources() {
            assert!(source.url.starts_with("https://"), "{source:?}");
            assert_eq!(source.read.len(), 10, "{source:?}");
        }
        for id in table.model_ids() {
            let facts = &table.models[id];
            assert!(facts.max_input_tokens.is_some(), "{id}");
            if let ThinkingMode::Levels { levels } = &facts.thinking {
                assert!(levels.is_sorted() && !levels.is_empty(), "{id}");
            }
            if let ThinkingMode::Budget { min, max, .. } = facts.thinking {
                assert!(0 < min && min <= max, "{id}");
            }
        }
    }

    #[test]
    fn every_family_is_what_its_listed_models_all_accept() {
        // A family's defaults must be safe for every listed model of that family.
        let table = bundled();
        for family in &table.families {
            let members = table
                .models
                .values()
                .filter(|facts| facts.family == family.facts.family);
            for member in members {
                if let (ThinkingMode::Levels { levels: default }, ThinkingMode::Levels { levels }) =
                    (&family.facts.thinking, &member.thinking)
                {
                    assert!(
                        default.iter().all(|level| levels.contains(level)),
                        "{}",
                        family.facts.family
                    );
                }
                assert!(
                    family.facts.cache_min_tokens >= member.cache_min_tokens,
                    "{}",
                    family.facts.family
                );
                assert!(
                    !family.facts.builtin_tools_with_functions
                        || member.builtin_tools_with_functions
                );
            }
        }
    }

    #[test]
    fn families_by_version_and_class() {
        let table = bundled();
        let family = |id| table.lookup(id).0.family.as_str();
        assert_eq!(family("gemini-3.9-flash"), "3.x Flash");
        assert_eq!(family("gemini-4-flash-lite"), "3.x Flash-Lite");
        assert_eq!(family("gemini-3.2-pro-preview"), "3.x Pro");
        assert_eq!(family("gemini-2.5-pro-preview-06-05"), "2.5 Pro");
        assert_eq!(family("gemini-2.5-flash-lite-001"), "2.5 Flash-Lite");
        assert_eq!(family("gemini-2.0-pro-exp"), "2.0");
        assert_eq!(
            table.lookup("gemma-3-27b-it"),
            (&table.unknown, Found::Unknown)
        );
        assert_eq!(table.unknown.thinking, ThinkingMode::None);
    }

    #[test]
    fn nearest_level_prefers_the_stronger_of_two() {
        let mode = |levels: &[ThinkingLevel]| ThinkingMode::Levels {
            levels: levels.to_vec(),
        };
        let pro = mode(&[Low, High]);
        assert_eq!(pro.nearest(Medium), Some(High));
        assert_eq!(pro.nearest(Minimal), Some(Low));
        assert_eq!(pro.nearest(High), Some(High));
        let flash = mode(&[Low, Medium, High]);
        assert_eq!(flash.nearest(Minimal), Some(Low));
        assert_eq!(flash.lowest(), Some(Low));
        assert_eq!(ThinkingMode::None.nearest(Low), None);
    }
}
