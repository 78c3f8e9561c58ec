//! A batch's output and error files, made when they are read: the provider's results
//! translated back line by line into OpenAI's batch output shape
//! (`{"id", "custom_id", "response": {"status_code", "request_id", "body"}, "error"}`),
//! the successful ones in the output file, the failed ones (and the lines refused at
//! upload) in the error file, whose bodies are OpenAI's error envelope.

use bytes::Bytes;
use serde_json::json;

use super::service::BatchRecord;
use crate::error::Error;
use crate::layers::files::FileRegistry;
use crate::layers::files::ids::{IdKind, IdParts};
use crate::openai::batches::{BatchEndpoint, LineError, LineResponse, OutputLine};

/// The bytes of the output (or error) file of the batch `parts` names.
pub(crate) async fn content(registry: &FileRegistry, parts: &IdParts) -> Result<Bytes, Error> {
    let provider = registry.provider_of(&parts.deployment)?;
    let record: Option<BatchRecord> = registry.record(&parts.deployment, &parts.upstream).await;
    let endpoint = record
        .as_ref()
        .map_or(BatchEndpoint::ChatCompletions, |record| record.endpoint);
    let batch = provider.batch(&parts.upstream).await?;
    let results = match &batch.results {
        Some(file) => provider.results(endpoint, file).await?,
        None => Vec::new(),
    };
    let errors = parts.kind == IdKind::Errors;
    let mut out = Vec::new();
    if errors {
        for refused in record.iter().flat_map(|record| &record.refused) {
            push(
                &mut out,
                line(&parts.upstream, &refused.custom_id, Err(&refused.error)),
            );
        }
    }
    // Taken by value: each body goes into its line without a copy.
    for result in results {
        match (result.outcome, errors) {
            (Ok(body), false) => {
                let tokens = record
                    .as_ref()
                    .and_then(|record| record.input_tokens.get(&result.custom_id));
                let body = match tokens {
                    Some(&tokens) => counted(body, tokens, provider.input_cost(tokens)),
                    None => body,
                };
                push(&mut out, line(&parts.upstream, &result.custom_id, Ok(body)));
            }
            (Err(error), true) => push(
                &mut out,
                line(&parts.upstream, &result.custom_id, Err(&error)),
            ),
            _ => {}
        }
    }
    Ok(Bytes::from(out))
}

/// `body` with the input `tokens` its provider's result did not count, as a live call's
/// usage, and their `cost` when the price is known.
fn counted(mut body: serde_json::Value, tokens: u64, cost: Option<f64>) -> serde_json::Value {
    if let Some(usage) = body
        .get_mut("usage")
        .and_then(serde_json::Value::as_object_mut)
    {
        usage.insert("prompt_tokens".to_owned(), tokens.into());
        usage.insert("total_tokens".to_owned(), tokens.into());
        if let Some(cost) = cost {
            usage.insert("cost".to_owned(), cost.into());
        }
    }
    body
}

fn push(out: &mut Vec<u8>, line: OutputLine) {
    if serde_json::to_writer(&mut *out, &line).is_ok() {
        out.push(b'\n');
    }
}

/// One output line; its ids are the same on every replica (a hash of the batch and the
/// `custom_id`).
fn line(
    batch: &str,
    custom_id: &str,
    outcome: Result<serde_json::Value, &LineError>,
) -> OutputLine {
    let digest = ring::digest::digest(
        &ring::digest::SHA256,
        format!("{batch}\n{custom_id}").as_bytes(),
    );
    let hex: String = digest.as_ref()[..12]
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect();
    let (status_code, body) = match outcome {
        Ok(body) => (200, body),
        Err(error) => (
            status_of(&error.code),
            json!({"error": {"message": error.message, "type": error.code, "param": null, "code": null}}),
        ),
    };
    OutputLine {
        id: format!("batch_req_{hex}"),
        custom_id: custom_id.to_owned(),
        response: Some(LineResponse {
            status_code,
            request_id: format!("req_{hex}"),
            body,
        }),
        error: None,
    }
}

/// The HTTP status of a line's error code (an OpenAI error type or Google's status).
fn status_of(code: &str) -> u16 {
    match code {
        "invalid_request_error" | "INVALID_ARGUMENT" | "FAILED_PRECONDITION" => 400,
        "authentication_error" | "UNAUTHENTICATED" => 401,
        "permission_error" | "PERMISSION_DENIED" => 403,
        "not_found_error" | "NOT_FOUND" => 404,
        "rate_limit_error" | "RESOURCE_EXHAUSTED" => 429,
        "UNAVAILABLE" => 503,
        "DEADLINE_EXCEEDED" => 504,
        _ => 500,
    }
}
