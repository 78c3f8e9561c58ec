//! [`EdgeReply`]: how a service's reply is written as an HTTP response. A whole reply
//! whose cost is known carries it in LiteLLM's `x-litellm-response-cost` header (US
//! dollars); a streamed one carries it in its usage chunk.
//!
//! A whole reply is written at once and answered with a ready future: no `async fn`, whose
//! state would hold the reply twice (as its argument and as its local).

use futures_util::future::Either;
use http::{HeaderName, HeaderValue, StatusCode};

use super::body::{EdgeBody, json_response};
use super::commit::{commit_events, commit_stream};
use crate::error::Error;
use crate::layers::responses::ResponsesReply;
use crate::openai::EmbeddingResponse;
use crate::provider::{ChatResponse, CompletionResponse};

/// A reply an [`Edge`](super::Edge) can write: whole replies as JSON, streams as
/// server-sent events committed late (see [`crate::edge`]).
pub trait EdgeReply: Send + 'static {
    /// The HTTP response; an error before anything is sent becomes an error response.
    fn into_http(self) -> impl Future<Output = Result<http::Response<EdgeBody>, Error>> + Send;
}

/// LiteLLM's header for the cost of a whole reply.
pub const RESPONSE_COST_HEADER: HeaderName = HeaderName::from_static("x-litellm-response-cost");

/// Adds the cost header to `response` when `cost` is known.
fn with_cost(
    mut response: http::Response<EdgeBody>,
    cost: Option<f64>,
) -> http::Response<EdgeBody> {
    if let Some(value) = cost.and_then(|cost| HeaderValue::try_from(cost.to_string()).ok()) {
        response.headers_mut().insert(RESPONSE_COST_HEADER, value);
    }
    response
}

impl EdgeReply for ChatResponse {
    fn into_http(self) -> impl Future<Output = Result<http::Response<EdgeBody>, Error>> + Send {
        match self {
            Self::Completion(completion) => {
                let cost = completion.usage.as_ref().and_then(|usage| usage.cost());
                let response = with_cost(json_response(StatusCode::OK, &completion), cost);
                Either::Left(std::future::ready(Ok(response)))
            }
            Self::Stream(chunks) => Either::Right(commit_stream(chunks)),
        }
    }
}

impl EdgeReply for CompletionResponse {
    fn into_http(self) -> impl Future<Output = Result<http::Response<EdgeBody>, Error>> + Send {
        match self {
            Self::Completion(completion) => {
                let cost = completion.usage.as_ref().and_then(|usage| usage.cost());
                let response = with_cost(json_response(StatusCode::OK, &completion), cost);
                Either::Left(std::future::ready(Ok(response)))
            }
            Self::Stream(chunks) => Either::Right(commit_stream(chunks)),
        }
    }
}

impl EdgeReply for EmbeddingResponse {
    async fn into_http(self) -> Result<http::Response<EdgeBody>, Error> {
        Ok(json_response(StatusCode::OK, &self))
    }
}

impl EdgeReply for ResponsesReply {
    fn into_http(self) -> impl Future<Output = Result<http::Response<EdgeBody>, Error>> + Send {
        match self {
            Self::Response(response) => Either::Left(std::future::ready(Ok(json_response(
                StatusCode::OK,
                &response,
            )))),
            Self::Stream(events) => Either::Right(commit_events(events)),
        }
    }
}
