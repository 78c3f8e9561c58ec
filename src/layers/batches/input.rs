//! A batch input file, read line by line as OpenAI's Batch API takes it: each non-empty
//! line `{"custom_id", "method": "POST", "url", "body"}`, one `url` for the whole file (an
//! endpoint served), `custom_id`s unique, one `model` named by every body. A file that
//! breaks one of these is refused (400 naming the line); a line whose body the provider's
//! translation refuses is kept as that line's error, for the batch's error file.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use super::super::files::FileProvider;
use crate::error::{Error, ErrorKind};
use crate::openai::batches::{BatchEndpoint, InputLine, LineError};

/// The most lines a batch file may have (OpenAI's limit).
pub const MAX_LINES: usize = 50_000;

/// A line of the input file the provider's translation refused.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Refused {
    /// The line's `custom_id`.
    pub custom_id: String,
    /// Why.
    pub error: LineError,
}

/// What a batch file says, once checked.
#[derive(Debug, Clone)]
pub(crate) struct Checked {
    pub(crate) endpoint: BatchEndpoint,
    /// The model every line names, if they name one.
    pub(crate) model: Option<String>,
    /// The lines, with their 1-based numbers.
    pub(crate) lines: Vec<(u64, InputLine)>,
}

/// Only the `model` of a request body.
#[derive(Deserialize)]
struct ModelOnly {
    #[serde(default)]
    model: Option<String>,
}

/// Checks a batch file; the error names the first line at fault.
pub(crate) fn check(bytes: &[u8]) -> Result<Checked, Error> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| Error::invalid_request("the batch file is not UTF-8 text"))?;
    let mut lines = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut first: Option<(u64, String, Option<String>)> = None;
    for (index, text) in text.lines().enumerate() {
        let number = index as u64 + 1;
        if text.trim().is_empty() {
            continue;
        }
        if lines.len() == MAX_LINES {
            return Err(Error::invalid_request(format!(
                "the batch file has more than {MAX_LINES} requests"
            )));
        }
        let line: InputLine = serde_json::from_str(text).map_err(|error| {
            Error::invalid_request(format!(
                "line {number} of the batch file is not a request line ({{\"custom_id\", \"method\", \"url\", \"body\"}}): {error}"
            ))
        })?;
        if line.method != "POST" {
            return Err(Error::invalid_request(format!(
                "line {number}: method must be POST, not `{}`",
                line.method
            )));
        }
        if !seen.insert(line.custom_id.clone()) {
            return Err(Error::invalid_request(format!(
                "line {number}: custom_id `{}` is used by an earlier line; custom_ids must be unique",
                line.custom_id
            )));
        }
        let model = line
            .body
            .parse::<ModelOnly>()
            .ok()
            .and_then(|body| body.model);
        match &first {
            None => first = Some((number, line.url.clone(), model)),
            Some((first_number, url, _)) if *url != line.url => {
                return Err(Error::invalid_request(format!(
                    "line {number} calls `{}` where line {first_number} calls `{url}`; a batch calls one endpoint",
                    line.url
                )));
            }
            Some((first_number, _, first_model)) if *first_model != model => {
                return Err(Error::invalid_request(format!(
                    "line {number} names model {} where line {first_number} names {}; a batch runs one model",
                    shown(model.as_deref()),
                    shown(first_model.as_deref())
                )));
            }
            Some(_) => {}
        }
        lines.push((number, line));
    }
    let Some((_, url, model)) = first else {
        return Err(Error::invalid_request("the batch file has no request line"));
    };
    let endpoint = BatchEndpoint::parse(&url).ok_or_else(|| {
        Error::new(
            ErrorKind::InvalidRequest,
            format!(
                "the batch file calls `{url}`; batches run /v1/chat/completions and /v1/embeddings"
            ),
        )
    })?;
    Ok(Checked {
        endpoint,
        model,
        lines,
    })
}

fn shown(model: Option<&str>) -> String {
    model.map_or_else(|| "none".to_owned(), |model| format!("`{model}`"))
}

/// The provider's batch file of `checked`'s lines.
pub(crate) struct Translated {
    /// The provider's JSONL.
    pub(crate) file: String,
    /// Lines in it.
    pub(crate) count: u64,
    /// The lines its translation refused.
    pub(crate) refused: Vec<Refused>,
    /// The input tokens of the lines the provider's results will not count, by `custom_id`.
    pub(crate) input_tokens: BTreeMap<String, u64>,
}

/// The provider's batch file of `checked`'s lines, and the lines its translation refused.
pub(crate) fn translate(provider: &dyn FileProvider, checked: &Checked) -> Translated {
    let mut out = String::new();
    let mut count = 0;
    let mut refused = Vec::new();
    let mut input_tokens = BTreeMap::new();
    for (number, line) in &checked.lines {
        match provider.batch_line(checked.endpoint, &line.custom_id, &line.body) {
            Ok(translated) => {
                out.push_str(&translated.line);
                out.push('\n');
                count += 1;
                if let Some(tokens) = translated.input_tokens {
                    input_tokens.insert(line.custom_id.clone(), tokens);
                }
            }
            Err(error) => refused.push(Refused {
                custom_id: line.custom_id.clone(),
                error: LineError {
                    code: error.kind().openai_type().to_owned(),
                    message: error.message().to_owned(),
                    line: Some(*number),
                },
            }),
        }
    }
    Translated {
        file: out,
        count,
        refused,
        input_tokens,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(id: &str, url: &str, model: &str) -> String {
        format!(
            r#"{{"custom_id":"{id}","method":"POST","url":"{url}","body":{{"model":"{model}","messages":[{{"role":"user","content":"hi"}}]}}}}"#
        )
    }

    #[test]
    fn a_good_file_is_read() {
        let file = format!(
            "{}\n\n{}\n",
            line("a", "/v1/chat/completions", "m"),
            line("b", "/v1/chat/completions", "m")
        );
        let checked = check(file.as_bytes()).unwrap();
        assert_eq!(checked.endpoint, BatchEndpoint::ChatCompletions);
        assert_eq!(checked.model.as_deref(), Some("m"));
        assert_eq!(checked.lines.len(), 2);
        assert_eq!(checked.lines[1].0, 3);
    }

    #[test]
    fn bad_files_are_refused_naming_the_line() {
        let chat = "/v1/chat/completions";
        for (file, says) in [
            (
                format!("{}\nnot json", line("a", chat, "m")),
                "line 2 of the batch file",
            ),
            (
                format!("{}\n{}", line("a", chat, "m"), line("a", chat, "m")),
                "line 2: custom_id `a`",
            ),
            (
                format!("{}\n{}", line("a", chat, "m"), line("b", chat, "n")),
                "line 2 names model `n` where line 1 names `m`",
            ),
            (
                format!(
                    "{}\n{}",
                    line("a", chat, "m"),
                    line("b", "/v1/embeddings", "m")
                ),
                "line 2 calls `/v1/embeddings`",
            ),
            (line("a", "/v1/responses", "m"), "calls `/v1/responses`"),
            (String::new(), "no request line"),
        ] {
            let error = check(file.as_bytes()).unwrap_err();
            assert_eq!(error.status(), 400);
            assert!(error.message().contains(says), "{}", error.message());
        }
    }
}
