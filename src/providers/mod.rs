//! The providers: each is a folder that turns the OpenAI-level services
//! ([`ChatService`](crate::ChatService), [`EmbeddingService`](crate::EmbeddingService)) into
//! calls to one upstream API, reusing the shared pieces ([`crate::upstream`],
//! [`crate::layers`], [`crate::sse`], [`crate::store`]). A provider implements
//! [`Provider`](crate::Provider); the [`ModelRouter`](crate::ModelRouter) picks one by the model's
//! prefix (`gemini/…`, `openai/…`).

mod future;
pub mod gemini;
pub mod openai_compatible;
pub mod vertex;

pub use self::future::{BoxCall, ResponseFuture};
