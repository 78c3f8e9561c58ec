//! [`SchemaValidationLayer`]: checks a structured reply against the schema the client asked
//! for, when the client asked for that check.
//!
//! LiteLLM's `response_format` may carry `"enforce_validation": true` beside the schema
//! (`{"type": "json_object", "response_schema": {…}, "enforce_validation": true}`, or the
//! OpenAI `json_schema` form with the same flag). Gemini's constrained decoding usually keeps
//! to the schema, but not always (older models only see the OpenAPI subset of it, a reply cut
//! by `max_tokens` is not JSON at all). With the flag, this layer makes the mismatch an error
//! instead of a reply the client has to distrust.
//!
//! # Rules
//!
//! 1. Without `enforce_validation: true` the layer does nothing: the request goes on
//!    untouched and the reply comes back untouched.
//! 2. With it, the schema (`json_schema.schema`, else `response_schema`) is compiled with the
//!    [`jsonschema`] crate *before* the request goes upstream. A schema that does not compile
//!    (not valid JSON Schema, an external or dangling `$ref`, an unknown `$schema`) is a 400
//!    with `param: "response_format"` naming the place in the schema: nothing is sent. The
//!    reply is checked against the schema *as the client wrote it*, not against the form sent
//!    to Gemini (on models before 2.5 that form is the OpenAPI subset, which may have lost
//!    constraints such as `additionalProperties: false`).
//! 3. No schema: `json_object` replies must be JSON (any value); `text` with the flag is a 400.
//! 4. Compiled validators are cached per distinct schema in a [`ValidatorCache`] shared by all
//!    clones of the layer (at most [`DEFAULT_CACHE_CAPACITY`] entries; when full the cache is
//!    emptied and refilled).
//! 5. Non-streaming: every choice's `message.content` must parse as JSON and match. A choice
//!    with tool calls and no content is skipped (the model called a tool instead of
//!    answering). A failure is a `JSONSchemaValidationError`: HTTP 500, `type: api_error`, a
//!    message naming the failing instance path (`/items/0/price: "ten" is not of type
//!    "number"`, at most three errors), and `raw_response` holding the model's text.
//! 6. Streaming: chunks pass through as they come, and each choice's `delta.content` is
//!    accumulated (at most [`DEFAULT_MAX_STREAM_CONTENT`] bytes over all choices; past that
//!    the stream fails). From the first chunk that carries a `finish_reason` on, chunks (the
//!    finish chunk and the usage chunk) are held back until the upstream stream ends; then the
//!    content is validated, and the held chunks are sent if it matches, or else one error item
//!    is sent in their place. So a client never sees `finish_reason: "stop"` on output that
//!    failed validation: the HTTP edge turns the error into a `data: {"error": …}` event and
//!    ends the stream without `[DONE]`.
//! 7. An error from the inner service or the inner stream passes through unchanged.

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;
use std::hash::Hasher;
use std::pin::Pin;
use std::sync::{Arc, Mutex, PoisonError};
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use jsonschema::Validator;
use pin_project_lite::pin_project;
use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::{Error, ErrorKind};
use crate::openai::{ChatCompletion, ChatCompletionChunk, ChatRequest};
use crate::provider::{ChatResponse, ChunkStream};

/// How many compiled schemas a [`ValidatorCache`] keeps by default.
pub const DEFAULT_CACHE_CAPACITY: usize = 256;

/// How much streamed content (bytes, all choices together) is accumulated for validation by
/// default: 8 MiB.
pub const DEFAULT_MAX_STREAM_CONTENT: usize = 8 * 1024 * 1024;

/// Errors listed in one validation message.
const MAX_LISTED_ERRORS: usize = 3;

/// Characters of one validator message kept (an `anyOf` failure prints the whole instance).
const MAX_ERROR_CHARS: usize = 300;

/// Validates structured replies when the request says `enforce_validation: true`.
///
/// The layer belongs at the OpenAI level, outside the translation (the Gemini builder puts
/// it outermost); it works over any chat service.
///
/// ```
/// use llm_tower::layers::SchemaValidationLayer;
/// use llm_tower::openai::ChatRequest;
/// use llm_tower::{ChatResponse, Error};
/// use tower::{ServiceBuilder, ServiceExt, service_fn};
///
/// # tokio::runtime::Runtime::new().unwrap().block_on(async {
/// // A stand-in service; the schema is compiled before it is called.
/// let inner = service_fn(|_: ChatRequest| async {
///     Err::<ChatResponse, _>(Error::invalid_request("not reached"))
/// });
/// let service = ServiceBuilder::new()
///     .layer(SchemaValidationLayer::new())
///     .service(inner);
/// let request: ChatRequest = serde_json::from_value(serde_json::json!({
///     "model": "gemini-2.5-flash",
///     "messages": [{"role": "user", "content": "Hi"}],
///     "response_format": {
///         "type": "json_object",
///         "response_schema": {"type": "object", "properties": {"n": {"type": "int"}}},
///         "enforce_validation": true
///     }
/// }))?;
/// let error = service.oneshot(request).await.unwrap_err();
/// assert_eq!(error.status(), 400);
/// assert_eq!(error.param(), Some("response_format"));
/// assert!(error.message().contains("#/properties/n/type"));
/// # Ok::<(), serde_json::Error>(())
/// # }).unwrap();
/// ```
#[derive(Clone, Debug)]
pub struct SchemaValidationLayer {
    cache: ValidatorCache,
    max_stream_content: usize,
}

impl SchemaValidationLayer {
    /// A layer with its own cache of [`DEFAULT_CACHE_CAPACITY`] schemas and a streamed
    /// content limit of [`DEFAULT_MAX_STREAM_CONTENT`].
    pub fn new() -> Self {
        Self {
            cache: ValidatorCache::new(DEFAULT_CACHE_CAPACITY),
            max_stream_content: DEFAULT_MAX_STREAM_CONTENT,
        }
    }

    /// Uses `cache` (for example one shared with other stacks).
    pub fn with_cache(mut self, cache: ValidatorCache) -> Self {
        self.cache = cache;
        self
    }

    /// Fails a validated stream whose content grows past `bytes`.
    pub fn max_stream_content(mut self, bytes: usize) -> Self {
        self.max_stream_content = bytes;
        self
    }

    /// The cache of compiled schemas.
    pub fn cache(&self) -> &ValidatorCache {
        &self.cache
    }
}

impl Default for SchemaValidationLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl<S> Layer<S> for SchemaValidationLayer {
    type Service = SchemaValidation<S>;

    fn layer(&self, inner: S) -> Self::Service {
        SchemaValidation {
            inner,
            cache: self.cache.clone(),
            max_stream_content: self.max_stream_content,
        }
    }
}

/// The service of [`SchemaValidationLayer`].
#[derive(Clone, Debug)]
pub struct SchemaValidation<S> {
    inner: S,
    cache: ValidatorCache,
    max_stream_content: usize,
}

impl<S> SchemaValidation<S> {
    /// Wraps `inner`, a chat service, with the defaults of [`SchemaValidationLayer::new`].
    pub fn new(inner: S) -> Self {
        SchemaValidationLayer::new().layer(inner)
    }

    /// The inner service.
    pub fn get_ref(&self) -> &S {
        &self.inner
    }

    /// The inner service, mutably.
    pub fn get_mut(&mut self) -> &mut S {
        &mut self.inner
    }

    /// Unwraps the inner service.
    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S> Service<ChatRequest> for SchemaValidation<S>
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error>,
{
    type Response = ChatResponse;
    type Error = Error;
    type Future = SchemaValidationFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: ChatRequest) -> Self::Future {
        let Some(format) = request
            .response_format
            .as_ref()
            .filter(|format| format.enforce_validation == Some(true))
        else {
            return SchemaValidationFuture::Passthrough {
                inner: self.inner.call(request),
            };
        };
        let compiled = match format.schema() {
            Some(schema) => self.cache.get_or_compile(schema),
            None if format.kind == "text" => Err(Error::invalid_param(
                "response_format",
                "response_format.enforce_validation needs a JSON reply: use type json_object \
                 or json_schema, with a schema",
            )),
            None => self.cache.get_or_compile(&Value::Bool(true)),
        };
        match compiled {
            Ok(validator) => SchemaValidationFuture::Checking {
                inner: self.inner.call(request),
                validator: Some(validator),
                max_stream_content: self.max_stream_content,
            },
            Err(error) => SchemaValidationFuture::Failed { error: Some(error) },
        }
    }
}

pin_project! {
    /// Future of [`SchemaValidation`].
    #[project = SchemaValidationFutureProj]
    pub enum SchemaValidationFuture<F> {
        /// No validation asked for: the inner future as it is.
        Passthrough { #[pin] inner: F },
        /// Waiting for the reply to validate.
        Checking {
            #[pin]
            inner: F,
            validator: Option<Arc<Validator>>,
            max_stream_content: usize,
        },
        /// The schema did not compile.
        Failed { error: Option<Error> },
    }
}

impl<F> Future for SchemaValidationFuture<F>
where
    F: Future<Output = Result<ChatResponse, Error>>,
{
    type Output = Result<ChatResponse, Error>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            SchemaValidationFutureProj::Passthrough { inner } => inner.poll(cx),
            SchemaValidationFutureProj::Checking {
                inner,
                validator,
                max_stream_content,
            } => {
                let response = ready!(inner.poll(cx))?;
                let Some(validator) = validator.take() else {
                    return Poll::Ready(Err(Error::new(
                        crate::ErrorKind::Api,
                        "polled after completion",
                    )));
                };
                Poll::Ready(match response {
                    ChatResponse::Completion(completion) => {
                        validate_completion(&validator, &completion)
                            .map(|()| ChatResponse::Completion(completion))
                    }
                    ChatResponse::Stream(stream) => Ok(ChatResponse::Stream(Box::pin(
                        ValidatedStream::new(stream, validator, *max_stream_content),
                    ))),
                })
            }
            SchemaValidationFutureProj::Failed { error } => Poll::Ready(Err(error
                .take()
                .unwrap_or_else(|| Error::new(crate::ErrorKind::Api, "polled after completion")))),
        }
    }
}

/// Compiled validators, one per distinct schema, shared by clones.
///
/// Keys are a hash of the schema's JSON text; a hit is confirmed by comparing the schema
/// itself, so a hash collision costs a compile, never a wrong validator. When the cache is
/// full it is emptied before the new entry goes in (bounded memory, no bookkeeping on hits).
///
/// ```
/// use llm_tower::layers::validate::ValidatorCache;
/// use serde_json::json;
///
/// let cache = ValidatorCache::new(16);
/// let schema = json!({"type": "object", "required": ["a"]});
/// let first = cache.get_or_compile(&schema)?;
/// let again = cache.get_or_compile(&schema)?;
/// assert!(std::sync::Arc::ptr_eq(&first, &again));
/// assert!(!first.is_valid(&json!({})));
///
/// let error = cache.get_or_compile(&json!({"type": "text"})).unwrap_err();
/// assert_eq!(error.status(), 400);
/// # Ok::<(), llm_tower::Error>(())
/// ```
#[derive(Clone)]
pub struct ValidatorCache {
    entries: Arc<Mutex<HashMap<u64, CacheEntry>>>,
    capacity: usize,
}

struct CacheEntry {
    schema: Value,
    validator: Arc<Validator>,
}

impl ValidatorCache {
    /// A cache of at most `capacity` schemas (at least one).
    pub fn new(capacity: usize) -> Self {
        Self {
            entries: Arc::new(Mutex::new(HashMap::new())),
            capacity: capacity.max(1),
        }
    }

    /// How many schemas are cached.
    pub fn len(&self) -> usize {
        self.lock().len()
    }

    /// Whether nothing is cached.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The validator of `schema`, compiled on first use.
    ///
    /// # Errors
    ///
    /// A 400 about `response_format` when `schema` is not a valid JSON Schema, naming the
    /// place in the schema (`#/properties/n/type`) and what is wrong there.
    pub fn get_or_compile(&self, schema: &Value) -> Result<Arc<Validator>, Error> {
        let key = schema_hash(schema);
        if let Some(entry) = self.lock().get(&key) {
            if entry.schema == *schema {
                return Ok(entry.validator.clone());
            }
        }
        // Compiled outside the lock: a large schema must not stall other requests.
        let validator = Arc::new(compile(schema)?);
        let mut entries = self.lock();
        if entries.len() >= self.capacity && !entries.contains_key(&key) {
            entries.clear();
        }
        entries.insert(
            key,
            CacheEntry {
                schema: schema.clone(),
                validator: validator.clone(),
            },
        );
        Ok(validator)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, HashMap<u64, CacheEntry>> {
        self.entries.lock().unwrap_or_else(PoisonError::into_inner)
    }
}

impl std::fmt::Debug for ValidatorCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ValidatorCache")
            .field("len", &self.len())
            .field("capacity", &self.capacity)
            .finish()
    }
}

/// Hashes the JSON text of `schema` without building it.
fn schema_hash(schema: &Value) -> u64 {
    struct HashWriter(std::hash::DefaultHasher);
    impl std::io::Write for HashWriter {
        fn write(&mut self, bytes: &[u8]) -> std::io::Result<usize> {
            self.0.write(bytes);
            Ok(bytes.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut writer = HashWriter(std::hash::DefaultHasher::new());
    // Writing to a hasher cannot fail, and a `Value` always serializes.
    let _ = serde_json::to_writer(&mut writer, schema);
    writer.0.finish()
}

fn compile(schema: &Value) -> Result<Validator, Error> {
    jsonschema::validator_for(schema).map_err(|error| {
        let path = error.instance_path.as_str();
        Error::invalid_param(
            "response_format",
            format!(
                "response_format schema: invalid schema at #{path}: {}",
                truncate(&error.to_string())
            ),
        )
    })
}

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

fn validate_choice(validator: &Validator, text: &str, choice: Option<u32>) -> Result<(), Error> {
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
        let path = error.instance_path.as_str();
        let path = if path.is_empty() { "(root)" } else { path };
        let _ = write!(message, "{path}: {}", truncate(&error.to_string()));
    }
    Err(validation_error(choice, message).with_raw_response(text))
}

fn validation_error(choice: Option<u32>, detail: impl std::fmt::Display) -> Error {
    let message = match choice {
        Some(index) => format!("JSONSchemaValidationError: choice {index}: {detail}"),
        None => format!("JSONSchemaValidationError: {detail}"),
    };
    Error::new(ErrorKind::JsonSchemaValidation, message)
}

fn truncate(text: &str) -> std::borrow::Cow<'_, str> {
    match text.char_indices().nth(MAX_ERROR_CHARS) {
        Some((end, _)) => format!("{}…", &text[..end]).into(),
        None => text.into(),
    }
}

fn validate_completion(validator: &Validator, completion: &ChatCompletion) -> Result<(), Error> {
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

fn no_content(choice: Option<u32>, finish_reason: Option<&str>) -> Error {
    validation_error(
        choice,
        format!(
            "the reply has no content to validate (finish_reason: {})",
            finish_reason.unwrap_or("none")
        ),
    )
}

/// What a validated stream has seen of one choice.
#[derive(Debug)]
struct StreamedChoice {
    index: u32,
    content: String,
    tool_calls: bool,
    finish_reason: Option<String>,
}

/// Where a [`ValidatedStream`] is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Phase {
    /// Reading the inner stream.
    Streaming,
    /// Validated: sending the held chunks.
    Flushing,
    /// Ended.
    Done,
}

/// A chunk stream whose content is validated when it ends (rule 6 of the
/// [module docs](self)).
struct ValidatedStream {
    inner: ChunkStream,
    validator: Arc<Validator>,
    max_content: usize,
    content_bytes: usize,
    choices: Vec<StreamedChoice>,
    /// Chunks from the first `finish_reason` on.
    held: VecDeque<ChatCompletionChunk>,
    holding: bool,
    phase: Phase,
}

impl ValidatedStream {
    fn new(inner: ChunkStream, validator: Arc<Validator>, max_content: usize) -> Self {
        Self {
            inner,
            validator,
            max_content,
            content_bytes: 0,
            choices: Vec::new(),
            held: VecDeque::new(),
            holding: false,
            phase: Phase::Streaming,
        }
    }

    fn record(&mut self, chunk: &ChatCompletionChunk) -> Result<(), Error> {
        for choice in &chunk.choices {
            let position = match self.choices.iter().position(|c| c.index == choice.index) {
                Some(position) => position,
                None => {
                    self.choices.push(StreamedChoice {
                        index: choice.index,
                        content: String::new(),
                        tool_calls: false,
                        finish_reason: None,
                    });
                    self.choices.len() - 1
                }
            };
            let state = &mut self.choices[position];
            if let Some(text) = &choice.delta.content {
                self.content_bytes += text.len();
                if self.content_bytes > self.max_content {
                    return Err(validation_error(
                        None,
                        format!(
                            "the streamed reply is longer than {} bytes, the most that is \
                             validated",
                            self.max_content
                        ),
                    ));
                }
                state.content.push_str(text);
            }
            state.tool_calls |=
                choice.delta.tool_calls.is_some() || choice.delta.function_call.is_some();
            if choice.finish_reason.is_some() {
                state.finish_reason.clone_from(&choice.finish_reason);
            }
        }
        Ok(())
    }

    fn verdict(&self) -> Result<(), Error> {
        if self.choices.is_empty() {
            return Err(no_content(None, None));
        }
        let several = self.choices.len() > 1;
        for choice in &self.choices {
            let label = several.then_some(choice.index);
            if choice.content.is_empty() {
                if choice.tool_calls {
                    continue;
                }
                return Err(no_content(label, choice.finish_reason.as_deref()));
            }
            validate_choice(&self.validator, &choice.content, label)?;
        }
        Ok(())
    }

    fn fail(&mut self, error: Error) -> Poll<Option<Result<ChatCompletionChunk, Error>>> {
        self.phase = Phase::Done;
        self.held.clear();
        Poll::Ready(Some(Err(error)))
    }
}

impl Stream for ValidatedStream {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            match this.phase {
                Phase::Streaming => {}
                Phase::Flushing => {
                    return Poll::Ready(match this.held.pop_front() {
                        Some(chunk) => Some(Ok(chunk)),
                        None => {
                            this.phase = Phase::Done;
                            None
                        }
                    });
                }
                Phase::Done => return Poll::Ready(None),
            }
            match ready!(this.inner.as_mut().poll_next(cx)) {
                Some(Ok(chunk)) => {
                    if let Err(error) = this.record(&chunk) {
                        return this.fail(error);
                    }
                    this.holding |= chunk
                        .choices
                        .iter()
                        .any(|choice| choice.finish_reason.is_some());
                    if !this.holding {
                        return Poll::Ready(Some(Ok(chunk)));
                    }
                    this.held.push_back(chunk);
                }
                Some(Err(error)) => return this.fail(error),
                None => match this.verdict() {
                    Ok(()) => this.phase = Phase::Flushing,
                    Err(error) => return this.fail(error),
                },
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::chunk::{ChunkChoice, Delta};
    use futures_util::StreamExt;
    use serde_json::json;
    use tower::ServiceExt;

    fn chunk(content: Option<&str>, finish: Option<&str>) -> ChatCompletionChunk {
        ChatCompletionChunk {
            id: "c".to_owned(),
            object: "chat.completion.chunk".to_owned(),
            created: 1,
            model: "m".to_owned(),
            choices: vec![ChunkChoice {
                index: 0,
                delta: Delta {
                    content: content.map(str::to_owned),
                    ..Delta::default()
                },
                finish_reason: finish.map(str::to_owned),
                logprobs: None,
                provider_specific_fields: None,
            }],
            usage: None,
            vertex_ai_grounding_metadata: None,
            vertex_ai_url_context_metadata: None,
            vertex_ai_safety_results: None,
            vertex_ai_citation_metadata: None,
        }
    }

    fn validator(schema: Value) -> Arc<Validator> {
        Arc::new(jsonschema::validator_for(&schema).expect("schema compiles"))
    }

    async fn drain(stream: ValidatedStream) -> Vec<Result<ChatCompletionChunk, Error>> {
        stream.collect().await
    }

    #[tokio::test]
    async fn finish_chunks_are_held_until_the_content_validates() {
        let chunks = vec![
            Ok(chunk(Some("{\"a\":"), None)),
            Ok(chunk(Some("1}"), None)),
            Ok(chunk(None, Some("stop"))),
        ];
        let inner: ChunkStream = Box::pin(futures_util::stream::iter(chunks.clone()));
        let schema = json!({"type": "object", "required": ["a"]});
        let items = drain(ValidatedStream::new(inner, validator(schema.clone()), 1024)).await;
        let items: Vec<_> = items.into_iter().map(Result::unwrap).collect();
        let expected: Vec<_> = chunks.into_iter().map(Result::unwrap).collect();
        assert_eq!(items, expected);

        let bad = vec![
            Ok(chunk(Some("{\"b\":1}"), None)),
            Ok(chunk(None, Some("stop"))),
        ];
        let inner: ChunkStream = Box::pin(futures_util::stream::iter(bad));
        let items = drain(ValidatedStream::new(inner, validator(schema), 1024)).await;
        assert_eq!(items.len(), 2, "the content chunk, then the error");
        assert!(items[0].is_ok());
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(
            error.message(),
            "JSONSchemaValidationError: (root): \"a\" is a required property"
        );
        assert_eq!(error.raw_response(), Some("{\"b\":1}"));
    }

    #[tokio::test]
    async fn streamed_content_is_bounded() {
        let chunks = vec![
            Ok(chunk(Some("[1,2,3,"), None)),
            Ok(chunk(Some("4,5,6]"), None)),
            Ok(chunk(None, Some("stop"))),
        ];
        let inner: ChunkStream = Box::pin(futures_util::stream::iter(chunks));
        let items = drain(ValidatedStream::new(inner, validator(json!(true)), 10)).await;
        assert_eq!(items.len(), 2);
        let error = items[1].as_ref().unwrap_err();
        assert_eq!(error.kind(), ErrorKind::JsonSchemaValidation);
        assert!(error.message().contains("longer than 10 bytes"), "{error}");
    }

    #[tokio::test]
    async fn an_inner_error_passes_through() {
        let chunks = vec![
            Ok(chunk(Some("{"), None)),
            Err(Error::new(ErrorKind::ServiceUnavailable, "overloaded")),
        ];
        let inner: ChunkStream = Box::pin(futures_util::stream::iter(chunks));
        let items = drain(ValidatedStream::new(inner, validator(json!(true)), 1024)).await;
        assert_eq!(items.len(), 2);
        assert_eq!(
            items[1].as_ref().unwrap_err().kind(),
            ErrorKind::ServiceUnavailable
        );
    }

    #[test]
    fn cache_reuses_and_stays_bounded() {
        let cache = ValidatorCache::new(2);
        let a = cache.get_or_compile(&json!({"type": "string"})).unwrap();
        let again = cache.get_or_compile(&json!({"type": "string"})).unwrap();
        assert!(Arc::ptr_eq(&a, &again));
        cache.get_or_compile(&json!({"type": "number"})).unwrap();
        assert_eq!(cache.len(), 2);
        cache.get_or_compile(&json!({"type": "boolean"})).unwrap();
        assert_eq!(cache.len(), 1, "emptied when full, then refilled");
        let shared = cache.clone();
        shared.get_or_compile(&json!({"type": "null"})).unwrap();
        assert_eq!(cache.len(), 2, "clones share entries");
    }

    #[test]
    fn several_errors_are_listed_and_long_ones_cut() {
        let schema = json!({
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"},
                           "c": {"type": "string"}, "d": {"type": "string"}}
        });
        let validator = validator(schema);
        let error = validate_json(&validator, r#"{"a":1,"b":2,"c":3,"d":4}"#).unwrap_err();
        assert_eq!(error.message().matches(" is not of type ").count(), 3);
        assert!(error.message().ends_with("; and more"), "{error}");

        let long = format!("\"{}\"", "x".repeat(1000));
        let error = validate_json(&self::validator(json!({"type": "number"})), &long).unwrap_err();
        assert!(error.message().chars().count() < 400, "{error}");
    }

    #[tokio::test]
    async fn tool_call_choices_are_not_validated() {
        let completion: ChatCompletion = serde_json::from_value(json!({
            "id": "c", "object": "chat.completion", "created": 1, "model": "m",
            "choices": [{"index": 0, "finish_reason": "tool_calls", "message": {
                "role": "assistant", "content": null,
                "tool_calls": [{"id": "call_1", "type": "function",
                                "function": {"name": "f", "arguments": "{}"}}]
            }}]
        }))
        .unwrap();
        let inner = tower::service_fn(move |_: ChatRequest| {
            let completion = completion.clone();
            async move { Ok::<_, Error>(ChatResponse::Completion(completion)) }
        });
        let request: ChatRequest = serde_json::from_value(json!({
            "model": "m", "messages": [{"role": "user", "content": "Hi"}],
            "response_format": {"type": "json_object", "enforce_validation": true}
        }))
        .unwrap();
        let reply = SchemaValidation::new(inner).oneshot(request).await;
        assert!(matches!(reply, Ok(ChatResponse::Completion(_))));
    }
}
