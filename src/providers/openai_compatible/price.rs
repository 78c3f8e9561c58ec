//! A deployment's own price over an OpenAI-compatible upstream's figure: with a price
//! configured, `usage.cost` of every reply (and of a stream's usage chunk) is computed from
//! it, whatever the upstream reported. Without one, the upstream's `usage.cost` stays, and
//! [`Usage::cost`](crate::openai::Usage::cost) never reports a negative or non-finite one.

use futures_util::StreamExt as _;

use crate::openai::Usage;
use crate::pricing::ModelPrice;
use crate::provider::ChatResponse;

/// Sets `usage.cost` from `price`.
fn price_usage(usage: &mut Usage, price: &ModelPrice) {
    usage.cost = Some(price.cost(usage));
}

/// `response` with its cost (and its stream's) from `price`.
pub(crate) fn priced(response: ChatResponse, price: ModelPrice) -> ChatResponse {
    match response {
        ChatResponse::Completion(mut completion) => {
            if let Some(usage) = completion.usage.as_mut() {
                price_usage(usage, &price);
            }
            ChatResponse::Completion(completion)
        }
        ChatResponse::Stream(chunks) => ChatResponse::Stream(Box::pin(chunks.map(move |chunk| {
            chunk.map(|mut chunk| {
                if let Some(usage) = chunk.usage.as_mut() {
                    price_usage(usage, &price);
                }
                chunk
            })
        }))),
    }
}
