//! [`EdgeReply`]: how a service's reply is written as an HTTP response.

use http::StatusCode;

use super::body::{EdgeBody, json_response};
use super::commit::commit_stream;
use crate::error::Error;
use crate::openai::EmbeddingResponse;
use crate::provider::{ChatResponse, CompletionResponse};

/// A reply an [`Edge`](super::Edge) can write: whole replies as JSON, streams as
/// server-sent events committed late (see [`crate::edge`]).
pub trait EdgeReply: Send + 'static {
    /// The HTTP response; an error before anything is sent becomes an error response.
    fn into_http(self) -> impl Future<Output = Result<http::Response<EdgeBody>, Error>> + Send;
}

impl EdgeReply for ChatResponse {
    async fn into_http(self) -> Result<http::Response<EdgeBody>, Error> {
        match self {
            Self::Completion(completion) => Ok(json_response(StatusCode::OK, &completion)),
            Self::Stream(chunks) => commit_stream(chunks).await,
        }
    }
}

impl EdgeReply for CompletionResponse {
    async fn into_http(self) -> Result<http::Response<EdgeBody>, Error> {
        match self {
            Self::Completion(completion) => Ok(json_response(StatusCode::OK, &completion)),
            Self::Stream(chunks) => commit_stream(chunks).await,
        }
    }
}

impl EdgeReply for EmbeddingResponse {
    async fn into_http(self) -> Result<http::Response<EdgeBody>, Error> {
        Ok(json_response(StatusCode::OK, &self))
    }
}
