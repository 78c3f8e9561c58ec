//! The answers of the [`StandIn`](super::StandIn) built [`from_request`](super::StandIn::answering_from_request)
//! (the stand-in of `llm-tower --demo`): a reply shaped like a Gemini 3.x Flash model's,
//! made from what the request asks, so the whole translation can be watched at work.
//!
//! | the request | the answer |
//! |---|---|
//! | the last content has a `functionResponse` | text naming each function and the response it was given |
//! | `tools` with function declarations (and `toolConfig` mode not `NONE`) | a `functionCall` to the function `toolConfig` forces (`allowedFunctionNames`), else the first declared, with arguments made from its schema ([`example`]) |
//! | `generationConfig.responseMimeType` `application/json` | JSON text valid for `responseJsonSchema` or `responseSchema` ([`example`]); without a schema `{"echo": <text>}` |
//! | anything else | the text of the last user content, as it was sent |
//!
//! Every reply says `modelVersion` [`MODEL_VERSION`], carries a `thoughtSignature` (on the
//! text, or on the first `functionCall` part) and `usageMetadata` with `thoughtsTokenCount`
//! (counts estimated at four characters a token). A stream sends the answer in several
//! events (the text split at spaces and commas, at most [`MAX_EVENTS`] pieces), then a last
//! event with an empty text part carrying the signature, `finishReason` and usage, as
//! Gemini 3 does.

use bytes::Bytes;
use serde::Deserialize;
use serde_json::{Value, json};

use super::example::example;

/// The model the answers say they come from: a current Gemini 3.x Flash.
pub(crate) const MODEL_VERSION: &str = "gemini-3.8-flash";
/// The thought signature on every answer (base64 of `llm-tower demo stand-in`); the proxy
/// hands it back on the next turn as Gemini asks.
pub(crate) const THOUGHT_SIGNATURE: &str = "bGxtLXRvd2VyIGRlbW8gc3RhbmQtaW4=";
/// The thinking tokens every answer reports (the stand-in does not think; a model would).
const THOUGHTS_TOKENS: u64 = 24;
/// The most text events of a stream (the last event comes on top).
pub(crate) const MAX_EVENTS: usize = 8;

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Request {
    #[serde(default)]
    contents: Vec<Content>,
    #[serde(default)]
    tools: Vec<Tool>,
    tool_config: Option<ToolConfig>,
    generation_config: Option<GenerationConfig>,
}

#[derive(Deserialize)]
struct Content {
    role: Option<String>,
    #[serde(default)]
    parts: Vec<Part>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Part {
    text: Option<String>,
    #[serde(default)]
    thought: bool,
    function_response: Option<FunctionResponse>,
}

#[derive(Deserialize)]
struct FunctionResponse {
    name: String,
    #[serde(default)]
    response: Value,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Tool {
    #[serde(default)]
    function_declarations: Vec<FunctionDeclaration>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionDeclaration {
    name: String,
    parameters: Option<Value>,
    parameters_json_schema: Option<Value>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ToolConfig {
    function_calling_config: Option<FunctionCallingConfig>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FunctionCallingConfig {
    mode: Option<String>,
    #[serde(default)]
    allowed_function_names: Vec<String>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct GenerationConfig {
    response_mime_type: Option<String>,
    response_schema: Option<Value>,
    response_json_schema: Option<Value>,
}

/// What the model says.
enum Answer {
    Text(String),
    Call { name: String, args: Value },
}

impl Request {
    fn answer(&self) -> Answer {
        let last = self.contents.last();
        let responses: Vec<&FunctionResponse> = last
            .into_iter()
            .flat_map(|content| &content.parts)
            .filter_map(|part| part.function_response.as_ref())
            .collect();
        if !responses.is_empty() {
            let told = responses
                .iter()
                .map(|response| format!("{} answered {}", response.name, response.response))
                .collect::<Vec<_>>()
                .join("; ");
            return Answer::Text(format!("The tool results: {told}."));
        }
        if let Some(function) = self.function_to_call() {
            let schema = function
                .parameters_json_schema
                .as_ref()
                .or(function.parameters.as_ref());
            let args = schema.map_or_else(|| json!({}), example);
            return Answer::Call {
                name: function.name.clone(),
                args,
            };
        }
        let text = self.last_user_text();
        let config = self.generation_config.as_ref();
        if config
            .and_then(|config| config.response_mime_type.as_deref())
            .is_some_and(|mime| mime.eq_ignore_ascii_case("application/json"))
        {
            let schema = config.and_then(|config| {
                config
                    .response_json_schema
                    .as_ref()
                    .or(config.response_schema.as_ref())
            });
            let value = schema.map_or_else(|| json!({ "echo": text }), example);
            return Answer::Text(value.to_string());
        }
        Answer::Text(text)
    }

    /// The declaration `toolConfig` forces, else the first, unless calling is off.
    fn function_to_call(&self) -> Option<&FunctionDeclaration> {
        let calling = self
            .tool_config
            .as_ref()
            .and_then(|config| config.function_calling_config.as_ref());
        if calling
            .and_then(|calling| calling.mode.as_deref())
            .is_some_and(|mode| mode.eq_ignore_ascii_case("NONE"))
        {
            return None;
        }
        let mut declared = self
            .tools
            .iter()
            .flat_map(|tool| &tool.function_declarations);
        let allowed = calling.map_or(&[][..], |calling| &calling.allowed_function_names[..]);
        match allowed.first() {
            Some(_) => declared.find(|function| allowed.contains(&function.name)),
            None => declared.next(),
        }
    }

    /// The visible text of the last `user` content (or of the last content without a role).
    fn last_user_text(&self) -> String {
        let text: String = self
            .contents
            .iter()
            .rev()
            .find(|content| content.role.as_deref().is_none_or(|role| role == "user"))
            .into_iter()
            .flat_map(|content| &content.parts)
            .filter(|part| !part.thought)
            .filter_map(|part| part.text.as_deref())
            .collect();
        if text.is_empty() {
            "(the last user message has no text)".to_owned()
        } else {
            text
        }
    }

    /// The prompt's tokens, estimated.
    fn prompt_tokens(&self) -> u64 {
        let characters: usize = self
            .contents
            .iter()
            .flat_map(|content| &content.parts)
            .map(|part| {
                part.text.as_deref().map_or(0, str::len)
                    + part
                        .function_response
                        .as_ref()
                        .map_or(0, |response| response.response.to_string().len())
            })
            .sum();
        tokens(characters)
    }
}

fn tokens(characters: usize) -> u64 {
    (characters as u64).div_ceil(4).max(1)
}

fn parse(body: &[u8]) -> Result<Request, Bytes> {
    serde_json::from_slice(body).map_err(super::invalid_json)
}

fn usage(prompt: u64, candidates: u64) -> Value {
    json!({
        "promptTokenCount": prompt,
        "candidatesTokenCount": candidates,
        "thoughtsTokenCount": THOUGHTS_TOKENS,
        "totalTokenCount": prompt + candidates + THOUGHTS_TOKENS,
        "promptTokensDetails": [{"modality": "TEXT", "tokenCount": prompt}],
    })
}

fn response_id() -> String {
    format!("demo{:016x}", fastrand::u64(..))
}

/// One `GenerateContentResponse` of `parts`; with `finished`, the finish reason.
fn reply(parts: Value, finished: bool, usage: Value, id: &str) -> Value {
    let mut candidate = json!({"content": {"parts": parts, "role": "model"}, "index": 0});
    if finished {
        candidate["finishReason"] = json!("STOP");
    }
    json!({
        "candidates": [candidate],
        "usageMetadata": usage,
        "modelVersion": MODEL_VERSION,
        "responseId": id,
    })
}

impl Answer {
    fn output_tokens(&self) -> u64 {
        match self {
            Answer::Text(text) => tokens(text.len()),
            Answer::Call { name, args } => tokens(name.len() + args.to_string().len()),
        }
    }

    /// The answer's whole parts, the signature on the text or the call.
    fn parts(&self) -> Value {
        match self {
            Answer::Text(text) => json!([{"text": text, "thoughtSignature": THOUGHT_SIGNATURE}]),
            Answer::Call { name, args } => json!([{
                "functionCall": {"name": name, "args": args},
                "thoughtSignature": THOUGHT_SIGNATURE,
            }]),
        }
    }
}

/// The `generateContent` reply to `body`.
pub(super) fn generate(body: &[u8]) -> Result<Bytes, Bytes> {
    let request = parse(body)?;
    let answer = request.answer();
    let usage = usage(request.prompt_tokens(), answer.output_tokens());
    Ok(super::bytes(&reply(
        answer.parts(),
        true,
        usage,
        &response_id(),
    )))
}

/// The `streamGenerateContent?alt=sse` reply to `body`: the answer in several events.
pub(super) fn stream(body: &[u8]) -> Result<Bytes, Bytes> {
    let request = parse(body)?;
    let answer = request.answer();
    let prompt = request.prompt_tokens();
    let id = response_id();
    let mut events = Vec::new();
    let mut event = |value: &Value| {
        events.extend_from_slice(b"data: ");
        events.extend_from_slice(&super::bytes(value));
        events.extend_from_slice(b"\r\n\r\n");
    };
    match &answer {
        Answer::Text(text) => {
            let mut sent = 0;
            for piece in pieces(text) {
                sent += piece.len();
                let parts = json!([{ "text": piece }]);
                event(&reply(parts, false, usage(prompt, tokens(sent)), &id));
            }
            let parts = json!([{"text": "", "thoughtSignature": THOUGHT_SIGNATURE}]);
            event(&reply(
                parts,
                true,
                usage(prompt, answer.output_tokens()),
                &id,
            ));
        }
        Answer::Call { .. } => {
            let usage = usage(prompt, answer.output_tokens());
            event(&reply(answer.parts(), true, usage, &id));
        }
    }
    Ok(Bytes::from(events))
}

/// `text` in at most [`MAX_EVENTS`] pieces of about one size, split after spaces and commas.
fn pieces(text: &str) -> Vec<&str> {
    let words: Vec<&str> = text.split_inclusive([' ', ',']).collect();
    let per_piece = words.len().div_ceil(MAX_EVENTS).max(1);
    let mut pieces = Vec::new();
    let mut start = 0;
    for group in words.chunks(per_piece) {
        let length: usize = group.iter().map(|word| word.len()).sum();
        pieces.push(&text[start..start + length]);
        start += length;
    }
    pieces
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_to(request: Value) -> Value {
        let body = generate(request.to_string().as_bytes()).expect("a reply");
        serde_json::from_slice(&body).expect("JSON")
    }

    #[test]
    fn plain_chat_echoes_the_last_user_text_as_a_gemini_3_model() {
        let reply = answer_to(json!({"contents": [
            {"role": "user", "parts": [{"text": "first"}]},
            {"role": "model", "parts": [{"text": "an answer"}]},
            {"role": "user", "parts": [{"text": "Hello, "}, {"text": "stand-in"}]}
        ]}));
        let candidate = &reply["candidates"][0];
        assert_eq!(candidate["content"]["parts"][0]["text"], "Hello, stand-in");
        assert_eq!(
            candidate["content"]["parts"][0]["thoughtSignature"],
            THOUGHT_SIGNATURE
        );
        assert_eq!(candidate["finishReason"], "STOP");
        assert_eq!(reply["modelVersion"], MODEL_VERSION);
        let usage = &reply["usageMetadata"];
        assert_eq!(usage["thoughtsTokenCount"], THOUGHTS_TOKENS);
        assert_eq!(usage["promptTokenCount"], 8); // 30 characters
        assert_eq!(usage["candidatesTokenCount"], 4); // 15 characters
        assert_eq!(usage["totalTokenCount"], 8 + 4 + THOUGHTS_TOKENS);
    }

    #[test]
    fn a_forced_function_is_called_and_calling_off_answers_text() {
        let tools = json!([{"functionDeclarations": [
            {"name": "first", "parameters": {"type": "OBJECT", "properties": {}}},
            {"name": "second", "parametersJsonSchema": {
                "type": "object",
                "properties": {"n": {"type": "integer", "minimum": 5}},
                "required": ["n"]
            }}
        ]}]);
        let contents = json!([{"role": "user", "parts": [{"text": "go"}]}]);
        let forced = answer_to(json!({"contents": contents, "tools": tools, "toolConfig":
            {"functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["second"]}}}));
        assert_eq!(
            forced["candidates"][0]["content"]["parts"][0]["functionCall"],
            json!({"name": "second", "args": {"n": 5}})
        );
        let first = answer_to(json!({"contents": contents, "tools": tools}));
        assert_eq!(
            first["candidates"][0]["content"]["parts"][0]["functionCall"]["name"],
            "first"
        );
        let off = answer_to(json!({"contents": contents, "tools": tools, "toolConfig":
            {"functionCallingConfig": {"mode": "NONE"}}}));
        assert_eq!(off["candidates"][0]["content"]["parts"][0]["text"], "go");
    }

    #[test]
    fn a_tool_result_is_answered_in_text() {
        let reply = answer_to(json!({"contents": [
            {"role": "user", "parts": [{"text": "weather?"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "get_weather", "args": {}}}]},
            {"role": "user", "parts": [{"functionResponse":
                {"name": "get_weather", "response": {"celsius": 14}}}]}
        ], "tools": [{"functionDeclarations": [{"name": "get_weather"}]}]}));
        assert_eq!(
            reply["candidates"][0]["content"]["parts"][0]["text"],
            r#"The tool results: get_weather answered {"celsius":14}."#
        );
    }

    #[test]
    fn a_stream_splits_the_text_and_ends_with_the_signature() {
        let text = "one two three four five six seven eight nine ten eleven twelve";
        let body = stream(
            json!({"contents": [{"role": "user", "parts": [{"text": text}]}]})
                .to_string()
                .as_bytes(),
        )
        .expect("a reply");
        let body = std::str::from_utf8(&body).expect("UTF-8");
        let events: Vec<Value> = body
            .split_terminator("\r\n\r\n")
            .map(|event| {
                serde_json::from_str(event.strip_prefix("data: ").expect("data")).expect("JSON")
            })
            .collect();
        // Twelve words in pieces of two, then the last event.
        assert_eq!(events.len(), 7);
        let joined: String = events
            .iter()
            .map(|event| {
                event["candidates"][0]["content"]["parts"][0]["text"]
                    .as_str()
                    .expect("text")
            })
            .collect();
        assert_eq!(joined, text);
        let last = events.last().expect("a last event");
        assert_eq!(last["candidates"][0]["finishReason"], "STOP");
        assert_eq!(
            last["candidates"][0]["content"]["parts"][0]["thoughtSignature"],
            THOUGHT_SIGNATURE
        );
        assert!(
            events[..6]
                .iter()
                .all(|event| event["candidates"][0].get("finishReason").is_none())
        );
    }

    #[test]
    fn a_streamed_call_is_one_event_with_the_signature_and_the_finish() {
        let body = stream(
            json!({"contents": [{"role": "user", "parts": [{"text": "go"}]}],
                "tools": [{"functionDeclarations": [{"name": "ping"}]}]})
            .to_string()
            .as_bytes(),
        )
        .expect("a reply");
        let body = std::str::from_utf8(&body).expect("UTF-8");
        let event = body
            .strip_prefix("data: ")
            .and_then(|event| event.strip_suffix("\r\n\r\n"))
            .expect("one event");
        let event: Value = serde_json::from_str(event).expect("JSON");
        let candidate = &event["candidates"][0];
        assert_eq!(
            candidate["content"]["parts"],
            json!([{"functionCall": {"name": "ping", "args": {}},
                "thoughtSignature": THOUGHT_SIGNATURE}])
        );
        assert_eq!(candidate["finishReason"], "STOP");
        assert_eq!(
            event["usageMetadata"]["thoughtsTokenCount"],
            THOUGHTS_TOKENS
        );
    }

    #[test]
    fn a_body_that_is_not_json_is_google_s_400() {
        let error = generate(b"{").expect_err("refused");
        let error: Value = serde_json::from_slice(&error).expect("JSON");
        assert_eq!(error["error"]["status"], "INVALID_ARGUMENT");
    }
}
