//! What a Gemini model id says about the model: its generation, its size class, and from
//! there which schema forms it accepts. What each model accepts beyond that (thinking,
//! caching, tools) is data: see [`facts`](super::facts), whose families this parse picks.
//!
//! LiteLLM decides this with substring tests (`"gemini-3" in name`), which misreads
//! `gemini-3.1-flash` and will miss `gemini-4`. Here the version is parsed as a number.

/// Facts about a Gemini model id.
///
/// ```
/// use llm_tower::gemini::ModelInfo;
///
/// use llm_tower::gemini::SizeClass;
///
/// let model = ModelInfo::parse("gemini-3.1-flash-lite-preview");
/// assert_eq!(model.version(), Some((3, 1)));
/// assert_eq!(model.class(), SizeClass::FlashLite);
/// assert!(ModelInfo::parse("gemini-2.0-flash").version() == Some((2, 0)));
/// ```
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ModelInfo {
    version: Option<(u32, u32)>,
    class: SizeClass,
}

/// Size class named in the model id.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SizeClass {
    /// `…-pro…`
    Pro,
    /// `…-flash-lite…`
    FlashLite,
    /// `…-flash…`
    Flash,
    /// Anything else.
    Other,
}

impl ModelInfo {
    /// Reads a model id such as `gemini-2.5-flash` or `models/gemini-3-pro-preview`.
    pub fn parse(model: &str) -> Self {
        let name = model.strip_prefix("models/").unwrap_or(model);
        let version = name.strip_prefix("gemini-").and_then(parse_version);
        let class = if name.contains("flash-lite") {
            SizeClass::FlashLite
        } else if name.contains("flash") {
            SizeClass::Flash
        } else if name.contains("-pro") {
            SizeClass::Pro
        } else {
            SizeClass::Other
        };
        Self { version, class }
    }

    /// `(major, minor)` when the id carries a version.
    pub fn version(&self) -> Option<(u32, u32)> {
        self.version
    }

    /// The size class.
    pub fn class(&self) -> SizeClass {
        self.class
    }

    /// Models before 2.5 have no thinking. Ids without a version (`gemini-flash-latest`)
    /// are assumed current.
    pub fn supports_thinking(&self) -> bool {
        self.version.is_none_or(|version| version >= (2, 5))
    }

    /// Models from 2.5 on take a full JSON Schema as `responseJsonSchema`; older ones only
    /// the OpenAPI subset as `responseSchema`.
    pub fn supports_json_schema(&self) -> bool {
        self.supports_thinking()
    }
}

fn parse_version(rest: &str) -> Option<(u32, u32)> {
    let version = rest.split('-').next()?;
    let (major, minor) = version.split_once('.').unwrap_or((version, "0"));
    Some((major.parse().ok()?, minor.parse().ok()?))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn versions_are_numbers_not_substrings() {
        assert_eq!(ModelInfo::parse("gemini-2.5-flash").version(), Some((2, 5)));
        assert_eq!(
            ModelInfo::parse("gemini-3-pro-preview").version(),
            Some((3, 0))
        );
        assert_eq!(ModelInfo::parse("gemini-3.1-flash").version(), Some((3, 1)));
        assert_eq!(ModelInfo::parse("gemini-4-ultra").version(), Some((4, 0)));
        assert_eq!(ModelInfo::parse("gemini-flash-latest").version(), None);
        assert_eq!(
            ModelInfo::parse("models/gemini-1.5-pro").version(),
            Some((1, 5))
        );
    }

    #[test]
    fn size_classes() {
        assert_eq!(
            ModelInfo::parse("gemini-2.5-flash-lite").class(),
            SizeClass::FlashLite
        );
        assert_eq!(ModelInfo::parse("gemini-2.5-pro").class(), SizeClass::Pro);
        assert_eq!(
            ModelInfo::parse("gemini-2.5-flash-image").class(),
            SizeClass::Flash
        );
    }

    #[test]
    fn capabilities() {
        assert!(!ModelInfo::parse("gemini-2.0-flash").supports_thinking());
        assert!(ModelInfo::parse("gemini-2.5-flash").supports_json_schema());
    }
}
