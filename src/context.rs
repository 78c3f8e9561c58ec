//! [`RequestContext`]: what an embedding application attached to an HTTP request (its
//! `http::Extensions`: a tenant id, auth claims, a per-request key, a [`Deadline`](crate::Deadline)),
//! carried beside the typed request through every level of a stack.
//!
//! The HTTP edge moves the request's extensions into the typed request's `context`
//! field ([`ChatRequest::context`](crate::openai::ChatRequest::context) and the same field
//! of the other request types); providers hand them on to the upstream HTTP request, so a
//! layer at any level reads them with [`get`](http::Extensions::get). Headers stay at the
//! edge: they carry the client's credentials, and an application copies what it needs
//! from them into an extension.
//!
//! Three extensions mean something to llm-tower itself:
//!
//! | extension | read by |
//! |---|---|
//! | [`Deadline`](crate::Deadline) | the upstream retry: it never waits past it |
//! | [`Secret`](crate::Secret) | every provider: the API key of this request where the provider allows client credentials, a refusal (401) elsewhere ([`request_key`](crate::credentials::request_key)) |
//! | [`ResponseNotes`] | the HTTP edge puts one in every request; a layer adds headers for the answer to it (the Gemini provider: `x-llm-tower-dropped-tools`) |

use std::fmt;
use std::ops::{Deref, DerefMut};
use std::sync::{Arc, Mutex, PoisonError};

use http::{HeaderMap, HeaderName, HeaderValue};

/// The extensions of the request a typed request came from.
///
/// It dereferences to [`http::Extensions`]. It is not part of a request's value: it is not
/// serialized, and two contexts always compare equal, so requests compare by their
/// OpenAI fields alone. `Debug` shows how many extensions there are, never their values.
///
/// ```
/// use llm_tower::RequestContext;
/// use llm_tower::openai::ChatRequest;
///
/// #[derive(Clone, Debug, PartialEq)]
/// struct Tenant(&'static str);
///
/// let mut request = ChatRequest::default();
/// request.context.insert(Tenant("acme"));
/// assert_eq!(request.context.get::<Tenant>(), Some(&Tenant("acme")));
/// assert_eq!(request, ChatRequest::default());
/// ```
#[derive(Clone, Default)]
pub struct RequestContext(http::Extensions);

impl RequestContext {
    /// An empty context.
    pub fn new() -> Self {
        Self::default()
    }

    /// The extensions, for an upstream `http::Request`.
    pub fn into_extensions(self) -> http::Extensions {
        self.0
    }
}

impl From<http::Extensions> for RequestContext {
    fn from(extensions: http::Extensions) -> Self {
        Self(extensions)
    }
}

impl Deref for RequestContext {
    type Target = http::Extensions;

    fn deref(&self) -> &http::Extensions {
        &self.0
    }
}

impl DerefMut for RequestContext {
    fn deref_mut(&mut self) -> &mut http::Extensions {
        &mut self.0
    }
}

impl PartialEq for RequestContext {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl fmt::Debug for RequestContext {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RequestContext")
            .field("extensions", &self.0.len())
            .finish()
    }
}

/// Headers a layer wants on the answer to this request, shared by the clones of the
/// request's context: the HTTP edge inserts one, a layer below adds to it, and the edge
/// writes them on the response (a whole reply's, or a stream's when it commits). At most
/// [`ResponseNotes::LIMIT`] are kept.
///
/// ```
/// use http::{HeaderMap, HeaderName, HeaderValue};
/// use llm_tower::ResponseNotes;
///
/// let notes = ResponseNotes::default();
/// notes.clone().add(HeaderName::from_static("x-note"), HeaderValue::from_static("seen"));
/// let mut headers = HeaderMap::new();
/// notes.apply(&mut headers);
/// assert_eq!(headers["x-note"], "seen");
/// ```
#[derive(Clone, Default)]
pub struct ResponseNotes(Arc<Mutex<Vec<(HeaderName, HeaderValue)>>>);

impl ResponseNotes {
    /// The most headers kept.
    pub const LIMIT: usize = 16;

    /// Adds a header for the answer (beyond [`LIMIT`](Self::LIMIT), dropped).
    pub fn add(&self, name: HeaderName, value: HeaderValue) {
        let mut notes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        if notes.len() < Self::LIMIT {
            notes.push((name, value));
        }
    }

    /// Writes the headers added so far into `headers`.
    pub fn apply(&self, headers: &mut HeaderMap) {
        let notes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        for (name, value) in notes.iter() {
            headers.append(name.clone(), value.clone());
        }
    }
}

impl fmt::Debug for ResponseNotes {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let notes = self.0.lock().unwrap_or_else(PoisonError::into_inner);
        f.debug_struct("ResponseNotes")
            .field("headers", &notes.len())
            .finish()
    }
}

/// A typed request that carries a [`RequestContext`]: what an
/// [`Edge`](crate::edge::Edge) decodes, so it can hand the HTTP request's extensions on.
///
/// ```
/// use llm_tower::Contextual;
/// use llm_tower::openai::EmbeddingRequest;
///
/// let mut request = EmbeddingRequest::new("text-embedding-004", "hello");
/// request.context_mut().insert(7_u32);
/// assert_eq!(request.context.get::<u32>(), Some(&7));
/// ```
pub trait Contextual {
    /// The request's context.
    fn context_mut(&mut self) -> &mut RequestContext;
}
