//! A Responses request → a chat request, as pure functions.
//!
//! | Responses | chat | notes |
//! |---|---|---|
//! | `instructions` | a `system` message first | not carried over by `previous_response_id` |
//! | `previous_response_id` | the stored conversation, before `input` | instructions excluded |
//! | `input` text | one `user` message | |
//! | `message` items (`user`, `system`, `developer`, `assistant`) | messages of that role | `input_text`/`output_text` → text, `input_image` → `image_url` (or `file` for a `file_id`), `input_file` → `file` |
//! | `reasoning` items | the next assistant message's `thinking_blocks` (from `encrypted_content`), else `reasoning_content` (from `summary`) | |
//! | `function_call` items | the assistant message's `tool_calls` (`call_id` as the id) | consecutive reasoning, assistant message and call items make one assistant message |
//! | `function_call_output` items | `tool` messages | text or parts |
//! | `tools`: `function` | function tools | |
//! | `tools`: `web_search`, `web_search_preview` | `{"type":"web_search"}` (Gemini's Google Search) | `search_context_size` ignored; other options refused |
//! | `tool_choice` | `tool_choice` | `{"type":"function","name"}` → the chat form |
//! | `parallel_tool_calls`, `temperature`, `top_p`, `user` (or `safety_identifier`) | same | |
//! | `max_output_tokens` | `max_completion_tokens` | |
//! | `text.format` `text` / `json_object` / `json_schema` | `response_format` | `strict: true` → `enforce_validation`: the reply is checked against the schema |
//! | `reasoning.effort` | `reasoning_effort` | `reasoning.summary` decides whether summaries are shown |
//! | `include: ["message.output_text.logprobs"]`, `top_logprobs` | `logprobs`, `top_logprobs` | either one turns log probabilities on |
//! | `include: ["reasoning.encrypted_content"]` | — | always there when the provider has thought state |
//! | `stream` | `stream` with `include_usage` | |
//! | `metadata`, `store`, `prompt_cache_key`, `truncation: "disabled"` | — | kept on the response |
//! | `truncation: "auto"`, other `include` values, item types and tool types | — | 400 naming them, or dropped with `drop_params` |
//! | anything else | a chat param of that name | the provider maps or refuses it |

use base64::Engine;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::error::{Error, ErrorKind};
use crate::layers::chat_params::chat_template;
use crate::openai::chat::{
    Content, ContentPart, Extra, FileInput, FunctionCall, FunctionDefinition, FunctionName,
    ImageUrl, ImageUrlObject, JsonSchemaFormat, NamedToolChoice, ReasoningEffort, ResponseFormat,
    StreamOptions, ThinkingBlock, Tool, ToolCall, ToolChoice,
};
use crate::openai::responses::{
    CreateResponse, Input, InputContent, InputItem, InputPart, ReasoningConfig, Response,
    ResponseTool, ResponseToolChoice, TextConfig,
};
use crate::openai::{ChatRequest, Message, Role};

/// `include` value asking for log probabilities.
const INCLUDE_LOGPROBS: &str = "message.output_text.logprobs";
/// `include` value asking for the reasoning state (always given here).
const INCLUDE_REASONING: &str = "reasoning.encrypted_content";

/// What a Responses request becomes.
#[derive(Debug, Clone, PartialEq)]
pub struct Plan {
    /// The chat request, without the stored conversation (see [`Plan::chat`]).
    pub chat: ChatRequest,
    /// The `system` message made of `instructions`.
    pub instructions: Option<Message>,
    /// This request's input as chat messages.
    pub turn: Vec<Message>,
    /// This request's input items, each with an id (for `input_items`).
    pub items: Vec<InputItem>,
    /// The response as far as the request decides it: id, model, echoed params.
    pub response: Response,
    /// What the reply shows.
    pub show: Show,
}

/// What the reply shows beyond the output text and calls.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Show {
    /// Thought summaries (`reasoning.summary` set).
    pub summaries: bool,
    /// Token log probabilities.
    pub logprobs: bool,
}

impl Plan {
    /// The chat request for a conversation that starts with `history` (the stored messages
    /// of `previous_response_id`).
    pub fn chat(&self, history: &[Message]) -> ChatRequest {
        let mut chat = self.chat.clone();
        chat.messages = self
            .instructions
            .iter()
            .chain(history)
            .chain(&self.turn)
            .cloned()
            .collect();
        chat
    }
}

/// The reasoning state carried in `encrypted_content`: the provider's thought blocks and
/// the message-level thought signatures, as the chat reply gave them. It is base64 of
/// JSON, opaque to clients but not encrypted.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
pub struct ReasoningState {
    /// Thought blocks with their signatures.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thinking_blocks: Vec<ThinkingBlock>,
    /// Thought signatures of the message's other parts.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub thought_signatures: Vec<String>,
}

impl ReasoningState {
    /// Whether there is nothing to carry.
    pub fn is_empty(&self) -> bool {
        self.thinking_blocks.is_empty() && self.thought_signatures.is_empty()
    }

    /// The `encrypted_content` text.
    pub fn encode(&self) -> String {
        let json = serde_json::to_vec(self).unwrap_or_default();
        base64::engine::general_purpose::STANDARD.encode(json)
    }

    /// Reads an `encrypted_content` text.
    pub fn decode(text: &str) -> Option<Self> {
        let json = base64::engine::general_purpose::STANDARD
            .decode(text)
            .ok()?;
        serde_json::from_slice(&json).ok()
    }
}

/// Maps a Responses request to chat; `id` and `created_at` are the new response's.
///
/// ```
/// use llm_tower::layers::responses::plan;
///
/// let request = serde_json::from_value(serde_json::json!({
///     "model": "gemini/gemini-2.5-flash", "instructions": "Be brief.",
///     "input": "Say hi", "max_output_tokens": 16
/// }))?;
/// let plan = plan(request, "resp_1".to_owned(), 7)?;
/// assert_eq!(
///     serde_json::to_value(plan.chat(&[]))?,
///     serde_json::json!({
///         "model": "gemini/gemini-2.5-flash",
///         "messages": [
///             {"role": "system", "content": "Be brief."},
///             {"role": "user", "content": "Say hi"}
///         ],
///         "max_completion_tokens": 16
///     })
/// );
/// # Ok::<(), Box<dyn std::error::Error>>(())
/// ```
pub fn plan(request: CreateResponse, id: String, created_at: u64) -> Result<Plan, Error> {
    let CreateResponse {
        model,
        input,
        instructions,
        previous_response_id,
        tools,
        tool_choice,
        parallel_tool_calls,
        text,
        reasoning,
        max_output_tokens,
        temperature,
        top_p,
        top_logprobs,
        metadata,
        user,
        safety_identifier,
        prompt_cache_key: _,
        store,
        stream,
        truncation,
        include,
        drop_params,
        extra,
        context,
    } = request;
    let drop = drop_params == Some(true);
    let mut chat = chat_template(model.clone(), extra)?;
    // The chat request carries the Responses request's context.
    chat.context = context;
    chat.drop_params = drop_params;
    chat.temperature = temperature;
    chat.top_p = top_p;
    chat.max_completion_tokens = max_output_tokens;
    chat.parallel_tool_calls = parallel_tool_calls;
    chat.user = user.clone().or(safety_identifier);
    if stream == Some(true) {
        chat.stream = Some(true);
        chat.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            extra: Extra::new(),
        });
    }
    if let Some(tools) = &tools {
        chat.tools = chat_tools(tools, drop)?;
    }
    if let Some(choice) = &tool_choice {
        chat.tool_choice = chat_tool_choice(choice, drop)?;
    }
    if let Some(format) = text.as_ref().and_then(|text| text.format.as_ref()) {
        chat.response_format = Some(response_format(format)?);
    }
    let mut show = Show::default();
    if let Some(reasoning) = &reasoning {
        chat.reasoning_effort = reasoning.effort.clone().map(ReasoningEffort::Level);
        show.summaries = reasoning
            .summary
            .as_ref()
            .or(reasoning.generate_summary.as_ref())
            .is_some();
    }
    for (index, value) in include.iter().flatten().enumerate() {
        match value.as_str() {
            INCLUDE_LOGPROBS => show.logprobs = true,
            INCLUDE_REASONING => {}
            _ => refuse(&format!("include[{index}]"), value, drop)?,
        }
    }
    // Alternatives asked for mean log probabilities asked for.
    show.logprobs |= top_logprobs.is_some();
    if show.logprobs {
        chat.logprobs = Some(true);
        chat.top_logprobs = top_logprobs.filter(|top| *top > 0);
    }
    match truncation.as_deref() {
        None | Some("disabled") => {}
        Some(other) => refuse("truncation", other, drop)?,
    }
    let (turn, items) = turn(input, &id)?;
    if turn.is_empty() && previous_response_id.is_none() {
        return Err(Error::invalid_param("input", "input is empty"));
    }
    let response = Response {
        id,
        object: "response".to_owned(),
        created_at,
        status: "in_progress".to_owned(),
        instructions: instructions.clone(),
        max_output_tokens,
        model,
        parallel_tool_calls: parallel_tool_calls.unwrap_or(true),
        previous_response_id,
        reasoning: reasoning.map(|reasoning| ReasoningConfig {
            summary: reasoning.summary.or(reasoning.generate_summary),
            generate_summary: None,
            ..reasoning
        }),
        store: store.unwrap_or(true),
        temperature,
        text: text.unwrap_or_else(|| TextConfig {
            format: Some(crate::openai::responses::TextFormat {
                kind: "text".to_owned(),
                name: None,
                schema: None,
                strict: None,
                description: None,
                extra: Extra::new(),
            }),
            extra: Extra::new(),
        }),
        tool_choice: tool_choice.unwrap_or_default(),
        tools: tools.unwrap_or_default(),
        top_p,
        truncation: "disabled".to_owned(),
        user,
        metadata: metadata
            .map(response_metadata)
            .transpose()?
            .unwrap_or_default(),
        ..Response::default()
    };
    Ok(Plan {
        chat,
        instructions: instructions.map(|text| Message::text(Role::System, text)),
        turn,
        items,
        response,
        show,
    })
}

/// A 400 naming `param`, or nothing with `drop_params`.
fn refuse(param: &str, value: &str, drop: bool) -> Result<(), Error> {
    if drop {
        return Ok(());
    }
    Err(Error::new(
        ErrorKind::UnsupportedParams,
        format!(
            "UnsupportedParamsError: {param} = {value:?} is not supported by /v1/responses. \
             To drop unsupported params set `drop_params: true`."
        ),
    )
    .with_param(param))
}

fn chat_tools(tools: &[ResponseTool], drop: bool) -> Result<Option<Vec<Tool>>, Error> {
    let mut out = Vec::with_capacity(tools.len());
    for (index, tool) in tools.iter().enumerate() {
        match tool.kind.as_str() {
            "function" => {
                let name = tool.name.clone().ok_or_else(|| {
                    Error::invalid_param(
                        format!("tools[{index}].name"),
                        format!("tools[{index}]: a function tool needs a `name`"),
                    )
                })?;
                out.push(Tool {
                    kind: Some("function".to_owned()),
                    function: Some(FunctionDefinition {
                        name,
                        description: tool.description.clone(),
                        parameters: tool.parameters.clone(),
                        strict: tool.strict,
                        extra: Extra::new(),
                    }),
                    extra: Extra::new(),
                });
            }
            kind if kind.starts_with("web_search") => {
                for key in tool.extra.keys() {
                    if key != "search_context_size" {
                        refuse(&format!("tools[{index}].{key}"), kind, drop)?;
                    }
                }
                out.push(Tool {
                    kind: Some("web_search".to_owned()),
                    function: None,
                    extra: Extra::new(),
                });
            }
            kind => refuse(&format!("tools[{index}].type"), kind, drop)?,
        }
    }
    Ok((!out.is_empty()).then_some(out))
}

fn chat_tool_choice(choice: &ResponseToolChoice, drop: bool) -> Result<Option<ToolChoice>, Error> {
    match choice {
        ResponseToolChoice::Mode(mode) => Ok(Some(ToolChoice::Mode(mode.clone()))),
        ResponseToolChoice::Named(named) if named.kind == "function" => {
            let name = named.name.clone().ok_or_else(|| {
                Error::invalid_param("tool_choice.name", "tool_choice names no function")
            })?;
            Ok(Some(ToolChoice::Named(NamedToolChoice {
                kind: Some("function".to_owned()),
                function: Some(FunctionName { name }),
                name: None,
                extra: Extra::new(),
            })))
        }
        ResponseToolChoice::Named(named) => {
            refuse("tool_choice.type", &named.kind, drop)?;
            Ok(None)
        }
    }
}

fn response_format(format: &crate::openai::responses::TextFormat) -> Result<ResponseFormat, Error> {
    let mut chat = ResponseFormat {
        kind: format.kind.clone(),
        json_schema: None,
        response_schema: None,
        enforce_validation: None,
        extra: Extra::new(),
    };
    match format.kind.as_str() {
        "text" | "json_object" => {}
        "json_schema" => {
            let schema = format.schema.clone().ok_or_else(|| {
                Error::invalid_param(
                    "text.format.schema",
                    "a json_schema format needs a `schema`",
                )
            })?;
            let mut extra = Extra::new();
            if let Some(description) = &format.description {
                extra.insert("description", Value::from(description.clone()).into());
            }
            chat.json_schema = Some(JsonSchemaFormat {
                name: format.name.clone(),
                schema: Some(schema),
                strict: format.strict,
                extra,
            });
            chat.enforce_validation = format.strict.filter(|strict| *strict);
        }
        other => {
            return Err(Error::invalid_param(
                "text.format.type",
                format!("text.format.type {other:?} is not one of text, json_object, json_schema"),
            ));
        }
    }
    Ok(chat)
}

/// The input as chat messages, and as items with ids.
fn turn(input: Option<Input>, response_id: &str) -> Result<(Vec<Message>, Vec<InputItem>), Error> {
    let items = match input {
        None => Vec::new(),
        Some(Input::Text(text)) => {
            let item = InputItem {
                kind: Some("message".to_owned()),
                role: Some("user".to_owned()),
                content: Some(InputContent::Parts(vec![InputPart::input_text(
                    text.clone(),
                )])),
                ..InputItem::default()
            };
            return Ok((
                vec![Message::text(Role::User, text)],
                vec![with_id(item, response_id, 0)],
            ));
        }
        Some(Input::Items(items)) => items,
    };
    let mut messages: Vec<Message> = Vec::new();
    // Index in `messages` of the assistant message that reasoning, text and calls of the
    // current model turn go into.
    let mut open_turn: Option<usize> = None;
    for (index, item) in items.iter().enumerate() {
        let at = |field: &str| format!("input[{index}].{field}");
        match item.kind() {
            "message" => {
                let role = match item.role.as_deref() {
                    Some("user") => Role::User,
                    Some("system") => Role::System,
                    Some("developer") => Role::Developer,
                    Some("assistant") => Role::Assistant,
                    Some(other) => {
                        return Err(Error::invalid_param(
                            at("role"),
                            format!("{}: unknown role {other:?}", at("role")),
                        ));
                    }
                    None => {
                        return Err(Error::invalid_param(
                            at("role"),
                            format!("{}: a message needs a role", at("role")),
                        ));
                    }
                };
                let content = content(item.content.clone(), &at("content"))?;
                if role == Role::Assistant {
                    let turn = assistant_turn(&mut messages, &mut open_turn, |message| {
                        message.content.is_none() && message.tool_calls.is_none()
                    });
                    turn.content = Some(content);
                } else {
                    open_turn = None;
                    let mut message = Message::text(role, String::new());
                    message.content = Some(content);
                    messages.push(message);
                }
            }
            "reasoning" => {
                let state = match &item.encrypted_content {
                    Some(text) => Some(ReasoningState::decode(text).ok_or_else(|| {
                        Error::invalid_param(
                            at("encrypted_content"),
                            format!(
                                "{}: not reasoning state this API returned",
                                at("encrypted_content")
                            ),
                        )
                    })?),
                    None => None,
                };
                let summary: String = item
                    .summary
                    .iter()
                    .flatten()
                    .map(|part| part.text.as_str())
                    .collect::<Vec<_>>()
                    .join("\n\n");
                let state = state.filter(|state| !state.is_empty());
                if state.is_none() && summary.is_empty() {
                    // Nothing to replay (OpenAI's own reasoning items carry ids only).
                    continue;
                }
                // A reasoning item joins the model turn being read unless that turn already
                // has reasoning: a signature-only item comes after the turn's calls.
                let turn = assistant_turn(&mut messages, &mut open_turn, |message| {
                    message.reasoning_content.is_none()
                        && message.thinking_blocks.is_none()
                        && message.provider_specific_fields.is_none()
                });
                match state {
                    Some(state) => {
                        if !state.thinking_blocks.is_empty() {
                            turn.thinking_blocks = Some(state.thinking_blocks);
                        }
                        if !state.thought_signatures.is_empty() {
                            turn.provider_specific_fields = Some(serde_json::json!({
                                "thought_signatures": state.thought_signatures
                            }));
                        }
                    }
                    None => turn.reasoning_content = Some(summary),
                }
            }
            "function_call" => {
                let call_id = required(&item.call_id, &at("call_id"))?;
                let name = required(&item.name, &at("name"))?;
                let turn = assistant_turn(&mut messages, &mut open_turn, |_| true);
                turn.tool_calls.get_or_insert_with(Vec::new).push(ToolCall {
                    id: call_id,
                    kind: "function".to_owned(),
                    function: FunctionCall {
                        name,
                        arguments: item.arguments.clone().unwrap_or_default(),
                        provider_specific_fields: None,
                    },
                    provider_specific_fields: None,
                    extra: Extra::new(),
                });
            }
            "function_call_output" => {
                open_turn = None;
                let call_id = required(&item.call_id, &at("call_id"))?;
                let output = item.output.clone().ok_or_else(|| {
                    Error::invalid_param(at("output"), format!("{}: missing", at("output")))
                })?;
                let mut message = Message::text(Role::Tool, String::new());
                message.content = Some(content(Some(output), &at("output"))?);
                message.tool_call_id = Some(call_id);
                messages.push(message);
            }
            other => {
                return Err(Error::invalid_param(
                    at("type"),
                    format!(
                        "{}: input items of type {other:?} are not supported; send message, \
                         function_call, function_call_output or reasoning items",
                        at("type")
                    ),
                ));
            }
        }
    }
    let items = (0..)
        .zip(items)
        .map(|(index, item)| with_id(item, response_id, index))
        .collect();
    Ok((messages, items))
}

/// The assistant message the current model turn goes into: the open one if `fits` it,
/// else a new one.
fn assistant_turn<'m>(
    messages: &'m mut Vec<Message>,
    open_turn: &mut Option<usize>,
    fits: impl Fn(&Message) -> bool,
) -> &'m mut Message {
    let index = match *open_turn {
        Some(index) if fits(&messages[index]) => index,
        _ => {
            let mut message = Message::text(Role::Assistant, String::new());
            message.content = None;
            messages.push(message);
            messages.len() - 1
        }
    };
    *open_turn = Some(index);
    &mut messages[index]
}

fn required(value: &Option<String>, param: &str) -> Result<String, Error> {
    value
        .clone()
        .ok_or_else(|| Error::invalid_param(param, format!("{param}: missing")))
}

/// An item with its id: the client's, else one derived from the response id.
fn with_id(mut item: InputItem, response_id: &str, index: usize) -> InputItem {
    if item.id.is_none() {
        let suffix = response_id.strip_prefix("resp_").unwrap_or(response_id);
        item.id = Some(format!("in_{suffix}_{index}"));
    }
    item.kind.get_or_insert_with(|| "message".to_owned());
    item
}

/// Message content or a function output as chat content.
fn content(content: Option<InputContent>, param: &str) -> Result<Content, Error> {
    let parts = match content {
        None => return Err(Error::invalid_param(param, format!("{param}: missing"))),
        Some(InputContent::Text(text)) => return Ok(Content::Text(text)),
        Some(InputContent::Parts(parts)) => parts,
    };
    let mut out = Vec::with_capacity(parts.len());
    for (index, part) in parts.into_iter().enumerate() {
        let at = format!("{param}[{index}]");
        out.push(chat_part(part, &at)?);
    }
    Ok(Content::Parts(out))
}

fn chat_part(part: InputPart, at: &str) -> Result<ContentPart, Error> {
    let missing = |field: &str| {
        Error::invalid_param(
            format!("{at}.{field}"),
            format!("{at}: a {} part needs `{field}`", part.kind),
        )
    };
    let mut chat = ContentPart {
        kind: "text".to_owned(),
        text: None,
        image_url: None,
        input_audio: None,
        file: None,
        cache_control: None,
        extra: Extra::new(),
    };
    match part.kind.as_str() {
        "input_text" | "output_text" | "text" => {
            chat.text = Some(part.text.clone().ok_or_else(|| missing("text"))?);
        }
        "refusal" => {
            chat.text = Some(part.refusal.clone().ok_or_else(|| missing("refusal"))?);
        }
        "input_image" => match (part.image_url, part.file_id) {
            (Some(url), _) => {
                chat.kind = "image_url".to_owned();
                chat.image_url = Some(ImageUrl::Object(ImageUrlObject {
                    url,
                    detail: part.detail,
                    format: None,
                    extra: Extra::new(),
                }));
            }
            (None, Some(file_id)) => {
                chat.kind = "file".to_owned();
                chat.file = Some(file(Some(file_id), None, None));
            }
            (None, None) => return Err(missing("image_url")),
        },
        "input_file" => {
            if part.file_data.is_none() && part.file_id.is_none() && part.file_url.is_none() {
                return Err(missing("file_data"));
            }
            chat.kind = "file".to_owned();
            chat.file = Some(file(
                part.file_id.or(part.file_url),
                part.file_data,
                part.filename,
            ));
        }
        other => {
            return Err(Error::invalid_param(
                format!("{at}.type"),
                format!(
                    "{at}: content parts of type {other:?} are not supported; send input_text, \
                     input_image or input_file"
                ),
            ));
        }
    }
    Ok(chat)
}

fn file(file_id: Option<String>, file_data: Option<String>, filename: Option<String>) -> FileInput {
    FileInput {
        file_id,
        file_data,
        filename,
        format: None,
        extra: Extra::new(),
    }
}

/// The request's `metadata` as the response keeps it: at most 16 keys of at most 64
/// characters, each a string of at most 512 characters (OpenAI's limits), refused before
/// any value is read into a tree.
fn response_metadata(metadata: Extra) -> Result<Map<String, Value>, Error> {
    const MAX_KEYS: usize = 16;
    const MAX_KEY_CHARS: usize = 64;
    const MAX_VALUE_CHARS: usize = 512;
    let invalid = |message: String| Error::invalid_param("metadata", message);
    if metadata.len() > MAX_KEYS {
        return Err(invalid(format!(
            "metadata has {} keys; at most {MAX_KEYS} are allowed",
            metadata.len()
        )));
    }
    let mut kept = Map::with_capacity(metadata.len());
    for (key, value) in metadata {
        if key.chars().count() > MAX_KEY_CHARS {
            return Err(invalid(format!(
                "metadata keys are at most {MAX_KEY_CHARS} characters"
            )));
        }
        let text = value
            .parse::<String>()
            .ok()
            .filter(|text| text.chars().count() <= MAX_VALUE_CHARS)
            .ok_or_else(|| {
                invalid(format!(
                    "metadata.{key}: expected a string of at most {MAX_VALUE_CHARS} characters"
                ))
            })?;
        kept.insert(key, Value::String(text));
    }
    Ok(kept)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::openai::chat::ThinkingBlock;

    fn items(json: serde_json::Value) -> Vec<Message> {
        let request = serde_json::from_value(serde_json::json!({"model": "m", "input": json}))
            .expect("a request");
        plan(request, "resp_1".to_owned(), 0).expect("a plan").turn
    }

    #[test]
    fn a_model_turn_is_one_assistant_message_whatever_the_item_order() {
        let state = ReasoningState {
            thinking_blocks: Vec::new(),
            thought_signatures: vec!["sig".to_owned()],
        };
        let messages = items(serde_json::json!([
            {"role": "user", "content": "hi"},
            {"type": "function_call", "call_id": "c1", "name": "f", "arguments": "{}"},
            {"type": "function_call", "call_id": "c2", "name": "g", "arguments": "{}"},
            {"type": "reasoning", "id": "rs_1", "summary": [], "encrypted_content": state.encode()},
            {"type": "function_call_output", "call_id": "c1", "output": "1"},
            {"type": "function_call_output", "call_id": "c2", "output": "2"},
            {"type": "reasoning", "id": "rs_2", "summary": []},
            {"type": "message", "role": "assistant", "content": [{"type": "output_text", "text": "done", "annotations": []}]}
        ]));
        let roles: Vec<Role> = messages.iter().map(|message| message.role).collect();
        assert_eq!(
            roles,
            [
                Role::User,
                Role::Assistant,
                Role::Tool,
                Role::Tool,
                Role::Assistant
            ]
        );
        let calls = messages[1].tool_calls.as_ref().expect("calls");
        assert_eq!(calls.len(), 2);
        assert_eq!(
            messages[1].provider_specific_fields,
            Some(serde_json::json!({"thought_signatures": ["sig"]}))
        );
        assert_eq!(messages[2].tool_call_id.as_deref(), Some("c1"));
        assert_eq!(
            messages[4].content,
            Some(Content::Parts(vec![ContentPart {
                kind: "text".to_owned(),
                text: Some("done".to_owned()),
                image_url: None,
                input_audio: None,
                file: None,
                cache_control: None,
                extra: Extra::new(),
            }]))
        );
    }

    #[test]
    fn reasoning_state_round_trips_and_summaries_replay_as_reasoning_text() {
        let state = ReasoningState {
            thinking_blocks: vec![ThinkingBlock {
                kind: "thinking".to_owned(),
                thinking: Some("hmm".to_owned()),
                signature: Some("sig".to_owned()),
            }],
            thought_signatures: Vec::new(),
        };
        assert_eq!(ReasoningState::decode(&state.encode()), Some(state.clone()));
        assert_eq!(ReasoningState::decode("bm90IGpzb24="), None);
        let messages = items(serde_json::json!([
            {"type": "reasoning", "summary": [{"type": "summary_text", "text": "a"}, {"type": "summary_text", "text": "b"}]},
            {"role": "assistant", "content": "x"}
        ]));
        assert_eq!(messages.len(), 1);
        assert_eq!(messages[0].reasoning_content.as_deref(), Some("a\n\nb"));
        let messages = items(serde_json::json!([
            {"type": "reasoning", "summary": [], "encrypted_content": state.encode()}
        ]));
        assert_eq!(messages[0].thinking_blocks, Some(state.thinking_blocks));
    }
}
