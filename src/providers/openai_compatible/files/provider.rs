//! [`OpenAiFileProvider`]: the [`FileProvider`] of an OpenAI-compatible deployment. The
//! server runs batches itself, so each request line goes through the live call's
//! pass-through translation (the deployment's model and params, LiteLLM's additions taken
//! out) and each result comes back as the server wrote it, priced at the batch rate when
//! the deployment has a price.

use std::sync::Arc;

use bytes::Bytes;
use serde_json::value::RawValue;

use super::client::OpenAiFiles;
use super::wire::{InputLine, ResultLine, UpstreamBatch, UpstreamError};
use crate::error::{Error, ErrorKind};
use crate::layers::files::{
    BatchLine, FileProvider, LineResult, ProviderBatch, ProviderFile, ProviderFuture, ProviderState,
};
use crate::openai::batches::{BatchEndpoint, LineError, RequestCounts};
use crate::openai::chat::round_dollars;
use crate::openai::files::FilePurpose;
use crate::openai::{ChatRequest, EmbeddingRequest, EmbeddingUsage, Usage};
use crate::pricing::ModelPrice;
use crate::providers::openai_compatible::request::{self, Options};
use crate::raw_json::RawJson;

/// The files and batches of one OpenAI-compatible deployment (its endpoint, key and
/// model).
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::providers::openai_compatible::files::{OpenAiFileProvider, OpenAiFiles};
/// use llm_tower::upstream::HttpTransport;
///
/// let client = OpenAiFiles::new(HttpTransport::builder().build()?, "https://api.openai.com/v1", Some(Secret::new("sk-…")));
/// let provider = OpenAiFileProvider::new(client, "gpt-4o-mini");
/// # let _ = provider;
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct OpenAiFileProvider {
    client: OpenAiFiles,
    model: String,
    options: Options,
    price: Option<ModelPrice>,
    defaults: Option<Arc<ChatRequest>>,
}

impl OpenAiFileProvider {
    /// Batches of `model` (the server's id) over `client`.
    pub fn new(client: OpenAiFiles, model: impl Into<String>) -> Self {
        Self {
            client,
            model: model.into(),
            options: Options::default(),
            price: None,
            defaults: None,
        }
    }

    /// Drops params the server does not take instead of refusing the line
    /// (LiteLLM's `drop_params`).
    pub fn drop_params(mut self, drop: bool) -> Self {
        self.options.drop_params = drop;
        self
    }

    /// Fills each chat line's unset params from `defaults` (a deployment's params), as a
    /// live call to the deployment does (see [`ChatRequest::fill_defaults`]).
    pub fn with_defaults(mut self, defaults: ChatRequest) -> Self {
        self.defaults = Some(Arc::new(defaults));
        self
    }

    /// Prices each result's usage at `price`'s batch rate (`usage.cost`); without a price
    /// the server's figure, if any, stays.
    pub fn with_price(mut self, price: ModelPrice) -> Self {
        self.price = Some(price.batch());
        self
    }

    fn result(&self, endpoint: BatchEndpoint, index: usize, line: ResultLine) -> LineResult {
        let custom_id = line
            .custom_id
            .unwrap_or_else(|| format!("line-{}", index + 1));
        let outcome = match (line.response, line.error) {
            (Some(response), None) if (200..300).contains(&response.status_code) => {
                self.priced(endpoint, &response.body)
            }
            (Some(response), None) => Err(body_error(response.status_code, &response.body)),
            (_, Some(error)) => Err(line_error(error)),
            (None, None) => Err(failed(
                "the server's result line has neither a response nor an error".to_owned(),
            )),
        };
        LineResult { custom_id, outcome }
    }

    /// A reply body with its `usage.cost` at the batch rate.
    fn priced(
        &self,
        endpoint: BatchEndpoint,
        body: &RawJson,
    ) -> Result<serde_json::Value, LineError> {
        let mut body = body.to_value();
        let (Some(price), Some(usage)) = (&self.price, body.get_mut("usage")) else {
            return Ok(body);
        };
        let cost = match endpoint {
            BatchEndpoint::ChatCompletions => serde_json::from_value::<Usage>(usage.clone())
                .ok()
                .map(|usage| price.cost(&usage)),
            BatchEndpoint::Embeddings => serde_json::from_value::<EmbeddingUsage>(usage.clone())
                .ok()
                .map(|usage| {
                    round_dollars(usage.prompt_tokens as f64 * price.input_cost_per_token)
                }),
        };
        if let (Some(cost), Some(usage)) = (cost, usage.as_object_mut()) {
            usage.insert("cost".to_owned(), cost.into());
        }
        Ok(body)
    }
}

impl FileProvider for OpenAiFileProvider {
    fn batch_line(
        &self,
        endpoint: BatchEndpoint,
        custom_id: &str,
        body: &RawJson,
    ) -> Result<BatchLine, Error> {
        let invalid = |error: serde_json::Error| {
            Error::invalid_request(format!("invalid request body: {error}"))
        };
        let prepared = match endpoint {
            BatchEndpoint::ChatCompletions => {
                let mut request: ChatRequest = body.parse().map_err(invalid)?;
                if let Some(defaults) = &self.defaults {
                    request.fill_defaults(defaults);
                }
                // The batch runs the deployment's model, whatever alias the line names; a
                // batch has no stream.
                request.model = self.model.clone();
                request.stream = None;
                request.stream_options = None;
                request::chat_body(request, self.options)?
            }
            BatchEndpoint::Embeddings => {
                let mut request: EmbeddingRequest = body.parse().map_err(invalid)?;
                request.model = self.model.clone();
                request::embeddings_body(request, self.options)?
            }
        };
        let encode = |error: serde_json::Error| Error::new(ErrorKind::Api, error.to_string());
        let body: &RawValue = serde_json::from_slice(&prepared.body).map_err(encode)?;
        let line = serde_json::to_string(&InputLine {
            custom_id,
            method: "POST",
            url: endpoint.path(),
            body,
        })
        .map_err(encode)?;
        Ok(BatchLine {
            line,
            input_tokens: None,
        })
    }

    fn upload<'a>(
        &'a self,
        filename: &'a str,
        mime: &'a str,
        purpose: FilePurpose,
        bytes: Bytes,
    ) -> ProviderFuture<'a, ProviderFile> {
        Box::pin(async move {
            let file = self.client.upload(filename, mime, purpose, bytes).await?;
            Ok(ProviderFile {
                name: file.id,
                expires_at: file.expires_at,
            })
        })
    }

    fn file<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ProviderFile> {
        Box::pin(async move {
            let file = self.client.get(name).await?;
            Ok(ProviderFile {
                name: file.id,
                expires_at: file.expires_at,
            })
        })
    }

    fn delete<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ()> {
        Box::pin(self.client.delete(name))
    }

    fn create_batch<'a>(
        &'a self,
        endpoint: BatchEndpoint,
        _display_name: &'a str,
        input: &'a str,
    ) -> ProviderFuture<'a, ProviderBatch> {
        Box::pin(async move {
            let batch = self.client.create_batch(endpoint.path(), input).await?;
            Ok(provider_batch(batch))
        })
    }

    fn batch<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ProviderBatch> {
        Box::pin(async move { Ok(provider_batch(self.client.batch(name).await?)) })
    }

    fn cancel<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ()> {
        Box::pin(async move { self.client.cancel_batch(name).await.map(drop) })
    }

    /// `results` names the batch itself: its output file and its error file are read,
    /// in that order.
    fn results<'a>(
        &'a self,
        endpoint: BatchEndpoint,
        results: &'a str,
    ) -> ProviderFuture<'a, Vec<LineResult>> {
        Box::pin(async move {
            let batch = self.client.batch(results).await?;
            let mut lines = Vec::new();
            for file in [batch.output_file_id, batch.error_file_id]
                .into_iter()
                .flatten()
            {
                let bytes = self.client.content(&file).await?;
                let text = String::from_utf8_lossy(&bytes);
                for (index, text) in text
                    .lines()
                    .enumerate()
                    .filter(|(_, text)| !text.trim().is_empty())
                {
                    lines.push(match serde_json::from_str::<ResultLine>(text) {
                        Ok(line) => self.result(endpoint, index, line),
                        // A line that cannot be read is reported, not dropped silently.
                        Err(error) => LineResult {
                            custom_id: format!("line-{}", index + 1),
                            outcome: Err(failed(format!(
                                "the server's result line {} is not JSON: {error}",
                                index + 1
                            ))),
                        },
                    });
                }
            }
            Ok(lines)
        })
    }
}

/// A server's batch as the provider-agnostic [`ProviderBatch`]: named by its own id, whose
/// results are read through it.
fn provider_batch(batch: UpstreamBatch) -> ProviderBatch {
    let state = match batch.status.as_str() {
        "validating" => ProviderState::Pending,
        "completed" => ProviderState::Succeeded,
        "failed" => ProviderState::Failed,
        "expired" => ProviderState::Expired,
        "cancelled" => ProviderState::Cancelled,
        // `in_progress`, `finalizing`, `cancelling`: still running (the service says
        // `cancelling` for a batch it was asked to cancel).
        _ => ProviderState::Running,
    };
    let has_results = batch.output_file_id.is_some() || batch.error_file_id.is_some();
    let counts = batch.request_counts.unwrap_or(RequestCounts {
        total: 0,
        completed: 0,
        failed: 0,
    });
    let error = batch.errors.and_then(|errors| {
        let messages: Vec<String> = errors
            .data
            .into_iter()
            .filter_map(|error| error.message)
            .collect();
        (!messages.is_empty()).then(|| messages.join("; "))
    });
    ProviderBatch {
        ended_at: batch
            .completed_at
            .or(batch.failed_at)
            .or(batch.expired_at)
            .or(batch.cancelled_at),
        results: has_results.then(|| batch.id.clone()),
        name: batch.id,
        state,
        counts,
        error,
    }
}

/// A result line's non-2xx reply as its error: the error type of its status (so the
/// output line keeps the status) and the envelope's message.
fn body_error(status: u16, body: &RawJson) -> LineError {
    #[derive(serde::Deserialize)]
    struct Envelope {
        error: UpstreamError,
    }
    let code = match status {
        400 => "invalid_request_error",
        401 => "authentication_error",
        403 => "permission_error",
        404 => "not_found_error",
        429 => "rate_limit_error",
        _ => "api_error",
    };
    let message = body
        .parse::<Envelope>()
        .ok()
        .and_then(|envelope| envelope.error.message)
        .unwrap_or_else(|| format!("the server answered {status}"));
    LineError {
        code: code.to_owned(),
        message,
        line: None,
    }
}

fn line_error(error: UpstreamError) -> LineError {
    LineError {
        code: error.code.unwrap_or_else(|| "api_error".to_owned()),
        message: error.message.unwrap_or_default(),
        line: None,
    }
}

fn failed(message: String) -> LineError {
    LineError {
        code: "api_error".to_owned(),
        message,
        line: None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn batch(json: &str) -> ProviderBatch {
        provider_batch(serde_json::from_str(json).unwrap())
    }

    #[test]
    fn a_server_batch_maps_to_its_state_and_names_its_results_by_itself() {
        let done = batch(
            r#"{"id":"batch_1","status":"completed","output_file_id":"file-o","request_counts":{"total":3,"completed":2,"failed":1},"completed_at":7}"#,
        );
        assert_eq!(done.state, ProviderState::Succeeded);
        assert_eq!(done.results.as_deref(), Some("batch_1"));
        assert_eq!(done.counts.failed, 1);
        assert_eq!(done.ended_at, Some(7));
        let running = batch(r#"{"id":"batch_2","status":"finalizing"}"#);
        assert_eq!(
            (running.state, running.results),
            (ProviderState::Running, None)
        );
        let failed = batch(
            r#"{"id":"batch_3","status":"failed","errors":{"data":[{"code":"invalid","message":"bad line"}]},"failed_at":9}"#,
        );
        assert_eq!(failed.state, ProviderState::Failed);
        assert_eq!(failed.error.as_deref(), Some("bad line"));
        assert_eq!(failed.ended_at, Some(9));
    }

    #[test]
    fn a_failed_reply_in_a_result_line_keeps_its_status_and_message() {
        let body = RawJson::from_string(
            r#"{"error":{"message":"Rate limit","type":"requests","code":"rate_limit_exceeded"}}"#
                .to_owned(),
        )
        .unwrap();
        let error = body_error(429, &body);
        assert_eq!(
            (error.code.as_str(), error.message.as_str()),
            ("rate_limit_error", "Rate limit")
        );
        let error = body_error(
            502,
            &RawJson::from_string("\"gateway\"".to_owned()).unwrap(),
        );
        assert_eq!(error.message, "the server answered 502");
    }
}
