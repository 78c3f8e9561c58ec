//! OpenAI's `cl100k_base` encoding, for what a provider needs of OpenAI's token ids:
//! turning token-id input (LangChain's `OpenAIEmbeddings` sends it by default) back into
//! text, and estimating a text's token count where the upstream reports none (Gemini's
//! embedding replies), as LiteLLM does with the same encoding.
//!
//! The encoding ships inside the `tiktoken-rs` crate (no download at run time); it is
//! parsed once, on first use. Behind the `tiktoken` feature (on with `proxy`): it adds the
//! 1.7 MB encoding and a regex engine to the binary.

use tiktoken_rs::CoreBPE;

/// The encoding, parsed on first use.
fn encoding() -> &'static CoreBPE {
    tiktoken_rs::cl100k_base_singleton()
}

/// The text of `cl100k_base` token ids; `None` when an id is not in the encoding or the
/// ids do not make UTF-8 text.
///
/// ```
/// // "hello world" in cl100k_base.
/// assert_eq!(llm_tower::tokens::decode(&[15339, 1917]).as_deref(), Some("hello world"));
/// assert_eq!(llm_tower::tokens::decode(&[u32::MAX]), None);
/// ```
pub fn decode(ids: &[u32]) -> Option<String> {
    encoding().decode(ids).ok()
}

/// How many `cl100k_base` tokens `text` has (special tokens counted as text).
///
/// ```
/// assert_eq!(llm_tower::tokens::count("hello world"), 2);
/// ```
pub fn count(text: &str) -> u64 {
    encoding().encode_ordinary(text).len() as u64
}
