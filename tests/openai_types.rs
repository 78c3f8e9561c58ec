//! The OpenAI wire types keep everything a client sends: a request with every typed field,
//! every message role and content part, and unknown keys at every level deserializes and
//! serializes back to the same JSON. The one normalisation: an explicit `"content": null`
//! comes back as an absent `content`, which OpenAI treats the same.

use llm_tower::openai::{ChatCompletion, ChatCompletionChunk, ChatRequest};
use serde_json::{Value, json};

fn round_trip<T: serde::de::DeserializeOwned + serde::Serialize>(value: &Value) -> Value {
    let typed: T = serde_json::from_value(value.clone()).expect("deserializes");
    serde_json::to_value(&typed).expect("serializes")
}

#[test]
fn a_request_with_every_field_round_trips() {
    let request = json!({
        "model": "gemini/gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "Be brief.", "name": "rules", "x_system": 1},
            {"role": "developer", "content": [{"type": "text", "text": "Be kind.", "cache_control": {"type": "ephemeral", "ttl": "300s"}}]},
            {"role": "user", "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image_url", "image_url": "https://example.com/cat.png"},
                {"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA", "detail": "high", "format": "image/png", "x_image": true}},
                {"type": "input_audio", "input_audio": {"data": "UklGRg==", "format": "wav"}},
                {"type": "file", "file": {"file_id": "gs://bucket/a.pdf", "format": "application/pdf", "filename": "a.pdf", "x_file": "kept"}},
                {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBERi0="}},
                {"type": "text", "text": "and this", "x_part": [1, 2]}
            ], "cache_control": {"type": "ephemeral"}},
            {"role": "assistant", "content": null, "reasoning_content": "Thinking…",
             "thinking_blocks": [{"type": "thinking", "thinking": "Thinking…", "signature": "c2ln"}],
             "tool_calls": [{"id": "call_1__thought__c2ln", "type": "function", "index": 0,
                             "function": {"name": "get_weather", "arguments": "{\"city\":\"Paris\"}"},
                             "provider_specific_fields": {"thought_signature": "c2ln"}}],
             "provider_specific_fields": {"thought_signatures": ["c2ln"]},
             "images": [{"type": "image_url", "image_url": {"url": "data:image/png;base64,AAAA"}, "index": 0}]},
            {"role": "tool", "tool_call_id": "call_1__thought__c2ln", "content": "{\"temp\": 21}"},
            {"role": "assistant", "function_call": {"name": "legacy", "arguments": "{}"}},
            {"role": "function", "name": "legacy", "content": "done"}
        ],
        "temperature": 0.5,
        "top_p": 0.9,
        "n": 2,
        "stream": true,
        "stream_options": {"include_usage": true, "x_stream": "kept"},
        "stop": ["END", "STOP"],
        "max_tokens": 100,
        "max_completion_tokens": 200,
        "presence_penalty": 0.1,
        "frequency_penalty": 0.2,
        "logit_bias": {"50256": -100},
        "logprobs": true,
        "top_logprobs": 3,
        "seed": 7,
        "user": "user-1",
        "tools": [
            {"type": "function", "function": {"name": "get_weather", "description": "Weather",
              "parameters": {"type": "object", "properties": {"city": {"type": "string"}}, "required": ["city"]},
              "strict": true, "x_function": 1}},
            {"googleSearch": {}},
            {"type": "web_search"}
        ],
        "tool_choice": {"type": "function", "function": {"name": "get_weather"}},
        "parallel_tool_calls": false,
        "functions": [{"name": "legacy", "parameters": {"type": "object"}}],
        "function_call": "auto",
        "response_format": {"type": "json_schema", "json_schema": {"name": "out", "schema": {"type": "object"}, "strict": true, "description": "kept"}, "enforce_validation": true},
        "modalities": ["text", "image"],
        "reasoning_effort": {"effort": "low"},
        "thinking": {"type": "enabled", "budget_tokens": 1024},
        "safety_settings": [{"category": "HARM_CATEGORY_HARASSMENT", "threshold": "BLOCK_NONE", "method": "SEVERITY"}],
        "drop_params": true,
        "top_k": 40,
        "web_search_options": {"search_context_size": "low"},
        "metadata": {"trace": "abc"}
    });
    let mut expected = request.clone();
    expected["messages"][3]
        .as_object_mut()
        .expect("a message")
        .remove("content");
    assert_eq!(round_trip::<ChatRequest>(&request), expected);
}

#[test]
fn string_forms_round_trip_too() {
    let request = json!({
        "model": "m",
        "messages": [{"role": "user", "content": "Hi"}],
        "stop": "END",
        "tool_choice": "required",
        "reasoning_effort": "high"
    });
    assert_eq!(round_trip::<ChatRequest>(&request), request);
}

#[test]
fn replies_and_chunks_round_trip() {
    let completion = json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gemini-2.5-flash",
        "choices": [{"index": 0, "finish_reason": "tool_calls",
            "message": {"role": "assistant", "content": "Hi", "reasoning_content": "R",
                "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}],
                "annotations": [{"type": "url_citation", "url_citation": {"start_index": 0, "end_index": 2, "url": "https://a", "title": "a"}}],
                "provider_specific_fields": {"thought_signatures": ["s"], "code_execution": [{"executableCode": {"code": "print(1)"}}]}},
            "logprobs": {"content": [{"token": "Hi", "logprob": -0.1, "top_logprobs": []}]},
            "provider_specific_fields": {"native_finish_reason": "MALFORMED_FUNCTION_CALL", "finish_message": "bad"}}],
        "usage": {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7,
            "prompt_tokens_details": {"cached_tokens": 1, "web_search_requests": 1,
                "cached_tokens_details": {"text_tokens": 1}, "cache_creation_tokens": 5, "cache_write_tokens": 5},
            "completion_tokens_details": {"reasoning_tokens": 2, "text_tokens": 2}, "cache_read_input_tokens": 1,
            "cache_creation_input_tokens": 5, "cost": 0.0000125},
        "vertex_ai_grounding_metadata": [{"webSearchQueries": ["q"]}]
    });
    assert_eq!(round_trip::<ChatCompletion>(&completion), completion);
    let chunk = json!({
        "id": "chatcmpl-1", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "finish_reason": null, "delta": {"role": "assistant", "content": "H",
            "tool_calls": [{"index": 0, "id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"}}]}}]
    });
    assert_eq!(round_trip::<ChatCompletionChunk>(&chunk), chunk);
}

#[test]
fn debug_output_never_shows_a_request_api_key() {
    let request: ChatRequest = serde_json::from_value(json!({
        "model": "m", "messages": [{"role": "user", "content": "Hi"}], "api_key": "AIza-very-secret"
    }))
    .expect("deserializes");
    assert!(!format!("{request:?}").contains("AIza-very-secret"));
    assert_eq!(
        serde_json::to_value(&request).expect("serializes")["api_key"],
        "AIza-very-secret",
        "the key still travels on the wire"
    );
}
