//! OpenAI `messages` → Gemini `contents` and `systemInstruction`.
//!
//! Rules (each has a test):
//! - every system and developer message, wherever it stands, becomes parts of the one
//!   `systemInstruction`, one part per text (not glued together);
//! - user → `user`, assistant → `model`; consecutive turns of one role merge, except that
//!   function results and ordinary user text stay in separate `user` turns;
//! - consecutive `tool` messages (parallel results) merge into ONE `user` turn right after
//!   the model's call turn; each `functionResponse` takes its name from the assistant tool
//!   call with the same id (any earlier assistant message, not just the last), and its
//!   `response` is the result if that is a JSON object, else `{"content": <text>}` (the
//!   text parts of a list-form result joined by newlines; its images, files and audio follow
//!   the `functionResponse` as parts of their own, as LiteLLM sends them);
//! - assistant `tool_calls` → `functionCall` parts with the arguments parsed (`""` → `{}`);
//!   the thought signature comes from `provider_specific_fields`, else from the id suffix
//!   after `__thought__` (LiteLLM's encoding), else, for models that refuse a replayed call
//!   turn without one (Gemini 3: the model table's `signed_function_calls`), Google's
//!   documented placeholder on the first call of each assistant message;
//! - `reasoning_content` / `thinking_blocks` replay as thought parts;
//! - images: data URIs (base64 or percent-encoded) → `inlineData`; `gs://` and http(s) URIs
//!   → `fileData` with the media type from `format` or the extension (the media-fetch layer
//!   has already inlined the http(s) images AI Studio cannot fetch); `input_audio` →
//!   `inlineData`; `file` parts → `fileData` or `inlineData`;
//! - `image_url.detail` `low` / `medium` / `high` / `ultra_high` → the part's
//!   `mediaResolution` where the model takes one per part (the model table's
//!   `media_resolution`: Gemini 3 and later, `gemini-flash-latest` too; `auto`: unset);
//!   older models have only the request-wide `generationConfig.mediaResolution`, so the
//!   detail is not sent to them;
//! - a conversation with no user turn left (only system messages) gets a `"."` user turn;
//!   an empty `messages` list is a 400.
//!
//! Unknown keys on a message (OpenAI's `refusal`, `annotations`, `audio` on replayed
//! assistant messages) are ignored, so that clients can send back what they received;
//! unknown content part types are refused by name.

use std::collections::HashMap;

use base64::Engine;
use serde_json::{Map, Value};

use crate::error::Error;
use crate::mime::mime_from_extension;
use crate::openai::chat::{Content, ContentPart, Message, Role, ToolCall, split_thought_id};
use crate::providers::gemini::facts::ModelFacts;
use crate::providers::gemini::wire::{
    self, Blob, FileData, FunctionResponse, MediaResolution, Part,
};
use crate::upstream::redact_url;

pub use crate::openai::chat::THOUGHT_SEPARATOR;

/// Google's documented placeholder signature (base64 of `skip_thought_signature_validator`).
pub const DUMMY_THOUGHT_SIGNATURE: &str = "c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I=";

/// The translated conversation.
#[derive(Debug, Default, PartialEq)]
pub struct Conversation {
    /// `systemInstruction`.
    pub system_instruction: Option<wire::Content>,
    /// `contents`.
    pub contents: Vec<wire::Content>,
    /// How many leading `contents` (with the system instruction) make up the head the
    /// request marked for a context cache (0: the system instruction alone); `None` when
    /// nothing can be cached.
    pub cached_contents: Option<usize>,
    /// The index of the content the head boundary kept apart from the one before it
    /// (without `cache_control` they are one turn; see [`join_split_turn`]).
    pub head_split: Option<usize>,
}

/// Joins `contents[at]` into `contents[at - 1]`, undoing a split the head boundary made:
/// the contents become those of the request without `cache_control`.
pub fn join_split_turn(contents: &mut Vec<wire::Content>, at: usize) {
    if at > 0 && at < contents.len() {
        let next = contents.remove(at);
        contents[at - 1].parts.extend(next.parts);
    }
}

/// Which kind of turn a content is, for merging.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Turn {
    User,
    Model,
    FunctionResults,
}

impl Turn {
    fn role(self) -> &'static str {
        match self {
            Self::User | Self::FunctionResults => "user",
            Self::Model => "model",
        }
    }
}

/// Translates `messages` for a model with `facts`, keeping messages `0..=cache_end` apart as the head of the
/// conversation for a context cache: the turn after it is never merged into it. A system
/// message after the head makes the head uncachable (a cache holds the system instruction
/// and a request naming a cache may not carry one).
pub fn translate_conversation(
    messages: Vec<Message>,
    facts: &ModelFacts,
    cache_end: Option<usize>,
) -> Result<Conversation, Error> {
    if messages.is_empty() {
        return Err(Error::invalid_param(
            "messages",
            "messages must contain at least one message",
        ));
    }
    let mut builder = Builder {
        part_resolution: facts.media_resolution,
        signed_calls: facts.signed_function_calls,
        system: Vec::new(),
        turns: Vec::with_capacity(messages.len()),
        call_names: HashMap::new(),
        head: None,
        head_open: true,
        head_split: None,
    };
    for (index, message) in messages.into_iter().enumerate() {
        let system = matches!(message.role, Role::System | Role::Developer);
        builder.add(message, index)?;
        match cache_end {
            Some(end) if index == end => builder.head = Some(builder.turns.len()),
            Some(end) if index > end && system => builder.head_open = false,
            _ => {}
        }
    }
    Ok(builder.finish())
}

struct Builder {
    /// Whether the model takes a `mediaResolution` per part.
    part_resolution: bool,
    /// Whether the model refuses a replayed call turn without a thought signature.
    signed_calls: bool,
    system: Vec<Part>,
    turns: Vec<(Turn, Vec<Part>)>,
    /// Tool-call id (without signature suffix) → function name.
    call_names: HashMap<String, String>,
    /// Turns in the head marked for a context cache, once it is complete.
    head: Option<usize>,
    /// No system message came after the head.
    head_open: bool,
    /// The turn after the head, when it was kept apart from a head turn of its kind.
    head_split: Option<usize>,
}

impl Builder {
    fn add(&mut self, message: Message, index: usize) -> Result<(), Error> {
        match message.role {
            Role::System | Role::Developer => {
                let parts = self.content_parts(message.content, index, true)?;
                self.system.extend(parts);
            }
            Role::User => {
                let parts = self.content_parts(message.content, index, false)?;
                self.push(Turn::User, parts);
            }
            Role::Assistant => {
                let parts = self.assistant_parts(message, index)?;
                self.push(Turn::Model, parts);
            }
            Role::Tool => {
                let parts = self.tool_result(message, index)?;
                self.push(Turn::FunctionResults, parts);
            }
            Role::Function => {
                let name = message.name.clone().ok_or_else(|| {
                    Error::invalid_param(
                        format!("messages[{index}].name"),
                        format!("messages[{index}]: a function message needs a `name`"),
                    )
                })?;
                let parts = result_parts(name, message.content, index, self.part_resolution)?;
                self.push(Turn::FunctionResults, parts);
            }
        }
        Ok(())
    }

    fn push(&mut self, turn: Turn, parts: Vec<Part>) {
        if parts.is_empty() {
            return;
        }
        let after_head = self.head == Some(self.turns.len());
        match self.turns.last_mut() {
            Some((last, existing)) if *last == turn && !after_head => existing.extend(parts),
            Some((last, _)) => {
                if *last == turn {
                    self.head_split = Some(self.turns.len());
                }
                self.turns.push((turn, parts));
            }
            None => self.turns.push((turn, parts)),
        }
    }

    fn finish(self) -> Conversation {
        let mut contents: Vec<wire::Content> = self
            .turns
            .into_iter()
            .map(|(turn, parts)| wire::Content {
                role: Some(turn.role().to_owned()),
                parts,
            })
            .collect();
        if !contents
            .iter()
            .any(|content| content.role.as_deref() == Some("user"))
        {
            contents.push(wire::Content {
                role: Some("user".to_owned()),
                parts: vec![Part::text(".")],
            });
        }
        let system_instruction = (!self.system.is_empty()).then(|| wire::Content {
            role: None,
            parts: self.system,
        });
        // The live request needs at least one content of its own.
        let cached_contents = self
            .head
            .filter(|_| self.head_open)
            .map(|head| head.min(contents.len().saturating_sub(1)));
        Conversation {
            system_instruction,
            contents,
            head_split: self.head_split,
            cached_contents,
        }
    }

    fn content_parts(
        &self,
        content: Option<Content>,
        index: usize,
        text_only: bool,
    ) -> Result<Vec<Part>, Error> {
        match content {
            None => Ok(Vec::new()),
            Some(Content::Text(text)) if text.is_empty() => Ok(Vec::new()),
            Some(Content::Text(text)) => Ok(vec![Part::text(text)]),
            Some(Content::Parts(parts)) => {
                let mut out = Vec::with_capacity(parts.len());
                for (part_index, part) in parts.into_iter().enumerate() {
                    let location = PartLocation::content(index, part_index);
                    if text_only && part.kind != "text" {
                        return Err(Error::invalid_param(
                            location.param(""),
                            format!(
                                "{}: system and developer messages may only contain text parts, got {:?}",
                                location.param(""),
                                part.kind
                            ),
                        ));
                    }
                    if let Some(part) = media_or_text_part(part, &location, self.part_resolution)? {
                        out.push(part);
                    }
                }
                Ok(out)
            }
        }
    }

    fn assistant_parts(&mut self, message: Message, index: usize) -> Result<Vec<Part>, Error> {
        let mut parts = Vec::new();
        if let Some(reasoning) = message.reasoning_content.filter(|text| !text.is_empty())
            && message.thinking_blocks.is_none()
        {
            parts.push(Part {
                text: Some(reasoning),
                thought: Some(true),
                ..Part::default()
            });
        }
        for block in message.thinking_blocks.into_iter().flatten() {
            if block.thinking.is_none() && block.signature.is_none() {
                continue;
            }
            parts.push(Part {
                text: block.thinking,
                thought: Some(true),
                thought_signature: block.signature,
                ..Part::default()
            });
        }
        let message_signature = message
            .provider_specific_fields
            .as_ref()
            .and_then(|fields| fields.get("thought_signatures"))
            .and_then(|signatures| signatures.get(0))
            .and_then(Value::as_str)
            .map(str::to_owned);
        let has_calls = message
            .tool_calls
            .as_ref()
            .is_some_and(|calls| !calls.is_empty())
            || message.function_call.is_some();
        let text_start = parts.len();
        parts.extend(self.content_parts(message.content, index, false)?);
        if !has_calls
            && let (Some(signature), Some(part)) = (message_signature, parts.get_mut(text_start))
        {
            part.thought_signature.get_or_insert(signature);
        }
        for (image_index, image) in message.images.into_iter().flatten().enumerate() {
            let location = PartLocation {
                message: index,
                list: "images",
                part: image_index,
            };
            parts.push(
                data_uri_part(&image.image_url.url, None, &location)?.unwrap_or_else(|| Part {
                    file_data: Some(FileData {
                        mime_type: None,
                        file_uri: image.image_url.url,
                    }),
                    ..Part::default()
                }),
            );
        }
        let first_call = parts.len();
        for (call_index, call) in message.tool_calls.into_iter().flatten().enumerate() {
            parts.push(self.call_part(call, index, call_index)?);
        }
        if let Some(call) = message.function_call {
            let args = parse_arguments(
                &call.arguments,
                &format!("messages[{index}].function_call.arguments"),
            )?;
            parts.push(Part {
                function_call: Some(wire::FunctionCall {
                    id: None,
                    name: call.name,
                    args: Some(args),
                }),
                ..Part::default()
            });
        }
        if self.signed_calls
            && let Some(first) = parts.get_mut(first_call)
            && first.function_call.is_some()
            && first.thought_signature.is_none()
        {
            first.thought_signature = Some(DUMMY_THOUGHT_SIGNATURE.to_owned());
        }
        Ok(parts)
    }

    fn call_part(
        &mut self,
        call: ToolCall,
        index: usize,
        call_index: usize,
    ) -> Result<Part, Error> {
        let (id, id_signature) = split_thought_id(&call.id);
        let signature = signature_field(call.provider_specific_fields.as_ref())
            .or_else(|| signature_field(call.function.provider_specific_fields.as_ref()))
            .or(id_signature.filter(|signature| !signature.is_empty()))
            .map(str::to_owned);
        self.call_names
            .insert(id.to_owned(), call.function.name.clone());
        let args = parse_arguments(
            &call.function.arguments,
            &format!("messages[{index}].tool_calls[{call_index}].function.arguments"),
        )?;
        Ok(Part {
            function_call: Some(wire::FunctionCall {
                id: None,
                name: call.function.name,
                args: Some(args),
            }),
            thought_signature: signature,
            ..Part::default()
        })
    }

    fn tool_result(&self, message: Message, index: usize) -> Result<Vec<Part>, Error> {
        let call_id = message.tool_call_id.as_deref().ok_or_else(|| {
            Error::invalid_param(
                format!("messages[{index}].tool_call_id"),
                format!("messages[{index}]: a tool message needs a `tool_call_id`"),
            )
        })?;
        let bare_id = split_thought_id(call_id).0;
        let name = match self.call_names.get(bare_id) {
            Some(name) => name.clone(),
            None => message.name.clone().ok_or_else(|| {
                Error::invalid_param(
                    format!("messages[{index}].tool_call_id"),
                    format!(
                        "messages[{index}]: tool_call_id {bare_id:?} matches no tool call of an earlier assistant message"
                    ),
                )
            })?,
        };
        result_parts(name, message.content, index, self.part_resolution)
    }
}

fn signature_field(fields: Option<&Value>) -> Option<&str> {
    fields?.get("thought_signature")?.as_str()
}

fn response_part(name: String, response: Value) -> Part {
    Part {
        function_response: Some(FunctionResponse {
            id: None,
            name,
            response,
        }),
        ..Part::default()
    }
}

/// A tool or function result (message `index`) → its `functionResponse` part, followed by
/// the media parts (images, files, audio) of a list-form result.
fn result_parts(
    name: String,
    content: Option<Content>,
    index: usize,
    part_resolution: bool,
) -> Result<Vec<Part>, Error> {
    let mut media = Vec::new();
    let text = match content {
        None => String::new(),
        Some(Content::Text(text)) => text,
        Some(Content::Parts(parts)) => {
            let mut texts = Vec::new();
            for (part_index, part) in parts.into_iter().enumerate() {
                if part.kind == "text" {
                    texts.extend(part.text);
                } else {
                    let location = PartLocation::content(index, part_index);
                    media.extend(media_or_text_part(part, &location, part_resolution)?);
                }
            }
            texts.join("\n")
        }
    };
    let mut parts = Vec::with_capacity(1 + media.len());
    parts.push(response_part(name, function_response(text)));
    parts.extend(media);
    Ok(parts)
}

/// A tool result as a JSON object: the result itself if it is one, else `{"content": text}`.
fn function_response(text: String) -> Value {
    let trimmed = text.trim_start();
    if trimmed.starts_with('{')
        && let Ok(Value::Object(object)) = serde_json::from_str::<Value>(&text)
    {
        return Value::Object(object);
    }
    Value::Object(Map::from_iter([(
        "content".to_owned(),
        Value::String(text),
    )]))
}

fn parse_arguments(arguments: &str, param: &str) -> Result<Value, Error> {
    if arguments.trim().is_empty() {
        return Ok(Value::Object(Map::new()));
    }
    match serde_json::from_str(arguments) {
        Ok(Value::Object(object)) => Ok(Value::Object(object)),
        Ok(_) => Err(Error::invalid_param(
            param,
            format!("{param} must be a JSON object"),
        )),
        Err(error) => Err(Error::invalid_param(
            param,
            format!("{param} is not valid JSON: {error}"),
        )),
    }
}

/// Where a part is in the request, for error messages: `messages[m].{list}[p]`.
struct PartLocation {
    message: usize,
    list: &'static str,
    part: usize,
}

impl PartLocation {
    /// Part `part` of message `message`'s `content`.
    fn content(message: usize, part: usize) -> Self {
        Self {
            message,
            list: "content",
            part,
        }
    }

    fn param(&self, field: &str) -> String {
        format!(
            "messages[{}].{}[{}]{field}",
            self.message, self.list, self.part
        )
    }
}

fn media_or_text_part(
    part: ContentPart,
    location: &PartLocation,
    part_resolution: bool,
) -> Result<Option<Part>, Error> {
    match part.kind.as_str() {
        "text" => Ok(part.text.filter(|text| !text.is_empty()).map(Part::text)),
        "image_url" => {
            let image = part
                .image_url
                .ok_or_else(|| missing(location, "image_url"))?;
            let resolution = media_resolution(image.detail(), location)?;
            let mut part = uri_part(image.url(), image.format(), location, ".image_url.url")?;
            if part_resolution {
                part.media_resolution = resolution;
            }
            Ok(Some(part))
        }
        "input_audio" => {
            let audio = part
                .input_audio
                .ok_or_else(|| missing(location, "input_audio"))?;
            let mime_type = if audio.format.contains('/') {
                audio.format
            } else {
                format!("audio/{}", audio.format)
            };
            Ok(Some(Part {
                inline_data: Some(Blob {
                    mime_type,
                    data: audio.data,
                }),
                ..Part::default()
            }))
        }
        "file" => {
            let file = part.file.ok_or_else(|| missing(location, "file"))?;
            let format = file.format.as_deref();
            match (&file.file_data, &file.file_id) {
                (Some(data), _) => uri_part(data, format, location, ".file.file_data").map(Some),
                (None, Some(id)) => uri_part(id, format, location, ".file.file_id").map(Some),
                (None, None) => Err(Error::invalid_param(
                    location.param(".file"),
                    format!(
                        "{}: a file part needs file_id or file_data",
                        location.param(".file")
                    ),
                )),
            }
        }
        other => Err(Error::invalid_param(
            location.param(".type"),
            format!(
                "{}: unsupported content part type {other:?} (expected text, image_url, input_audio or file)",
                location.param("")
            ),
        )),
    }
}

/// `image_url.detail` → a part's `mediaResolution` (`auto` and no detail: none).
fn media_resolution(
    detail: Option<&str>,
    location: &PartLocation,
) -> Result<Option<MediaResolution>, Error> {
    let level = match detail {
        None | Some("auto") => return Ok(None),
        Some("low") => "MEDIA_RESOLUTION_LOW",
        Some("medium") => "MEDIA_RESOLUTION_MEDIUM",
        Some("high") => "MEDIA_RESOLUTION_HIGH",
        Some("ultra_high") => "MEDIA_RESOLUTION_ULTRA_HIGH",
        Some(other) => {
            let param = location.param(".image_url.detail");
            return Err(Error::invalid_param(
                param.clone(),
                format!(
                    "{param}: {other:?} is not a detail (expected auto, low, medium, high or ultra_high)"
                ),
            ));
        }
    };
    Ok(Some(MediaResolution {
        level: level.to_owned(),
    }))
}

fn missing(location: &PartLocation, field: &str) -> Error {
    let param = location.param(&format!(".{field}"));
    Error::invalid_param(param.clone(), format!("{param} is missing"))
}

/// A data URI → `inlineData`; anything else → `fileData` with a known media type.
fn uri_part(
    uri: &str,
    format: Option<&str>,
    location: &PartLocation,
    field: &str,
) -> Result<Part, Error> {
    if let Some(part) = data_uri_part(uri, format, location)? {
        return Ok(part);
    }
    let is_remote = ["gs://", "https://", "http://"]
        .iter()
        .any(|scheme| uri.starts_with(scheme));
    if !is_remote {
        let param = location.param(field);
        return Err(Error::invalid_param(
            param.clone(),
            format!("{param}: expected a data: URI, a gs:// URI or an http(s) URL"),
        ));
    }
    let mime_type = format
        .map(str::to_owned)
        .or_else(|| mime_from_extension(uri).map(str::to_owned));
    let Some(mime_type) = mime_type else {
        // `.image_url.url` → `.image_url.format`, `.file.file_id` → `.file.format`.
        let object = field.rsplit_once('.').map_or(field, |(object, _)| object);
        let param = location.param(&format!("{object}.format"));
        return Err(Error::invalid_param(
            param.clone(),
            format!(
                "cannot tell the media type of {}; set {param}",
                redact_url(uri)
            ),
        ));
    };
    Ok(Part {
        file_data: Some(FileData {
            mime_type: Some(mime_type),
            file_uri: uri.to_owned(),
        }),
        ..Part::default()
    })
}

/// `data:<mime>;base64,<data>` → `inlineData`; `None` if `uri` is not a data URI.
fn data_uri_part(
    uri: &str,
    format: Option<&str>,
    location: &PartLocation,
) -> Result<Option<Part>, Error> {
    let Some(rest) = uri.strip_prefix("data:") else {
        return Ok(None);
    };
    let invalid = |why: &str| {
        let param = location.param("");
        Error::invalid_param(param.clone(), format!("{param}: invalid data URI: {why}"))
    };
    let (header, data) = rest.split_once(',').ok_or_else(|| invalid("no comma"))?;
    let (mime, encoding) = header.split_once(';').unwrap_or((header, ""));
    let mime_type = format.unwrap_or(if mime.is_empty() { "text/plain" } else { mime });
    let data = if encoding.split(';').any(|flag| flag == "base64") {
        data.to_owned()
    } else {
        base64::engine::general_purpose::STANDARD
            .encode(percent_encoding::percent_decode_str(data).collect::<Vec<u8>>())
    };
    Ok(Some(Part {
        inline_data: Some(Blob {
            mime_type: mime_type.to_owned(),
            data,
        }),
        ..Part::default()
    }))
}

#[cfg(test)]
mod examples {
    #[test]
    fn join_split_turn() {
        use crate::gemini::translate::messages::join_split_turn;
        use crate::gemini::wire::{Content, Part};

        let user = |text: &str| Content {
            role: Some("user".into()),
            parts: vec![Part::text(text)],
        };
        let mut contents = vec![user("a"), user("b")];
        join_split_turn(&mut contents, 1);
        assert_eq!(
            contents,
            [Content {
                role: Some("user".into()),
                parts: vec![Part::text("a"), Part::text("b")]
            }]
        );
    }

    #[test]
    fn translate_conversation() -> Result<(), Box<dyn std::error::Error>> {
        use crate::gemini::facts::facts;
        use crate::gemini::translate::messages::translate_conversation;
        use crate::openai::{Message, Role};

        let conversation = translate_conversation(
            vec![
                Message::text(Role::System, "Be brief."),
                Message::text(Role::User, "Hi"),
            ],
            facts("gemini-2.5-flash"),
            None,
        )?;
        assert_eq!(conversation.contents.len(), 1);
        assert!(conversation.system_instruction.is_some());
        Ok(())
    }
}
