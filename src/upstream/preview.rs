//! [`preview`]: the start of an upstream body that is not the API's own error JSON, made
//! fit for an error message: an HTML page from a load balancer becomes its readable text,
//! anything else its first line, at most 200 characters.

/// Longest preview kept in a message, in characters.
const PREVIEW_CHARS: usize = 200;

/// How much of a body [`preview`] looks at.
const PREVIEW_SCAN_BYTES: usize = 64 * 1024;

/// The start of a body, for messages: for an HTML (or XML) page its readable text (tags,
/// scripts and styles removed, entities decoded, whitespace collapsed), otherwise its first
/// non-empty line; at most 200 characters, `…` marking a cut.
pub(crate) fn preview(body: &[u8]) -> String {
    // The text that fits in a preview is near the start; don't scan a huge page.
    let text = String::from_utf8_lossy(&body[..body.len().min(PREVIEW_SCAN_BYTES)]);
    let trimmed = text.trim_start();
    let readable = if trimmed.starts_with('<') {
        markup_text(trimmed)
    } else {
        trimmed
            .lines()
            .map(str::trim)
            .find(|line| !line.is_empty())
            .unwrap_or_default()
            .to_owned()
    };
    if readable.is_empty() {
        return "(empty body)".to_owned();
    }
    match readable.char_indices().nth(PREVIEW_CHARS) {
        Some((cut, _)) => format!("{}…", readable[..cut].trim_end()),
        None => readable,
    }
}

/// The readable text of an HTML page: tags dropped (inline ones without a gap), `<script>`
/// and `<style>` contents skipped, common entities decoded, whitespace collapsed.
fn markup_text(html: &str) -> String {
    const INLINE: &[&str] = &[
        "a", "abbr", "b", "code", "em", "i", "ins", "kbd", "mark", "s", "small", "span", "strong",
        "sub", "sup", "u",
    ];
    let mut out = String::with_capacity(html.len().min(4096));
    let mut rest = html;
    while let Some(open) = rest.find('<') {
        out.push_str(&decode_entities(&rest[..open]));
        let after = &rest[open + 1..];
        let Some(close) = after.find('>') else {
            rest = "";
            break;
        };
        let tag = &after[..close];
        rest = &after[close + 1..];
        let name: String = tag
            .trim_start_matches('/')
            .chars()
            .take_while(char::is_ascii_alphanumeric)
            .collect::<String>()
            .to_ascii_lowercase();
        if !tag.starts_with('/') && (name == "script" || name == "style") {
            let end = format!("</{name}");
            rest = match rest.to_ascii_lowercase().find(&end) {
                Some(at) => rest[at..].split_once('>').map_or("", |(_, tail)| tail),
                None => "",
            };
        }
        if !INLINE.contains(&name.as_str()) {
            out.push(' ');
        }
    }
    out.push_str(&decode_entities(rest));
    out.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// Decodes the entities error pages use (`&amp;`, `&lt;`, `&#39;`, `&#x2019;`, …).
fn decode_entities(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(at) = rest.find('&') {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        let decoded = tail.get(1..).and_then(|body| {
            let end = body.find(';').filter(|&end| end <= 10)?;
            let entity = &body[..end];
            let character = match entity {
                "amp" => '&',
                "lt" => '<',
                "gt" => '>',
                "quot" => '"',
                "apos" => '\'',
                "nbsp" => ' ',
                _ => {
                    let code = match entity.strip_prefix("#x").or(entity.strip_prefix("#X")) {
                        Some(hex) => u32::from_str_radix(hex, 16).ok()?,
                        None => entity.strip_prefix('#')?.parse().ok()?,
                    };
                    char::from_u32(code)?
                }
            };
            Some((character, end + 2))
        });
        match decoded {
            Some((character, length)) => {
                out.push(character);
                rest = &tail[length..];
            }
            None => {
                out.push('&');
                rest = &tail[1..];
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::preview;

    #[test]
    fn html_pages_become_their_text() {
        let page = "<!DOCTYPE html>\n<html lang=en><head><style>p{margin:0}</style>\
                    <script>var x = '<p>';</script><title>Error 502 (Server Error)!!1</title>\
                    </head><p><b>502.</b> <ins>That&#8217;s an error.</ins><p>Try &amp; retry.";
        assert_eq!(
            preview(page.as_bytes()),
            "Error 502 (Server Error)!!1 502. That\u{2019}s an error. Try & retry."
        );
    }

    #[test]
    fn long_and_empty_bodies() {
        let long = "x".repeat(500);
        assert_eq!(preview(long.as_bytes()), format!("{}…", "x".repeat(200)));
        assert_eq!(preview(b"  \n "), "(empty body)");
        assert_eq!(preview(b"<html></html>"), "(empty body)");
        assert_eq!(
            preview(b"\nupstream connect error\nmore"),
            "upstream connect error"
        );
    }
}
