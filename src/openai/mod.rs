//! OpenAI wire types, as OpenAI documents them and LiteLLM extends them: chat (whole and
//! streamed), legacy text completions, embeddings, the Responses API, and files and batches.
//!
//! Requests deserialize from what clients send and serialize back without losing a
//! field: every struct keeps unknown keys in a flattened `extra` map ([`chat::Extra`], as
//! JSON text), so the router and the translators can map them, pass them through, or
//! refuse them by name.

pub mod batches;
pub mod chat;
pub mod chunk;
pub mod completions;
pub mod embeddings;
mod extra;
pub mod files;
pub(crate) mod limits;
pub(crate) mod read;
pub mod responses;

pub use chat::{
    ChatCompletion, ChatRequest, Choice, Content, ContentPart, FunctionCall, Message,
    ResponseMessage, Role, Tool, ToolCall, Usage,
};
pub use chunk::{ChatCompletionChunk, ChunkChoice, Delta, ToolCallDelta};
pub use completions::{CompletionRequest, Prompt, TextChoice, TextCompletion, TextLogprobs};
pub use embeddings::{
    Embedding, EmbeddingInput, EmbeddingRequest, EmbeddingResponse, EmbeddingUsage,
    EmbeddingVector, EncodingFormat,
};
