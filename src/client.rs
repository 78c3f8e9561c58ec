//! [`Client`]: a plain Rust façade over any chat service stack.

use tower::ServiceExt;

use crate::error::{Error, ErrorKind};
use crate::openai::{ChatCompletion, ChatRequest};
use crate::provider::{ChatResponse, ChatService, ChunkStream};

/// Calls a chat service from Rust code.
///
/// ```no_run
/// use llm_tower::{Client, gemini::Gemini, openai::{ChatRequest, Message, Role}};
///
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let client = Client::new(Gemini::builder().build()?.chat_service());
/// let request = ChatRequest {
///     model: "gemini-2.5-flash".into(),
///     messages: vec![Message::text(Role::User, "Hi")],
///     ..ChatRequest::default()
/// };
/// let completion = client.chat(request).await?;
/// println!("{:?}", completion.choices[0].message.content);
/// # Ok(()) }
/// ```
#[derive(Clone)]
pub struct Client {
    service: ChatService,
}

impl Client {
    /// Wraps a chat service (a provider's, or a [`crate::Router`] boxed as one).
    pub fn new(service: ChatService) -> Self {
        Self { service }
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
