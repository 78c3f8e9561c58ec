//! A Gemini `GenerateContentResponse` → an OpenAI `chat.completion`.
//!
//! - text parts → `content`; thought parts → `reasoning_content` and `thinking_blocks`;
//!   text parts separated by code-execution parts are joined with a blank line (newlines
//!   already at the seam count towards it);
//! - `functionCall` → `tool_calls` (fresh ids, arguments as a JSON string); a part's
//!   `thoughtSignature` rides in `provider_specific_fields.thought_signature` and after
//!   `__thought__` in the id, so that plain OpenAI clients send it back; every signature of
//!   the candidate is listed in `message.provider_specific_fields.thought_signatures`;
//! - `inlineData` images → `images` as data URLs; the first audio clip → `audio`
//!   (`data` base64 as Gemini sent it, usually 24 kHz PCM16, with its `mime_type`); `executableCode` and
//!   `codeExecutionResult` → `provider_specific_fields.code_execution` (LiteLLM drops them);
//!   any other part → `provider_specific_fields.other_parts`, as sent;
//! - finish reasons: tool calls win; `STOP` → `stop`, `MAX_TOKENS` → `length`, safety-type
//!   reasons → `content_filter`, anything else → `stop`; Gemini's own reason is kept on
//!   every choice as `provider_specific_fields.native_finish_reason` (LiteLLM's name), with
//!   Google's `finishMessage` as `finish_message`. A candidate without content still becomes
//!   a choice; partial text of a flagged candidate is kept;
//! - a blocked prompt → one choice with no content and `content_filter`, the block reason
//!   as its `native_finish_reason`;
//! - usage: `completion_tokens` = candidates + thoughts; `prompt_tokens` = prompt (cached
//!   tokens included, not counted twice) + tool-use prompt tokens, so the sum is the total;
//!   the details as LiteLLM reports them (see [`translate_usage`]);
//! - grounding: `groundingSupports` → `annotations` (`url_citation`, with Gemini's byte
//!   offsets turned into character offsets), `groundingMetadata` →
//!   `vertex_ai_grounding_metadata`, search queries → `prompt_tokens_details.web_search_requests`.

use serde_json::Value;

use super::ids::IdSource;
use super::messages::THOUGHT_SEPARATOR;
use crate::error::Error;
use crate::openai::chat::{
    Annotation, AudioOutput, CachedTokensDetails, ChatCompletion, Choice, ChoiceProviderFields,
    CompletionTokensDetails, FunctionCall, ImageOutput, ImageUrlObject, Logprobs,
    MessageProviderFields, PromptTokensDetails, ResponseMessage, ThinkingBlock, TokenLogprob,
    ToolCall, TopLogprob, UrlCitation, Usage,
};
use crate::providers::gemini::wire::{
    Candidate, GenerateContentResponse, LogprobsResult, ModalityTokenCount, Part, UsageMetadata,
};

/// How long a generated audio clip is said to stay valid (`expires_at`), as OpenAI does.
const AUDIO_LIFETIME_SECS: u64 = 24 * 60 * 60;

/// What the reply translation needs from the request.
#[derive(Debug, Clone, Copy)]
pub struct ReplyContext<'a> {
    /// The model as the client named it.
    pub model: &'a str,
    /// The request used legacy `functions`: answer with `function_call`.
    pub legacy_functions: bool,
}

/// Translates a Gemini reply into a `chat.completion`.
///
/// ```
/// use llm_tower::gemini::translate::{translate_response, ReplyContext, SequentialIds};
///
/// let reply = serde_json::from_str(r#"{"candidates":[{"content":{"role":"model","parts":[{"text":"Hi!"}]},"finishReason":"STOP"}]}"#)?;
/// let context = ReplyContext { model: "gemini-2.5-flash", legacy_functions: false };
/// let completion = translate_response(reply, context, &SequentialIds::new(0))?;
/// assert_eq!(completion.choices[0].message.content.as_deref(), Some("Hi!"));
/// assert_eq!(completion.choices[0].finish_reason.as_deref(), Some("stop"));
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn translate_response(
    reply: GenerateContentResponse,
    context: ReplyContext<'_>,
    ids: &dyn IdSource,
) -> Result<ChatCompletion, Error> {
    let GenerateContentResponse {
        candidates,
        prompt_feedback,
        usage_metadata,
        model_version: _,
        response_id,
    } = reply;
    let mut choices = Vec::with_capacity(candidates.len().max(1));
    let mut grounding = Vec::new();
    let mut url_context = Vec::new();
    let mut safety = Vec::new();
    let mut citations = Vec::new();
    let mut web_search_requests = 0;
    for (position, mut candidate) in candidates.into_iter().enumerate() {
        let metadata = candidate.grounding_metadata.take();
        url_context.extend(candidate.url_context_metadata.take());
        safety.extend(candidate.safety_ratings.take());
        citations.extend(candidate.citation_metadata.take());
        let index = candidate.index.unwrap_or(position as u32);
        choices.push(translate_candidate(
            candidate,
            index,
            context,
            ids,
            metadata.as_ref(),
        ));
        if let Some(metadata) = metadata {
            web_search_requests += search_query_count(&metadata);
            grounding.push(metadata);
        }
    }
    if choices.is_empty() {
        let feedback = prompt_feedback.unwrap_or_default();
        // The prompt's ratings say why it was blocked: kept beside the candidates' ones.
        safety.extend(feedback.safety_ratings);
        let block_reason = feedback.block_reason.unwrap_or_else(|| "OTHER".to_owned());
        choices.push(Choice {
            index: 0,
            message: empty_message(),
            finish_reason: Some("content_filter".to_owned()),
            logprobs: None,
            provider_specific_fields: Some(ChoiceProviderFields {
                native_finish_reason: block_reason,
                finish_message: None,
            }),
        });
    }
    let usage = usage_metadata.map(|usage| translate_usage(usage, web_search_requests));
    Ok(ChatCompletion {
        id: response_id.unwrap_or_else(|| ids.completion_id()),
        object: "chat.completion".to_owned(),
        created: ids.created(),
        model: context.model.to_owned(),
        choices,
        usage,
        vertex_ai_grounding_metadata: non_empty(grounding),
        vertex_ai_url_context_metadata: non_empty(url_context),
        vertex_ai_safety_results: non_empty(safety),
        vertex_ai_citation_metadata: non_empty(citations),
    })
}

/// `None` for an empty list (the field is then left out of the reply).
fn non_empty<T>(values: Vec<T>) -> Option<Vec<T>> {
    (!values.is_empty()).then_some(values)
}

fn empty_message() -> ResponseMessage {
    ResponseMessage {
        role: "assistant".to_owned(),
        ..ResponseMessage::default()
    }
}

/// The parts of one candidate, sorted into OpenAI message fields.
#[derive(Debug, Default)]
pub(crate) struct PartsDigest {
    /// Visible text.
    pub content: Option<String>,
    /// Thought text.
    pub reasoning: Option<String>,
    /// Thought parts with their signatures.
    pub thinking_blocks: Vec<ThinkingBlock>,
    /// Calls.
    pub tool_calls: Vec<ToolCall>,
    /// Generated images.
    pub images: Vec<ImageOutput>,
    /// The first generated audio clip (OpenAI's message carries one).
    pub audio: Option<AudioOutput>,
    /// Every signature, in order.
    pub signatures: Vec<String>,
    /// Code-execution parts.
    pub code_execution: Vec<Value>,
    /// Parts of unknown kinds.
    pub other_parts: Vec<Value>,
}

impl PartsDigest {
    /// Sorts `parts`; text on both sides of code-execution parts is joined with a blank line,
    /// and images are numbered from `image_offset`.
    pub fn of(parts: Vec<Part>, ids: &dyn IdSource, image_offset: u32) -> Self {
        let mut digest = Self::default();
        let mut text_interrupted = false;
        for part in parts {
            if let Some(signature) = &part.thought_signature {
                digest.signatures.push(signature.clone());
            }
            if let Some(text) = part.text {
                if part.thought == Some(true) {
                    digest.thinking_blocks.push(ThinkingBlock {
                        kind: "thinking".to_owned(),
                        thinking: Some(text.clone()),
                        signature: part.thought_signature,
                    });
                    digest
                        .reasoning
                        .get_or_insert_with(String::new)
                        .push_str(&text);
                } else {
                    let content = digest.content.get_or_insert_with(String::new);
                    if text_interrupted && !content.is_empty() && !text.is_empty() {
                        separate_paragraph(content, &text);
                    }
                    text_interrupted = false;
                    content.push_str(&text);
                }
            } else if let Some(call) = part.function_call {
                let mut id = ids.call_id();
                let provider_specific_fields = part.thought_signature.map(|signature| {
                    id.push_str(THOUGHT_SEPARATOR);
                    id.push_str(&signature);
                    serde_json::json!({ "thought_signature": signature })
                });
                let arguments = call
                    .args
                    .map_or_else(|| "{}".to_owned(), |args| args.to_string());
                digest.tool_calls.push(ToolCall {
                    id,
                    kind: "function".to_owned(),
                    function: FunctionCall {
                        name: call.name,
                        arguments,
                        provider_specific_fields: None,
                    },
                    provider_specific_fields,
                    extra: Default::default(),
                });
            } else if let Some(blob) = part
                .inline_data
                .as_ref()
                .filter(|blob| blob.mime_type.starts_with("image/"))
            {
                digest.images.push(ImageOutput {
                    kind: "image_url".to_owned(),
                    image_url: ImageUrlObject {
                        url: format!("data:{};base64,{}", blob.mime_type, blob.data),
                        detail: Some("auto".to_owned()),
                        format: None,
                        extra: Default::default(),
                    },
                    index: image_offset + digest.images.len() as u32,
                });
            } else if let Some(blob) = part
                .inline_data
                .as_ref()
                .filter(|blob| blob.mime_type.starts_with("audio/") && digest.audio.is_none())
            {
                digest.audio = Some(AudioOutput {
                    id: ids.completion_id().replacen("chatcmpl-", "audio_", 1),
                    data: blob.data.clone(),
                    expires_at: ids.created() + AUDIO_LIFETIME_SECS,
                    transcript: String::new(),
                    mime_type: blob.mime_type.clone(),
                });
            } else if let Some(code) = part.executable_code {
                text_interrupted = true;
                digest
                    .code_execution
                    .push(serde_json::json!({"executableCode": code}));
            } else if let Some(result) = part.code_execution_result {
                text_interrupted = true;
                digest
                    .code_execution
                    .push(serde_json::json!({"codeExecutionResult": result}));
            } else {
                let raw = serde_json::to_value(Part {
                    thought_signature: None,
                    ..part
                })
                .unwrap_or(Value::Null);
                if raw.as_object().is_some_and(|object| !object.is_empty()) {
                    digest.other_parts.push(raw);
                }
            }
        }
        digest
    }

    /// Provider fields of the message, if any.
    pub fn provider_fields(&mut self) -> Option<MessageProviderFields> {
        let fields = MessageProviderFields {
            thought_signatures: non_empty(std::mem::take(&mut self.signatures)),
            code_execution: non_empty(std::mem::take(&mut self.code_execution)),
            other_parts: non_empty(std::mem::take(&mut self.other_parts)),
        };
        (!fields.is_empty()).then_some(fields)
    }
}

/// Appends the newlines that make a blank line between `content` and `next`, counting the
/// ones already there (a text part before code often ends with `"\n\n"` itself).
fn separate_paragraph(content: &mut String, next: &str) {
    let trailing = content
        .bytes()
        .rev()
        .take_while(|&byte| byte == b'\n')
        .count();
    let leading = next.bytes().take_while(|&byte| byte == b'\n').count();
    for _ in (trailing + leading).min(2)..2 {
        content.push('\n');
    }
}

fn translate_candidate(
    candidate: Candidate,
    index: u32,
    context: ReplyContext<'_>,
    ids: &dyn IdSource,
    grounding: Option<&Value>,
) -> Choice {
    let parts = candidate
        .content
        .map(|content| content.parts)
        .unwrap_or_default();
    let mut digest = PartsDigest::of(parts, ids, 0);
    let has_calls = !digest.tool_calls.is_empty();
    let finish_reason = if has_calls && context.legacy_functions {
        "function_call".to_owned()
    } else if has_calls {
        "tool_calls".to_owned()
    } else {
        finish_reason(candidate.finish_reason.as_deref()).to_owned()
    };
    let annotations = grounding
        .zip(digest.content.as_deref())
        .map(|(metadata, content)| annotations(metadata, content))
        .filter(|annotations| !annotations.is_empty());
    let provider_fields = digest.provider_fields();
    let (tool_calls, function_call) = if context.legacy_functions {
        (None, digest.tool_calls.pop().map(|call| call.function))
    } else {
        (has_calls.then_some(digest.tool_calls), None)
    };
    Choice {
        index,
        message: ResponseMessage {
            role: "assistant".to_owned(),
            content: digest.content,
            reasoning_content: digest.reasoning,
            thinking_blocks: non_empty(digest.thinking_blocks),
            tool_calls,
            function_call,
            images: non_empty(digest.images),
            audio: digest.audio,
            annotations,
            provider_specific_fields: provider_fields,
        },
        finish_reason: Some(finish_reason),
        logprobs: candidate.logprobs_result.map(translate_logprobs),
        provider_specific_fields: gemini_finish(candidate.finish_reason, candidate.finish_message),
    }
}

/// Gemini `finishReason` → OpenAI `finish_reason` (without the tool-call override).
pub fn finish_reason(reason: Option<&str>) -> &'static str {
    match reason {
        Some("MAX_TOKENS") => "length",
        Some(
            "SAFETY"
            | "RECITATION"
            | "BLOCKLIST"
            | "PROHIBITED_CONTENT"
            | "SPII"
            | "IMAGE_SAFETY"
            | "IMAGE_PROHIBITED_CONTENT"
            | "IMAGE_RECITATION",
        ) => "content_filter",
        _ => "stop",
    }
}

/// Gemini's own reason (LiteLLM's `native_finish_reason`) and message, on every choice
/// Gemini gave a reason for.
pub fn gemini_finish(
    reason: Option<String>,
    message: Option<String>,
) -> Option<ChoiceProviderFields> {
    Some(ChoiceProviderFields {
        native_finish_reason: reason?,
        finish_message: message,
    })
}

/// `usageMetadata` → OpenAI usage, with LiteLLM's details: the prompt's per-modality
/// counts as Gemini sends them (cached tokens included), the cached ones in
/// `cached_tokens` and by modality in `cached_tokens_details`; the output's text tokens
/// (all of `candidatesTokenCount` less image and audio when Gemini sends no breakdown) and
/// reasoning tokens (0 without thinking). `DOCUMENT` tokens count in `prompt_tokens` only
/// (OpenAI has no field for them).
pub fn translate_usage(usage: UsageMetadata, web_search_requests: u64) -> Usage {
    let prompt_tokens = usage.prompt_token_count + usage.tool_use_prompt_token_count;
    let completion_tokens = usage.candidates_token_count + usage.thoughts_token_count;
    let total_tokens = if usage.total_token_count == 0 {
        prompt_tokens + completion_tokens
    } else {
        usage.total_token_count
    };
    let cached = (usage.cached_content_token_count > 0).then_some(usage.cached_content_token_count);
    let prompt = Modalities::of(&usage.prompt_tokens_details);
    let cache = Modalities::of(&usage.cache_tokens_details);
    let cached_details = CachedTokensDetails {
        text_tokens: cache.text,
        audio_tokens: cache.audio,
        image_tokens: cache.image,
        video_tokens: cache.video,
    };
    let prompt_details = PromptTokensDetails {
        cached_tokens: cached,
        text_tokens: prompt.text,
        audio_tokens: prompt.audio,
        image_tokens: prompt.image,
        video_tokens: prompt.video,
        web_search_requests: (web_search_requests > 0).then_some(web_search_requests),
        cached_tokens_details: (cached_details != CachedTokensDetails::default())
            .then_some(cached_details),
        cache_creation_tokens: None,
        cache_write_tokens: None,
    };
    let output = Modalities::of(&usage.candidates_tokens_details);
    let text = output.text.unwrap_or_else(|| {
        usage
            .candidates_token_count
            .saturating_sub(output.image.unwrap_or(0))
            .saturating_sub(output.audio.unwrap_or(0))
    });
    let completion_details = CompletionTokensDetails {
        reasoning_tokens: Some(usage.thoughts_token_count),
        text_tokens: Some(text),
        audio_tokens: output.audio,
        image_tokens: output.image,
    };
    Usage {
        prompt_tokens,
        completion_tokens,
        total_tokens,
        prompt_tokens_details: (prompt_details != PromptTokensDetails::default())
            .then_some(prompt_details),
        completion_tokens_details: Some(completion_details),
        cache_read_input_tokens: cached,
        cache_creation_input_tokens: None,
        cost: None,
    }
}

/// Token counts by modality.
#[derive(Debug, Default, Clone, Copy)]
struct Modalities {
    text: Option<u64>,
    audio: Option<u64>,
    image: Option<u64>,
    video: Option<u64>,
}

impl Modalities {
    fn of(counts: &[ModalityTokenCount]) -> Self {
        let mut modalities = Self::default();
        for count in counts {
            let slot = match count.modality.as_str() {
                "TEXT" => &mut modalities.text,
                "AUDIO" => &mut modalities.audio,
                "IMAGE" => &mut modalities.image,
                "VIDEO" => &mut modalities.video,
                _ => continue,
            };
            *slot = Some(slot.unwrap_or(0) + count.token_count);
        }
        modalities
    }
}

/// Number of Google Search queries in a `groundingMetadata`.
pub fn search_query_count(metadata: &Value) -> u64 {
    metadata
        .get("webSearchQueries")
        .and_then(Value::as_array)
        .map_or(0, |queries| queries.len() as u64)
}

/// `logprobsResult` → OpenAI `logprobs` (one entry per chosen token, with alternatives).
pub fn translate_logprobs(result: LogprobsResult) -> Logprobs {
    let mut top = result.top_candidates.into_iter();
    Logprobs {
        content: result
            .chosen_candidates
            .into_iter()
            .map(|chosen| TokenLogprob {
                bytes: Some(chosen.token.as_bytes().to_vec()),
                top_logprobs: top
                    .next()
                    .map(|alternatives| {
                        alternatives
                            .candidates
                            .into_iter()
                            .map(|alternative| TopLogprob {
                                bytes: Some(alternative.token.as_bytes().to_vec()),
                                token: alternative.token,
                                logprob: alternative.log_probability,
                            })
                            .collect()
                    })
                    .unwrap_or_default(),
                token: chosen.token,
                logprob: chosen.log_probability,
            })
            .collect(),
    }
}

/// `groundingSupports` → `url_citation` annotations over `content`.
pub fn annotations(metadata: &Value, content: &str) -> Vec<Annotation> {
    let chunks = metadata.get("groundingChunks").and_then(Value::as_array);
    let supports = metadata.get("groundingSupports").and_then(Value::as_array);
    let (Some(chunks), Some(supports)) = (chunks, supports) else {
        return Vec::new();
    };
    supports
        .iter()
        .filter_map(|support| {
            let segment = support.get("segment")?;
            let start = segment
                .get("startIndex")
                .and_then(Value::as_u64)
                .unwrap_or(0);
            let end = segment.get("endIndex")?.as_u64()?;
            let chunk_index = support.get("groundingChunkIndices")?.get(0)?.as_u64()?;
            let web = chunks.get(usize::try_from(chunk_index).ok()?)?.get("web")?;
            Some(Annotation {
                kind: "url_citation".to_owned(),
                url_citation: UrlCitation {
                    start_index: char_offset(content, start),
                    end_index: char_offset(content, end),
                    url: web.get("uri")?.as_str()?.to_owned(),
                    title: web.get("title").and_then(Value::as_str).map(str::to_owned),
                },
            })
        })
        .collect()
}

/// A UTF-8 byte offset into `text` as a character offset.
fn char_offset(text: &str, byte_offset: u64) -> u64 {
    let byte_offset = usize::try_from(byte_offset)
        .unwrap_or(usize::MAX)
        .min(text.len());
    let prefix = text.as_bytes().get(..byte_offset).unwrap_or_default();
    String::from_utf8_lossy(prefix).chars().count() as u64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn counts(pairs: &[(&str, u64)]) -> Vec<ModalityTokenCount> {
        pairs
            .iter()
            .map(|(modality, token_count)| ModalityTokenCount {
                modality: (*modality).to_owned(),
                token_count: *token_count,
            })
            .collect()
    }

    #[test]
    fn prompt_modalities_are_gross_with_the_cache_beside_them() {
        // Fixture 56's transcription: text and audio, nothing cached.
        let usage = UsageMetadata {
            prompt_token_count: 152,
            candidates_token_count: 18,
            prompt_tokens_details: counts(&[("TEXT", 14), ("AUDIO", 138)]),
            ..UsageMetadata::default()
        };
        let details = translate_usage(usage, 0)
            .prompt_tokens_details
            .expect("details");
        assert_eq!(
            (details.text_tokens, details.audio_tokens),
            (Some(14), Some(138))
        );
        assert_eq!(details.cached_tokens_details, None);

        // An explicit cache: per-modality counts as sent, the cache by modality beside them.
        let usage = UsageMetadata {
            prompt_token_count: 1200,
            cached_content_token_count: 1024,
            prompt_tokens_details: counts(&[("TEXT", 1200)]),
            cache_tokens_details: counts(&[("TEXT", 1024)]),
            ..UsageMetadata::default()
        };
        let details = translate_usage(usage, 0)
            .prompt_tokens_details
            .expect("details");
        assert_eq!(details.text_tokens, Some(1200));
        assert_eq!(details.cached_tokens, Some(1024));
        assert_eq!(
            details.cached_tokens_details,
            Some(CachedTokensDetails {
                text_tokens: Some(1024),
                ..CachedTokensDetails::default()
            })
        );

        // An implicit cache reports only a total.
        let usage = UsageMetadata {
            prompt_token_count: 5000,
            cached_content_token_count: 4000,
            prompt_tokens_details: counts(&[("TEXT", 5000)]),
            ..UsageMetadata::default()
        };
        let details = translate_usage(usage, 0)
            .prompt_tokens_details
            .expect("details");
        assert_eq!(
            (details.text_tokens, details.cached_tokens),
            (Some(5000), Some(4000))
        );
        assert_eq!(details.cached_tokens_details, None);
    }

    #[test]
    fn output_modalities_are_reported() {
        let usage = UsageMetadata {
            candidates_token_count: 1300,
            candidates_tokens_details: counts(&[("IMAGE", 1290), ("TEXT", 10)]),
            ..UsageMetadata::default()
        };
        let details = translate_usage(usage, 0)
            .completion_tokens_details
            .expect("details");
        assert_eq!(
            (details.image_tokens, details.text_tokens),
            (Some(1290), Some(10))
        );
        assert_eq!(details.reasoning_tokens, Some(0));
    }

    #[test]
    fn output_text_is_the_candidates_without_a_breakdown() {
        let usage = UsageMetadata {
            prompt_token_count: 29,
            candidates_token_count: 57,
            thoughts_token_count: 183,
            ..UsageMetadata::default()
        };
        let usage = translate_usage(usage, 0);
        assert_eq!(
            usage.completion_tokens_details,
            Some(CompletionTokensDetails {
                reasoning_tokens: Some(183),
                text_tokens: Some(57),
                ..CompletionTokensDetails::default()
            })
        );
        assert_eq!(usage.completion_tokens, 240);
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn finish_reason() {
        use crate::gemini::translate::response::finish_reason;
        assert_eq!(finish_reason(Some("MAX_TOKENS")), "length");
        assert_eq!(finish_reason(Some("SPII")), "content_filter");
        assert_eq!(finish_reason(Some("SOMETHING_NEW")), "stop");
    }
}
