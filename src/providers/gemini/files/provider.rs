//! [`GeminiFileProvider`]: Gemini's [`FileProvider`]: files through the Files API, chat
//! batches through `batchGenerateContent` and embeddings batches through
//! `asyncBatchEmbedContent`, each request line translated by the live call's translation
//! ([`translate_request`], the embeddings one) and each result back by it
//! ([`translate_response`]); chat priced at the model's batch rate.

use std::sync::Arc;
use std::time::UNIX_EPOCH;

use bytes::Bytes;

use super::client::{BatchMethod, GeminiFiles};
use super::wire::{File, InputLine, Operation, ResultLine, Status};
use crate::error::{Error, ErrorKind};
use crate::layers::files::{
    BatchLine, FileProvider, LineResult, ProviderBatch, ProviderFile, ProviderFuture, ProviderState,
};
use crate::openai::batches::{BatchEndpoint, LineError, RequestCounts};
use crate::openai::chat::round_dollars;
use crate::openai::files::FilePurpose;
use crate::openai::{ChatRequest, EmbeddingRequest, EncodingFormat};
use crate::pricing::ModelPrice;
use crate::providers::gemini::pricing::{bundled, price_usage};
use crate::providers::gemini::translate::embed::{
    translate_embedding_request_in, translate_embedding_response,
};
use crate::providers::gemini::translate::{
    RandomIds, ReplyContext, TranslateOptions, translate_request, translate_response,
};
use crate::providers::gemini::wire::{
    BatchEmbedContentsResponse, ContentEmbedding, GenerateContentResponse,
};
use crate::raw_json::RawJson;

/// Gemini's files and batches for one deployment (its key, endpoint and model).
///
/// ```
/// use llm_tower::Secret;
/// use llm_tower::gemini::files::{GeminiFileProvider, GeminiFiles};
/// use llm_tower::gemini::translate::TranslateOptions;
/// use llm_tower::upstream::HttpTransport;
///
/// let client = GeminiFiles::new(HttpTransport::builder().build()?, "http://127.0.0.1:9/v1beta", Secret::new("k"));
/// let provider = GeminiFileProvider::new(client, "gemini-2.5-flash", TranslateOptions::default());
/// # let _ = provider;
/// # Ok::<(), llm_tower::upstream::BuildError>(())
/// ```
#[derive(Debug, Clone)]
pub struct GeminiFileProvider {
    client: GeminiFiles,
    model: String,
    options: TranslateOptions,
    price: Option<ModelPrice>,
    defaults: Option<Arc<ChatRequest>>,
}

impl GeminiFileProvider {
    /// Batches of `model` (a bare id) over `client`, translated with `options`; priced
    /// from the bundled table's batch rate.
    pub fn new(client: GeminiFiles, model: impl Into<String>, options: TranslateOptions) -> Self {
        let model = model.into();
        let price = bundled().get(&model).map(ModelPrice::batch);
        Self {
            client,
            model,
            options,
            price,
            defaults: None,
        }
    }

    /// Fills each chat line's unset params from `defaults` (a deployment's params:
    /// `temperature`, `safety_settings`, …), as a live call to the deployment does (see
    /// [`ChatRequest::fill_defaults`]).
    pub fn with_defaults(mut self, defaults: ChatRequest) -> Self {
        self.defaults = Some(Arc::new(defaults));
        self
    }

    /// Prices batch usage at `price`'s batch rate instead (a deployment's own price).
    pub fn with_price(mut self, price: ModelPrice) -> Self {
        self.price = Some(price.batch());
        self
    }

    fn result(&self, endpoint: BatchEndpoint, line: ResultLine) -> LineResult {
        let custom_id = line.key.unwrap_or_default();
        let outcome = match (line.response, line.error) {
            (_, Some(status)) => Err(line_error(&status)),
            (Some(response), None) if endpoint == BatchEndpoint::Embeddings => {
                self.embedding(&response)
            }
            (Some(response), None) => self.completion(&response),
            (None, None) => Err(LineError {
                code: "api_error".to_owned(),
                message: "Gemini's result line has neither a response nor an error".to_owned(),
                line: None,
            }),
        };
        LineResult { custom_id, outcome }
    }

    /// An `EmbedContentResponse` as OpenAI's embeddings list.
    fn embedding(&self, response: &RawJson) -> Result<serde_json::Value, LineError> {
        let reply: EmbedContentResponse = response.parse().map_err(|error| {
            failed(format!(
                "Gemini's result is not an EmbedContentResponse: {error}"
            ))
        })?;
        let replies = vec![BatchEmbedContentsResponse {
            embeddings: vec![reply.embedding],
            usage_metadata: None,
        }];
        let list = translate_embedding_response(&self.model, replies, &[1], EncodingFormat::Float)
            .map_err(|error| failed(error.message().to_owned()))?;
        serde_json::to_value(&list).map_err(|error| failed(error.to_string()))
    }

    fn completion(&self, response: &RawJson) -> Result<serde_json::Value, LineError> {
        let reply: GenerateContentResponse = response.parse().map_err(|error| {
            failed(format!(
                "Gemini's result is not a GenerateContentResponse: {error}"
            ))
        })?;
        let context = ReplyContext {
            model: &self.model,
            legacy_functions: false,
        };
        let mut completion = translate_response(reply, context, &RandomIds)
            .map_err(|error| failed(error.message().to_owned()))?;
        if let Some(usage) = &mut completion.usage {
            price_usage(usage, self.price.as_ref(), None);
        }
        serde_json::to_value(&completion).map_err(|error| failed(error.to_string()))
    }
}

impl FileProvider for GeminiFileProvider {
    fn batch_line(
        &self,
        endpoint: BatchEndpoint,
        custom_id: &str,
        body: &RawJson,
    ) -> Result<BatchLine, Error> {
        let invalid = |error: serde_json::Error| {
            Error::invalid_request(format!("invalid request body: {error}"))
        };
        let (line, input_tokens) = match endpoint {
            BatchEndpoint::ChatCompletions => {
                let mut request: ChatRequest = body.parse().map_err(invalid)?;
                if let Some(defaults) = &self.defaults {
                    request.fill_defaults(defaults);
                }
                // The batch runs the deployment's model, whatever alias the line names.
                request.model = self.model.clone();
                let translated = translate_request(request, self.options)?;
                let line = serde_json::to_string(&InputLine {
                    key: custom_id,
                    request: &translated.body,
                });
                (line, None)
            }
            BatchEndpoint::Embeddings => {
                let mut request: EmbeddingRequest = body.parse().map_err(invalid)?;
                request.model = self.model.clone();
                let translated = translate_embedding_request_in(request, &self.options, 1)?;
                // Gemini's batch takes one `EmbedContentRequest` a line.
                let (Some(call), 1) = (translated.batches.first(), translated.batches.len()) else {
                    return Err(Error::invalid_request(
                        "a batch line of /v1/embeddings embeds one input; give each input its own line",
                    )
                    .with_param("input"));
                };
                let line = serde_json::to_string(&InputLine {
                    key: custom_id,
                    request: &call.requests[0],
                });
                // Gemini's embedding results carry no counts: the live call's estimate.
                (line, Some(translated.estimated_tokens))
            }
        };
        let line = line.map_err(|error| Error::new(ErrorKind::Api, error.to_string()))?;
        Ok(BatchLine { line, input_tokens })
    }

    fn input_cost(&self, tokens: u64) -> Option<f64> {
        // As a live embeddings call prices its input.
        self.price
            .as_ref()
            .map(|price| round_dollars(tokens as f64 * price.input_cost_per_token))
    }

    fn upload<'a>(
        &'a self,
        filename: &'a str,
        mime: &'a str,
        _purpose: FilePurpose,
        bytes: Bytes,
    ) -> ProviderFuture<'a, ProviderFile> {
        Box::pin(async move {
            Ok(provider_file(
                self.client.upload(filename, mime, bytes).await?,
            ))
        })
    }

    fn file<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ProviderFile> {
        Box::pin(async move { Ok(provider_file(self.client.get(name).await?)) })
    }

    fn delete<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ()> {
        Box::pin(self.client.delete(name))
    }

    fn create_batch<'a>(
        &'a self,
        endpoint: BatchEndpoint,
        display_name: &'a str,
        input: &'a str,
    ) -> ProviderFuture<'a, ProviderBatch> {
        let method = match endpoint {
            BatchEndpoint::ChatCompletions => BatchMethod::Generate,
            BatchEndpoint::Embeddings => BatchMethod::Embed,
        };
        Box::pin(async move {
            let operation = self
                .client
                .create_batch(&self.model, method, display_name, input)
                .await?;
            Ok(provider_batch(operation))
        })
    }

    fn batch<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ProviderBatch> {
        Box::pin(async move { Ok(provider_batch(self.client.batch(name).await?)) })
    }

    fn cancel<'a>(&'a self, name: &'a str) -> ProviderFuture<'a, ()> {
        Box::pin(self.client.cancel_batch(name))
    }

    fn results<'a>(
        &'a self,
        endpoint: BatchEndpoint,
        results: &'a str,
    ) -> ProviderFuture<'a, Vec<LineResult>> {
        Box::pin(async move {
            let bytes = self.client.download(results).await?;
            let text = String::from_utf8_lossy(&bytes);
            let mut lines = Vec::new();
            for (index, text) in text
                .lines()
                .enumerate()
                .filter(|(_, text)| !text.trim().is_empty())
            {
                match serde_json::from_str::<ResultLine>(text) {
                    Ok(line) => lines.push(self.result(endpoint, line)),
                    // A line that cannot be read is reported, not dropped silently.
                    Err(error) => lines.push(LineResult {
                        custom_id: format!("line-{}", index + 1),
                        outcome: Err(LineError {
                            code: "api_error".to_owned(),
                            message: format!(
                                "Gemini's result line {} is not JSON: {error}",
                                index + 1
                            ),
                            line: None,
                        }),
                    }),
                }
            }
            Ok(lines)
        })
    }
}

fn provider_file(file: File) -> ProviderFile {
    ProviderFile {
        expires_at: file.expiration_time.as_deref().and_then(unix),
        name: file.name,
    }
}

fn provider_batch(operation: Operation) -> ProviderBatch {
    let metadata = operation.metadata;
    let state = match metadata.state.as_deref() {
        Some("BATCH_STATE_RUNNING" | "JOB_STATE_RUNNING") => ProviderState::Running,
        Some("BATCH_STATE_SUCCEEDED" | "JOB_STATE_SUCCEEDED") => ProviderState::Succeeded,
        Some("BATCH_STATE_FAILED" | "JOB_STATE_FAILED") => ProviderState::Failed,
        Some("BATCH_STATE_CANCELLED" | "JOB_STATE_CANCELLED") => ProviderState::Cancelled,
        Some("BATCH_STATE_EXPIRED" | "JOB_STATE_EXPIRED") => ProviderState::Expired,
        _ if operation.error.is_some() => ProviderState::Failed,
        _ => ProviderState::Pending,
    };
    let stats = metadata.batch_stats;
    let count = |count: Option<super::wire::Count>| count.map_or(0, |count| count.0);
    let results = operation
        .response
        .and_then(|output| output.responses_file)
        .or_else(|| metadata.output.and_then(|output| output.responses_file));
    ProviderBatch {
        name: metadata
            .name
            .filter(|name| !name.is_empty())
            .unwrap_or(operation.name),
        state,
        counts: RequestCounts {
            total: count(stats.request_count),
            completed: count(stats.successful_request_count),
            failed: count(stats.failed_request_count),
        },
        ended_at: metadata.end_time.as_deref().and_then(unix),
        results,
        error: operation.error.map(|status| status.message),
    }
}

/// A result Gemini answered that cannot be read as its kind.
fn failed(message: String) -> LineError {
    LineError {
        code: "api_error".to_owned(),
        message,
        line: None,
    }
}

/// One result of an embeddings batch: `{"embedding": {"values"}}`.
#[derive(serde::Deserialize)]
struct EmbedContentResponse {
    embedding: ContentEmbedding,
}

/// A result line's error, under Google's status name.
fn line_error(status: &Status) -> LineError {
    let code = match status.code {
        1 => "CANCELLED",
        3 => "INVALID_ARGUMENT",
        4 => "DEADLINE_EXCEEDED",
        5 => "NOT_FOUND",
        7 => "PERMISSION_DENIED",
        8 => "RESOURCE_EXHAUSTED",
        9 => "FAILED_PRECONDITION",
        14 => "UNAVAILABLE",
        16 => "UNAUTHENTICATED",
        _ => "INTERNAL",
    };
    LineError {
        code: code.to_owned(),
        message: status.message.clone(),
        line: None,
    }
}

/// Unix seconds of an RFC 3339 time.
fn unix(time: &str) -> Option<u64> {
    let time = humantime::parse_rfc3339_weak(time).ok()?;
    time.duration_since(UNIX_EPOCH)
        .ok()
        .map(|elapsed| elapsed.as_secs())
}
