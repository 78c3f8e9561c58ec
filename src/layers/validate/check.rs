//! Checking a reply's text against a compiled schema, and the errors a mismatch becomes.

use std::fmt::Write as _;

use jsonschema::Validator;
use serde_json::Value;

use crate::error::{Error, ErrorKind};
use crate::openai::ChatCompletion;

/// Errors listed in one validation message.
const MAX_LISTED_ERRORS: usize = 3;

/// Characters of one validator message kept (an `anyOf` failure prints the whole instance).
const MAX_ERROR_CHARS: usize = 300;

/// Checks that `text` is JSON matching `validator`'s schema.
///
/// # Errors
///
/// A `JSONSchemaValidationError` (500, `type: api_error`) whose message names each failing
/// instance path (at most three) and whose `raw_response` is `text`.
///
/// ```
/// use llm_tower::ErrorKind;
/// use llm_tower::layers::validate::validate_json;
/// use serde_json::json;
///
/// let schema = json!({
///     "type": "object",
///     "properties": {"items": {"type": "array", "items": {
///         "type": "object", "properties": {"price": {"type": "number"}}
///     }}}
/// });
/// let validator = jsonschema::validator_for(&schema).unwrap();
/// assert!(validate_json(&validator, r#"{"items":[{"price":10}]}"#).is_ok());
///
/// let text = r#"{"items":[{"price":"ten"}]}"#;
/// let error = validate_json(&validator, text).unwrap_err();
/// assert_eq!(error.kind(), ErrorKind::JsonSchemaValidation);
/// assert_eq!(error.status(), 500);
/// assert_eq!(
///     error.message(),
///     r#"JSONSchemaValidationError: /items/0/price: "ten" is not of type "number""#,
/// );
/// assert_eq!(error.raw_response(), Some(text));
/// ```
pub fn validate_json(validator: &Validator, text: &str) -> Result<(), Error> {
    validate_choice(validator, text, None)
}

pub(super) fn validate_choice(
    validator: &Validator,
    text: &str,
    choice: Option<u32>,
) -> Result<(), Error> {
    let value: Value = match serde_json::from_str(text) {
        Ok(value) => value,
        Err(error) => {
            return Err(
                validation_error(choice, format!("the reply is not JSON: {error}"))
                    .with_raw_response(text),
            );
        }
    };
    if validator.is_valid(&value) {
        return Ok(());
    }
    let mut message = String::new();
    for (position, error) in validator
        .iter_errors(&value)
        .take(MAX_LISTED_ERRORS + 1)
        .enumerate()
    {
        if position == MAX_LISTED_ERRORS {
            message.push_str("; and more");
            break;
        }
        if position > 0 {
            message.push_str("; ");
        }
        let path = error.instance_path().as_str();
        let path = if path.is_empty() { "(root)" } else { path };
        let _ = write!(message, "{path}: {}", truncate(&error.to_string()));
    }
    Err(validation_error(choice, message).with_raw_response(text))
}

pub(super) fn validation_error(choice: Option<u32>, detail: impl std::fmt::Display) -> Error {
    let message = match choice {
        Some(index) => format!("JSONSchemaValidationError: choice {index}: {detail}"),
        None => format!("JSONSchemaValidationError: {detail}"),
    };
    Error::new(ErrorKind::JsonSchemaValidation, message)
}

pub(super) fn truncate(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

pub(super) fn validate_completion(
    validator: &Validator,
    completion: &ChatCompletion,
) -> Result<(), Error> {
    let several = completion.choices.len() > 1;
    for choice in &completion.choices {
        let label = several.then_some(choice.index);
        let message = &choice.message;
        match message.content.as_deref().filter(|text| !text.is_empty()) {
            Some(text) => validate_choice(validator, text, label)?,
            None if message.tool_calls.is_some() || message.function_call.is_some() => {}
            None => return Err(no_content(label, choice.finish_reason.as_deref())),
        }
    }
    Ok(())
}

pub(super) fn no_content(choice: Option<u32>, finish_reason: Option<&str>) -> Error {
    validation_error(
        choice,
        format!(
            "the reply has no content to validate (finish_reason: {})",
            finish_reason.unwrap_or("none")
        ),
    )
}
