//! The pure core: OpenAI ⇄ Gemini translation with no I/O, no clock and no randomness
//! except an injected [`IdSource`]. The layers call these functions; the criterion
//! benchmarks and most unit tests call them directly.

pub mod embed;
pub mod ids;
pub mod messages;
pub mod request;
pub mod response;
pub mod schema;
pub mod schema_cache;
pub mod stream;
pub mod thinking;
pub mod tools;

pub use ids::{IdSource, RandomIds, SequentialIds};
pub use request::{TranslateOptions, translate_request, translate_request_cached};
pub use response::{ReplyContext, translate_response};
pub use schema_cache::ToolSchemaCache;
