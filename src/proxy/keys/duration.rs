//! LiteLLM's durations (`duration`, `budget_duration`): a whole number and a unit, `30s`,
//! `15m`, `1h`, `30d`, `1w`, `1mo` (a month is 30 days here; LiteLLM counts calendar months).

/// The longest duration accepted: about 100 years, so that adding it to a time never
/// overflows.
const MAX_SECONDS: u64 = 100 * 365 * 86_400;

/// The seconds of `text` (`30d` is 2,592,000), or why it is not a duration.
pub(crate) fn seconds(text: &str) -> Result<u64, String> {
    let text = text.trim();
    let split = text
        .find(|c: char| !c.is_ascii_digit())
        .unwrap_or(text.len());
    let (number, unit) = text.split_at(split);
    let unit_seconds = match unit {
        "s" => 1,
        "m" => 60,
        "h" => 3_600,
        "d" => 86_400,
        "w" => 7 * 86_400,
        "mo" => 30 * 86_400,
        _ => {
            return Err(format!(
                "`{text}` is not a duration: expected a number and one of s, m, h, d, w, mo \
                 (e.g. 30d)"
            ));
        }
    };
    let number: u64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration: expected a number before `{unit}`"))?;
    number
        .checked_mul(unit_seconds)
        .filter(|total| (1..=MAX_SECONDS).contains(total))
        .ok_or_else(|| format!("`{text}` is out of range (1s to 100 years)"))
}

#[cfg(test)]
mod tests {
    use super::seconds;

    #[test]
    fn litellm_units() {
        assert_eq!(seconds("30s"), Ok(30));
        assert_eq!(seconds("15m"), Ok(900));
        assert_eq!(seconds("1h"), Ok(3_600));
        assert_eq!(seconds("30d"), Ok(30 * 86_400));
        assert_eq!(seconds("2w"), Ok(14 * 86_400));
        assert_eq!(seconds("1mo"), Ok(30 * 86_400));
    }

    #[test]
    fn nonsense_is_refused() {
        for text in [
            "",
            "d",
            "30",
            "30x",
            "-1d",
            "0s",
            "1.5h",
            "99999999999999999999d",
        ] {
            assert!(seconds(text).is_err(), "{text}");
        }
    }
}
