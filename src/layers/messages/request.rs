//! A Messages request → a chat request, as pure functions ([`to_chat`]).
//!
//! | Messages | chat | notes |
//! |---|---|---|
//! | `system` string / text blocks | one `system` message (text, or text parts keeping `cache_control`) | |
//! | `user` text, `image` (base64 → data URI, `url`), `document` (PDF base64 or URL → `file`, text → text) | a `user` message with those parts | `cache_control` stays on its part; the blocks after the last marked one become a second `user` message, so that only the marked prefix is the cached head |
//! | `user` `tool_result` | a `tool` message per result, before the user's other blocks | text, or parts with images and documents; `is_error` is not carried (no provider flag): the result says what failed |
//! | `assistant` text, `tool_use`, `thinking` | one `assistant` message: text, `tool_calls` (input as JSON arguments), `thinking_blocks` | a thinking block whose signature holds a [`ThoughtState`] puts its signatures back on the calls and text; `redacted_thinking` is dropped (only Anthropic's models read it) |
//! | `tools` (`input_schema`) | function tools | `web_search_*` → `{"type":"web_search"}`; other server tools: 400; a tool's `cache_control` is not needed: the tools go into a context cache with the marked head |
//! | `tool_choice` `auto` / `any` / `tool` / `none` | `auto` / `required` / the named function / `none` | `disable_parallel_tool_use` → `parallel_tool_calls: false` |
//! | `system` messages in `messages` | `system` messages there | they take no part in the alternation |
//! | `thinking` `enabled` + `budget_tokens` / `disabled` | `thinking` | the provider maps the budget |
//! | `thinking` `adaptive` | `thinking` `enabled` without a budget (the model decides), or `reasoning_effort` with `output_config.effort` | |
//! | `output_config.effort` `low` / `medium` / `high` / `max` | `reasoning_effort` `low` / `medium` / `high` / `high` | not carried beside an explicit `thinking` budget or `disabled` |
//! | `output_config.format` `json_schema` | `response_format` `json_schema` | |
//! | `max_tokens` | `max_tokens` | required, at least 1 (not on `count_tokens`, which ignores every generation setting: see [`Purpose::Count`]) |
//! | `temperature`, `top_p`, `top_k`, `stop_sequences`, `metadata.user_id`, `stream` | `temperature`, `top_p`, `top_k`, `stop`, `user`, `stream` (with `include_usage`) | |
//! | `service_tier`, `container`, `context_management` | — | accepted, not carried |
//! | anything else | — | 400 naming it, or dropped with `drop_params` |
//!
//! Consecutive messages of one role are one turn, their blocks in order (Anthropic's API
//! merges them so). The conversation must start with `user` and alternate (a `system`
//! message between two of one role does not merge them), and each `tool_result` must answer
//! a `tool_use` of the assistant turn just before it (which all must be answered), as
//! Anthropic's API requires.

use std::collections::HashSet;

use serde_json::Value;

use super::signature::ThoughtState;
use crate::anthropic::{
    CreateMessage, DocumentSource, ImageSource, InputBlock, InputMessage, MessageContent,
    MessageRole, OutputConfig, OutputFormat, System, ToolChoice as MessagesToolChoice,
    ToolDefinition, ToolResultBlock, ToolResultContent,
};
use crate::error::{Error, ErrorKind};
use crate::openai::chat::{
    CacheControl, Content, ContentPart, FileInput, FunctionCall, FunctionDefinition, FunctionName,
    ImageUrl, JsonSchemaFormat, NamedToolChoice, ReasoningEffort, ResponseFormat, Stop,
    StreamOptions, Thinking, ThinkingBlock, Tool, ToolCall, ToolChoice,
};
use crate::openai::{ChatRequest, Message, Role};

/// Keys of Anthropic's request accepted and not carried: a scheduling hint, code-execution
/// containers and context editing, which have no meaning for another provider.
pub const IGNORED_KEYS: &[&str] = &["service_tier", "container", "context_management"];

/// What the chat request is for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// `POST /v1/messages`: `max_tokens` is required.
    Reply,
    /// `POST /v1/messages/count_tokens`: the system, messages and tools only; the
    /// generation settings (`max_tokens`, sampling, `stop_sequences`, `metadata`, `stream`,
    /// `tool_choice`, `thinking`, `output_config`) are ignored.
    Count,
}

/// Maps a Messages request to chat; `drop_params` drops unknown keys instead of refusing
/// them.
pub fn to_chat(
    request: CreateMessage,
    purpose: Purpose,
    drop_params: bool,
) -> Result<ChatRequest, Error> {
    let CreateMessage {
        model,
        messages,
        max_tokens,
        system,
        temperature,
        top_p,
        top_k,
        stop_sequences,
        stream,
        metadata,
        tools,
        tool_choice,
        thinking,
        output_config,
        extra,
        context,
    } = request;
    for key in extra.keys() {
        if IGNORED_KEYS.contains(&key) {
            continue;
        }
        if drop_params {
            tracing::debug!(param = %key, "dropping a Messages param this front door does not serve");
            continue;
        }
        return Err(Error::new(
            ErrorKind::UnsupportedParams,
            format!("{key}: not supported by this Messages API front door"),
        )
        .with_param(key));
    }
    let mut chat = ChatRequest::new(model, Vec::new());
    chat.context = context;
    chat.max_tokens = match (purpose, max_tokens) {
        (Purpose::Count, _) => None,
        (Purpose::Reply, None) => {
            return Err(Error::invalid_param(
                "max_tokens",
                "max_tokens: Field required",
            ));
        }
        (Purpose::Reply, Some(tokens)) if tokens <= 0 => {
            return Err(Error::invalid_param(
                "max_tokens",
                format!("max_tokens: must be at least 1, got {tokens}"),
            ));
        }
        (Purpose::Reply, Some(tokens)) => Some(u32::try_from(tokens).map_err(|_| {
            Error::invalid_param(
                "max_tokens",
                format!("max_tokens: {tokens} is larger than any model's output"),
            )
        })?),
    };
    if let Some(system) = system {
        chat.messages.push(system_message(system));
    }
    chat.messages.extend(conversation(messages)?);
    chat.tools = tools.map(chat_tools).transpose()?;
    if purpose == Purpose::Count {
        // A count reads the instructions, turns and tools; the settings of a generation are
        // not carried, so that none of them can fail it.
        return Ok(chat);
    }
    chat.temperature = temperature;
    chat.top_p = top_p;
    if let Some(top_k) = top_k {
        chat.extra.insert("top_k", Value::from(top_k).into());
    }
    chat.stop = stop_sequences
        .filter(|sequences| !sequences.is_empty())
        .map(Stop::Many);
    chat.user = metadata.and_then(|metadata| metadata.user_id);
    if stream == Some(true) {
        chat.stream = Some(true);
        chat.stream_options = Some(StreamOptions {
            include_usage: Some(true),
            extra: Default::default(),
        });
    }
    if let Some(choice) = tool_choice {
        apply_tool_choice(&mut chat, choice)?;
    }
    let OutputConfig { effort, format } = output_config.unwrap_or_default();
    match (thinking.map(chat_thinking).transpose()?, effort) {
        (Some(Reasoning::Thinking(thinking)), effort) => {
            if effort.is_some() {
                tracing::debug!(
                    "output_config.effort is not carried beside an explicit thinking setting"
                );
            }
            chat.thinking = Some(thinking);
        }
        (_, Some(effort)) => chat.reasoning_effort = Some(reasoning_effort(&effort)?),
        (Some(Reasoning::Adaptive), None) => {
            chat.thinking = Some(Thinking {
                kind: "enabled".to_owned(),
                budget_tokens: None,
                extra: Default::default(),
            });
        }
        (None, None) => {}
    }
    chat.response_format = format.map(response_format).transpose()?;
    Ok(chat)
}

/// `output_config.effort` as a chat `reasoning_effort`.
fn reasoning_effort(effort: &str) -> Result<ReasoningEffort, Error> {
    let level = match effort {
        "low" | "medium" | "high" => effort,
        "max" => "high",
        other => {
            return Err(Error::invalid_param(
                "output_config.effort",
                format!("output_config.effort: `{other}` is not one of low, medium, high, max"),
            ));
        }
    };
    Ok(ReasoningEffort::Level(level.to_owned()))
}

/// `output_config.format` as a chat `response_format`.
fn response_format(format: OutputFormat) -> Result<ResponseFormat, Error> {
    if format.kind != "json_schema" {
        return Err(Error::invalid_param(
            "output_config.format.type",
            format!(
                "output_config.format.type: `{}` is not `json_schema`",
                format.kind
            ),
        ));
    }
    let schema = format.schema.ok_or_else(|| {
        Error::invalid_param(
            "output_config.format.schema",
            "output_config.format.schema: Field required",
        )
    })?;
    Ok(ResponseFormat {
        kind: "json_schema".to_owned(),
        json_schema: Some(JsonSchemaFormat {
            name: Some("output".to_owned()),
            schema: Some(schema),
            strict: None,
            extra: Default::default(),
        }),
        response_schema: None,
        enforce_validation: None,
        extra: Default::default(),
    })
}

fn system_message(system: System) -> Message {
    match system {
        System::Text(text) => Message::text(Role::System, text),
        System::Blocks(blocks) => {
            let mut message = Message::text(Role::System, String::new());
            message.content = Some(Content::Parts(
                blocks
                    .into_iter()
                    .map(|block| text_part(block.text, block.cache_control))
                    .collect(),
            ));
            message
        }
    }
}

/// The conversation, checked as Anthropic checks it.
fn conversation(messages: Vec<InputMessage>) -> Result<Vec<Message>, Error> {
    if messages.is_empty() {
        return Err(Error::invalid_param(
            "messages",
            "messages: at least one message is required",
        ));
    }
    let messages = merge_turns(messages);
    let mut out = Vec::with_capacity(messages.len());
    // The `tool_use` ids of the assistant message just before, not yet answered.
    let mut open_calls: Vec<String> = Vec::new();
    let mut previous: Option<MessageRole> = None;
    for (origin, message) in messages {
        let index = origin.first;
        if message.role == MessageRole::System {
            out.push(system_turn(message.content, &origin)?);
            continue;
        }
        match (previous, message.role) {
            (None, MessageRole::Assistant) => {
                return Err(Error::invalid_param(
                    format!("messages[{index}].role"),
                    format!("messages[{index}].role: the first message must use the `user` role"),
                ));
            }
            (Some(before), role) if before == role => {
                return Err(Error::invalid_param(
                    format!("messages[{index}].role"),
                    format!(
                        "messages[{index}].role: roles must alternate between `user` and `assistant`"
                    ),
                ));
            }
            _ => {}
        }
        previous = Some(message.role);
        match message.role {
            MessageRole::User => {
                out.extend(user_turn(message.content, &origin, &open_calls)?);
                open_calls.clear();
            }
            MessageRole::System => {}
            MessageRole::Assistant => {
                let turn = assistant_turn(message.content, &origin)?;
                open_calls = turn
                    .tool_calls
                    .iter()
                    .flatten()
                    .map(|call| call.id.clone())
                    .collect();
                out.push(turn);
            }
        }
    }
    Ok(out)
}

/// The conversation with consecutive `user` (or `assistant`) messages merged into one turn,
/// their blocks in order, as Anthropic's API reads them; each turn with where its blocks
/// came from.
fn merge_turns(messages: Vec<InputMessage>) -> Vec<(Origin, InputMessage)> {
    let mut turns: Vec<(Origin, InputMessage)> = Vec::with_capacity(messages.len());
    for (index, message) in messages.into_iter().enumerate() {
        match turns.last_mut() {
            Some((origin, turn))
                if turn.role == message.role && message.role != MessageRole::System =>
            {
                let mut merged = blocks(std::mem::replace(
                    &mut turn.content,
                    MessageContent::Blocks(Vec::new()),
                ));
                origin.starts.push((merged.len(), index));
                merged.extend(blocks(message.content));
                turn.content = MessageContent::Blocks(merged);
            }
            _ => turns.push((Origin::new(index), message)),
        }
    }
    turns
}

/// Where the blocks of a turn came from, so that an error names the block as the client
/// sent it: the turn's first message, and where each merged message's blocks start.
struct Origin {
    first: usize,
    /// `(position of its first block in the turn, message index)`, in order.
    starts: Vec<(usize, usize)>,
}

impl Origin {
    fn new(index: usize) -> Self {
        Self {
            first: index,
            starts: vec![(0, index)],
        }
    }

    /// `messages[i].content[j]` of the turn's block at `position`.
    fn block(&self, position: usize) -> String {
        let (start, index) = self
            .starts
            .iter()
            .rev()
            .find(|(start, _)| *start <= position)
            .copied()
            .unwrap_or((0, self.first));
        format!("messages[{index}].content[{}]", position - start)
    }
}

/// A `system` message of the conversation: its text blocks.
fn system_turn(content: MessageContent, origin: &Origin) -> Result<Message, Error> {
    let mut parts = Vec::new();
    for (block_index, block) in blocks(content).into_iter().enumerate() {
        match block {
            InputBlock::Text {
                text,
                cache_control,
            } => parts.push(text_part(text, cache_control)),
            other => {
                let at = origin.block(block_index);
                return Err(Error::invalid_param(
                    format!("{at}.type"),
                    format!(
                        "{at}.type: a `{}` block cannot appear in a system message",
                        block_type(&other)
                    ),
                ));
            }
        }
    }
    let mut message = Message::text(Role::System, String::new());
    message.content = Some(Content::Parts(parts));
    Ok(message)
}

fn blocks(content: MessageContent) -> Vec<InputBlock> {
    match content {
        MessageContent::Text(text) => vec![InputBlock::Text {
            text,
            cache_control: None,
        }],
        MessageContent::Blocks(blocks) => blocks,
    }
}

/// A user message: its tool results as `tool` messages, then its other blocks.
fn user_turn(
    content: MessageContent,
    origin: &Origin,
    open_calls: &[String],
) -> Result<Vec<Message>, Error> {
    if let MessageContent::Text(text) = content {
        if !open_calls.is_empty() {
            return Err(unanswered(origin.first, open_calls));
        }
        return Ok(vec![Message::text(Role::User, text)]);
    }
    let mut out = Vec::new();
    let mut parts = Vec::new();
    let mut answered = HashSet::new();
    for (block_index, block) in blocks(content).into_iter().enumerate() {
        let at = origin.block(block_index);
        match block {
            InputBlock::ToolResult(result) => {
                if !open_calls.contains(&result.tool_use_id) {
                    return Err(Error::invalid_param(
                        format!("{at}.tool_use_id"),
                        format!(
                            "{at}.tool_use_id: unexpected `tool_use_id` {:?}: each `tool_result` must answer a `tool_use` of the previous message",
                            result.tool_use_id
                        ),
                    ));
                }
                answered.insert(result.tool_use_id.clone());
                out.push(tool_message(result, &at)?);
            }
            block => parts.push(media_part(block, &at)?),
        }
    }
    let missing: Vec<String> = open_calls
        .iter()
        .filter(|id| !answered.contains(*id))
        .cloned()
        .collect();
    if !missing.is_empty() {
        return Err(unanswered(origin.first, &missing));
    }
    // A mark caches the prefix up to its block: the blocks after the last mark go in a
    // message of their own, outside the cached head.
    let marked = parts.iter().rposition(|part| part.cache_control.is_some());
    let after = match marked {
        Some(last) => parts.split_off(last + 1),
        None => Vec::new(),
    };
    for parts in [parts, after] {
        if !parts.is_empty() {
            let mut message = Message::text(Role::User, String::new());
            message.content = Some(Content::Parts(parts));
            out.push(message);
        }
    }
    Ok(out)
}

fn unanswered(index: usize, ids: &[String]) -> Error {
    Error::invalid_param(
        format!("messages[{index}]"),
        format!(
            "messages[{index}]: `tool_use` ids were found without `tool_result` blocks immediately after: {}",
            ids.join(", ")
        ),
    )
}

fn tool_message(result: ToolResultBlock, at: &str) -> Result<Message, Error> {
    let mut message = Message::text(Role::Tool, String::new());
    message.tool_call_id = Some(result.tool_use_id);
    message.cache_control = result.cache_control;
    message.content = Some(match result.content {
        None => Content::Text(String::new()),
        Some(ToolResultContent::Text(text)) => Content::Text(text),
        Some(ToolResultContent::Blocks(blocks)) => Content::Parts(
            blocks
                .into_iter()
                .enumerate()
                .map(|(index, block)| media_part(block, &format!("{at}.content[{index}]")))
                .collect::<Result<_, _>>()?,
        ),
    });
    Ok(message)
}

fn text_part(text: String, cache_control: Option<CacheControl>) -> ContentPart {
    ContentPart {
        text: Some(text),
        ..empty_part("text", cache_control)
    }
}

/// A part of `kind` with no data yet.
fn empty_part(kind: &str, cache_control: Option<CacheControl>) -> ContentPart {
    ContentPart {
        kind: kind.to_owned(),
        text: None,
        image_url: None,
        input_audio: None,
        file: None,
        cache_control,
        extra: Default::default(),
    }
}

/// A text, image or document block as a chat content part.
fn media_part(block: InputBlock, at: &str) -> Result<ContentPart, Error> {
    let part = match block {
        InputBlock::Text {
            text,
            cache_control,
        } => text_part(text, cache_control),
        InputBlock::Image {
            source,
            cache_control,
        } => {
            let url = match source {
                ImageSource::Base64(source) => {
                    format!("data:{};base64,{}", source.media_type, source.data)
                }
                ImageSource::Url { url } => url,
            };
            ContentPart {
                image_url: Some(ImageUrl::Url(url)),
                ..empty_part("image_url", cache_control)
            }
        }
        InputBlock::Document {
            source,
            title,
            cache_control,
        } => {
            let file = match source {
                DocumentSource::Text { data, .. } => return Ok(text_part(data, cache_control)),
                DocumentSource::Base64(source) => FileInput {
                    file_id: None,
                    file_data: Some(format!("data:{};base64,{}", source.media_type, source.data)),
                    filename: title,
                    format: Some(source.media_type),
                    extra: Default::default(),
                },
                DocumentSource::Url { url } => FileInput {
                    file_id: Some(url),
                    file_data: None,
                    filename: title,
                    format: Some("application/pdf".to_owned()),
                    extra: Default::default(),
                },
            };
            ContentPart {
                file: Some(file),
                ..empty_part("file", cache_control)
            }
        }
        other => {
            return Err(Error::invalid_param(
                format!("{at}.type"),
                format!(
                    "{at}.type: a `{}` block cannot appear here",
                    block_type(&other)
                ),
            ));
        }
    };
    Ok(part)
}

fn block_type(block: &InputBlock) -> &'static str {
    match block {
        InputBlock::Text { .. } => "text",
        InputBlock::Image { .. } => "image",
        InputBlock::Document { .. } => "document",
        InputBlock::ToolUse(_) => "tool_use",
        InputBlock::ToolResult(_) => "tool_result",
        InputBlock::Thinking { .. } => "thinking",
        InputBlock::RedactedThinking { .. } => "redacted_thinking",
    }
}

/// An assistant message: text, calls and thinking, with the thought signatures put back
/// where the reply had them.
fn assistant_turn(content: MessageContent, origin: &Origin) -> Result<Message, Error> {
    let mut message = Message::text(Role::Assistant, String::new());
    message.content = None;
    let mut text = String::new();
    let mut calls = Vec::new();
    let mut thoughts = Vec::new();
    let mut state = ThoughtState::default();
    for (block_index, block) in blocks(content).into_iter().enumerate() {
        let at = origin.block(block_index);
        match block {
            InputBlock::Text {
                text: more,
                cache_control,
            } => {
                text.push_str(&more);
                if cache_control.is_some() {
                    message.cache_control = cache_control;
                }
            }
            InputBlock::ToolUse(call) => {
                let arguments = match call.input {
                    Value::Null => "{}".to_owned(),
                    Value::Object(_) => call.input.to_string(),
                    _ => {
                        return Err(Error::invalid_param(
                            format!("{at}.input"),
                            format!("{at}.input: must be an object"),
                        ));
                    }
                };
                if call.cache_control.is_some() {
                    message.cache_control = call.cache_control;
                }
                calls.push(ToolCall {
                    id: call.id,
                    kind: "function".to_owned(),
                    function: FunctionCall {
                        name: call.name,
                        arguments,
                        provider_specific_fields: None,
                    },
                    provider_specific_fields: None,
                    extra: Default::default(),
                });
            }
            InputBlock::Thinking {
                thinking,
                signature,
            } => match ThoughtState::decode(&signature) {
                Some(carried) => {
                    state.calls.extend(carried.calls);
                    state.text.extend(carried.text);
                }
                None => thoughts.push(ThinkingBlock {
                    kind: "thinking".to_owned(),
                    thinking: Some(thinking).filter(|text| !text.is_empty()),
                    signature: Some(signature).filter(|text| !text.is_empty()),
                }),
            },
            InputBlock::RedactedThinking { .. } => {
                tracing::debug!(
                    "dropping a redacted_thinking block: only Anthropic's models read it"
                );
            }
            other => {
                return Err(Error::invalid_param(
                    format!("{at}.type"),
                    format!(
                        "{at}.type: a `{}` block cannot appear in an assistant message",
                        block_type(&other)
                    ),
                ));
            }
        }
    }
    for call in &mut calls {
        if let Some(signature) = state.calls.get(&call.id) {
            call.provider_specific_fields =
                Some(serde_json::json!({ "thought_signature": signature }));
        }
    }
    if !text.is_empty() {
        message.content = Some(Content::Text(text));
    }
    if !calls.is_empty() {
        message.tool_calls = Some(calls);
    }
    if !thoughts.is_empty() {
        message.thinking_blocks = Some(thoughts);
    }
    if !state.text.is_empty() {
        message.provider_specific_fields =
            Some(serde_json::json!({ "thought_signatures": state.text }));
    }
    Ok(message)
}

fn chat_tools(tools: Vec<ToolDefinition>) -> Result<Vec<Tool>, Error> {
    tools
        .into_iter()
        .enumerate()
        .map(|(index, tool)| match tool.kind.as_deref() {
            None | Some("custom") => {
                let schema = tool.input_schema.ok_or_else(|| {
                    Error::invalid_param(
                        format!("tools[{index}].input_schema"),
                        format!("tools[{index}].input_schema: Field required"),
                    )
                })?;
                Ok(Tool {
                    kind: Some("function".to_owned()),
                    function: Some(FunctionDefinition {
                        name: tool.name,
                        description: tool.description,
                        parameters: Some(schema),
                        strict: None,
                        extra: Default::default(),
                    }),
                    extra: Default::default(),
                })
            }
            Some(kind) if kind.starts_with("web_search") => Ok(Tool {
                kind: Some("web_search".to_owned()),
                function: None,
                extra: Default::default(),
            }),
            Some(kind) => Err(Error::new(
                ErrorKind::UnsupportedParams,
                format!("tools[{index}].type: the server tool `{kind}` is not served here"),
            )
            .with_param(format!("tools[{index}].type"))),
        })
        .collect()
}

fn apply_tool_choice(chat: &mut ChatRequest, choice: MessagesToolChoice) -> Result<(), Error> {
    chat.tool_choice = Some(match choice.kind.as_str() {
        "auto" => ToolChoice::Mode("auto".to_owned()),
        "any" => ToolChoice::Mode("required".to_owned()),
        "none" => ToolChoice::Mode("none".to_owned()),
        "tool" => {
            let name = choice.name.ok_or_else(|| {
                Error::invalid_param(
                    "tool_choice.name",
                    "tool_choice.name: Field required with `\"type\": \"tool\"`",
                )
            })?;
            ToolChoice::Named(NamedToolChoice {
                kind: Some("function".to_owned()),
                function: Some(FunctionName { name }),
                name: None,
                extra: Default::default(),
            })
        }
        other => {
            return Err(Error::invalid_param(
                "tool_choice.type",
                format!("tool_choice.type: `{other}` is not one of auto, any, tool, none"),
            ));
        }
    });
    if choice.disable_parallel_tool_use == Some(true) {
        chat.parallel_tool_calls = Some(false);
    }
    Ok(())
}

/// What `thinking` asks for.
enum Reasoning {
    /// An explicit setting.
    Thinking(Thinking),
    /// The model decides.
    Adaptive,
}

fn chat_thinking(thinking: crate::anthropic::ThinkingConfig) -> Result<Reasoning, Error> {
    match thinking.kind.as_str() {
        "enabled" => {
            let budget = thinking.budget_tokens.ok_or_else(|| {
                Error::invalid_param(
                    "thinking.budget_tokens",
                    "thinking.budget_tokens: Field required with `\"type\": \"enabled\"`",
                )
            })?;
            if budget < 1 {
                return Err(Error::invalid_param(
                    "thinking.budget_tokens",
                    format!("thinking.budget_tokens: must be at least 1, got {budget}"),
                ));
            }
            Ok(Reasoning::Thinking(Thinking {
                kind: "enabled".to_owned(),
                budget_tokens: Some(budget),
                extra: Default::default(),
            }))
        }
        "disabled" => Ok(Reasoning::Thinking(Thinking {
            kind: "disabled".to_owned(),
            budget_tokens: None,
            extra: Default::default(),
        })),
        "adaptive" => Ok(Reasoning::Adaptive),
        other => Err(Error::invalid_param(
            "thinking.type",
            format!("thinking.type: `{other}` is not one of enabled, adaptive, disabled"),
        )),
    }
}

#[cfg(test)]
mod examples {
    #[test]
    fn to_chat() -> Result<(), Box<dyn std::error::Error>> {
        use crate::layers::messages::request::{Purpose, to_chat};

        let request = serde_json::from_value(serde_json::json!({
            "model": "claude-sonnet-4", "max_tokens": 64, "system": "Be brief.",
            "messages": [{"role": "user", "content": "Hi"}], "top_k": 5
        }))?;
        let chat = to_chat(request, Purpose::Reply, false)?;
        assert_eq!(
            serde_json::to_value(&chat)?,
            serde_json::json!({
                "model": "claude-sonnet-4",
                "messages": [
                    {"role": "system", "content": "Be brief."},
                    {"role": "user", "content": "Hi"}
                ],
                "max_tokens": 64,
                "top_k": 5
            })
        );
        Ok(())
    }
}
