//! [`ResponsesLayer`]: OpenAI's Responses API (`/v1/responses`) over any chat service.
//!
//! A request becomes one chat request ([`plan`]): `instructions` as a system message,
//! the stored conversation of `previous_response_id`, then the input items as messages.
//! The chat reply, whole (`reply.rs`) or streamed ([`StreamMapper`], [`ResponseEvents`]), becomes the
//! `response` object or its typed events. It is provider-agnostic: under the
//! [`ModelRouter`](crate::ModelRouter) it serves every chat provider, which still maps, refuses or
//! drops each param; Gemini's thought signatures ride where the chat reply carries them (in
//! the call ids, and in the reasoning item's `encrypted_content`).
//!
//! With `store` (OpenAI's default), the response, its input items and the conversation are
//! kept in a [`ResponseStore`] under the owner's namespace
//! ([`namespace`]) before the reply (or its `response.completed` event) is let out;
//! [`Responses::retrieve`], [`Responses::delete`] and [`Responses::input_items`] serve
//! `GET` and `DELETE /v1/responses/{id}` and `GET /v1/responses/{id}/input_items`.

mod events;
mod reference;
mod reply;
mod request;
mod state;
mod stream;

pub use self::events::ResponseEvents;
pub use self::request::{Plan, Show, plan};
pub use self::state::{DEFAULT_MAX_RECORD_BYTES, ItemsQuery, namespace};
pub use self::stream::StreamMapper;

use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use futures_core::Stream;
use tower::ServiceExt;
use tower_layer::Layer;
use tower_service::Service;

use self::events::Keep;
use self::state::{Records, StoredResponse, new_response_id};
use super::mismatch;
use crate::error::Error;
use crate::openai::ChatRequest;
use crate::openai::limits::RequestLimits;
use crate::openai::responses::{
    CreateResponse, DeletedResponse, InputItemList, Response, ResponseEvent,
};
use crate::provider::ChatResponse;
use crate::store::{MemoryResponseStore, ResponseStore};

/// A stream of Responses events; an `Err` item (only ever first) ends it.
pub type ResponseEventStream = Pin<Box<dyn Stream<Item = Result<ResponseEvent, Error>> + Send>>;

/// The reply of a Responses service: the `response` object, or its events for
/// `stream: true`.
pub enum ResponsesReply {
    /// The whole response.
    Response(Box<Response>),
    /// The events.
    Stream(ResponseEventStream),
}

impl std::fmt::Debug for ResponsesReply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Response(response) => f.debug_tuple("Response").field(response).finish(),
            Self::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// Serves the Responses API with a chat service.
///
/// ```
/// use std::sync::Arc;
/// use llm_tower::layers::responses::ResponsesLayer;
/// use llm_tower::store::MemoryResponseStore;
/// use llm_tower::{ChatResponse, ChatService, Error};
/// use tower::Layer;
///
/// let chat = ChatService::new(tower::service_fn(|_| async {
///     Err::<ChatResponse, _>(Error::invalid_request("offline"))
/// }));
/// let responses = ResponsesLayer::new()
///     .store(Arc::new(MemoryResponseStore::default()))
///     .owner("sk-master-key")
///     .layer(chat);
/// # let _ = responses;
/// ```
#[derive(Clone)]
pub struct ResponsesLayer {
    store: Arc<dyn ResponseStore>,
    namespace: String,
    max_record_bytes: usize,
    limits: RequestLimits,
    drop_params: bool,
}

impl std::fmt::Debug for ResponsesLayer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ResponsesLayer").finish_non_exhaustive()
    }
}

impl Default for ResponsesLayer {
    fn default() -> Self {
        Self::new()
    }
}

impl ResponsesLayer {
    /// With a [`MemoryResponseStore::default`] and the namespace of no key.
    pub fn new() -> Self {
        Self {
            store: Arc::new(MemoryResponseStore::default()),
            namespace: namespace(""),
            max_record_bytes: DEFAULT_MAX_RECORD_BYTES,
            limits: RequestLimits::default(),
            drop_params: false,
        }
    }

    /// Drops what cannot be served (unsupported item, tool and `include` types,
    /// `truncation: "auto"`, unknown params) instead of refusing it, for requests that do
    /// not say `drop_params` themselves.
    pub fn drop_params(mut self, drop: bool) -> Self {
        self.drop_params = drop;
        self
    }

    /// Keeps responses in `store`.
    pub fn store(mut self, store: Arc<dyn ResponseStore>) -> Self {
        self.store = store;
        self
    }

    /// Stores a response only while its record (the response, its input items and the
    /// conversation so far, as JSON) is at most `bytes` long ([`DEFAULT_MAX_RECORD_BYTES`]
    /// unless set); a longer one is answered but not stored (and logged), so it cannot be
    /// continued.
    pub fn max_record_bytes(mut self, bytes: usize) -> Self {
        self.max_record_bytes = bytes;
        self
    }

    /// Applies `limits` (messages, content parts, tools) to the conversation a request
    /// becomes: the stored turns of `previous_response_id` with the request's input. Past
    /// a limit the request is a 400 naming `previous_response_id`, before any upstream
    /// call. Default [`RequestLimits::default`], the edge's own.
    ///
    /// ```
    /// use llm_tower::edge::RequestLimits;
    /// use llm_tower::layers::responses::ResponsesLayer;
    ///
    /// let mut limits = RequestLimits::default();
    /// limits.max_messages = 1_000;
    /// let layer = ResponsesLayer::new().limits(limits);
    /// # let _ = layer;
    /// ```
    pub fn limits(mut self, limits: RequestLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Keeps responses under the namespace of `key` (a hash of it): only a service built
    /// with the same key reads them.
    pub fn owner(mut self, key: &str) -> Self {
        self.namespace = namespace(key);
        self
    }
}

impl<S> Layer<S> for ResponsesLayer {
    type Service = Responses<S>;

    fn layer(&self, inner: S) -> Self::Service {
        Responses {
            inner,
            records: Records::new(
                self.store.clone(),
                self.namespace.clone(),
                self.max_record_bytes,
            ),
            limits: self.limits,
            drop_params: self.drop_params,
        }
    }
}

/// The service of [`ResponsesLayer`].
#[derive(Clone, Debug)]
pub struct Responses<S> {
    inner: S,
    records: Records,
    limits: RequestLimits,
    drop_params: bool,
}

impl<S> Responses<S> {
    /// Wraps `inner`, a chat service, with the default layer.
    pub fn new(inner: S) -> Self {
        ResponsesLayer::new().layer(inner)
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

    /// `GET /v1/responses/{id}`: a stored response.
    pub async fn retrieve(&self, id: &str) -> Result<Response, Error> {
        let record = self
            .records
            .load(id)
            .await
            .ok_or_else(|| state::not_found(id))?;
        Ok(record.response)
    }

    /// `DELETE /v1/responses/{id}`.
    pub async fn delete(&self, id: &str) -> Result<DeletedResponse, Error> {
        if !self.records.remove(id).await {
            return Err(state::not_found(id));
        }
        Ok(DeletedResponse {
            id: id.to_owned(),
            object: "response".to_owned(),
            deleted: true,
        })
    }

    /// `GET /v1/responses/{id}/input_items`: a page of a stored response's input items.
    pub async fn input_items(&self, id: &str, query: &ItemsQuery) -> Result<InputItemList, Error> {
        let record = self
            .records
            .load(id)
            .await
            .ok_or_else(|| state::not_found(id))?;
        Ok(query.page(record.input_items))
    }
}

impl<S> Service<CreateResponse> for Responses<S>
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    type Response = ResponsesReply;
    type Error = Error;
    type Future = ResponsesFuture;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // The chat call is made on a clone, made ready when the stored turns are loaded.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: CreateResponse) -> ResponsesFuture {
        if self.drop_params {
            request.drop_params.get_or_insert(true);
        }
        let inner = self.inner.clone();
        let records = self.records.clone();
        ResponsesFuture {
            inner: Box::pin(respond(inner, records, self.limits, request)),
        }
    }
}

/// Future of [`Responses`]: the stored turns are read, the chat service called, and the
/// response stored, in turn.
pub struct ResponsesFuture {
    inner: Pin<Box<dyn Future<Output = Result<ResponsesReply, Error>> + Send>>,
}

impl std::fmt::Debug for ResponsesFuture {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ResponsesFuture")
    }
}

impl Future for ResponsesFuture {
    type Output = Result<ResponsesReply, Error>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        self.inner.as_mut().poll(cx)
    }
}

async fn respond<S>(
    inner: S,
    records: Records,
    limits: RequestLimits,
    mut request: CreateResponse,
) -> Result<ResponsesReply, Error>
where
    S: Service<ChatRequest, Response = ChatResponse, Error = Error> + Clone + Send + 'static,
    S::Future: Send,
{
    reference::resolve(&records, &mut request.input).await?;
    let created_at = crate::unix_time::seconds();
    let plan = plan(request, new_response_id()?, created_at)?;
    let conversation = match &plan.response.previous_response_id {
        Some(previous) => records.load_previous(previous).await?.conversation,
        None => Vec::new(),
    };
    let chat = plan.chat(&conversation);
    if !conversation.is_empty() {
        limits.check_continued(&chat)?;
    }
    let streamed = chat.is_stream();
    let reply = inner.oneshot(chat).await?;
    let keep = plan.response.store;
    let mut conversation = conversation;
    conversation.extend(plan.turn);
    match reply {
        ChatResponse::Completion(completion) if !streamed => {
            let (response, message) = reply::complete(plan.response, completion, plan.show);
            if keep {
                conversation.push(message);
                let record = StoredResponse {
                    response,
                    input_items: plan.items,
                    conversation,
                };
                records.save(&record).await;
                return Ok(ResponsesReply::Response(Box::new(record.response)));
            }
            Ok(ResponsesReply::Response(Box::new(response)))
        }
        ChatResponse::Stream(chunks) if streamed => {
            let keep = keep.then(|| Keep {
                records,
                conversation,
                input_items: plan.items,
            });
            let mapper = StreamMapper::new(plan.response, plan.show);
            Ok(ResponsesReply::Stream(Box::pin(ResponseEvents::new(
                chunks, mapper, keep,
            ))))
        }
        ChatResponse::Stream(_) => Err(mismatch("a stream", "a whole completion")),
        ChatResponse::Completion(_) => Err(mismatch("a whole completion", "a stream")),
    }
}
