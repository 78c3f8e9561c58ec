//! The pure core: OpenAI ⇄ Gemini translation with no I/O, no clock and no randomness
//! except an injected [`IdSource`]. The layers call these functions; the criterion
//! benchmarks and most unit tests call them directly.

pub(crate) mod embed;
mod ids;
pub(crate) mod messages;
pub(crate) mod request;
pub(crate) mod response;
pub mod schema;
pub(crate) mod schema_cache;
pub(crate) mod stream;
pub(crate) mod thinking;
pub(crate) mod tools;

pub use ids::{IdSource, RandomIds, SequentialIds};
pub use request::{
    CachePlan, CallOptions, TranslateOptions, TranslatedRequest, translate_request,
    translate_request_cached,
};
pub use response::{ReplyContext, translate_response};
pub use schema_cache::ToolSchemaCache;
pub use stream::StreamTranslator;
