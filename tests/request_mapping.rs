//! Request side of the Gemini provider, end to end: every OpenAI parameter and message
//! kind goes through the real stack (`Client` → media fetch → param map → HTTP → transport)
//! to a wiremock stand-in, and each test asserts the EXACT JSON body Gemini received, its
//! path, and that the key travelled in `x-goog-api-key` (never in the query string).

mod common;

use base64::Engine;
use common::{StandIn, TEST_KEY, chat, exchange, ok_reply, post_json};
use llm_tower::ErrorKind;
use llm_tower::edge::ChatEdge;
use llm_tower::layers::media::FetchPolicy;
use serde_json::{Value, json};
use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

const FLASH: &str = "gemini-2.5-flash";
const PRO: &str = "gemini-2.5-pro";
const FLASH_2_0: &str = "gemini-2.0-flash";
const PRO_3: &str = "gemini-3-pro-preview";
const FLASH_3: &str = "gemini-3-flash-preview";

/// Base64 of `skip_thought_signature_validator`, Google's documented placeholder.
const DUMMY_SIGNATURE: &str = "c2tpcF90aG91Z2h0X3NpZ25hdHVyZV92YWxpZGF0b3I=";

/// `{"model": model, "messages": [user "Hi"]}` plus `params`.
fn hi(model: &str, params: Value) -> Value {
    let mut request = json!({"model": model, "messages": [{"role": "user", "content": "Hi"}]});
    let Value::Object(params) = params else {
        panic!("params must be an object")
    };
    request.as_object_mut().expect("object").extend(params);
    request
}

/// The `contents` of [`hi`].
fn hi_contents() -> Value {
    json!([{"role": "user", "parts": [{"text": "Hi"}]}])
}

/// Checks one upstream request: POST to the model's `generateContent`, key in the header
/// only, JSON body. Returns the body.
fn check_upstream(request: &wiremock::Request, model: &str, key: &str) -> Value {
    assert_eq!(request.method.as_str(), "POST");
    assert_eq!(
        request.url.path(),
        format!("/v1beta/models/{model}:generateContent")
    );
    assert_eq!(request.url.query(), None, "no query string (and no key=)");
    assert!(!request.url.as_str().contains("key="));
    assert_eq!(
        request
            .headers
            .get("x-goog-api-key")
            .map(|value| value.to_str().expect("ascii key")),
        Some(key)
    );
    assert_eq!(
        request
            .headers
            .get("content-type")
            .map(|value| value.to_str().expect("ascii")),
        Some("application/json")
    );
    serde_json::from_slice(&request.body).expect("JSON body")
}

/// The `generateContent` requests a server received (image downloads are left out).
async fn generate_requests(server: &MockServer) -> Vec<wiremock::Request> {
    server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|request| request.url.path().ends_with(":generateContent"))
        .collect()
}

/// Sends `request` through `stand_in` and returns the one body Gemini received.
async fn sent_via(stand_in: &StandIn, request: Value) -> Value {
    let model = request["model"].as_str().expect("model").to_owned();
    stand_in.reply_json(&model, 200, &ok_reply()).await;
    let completion = stand_in
        .client()
        .chat(chat(request))
        .await
        .expect("the stand-in answers");
    assert_eq!(completion.choices[0].message.content.as_deref(), Some("ok"));
    let requests = generate_requests(&stand_in.server).await;
    assert_eq!(requests.len(), 1, "exactly one generateContent request");
    check_upstream(&requests[0], &model, TEST_KEY)
}

/// Sends `request` through a fresh stand-in and returns the body Gemini received.
async fn sent(request: Value) -> Value {
    sent_via(&StandIn::start().await, request).await
}

/// Sends `request` through `stand_in`, expects it refused before anything reaches Gemini.
async fn refused_via(stand_in: &StandIn, request: Value) -> llm_tower::Error {
    let model = request["model"].as_str().expect("model").to_owned();
    stand_in.reply_json(&model, 200, &ok_reply()).await;
    let error = stand_in
        .client()
        .chat(chat(request))
        .await
        .expect_err("the request is refused");
    assert_eq!(
        stand_in
            .server
            .received_requests()
            .await
            .unwrap_or_default()
            .len(),
        0,
        "nothing was sent upstream"
    );
    error
}

/// Sends `request` through a fresh stand-in, expects it refused before any network call.
async fn refused(request: Value) -> llm_tower::Error {
    refused_via(&StandIn::start().await, request).await
}

fn assert_invalid(error: &llm_tower::Error, param: &str, message: &str) {
    assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{error}");
    assert_eq!(error.status(), 400);
    assert_eq!(error.param(), Some(param));
    assert_eq!(error.message(), message);
}

fn assert_unsupported(error: &llm_tower::Error, param: &str) {
    assert_eq!(error.kind(), ErrorKind::UnsupportedParams, "{error}");
    assert_eq!(error.status(), 400);
    assert_eq!(error.code(), "UnsupportedParamsError");
    assert_eq!(error.param(), Some(param));
    assert_eq!(
        error.message(),
        format!(
            "UnsupportedParamsError: gemini does not support parameters: ['{param}']. \
             To drop unsupported params set `drop_params: true`."
        )
    );
}

/// A recorded request's `contents` without what the recording client added and we do not
/// send (`"thought": false`, `null`s).
fn normalize_recorded(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(key, value)| {
                    let recorder_default = key.as_str() == "thought" && **value == json!(false);
                    !value.is_null() && !recorder_default
                })
                .map(|(key, value)| (key.clone(), normalize_recorded(value)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(normalize_recorded).collect()),
        other => other.clone(),
    }
}

// ---------------------------------------------------------------------------------------
// Sampling and output parameters
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn plain_request_has_only_contents() {
    let body = sent(hi(FLASH, json!({}))).await;
    assert_eq!(body, json!({"contents": hi_contents()}));
}

#[tokio::test]
async fn temperature() {
    let body = sent(hi(FLASH, json!({"temperature": 0.3}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"temperature": 0.3}})
    );
}

#[tokio::test]
async fn top_p() {
    let body = sent(hi(FLASH, json!({"top_p": 0.9}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"topP": 0.9}})
    );
}

#[tokio::test]
async fn n_becomes_candidate_count() {
    let stand_in = StandIn::start().await;
    let body = sent_via(&stand_in, hi(FLASH, json!({"n": 2}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"candidateCount": 2}})
    );
}

#[tokio::test]
async fn stop_string_becomes_one_stop_sequence() {
    let body = sent(hi(FLASH, json!({"stop": "END"}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"stopSequences": ["END"]}})
    );
}

#[tokio::test]
async fn stop_list_becomes_stop_sequences() {
    let body = sent(hi(FLASH, json!({"stop": ["a", "b", "c", "d", "e"]}))).await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "generationConfig": {"stopSequences": ["a", "b", "c", "d", "e"]}
        })
    );
}

#[tokio::test]
async fn six_stop_sequences_are_refused() {
    let error = refused(hi(FLASH, json!({"stop": ["a", "b", "c", "d", "e", "f"]}))).await;
    assert_invalid(
        &error,
        "stop",
        "Gemini accepts at most 5 stop sequences, got 6",
    );
}

#[tokio::test]
async fn max_tokens() {
    let body = sent(hi(FLASH, json!({"max_tokens": 100}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"maxOutputTokens": 100}})
    );
}

#[tokio::test]
async fn max_completion_tokens_wins_over_max_tokens() {
    let body = sent(hi(
        FLASH,
        json!({"max_tokens": 100, "max_completion_tokens": 50}),
    ))
    .await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"maxOutputTokens": 50}})
    );
    let body = sent(hi(FLASH, json!({"max_completion_tokens": 70}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"maxOutputTokens": 70}})
    );
}

#[tokio::test]
async fn presence_and_frequency_penalty() {
    let body = sent(hi(
        FLASH,
        json!({"presence_penalty": 0.5, "frequency_penalty": -0.25}),
    ))
    .await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "generationConfig": {"presencePenalty": 0.5, "frequencyPenalty": -0.25}
        })
    );
}

#[tokio::test]
async fn seed() {
    let body = sent(hi(FLASH, json!({"seed": 42}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"seed": 42}})
    );
}

#[tokio::test]
async fn logprobs_and_top_logprobs() {
    let body = sent(hi(FLASH, json!({"logprobs": true, "top_logprobs": 3}))).await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "generationConfig": {"responseLogprobs": true, "logprobs": 3}
        })
    );
}

#[tokio::test]
async fn modalities_become_response_modalities() {
    let body = sent(hi(
        "gemini-2.5-flash-image",
        json!({"modalities": ["text", "image"]}),
    ))
    .await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "generationConfig": {"responseModalities": ["TEXT", "IMAGE"]}
        })
    );
}

// ---------------------------------------------------------------------------------------
// response_format
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn response_format_text() {
    let body = sent(hi(FLASH, json!({"response_format": {"type": "text"}}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"responseMimeType": "text/plain"}})
    );
}

#[tokio::test]
async fn response_format_json_object() {
    let body = sent(hi(
        FLASH,
        json!({"response_format": {"type": "json_object"}}),
    ))
    .await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "generationConfig": {"responseMimeType": "application/json"}
        })
    );
}

fn person_format() -> Value {
    json!({
        "type": "json_schema",
        "json_schema": {
            "name": "person",
            "strict": true,
            "schema": {
                "type": "object",
                "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                "required": ["name", "age"],
                "additionalProperties": false
            }
        }
    })
}

#[tokio::test]
async fn response_format_json_schema_on_2_5_is_response_json_schema() {
    let body = sent(hi(FLASH, json!({"response_format": person_format()}))).await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseJsonSchema": {
                    "type": "object",
                    "properties": {"name": {"type": "string"}, "age": {"type": "integer"}},
                    "required": ["name", "age"],
                    "additionalProperties": false
                }
            }
        })
    );
}

#[tokio::test]
async fn response_format_json_schema_on_2_0_is_openapi_response_schema() {
    let body = sent(hi(FLASH_2_0, json!({"response_format": person_format()}))).await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "generationConfig": {
                "responseMimeType": "application/json",
                "responseSchema": {
                    "type": "OBJECT",
                    "properties": {"name": {"type": "STRING"}, "age": {"type": "INTEGER"}},
                    "required": ["name", "age"],
                    "propertyOrdering": ["name", "age"]
                }
            }
        })
    );
}

// ---------------------------------------------------------------------------------------
// Thinking
// ---------------------------------------------------------------------------------------

fn thinking_body(config: Value) -> Value {
    json!({"contents": hi_contents(), "generationConfig": {"thinkingConfig": config}})
}

#[tokio::test]
async fn reasoning_effort_on_gemini_2_5_flash() {
    for (effort, config) in [
        (
            "minimal",
            json!({"includeThoughts": true, "thinkingBudget": 1}),
        ),
        (
            "low",
            json!({"includeThoughts": true, "thinkingBudget": 1024}),
        ),
        (
            "medium",
            json!({"includeThoughts": true, "thinkingBudget": 2048}),
        ),
        (
            "high",
            json!({"includeThoughts": true, "thinkingBudget": 4096}),
        ),
        (
            "none",
            json!({"includeThoughts": false, "thinkingBudget": 0}),
        ),
        (
            "disable",
            json!({"includeThoughts": false, "thinkingBudget": 0}),
        ),
    ] {
        let body = sent(hi(FLASH, json!({"reasoning_effort": effort}))).await;
        assert_eq!(body, thinking_body(config), "reasoning_effort {effort}");
    }
    // The OpenAI Agents SDK's object form.
    let body = sent(hi(FLASH, json!({"reasoning_effort": {"effort": "low"}}))).await;
    assert_eq!(
        body,
        thinking_body(json!({"includeThoughts": true, "thinkingBudget": 1024}))
    );
}

#[tokio::test]
async fn reasoning_effort_on_gemini_2_5_pro() {
    for (effort, budget) in [
        ("minimal", 128),
        ("low", 1024),
        ("medium", 2048),
        ("high", 4096),
    ] {
        let body = sent(hi(PRO, json!({"reasoning_effort": effort}))).await;
        assert_eq!(
            body,
            thinking_body(json!({"includeThoughts": true, "thinkingBudget": budget})),
            "reasoning_effort {effort}"
        );
    }
    // 2.5 Pro cannot stop thinking: a clear 400 instead of Google's.
    for effort in ["none", "disable"] {
        let error = refused(hi(PRO, json!({"reasoning_effort": effort}))).await;
        assert_invalid(
            &error,
            "reasoning_effort",
            "this model cannot turn thinking off; ask for the lowest effort (\"minimal\") instead",
        );
    }
}

#[tokio::test]
async fn reasoning_effort_on_gemini_3_pro() {
    for (effort, config) in [
        (
            "minimal",
            json!({"includeThoughts": true, "thinkingLevel": "low"}),
        ),
        (
            "low",
            json!({"includeThoughts": true, "thinkingLevel": "low"}),
        ),
        // 3.0 Pro has no medium level.
        (
            "medium",
            json!({"includeThoughts": true, "thinkingLevel": "high"}),
        ),
        (
            "high",
            json!({"includeThoughts": true, "thinkingLevel": "high"}),
        ),
        (
            "none",
            json!({"includeThoughts": false, "thinkingLevel": "low"}),
        ),
        (
            "disable",
            json!({"includeThoughts": false, "thinkingLevel": "low"}),
        ),
    ] {
        let body = sent(hi(PRO_3, json!({"reasoning_effort": effort}))).await;
        assert_eq!(body, thinking_body(config), "reasoning_effort {effort}");
    }
}

#[tokio::test]
async fn reasoning_effort_on_gemini_3_flash() {
    for (effort, config) in [
        (
            "minimal",
            json!({"includeThoughts": true, "thinkingLevel": "minimal"}),
        ),
        (
            "low",
            json!({"includeThoughts": true, "thinkingLevel": "low"}),
        ),
        (
            "medium",
            json!({"includeThoughts": true, "thinkingLevel": "medium"}),
        ),
        (
            "high",
            json!({"includeThoughts": true, "thinkingLevel": "high"}),
        ),
        (
            "none",
            json!({"includeThoughts": false, "thinkingLevel": "minimal"}),
        ),
    ] {
        let body = sent(hi(FLASH_3, json!({"reasoning_effort": effort}))).await;
        assert_eq!(body, thinking_body(config), "reasoning_effort {effort}");
    }
}

#[tokio::test]
async fn unknown_reasoning_effort_is_refused() {
    let error = refused(hi(FLASH, json!({"reasoning_effort": "extreme"}))).await;
    assert_invalid(
        &error,
        "reasoning_effort",
        "reasoning_effort must be one of minimal, low, medium, high, none, disable; got \"extreme\"",
    );
}

#[tokio::test]
async fn unknown_reasoning_effort_is_dropped_with_drop_params() {
    let body = sent(hi(
        FLASH_3,
        json!({"reasoning_effort": "extreme", "drop_params": true, "temperature": 0.5}),
    ))
    .await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"temperature": 0.5}})
    );
}

#[tokio::test]
async fn reasoning_effort_on_later_flash_models_takes_their_nearest_level() {
    // 3.7 Flash and later take no `minimal`: `low`, never a level Google refuses.
    for model in ["gemini-3.7-flash", "gemini-3.8-flash", "gemini-3.9-flash"] {
        let body = sent(hi(model, json!({"reasoning_effort": "minimal"}))).await;
        assert_eq!(
            body,
            thinking_body(json!({"includeThoughts": true, "thinkingLevel": "low"})),
            "{model}"
        );
    }
}

#[tokio::test]
async fn reasoning_effort_on_gemini_2_0_is_unsupported() {
    let error = refused(hi(FLASH_2_0, json!({"reasoning_effort": "low"}))).await;
    assert_unsupported(&error, "reasoning_effort");
}

#[tokio::test]
async fn reasoning_effort_on_gemini_2_0_is_dropped_with_drop_params() {
    let body = sent(hi(
        FLASH_2_0,
        json!({"reasoning_effort": "low", "drop_params": true, "temperature": 0.5}),
    ))
    .await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"temperature": 0.5}})
    );
}

#[tokio::test]
async fn thinking_enabled_with_budget() {
    let body = sent(hi(
        FLASH,
        json!({"thinking": {"type": "enabled", "budget_tokens": 3000}}),
    ))
    .await;
    assert_eq!(
        body,
        thinking_body(json!({"includeThoughts": true, "thinkingBudget": 3000}))
    );
    // Gemini 3 takes a level chosen by the budget.
    let body = sent(hi(
        PRO_3,
        json!({"thinking": {"type": "enabled", "budget_tokens": 10000}}),
    ))
    .await;
    assert_eq!(
        body,
        thinking_body(json!({"includeThoughts": true, "thinkingLevel": "high"}))
    );
}

#[tokio::test]
async fn thinking_disabled_turns_thinking_off() {
    let body = sent(hi(FLASH, json!({"thinking": {"type": "disabled"}}))).await;
    assert_eq!(
        body,
        thinking_body(json!({"includeThoughts": false, "thinkingBudget": 0}))
    );
    let error = refused(hi(PRO, json!({"thinking": {"type": "disabled"}}))).await;
    assert_invalid(
        &error,
        "thinking",
        "this model cannot turn thinking off; ask for the lowest effort (\"minimal\") instead",
    );
}

// ---------------------------------------------------------------------------------------
// Safety settings, tools, tool choice
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn safety_settings_are_sent_as_given() {
    let settings = json!([
        {"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE"},
        {"category": "HARM_CATEGORY_DANGEROUS_CONTENT", "threshold": "BLOCK_ONLY_HIGH"}
    ]);
    let body = sent(hi(FLASH, json!({"safety_settings": settings}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "safetySettings": settings})
    );
}

fn weather_tool() -> Value {
    json!({
        "type": "function",
        "function": {
            "name": "get_weather",
            "description": "Current weather",
            "strict": true,
            "parameters": {
                "$schema": "http://json-schema.org/draft-07/schema#",
                "type": "object",
                "properties": {
                    "city": {"type": "string", "description": "City name"},
                    "unit": {"type": ["string", "null"], "enum": ["c", "f"]},
                    "days": {"type": "integer", "minimum": 1}
                },
                "required": ["city"],
                "additionalProperties": false
            }
        }
    })
}

fn weather_declaration() -> Value {
    json!({
        "name": "get_weather",
        "description": "Current weather",
        "parameters": {
            "type": "OBJECT",
            "properties": {
                "city": {"type": "STRING", "description": "City name"},
                "unit": {"type": "STRING", "nullable": true, "enum": ["c", "f"]},
                "days": {"type": "INTEGER", "minimum": 1}
            },
            "required": ["city"]
        }
    })
}

fn now_tool() -> Value {
    json!({
        "type": "function",
        "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}
    })
}

#[tokio::test]
async fn tools_become_function_declarations() {
    let body = sent(hi(FLASH, json!({"tools": [weather_tool(), now_tool()]}))).await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "tools": [{"functionDeclarations": [weather_declaration(), {"name": "now"}]}]
        })
    );
}

#[tokio::test]
async fn builtin_tools_each_get_an_entry() {
    for (tool, sent_as) in [
        (json!({"googleSearch": {}}), json!({"googleSearch": {}})),
        (json!({"google_search": {}}), json!({"googleSearch": {}})),
        (
            json!({"googleSearchRetrieval": {"dynamicRetrievalConfig": {"mode": "MODE_DYNAMIC", "dynamicThreshold": 0.7}}}),
            json!({"googleSearchRetrieval": {"dynamicRetrievalConfig": {"mode": "MODE_DYNAMIC", "dynamicThreshold": 0.7}}}),
        ),
        (json!({"codeExecution": {}}), json!({"codeExecution": {}})),
        (json!({"code_execution": {}}), json!({"codeExecution": {}})),
        (json!({"urlContext": {}}), json!({"urlContext": {}})),
        (json!({"type": "web_search"}), json!({"googleSearch": {}})),
    ] {
        let body = sent(hi(FLASH, json!({"tools": [tool]}))).await;
        assert_eq!(
            body,
            json!({"contents": hi_contents(), "tools": [sent_as]}),
            "{tool}"
        );
    }
}

#[tokio::test]
async fn built_in_tools_beside_functions_go_where_the_model_takes_them() {
    // Gemini 3 takes built-in tools beside function declarations: all are sent, with the
    // switch the Gemini API wants for the mix (a `tool_choice` of the client's kept).
    let gemini_3 = "gemini-3-flash-preview";
    let tools = json!({"tools": [weather_tool(), {"googleSearch": {}}, {"urlContext": {}}]});
    let body = sent(hi(gemini_3, tools.clone())).await;
    assert_eq!(
        body["tools"],
        json!([
            {"functionDeclarations": [weather_declaration()]},
            {"googleSearch": {}},
            {"urlContext": {}}
        ])
    );
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "AUTO"}, "includeServerSideToolInvocations": true})
    );
    let forced =
        json!({"tools": [weather_tool(), {"googleSearch": {}}], "tool_choice": "required"});
    let body = sent(hi(gemini_3, forced)).await;
    assert_eq!(
        body["toolConfig"],
        json!({"functionCallingConfig": {"mode": "ANY"}, "includeServerSideToolInvocations": true})
    );
    // Functions alone, or built-in tools alone, need no switch.
    let body = sent(hi(gemini_3, json!({"tools": [weather_tool()]}))).await;
    assert_eq!(body.get("toolConfig"), None);
    let body = sent(hi(gemini_3, json!({"tools": [{"googleSearch": {}}]}))).await;
    assert_eq!(body.get("toolConfig"), None);
    // 2.5 refuses the mix: the built-in tools offered in `tools` are dropped (with a
    // warning), the functions are sent.
    let body = sent(hi(FLASH, tools)).await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "tools": [{"functionDeclarations": [weather_declaration()]}]
        })
    );
    // The Codex CLI's `web_search` beside its functions, likewise.
    let codex = json!({"tools": [{"type": "web_search"}, weather_tool()]});
    let body = sent(hi(FLASH, codex)).await;
    assert_eq!(
        body["tools"],
        json!([{"functionDeclarations": [weather_declaration()]}])
    );
    // Through the HTTP edge, the answer names what was dropped; a request that dropped
    // nothing has no such header.
    for (tools, dropped) in [
        (
            json!([{"type": "web_search"}, weather_tool(), {"urlContext": {}}]),
            Some("googleSearch,urlContext"),
        ),
        (json!([weather_tool()]), None),
    ] {
        let stand_in = StandIn::start().await;
        stand_in.reply_json(FLASH, 200, &ok_reply()).await;
        let edge = ChatEdge::new(stand_in.gemini.chat_service());
        let (status, headers, _) = post_json(
            edge,
            "/v1/chat/completions",
            &hi(FLASH, json!({"tools": tools})),
        )
        .await;
        assert_eq!(status, 200);
        assert_eq!(
            headers
                .get("x-llm-tower-dropped-tools")
                .map(|value| value.to_str().expect("ASCII")),
            dropped
        );
    }
    // Built-in tools alone are sent to any model.
    let body = sent(hi(FLASH, json!({"tools": [{"googleSearch": {}}]}))).await;
    assert_eq!(body["tools"], json!([{"googleSearch": {}}]));
    // `web_search_options` asks for a grounded answer: refused rather than dropped.
    let error = refused_via(
        &StandIn::start().await,
        hi(
            FLASH,
            json!({"tools": [weather_tool()], "web_search_options": {}}),
        ),
    )
    .await;
    assert_eq!(
        (error.status().as_u16(), error.param()),
        (400, Some("web_search_options"))
    );
}

#[tokio::test]
async fn tool_choice_modes() {
    for (choice, config) in [
        (json!("auto"), json!({"mode": "AUTO"})),
        (json!("none"), json!({"mode": "NONE"})),
        (json!("required"), json!({"mode": "ANY"})),
        (
            json!({"type": "function", "function": {"name": "get_weather"}}),
            json!({"mode": "ANY", "allowedFunctionNames": ["get_weather"]}),
        ),
    ] {
        let body = sent(hi(
            FLASH,
            json!({"tools": [weather_tool()], "tool_choice": choice}),
        ))
        .await;
        assert_eq!(
            body,
            json!({
                "contents": hi_contents(),
                "tools": [{"functionDeclarations": [weather_declaration()]}],
                "toolConfig": {"functionCallingConfig": config}
            }),
            "tool_choice {choice}"
        );
    }
}

#[tokio::test]
async fn tool_choice_naming_an_unknown_function_is_refused() {
    let error = refused(hi(
        FLASH,
        json!({
            "tools": [weather_tool()],
            "tool_choice": {"type": "function", "function": {"name": "get_time"}}
        }),
    ))
    .await;
    assert_invalid(
        &error,
        "tool_choice",
        "tool_choice names function \"get_time\", which is not among the tools",
    );
}

#[tokio::test]
async fn legacy_functions_and_function_call() {
    let body = sent(hi(
        FLASH,
        json!({
            "functions": [weather_tool()["function"].clone()],
            "function_call": {"name": "get_weather"}
        }),
    ))
    .await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "tools": [{"functionDeclarations": [weather_declaration()]}],
            "toolConfig": {
                "functionCallingConfig": {"mode": "ANY", "allowedFunctionNames": ["get_weather"]}
            }
        })
    );
}

#[tokio::test]
async fn web_search_options_add_google_search() {
    let body = sent(hi(
        FLASH,
        json!({"web_search_options": {"search_context_size": "low"}}),
    ))
    .await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "tools": [{"googleSearch": {}}]})
    );
}

// ---------------------------------------------------------------------------------------
// Passthrough, per-request options, unknown params
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn generation_config_keys_pass_through() {
    let body = sent(hi(
        FLASH,
        json!({"top_k": 40, "mediaResolution": "MEDIA_RESOLUTION_LOW"}),
    ))
    .await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "generationConfig": {"topK": 40, "mediaResolution": "MEDIA_RESOLUTION_LOW"}
        })
    );
    let body = sent(hi(FLASH, json!({"topK": 7}))).await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"topK": 7}})
    );
}

#[tokio::test]
async fn cached_content() {
    let body = sent(hi(
        FLASH,
        json!({"cached_content": "cachedContents/abc123"}),
    ))
    .await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "cachedContent": "cachedContents/abc123"})
    );
}

#[tokio::test]
async fn too_many_image_urls_are_refused_before_any_download() {
    let stand_in = StandIn::start().await;
    let images: Vec<Value> = (0..17)
        .map(|index| json!({"type": "image_url", "image_url": {"url": format!("https://images.example/{index}.png")}}))
        .collect();
    let request = json!({"model": FLASH, "messages": [{"role": "user", "content": images}]});
    let error = stand_in
        .client()
        .chat(chat(request))
        .await
        .expect_err("refused");
    assert_eq!(error.param(), Some("messages"));
    assert!(
        error.message().contains("at most 16"),
        "{}",
        error.message()
    );
}

#[tokio::test]
async fn model_ids_that_would_escape_the_path_are_refused() {
    let stand_in = StandIn::start().await;
    for model in [
        "../../files?x=1#",
        "gemini 2.5",
        "gemini/../x",
        "",
        "..",
        "models%2Fx",
    ] {
        let error = stand_in
            .client()
            .chat(chat(hi(model, json!({}))))
            .await
            .expect_err("refused");
        assert_eq!(error.param(), Some("model"), "{model:?}");
    }
    let received = stand_in
        .server
        .received_requests()
        .await
        .unwrap_or_default();
    assert!(received.is_empty(), "nothing was sent upstream");
}

#[tokio::test]
async fn client_side_credentials_are_refused_unless_the_provider_allows_them() {
    for param in ["api_key", "api_base"] {
        let mut extra = serde_json::Map::new();
        extra.insert(param.to_owned(), json!("http://attacker.example/v1beta"));
        let error = refused(hi(FLASH, Value::Object(extra))).await;
        assert_eq!(error.param(), Some(param));
        assert!(
            error.message().contains("client-side credentials"),
            "{}",
            error.message()
        );
    }
}

#[tokio::test]
async fn a_client_api_base_needs_its_own_api_key() {
    let stand_in = StandIn::start_with(|builder| builder.client_credentials(true)).await;
    let error = refused_via(
        &stand_in,
        hi(FLASH, json!({"api_base": "http://127.0.0.1:9/v1beta"})),
    )
    .await;
    assert_eq!(error.param(), Some("api_base"));
    assert!(error.message().contains("its own api_key"));
}

#[tokio::test]
async fn per_request_api_key_goes_in_the_header() {
    let stand_in = StandIn::start_with(|builder| builder.client_credentials(true)).await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .and(header("x-goog-api-key", "per-request-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .mount(&stand_in.server)
        .await;
    stand_in
        .client()
        .chat(chat(hi(FLASH, json!({"api_key": "per-request-key"}))))
        .await
        .expect("the stand-in answers");
    let requests = generate_requests(&stand_in.server).await;
    assert_eq!(requests.len(), 1);
    let body = check_upstream(&requests[0], FLASH, "per-request-key");
    assert_eq!(body, json!({"contents": hi_contents()}));
}

#[tokio::test]
async fn per_request_api_base_is_where_the_request_goes() {
    let stand_in = StandIn::start_with(|builder| builder.client_credentials(true)).await;
    stand_in.reply_json(FLASH, 200, &ok_reply()).await;
    let other = MockServer::start().await;
    Mock::given(method("POST"))
        .and(path(format!("/v1beta/models/{FLASH}:generateContent")))
        .and(header("x-goog-api-key", "other-key"))
        .respond_with(ResponseTemplate::new(200).set_body_json(ok_reply()))
        .mount(&other)
        .await;
    stand_in
        .client()
        .chat(chat(hi(
            FLASH,
            json!({"api_base": format!("{}/v1beta/", other.uri()), "api_key": "other-key"}),
        )))
        .await
        .expect("the other server answers");
    assert!(
        stand_in
            .server
            .received_requests()
            .await
            .unwrap_or_default()
            .is_empty()
    );
    let requests = generate_requests(&other).await;
    assert_eq!(requests.len(), 1);
    let body = check_upstream(&requests[0], FLASH, "other-key");
    assert_eq!(body, json!({"contents": hi_contents()}));
}

#[tokio::test]
async fn user_metadata_and_stream_options_are_accepted_and_not_sent() {
    let body = sent(hi(
        FLASH,
        json!({"user": "user-1", "metadata": {"trace": "x"}, "store": false}),
    ))
    .await;
    assert_eq!(body, json!({"contents": hi_contents()}));
}

#[tokio::test]
async fn unknown_param_is_refused_by_name() {
    let error = refused(hi(FLASH, json!({"frobnicate": 1}))).await;
    assert_unsupported(&error, "frobnicate");
}

#[tokio::test]
async fn unknown_param_is_dropped_with_request_drop_params() {
    let body = sent(hi(
        FLASH,
        json!({"frobnicate": 1, "drop_params": true, "seed": 1}),
    ))
    .await;
    assert_eq!(
        body,
        json!({"contents": hi_contents(), "generationConfig": {"seed": 1}})
    );
}

#[tokio::test]
async fn unknown_param_is_dropped_with_provider_drop_params() {
    let stand_in = StandIn::start_with(|builder| builder.drop_params(true)).await;
    let body = sent_via(
        &stand_in,
        hi(
            FLASH,
            json!({"frobnicate": 1, "logit_bias": {"50256": -100}}),
        ),
    )
    .await;
    assert_eq!(body, json!({"contents": hi_contents()}));
    // A request's own drop_params: false overrides the provider's.
    let stand_in = StandIn::start_with(|builder| builder.drop_params(true)).await;
    let error = refused_via(
        &stand_in,
        hi(FLASH, json!({"frobnicate": 1, "drop_params": false})),
    )
    .await;
    assert_unsupported(&error, "frobnicate");
}

#[tokio::test]
async fn logit_bias_is_unsupported() {
    let error = refused(hi(FLASH, json!({"logit_bias": {"50256": -100}}))).await;
    assert_unsupported(&error, "logit_bias");
}

#[tokio::test]
async fn a_passthrough_schema_beside_response_format_is_refused() {
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    let error = refused(hi(
        FLASH,
        json!({
            "response_format": {"type": "json_schema", "json_schema": {"name": "a", "schema": schema}},
            "responseSchema": schema
        }),
    ))
    .await;
    assert_eq!(error.param(), Some("responseSchema"));
    assert!(
        error
            .message()
            .contains("conflicts with the schema of response_format")
    );
}

// ---------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------

#[tokio::test]
async fn system_and_developer_join_one_system_instruction() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "system", "content": "Be brief."},
            {"role": "user", "content": "Hi"},
            {"role": "developer", "content": "Be kind."}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Be kind."}]}
        })
    );
}

#[tokio::test]
async fn list_form_system_content_keeps_its_parts() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "system", "content": [
                {"type": "text", "text": "Be brief."},
                {"type": "text", "text": "Be kind."}
            ]},
            {"role": "user", "content": "Hi"}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({
            "contents": hi_contents(),
            "systemInstruction": {"parts": [{"text": "Be brief."}, {"text": "Be kind."}]}
        })
    );
}

#[tokio::test]
async fn consecutive_user_messages_merge_and_assistant_is_model() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Hi"},
            {"role": "user", "content": [{"type": "text", "text": "Are you there?"}]},
            {"role": "assistant", "content": "Yes."},
            {"role": "assistant", "content": "How can I help?"},
            {"role": "user", "content": "Tell me a joke."}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Hi"}, {"text": "Are you there?"}]},
            {"role": "model", "parts": [{"text": "Yes."}, {"text": "How can I help?"}]},
            {"role": "user", "parts": [{"text": "Tell me a joke."}]}
        ]})
    );
}

#[tokio::test]
async fn assistant_tool_calls_become_function_call_parts() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Weather and time?"},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function",
                 "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\",\"days\":2}"}},
                {"id": "call_2", "type": "function", "function": {"name": "now", "arguments": ""}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "Sunny"},
            {"role": "tool", "tool_call_id": "call_2", "content": "{\"time\":\"12:00\"}"}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Weather and time?"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "get_weather", "args": {"city": "Paris", "days": 2}}},
                {"functionCall": {"name": "now", "args": {}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "get_weather", "response": {"content": "Sunny"}}},
                {"functionResponse": {"name": "now", "response": {"time": "12:00"}}}
            ]}
        ]})
    );
}

/// Fixture 15: a parallel add + subtract call and both results, sent back in one user turn.
#[tokio::test]
async fn parallel_tool_results_form_one_user_turn_as_recorded() {
    let (recorded, _) = exchange(
        "15-agent-tools--parallel-tool-calls-land-in-one-tool-result-message.json",
        1,
    );
    let recorded = &recorded["body"];
    let system = recorded["systemInstruction"]["parts"][0]["text"].clone();
    let prompt = recorded["contents"][0]["parts"][0]["text"].clone();
    let operand = |description: &str| json!({"type": "number", "description": description});
    let function = |name: &str, description: &str| {
        json!({"type": "function", "function": {
            "name": name,
            "description": description,
            "parameters": {
                "type": "object",
                "properties": {"x": operand("The first operand"), "y": operand("The second operand")},
                "required": ["x", "y"]
            }
        }})
    };
    let body = sent(json!({
        "model": FLASH,
        "temperature": 0.0,
        "tools": [
            function("add", "Add x and y together"),
            function("subtract", "Subtract y from x (i.e. x - y)")
        ],
        "messages": [
            {"role": "system", "content": system},
            {"role": "user", "content": prompt},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_a", "type": "function",
                 "function": {"name": "add", "arguments": "{\"x\": 3, \"y\": 4}"},
                 "provider_specific_fields": {"thought_signature": "signature_REDACTED_1"}},
                {"id": "call_b", "type": "function",
                 "function": {"name": "subtract", "arguments": "{\"x\": 10, \"y\": 2}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_a", "content": "{\"result\": 7}"},
            {"role": "tool", "tool_call_id": "call_b", "content": "{\"result\": 8}"}
        ]
    }))
    .await;
    let gemini_operand = |description: &str| json!({"type": "NUMBER", "description": description});
    let declaration = |name: &str, description: &str| {
        json!({
            "name": name,
            "description": description,
            "parameters": {
                "type": "OBJECT",
                "properties": {
                    "x": gemini_operand("The first operand"),
                    "y": gemini_operand("The second operand")
                },
                "required": ["x", "y"]
            }
        })
    };
    assert_eq!(
        body,
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": prompt}]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "add", "args": {"x": 3, "y": 4}},
                     "thoughtSignature": "signature_REDACTED_1"},
                    {"functionCall": {"name": "subtract", "args": {"x": 10, "y": 2}}}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "add", "response": {"result": 7}}},
                    {"functionResponse": {"name": "subtract", "response": {"result": 8}}}
                ]}
            ],
            "systemInstruction": {"parts": [{"text": system}]},
            "tools": [{"functionDeclarations": [
                declaration("add", "Add x and y together"),
                declaration("subtract", "Subtract y from x (i.e. x - y)")
            ]}],
            "generationConfig": {"temperature": 0.0}
        })
    );
    // The turns are the ones Gemini accepted in the recording.
    assert_eq!(body["contents"], normalize_recorded(&recorded["contents"]));
}

/// Fixture 29: a real thinking + tool round trip. Exchange 0 goes through our stack, our
/// reply's assistant message is sent back with the tool result, and the second request
/// carries the same turns Gemini accepted in the recording (thought part replayed, the
/// signature back on the call).
#[tokio::test]
async fn reasoning_tool_round_trip_replays_as_recorded() {
    let fixture = "29-reasoning-tool-roundtrip--nonstreaming.json";
    let (first_recorded, first_reply) = exchange(fixture, 0);
    let (second_recorded, _) = exchange(fixture, 1);
    let system = first_recorded["body"]["systemInstruction"]["parts"][0]["text"].clone();
    let prompt = first_recorded["body"]["contents"][0]["parts"][0]["text"].clone();
    let tool = json!({"type": "function", "function": {
        "name": "get_weather",
        "description": "Get the current weather for a city. Must be called for weather questions.",
        "parameters": {
            "type": "object",
            "properties": {"city": {"type": "string", "description": "City name to get weather for"}},
            "required": ["city"]
        }
    }});
    let declaration = json!({
        "name": "get_weather",
        "description": "Get the current weather for a city. Must be called for weather questions.",
        "parameters": {
            "type": "OBJECT",
            "properties": {"city": {"type": "STRING", "description": "City name to get weather for"}},
            "required": ["city"]
        }
    });
    let mut messages = vec![
        json!({"role": "system", "content": system}),
        json!({"role": "user", "content": prompt}),
    ];
    let request = |messages: &[Value]| {
        json!({
            "model": FLASH,
            "messages": messages,
            "tools": [tool.clone()],
            "max_tokens": 4096,
            "reasoning_effort": "high"
        })
    };

    let stand_in = StandIn::start().await;
    stand_in.reply_json(FLASH, 200, &first_reply["body"]).await;
    let completion = stand_in
        .client()
        .chat(chat(request(&messages)))
        .await
        .expect("first turn");
    let bodies = stand_in.received_bodies().await;
    assert_eq!(bodies.len(), 1);
    let expected_first = json!({
        "contents": [{"role": "user", "parts": [{"text": prompt}]}],
        "systemInstruction": {"parts": [{"text": system}]},
        "tools": [{"functionDeclarations": [declaration]}],
        "generationConfig": {
            "maxOutputTokens": 4096,
            "thinkingConfig": {"includeThoughts": true, "thinkingBudget": 4096}
        }
    });
    assert_eq!(bodies[0], expected_first);
    assert_eq!(
        bodies[0]["contents"],
        normalize_recorded(&first_recorded["body"]["contents"])
    );

    let assistant = serde_json::to_value(&completion.choices[0].message).expect("serializes");
    let call_id = assistant["tool_calls"][0]["id"]
        .as_str()
        .expect("a tool call")
        .to_owned();
    messages.push(assistant);
    messages.push(json!({
        "role": "tool",
        "tool_call_id": call_id,
        "content": "{\"result\": \"Weather in Tokyo: 72F (22C), sunny with light clouds, humidity 45%, wind 8 mph NW\"}"
    }));
    let stand_in = StandIn::start().await;
    let body = sent_via(&stand_in, request(&messages)).await;
    let thought = first_reply["body"]["candidates"][0]["content"]["parts"][0]["text"].clone();
    assert_eq!(
        body,
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": prompt}]},
                {"role": "model", "parts": [
                    {"text": thought, "thought": true},
                    {"functionCall": {"name": "get_weather", "args": {"city": "Tokyo"}},
                     "thoughtSignature": "signature_REDACTED_1"}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {
                        "result": "Weather in Tokyo: 72F (22C), sunny with light clouds, humidity 45%, wind 8 mph NW"
                    }}}
                ]}
            ],
            "systemInstruction": expected_first["systemInstruction"],
            "tools": expected_first["tools"],
            "generationConfig": expected_first["generationConfig"]
        })
    );
    assert_eq!(
        body["contents"],
        normalize_recorded(&second_recorded["body"]["contents"])
    );
}

#[tokio::test]
async fn tool_result_shapes() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Go"},
            {"role": "assistant", "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "text", "arguments": "{}"}},
                {"id": "t2", "type": "function", "function": {"name": "object", "arguments": "{}"}},
                {"id": "t3", "type": "function", "function": {"name": "array", "arguments": "{}"}},
                {"id": "t4", "type": "function", "function": {"name": "parts", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "t1", "content": "plain text"},
            {"role": "tool", "tool_call_id": "t2", "content": " {\"a\": [1, 2], \"b\": null}"},
            {"role": "tool", "tool_call_id": "t3", "content": "[1,2,3]"},
            {"role": "tool", "tool_call_id": "t4", "content": [
                {"type": "text", "text": "line one"},
                {"type": "text", "text": "line two"}
            ]}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Go"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "text", "args": {}}},
                {"functionCall": {"name": "object", "args": {}}},
                {"functionCall": {"name": "array", "args": {}}},
                {"functionCall": {"name": "parts", "args": {}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "text", "response": {"content": "plain text"}}},
                {"functionResponse": {"name": "object", "response": {"a": [1, 2], "b": null}}},
                {"functionResponse": {"name": "array", "response": {"content": "[1,2,3]"}}},
                {"functionResponse": {"name": "parts", "response": {"content": "line one\nline two"}}}
            ]}
        ]})
    );
}

#[tokio::test]
async fn tool_result_matches_a_call_of_an_earlier_assistant_message() {
    // The Responses API splits parallel calls into one assistant message each.
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Add and subtract"},
            {"role": "assistant", "tool_calls": [
                {"id": "call_add", "type": "function", "function": {"name": "add", "arguments": "{\"x\":1}"}}
            ]},
            {"role": "assistant", "tool_calls": [
                {"id": "call_sub", "type": "function", "function": {"name": "subtract", "arguments": "{\"x\":2}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_add", "content": "1"},
            {"role": "tool", "tool_call_id": "call_sub", "content": "2"}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Add and subtract"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "add", "args": {"x": 1}}},
                {"functionCall": {"name": "subtract", "args": {"x": 2}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "add", "response": {"content": "1"}}},
                {"functionResponse": {"name": "subtract", "response": {"content": "2"}}}
            ]}
        ]})
    );
}

#[tokio::test]
async fn tool_result_after_a_later_turn_still_finds_its_call() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Start"},
            {"role": "assistant", "tool_calls": [
                {"id": "call_old", "type": "function", "function": {"name": "lookup", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_old", "content": "first"},
            {"role": "assistant", "content": "Noted.", "tool_calls": [
                {"id": "call_new", "type": "function", "function": {"name": "other", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_old", "content": "late result"}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Start"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "lookup", "args": {}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "lookup", "response": {"content": "first"}}}
            ]},
            {"role": "model", "parts": [
                {"text": "Noted."},
                {"functionCall": {"name": "other", "args": {}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "lookup", "response": {"content": "late result"}}}
            ]}
        ]})
    );
}

#[tokio::test]
async fn user_text_after_tool_results_is_its_own_turn() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Go"},
            {"role": "assistant", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": "done"},
            {"role": "user", "content": "And now?"}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Go"}]},
            {"role": "model", "parts": [{"functionCall": {"name": "f", "args": {}}}]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "f", "response": {"content": "done"}}}
            ]},
            {"role": "user", "parts": [{"text": "And now?"}]}
        ]})
    );
}

fn call_turn(model: &str, calls: Value) -> Value {
    json!({
        "model": model,
        "messages": [
            {"role": "user", "content": "Go"},
            {"role": "assistant", "tool_calls": calls}
        ]
    })
}

#[tokio::test]
async fn thought_signature_from_the_tool_call_id() {
    let body = sent(call_turn(
        FLASH,
        json!([{"id": "call_1__thought__SIG_A", "type": "function",
                "function": {"name": "f", "arguments": "{}"}}]),
    ))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Go"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "SIG_A"}
            ]}
        ]})
    );
}

#[tokio::test]
async fn thought_signature_from_provider_specific_fields_wins_over_the_id() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Go"},
            {"role": "assistant", "tool_calls": [
                {"id": "call_1__thought__SIG_A", "type": "function",
                 "function": {"name": "f", "arguments": "{}"},
                 "provider_specific_fields": {"thought_signature": "SIG_B"}},
                {"id": "call_2", "type": "function",
                 "function": {"name": "g", "arguments": "{}",
                              "provider_specific_fields": {"thought_signature": "SIG_C"}}}
            ]},
            {"role": "tool", "tool_call_id": "call_1__thought__SIG_A", "content": "x"},
            {"role": "tool", "tool_call_id": "call_2", "content": "y"}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Go"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": "SIG_B"},
                {"functionCall": {"name": "g", "args": {}}, "thoughtSignature": "SIG_C"}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "f", "response": {"content": "x"}}},
                {"functionResponse": {"name": "g", "response": {"content": "y"}}}
            ]}
        ]})
    );
}

fn two_unsigned_calls() -> Value {
    json!([
        {"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}},
        {"id": "call_2", "type": "function", "function": {"name": "g", "arguments": "{}"}}
    ])
}

#[tokio::test]
async fn gemini_3_gets_the_placeholder_signature_on_the_first_call_only() {
    // By the model table, not the id: `gemini-flash-latest` names no version and is a 3.x
    // Flash today.
    for model in [FLASH_3, "gemini-flash-latest", "gemini-3-pro-image-preview"] {
        let body = sent(call_turn(model, two_unsigned_calls())).await;
        assert_eq!(
            body,
            json!({"contents": [
                {"role": "user", "parts": [{"text": "Go"}]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "f", "args": {}}, "thoughtSignature": DUMMY_SIGNATURE},
                    {"functionCall": {"name": "g", "args": {}}}
                ]}
            ]}),
            "{model}"
        );
    }
}

#[tokio::test]
async fn gemini_2_5_gets_no_placeholder_signature() {
    let body = sent(call_turn(FLASH, two_unsigned_calls())).await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Go"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "f", "args": {}}},
                {"functionCall": {"name": "g", "args": {}}}
            ]}
        ]})
    );
}

#[tokio::test]
async fn reasoning_content_is_replayed_as_a_thought_part() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "2+2?"},
            {"role": "assistant", "content": "4", "reasoning_content": "Add two and two."},
            {"role": "user", "content": "And 3+3?"}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "2+2?"}]},
            {"role": "model", "parts": [
                {"text": "Add two and two.", "thought": true},
                {"text": "4"}
            ]},
            {"role": "user", "parts": [{"text": "And 3+3?"}]}
        ]})
    );
}

/// A 1×1 PNG.
const PNG: &[u8] = &[
    0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a, 0x00, 0x00, 0x00, 0x0d, 0x49, 0x48, 0x44, 0x52,
    0x00, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00, 0x01, 0x08, 0x06, 0x00, 0x00, 0x00, 0x1f, 0x15, 0xc4,
    0x89,
];

fn png_base64() -> String {
    base64::engine::general_purpose::STANDARD.encode(PNG)
}

fn image_request(url: &str) -> Value {
    json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "What is this?"},
            {"type": "image_url", "image_url": {"url": url}}
        ]}]
    })
}

#[tokio::test]
async fn image_data_uri_becomes_inline_data() {
    let data = png_base64();
    let body = sent(image_request(&format!("data:image/png;base64,{data}"))).await;
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [
            {"text": "What is this?"},
            {"inlineData": {"mimeType": "image/png", "data": data}}
        ]}]})
    );
}

async fn serve_png(server: &MockServer) -> String {
    Mock::given(method("GET"))
        .and(path("/cat.png"))
        .respond_with(ResponseTemplate::new(200).set_body_raw(PNG.to_vec(), "image/png"))
        .mount(server)
        .await;
    format!("{}/cat.png", server.uri())
}

#[tokio::test]
async fn loopback_image_url_is_refused_and_nothing_is_sent() {
    let stand_in = StandIn::start().await;
    let url = serve_png(&stand_in.server).await;
    let error = refused_via(&stand_in, image_request(&url)).await;
    assert_eq!(error.kind(), ErrorKind::InvalidRequest, "{error}");
    assert_eq!(error.param(), Some("messages[0].content[1].image_url.url"));
    assert_eq!(
        error.message(),
        "messages[0].content[1].image_url.url: refusing to fetch an image from 127.0.0.1 \
         (loopback address); allow the host with user_url_allowed_hosts"
    );
}

#[tokio::test]
async fn allowed_image_host_is_downloaded_and_inlined() {
    let stand_in =
        StandIn::start_with(|builder| builder.fetch_policy(FetchPolicy::allowing(["127.0.0.1"])))
            .await;
    let url = serve_png(&stand_in.server).await;
    let body = sent_via(&stand_in, image_request(&url)).await;
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [
            {"text": "What is this?"},
            {"inlineData": {"mimeType": "image/png", "data": png_base64()}}
        ]}]})
    );
    let downloads: Vec<_> = stand_in
        .server
        .received_requests()
        .await
        .unwrap_or_default()
        .into_iter()
        .filter(|request| request.url.path() == "/cat.png")
        .collect();
    assert_eq!(downloads.len(), 1, "the image was downloaded once");
    assert!(
        downloads[0].headers.get("x-goog-api-key").is_none(),
        "the Gemini key never goes to an image host"
    );
}

#[tokio::test]
async fn files_audio_and_image_only_turns() {
    let pdf = base64::engine::general_purpose::STANDARD.encode(b"%PDF-1.4");
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": [
                {"type": "file", "file": {"file_id": "gs://bucket/a.pdf"}},
                {"type": "file", "file": {"file_data": format!("data:application/pdf;base64,{pdf}")}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}}
            ]},
            {"role": "assistant", "content": "Got them."},
            {"role": "user", "content": [
                {"type": "image_url", "image_url": format!("data:image/png;base64,{}", png_base64())}
            ]}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [
                {"fileData": {"mimeType": "application/pdf", "fileUri": "gs://bucket/a.pdf"}},
                {"inlineData": {"mimeType": "application/pdf", "data": pdf}},
                {"inlineData": {"mimeType": "audio/wav", "data": "UklGRg=="}}
            ]},
            {"role": "model", "parts": [{"text": "Got them."}]},
            {"role": "user", "parts": [
                {"inlineData": {"mimeType": "image/png", "data": png_base64()}}
            ]}
        ]})
    );
}

#[tokio::test]
async fn only_system_messages_get_a_dot_user_turn() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [{"role": "system", "content": "Say hello."}]
    }))
    .await;
    assert_eq!(
        body,
        json!({
            "contents": [{"role": "user", "parts": [{"text": "."}]}],
            "systemInstruction": {"parts": [{"text": "Say hello."}]}
        })
    );
}

#[tokio::test]
async fn function_role_message_is_a_function_response() {
    let body = sent(json!({
        "model": FLASH,
        "functions": [{"name": "get_weather", "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "messages": [
            {"role": "user", "content": "Weather in Paris?"},
            {"role": "assistant", "content": null,
             "function_call": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"}},
            {"role": "function", "name": "get_weather", "content": "Sunny, 21C"}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({
            "contents": [
                {"role": "user", "parts": [{"text": "Weather in Paris?"}]},
                {"role": "model", "parts": [
                    {"functionCall": {"name": "get_weather", "args": {"city": "Paris"}}}
                ]},
                {"role": "user", "parts": [
                    {"functionResponse": {"name": "get_weather", "response": {"content": "Sunny, 21C"}}}
                ]}
            ],
            "tools": [{"functionDeclarations": [{
                "name": "get_weather",
                "parameters": {"type": "OBJECT", "properties": {"city": {"type": "STRING"}}}
            }]}]
        })
    );
}

#[tokio::test]
async fn files_api_uri_needs_a_format_and_is_sent_as_file_data() {
    let uri = "https://generativelanguage.googleapis.com/v1beta/files/abc123";
    let body = sent(json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": [
            {"type": "text", "text": "Summarise"},
            {"type": "file", "file": {"file_id": uri, "format": "application/pdf"}},
            {"type": "image_url", "image_url": {"url": uri, "format": "image/jpeg"}}
        ]}]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [
            {"text": "Summarise"},
            {"fileData": {"mimeType": "application/pdf", "fileUri": uri}},
            {"fileData": {"mimeType": "image/jpeg", "fileUri": uri}}
        ]}]})
    );
    let error = refused(json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_id": uri}}
        ]}]
    }))
    .await;
    assert_invalid(
        &error,
        "messages[0].content[0].file.format",
        "cannot tell the media type of https://generativelanguage.googleapis.com/v1beta/files/abc123; \
         set messages[0].content[0].file.format",
    );
    let error = refused(json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": [
            {"type": "image_url", "image_url": {"url": uri}}
        ]}]
    }))
    .await;
    assert_invalid(
        &error,
        "messages[0].content[0].image_url.format",
        "cannot tell the media type of https://generativelanguage.googleapis.com/v1beta/files/abc123; \
         set messages[0].content[0].image_url.format",
    );
}

#[tokio::test]
async fn tool_result_images_follow_the_function_response() {
    let data = png_base64();
    let body = sent(json!({
        "model": FLASH,
        "messages": [
            {"role": "user", "content": "Take a screenshot"},
            {"role": "assistant", "tool_calls": [
                {"id": "c1", "type": "function", "function": {"name": "screenshot", "arguments": "{}"}},
                {"id": "c2", "type": "function", "function": {"name": "clock", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "c1", "content": [
                {"type": "text", "text": "Here it is"},
                {"type": "image_url", "image_url": {"url": format!("data:image/png;base64,{data}")}}
            ]},
            {"role": "tool", "tool_call_id": "c2", "content": "noon"}
        ]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [
            {"role": "user", "parts": [{"text": "Take a screenshot"}]},
            {"role": "model", "parts": [
                {"functionCall": {"name": "screenshot", "args": {}}},
                {"functionCall": {"name": "clock", "args": {}}}
            ]},
            {"role": "user", "parts": [
                {"functionResponse": {"name": "screenshot", "response": {"content": "Here it is"}}},
                {"inlineData": {"mimeType": "image/png", "data": data}},
                {"functionResponse": {"name": "clock", "response": {"content": "noon"}}}
            ]}
        ]})
    );
}

#[tokio::test]
async fn percent_encoded_data_uri_is_decoded() {
    let body = sent(json!({
        "model": FLASH,
        "messages": [{"role": "user", "content": [
            {"type": "file", "file": {"file_data": "data:text/plain,Hello%2C%20World%21"}}
        ]}]
    }))
    .await;
    assert_eq!(
        body,
        json!({"contents": [{"role": "user", "parts": [
            {"inlineData": {
                "mimeType": "text/plain",
                "data": base64::engine::general_purpose::STANDARD.encode("Hello, World!")
            }}
        ]}]})
    );
}

#[tokio::test]
async fn parallel_tool_calls_is_accepted_either_way_and_not_sent() {
    for value in [false, true] {
        let body = sent(hi(
            FLASH,
            json!({"tools": [{"type": "function", "function": {"name": "f", "parameters": {"type": "object", "properties": {}}}}],
                   "parallel_tool_calls": value}),
        ))
        .await;
        assert_eq!(
            body,
            json!({
                "contents": hi_contents(),
                "tools": [{"functionDeclarations": [{"name": "f"}]}]
            }),
            "parallel_tool_calls: {value}"
        );
    }
}

#[tokio::test]
async fn params_clients_send_for_bookkeeping_are_accepted_and_not_sent() {
    let body = sent(hi(
        FLASH,
        json!({"safety_identifier": "u-1", "prompt_cache_key": "k", "tags": ["team-a"],
               "timeout": 30, "num_retries": 2, "service_tier": "auto"}),
    ))
    .await;
    assert_eq!(body, json!({"contents": hi_contents()}));
    let body = sent(hi(FLASH, json!({"service_tier": "default"}))).await;
    assert_eq!(body, json!({"contents": hi_contents()}));
}

#[tokio::test]
async fn params_gemini_cannot_honour_are_refused_by_name() {
    for (param, value) in [
        ("prediction", json!({"type": "content", "content": "x"})),
        ("verbosity", json!("low")),
        ("extra_headers", json!({"x-a": "b"})),
        ("mock_response", json!("hi")),
        ("service_tier", json!("flex")),
    ] {
        let mut params = serde_json::Map::new();
        params.insert(param.to_owned(), value);
        let error = refused(hi(FLASH, Value::Object(params))).await;
        assert_unsupported(&error, param);
    }
}

#[tokio::test]
async fn n_zero_is_refused_as_openai_refuses_it() {
    let error = refused(hi(FLASH, json!({"n": 0}))).await;
    assert_invalid(&error, "n", "n must be at least 1");
}

/// A user message with one image of `detail`.
fn image_with_detail(model: &str, detail: &str) -> Value {
    json!({"model": model, "messages": [{"role": "user", "content": [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": detail}}
    ]}]})
}

#[tokio::test]
async fn image_detail_is_the_parts_media_resolution_on_gemini_3() {
    for (detail, level) in [
        ("low", Some("MEDIA_RESOLUTION_LOW")),
        ("high", Some("MEDIA_RESOLUTION_HIGH")),
        ("auto", None),
    ] {
        let body = sent(image_with_detail(PRO_3, detail)).await;
        let mut image = json!({"inlineData": {"mimeType": "image/png", "data": "AAAA"}});
        if let Some(level) = level {
            image["mediaResolution"] = json!({"level": level});
        }
        assert_eq!(
            body["contents"],
            json!([{"role": "user", "parts": [{"text": "What is this?"}, image]}]),
            "detail {detail}"
        );
    }
    // The model table says which models take one: an alias without a version number too.
    let body = sent(image_with_detail("gemini-flash-latest", "low")).await;
    assert_eq!(
        body["contents"][0]["parts"][1]["mediaResolution"],
        json!({"level": "MEDIA_RESOLUTION_LOW"})
    );
    // Gemini 2.x has no per-part resolution: the detail is not sent.
    let body = sent(image_with_detail(FLASH, "low")).await;
    assert_eq!(
        body["contents"][0]["parts"][1],
        json!({"inlineData": {"mimeType": "image/png", "data": "AAAA"}})
    );
    let error = refused(image_with_detail(PRO_3, "huge")).await;
    assert_eq!(
        error.param(),
        Some("messages[0].content[1].image_url.detail")
    );
    assert_eq!(error.status(), 400);
}

#[tokio::test]
async fn media_resolution_is_the_request_wide_setting() {
    for (value, level) in [
        ("low", "MEDIA_RESOLUTION_LOW"),
        ("Medium", "MEDIA_RESOLUTION_MEDIUM"),
        ("high", "MEDIA_RESOLUTION_HIGH"),
        ("MEDIA_RESOLUTION_LOW", "MEDIA_RESOLUTION_LOW"),
    ] {
        let body = sent(hi(FLASH, json!({"media_resolution": value}))).await;
        assert_eq!(
            body,
            json!({"contents": hi_contents(), "generationConfig": {"mediaResolution": level}})
        );
    }
    let error = refused(hi(FLASH, json!({"media_resolution": "ultra"}))).await;
    assert_eq!(error.param(), Some("media_resolution"));
}
