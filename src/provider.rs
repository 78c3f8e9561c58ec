//! The OpenAI-level service types (chat, legacy completions, embeddings) and the
//! [`Provider`] trait that lets users register their own backends beside Gemini.

use std::pin::Pin;

use futures_core::Stream;
use tower::util::BoxCloneSyncService;

use crate::error::Error;
use crate::openai::{
    ChatCompletion, ChatCompletionChunk, ChatRequest, CompletionRequest, EmbeddingRequest,
    EmbeddingResponse, TextCompletion,
};

/// A stream of chunks; an `Err` item ends it.
pub type ChunkStream = Pin<Box<dyn Stream<Item = Result<ChatCompletionChunk, Error>> + Send>>;

/// The reply of a chat service: a whole completion, or a stream for `stream: true`.
#[expect(
    clippy::large_enum_variant,
    reason = "moved once from provider to edge; boxing would cost an allocation per reply"
)]
pub enum ChatResponse {
    /// `chat.completion`.
    Completion(ChatCompletion),
    /// `chat.completion.chunk`s.
    Stream(ChunkStream),
}

impl std::fmt::Debug for ChatResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Completion(completion) => f.debug_tuple("Completion").field(completion).finish(),
            Self::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// The unboxed services a provider builder's `build_service` assembles (the Gemini one's
/// [`GeminiBuilder::build_service`](crate::gemini::GeminiBuilder::build_service), the
/// OpenAI-compatible one's
/// [`OpenAiCompatibleBuilder::build_service`](crate::providers::openai_compatible::OpenAiCompatibleBuilder::build_service)):
/// named types, for users who stack more around them or want no boxing.
#[derive(Clone, Debug)]
#[non_exhaustive]
pub struct Services<C, E> {
    /// The chat service (`Service<ChatRequest>`).
    pub chat: C,
    /// The embeddings service (`Service<EmbeddingRequest>`).
    pub embeddings: E,
}

/// A boxed chat service: what a provider hands the router and the edge.
pub type ChatService = BoxCloneSyncService<ChatRequest, ChatResponse, Error>;

/// A stream of `text_completion` chunks; an `Err` item ends it.
pub type TextChunkStream = Pin<Box<dyn Stream<Item = Result<TextCompletion, Error>> + Send>>;

/// The reply of a legacy completions service: whole, or a stream for `stream: true`.
#[expect(
    clippy::large_enum_variant,
    reason = "moved once from provider to edge; boxing would cost an allocation per reply"
)]
pub enum CompletionResponse {
    /// A `text_completion`.
    Completion(TextCompletion),
    /// `text_completion` chunks.
    Stream(TextChunkStream),
}

impl std::fmt::Debug for CompletionResponse {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Completion(completion) => f.debug_tuple("Completion").field(completion).finish(),
            Self::Stream(_) => f.write_str("Stream(..)"),
        }
    }
}

/// A boxed legacy completions service (see [`crate::layers::completions`]).
pub type CompletionService = BoxCloneSyncService<CompletionRequest, CompletionResponse, Error>;

/// A boxed embeddings service.
pub type EmbeddingService = BoxCloneSyncService<EmbeddingRequest, EmbeddingResponse, Error>;

/// A backend that serves chat requests (and, if it can, embeddings) for models under one
/// prefix (`gemini/…`).
///
/// Implement it to route your own upstream beside Gemini; see
/// `examples/custom_provider.rs`.
///
/// ```
/// use llm_tower::{ChatResponse, ChatService, Error, Provider};
/// use llm_tower::openai::ChatRequest;
/// use tower::service_fn;
///
/// struct Echo;
/// impl Provider for Echo {
///     fn chat_service(&self) -> ChatService {
///         ChatService::new(service_fn(|request: ChatRequest| async move {
///             Err::<ChatResponse, _>(Error::invalid_request(format!("echo: {}", request.model)))
///         }))
///     }
/// }
/// # let _ = Echo.chat_service();
/// ```
pub trait Provider: Send + Sync + 'static {
    /// The chat service; `request.model` reaches it without the provider prefix.
    fn chat_service(&self) -> ChatService;

    /// The embeddings service, if the provider has one (the default: none, and
    /// `/v1/embeddings` answers that the model does not serve embeddings).
    fn embedding_service(&self) -> Option<EmbeddingService> {
        None
    }
}

/// A request-context extension asking a chat service for the request's input token count
/// instead of a reply (what `POST /v1/messages/count_tokens` needs).
///
/// A provider that can count without generating (Gemini: `countTokens`) answers a
/// completion with no choices whose `usage.prompt_tokens` is the count. A provider that
/// does not know this extension answers the request as usual; its `usage.prompt_tokens`
/// is then the count (the caller caps `max_tokens` at 1 to bound what that costs).
///
/// ```
/// use llm_tower::openai::ChatRequest;
/// use llm_tower::provider::CountTokens;
///
/// let mut request = ChatRequest::default();
/// request.context.insert(CountTokens);
/// assert!(request.context.get::<CountTokens>().is_some());
/// ```
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountTokens;
