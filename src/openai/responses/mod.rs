//! `POST /v1/responses`: OpenAI's Responses API. The request ([`CreateResponse`]) with its
//! input items and tools, the `response` object ([`Response`]) with its output items, and
//! the typed stream events ([`ResponseEvent`]).
//!
//! Like the chat types, request structs keep unknown keys in a flattened `extra` map, so
//! that the conversion to chat can pass them on (the provider maps or refuses them by
//! name) instead of losing them. Input items and content parts are flat structs whose
//! `type` says which of the optional fields apply, as chat's
//! [`ContentPart`](crate::openai::ContentPart) is: clients send back the output items they
//! received, with fields of their own (`status`, `annotations`, `logprobs`), and those are
//! ignored rather than refused.
//!
//! | file | what |
//! |---|---|
//! | `request.rs` | [`CreateResponse`]: the request, its input items, tools and options |
//! | `response.rs` | [`Response`]: the `response` object, its output items and usage |
//! | `event.rs` | [`ResponseEvent`]: the typed stream events |
//! | `summary.rs` | [`SummaryText`]: a thought summary, in requests and responses alike |
//! | `stored.rs` | [`InputItemList`], [`DeletedResponse`]: the replies about stored responses |

mod event;
mod request;
mod response;
mod stored;
mod summary;

pub use event::ResponseEvent;
pub use request::{
    CreateResponse, Input, InputContent, InputItem, InputPart, NamedTool, ReasoningConfig,
    ResponseTool, ResponseToolChoice, TextConfig, TextFormat,
};
pub use response::{
    FunctionCallItem, IncompleteDetails, InputTokensDetails, OutputContent, OutputItem,
    OutputLogprob, OutputMessage, OutputText, OutputTokensDetails, ReasoningItem, Response,
    ResponseError, ResponseUsage, TopLogprob, UrlCitation,
};
pub use stored::{DeletedResponse, InputItemList};
pub use summary::SummaryText;
