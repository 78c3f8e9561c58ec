//! The provider-level request and reply: one Gemini REST call and what it returned.

use std::pin::Pin;
use std::time::Duration;

use futures_core::Stream;

use super::error::Error;
use super::translate::request::{CachePlan, CallOptions};
use super::wire::{
    BatchEmbedContentsRequest, BatchEmbedContentsResponse, CachedContent, CachedContentRequest,
    CachedContentUpdate, CountTokensRequest, CountTokensResponse, GenerateContentRequest,
    GenerateContentResponse, ListCachedContentsResponse,
};
use crate::context::RequestContext;
use crate::credentials::request_key;
use crate::upstream::UpstreamBody;

/// Typed events of a streamed reply.
pub type EventStream = Pin<Box<dyn Stream<Item = Result<GenerateContentResponse, Error>> + Send>>;

/// One Gemini call.
///
/// ```
/// use llm_tower::gemini::{Call, Method};
/// use llm_tower::gemini::wire::GenerateContentRequest;
///
/// let call = Call::new("gemini-2.5-flash", Method::Generate(GenerateContentRequest::default()));
/// assert_eq!(call.path(), "models/gemini-2.5-flash:generateContent");
/// ```
#[derive(Debug, Clone, PartialEq)]
pub struct Call {
    /// Bare model id.
    pub model: String,
    /// What to call.
    pub method: Method,
    /// Per-call key and base URL.
    pub options: CallOptions,
    /// The head of the conversation to keep in a context cache, if the request marked one
    /// (see [`ContextCacheLayer`](super::ContextCacheLayer)).
    pub cache: Option<CachePlan>,
    /// The extensions of the client's request; they become the upstream HTTP request's
    /// extensions, for the layers at the HTTP level (a [`Deadline`](crate::Deadline) for the
    /// retry). A [`Secret`](crate::Secret) among them is not sent: the key of a call is
    /// [`CallOptions::api_key`].
    pub context: RequestContext,
}

/// Settles the call's key by the rule every provider shares
/// ([`request_key`](crate::credentials::request_key)): the body's own, else a
/// [`Secret`](crate::Secret) the application put among the request's extensions (refused when
/// `client_credentials` is off). The key never travels on as an extension.
pub(crate) fn context_key(
    options: &mut CallOptions,
    context: &mut RequestContext,
    client_credentials: bool,
) -> Result<(), crate::Error> {
    options.api_key = request_key(options.api_key.take(), context, client_credentials)?;
    Ok(())
}

/// A context cache the call created on its way: what the reply's usage and cost report
/// beside the call's own tokens.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CacheWrite {
    /// Tokens written into the cache (the created entry's `usageMetadata.totalTokenCount`).
    pub tokens: u64,
    /// How long the entry lives.
    pub ttl: Duration,
}

/// The REST method of a [`Call`].
#[derive(Debug, Clone, PartialEq)]
pub enum Method {
    /// `models/{model}:generateContent`.
    Generate(GenerateContentRequest),
    /// `models/{model}:streamGenerateContent?alt=sse`.
    StreamGenerate(GenerateContentRequest),
    /// `models/{model}:batchEmbedContents`.
    BatchEmbed(BatchEmbedContentsRequest),
    /// `cachedContents` (create).
    CreateCachedContent(CachedContentRequest),
    /// `GET cachedContents?pageSize=1000`, from the page `page_token` names.
    ListCachedContents {
        /// The previous page's `nextPageToken`; `None` for the first page.
        page_token: Option<String>,
    },
    /// `PATCH cachedContents/{id}?updateMask=ttl`.
    UpdateCachedContent(CachedContentUpdate),
    /// `models/{model}:countTokens`.
    CountTokens(CountTokensRequest),
}

impl Call {
    /// A call with default options.
    pub fn new(model: impl Into<String>, method: Method) -> Self {
        Self {
            model: model.into(),
            method,
            options: CallOptions::default(),
            cache: None,
            context: RequestContext::default(),
        }
    }

    /// The path relative to the base URL, query included.
    pub fn path(&self) -> String {
        match self.method {
            Method::Generate(_) => format!("models/{}:generateContent", self.model),
            Method::StreamGenerate(_) => {
                format!("models/{}:streamGenerateContent?alt=sse", self.model)
            }
            Method::BatchEmbed(_) => format!("models/{}:batchEmbedContents", self.model),
            Method::CreateCachedContent(_) => "cachedContents".to_owned(),
            Method::ListCachedContents { ref page_token } => match page_token {
                Some(token) => format!(
                    "cachedContents?pageSize=1000&pageToken={}",
                    percent_encoding::utf8_percent_encode(
                        token,
                        percent_encoding::NON_ALPHANUMERIC
                    )
                ),
                None => "cachedContents?pageSize=1000".to_owned(),
            },
            Method::UpdateCachedContent(ref update) => format!("{}?updateMask=ttl", update.name),
            Method::CountTokens(_) => format!("models/{}:countTokens", self.model),
        }
    }
}

/// What a [`Call`] returned.
pub enum Reply {
    /// A `generateContent` reply.
    Generate(GenerateContentResponse),
    /// A `text/event-stream` body not yet decoded (between the HTTP service and the SSE adapter).
    EventBody(UpstreamBody),
    /// Decoded stream events.
    Stream(EventStream),
    /// A `batchEmbedContents` reply.
    Embeddings(BatchEmbedContentsResponse),
    /// A created or updated `CachedContent`.
    CachedContent(CachedContent),
    /// The reply of a call that created a context cache first (see [`ContextCacheLayer`](super::ContextCacheLayer)).
    CacheWritten {
        /// The call's own reply.
        reply: Box<Reply>,
        /// The cache it created.
        write: CacheWrite,
    },
    /// A page of `cachedContents`.
    CachedContents(ListCachedContentsResponse),
    /// A `countTokens` reply.
    TokenCount(CountTokensResponse),
}

impl std::fmt::Debug for Reply {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Self::Generate(reply) => f.debug_tuple("Generate").field(reply).finish(),
            Self::EventBody(_) => f.write_str("EventBody(..)"),
            Self::Stream(_) => f.write_str("Stream(..)"),
            Self::Embeddings(reply) => f.debug_tuple("Embeddings").field(reply).finish(),
            Self::CachedContent(cache) => f.debug_tuple("CachedContent").field(cache).finish(),
            Self::CacheWritten { reply, write } => f
                .debug_struct("CacheWritten")
                .field("reply", reply)
                .field("write", write)
                .finish(),
            Self::CachedContents(page) => f.debug_tuple("CachedContents").field(page).finish(),
            Self::TokenCount(count) => f.debug_tuple("TokenCount").field(count).finish(),
        }
    }
}
