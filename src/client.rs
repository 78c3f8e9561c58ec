//! [`Client`]: a plain Rust façade over a chat service stack (and, optionally, an
//! embeddings one).

use tower::ServiceExt;

use crate::error::{Error, ErrorKind};
use crate::layers::completions::Completions;
use crate::openai::{
    ChatCompletion, ChatRequest, CompletionRequest, EmbeddingRequest, EmbeddingResponse,
    TextCompletion,
};
use crate::provider::{
    ChatResponse, ChatService, ChunkStream, CompletionResponse, EmbeddingService, Provider,
    TextChunkStream,
};

/// Calls a chat service from Rust code.
///
/// ```no_run
/// use llm_tower::{Client, gemini::Gemini, openai::{ChatRequest, Message, Role}};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::new(Gemini::builder().build()?.chat_service());
/// let request = ChatRequest::new("gemini-2.5-flash", vec![Message::text(Role::User, "Hi")]);
/// let completion = client.chat(request).await?;
/// println!("{:?}", completion.choices[0].message.content);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    service: ChatService,
    embeddings: Option<EmbeddingService>,
}

impl Client {
    /// Wraps a chat service (a provider's, or a [`crate::ModelRouter`] boxed as one).
    pub fn new(service: ChatService) -> Self {
        Self {
            service,
            embeddings: None,
        }
    }

    /// A provider's chat service, and its embeddings service if it has one.
    pub fn from_provider(provider: &dyn Provider) -> Self {
        Self {
            service: provider.chat_service(),
            embeddings: provider.embedding_service(),
        }
    }

    /// Serves [`embed`](Self::embed) with `service`.
    pub fn with_embeddings(mut self, service: EmbeddingService) -> Self {
        self.embeddings = Some(service);
        self
    }

    /// A legacy text completion (`stream` is forced off), served by the chat service.
    pub async fn complete(&self, mut request: CompletionRequest) -> Result<TextCompletion, Error> {
        request.stream = None;
        request.stream_options = None;
        match Completions::new(self.service.clone())
            .oneshot(request)
            .await?
        {
            CompletionResponse::Completion(completion) => Ok(completion),
            CompletionResponse::Stream(_) => Err(Error::new(
                ErrorKind::Api,
                "the service streamed a reply to a non-streaming request",
            )),
        }
    }

    /// A streamed legacy text completion (`stream` is forced on).
    pub async fn complete_stream(
        &self,
        mut request: CompletionRequest,
    ) -> Result<TextChunkStream, Error> {
        request.stream = Some(true);
        match Completions::new(self.service.clone())
            .oneshot(request)
            .await?
        {
            CompletionResponse::Stream(stream) => Ok(stream),
            CompletionResponse::Completion(_) => Err(Error::new(
                ErrorKind::Api,
                "the service answered a streaming request with a whole completion",
            )),
        }
    }

    /// Embeds text.
    ///
    /// ```no_run
    /// use llm_tower::{Client, gemini::Gemini, openai::EmbeddingRequest};
    ///
    /// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
    /// let client = Client::from_provider(&Gemini::builder().build()?);
    /// let reply = client
    ///     .embed(EmbeddingRequest::new("gemini-embedding-001", "What is Rust?"))
    ///     .await?;
    /// println!("{} vectors", reply.data.len());
    /// # Ok(()) }
    /// ```
    pub async fn embed(&self, request: EmbeddingRequest) -> Result<EmbeddingResponse, Error> {
        let service = self
            .embeddings
            .clone()
            .ok_or_else(|| Error::invalid_request("this client has no embeddings service"))?;
        service.oneshot(request).await
    }

    /// A non-streaming completion (`stream` is forced off).
    pub async fn chat(&self, mut request: ChatRequest) -> Result<ChatCompletion, Error> {
        request.stream = None;
        request.stream_options = None;
        match self.service.clone().oneshot(request).await? {
            ChatResponse::Completion(completion) => Ok(completion),
            ChatResponse::Stream(_) => Err(Error::new(
                ErrorKind::Api,
                "the service streamed a reply to a non-streaming request",
            )),
        }
    }

    /// A streamed completion (`stream` is forced on).
    pub async fn chat_stream(&self, mut request: ChatRequest) -> Result<ChunkStream, Error> {
        request.stream = Some(true);
        match self.service.clone().oneshot(request).await? {
            ChatResponse::Stream(stream) => Ok(stream),
            ChatResponse::Completion(_) => Err(Error::new(
                ErrorKind::Api,
                "the service answered a streaming request with a whole completion",
            )),
        }
    }
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client").finish_non_exhaustive()
    }
}
