//! [`ParamMapLayer`]: the OpenAI ⇄ Gemini boundary. It maps a [`ChatRequest`] to a Gemini
//! [`Call`] and the [`Reply`] back to a [`ChatResponse`], streaming or not, by calling the
//! pure functions in [`super::translate`]. It does no I/O itself. Replies get their cost
//! (`usage.cost`) from the model's price ([`super::pricing`]).
//!
//! A request whose context holds [`CountTokens`] is counted instead: the translated
//! request goes to `models/{model}:countTokens` (never through a context cache), and the
//! answer is a completion with no choices whose `usage.prompt_tokens` is Google's
//! `totalTokens`.

use std::collections::VecDeque;
use std::pin::Pin;
use std::sync::{Arc, LazyLock};
use std::task::{Context, Poll, ready};

use futures_core::Stream;
use tower_layer::Layer;
use tower_service::Service;

use super::call::{CacheWrite, Call, EventStream, Method, Reply, context_key};
use super::error::{Error as GeminiError, InvalidCall};
use super::facts::WarnedIds;
use super::pricing::{bundled, price_usage};
use super::translate::stream::StreamTranslator;
use super::translate::{
    IdSource, RandomIds, ReplyContext, ToolSchemaCache, TranslateOptions, translate_request_cached,
    translate_response,
};
use super::wire::{CachedContentRequest, CountTokensRequest, GenerateContentRequest};
use crate::context::{RequestContext, ResponseNotes};
use crate::error::Error;
use crate::layers::refusable::{OnReply, Refusable};
use crate::openai::{ChatCompletion, ChatCompletionChunk, ChatRequest, Usage};
use crate::pricing::ModelPrice;
use crate::provider::{ChatResponse, CountTokens};

/// Maps OpenAI requests to Gemini calls and replies back.
///
/// ```
/// use llm_tower::gemini::ParamMapLayer;
/// use llm_tower::gemini::translate::TranslateOptions;
/// let _layer = ParamMapLayer::new(TranslateOptions { drop_params: true, ..Default::default() });
/// ```
#[derive(Clone)]
pub struct ParamMapLayer {
    options: TranslateOptions,
    ids: Arc<dyn IdSource>,
    schemas: Arc<ToolSchemaCache>,
    price: Option<ModelPrice>,
}

impl ParamMapLayer {
    /// With random ids and the system clock.
    pub fn new(options: TranslateOptions) -> Self {
        Self {
            options,
            ids: Arc::new(RandomIds),
            schemas: ToolSchemaCache::shared(),
            price: None,
        }
    }

    /// Uses `ids` for tool-call ids, completion ids and timestamps.
    pub fn with_ids(mut self, ids: Arc<dyn IdSource>) -> Self {
        self.ids = ids;
        self
    }

    /// Prices every reply at `price` instead of the bundled table's price of its model (a
    /// deployment's own price: LiteLLM's `input_cost_per_token`, … in its config).
    pub fn with_price(mut self, price: ModelPrice) -> Self {
        self.price = Some(price);
        self
    }

    /// Uses its own cache of converted tool schemas (by default, layers share the
    /// process's: 32 MiB in all).
    pub fn with_schema_cache(mut self, schemas: Arc<ToolSchemaCache>) -> Self {
        self.schemas = schemas;
        self
    }
}

impl std::fmt::Debug for ParamMapLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ParamMapLayer")
            .field("options", &self.options)
            .finish_non_exhaustive()
    }
}

impl<S> Layer<S> for ParamMapLayer {
    type Service = ParamMap<S>;

    fn layer(&self, inner: S) -> Self::Service {
        ParamMap {
            inner,
            options: self.options,
            ids: self.ids.clone(),
            schemas: self.schemas.clone(),
            price: self.price,
        }
    }
}

/// The service of [`ParamMapLayer`].
#[derive(Clone)]
pub struct ParamMap<S> {
    inner: S,
    options: TranslateOptions,
    ids: Arc<dyn IdSource>,
    schemas: Arc<ToolSchemaCache>,
    price: Option<ModelPrice>,
}

impl<S> ParamMap<S> {
    /// Wraps `inner`, a Gemini-level service.
    pub fn new(inner: S, options: TranslateOptions) -> Self {
        ParamMapLayer::new(options).layer(inner)
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

impl<S> Service<ChatRequest> for ParamMap<S>
where
    S: Service<Call, Response = Reply, Error = GeminiError>,
{
    type Response = ChatResponse;
    type Error = Error;
    type Future = ParamMapFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx).map_err(Error::from)
    }

    fn call(&mut self, mut request: ChatRequest) -> Self::Future {
        let mut context = std::mem::take(&mut request.context);
        let mut translated = match translate_request_cached(request, self.options, &self.schemas) {
            Ok(translated) => translated,
            Err(error) => return Refusable::refused(error),
        };
        if let Err(error) = context_key(
            &mut translated.options,
            &mut context,
            self.options.client_credentials,
        ) {
            return Refusable::refused(error);
        }
        if !translated.dropped_tools.is_empty() {
            note_dropped_tools(&translated.model, &translated.dropped_tools, &context);
        }
        let counting = context.get::<CountTokens>().is_some();
        let method = if counting {
            translated.cache = None;
            Method::CountTokens(count_request(&translated.model, translated.body))
        } else if translated.stream {
            Method::StreamGenerate(translated.body)
        } else {
            Method::Generate(translated.body)
        };
        let call = Call {
            model: translated.model.clone(),
            method,
            options: translated.options,
            cache: translated.cache,
            context,
        };
        Refusable::called(
            self.inner.call(call),
            ReplyState {
                price: self
                    .price
                    .or_else(|| bundled().get(&translated.model).copied()),
                model: translated.model,
                legacy_functions: translated.legacy_functions,
                include_usage: translated.include_usage,
                ids: self.ids.clone(),
            },
        )
    }
}

/// The `countTokens` body of a translated request: what Google counts (its instructions,
/// turns, tools and tool config; sampling options do not change the count).
fn count_request(model: &str, body: GenerateContentRequest) -> CountTokensRequest {
    CountTokensRequest {
        generate_content_request: CachedContentRequest {
            model: format!("models/{model}"),
            display_name: None,
            system_instruction: body.system_instruction,
            contents: body.contents,
            tools: body.tools,
            tool_config: body.tool_config,
            ttl: None,
        },
    }
}

/// What the reply translation needs, kept while the call is in flight (public only to name
/// [`ParamMapFuture`]).
pub struct ReplyState {
    model: String,
    price: Option<ModelPrice>,
    legacy_functions: bool,
    include_usage: bool,
    ids: Arc<dyn IdSource>,
}

impl ReplyState {
    fn context(&self) -> ReplyContext<'_> {
        ReplyContext {
            model: &self.model,
            legacy_functions: self.legacy_functions,
        }
    }

    fn into_response(self, reply: Reply) -> Result<ChatResponse, Error> {
        let (reply, write) = match reply {
            Reply::CacheWritten { reply, write } => (*reply, Some(write)),
            reply => (reply, None),
        };
        match reply {
            Reply::Generate(reply) => {
                let mut completion = translate_response(reply, self.context(), self.ids.as_ref())?;
                if let Some(usage) = &mut completion.usage {
                    if let Some(write) = write {
                        usage.add_cache_write(write.tokens);
                    }
                    price_usage(usage, self.price.as_ref(), write);
                }
                Ok(ChatResponse::Completion(completion))
            }
            Reply::Stream(events) => {
                let translator = StreamTranslator::new(self.context(), self.include_usage);
                Ok(ChatResponse::Stream(Box::pin(ChatChunks {
                    events,
                    translator,
                    ids: self.ids,
                    price: self.price,
                    write,
                    pending: VecDeque::new(),
                    done: false,
                })))
            }
            Reply::EventBody(_) => Err(Error::from(GeminiError::InvalidCall(
                InvalidCall::Undecoded("ParamMap"),
            ))),
            Reply::TokenCount(count) => Ok(ChatResponse::Completion(ChatCompletion {
                id: self.ids.completion_id(),
                object: "chat.completion".to_owned(),
                created: self.ids.created(),
                model: self.model,
                choices: Vec::new(),
                usage: Some(Usage::new(count.total_tokens, 0)),
                vertex_ai_grounding_metadata: None,
                vertex_ai_url_context_metadata: None,
                vertex_ai_safety_results: None,
                vertex_ai_citation_metadata: None,
            })),
            Reply::Embeddings(_)
            | Reply::CachedContent(_)
            | Reply::CachedContents(_)
            | Reply::CacheWritten { .. } => Err(Error::from(GeminiError::InvalidCall(
                InvalidCall::OtherReply("a chat call"),
            ))),
        }
    }
}

impl OnReply<Result<Reply, GeminiError>> for ReplyState {
    type Response = ChatResponse;
    type Error = Error;

    fn on_reply(self, reply: Result<Reply, GeminiError>) -> Result<ChatResponse, Error> {
        self.into_response(reply?)
    }
}

/// Future of [`ParamMap`]: the request refused before the call (it could not be
/// translated), or the Gemini call and its reply's translation.
pub type ParamMapFuture<F> = Refusable<F, ReplyState>;

/// Gemini events → OpenAI chunks, as a stream. It polls the events only when polled
/// itself (a slow consumer slows the upstream read), holds the chunks of at most one
/// event, and dropping it drops the upstream body (cancellation).
struct ChatChunks {
    events: EventStream,
    translator: StreamTranslator,
    ids: Arc<dyn IdSource>,
    price: Option<ModelPrice>,
    /// The context cache the call created, reported in the usage chunk.
    write: Option<CacheWrite>,
    pending: VecDeque<ChatCompletionChunk>,
    done: bool,
}

impl ChatChunks {
    /// Marks the stream done and drops the upstream body at once: its connection is
    /// released even if the consumer keeps the chunk stream around.
    fn end(&mut self) {
        self.done = true;
        self.events = Box::pin(futures_util::stream::empty());
    }
}

impl Stream for ChatChunks {
    type Item = Result<ChatCompletionChunk, Error>;

    fn poll_next(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = &mut *self;
        loop {
            if let Some(chunk) = this.pending.pop_front() {
                return Poll::Ready(Some(Ok(chunk)));
            }
            if this.done {
                return Poll::Ready(None);
            }
            match ready!(this.events.as_mut().poll_next(cx)) {
                Some(Ok(event)) => {
                    let chunks = this.translator.event(event, this.ids.as_ref());
                    this.pending.extend(chunks);
                }
                Some(Err(error)) => {
                    this.end();
                    return Poll::Ready(Some(Err(error.into())));
                }
                None => {
                    this.end();
                    let mut chunks = this.translator.finish(this.ids.as_ref());
                    for usage in chunks.iter_mut().filter_map(|chunk| chunk.usage.as_mut()) {
                        if let Some(write) = this.write {
                            usage.add_cache_write(write.tokens);
                        }
                        price_usage(usage, this.price.as_ref(), this.write);
                    }
                    this.pending.extend(chunks);
                }
            }
        }
    }
}

/// The header naming the built-in tools a request's model could not take beside its
/// function declarations (comma-separated Gemini names, `googleSearch,urlContext`).
pub const DROPPED_TOOLS_HEADER: http::HeaderName =
    http::HeaderName::from_static("x-llm-tower-dropped-tools");

/// The models whose dropped built-in tools were warned about.
static DROPPED_WARNED: LazyLock<WarnedIds> = LazyLock::new(WarnedIds::default);

/// Logs the built-in tools left out of a request (a warning the first time for a model,
/// then at debug level) and names them in the answer's [`DROPPED_TOOLS_HEADER`] (when the
/// request came through an edge).
fn note_dropped_tools(model: &str, dropped: &[String], context: &RequestContext) {
    let names = dropped.join(",");
    const DROPPED: &str =
        "built-in tools dropped: this model does not take them beside function declarations";
    if DROPPED_WARNED.first(model) {
        tracing::warn!(model, dropped = names, "{DROPPED}");
    } else {
        tracing::debug!(model, dropped = names, "{DROPPED}");
    }
    if let (Some(notes), Ok(value)) = (
        context.get::<ResponseNotes>(),
        http::HeaderValue::try_from(names),
    ) {
        notes.add(DROPPED_TOOLS_HEADER, value);
    }
}
