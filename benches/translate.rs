//! The translation path, bytes to bytes: OpenAI request JSON → Gemini request JSON, and
//! Gemini reply JSON → OpenAI reply JSON, for a small chat and for a request with 20 tools.
//!
//! ```text
//! cargo bench --bench translate
//! ```

use std::hint::black_box;

use criterion::{Criterion, criterion_group, criterion_main};
use llm_tower::gemini::translate::{
    ReplyContext, SequentialIds, ToolSchemaCache, TranslateOptions, translate_request,
    translate_request_cached, translate_response,
};
use llm_tower::gemini::wire::GenerateContentResponse;
use llm_tower::openai::ChatRequest;
use serde_json::json;

fn small_chat() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "You are a concise assistant."},
            {"role": "user", "content": "In one or two sentences, what is Rust and why does memory safety matter?"}
        ],
        "temperature": 0.3,
        "max_tokens": 512
    }))
    .expect("serializes")
}

fn twenty_tools() -> Vec<u8> {
    let tools: Vec<_> = (0..20)
        .map(|index| {
            json!({"type": "function", "function": {
                "name": format!("tool_{index}"),
                "description": "Looks something up in an internal system and returns a summary.",
                "parameters": {
                    "type": "object",
                    "properties": {
                        "query": {"type": "string", "description": "What to look for"},
                        "limit": {"type": ["integer", "null"], "minimum": 1, "maximum": 50},
                        "mode": {"type": "string", "enum": ["fast", "thorough"]},
                        "filters": {"type": "array", "items": {"type": "object", "properties": {
                            "field": {"type": "string"}, "value": {"type": "string"}
                        }, "required": ["field", "value"], "additionalProperties": false}}
                    },
                    "required": ["query"],
                    "additionalProperties": false
                }
            }})
        })
        .collect();
    serde_json::to_vec(&json!({
        "model": "gemini-2.5-flash",
        "messages": [
            {"role": "system", "content": "Use the tools when they help."},
            {"role": "user", "content": "Find the open incidents for the billing service."},
            {"role": "assistant", "content": null, "tool_calls": [
                {"id": "call_1", "type": "function", "function": {"name": "tool_3", "arguments": "{\"query\":\"billing incidents\",\"limit\":5}"}}
            ]},
            {"role": "tool", "tool_call_id": "call_1", "content": "{\"incidents\":[{\"id\":42,\"title\":\"Slow invoices\"}]}"}
        ],
        "tools": tools,
        "tool_choice": "auto"
    }))
    .expect("serializes")
}

fn text_reply() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "candidates": [{"content": {"role": "model", "parts": [{"text": "Rust is a systems programming language focused on performance, reliability and concurrency, and it guarantees memory safety without a garbage collector. Memory safety matters because it prevents crashes, data corruption and security holes."}]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 29, "candidatesTokenCount": 57, "thoughtsTokenCount": 183, "totalTokenCount": 269},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "bench-1"
    }))
    .expect("serializes")
}

fn tool_call_reply() -> Vec<u8> {
    serde_json::to_vec(&json!({
        "candidates": [{"content": {"role": "model", "parts": [
            {"functionCall": {"name": "tool_7", "args": {"query": "billing incidents", "limit": 5, "filters": [{"field": "state", "value": "open"}]}}, "thoughtSignature": "CiQB0e2Kb1+Q2nq3aVYbE7Wgx5N2fHc8Z7Q9kVj0S2s3Xk0="}
        ]}, "finishReason": "STOP", "index": 0}],
        "usageMetadata": {"promptTokenCount": 2210, "candidatesTokenCount": 31, "thoughtsTokenCount": 90, "totalTokenCount": 2331},
        "modelVersion": "gemini-2.5-flash",
        "responseId": "bench-2"
    }))
    .expect("serializes")
}

fn request_bytes(bytes: &[u8], cache: Option<&ToolSchemaCache>) -> Vec<u8> {
    let request: ChatRequest = serde_json::from_slice(bytes).expect("valid request");
    let options = TranslateOptions::default();
    let translated = match cache {
        Some(cache) => translate_request_cached(request, options, cache),
        None => translate_request(request, options),
    }
    .expect("translates");
    serde_json::to_vec(&translated.body).expect("serializes")
}

fn reply_bytes(bytes: &[u8], ids: &SequentialIds) -> Vec<u8> {
    let reply: GenerateContentResponse = serde_json::from_slice(bytes).expect("valid reply");
    let context = ReplyContext {
        model: "gemini-2.5-flash",
        legacy_functions: false,
    };
    let completion = translate_response(reply, context, ids).expect("translates");
    serde_json::to_vec(&completion).expect("serializes")
}

fn benches(c: &mut Criterion) {
    let ids = SequentialIds::new(0);
    let mut group = c.benchmark_group("request");
    for (name, input) in [
        ("small_chat", small_chat()),
        ("twenty_tools", twenty_tools()),
    ] {
        group.bench_function(name, |b| b.iter(|| request_bytes(black_box(&input), None)));
    }
    // The steady state of an agent: the same tools on every turn, schemas already converted.
    let cache = ToolSchemaCache::default();
    let input = twenty_tools();
    group.bench_function("twenty_tools_cached", |b| {
        b.iter(|| request_bytes(black_box(&input), Some(&cache)))
    });
    group.finish();
    let mut group = c.benchmark_group("reply");
    for (name, input) in [("text", text_reply()), ("tool_call", tool_call_reply())] {
        group.bench_function(name, |b| b.iter(|| reply_bytes(black_box(&input), &ids)));
    }
    group.finish();
}

criterion_group!(translate, benches);
criterion_main!(translate);
