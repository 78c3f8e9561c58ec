//! Vertex AI's text-embeddings wire: `publishers/google/models/{model}:predict`, which
//! Vertex serves in place of AI Studio's `batchEmbedContents`.
//!
//! The embeddings stack is the Gemini one ([`EmbedMap`](crate::gemini::EmbedMap) and its
//! OpenAI mapping, bounds and fan-out); on Vertex the HTTP level sends each
//! `batchEmbedContents` batch as one `:predict` call and reads the predictions back as
//! that batch's reply:
//!
//! ```text
//! {"instances": [{"content": "…", "task_type": "RETRIEVAL_DOCUMENT", "title": "…"}, …],
//!  "parameters": {"outputDimensionality": 256}}
//! → {"predictions": [{"embeddings": {"values": […],
//!                                   "statistics": {"token_count": 6, "truncated": false}}}, …]}
//! ```
//!
//! `usage.prompt_tokens` is the sum of the predictions' `token_count`s. A call carries at
//! most [`instances_per_call`] inputs: one for the `gemini-embedding` models, which take
//! one instance per request, [`MAX_INSTANCES`] for the others; a longer input list is
//! split into that many calls, sent a few at a time, as on AI Studio.
//!
//! Sources (Google's Vertex AI reference):
//! - <https://cloud.google.com/vertex-ai/generative-ai/docs/model-reference/text-embeddings-api>
//!   (the body, the response, and "gemini-embedding-001 supports one instance per request")
//! - <https://cloud.google.com/vertex-ai/generative-ai/docs/embeddings/get-text-embeddings>
//!   (at most 250 input texts per request)
//! - <https://cloud.google.com/vertex-ai/generative-ai/docs/reference/rest/Shared.Types/TextEmbeddingPredictionParams>
//!   (`autoTruncate`, `outputDimensionality`)

use serde::{Deserialize, Serialize};

use crate::gemini::wire::{
    BatchEmbedContentsRequest, BatchEmbedContentsResponse, ContentEmbedding, UsageMetadata,
};

/// Most instances Vertex takes in one `:predict` call of a text-embedding model.
pub const MAX_INSTANCES: usize = 250;

/// How many inputs one `:predict` call of `model` carries: `1` for the `gemini-embedding`
/// models, [`MAX_INSTANCES`] for the others (`text-embedding-005`, …).
///
/// ```
/// use llm_tower::vertex::predict::{MAX_INSTANCES, instances_per_call};
///
/// assert_eq!(instances_per_call("gemini-embedding-001"), 1);
/// assert_eq!(instances_per_call("text-embedding-005"), MAX_INSTANCES);
/// ```
pub fn instances_per_call(model: &str) -> usize {
    if model.starts_with("gemini-embedding") {
        1
    } else {
        MAX_INSTANCES
    }
}

/// A `:predict` body made from one `batchEmbedContents` batch (borrowed from it).
#[derive(Serialize)]
pub(crate) struct PredictRequest<'a> {
    instances: Vec<Instance<'a>>,
    parameters: Parameters,
}

/// One text to embed.
#[derive(Serialize)]
struct Instance<'a> {
    content: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    task_type: Option<&'a str>,
    #[serde(skip_serializing_if = "Option::is_none")]
    title: Option<&'a str>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct Parameters {
    #[serde(skip_serializing_if = "Option::is_none")]
    output_dimensionality: Option<u32>,
}

impl<'a> From<&'a BatchEmbedContentsRequest> for PredictRequest<'a> {
    fn from(batch: &'a BatchEmbedContentsRequest) -> Self {
        let instances = batch
            .requests
            .iter()
            .map(|request| Instance {
                content: request
                    .content
                    .parts
                    .iter()
                    .filter_map(|part| part.text.as_deref())
                    .collect(),
                task_type: request.task_type.as_deref(),
                title: request.title.as_deref(),
            })
            .collect();
        // One request's settings apply to all its inputs.
        let output_dimensionality = batch
            .requests
            .first()
            .and_then(|request| request.output_dimensionality);
        Self {
            instances,
            parameters: Parameters {
                output_dimensionality,
            },
        }
    }
}

/// A `:predict` reply of a text-embedding model.
#[derive(Deserialize)]
pub(crate) struct PredictResponse {
    #[serde(default)]
    predictions: Vec<Prediction>,
}

#[derive(Deserialize)]
struct Prediction {
    embeddings: Embeddings,
}

#[derive(Deserialize)]
struct Embeddings {
    #[serde(default)]
    values: Vec<f32>,
    #[serde(default)]
    statistics: Option<Statistics>,
}

#[derive(Deserialize)]
struct Statistics {
    /// A whole number, which Vertex has been seen to write as `6.0`.
    #[serde(default)]
    token_count: f64,
}

impl From<PredictResponse> for BatchEmbedContentsResponse {
    fn from(reply: PredictResponse) -> Self {
        let mut tokens = 0u64;
        let embeddings = reply
            .predictions
            .into_iter()
            .map(|prediction| {
                let embeddings = prediction.embeddings;
                if let Some(statistics) = embeddings.statistics {
                    // `as` saturates: a negative or absurd count cannot wrap.
                    tokens = tokens.saturating_add(statistics.token_count as u64);
                }
                ContentEmbedding {
                    values: embeddings.values,
                }
            })
            .collect();
        let usage = UsageMetadata {
            prompt_token_count: tokens,
            total_token_count: tokens,
            ..UsageMetadata::default()
        };
        BatchEmbedContentsResponse {
            embeddings,
            usage_metadata: (tokens > 0).then_some(usage),
        }
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;
    use crate::gemini::translate::TranslateOptions;
    use crate::gemini::translate::embed::translate_embedding_request;
    use crate::openai::EmbeddingRequest;

    #[test]
    fn a_batch_becomes_instances_with_the_request_s_parameters() {
        let mut request = EmbeddingRequest::new(
            "text-embedding-005",
            vec!["first".to_owned(), "second".to_owned()],
        );
        request.dimensions = Some(256);
        request.input_type = Some("RETRIEVAL_DOCUMENT".to_owned());
        request.title = Some("Manual".to_owned());
        let translated =
            translate_embedding_request(request, &TranslateOptions::default()).expect("mapped");
        let body =
            serde_json::to_value(PredictRequest::from(&translated.batches[0])).expect("serializes");
        assert_eq!(
            body,
            json!({
                "instances": [
                    {"content": "first", "task_type": "RETRIEVAL_DOCUMENT", "title": "Manual"},
                    {"content": "second", "task_type": "RETRIEVAL_DOCUMENT", "title": "Manual"}
                ],
                "parameters": {"outputDimensionality": 256}
            })
        );
    }

    #[test]
    fn predictions_become_embeddings_with_their_token_counts() {
        let reply: PredictResponse = serde_json::from_value(json!({
            "predictions": [
                {"embeddings": {"values": [0.5, -1.0], "statistics": {"token_count": 6, "truncated": false}}},
                {"embeddings": {"values": [0.25], "statistics": {"token_count": 4.0, "truncated": true}}}
            ],
            "metadata": {"billableCharacterCount": 20}
        }))
        .expect("decodes");
        let batch = BatchEmbedContentsResponse::from(reply);
        let values: Vec<_> = batch.embeddings.iter().map(|e| e.values.clone()).collect();
        assert_eq!(values, [vec![0.5, -1.0], vec![0.25]]);
        assert_eq!(batch.usage_metadata.expect("usage").prompt_token_count, 10);
    }

    #[test]
    fn predictions_without_statistics_report_no_usage() {
        let reply: PredictResponse =
            serde_json::from_value(json!({"predictions": [{"embeddings": {"values": [1.0]}}]}))
                .expect("decodes");
        assert!(
            BatchEmbedContentsResponse::from(reply)
                .usage_metadata
                .is_none()
        );
    }
}
