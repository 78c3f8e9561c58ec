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
//!    clones of the layer, bounded in bytes ([`DEFAULT_CACHE_BYTES`] by default, an entry
//!    weighing 16 times its schema's JSON text); when full, the schemas asked for least go
//!    first, and a schema over [`DEFAULT_MAX_ENTRY_BYTES`] is compiled but never kept.
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

use std::task::{Context, Poll};

use serde_json::Value;
use tower_layer::Layer;
use tower_service::Service;

use crate::error::Error;
use crate::layers::refusable::Refusable;
use crate::openai::ChatRequest;
use crate::provider::ChatResponse;

mod cache;
mod check;
mod reply;
mod stream;
#[cfg(test)]
mod tests;

pub use cache::{DEFAULT_MAX_ENTRY_BYTES, ValidatorCache};
pub use check::validate_json;
use reply::Check;

/// How many bytes a [`ValidatorCache`]'s entries weigh together by default (each 16 times
/// its schema's JSON text): 16 MiB.
pub const DEFAULT_CACHE_BYTES: u64 = 16 * 1024 * 1024;

/// How much streamed content (bytes, all choices together) is accumulated for validation by
/// default: 8 MiB.
pub const DEFAULT_MAX_STREAM_CONTENT: usize = 8 * 1024 * 1024;

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
    /// A layer sharing the process's cache of [`DEFAULT_CACHE_BYTES`] of schemas, with a
    /// streamed content limit of [`DEFAULT_MAX_STREAM_CONTENT`].
    pub fn new() -> Self {
        Self {
            cache: ValidatorCache::shared(),
            max_stream_content: DEFAULT_MAX_STREAM_CONTENT,
        }
    }

    /// Uses `cache` instead of the process's.
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
            return Refusable::called(self.inner.call(request), Check::Off);
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
            Ok(validator) => Refusable::called(
                self.inner.call(request),
                Check::On {
                    validator,
                    max_stream_content: self.max_stream_content,
                },
            ),
            Err(error) => Refusable::refused(error),
        }
    }
}

/// Future of [`SchemaValidation`]: the request refused before the call (its schema did not
/// compile), or the inner service's future and the check of its reply.
pub type SchemaValidationFuture<F> = Refusable<F, Check>;
