//! The mapping both ways: requests to chat, chat replies and chunks to messages and events.

use serde_json::{Value, json};

use super::reply::complete;
use super::request::{Purpose, to_chat};
use super::signature::ThoughtState;
use super::stream::StreamMapper;
use crate::anthropic::{CreateMessage, MessageReply, StreamEvent};
use crate::error::{Error, ErrorKind};
use crate::openai::{ChatCompletion, ChatCompletionChunk};

fn request(body: Value) -> CreateMessage {
    serde_json::from_value(body).expect("a Messages request")
}

fn chat(body: Value) -> Value {
    let chat = to_chat(request(body), Purpose::Reply, false).expect("mapped");
    serde_json::to_value(chat).expect("JSON")
}

fn refused(body: Value) -> Error {
    to_chat(request(body), Purpose::Reply, false).expect_err("refused")
}

fn reply(completion: Value) -> Value {
    let completion: ChatCompletion = serde_json::from_value(completion).expect("a completion");
    let reply: MessageReply = complete("msg_1".to_owned(), "claude-x".to_owned(), completion);
    serde_json::to_value(reply).expect("JSON")
}

fn completion(message: Value, finish_reason: &str, usage: Value) -> Value {
    json!({
        "id": "chatcmpl-1", "object": "chat.completion", "created": 1, "model": "gemini-2.5-flash",
        "choices": [{"index": 0, "message": message, "finish_reason": finish_reason}],
        "usage": usage
    })
}

#[test]
fn a_whole_request_maps_block_by_block() {
    let signature = ThoughtState {
        calls: [("call_1".to_owned(), "Y2FsbA==".to_owned())].into(),
        text: Vec::new(),
    }
    .encode();
    let mapped = chat(json!({
        "model": "claude-sonnet-4",
        "max_tokens": 1024,
        "system": [
            {"type": "text", "text": "You are terse."},
            {"type": "text", "text": "Long manual.", "cache_control": {"type": "ephemeral"}}
        ],
        "messages": [
            {"role": "user", "content": [
                {"type": "text", "text": "Look:"},
                {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "iVBO"}},
                {"type": "image", "source": {"type": "url", "url": "https://example.com/a.jpg"}},
                {"type": "document", "source": {"type": "base64", "media_type": "application/pdf", "data": "JVBE"}, "title": "spec.pdf"},
                {"type": "document", "source": {"type": "text", "media_type": "text/plain", "data": "plain doc"}}
            ]},
            {"role": "assistant", "content": [
                {"type": "thinking", "thinking": "Need the weather.", "signature": "dGhvdWdodA=="},
                {"type": "thinking", "thinking": "", "signature": signature},
                {"type": "text", "text": "Checking."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}}
            ]},
            {"role": "user", "content": [
                {"type": "tool_result", "tool_use_id": "call_1", "content": [
                    {"type": "text", "text": "sunny"},
                    {"type": "image", "source": {"type": "base64", "media_type": "image/png", "data": "AAAA"}}
                ]},
                {"type": "text", "text": "And tomorrow?", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
            ]}
        ],
        "tools": [{"name": "weather", "description": "Weather by city", "input_schema": {"type": "object", "properties": {"city": {"type": "string"}}}}],
        "tool_choice": {"type": "any", "disable_parallel_tool_use": true},
        "thinking": {"type": "enabled", "budget_tokens": 2048},
        "temperature": 0.5, "top_p": 0.9, "top_k": 40,
        "stop_sequences": ["END"],
        "metadata": {"user_id": "u-7"},
        "stream": true,
        "service_tier": "auto"
    }));
    assert_eq!(
        mapped,
        json!({
            "model": "claude-sonnet-4",
            "messages": [
                {"role": "system", "content": [
                    {"type": "text", "text": "You are terse."},
                    {"type": "text", "text": "Long manual.", "cache_control": {"type": "ephemeral"}}
                ]},
                {"role": "user", "content": [
                    {"type": "text", "text": "Look:"},
                    {"type": "image_url", "image_url": "data:image/png;base64,iVBO"},
                    {"type": "image_url", "image_url": "https://example.com/a.jpg"},
                    {"type": "file", "file": {"file_data": "data:application/pdf;base64,JVBE", "filename": "spec.pdf", "format": "application/pdf"}},
                    {"type": "text", "text": "plain doc"}
                ]},
                {"role": "assistant", "content": "Checking.",
                 "tool_calls": [{"id": "call_1", "type": "function",
                     "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"},
                     "provider_specific_fields": {"thought_signature": "Y2FsbA=="}}],
                 "thinking_blocks": [{"type": "thinking", "thinking": "Need the weather.", "signature": "dGhvdWdodA=="}]},
                {"role": "tool", "tool_call_id": "call_1", "content": [
                    {"type": "text", "text": "sunny"},
                    {"type": "image_url", "image_url": "data:image/png;base64,AAAA"}
                ]},
                {"role": "user", "content": [
                    {"type": "text", "text": "And tomorrow?", "cache_control": {"type": "ephemeral", "ttl": "1h"}}
                ]}
            ],
            "temperature": 0.5,
            "top_p": 0.9,
            "stream": true,
            "stream_options": {"include_usage": true},
            "stop": ["END"],
            "max_tokens": 1024,
            "user": "u-7",
            "tools": [{"type": "function", "function": {"name": "weather", "description": "Weather by city",
                "parameters": {"type": "object", "properties": {"city": {"type": "string"}}}}}],
            "tool_choice": "required",
            "parallel_tool_calls": false,
            "thinking": {"type": "enabled", "budget_tokens": 2048},
            "top_k": 40
        })
    );
}

#[test]
fn tool_choice_modes_and_thinking_disabled_map() {
    let base = |choice: Value| {
        json!({"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}],
               "tools": [{"name": "f", "input_schema": {"type": "object"}}],
               "tool_choice": choice, "thinking": {"type": "disabled"}})
    };
    let auto = chat(base(json!({"type": "auto"})));
    assert_eq!(auto["tool_choice"], "auto");
    assert_eq!(auto["thinking"], json!({"type": "disabled"}));
    assert_eq!(chat(base(json!({"type": "none"})))["tool_choice"], "none");
    assert_eq!(
        chat(base(json!({"type": "tool", "name": "f"})))["tool_choice"],
        json!({"type": "function", "function": {"name": "f"}})
    );
    let error = refused(base(json!({"type": "tool"})));
    assert_eq!(error.param(), Some("tool_choice.name"));
}

#[test]
fn bad_requests_name_the_field() {
    let user = json!([{"role": "user", "content": "hi"}]);
    let cases = [
        (
            json!({"model": "m", "max_tokens": 8, "messages": []}),
            "messages",
        ),
        (json!({"model": "m", "messages": user}), "max_tokens"),
        (
            json!({"model": "m", "max_tokens": 0, "messages": user}),
            "max_tokens",
        ),
        (
            json!({"model": "m", "max_tokens": -3, "messages": user}),
            "max_tokens",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": [{"role": "assistant", "content": "hi"}]}),
            "messages[0].role",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": [
                {"role": "user", "content": "a"}, {"role": "system", "content": "s"},
                {"role": "user", "content": "b"}]}),
            "messages[2].role",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9", "content": "x"}]}]}),
            "messages[2].content[0].tool_use_id",
        ),
        (
            // Merged into one turn, a block is still named as the client sent it.
            json!({"model": "m", "max_tokens": 8, "messages": [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": "b"},
                {"role": "assistant", "content": [{"type": "text", "text": "c"},
                    {"type": "image", "source": {"type": "url", "url": "https://x/y.png"}}]}]}),
            "messages[2].content[1].type",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": [
                {"role": "user", "content": "a"},
                {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t9", "content": "x"}]}]}),
            "messages[1].content[0].tool_use_id",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": [
                {"role": "user", "content": "a"},
                {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
                {"role": "user", "content": "no result"}]}),
            "messages[2]",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": [
                {"role": "user", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]}]}),
            "messages[0].content[0].type",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": user, "mcp_servers": []}),
            "mcp_servers",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": user,
                   "tools": [{"type": "bash_20250124", "name": "bash"}]}),
            "tools[0].type",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": user, "tools": [{"name": "f"}]}),
            "tools[0].input_schema",
        ),
        (
            json!({"model": "m", "max_tokens": 8, "messages": user, "thinking": {"type": "enabled"}}),
            "thinking.budget_tokens",
        ),
    ];
    for (body, param) in cases {
        let error = refused(body.clone());
        assert_eq!(error.param(), Some(param), "{body}: {error}");
        assert_eq!(error.status(), 400, "{body}");
        assert!(error.message().starts_with(param), "{}", error.message());
    }
}

#[test]
fn consecutive_messages_of_one_role_are_one_turn() {
    let mapped = chat(json!({"model": "m", "max_tokens": 8, "messages": [
        {"role": "user", "content": "Weather?"},
        {"role": "assistant", "content": "Checking."},
        {"role": "assistant", "content": [{"type": "tool_use", "id": "t1", "name": "f", "input": {}}]},
        {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "t1", "content": "sunny"}]},
        {"role": "user", "content": "And tomorrow?"}
    ]}));
    assert_eq!(
        mapped["messages"],
        json!([
            {"role": "user", "content": "Weather?"},
            {"role": "assistant", "content": "Checking.", "tool_calls": [
                {"id": "t1", "type": "function", "function": {"name": "f", "arguments": "{}"}}
            ]},
            {"role": "tool", "tool_call_id": "t1", "content": "sunny"},
            {"role": "user", "content": [{"type": "text", "text": "And tomorrow?"}]}
        ])
    );
}

#[test]
fn unknown_params_are_dropped_with_drop_params_and_counting_needs_no_max_tokens() {
    let body =
        json!({"model": "m", "messages": [{"role": "user", "content": "hi"}], "mcp_servers": []});
    let error = to_chat(request(body.clone()), Purpose::Count, false).expect_err("refused");
    assert_eq!(error.kind(), ErrorKind::UnsupportedParams);
    let mapped = to_chat(request(body), Purpose::Count, true).expect("dropped");
    assert_eq!(mapped.max_tokens, None);
    assert!(mapped.extra.is_empty());
}

#[test]
fn a_whole_reply_maps_thinking_text_calls_and_signatures() {
    let mapped = reply(completion(
        json!({
            "role": "assistant",
            "content": "Let me check.",
            "reasoning_content": "Weather question.",
            "thinking_blocks": [{"type": "thinking", "thinking": "Weather question.", "signature": "dGhvdWdodA=="}],
            "tool_calls": [{"id": "call_1__thought__Y2FsbA==", "type": "function",
                "function": {"name": "weather", "arguments": "{\"city\":\"Paris\"}"},
                "provider_specific_fields": {"thought_signature": "Y2FsbA=="}}],
            "provider_specific_fields": {"thought_signatures": ["dGhvdWdodA==", "Y2FsbA==", "dGV4dA=="]}
        }),
        "tool_calls",
        json!({"prompt_tokens": 120, "completion_tokens": 30, "total_tokens": 150,
               "prompt_tokens_details": {"cached_tokens": 100}, "cache_read_input_tokens": 100}),
    ));
    let state = ThoughtState {
        calls: [("call_1".to_owned(), "Y2FsbA==".to_owned())].into(),
        text: vec!["dGV4dA==".to_owned()],
    };
    assert_eq!(
        mapped,
        json!({
            "id": "msg_1", "type": "message", "role": "assistant", "model": "claude-x",
            "content": [
                {"type": "thinking", "thinking": "Weather question.", "signature": "dGhvdWdodA=="},
                {"type": "thinking", "thinking": "", "signature": state.encode()},
                {"type": "text", "text": "Let me check."},
                {"type": "tool_use", "id": "call_1", "name": "weather", "input": {"city": "Paris"}}
            ],
            "stop_reason": "tool_use",
            "stop_sequence": null,
            "usage": {"input_tokens": 20, "output_tokens": 30,
                      "cache_creation_input_tokens": 0, "cache_read_input_tokens": 100}
        })
    );
}

#[test]
fn what_a_reply_carries_comes_back_as_the_same_chat_turn() {
    let chat_message = json!({
        "role": "assistant",
        "content": "Checking.",
        "thinking_blocks": [{"type": "thinking", "thinking": "hmm", "signature": "dGhvdWdodA=="}],
        "tool_calls": [{"id": "call_1__thought__Y2FsbA==", "type": "function",
            "function": {"name": "f", "arguments": "{}"},
            "provider_specific_fields": {"thought_signature": "Y2FsbA=="}}],
        "provider_specific_fields": {"thought_signatures": ["dGhvdWdodA==", "Y2FsbA=="]}
    });
    let mapped = reply(completion(
        chat_message,
        "tool_calls",
        json!({"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}),
    ));
    let next = chat(json!({
        "model": "m", "max_tokens": 8,
        "messages": [
            {"role": "user", "content": "go"},
            {"role": "assistant", "content": mapped["content"]},
            {"role": "user", "content": [{"type": "tool_result", "tool_use_id": "call_1", "content": "ok"}]}
        ]
    }));
    assert_eq!(
        next["messages"][1],
        json!({
            "role": "assistant", "content": "Checking.",
            "tool_calls": [{"id": "call_1", "type": "function", "function": {"name": "f", "arguments": "{}"},
                            "provider_specific_fields": {"thought_signature": "Y2FsbA=="}}],
            "thinking_blocks": [{"type": "thinking", "thinking": "hmm", "signature": "dGhvdWdodA=="}]
        })
    );
}

#[test]
fn finish_reasons_and_cache_writes_map() {
    let message = json!({"role": "assistant", "content": "x"});
    let usage = json!({"prompt_tokens": 10, "completion_tokens": 1, "total_tokens": 11});
    for (finish, stop) in [
        ("stop", "end_turn"),
        ("length", "max_tokens"),
        ("content_filter", "refusal"),
    ] {
        assert_eq!(
            reply(completion(message.clone(), finish, usage.clone()))["stop_reason"],
            stop
        );
    }
    // The request that created its cache read it too: counted once, as written.
    let written = reply(completion(
        message,
        "stop",
        json!({"prompt_tokens": 5000, "completion_tokens": 2, "total_tokens": 5002,
               "prompt_tokens_details": {"cached_tokens": 4096}, "cache_read_input_tokens": 4096,
               "cache_creation_input_tokens": 4096}),
    ));
    assert_eq!(
        written["usage"],
        json!({"input_tokens": 904, "output_tokens": 2,
               "cache_creation_input_tokens": 4096, "cache_read_input_tokens": 0})
    );
}

fn chunk(delta: Value, finish_reason: Option<&str>) -> ChatCompletionChunk {
    serde_json::from_value(json!({
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m",
        "choices": [{"index": 0, "delta": delta, "finish_reason": finish_reason}]
    }))
    .expect("a chunk")
}

fn events(mapper: &mut StreamMapper, chunk: ChatCompletionChunk) -> Vec<Value> {
    mapper
        .chunk(chunk)
        .iter()
        .map(|event| serde_json::to_value(event).expect("JSON"))
        .collect()
}

#[test]
fn a_stream_maps_to_anthropic_events_in_order() {
    let mut mapper = StreamMapper::new("msg_1".to_owned(), "claude-x".to_owned());
    let mut all = events(
        &mut mapper,
        chunk(
            json!({"role": "assistant", "reasoning_content": "Think"}),
            None,
        ),
    );
    all.extend(events(
        &mut mapper,
        chunk(
            json!({"reasoning_content": "ing.", "thinking_blocks": [{"type": "thinking", "thinking": "ing.", "signature": "c2ln"}],
                   "provider_specific_fields": {"thought_signatures": ["c2ln"]}}),
            None,
        ),
    ));
    all.extend(events(&mut mapper, chunk(json!({"content": "Hel"}), None)));
    all.extend(events(&mut mapper, chunk(json!({"content": "lo"}), None)));
    all.extend(events(
        &mut mapper,
        chunk(
            json!({"tool_calls": [{"index": 0, "id": "call_9__thought__Y2FsbA==", "type": "function",
                "function": {"name": "f", "arguments": "{\"a\":1}"},
                "provider_specific_fields": {"thought_signature": "Y2FsbA=="}}],
                "provider_specific_fields": {"thought_signatures": ["Y2FsbA=="]}}),
            Some("tool_calls"),
        ),
    ));
    let usage: ChatCompletionChunk = serde_json::from_value(json!({
        "id": "c", "object": "chat.completion.chunk", "created": 1, "model": "m", "choices": [],
        "usage": {"prompt_tokens": 7, "completion_tokens": 5, "total_tokens": 12}
    }))
    .expect("usage chunk");
    all.extend(events(&mut mapper, usage));
    all.extend(
        mapper
            .finish()
            .iter()
            .map(|event| serde_json::to_value(event).expect("JSON")),
    );
    let state = ThoughtState {
        calls: [("call_9".to_owned(), "Y2FsbA==".to_owned())].into(),
        text: Vec::new(),
    };
    assert_eq!(
        Value::Array(all),
        json!([
            {"type": "message_start", "message": {"id": "msg_1", "type": "message", "role": "assistant",
                "model": "claude-x", "content": [], "stop_reason": null, "stop_sequence": null,
                "usage": {"input_tokens": 0, "output_tokens": 0}}},
            {"type": "content_block_start", "index": 0, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
            {"type": "ping"},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "Think"}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "thinking_delta", "thinking": "ing."}},
            {"type": "content_block_delta", "index": 0, "delta": {"type": "signature_delta", "signature": "c2ln"}},
            {"type": "content_block_stop", "index": 0},
            {"type": "content_block_start", "index": 1, "content_block": {"type": "text", "text": ""}},
            {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "Hel"}},
            {"type": "content_block_delta", "index": 1, "delta": {"type": "text_delta", "text": "lo"}},
            {"type": "content_block_stop", "index": 1},
            {"type": "content_block_start", "index": 2, "content_block": {"type": "thinking", "thinking": "", "signature": ""}},
            {"type": "content_block_delta", "index": 2, "delta": {"type": "signature_delta", "signature": state.encode()}},
            {"type": "content_block_stop", "index": 2},
            {"type": "content_block_start", "index": 3, "content_block": {"type": "tool_use", "id": "call_9", "name": "f", "input": {}}},
            {"type": "content_block_delta", "index": 3, "delta": {"type": "input_json_delta", "partial_json": "{\"a\":1}"}},
            {"type": "content_block_stop", "index": 3},
            {"type": "message_delta", "delta": {"stop_reason": "tool_use", "stop_sequence": null},
                "usage": {"input_tokens": 7, "output_tokens": 5, "cache_creation_input_tokens": 0, "cache_read_input_tokens": 0}},
            {"type": "message_stop"}
        ])
    );
}

#[test]
fn a_failed_stream_ends_with_an_error_event() {
    let event = StreamMapper::fail(&Error::new(ErrorKind::ServiceUnavailable, "overloaded"));
    assert_eq!(
        serde_json::to_value(&event).expect("JSON"),
        json!({"type": "error", "error": {"type": "overloaded_error", "message": "overloaded"}})
    );
    assert!(matches!(event, StreamEvent::Error { .. }));
}

#[test]
fn what_claude_code_sends_maps() {
    // The shape of Claude Code 2.1's first request: mid-conversation system messages,
    // adaptive thinking with an effort, context editing, a JSON `metadata.user_id`.
    let mapped = chat(json!({
        "model": "m", "max_tokens": 32000, "stream": true,
        "system": [{"type": "text", "text": "billing"}, {"type": "text", "text": "You are an agent.", "cache_control": {"type": "ephemeral"}}],
        "messages": [
            {"role": "user", "content": [{"type": "text", "text": "<reminder/>"}, {"type": "text", "text": "Say hi", "cache_control": {"type": "ephemeral"}}]},
            {"role": "system", "content": "Agent types: …"}
        ],
        "thinking": {"type": "adaptive"},
        "context_management": {"edits": [{"type": "clear_thinking_20251015", "keep": "all"}]},
        "output_config": {"effort": "high"},
        "metadata": {"user_id": "{\"device_id\":\"d\"}"}
    }));
    assert_eq!(
        mapped["messages"][2],
        json!({"role": "system", "content": [{"type": "text", "text": "Agent types: …"}]})
    );
    assert_eq!(mapped["reasoning_effort"], "high");
    assert_eq!(mapped.get("thinking"), None);
    assert_eq!(mapped["user"], "{\"device_id\":\"d\"}");
    assert_eq!(mapped.get("context_management"), None);
}

#[test]
fn adaptive_thinking_effort_and_output_format_map() {
    let base =
        json!({"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": "hi"}]});
    let with = |key: &str, value: Value| {
        let mut body = base.clone();
        body[key] = value;
        body
    };
    assert_eq!(
        chat(with("thinking", json!({"type": "adaptive"})))["thinking"],
        json!({"type": "enabled"})
    );
    assert_eq!(
        chat(with("output_config", json!({"effort": "max"})))["reasoning_effort"],
        "high"
    );
    let mut explicit = with(
        "thinking",
        json!({"type": "enabled", "budget_tokens": 2048}),
    );
    explicit["output_config"] = json!({"effort": "low"});
    let explicit = chat(explicit);
    assert_eq!(explicit["thinking"]["budget_tokens"], 2048);
    assert_eq!(explicit.get("reasoning_effort"), None);
    let schema = json!({"type": "object", "properties": {"a": {"type": "string"}}});
    assert_eq!(
        chat(with(
            "output_config",
            json!({"format": {"type": "json_schema", "schema": schema}})
        ))["response_format"],
        json!({"type": "json_schema", "json_schema": {"name": "output", "schema": schema}})
    );
    assert_eq!(
        refused(with("output_config", json!({"effort": "huge"}))).param(),
        Some("output_config.effort")
    );
    assert_eq!(
        refused(with("thinking", json!({"type": "sometimes"}))).param(),
        Some("thinking.type")
    );
}

#[test]
fn a_user_message_is_split_after_its_last_cache_mark() {
    let mapped = chat(
        json!({"model": "m", "max_tokens": 8, "messages": [{"role": "user", "content": [
            {"type": "text", "text": "long document", "cache_control": {"type": "ephemeral"}},
            {"type": "text", "text": "question"}
        ]}]}),
    );
    assert_eq!(
        mapped["messages"],
        json!([
            {"role": "user", "content": [{"type": "text", "text": "long document", "cache_control": {"type": "ephemeral"}}]},
            {"role": "user", "content": [{"type": "text", "text": "question"}]}
        ])
    );
}
