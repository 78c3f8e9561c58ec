//! The pure core: OpenAI ⇄ Gemini translation with no I/O, no clock and no randomness
//! except an injected [`IdSource`]. The layers call these functions; the criterion
//! benchmarks and most unit tests call them directly.

pub mod ids;
pub mod messages;
pub mod request;
pub mod response;
pub mod schema;
pub mod stream;
pub mod thinking;
pub mod tools;

pub use ids::{IdSource, RandomIds, SequentialIds};
pub use request::{TranslateOptions, translate_request};
pub use response::{ReplyContext, translate_response};
