//! [`RecordUsage`]: at the OpenAI level, tells the request's [`Record`] which model a
//! chat or embeddings request names and how many tokens its reply used (a stream's usage
//! is read from its chunks as they pass). A request for a token count ([`CountTokens`])
//! spent none: only its model is recorded.

use std::sync::Arc;
use std::task::{Context, Poll};

use futures_util::StreamExt;
use tower_service::Service;

use super::record::Record;
use crate::error::Error;
use crate::layers::refusable::{OnReply, Refusable};
use crate::openai::{ChatRequest, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage, Usage};
use crate::provider::{ChatResponse, CountTokens};

/// Tells the request's [`Record`] the model and tokens of each request to `inner`. Outside
/// the proxy's observed stack it only passes requests on.
#[derive(Clone, Debug)]
pub(crate) struct RecordUsage<S> {
    inner: S,
}

impl<S> RecordUsage<S> {
    /// Wraps `inner`.
    pub(crate) fn new(inner: S) -> Self {
        Self { inner }
    }
}

/// Who learns the usage of replies: the request's [`Record`], a virtual key's spend.
pub(crate) trait UsageSink: Send + Sync + 'static {
    /// A chat or completion reply reported `usage`.
    fn usage(&self, usage: &Usage);

    /// An embeddings reply reported `usage`.
    fn embedding_usage(&self, usage: &EmbeddingUsage);
}

impl UsageSink for Record {
    fn usage(&self, usage: &Usage) {
        Record::usage(self, usage);
    }

    fn embedding_usage(&self, usage: &EmbeddingUsage) {
        Record::embedding_usage(self, usage);
    }
}

/// A reply whose token counts a [`UsageSink`] learns (a stream's as its chunks pass).
pub(crate) trait Counted: Sized {
    fn count<S: UsageSink>(self, sink: &Arc<S>) -> Self;
}

impl Counted for ChatResponse {
    fn count<S: UsageSink>(self, sink: &Arc<S>) -> Self {
        match self {
            Self::Completion(completion) => {
                if let Some(usage) = &completion.usage {
                    sink.usage(usage);
                }
                Self::Completion(completion)
            }
            Self::Stream(chunks) => {
                let sink = sink.clone();
                Self::Stream(Box::pin(chunks.inspect(move |chunk| {
                    if let Ok(chunk) = chunk
                        && let Some(usage) = &chunk.usage
                    {
                        sink.usage(usage);
                    }
                })))
            }
        }
    }
}

impl Counted for EmbeddingResponse {
    fn count<S: UsageSink>(self, sink: &Arc<S>) -> Self {
        sink.embedding_usage(&self.usage);
        self
    }
}

/// A request that names its model.
pub(crate) trait NamesModel {
    fn model(&self) -> &str;

    /// Its extensions, where the request's [`Record`] travels.
    fn extensions(&self) -> &http::Extensions;

    /// Whether it only asks for a token count: its reply's tokens were not spent.
    fn counts_only(&self) -> bool {
        false
    }
}

impl NamesModel for ChatRequest {
    fn model(&self) -> &str {
        &self.model
    }

    fn extensions(&self) -> &http::Extensions {
        &self.context
    }

    fn counts_only(&self) -> bool {
        self.context.get::<CountTokens>().is_some()
    }
}

impl NamesModel for EmbeddingRequest {
    fn model(&self) -> &str {
        &self.model
    }

    fn extensions(&self) -> &http::Extensions {
        &self.context
    }
}

impl<S, Req> Service<Req> for RecordUsage<S>
where
    S: Service<Req, Error = Error>,
    S::Response: Counted,
    Req: NamesModel,
{
    type Response = S::Response;
    type Error = Error;
    type Future = RecordUsageFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: Req) -> Self::Future {
        let mut record = Record::of(request.extensions());
        if let Some(record) = &record {
            record.model(request.model());
        }
        if request.counts_only() {
            record = None;
        }
        Refusable::called(self.inner.call(request), CountInto(record))
    }
}

/// The future of [`RecordUsage`]: the inner call, its reply counted into the request's
/// record.
pub(crate) type RecordUsageFuture<F> = Refusable<F, CountInto<Record>>;

/// What a layer does with a reply that counts: its usage (and its stream's, when it ends)
/// goes to the sink `S`, if the request has one.
#[derive(Debug)]
pub(crate) struct CountInto<S>(pub(crate) Option<Arc<S>>);

impl<S: UsageSink, R: Counted> OnReply<Result<R, Error>> for CountInto<S> {
    type Response = R;
    type Error = Error;

    fn on_reply(self, reply: Result<R, Error>) -> Result<R, Error> {
        let reply = reply?;
        Ok(match self.0 {
            Some(sink) => reply.count(&sink),
            None => reply,
        })
    }
}
