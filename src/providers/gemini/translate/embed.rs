//! OpenAI embeddings ⇄ Gemini `batchEmbedContents`, as pure functions.
//!
//! | OpenAI | Gemini | notes |
//! |---|---|---|
//! | `input` (a string or strings) | one `EmbedContentRequest` per string | batches of [`MAX_BATCH`], answered in order |
//! | `input` as token ids (one list or several) | the text they encode | OpenAI's `cl100k_base` encoding, as LiteLLM decodes them (feature `tiktoken`; without it, a 400) |
//! | `dimensions` | `outputDimensionality` | |
//! | `input_type` (`task_type`) | `taskType` | LiteLLM's name |
//! | `title` | `title` | for `RETRIEVAL_DOCUMENT` |
//! | `encoding_format: base64` | — | the reply's vectors as base64 of little-endian `f32`s |
//! | `user` | — | accepted, not sent (as for chat) |
//! | anything else | — | refused by name, or dropped with `drop_params` |
//!
//! Each vector keeps its input's `index` (LiteLLM numbers them all 0), and a reply with
//! fewer or more vectors than inputs is an error rather than a silent mismatch. `usage`
//! counts what Gemini reports; its embedding replies carry no token counts today, so it is
//! LiteLLM's estimate instead: the `cl100k_base` tokens of the input texts (feature
//! `tiktoken`; without it, 0).

use base64::Engine;

use super::request::{CallOptions, TranslateOptions, preflight, unsupported};
use crate::error::{Error, ErrorKind};
use crate::openai::{
    Embedding, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage,
    EmbeddingVector, EncodingFormat,
};
use crate::providers::gemini::wire::{
    BatchEmbedContentsRequest, BatchEmbedContentsResponse, Content, EmbedContentRequest, Part,
};

/// Most requests Gemini takes in one `batchEmbedContents` call.
pub const MAX_BATCH: usize = 100;

/// The Gemini side of an embeddings request.
#[derive(Debug, Clone, PartialEq)]
pub struct TranslatedEmbedding {
    /// Bare model id.
    pub model: String,
    /// One call each, in input order.
    pub batches: Vec<BatchEmbedContentsRequest>,
    /// How to write the vectors.
    pub encoding: EncodingFormat,
    /// Per-request credentials and endpoint.
    pub options: CallOptions,
    /// The input's `cl100k_base` token count, for the usage when Gemini reports none.
    pub estimated_tokens: u64,
}

/// Maps an OpenAI embeddings request (its `model` already a bare Gemini id), in calls of
/// the Gemini API's size (the tests' shorthand).
#[cfg(test)]
pub(crate) fn translate_embedding_request(
    request: EmbeddingRequest,
    options: &TranslateOptions,
) -> Result<TranslatedEmbedding, Error> {
    translate_embedding_request_in(request, options, MAX_BATCH)
}

/// Maps an OpenAI embeddings request (its `model` already a bare Gemini id), with at most
/// `batch` inputs per call (at least one).
pub(crate) fn translate_embedding_request_in(
    request: EmbeddingRequest,
    options: &TranslateOptions,
    batch: usize,
) -> Result<TranslatedEmbedding, Error> {
    let batch = batch.max(1);
    let EmbeddingRequest {
        model,
        input,
        encoding_format,
        dimensions,
        user: _,
        input_type,
        title,
        drop_params,
        api_key,
        api_base,
        extra,
        // The provider's embeddings service takes the context before translating.
        context: _,
    } = request;
    let (drop, call_options) = preflight(&model, drop_params, api_key, api_base, options)?;
    for key in extra.keys() {
        unsupported(key, drop)?;
    }
    if dimensions == Some(0) {
        return Err(Error::invalid_param(
            "dimensions",
            "dimensions must be at least 1",
        ));
    }
    input.check_len()?;
    let (texts, estimated_tokens) = texts(input)?;
    let resource = format!("models/{model}");
    let requests = texts.into_iter().map(|text| EmbedContentRequest {
        model: resource.clone(),
        content: Content {
            role: None,
            parts: vec![Part::text(text)],
        },
        task_type: input_type.clone(),
        title: title.clone(),
        output_dimensionality: dimensions,
    });
    let mut batches: Vec<BatchEmbedContentsRequest> = Vec::new();
    for request in requests {
        match batches.last_mut() {
            Some(last) if last.requests.len() < batch => last.requests.push(request),
            _ => batches.push(BatchEmbedContentsRequest {
                requests: vec![request],
            }),
        }
    }
    Ok(TranslatedEmbedding {
        model,
        batches,
        encoding: encoding_format.unwrap_or_default(),
        options: call_options,
        estimated_tokens,
    })
}

/// The strings to embed (at least one, none empty), and their `cl100k_base` token count.
fn texts(input: EmbeddingInput) -> Result<(Vec<String>, u64), Error> {
    let texts = match input {
        EmbeddingInput::Text(text) => vec![text],
        EmbeddingInput::Texts(texts) => texts,
        EmbeddingInput::Tokens(ids) => {
            let count = ids.len() as u64;
            return Ok((vec![decode(&ids, "input")?], count));
        }
        EmbeddingInput::TokenLists(lists) => {
            if lists.is_empty() {
                return Err(Error::invalid_param("input", "input has no text to embed"));
            }
            let count = lists.iter().map(|ids| ids.len() as u64).sum();
            let texts = lists
                .iter()
                .enumerate()
                .map(|(index, ids)| decode(ids, &format!("input[{index}]")))
                .collect::<Result<Vec<_>, Error>>()?;
            return Ok((texts, count));
        }
    };
    if texts.is_empty() {
        return Err(Error::invalid_param("input", "input has no text to embed"));
    }
    if let Some(index) = texts.iter().position(|text| text.trim().is_empty()) {
        return Err(Error::invalid_param(
            "input",
            format!("input[{index}] is empty: Gemini cannot embed an empty string"),
        ));
    }
    let count = texts.iter().map(|text| count_tokens(text)).sum();
    Ok((texts, count))
}

/// The text of `cl100k_base` token ids (what OpenAI's clients send as token input).
#[cfg(feature = "tiktoken")]
fn decode(ids: &[u32], param: &str) -> Result<String, Error> {
    let text = crate::tokens::decode(ids).ok_or_else(|| {
        Error::invalid_param(
            "input",
            format!("{param}: not cl100k_base token ids of UTF-8 text"),
        )
    })?;
    if text.trim().is_empty() {
        return Err(Error::invalid_param(
            "input",
            format!("{param} is empty: Gemini cannot embed an empty string"),
        ));
    }
    Ok(text)
}

/// Without the encoding, token ids cannot be turned back into text.
#[cfg(not(feature = "tiktoken"))]
fn decode(_: &[u32], param: &str) -> Result<String, Error> {
    Err(Error::invalid_param(
        "input",
        format!("{param}: token-id input needs the `tiktoken` feature; send text"),
    ))
}

#[cfg(feature = "tiktoken")]
fn count_tokens(text: &str) -> u64 {
    crate::tokens::count(text)
}

#[cfg(not(feature = "tiktoken"))]
fn count_tokens(_: &str) -> u64 {
    0
}

/// Joins the replies of a request's batches (in order; `batch_sizes[i]` inputs were sent
/// in batch `i`) into the OpenAI reply. A batch answered with more or fewer vectors than it
/// sent is an error: the indices after it would be wrong.
pub fn translate_embedding_response(
    model: &str,
    replies: Vec<BatchEmbedContentsResponse>,
    batch_sizes: &[usize],
    encoding: EncodingFormat,
) -> Result<EmbeddingResponse, Error> {
    if replies.len() != batch_sizes.len() {
        return Err(Error::new(
            ErrorKind::Api,
            format!(
                "{} embedding replies for {} batches",
                replies.len(),
                batch_sizes.len()
            ),
        ));
    }
    for (reply, sent) in replies.iter().zip(batch_sizes) {
        if reply.embeddings.len() != *sent {
            return Err(Error::new(
                ErrorKind::BadGateway,
                format!(
                    "malformed Gemini reply: {} embeddings for {sent} inputs",
                    reply.embeddings.len()
                ),
            ));
        }
    }
    let prompt_tokens = replies
        .iter()
        .filter_map(|reply| reply.usage_metadata.as_ref())
        .map(|usage| usage.prompt_token_count)
        .sum();
    let data = replies
        .into_iter()
        .flat_map(|reply| reply.embeddings)
        .enumerate()
        .map(|(index, embedding)| Embedding {
            object: "embedding".to_owned(),
            index,
            embedding: match encoding {
                EncodingFormat::Float => EmbeddingVector::Float(embedding.values),
                EncodingFormat::Base64 => EmbeddingVector::Base64(base64_floats(&embedding.values)),
            },
        })
        .collect();
    Ok(EmbeddingResponse {
        object: "list".to_owned(),
        data,
        model: model.to_owned(),
        usage: EmbeddingUsage {
            prompt_tokens,
            total_tokens: prompt_tokens,
            cost: None,
        },
    })
}

/// OpenAI's base64 encoding: the little-endian bytes of each `f32`.
fn base64_floats(values: &[f32]) -> String {
    let bytes: Vec<u8> = values
        .iter()
        .flat_map(|value| value.to_le_bytes())
        .collect();
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn request(input: EmbeddingInput) -> EmbeddingRequest {
        EmbeddingRequest::new("gemini-embedding-001", input)
    }

    #[test]
    fn many_inputs_are_split_into_batches_of_a_hundred() {
        let texts: Vec<String> = (0..250).map(|index| format!("text {index}")).collect();
        let translated = translate_embedding_request(
            request(EmbeddingInput::Texts(texts)),
            &TranslateOptions::default(),
        )
        .expect("translated");
        let sizes: Vec<usize> = translated
            .batches
            .iter()
            .map(|batch| batch.requests.len())
            .collect();
        assert_eq!(sizes, [100, 100, 50]);
        let last = &translated.batches[2].requests[49];
        assert_eq!(last.content.parts[0].text.as_deref(), Some("text 249"));
    }

    #[test]
    fn bad_token_ids_and_empty_text_are_refused_naming_input() {
        for input in [
            EmbeddingInput::Tokens(vec![u32::MAX]),
            EmbeddingInput::Tokens(vec![220]), // " "
            EmbeddingInput::TokenLists(Vec::new()),
            EmbeddingInput::TokenLists(vec![vec![15339], vec![]]),
            EmbeddingInput::Texts(Vec::new()),
            EmbeddingInput::Texts(vec!["a".to_owned(), " ".to_owned()]),
        ] {
            let error = translate_embedding_request(request(input), &TranslateOptions::default())
                .expect_err("refused");
            assert_eq!(error.param(), Some("input"), "{error}");
            assert_eq!(error.status(), 400);
        }
    }

    #[cfg(feature = "tiktoken")]
    #[test]
    fn token_ids_are_embedded_as_their_text_and_counted() {
        let lists = EmbeddingInput::TokenLists(vec![vec![15339, 1917], vec![15339]]);
        let translated = translate_embedding_request(request(lists), &TranslateOptions::default())
            .expect("decoded");
        let texts: Vec<_> = translated.batches[0]
            .requests
            .iter()
            .map(|request| request.content.parts[0].text.as_deref())
            .collect();
        assert_eq!(texts, [Some("hello world"), Some("hello")]);
        assert_eq!(translated.estimated_tokens, 3);

        let text = EmbeddingInput::Texts(vec!["hello world".to_owned(), "hello".to_owned()]);
        let translated =
            translate_embedding_request(request(text), &TranslateOptions::default()).expect("text");
        assert_eq!(translated.estimated_tokens, 3);
    }

    #[test]
    fn unknown_params_are_refused_by_name_unless_dropped() {
        let mut with_extra = request(EmbeddingInput::Text("a".to_owned()));
        with_extra
            .extra
            .insert("truncate", serde_json::Value::Bool(true).into());
        let error = translate_embedding_request(with_extra.clone(), &TranslateOptions::default())
            .expect_err("refused");
        assert_eq!(error.param(), Some("truncate"));
        with_extra.drop_params = Some(true);
        let translated =
            translate_embedding_request(with_extra, &TranslateOptions::default()).expect("dropped");
        assert_eq!(translated.batches.len(), 1);
    }

    #[test]
    fn a_reply_with_the_wrong_number_of_vectors_is_an_error() {
        let reply = BatchEmbedContentsResponse {
            embeddings: vec![Default::default()],
            usage_metadata: None,
        };
        let error = translate_embedding_response("m", vec![reply], &[3], EncodingFormat::Float)
            .expect_err("mismatch");
        assert_eq!(error.status(), 502);
        assert!(
            error.message().contains("1 embeddings for 3 inputs"),
            "{error}"
        );
    }

    #[test]
    fn each_batch_must_answer_for_its_own_inputs() {
        let reply = |count: usize| BatchEmbedContentsResponse {
            embeddings: vec![Default::default(); count],
            usage_metadata: None,
        };
        // 200 vectors for 200 inputs, but split 99 / 101 against batches of 100 / 100.
        let error = translate_embedding_response(
            "m",
            vec![reply(99), reply(101)],
            &[100, 100],
            EncodingFormat::Float,
        )
        .expect_err("mismatch");
        assert_eq!(error.status(), 502);
        assert!(
            error.message().contains("99 embeddings for 100 inputs"),
            "{error}"
        );
    }

    #[test]
    fn base64_is_little_endian_f32() {
        assert_eq!(base64_floats(&[1.0, -2.5]), "AACAPwAAIMA=");
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn translate_embedding_request() -> Result<(), Box<dyn std::error::Error>> {
        use crate::gemini::translate::TranslateOptions;
        use crate::gemini::translate::embed::translate_embedding_request;
        use crate::openai::EmbeddingRequest;

        let mut request = EmbeddingRequest::new(
            "gemini-embedding-001",
            vec!["hello".to_owned(), "world".to_owned()],
        );
        request.dimensions = Some(4);
        let translated = translate_embedding_request(request, &TranslateOptions::default())?;
        assert_eq!(
            serde_json::to_value(&translated.batches[0])?,
            serde_json::json!({"requests": [
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "hello"}]}, "outputDimensionality": 4},
                {"model": "models/gemini-embedding-001", "content": {"parts": [{"text": "world"}]}, "outputDimensionality": 4}
            ]})
        );
        Ok(())
    }

    #[test]
    fn translate_embedding_response() -> Result<(), Box<dyn std::error::Error>> {
        use crate::gemini::translate::embed::translate_embedding_response;
        use crate::gemini::wire::BatchEmbedContentsResponse;
        use crate::openai::{EmbeddingVector, EncodingFormat};

        let reply: BatchEmbedContentsResponse =
            serde_json::from_str(r#"{"embeddings": [{"values": [0.5, -1.0]}]}"#)?;
        let response = translate_embedding_response(
            "gemini-embedding-001",
            vec![reply],
            &[1],
            EncodingFormat::Float,
        )?;
        assert_eq!(
            response.data[0].embedding,
            EmbeddingVector::Float(vec![0.5, -1.0])
        );
        Ok(())
    }
}
