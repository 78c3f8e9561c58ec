//! [`EmbedMapLayer`]: the OpenAI ⇄ Gemini boundary for embeddings. It maps an
//! [`EmbeddingRequest`] (at most [`MAX_EMBEDDING_INPUTS`](crate::openai::embeddings::MAX_EMBEDDING_INPUTS)
//! inputs) to one `batchEmbedContents` [`Call`] per hundred inputs (on Vertex AI, per
//! [`instances_per_call`](crate::vertex::predict::instances_per_call)), sent at most
//! [`fan_out`](EmbedMapLayer::fan_out) at a time ([`DEFAULT_FAN_OUT`] by default), and joins
//! the replies, in order, into an [`EmbeddingResponse`], by calling the pure functions in
//! [`super::translate::embed`].

use std::task::{Context, Poll};

use tower_layer::Layer;
use tower_service::Service;

use super::call::{Call, Method, Reply, context_key};
use super::error::{Error as GeminiError, InvalidCall};
use super::translate::TranslateOptions;
use super::translate::embed::{
    MAX_BATCH, translate_embedding_request_in, translate_embedding_response,
};
use crate::error::Error;
use crate::layers::fan_out::{DEFAULT_FAN_OUT, FanOut, fan_out};
use crate::layers::refusable::{OnReply, Refusable};
use crate::openai::{EmbeddingRequest, EmbeddingResponse, EncodingFormat};
use crate::pricing::ModelPrice;

/// Maps OpenAI embeddings requests to Gemini calls and replies back.
///
/// ```
/// use llm_tower::gemini::EmbedMapLayer;
/// use llm_tower::gemini::translate::TranslateOptions;
/// let _layer = EmbedMapLayer::new(TranslateOptions::default()).fan_out(4);
/// ```
#[derive(Clone, Copy, Debug)]
pub struct EmbedMapLayer {
    options: TranslateOptions,
    fan_out: usize,
    batch: fn(&str) -> usize,
    price: Option<ModelPrice>,
}

impl EmbedMapLayer {
    /// Refusing or dropping unknown params, and accepting client credentials, as `options`
    /// say; at most [`DEFAULT_FAN_OUT`] batches of one request at a time.
    pub fn new(options: TranslateOptions) -> Self {
        Self {
            options,
            fan_out: DEFAULT_FAN_OUT,
            batch: |_| MAX_BATCH,
            price: None,
        }
    }

    /// Prices every reply at `price` (default: the bundled table's price of the model,
    /// if it has one): its input tokens at `input_cost_per_token`, in `usage.cost`.
    pub fn with_price(mut self, price: ModelPrice) -> Self {
        self.price = Some(price);
        self
    }

    /// Sends at most `limit` batches of one request at a time (at least one).
    pub fn fan_out(mut self, limit: usize) -> Self {
        self.fan_out = limit.max(1);
        self
    }

    /// Puts at most `batch(model)` inputs in one call (default [`MAX_BATCH`]): Vertex AI's
    /// limits depend on the model.
    pub(crate) fn batch(mut self, batch: fn(&str) -> usize) -> Self {
        self.batch = batch;
        self
    }
}

impl<S> Layer<S> for EmbedMapLayer {
    type Service = EmbedMap<S>;

    fn layer(&self, inner: S) -> Self::Service {
        EmbedMap {
            inner,
            options: self.options,
            fan_out: self.fan_out,
            batch: self.batch,
            price: self.price,
        }
    }
}

/// The service of [`EmbedMapLayer`].
#[derive(Clone, Debug)]
pub struct EmbedMap<S> {
    inner: S,
    options: TranslateOptions,
    fan_out: usize,
    batch: fn(&str) -> usize,
    price: Option<ModelPrice>,
}

impl<S> EmbedMap<S> {
    /// Wraps `inner`, a Gemini-level service.
    pub fn new(inner: S, options: TranslateOptions) -> Self {
        EmbedMapLayer::new(options).layer(inner)
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

impl<S> Service<EmbeddingRequest> for EmbedMap<S>
where
    S: Service<Call, Response = Reply, Error = GeminiError> + Clone,
{
    type Response = EmbeddingResponse;
    type Error = Error;
    type Future = EmbedMapFuture<FanOut<S, Call>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Error>> {
        // Each batch is sent on its own clone, which is made ready when it is sent.
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, mut request: EmbeddingRequest) -> Self::Future {
        let mut context = std::mem::take(&mut request.context);
        let batch = (self.batch)(&request.model);
        let mut translated = match translate_embedding_request_in(request, &self.options, batch) {
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
        let batch_sizes = translated
            .batches
            .iter()
            .map(|batch| batch.requests.len())
            .collect();
        let calls = translated
            .batches
            .into_iter()
            .map(|batch| Call {
                model: translated.model.clone(),
                method: Method::BatchEmbed(batch),
                options: translated.options.clone(),
                cache: None,
                context: context.clone(),
            })
            .collect();
        let price = self
            .price
            .or_else(|| super::pricing::bundled().get(&translated.model).copied());
        Refusable::called(
            fan_out(self.inner.clone(), calls, self.fan_out),
            Batches {
                price,
                model: translated.model,
                batch_sizes,
                encoding: translated.encoding,
                estimated_tokens: translated.estimated_tokens,
            },
        )
    }
}

/// What joining the batches' replies needs, kept while they are under way (public only to
/// name [`EmbedMapFuture`]).
#[derive(Debug)]
pub struct Batches {
    price: Option<ModelPrice>,
    model: String,
    batch_sizes: Vec<usize>,
    encoding: EncodingFormat,
    estimated_tokens: u64,
}

impl OnReply<Result<Vec<Reply>, GeminiError>> for Batches {
    type Response = EmbeddingResponse;
    type Error = Error;

    fn on_reply(
        self,
        replies: Result<Vec<Reply>, GeminiError>,
    ) -> Result<EmbeddingResponse, Error> {
        let replies = replies?
            .into_iter()
            .map(|reply| match reply {
                Reply::Embeddings(reply) => Ok(reply),
                _ => Err(Error::from(GeminiError::InvalidCall(
                    InvalidCall::OtherReply("an embeddings call"),
                ))),
            })
            .collect::<Result<Vec<_>, Error>>()?;
        let mut response =
            translate_embedding_response(&self.model, replies, &self.batch_sizes, self.encoding)?;
        // Gemini's embedding replies carry no counts: LiteLLM's estimate instead.
        if response.usage.prompt_tokens == 0 {
            response.usage.prompt_tokens = self.estimated_tokens;
            response.usage.total_tokens = self.estimated_tokens;
        }
        response.usage.cost = self.price.map(|price| {
            crate::openai::chat::round_dollars(
                response.usage.prompt_tokens as f64 * price.input_cost_per_token,
            )
        });
        Ok(response)
    }
}

/// Future of [`EmbedMap`]: the request refused before any call, or its batches under way
/// and the join of their replies.
pub type EmbedMapFuture<F> = Refusable<F, Batches>;
