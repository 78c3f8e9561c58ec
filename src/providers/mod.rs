//! The providers: each is a folder that turns the OpenAI-level services
//! ([`ChatService`](crate::ChatService), [`EmbeddingService`](crate::EmbeddingService)) into
//! calls to one upstream API, reusing the shared pieces ([`crate::upstream`],
//! [`crate::layers`], [`crate::sse`], [`crate::store`]). A provider implements
//! [`Provider`](crate::Provider); the [`ModelRouter`](crate::ModelRouter) picks one by the model's
//! prefix (`gemini/…`, `openai/…`).

pub mod gemini;
pub mod openai_compatible;
pub mod vertex;

use std::pin::Pin;

/// A boxed call: what a provider HTTP layer sends and reads, as one future. The layer's
/// named future is [`Refusable`](crate::layers::Refusable) over it: a request refused
/// before anything was sent (no body, an unusable URL, …) is answered without a box.
pub type BoxCall<T, E> = Pin<Box<dyn Future<Output = Result<T, E>> + Send>>;
