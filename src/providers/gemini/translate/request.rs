//! An OpenAI [`ChatRequest`] → a Gemini `generateContent` request.
//!
//! | OpenAI | Gemini |
//! |---|---|
//! | `temperature`, `top_p`, `n`, `seed` | `temperature`, `topP`, `candidateCount`, `seed` |
//! | `max_tokens`, `max_completion_tokens` (wins) | `maxOutputTokens` |
//! | `stop` (at most 5) | `stopSequences` |
//! | `presence_penalty`, `frequency_penalty` | same names |
//! | `logprobs`, `top_logprobs` | `responseLogprobs`, `logprobs` (`top_logprobs` alone implies `responseLogprobs`) |
//! | `modalities` | `responseModalities` (`TEXT`, `IMAGE`, `AUDIO`) |
//! | `audio` `{voice, format: pcm16}` | `speechConfig` + `AUDIO` modality |
//! | `response_format` | `responseMimeType` and `responseJsonSchema` (2.5 and later) or `responseSchema` (older) |
//! | `reasoning_effort`, `thinking` | `thinkingConfig` (see [`super::thinking`]) |
//! | `tools`, `functions`, `web_search_options` | `tools` (see [`super::tools`]) |
//! | `tool_choice`, `function_call` | `toolConfig.functionCallingConfig` |
//! | `safety_settings` | `safetySettings` |
//! | `cached_content` | `cachedContent` |
//! | GenerationConfig keys (`top_k`/`topK`, `mediaResolution`, `imageConfig`, …) | `generationConfig`, camelCased |
//! | `media_resolution` (`low`, `medium`, `high`) | `generationConfig.mediaResolution` (`MEDIA_RESOLUTION_…`) |
//! | `parallel_tool_calls` | accepted, not sent: Gemini has no switch (it may still return several calls) |
//! | `user`, `safety_identifier`, `stream_options`, `metadata`, `store`, `tags`, `prompt_cache_key`, `timeout`, `num_retries` | accepted, not sent (see [`IGNORED_KEYS`]) |
//! | `service_tier` `auto` / `default` | accepted, not sent (Gemini's standard tier); other tiers refused by name |
//! | `api_key`, `api_base` | per-request credentials and endpoint ([`CallOptions`]), only when [`TranslateOptions::client_credentials`] allows them; `api_base` only with its own `api_key` |
//! | `n: 0` | 400 (OpenAI refuses it too) |
//! | anything else (`logit_bias`, `prediction`, `verbosity`, `extra_headers`, `mock_response`, …) | 400 `UnsupportedParamsError` naming it, or dropped with `drop_params` |
//!
//! ## `response_format`
//!
//! | `response_format` | `generationConfig` |
//! |---|---|
//! | `{"type":"text"}` | `responseMimeType: "text/plain"` |
//! | `{"type":"json_object"}` | `responseMimeType: "application/json"`, no schema |
//! | `{"type":"json_object","response_schema":S}` (LiteLLM) | `application/json` and S |
//! | `{"type":"json_schema","json_schema":{"name","schema":S,"strict"}}` (OpenAI) | `application/json` and S (`name` and `strict` are not sent) |
//! | `{"type":"json_schema"}` without a schema, any other `type` | 400 naming `response_format` |
//!
//! The model rule: the schema goes as `responseJsonSchema` ([`to_json_schema`], full JSON
//! Schema: `$ref`/`$defs`, `additionalProperties`, type arrays kept; the root's `strict`,
//! `$schema`, `$id` removed) when the model id's version, read as a number by
//! [`ModelInfo`], is 2.5 or later (`gemini-2.5-flash`, `gemini-3-pro-preview`,
//! `gemini-3.1-flash-lite-preview`) or when the id has no version (`gemini-flash-latest`,
//! assumed current). Older models (`gemini-2.0-flash`, `gemini-1.5-pro`) answer 400 to
//! `responseJsonSchema`, so they get `responseSchema` ([`to_openapi_schema`] with
//! `propertyOrdering`: the OpenAPI subset, upper-case types, `$ref`s inlined); a schema the
//! subset cannot express (recursion, `not`, …) is a 400 naming its place. Exactly one of the
//! two is sent. LiteLLM decides with a regex that needs a dot after the major version, so it
//! sends `gemini-3-…` models the subset, and it sends gemini-2.0 models `responseJsonSchema`.
//! `enforce_validation` is not sent upstream: `SchemaValidationLayer`
//! ([`crate::layers::validate`]) checks the reply against S.

use serde::de::DeserializeOwned;
use serde_json::{Map, Value};

use super::messages::{join_split_turn, translate_conversation};
use super::schema::{SchemaOptions, to_json_schema, to_openapi_schema};
use super::schema_cache::ToolSchemaCache;
use super::thinking::{from_reasoning_effort, from_thinking, known_effort};
use super::tools::{ToolSet, tool_config};
use crate::credentials::check_client_credentials;
use crate::error::Error;
use crate::openai::chat::{ChatRequest, Message, ResponseFormat, Stop};
use crate::providers::gemini::facts::{self, ThinkingMode};
use crate::providers::gemini::model::ModelInfo;
use crate::providers::gemini::wire::{GenerateContentRequest, GenerationConfig, ToolConfig};
use crate::raw_json::RawJson;
use crate::upstream::secret::Secret;

/// Provider-wide translation settings.
#[derive(Debug, Clone, Copy)]
pub struct TranslateOptions {
    /// Drop unsupported params instead of refusing them (a request's own `drop_params`
    /// overrides this).
    pub drop_params: bool,
    /// Accept `api_key` / `api_base` in requests. Off by default: where clients are not
    /// trusted (an HTTP edge), a client-chosen `api_base` would make the server call any
    /// host it names.
    pub client_credentials: bool,
    /// Send built-in tools beside function declarations to models that take the mix, with
    /// `toolConfig.includeServerSideToolInvocations` (on by default). Vertex AI refuses that
    /// field: with this off, the mix is treated as for a model that refuses it (see
    /// [`dropped_tools`](TranslatedRequest::dropped_tools)).
    pub builtin_tools_with_functions: bool,
}

impl Default for TranslateOptions {
    fn default() -> Self {
        Self {
            drop_params: false,
            client_credentials: false,
            builtin_tools_with_functions: true,
        }
    }
}

/// Per-request credentials and endpoint taken out of the request body.
#[derive(Clone, Default, PartialEq)]
pub struct CallOptions {
    /// `api_key` sent in the request body.
    pub api_key: Option<Secret>,
    /// `api_base` sent in the request body.
    pub api_base: Option<String>,
}

impl std::fmt::Debug for CallOptions {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("CallOptions")
            .field("api_key", &self.api_key.as_ref().map(|_| "[REDACTED]"))
            .field(
                "api_base",
                &self.api_base.as_deref().map(crate::upstream::redact_url),
            )
            .finish()
    }
}

/// Which head of a `generateContent` body goes into a context cache.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CachePlan {
    /// How many leading `contents` (with the system instruction, tools and tool config).
    pub contents: usize,
    /// The cache's lifetime, `"{seconds}s"`, when the request set one.
    pub ttl: Option<String>,
    /// Whether the head ends inside what would otherwise be one turn (a marked user
    /// message followed by an unmarked one): sent uncached, `contents[contents - 1]` and
    /// `contents[contents]` are one content again.
    pub split_turn: bool,
}

/// The Gemini side of a chat request.
#[derive(Debug, Clone, PartialEq)]
pub struct TranslatedRequest {
    /// Bare model id (`gemini-2.5-flash`).
    pub model: String,
    /// The `generateContent` body.
    pub body: GenerateContentRequest,
    /// `streamGenerateContent` instead of `generateContent`.
    pub stream: bool,
    /// Send a final usage chunk (`stream_options.include_usage`).
    pub include_usage: bool,
    /// The request used legacy `functions`: replies use `function_call`.
    pub legacy_functions: bool,
    /// Per-request credentials and endpoint.
    pub options: CallOptions,
    /// The head of the conversation to keep in a context cache.
    pub cache: Option<CachePlan>,
    /// Built-in tools left out because the model does not take them beside function
    /// declarations (their Gemini names).
    pub dropped_tools: Vec<String>,
}

/// Keys accepted and deliberately not sent upstream: OpenAI's bookkeeping and abuse
/// signals (`metadata`, `store`, `safety_identifier`), OpenAI's cache routing hint (Gemini
/// caches implicitly), LiteLLM's spend `tags`, and LiteLLM's per-request `timeout` and
/// `num_retries` (the deployment's own settings apply).
pub const IGNORED_KEYS: &[&str] = &[
    "metadata",
    "store",
    "safety_identifier",
    "prompt_cache_key",
    "tags",
    "timeout",
    "num_retries",
];

/// Translates a chat request into a Gemini request.
///
/// ```
/// use llm_tower::gemini::translate::{translate_request, TranslateOptions};
///
/// let request = serde_json::from_str(
///     r#"{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}],"max_tokens":64}"#,
/// )?;
/// let translated = translate_request(request, TranslateOptions::default())?;
/// assert_eq!(
///     serde_json::to_string(&translated.body)?,
///     r#"{"contents":[{"role":"user","parts":[{"text":"Hi"}]}],"generationConfig":{"maxOutputTokens":64}}"#,
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn translate_request(
    request: ChatRequest,
    options: TranslateOptions,
) -> Result<TranslatedRequest, Error> {
    translate(request, options, ToolSet::default())
}

/// [`translate_request`], with tool parameter schemas converted through `cache` (agents
/// send the same tools every turn; a hit skips the schema conversion).
///
/// ```
/// use llm_tower::gemini::translate::{translate_request_cached, TranslateOptions, ToolSchemaCache};
///
/// let cache = ToolSchemaCache::default();
/// let request = serde_json::from_str(r#"{"model":"gemini-2.5-flash","messages":[{"role":"user","content":"Hi"}],
///     "tools":[{"type":"function","function":{"name":"f","parameters":{"type":"object","properties":{"x":{"type":"string"}}}}}]}"#)?;
/// translate_request_cached(request, TranslateOptions::default(), &cache)?;
/// assert_eq!(cache.len(), 1);
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn translate_request_cached(
    request: ChatRequest,
    options: TranslateOptions,
    cache: &ToolSchemaCache,
) -> Result<TranslatedRequest, Error> {
    translate(request, options, ToolSet::with_cache(cache))
}

fn translate(
    request: ChatRequest,
    options: TranslateOptions,
    mut tool_set: ToolSet<'_>,
) -> Result<TranslatedRequest, Error> {
    let ChatRequest {
        model,
        messages,
        temperature,
        top_p,
        n,
        stream,
        stream_options,
        stop,
        max_tokens,
        max_completion_tokens,
        presence_penalty,
        frequency_penalty,
        logit_bias,
        logprobs,
        top_logprobs,
        seed,
        user: _,
        tools,
        tool_choice,
        // Gemini has no switch for it: accepted and not sent, as LiteLLM does.
        parallel_tool_calls: _,
        functions,
        function_call,
        response_format,
        modalities,
        reasoning_effort,
        thinking,
        safety_settings,
        drop_params,
        api_key,
        api_base,
        extra,
        // ParamMap takes the context before translating.
        context: _,
    } = request;
    let (drop, call_options) = preflight(&model, drop_params, api_key, api_base, &options)?;
    if n == Some(0) {
        return Err(Error::invalid_param("n", "n must be at least 1"));
    }
    let info = ModelInfo::parse(&model);
    let facts = facts::facts(&model);
    let marked = cache_block(&messages)?;
    let conversation =
        translate_conversation(messages, facts, marked.as_ref().map(|block| block.end))?;
    let cached_contents = conversation.cached_contents;
    let head_split = conversation.head_split;

    let mut config = GenerationConfig {
        temperature,
        top_p,
        candidate_count: n,
        max_output_tokens: max_completion_tokens.or(max_tokens),
        stop_sequences: stop.map(stop_sequences).transpose()?,
        presence_penalty,
        frequency_penalty,
        seed,
        // Gemini refuses `logprobs` without `responseLogprobs`; asking for alternatives
        // implies asking for log probabilities.
        response_logprobs: logprobs.or(top_logprobs.map(|_| true)),
        logprobs: top_logprobs,
        response_modalities: modalities.map(response_modalities).transpose()?,
        ..GenerationConfig::default()
    };
    if let Some(format) = response_format {
        apply_response_format(&mut config, format, info)?;
    }
    config.thinking_config = match (reasoning_effort, thinking) {
        (Some(_), Some(_)) => {
            return Err(Error::invalid_param(
                "reasoning_effort",
                "set either reasoning_effort or thinking, not both",
            ));
        }
        (Some(_), None) if facts.thinking == ThinkingMode::None => {
            unsupported("reasoning_effort", drop)?;
            None
        }
        // An effort this crate does not know is refused, or dropped with the other
        // unsupported params.
        (Some(effort), None) if drop && !known_effort(effort.level()) => None,
        (Some(effort), None) => Some(from_reasoning_effort(effort.level(), facts)?),
        (None, Some(_)) if facts.thinking == ThinkingMode::None => {
            unsupported("thinking", drop)?;
            None
        }
        (None, Some(thinking)) => Some(from_thinking(&thinking, facts)?),
        (None, None) => None,
    };
    if logit_bias.is_some() {
        unsupported("logit_bias", drop)?;
    }

    let legacy_functions = functions.is_some();
    for (index, tool) in tools.into_iter().flatten().enumerate() {
        tool_set.add_tool(tool, index)?;
    }
    for (index, function) in functions.into_iter().flatten().enumerate() {
        tool_set.add_function(function, &format!("functions[{index}]"))?;
    }
    let tool_config = match (tool_choice, function_call) {
        (Some(choice), _) => Some(tool_config(&choice, "tool_choice")?),
        (None, Some(choice)) => Some(tool_config(&choice, "function_call")?),
        (None, None) => None,
    };
    if let Some(names) = tool_config.as_ref().and_then(|config| {
        config
            .function_calling_config
            .allowed_function_names
            .as_ref()
    }) && let Some(unknown) = names.iter().find(|name| !tool_set.declares(name))
    {
        return Err(Error::invalid_param(
            "tool_choice",
            format!("tool_choice names function {unknown:?}, which is not among the tools"),
        ));
    }

    let mut body = GenerateContentRequest {
        contents: conversation.contents,
        system_instruction: conversation.system_instruction,
        safety_settings: safety_settings
            .into_iter()
            .flatten()
            .map(|setting| serde_json::to_value(setting).unwrap_or(Value::Null))
            .collect(),
        ..GenerateContentRequest::default()
    };
    for (key, value) in extra {
        apply_extra(
            key,
            value,
            Target {
                body: &mut body,
                config: &mut config,
                tools: &mut tool_set,
            },
            drop,
        )?;
    }
    let combine = facts.builtin_tools_with_functions && options.builtin_tools_with_functions;
    let dropped_tools = tool_set.fit_builtins(combine)?;
    let mut tool_config = tool_config;
    if tool_set.mixes_builtins_with_functions() {
        // The Gemini API runs built-in tools beside functions only when asked to return
        // their invocations (as `toolCall`/`toolResponse` parts, kept in the reply's
        // `provider_specific_fields.other_parts`).
        tool_config
            .get_or_insert_with(|| ToolConfig::mode("AUTO"))
            .include_server_side_tool_invocations = Some(true);
    }
    body.tools = tool_set.into_tools();
    body.tool_config = tool_config;
    body.generation_config = config;
    // A cache the client names itself wins over marks; an empty head is not worth one.
    let worth_caching = |contents: usize| {
        contents > 0 || body.system_instruction.is_some() || !body.tools.is_empty()
    };
    let cache = match (marked, cached_contents, &body.cached_content) {
        (Some(block), Some(contents), None) if worth_caching(contents) => Some(CachePlan {
            contents,
            ttl: block.ttl,
            split_turn: head_split == Some(contents),
        }),
        _ => None,
    };
    // Without a cache the request is the one it would be without marks.
    if let (None, Some(at)) = (&cache, head_split) {
        join_split_turn(&mut body.contents, at);
    }

    Ok(TranslatedRequest {
        model,
        body,
        stream: stream == Some(true),
        include_usage: stream_options.and_then(|options| options.include_usage) == Some(true),
        legacy_functions,
        options: call_options,
        cache,
        dropped_tools,
    })
}

/// The first continuous run of messages marked with `cache_control`.
struct CacheBlock {
    /// Index of its last message: the cached head is every message up to it.
    end: usize,
    /// The first valid `ttl` in the run.
    ttl: Option<String>,
}

/// Finds the head of the conversation the client marked for caching. Unlike LiteLLM, which
/// caches the marked run alone and sends the messages before it after the cache (out of
/// order), the head is everything up to the end of the first marked run, as Anthropic's
/// breakpoints mean. A mark of a type other than `ephemeral` (the only one there is) is
/// refused by name.
fn cache_block(messages: &[Message]) -> Result<Option<CacheBlock>, Error> {
    for (index, message) in messages.iter().enumerate() {
        if let Some(control) = message
            .cache_controls()
            .find(|control| control.kind != "ephemeral")
        {
            return Err(Error::invalid_param(
                format!("messages[{index}].cache_control"),
                format!(
                    "messages[{index}]: cache_control type {:?} is not supported; use \"ephemeral\"",
                    control.kind
                ),
            ));
        }
    }
    let Some(start) = messages.iter().position(Message::has_cache_control) else {
        return Ok(None);
    };
    let run = messages[start..]
        .iter()
        .take_while(|message| message.has_cache_control())
        .count();
    let ttl = messages[start..start + run]
        .iter()
        .flat_map(Message::cache_controls)
        .filter_map(|control| control.ttl.as_deref())
        .find(|ttl| valid_ttl(ttl))
        .map(str::to_owned);
    Ok(Some(CacheBlock {
        end: start + run - 1,
        ttl,
    }))
}

/// `"{seconds}s"` as Google's Duration takes it: digits with at most one decimal point
/// (LiteLLM's `^\d*\.?\d+s$`), more than zero.
fn valid_ttl(ttl: &str) -> bool {
    let Some(seconds) = ttl.strip_suffix('s') else {
        return false;
    };
    let (whole, fraction) = seconds.split_once('.').unwrap_or(("", seconds));
    let digits = |text: &str| text.bytes().all(|byte| byte.is_ascii_digit());
    digits(whole)
        && !fraction.is_empty()
        && digits(fraction)
        && seconds.parse::<f64>().is_ok_and(|value| value > 0.0)
}

/// What every request to Gemini is checked for first: a model id fit for the URL path, and
/// client credentials only where allowed. Returns whether unknown params are dropped, and
/// the call's credentials.
pub(crate) fn preflight(
    model: &str,
    drop_params: Option<bool>,
    api_key: Option<Secret>,
    api_base: Option<String>,
    options: &TranslateOptions,
) -> Result<(bool, CallOptions), Error> {
    check_model_id(model)?;
    let call_options = client_credentials(api_key, api_base, options.client_credentials)?;
    Ok((drop_params.unwrap_or(options.drop_params), call_options))
}

/// A model id goes into the URL path: only the characters of Gemini's ids are accepted, so
/// a client cannot reach another endpoint (`../files`, `?`, `#`) with the server's key.
fn check_model_id(model: &str) -> Result<(), Error> {
    let valid = !model.is_empty()
        && model.len() <= 128
        && model
            .bytes()
            .all(|byte| byte.is_ascii_alphanumeric() || matches!(byte, b'-' | b'.' | b'_'))
        && !model.starts_with('.');
    if valid {
        Ok(())
    } else {
        Err(Error::invalid_param(
            "model",
            format!("{model:?} is not a Gemini model id (letters, digits, '-', '.', '_')"),
        ))
    }
}

/// Per-request credentials, if the provider accepts them.
fn client_credentials(
    api_key: Option<Secret>,
    api_base: Option<String>,
    allowed: bool,
) -> Result<CallOptions, Error> {
    check_client_credentials(api_key.as_ref(), api_base.as_deref(), allowed)?;
    Ok(CallOptions { api_key, api_base })
}

pub(crate) fn unsupported(param: &str, drop: bool) -> Result<(), Error> {
    if drop {
        tracing::debug!(param, "dropping unsupported param");
        Ok(())
    } else {
        Err(Error::unsupported_param("gemini", param))
    }
}

fn stop_sequences(stop: Stop) -> Result<Vec<String>, Error> {
    let sequences = match stop {
        Stop::One(sequence) => vec![sequence],
        Stop::Many(sequences) => sequences,
    };
    if sequences.len() > 5 {
        return Err(Error::invalid_param(
            "stop",
            format!(
                "Gemini accepts at most 5 stop sequences, got {}",
                sequences.len()
            ),
        ));
    }
    Ok(sequences)
}

fn response_modalities(modalities: Vec<String>) -> Result<Vec<String>, Error> {
    modalities
        .into_iter()
        .map(|modality| match modality.to_ascii_lowercase().as_str() {
            "text" => Ok("TEXT".to_owned()),
            "image" => Ok("IMAGE".to_owned()),
            "audio" => Ok("AUDIO".to_owned()),
            _ => Err(Error::invalid_param(
                "modalities",
                format!("unsupported modality {modality:?} (expected text, image or audio)"),
            )),
        })
        .collect()
}

fn apply_response_format(
    config: &mut GenerationConfig,
    format: ResponseFormat,
    model: ModelInfo,
) -> Result<(), Error> {
    match format.kind.as_str() {
        "text" => {
            config.response_mime_type = Some("text/plain".to_owned());
            return Ok(());
        }
        "json_object" | "json_schema" => {}
        other => {
            return Err(Error::invalid_param(
                "response_format",
                format!(
                    "response_format.type must be text, json_object or json_schema; got {other:?}"
                ),
            ));
        }
    }
    config.response_mime_type = Some("application/json".to_owned());
    let schema = format.schema();
    if format.kind == "json_schema" && schema.is_none() {
        return Err(Error::invalid_param(
            "response_format",
            "response_format json_schema needs json_schema.schema",
        ));
    }
    let Some(schema) = schema else {
        return Ok(());
    };
    let invalid = |error: super::schema::SchemaError| {
        Error::invalid_param(
            "response_format",
            format!("response_format schema: {error}"),
        )
    };
    if model.supports_json_schema() {
        config.response_json_schema = Some(to_json_schema(schema).map_err(invalid)?);
    } else {
        let options = SchemaOptions {
            property_ordering: true,
        };
        config.response_schema = Some(to_openapi_schema(schema, options).map_err(invalid)?);
    }
    Ok(())
}

/// Where an extra request key can go.
struct Target<'a, 'b> {
    body: &'a mut GenerateContentRequest,
    config: &'a mut GenerationConfig,
    tools: &'a mut ToolSet<'b>,
}

/// Gemini GenerationConfig keys accepted at the top level of a request, camelCased.
const GENERATION_CONFIG_KEYS: &[&str] = &[
    "topK",
    "candidateCount",
    "maxOutputTokens",
    "stopSequences",
    "responseMimeType",
    "responseSchema",
    "responseJsonSchema",
    "responseModalities",
    "responseLogprobs",
    "presencePenalty",
    "frequencyPenalty",
    "thinkingConfig",
    "speechConfig",
    "imageConfig",
    "mediaResolution",
    "enableEnhancedCivicAnswers",
    "routingConfig",
];

/// Maps one unknown key of the request. Its value is kept as text until a key that reads
/// it is found: a refused or ignored key never becomes a tree.
fn apply_extra(
    key: String,
    value: RawJson,
    target: Target<'_, '_>,
    drop: bool,
) -> Result<(), Error> {
    match key.as_str() {
        "cached_content" | "cachedContent" => {
            target.body.cached_content = Some(typed(&key, value.to_value())?)
        }
        "web_search_options" => target.tools.add_google_search(),
        "audio" => apply_audio(target.config, value.to_value())?,
        "service_tier" => match value.parse::<String>().as_deref() {
            Ok("auto" | "default") => {}
            _ => unsupported(&key, drop)?,
        },
        key if IGNORED_KEYS.contains(&key) => {}
        _ => {
            let camel = camel_case(&key);
            if GENERATION_CONFIG_KEYS.contains(&camel.as_str()) {
                set_generation_config(target.config, &key, camel, value.to_value())?;
            } else {
                unsupported(&key, drop)?;
            }
        }
    }
    Ok(())
}

fn set_generation_config(
    config: &mut GenerationConfig,
    param: &str,
    camel: String,
    value: Value,
) -> Result<(), Error> {
    match camel.as_str() {
        "candidateCount" => config.candidate_count = Some(typed(param, value)?),
        "maxOutputTokens" => config.max_output_tokens = Some(typed(param, value)?),
        "stopSequences" => config.stop_sequences = Some(typed(param, value)?),
        "responseMimeType" => config.response_mime_type = Some(typed(param, value)?),
        "responseSchema" | "responseJsonSchema"
            if config.response_schema.is_some() || config.response_json_schema.is_some() =>
        {
            return Err(Error::invalid_param(
                param,
                format!("{param} conflicts with the schema of response_format; set one of them"),
            ));
        }
        "responseSchema" => config.response_schema = Some(value),
        "responseJsonSchema" => config.response_json_schema = Some(value),
        "responseModalities" => config.response_modalities = Some(typed(param, value)?),
        "responseLogprobs" => config.response_logprobs = Some(typed(param, value)?),
        "mediaResolution" => {
            let level = media_resolution(param, value)?;
            config.extra.insert(camel, Value::String(level));
        }
        "presencePenalty" => config.presence_penalty = Some(typed(param, value)?),
        "frequencyPenalty" => config.frequency_penalty = Some(typed(param, value)?),
        "thinkingConfig" => {
            if config.thinking_config.is_some() {
                return Err(Error::invalid_param(
                    param,
                    format!("{param} conflicts with reasoning_effort / thinking; set one of them"),
                ));
            }
            config.thinking_config = Some(typed(param, value)?);
        }
        _ => {
            config.extra.insert(camel, value);
        }
    }
    Ok(())
}

/// `media_resolution`: `low` / `medium` / `high` (any case), or Gemini's own
/// `MEDIA_RESOLUTION_…` name.
fn media_resolution(param: &str, value: Value) -> Result<String, Error> {
    let level: String = typed(param, value)?;
    match level.to_ascii_lowercase().as_str() {
        "low" | "medium" | "high" => Ok(format!("MEDIA_RESOLUTION_{}", level.to_ascii_uppercase())),
        _ if level.starts_with("MEDIA_RESOLUTION_") => Ok(level),
        _ => Err(Error::invalid_param(
            param,
            format!("{param}: {level:?} is not a media resolution (expected low, medium or high)"),
        )),
    }
}

fn apply_audio(config: &mut GenerationConfig, value: Value) -> Result<(), Error> {
    #[derive(serde::Deserialize)]
    struct Audio {
        voice: String,
        #[serde(default)]
        format: Option<String>,
    }
    let audio: Audio = typed("audio", value)?;
    if let Some(format) = audio.format.as_deref().filter(|format| *format != "pcm16") {
        return Err(Error::invalid_param(
            "audio",
            format!("Gemini returns pcm16 audio only; audio.format {format:?} is not supported"),
        ));
    }
    let modalities = config.response_modalities.get_or_insert_with(Vec::new);
    if !modalities.iter().any(|modality| modality == "AUDIO") {
        modalities.push("AUDIO".to_owned());
    }
    let mut voice = Map::new();
    voice.insert(
        "voiceConfig".to_owned(),
        serde_json::json!({"prebuiltVoiceConfig": {"voiceName": audio.voice}}),
    );
    config
        .extra
        .insert("speechConfig".to_owned(), Value::Object(voice));
    Ok(())
}

fn typed<T: DeserializeOwned>(param: &str, value: Value) -> Result<T, Error> {
    serde_json::from_value(value)
        .map_err(|error| Error::invalid_param(param, format!("invalid `{param}`: {error}")))
}

/// `top_k` → `topK`; camelCase input is returned unchanged.
fn camel_case(key: &str) -> String {
    let mut out = String::with_capacity(key.len());
    let mut upper = false;
    for character in key.chars() {
        if character == '_' {
            upper = true;
        } else if upper {
            out.extend(character.to_uppercase());
            upper = false;
        } else {
            out.push(character);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn camel_case_keys() {
        assert_eq!(camel_case("top_k"), "topK");
        assert_eq!(camel_case("topK"), "topK");
        assert_eq!(camel_case("media_resolution"), "mediaResolution");
    }
}
